//! The organisations feedback counts responses for: each trust and ICB the gateway has added,
//! registered by it (`RegisterTenant`). Responses arriving on `feedback.responses.v1` for any
//! other code are refused (to the `.dlq`, with the reason), so nobody can publish figures as a
//! trust that is no tenant. Calls over gRPC carry a tenant the gateway vouches for already.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::ActiveValue::Set;
use sea_orm::QueryOrder;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "registered_tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub icb: String,
    pub registered_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}
impl ActiveModelBehavior for ActiveModel {}

/// Registers `code` (of `icb`), or updates its ICB; answers the row held.
pub async fn register(
    db: &impl ConnectionTrait,
    code: &str,
    icb: &str,
    at: &str,
) -> Result<Model, DbErr> {
    let row = Model {
        code: code.to_string(),
        icb: icb.to_string(),
        registered_at: at.to_string(),
    };
    Entity::insert(ActiveModel {
        code: Set(row.code.clone()),
        icb: Set(row.icb.clone()),
        registered_at: Set(row.registered_at.clone()),
    })
    .on_conflict(
        OnConflict::column(Column::Code)
            .update_column(Column::Icb)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(Entity::find_by_id(code).one(db).await?.unwrap_or(row))
}

/// Whether `code` is a registered tenant.
pub async fn is_registered(db: &impl ConnectionTrait, code: &str) -> Result<bool, DbErr> {
    Ok(Entity::find_by_id(code).one(db).await?.is_some())
}

/// The registered members of ICB `icb`, by code.
pub async fn members(db: &impl ConnectionTrait, icb: &str) -> Result<Vec<String>, DbErr> {
    if icb.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Entity::find()
        .filter(Column::Icb.eq(icb))
        .order_by_asc(Column::Code)
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.code)
        .collect())
}

/// The trusts whose figures are published together with `code`'s: the registered members of
/// its ICB (itself included), or itself alone when it is registered under none.
pub async fn published_with(db: &impl ConnectionTrait, code: &str) -> Result<Vec<String>, DbErr> {
    let icb = Entity::find_by_id(code)
        .one(db)
        .await?
        .map(|m| m.icb)
        .unwrap_or_default();
    let mut out = members(db, &icb).await?;
    if !out.iter().any(|c| c == code) {
        out.push(code.to_string());
        out.sort();
    }
    Ok(out)
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261206_600010_registered_tenants"
        }
    }

    #[derive(DeriveIden)]
    enum RegisteredTenants {
        Table,
        Code,
        Icb,
        RegisteredAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(RegisteredTenants::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(RegisteredTenants::Code)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(RegisteredTenants::Icb).string().not_null())
                        .col(
                            ColumnDef::new(RegisteredTenants::RegisteredAt)
                                .string()
                                .not_null(),
                        )
                        .to_owned(),
                )
                .await?;
            // The trusts already counted were added through the gateway: they stay counted.
            manager
                .get_connection()
                .execute_unprepared(
                    "INSERT INTO registered_tenants (code, icb, registered_at) \
                     SELECT DISTINCT tenant_id, '', 'before registration' FROM fft_responses",
                )
                .await?;
            Ok(())
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(RegisteredTenants::Table).to_owned())
                .await
        }
    }
}
