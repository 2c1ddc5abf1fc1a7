//! Stored PROM questionnaires: one row per (tenant, instrument, source, response id).

use alongside_platform::OdsCode;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "prom_responses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub instrument: String,
    pub source: String,
    pub response_id: String,
    pub episode_id: String,
    pub completed_on: String,
    /// Item scores, comma-separated, in item order.
    pub items: String,
    pub total: i32,
    pub pathway: String,
    pub received_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub fn for_tenant(tenant: &OdsCode) -> Select<Entity> {
    Entity::find().filter(Column::TenantId.eq(tenant.as_str()))
}

/// Stores new questionnaires; one already held (same instrument, source and id) is skipped.
/// Returns how many were new.
pub async fn store(db: &impl ConnectionTrait, rows: Vec<ActiveModel>) -> Result<u64, DbErr> {
    use sea_orm::sea_query::OnConflict;
    let mut stored = 0;
    for chunk in rows.chunks(500) {
        stored += Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    Column::TenantId,
                    Column::Instrument,
                    Column::Source,
                    Column::ResponseId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(stored)
}

/// How many of `rows` [`store`] would store: not held already, and not repeated among them.
pub async fn count_new(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    rows: &[ActiveModel],
) -> Result<u64, DbErr> {
    use sea_orm::QuerySelect;
    let key = |r: &ActiveModel| {
        let text = |v: &sea_orm::ActiveValue<String>| v.clone().unwrap();
        (text(&r.instrument), text(&r.source), text(&r.response_id))
    };
    let mut seen = std::collections::HashSet::new();
    for chunk in rows.chunks(500) {
        let held: Vec<(String, String, String)> = for_tenant(tenant)
            .filter(Column::ResponseId.is_in(chunk.iter().map(|r| key(r).2)))
            .select_only()
            .columns([Column::Instrument, Column::Source, Column::ResponseId])
            .into_tuple()
            .all(db)
            .await?;
        seen.extend(held);
    }
    Ok(rows.iter().filter(|r| seen.insert(key(r))).count() as u64)
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_300003_prom_responses"
        }
    }

    #[derive(DeriveIden)]
    enum PromResponses {
        Table,
        Id,
        TenantId,
        Instrument,
        Source,
        ResponseId,
        EpisodeId,
        CompletedOn,
        Items,
        Total,
        Pathway,
        ReceivedAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let text = |c: PromResponses| ColumnDef::new(c).string().not_null().to_owned();
            manager
                .create_table(
                    Table::create()
                        .table(PromResponses::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(PromResponses::Id)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(text(PromResponses::TenantId))
                        .col(text(PromResponses::Instrument))
                        .col(text(PromResponses::Source))
                        .col(text(PromResponses::ResponseId))
                        .col(text(PromResponses::EpisodeId))
                        .col(text(PromResponses::CompletedOn))
                        .col(text(PromResponses::Items))
                        .col(ColumnDef::new(PromResponses::Total).integer().not_null())
                        .col(text(PromResponses::Pathway))
                        .col(text(PromResponses::ReceivedAt))
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("prom_responses_once")
                        .table(PromResponses::Table)
                        .col(PromResponses::TenantId)
                        .col(PromResponses::Instrument)
                        .col(PromResponses::Source)
                        .col(PromResponses::ResponseId)
                        .unique()
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("prom_responses_episode")
                        .table(PromResponses::Table)
                        .col(PromResponses::TenantId)
                        .col(PromResponses::Instrument)
                        .col(PromResponses::EpisodeId)
                        .if_not_exists()
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
            Ok(())
        }
    }
}
