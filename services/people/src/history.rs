//! `partner_status_changes`: the onboarding history, append-only.

use alongside_platform::OdsCode;
use sea_orm::entity::prelude::*;
use sea_orm::QueryOrder;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_status_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: String,
    pub partner_id: String,
    pub from_status: String,
    pub to_status: String,
    pub reason: String,
    pub changed_by: String,
    pub changed_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// One partner's history in one tenant, oldest first.
pub fn of_partner(tenant: &OdsCode, partner_id: &str) -> Select<Entity> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant.as_str()))
        .filter(Column::PartnerId.eq(partner_id))
        .order_by_asc(Column::Id)
}

impl From<Model> for alongside_proto::people::v1::StatusChange {
    fn from(m: Model) -> Self {
        Self {
            from_status: m.from_status,
            to_status: m.to_status,
            reason: m.reason,
            changed_by: m.changed_by,
            changed_at: m.changed_at,
        }
    }
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261124_100001_partner_status_changes"
        }
    }

    #[derive(DeriveIden)]
    enum PartnerStatusChanges {
        Table,
        Id,
        TenantId,
        PartnerId,
        FromStatus,
        ToStatus,
        Reason,
        ChangedBy,
        ChangedAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            use PartnerStatusChanges as T;
            manager
                .create_table(
                    Table::create()
                        .table(T::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(T::Id)
                                .big_integer()
                                .not_null()
                                .auto_increment()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(T::TenantId).string().not_null())
                        .col(ColumnDef::new(T::PartnerId).string().not_null())
                        .col(ColumnDef::new(T::FromStatus).string().not_null())
                        .col(ColumnDef::new(T::ToStatus).string().not_null())
                        .col(ColumnDef::new(T::Reason).string().not_null())
                        .col(ColumnDef::new(T::ChangedBy).string().not_null())
                        .col(ColumnDef::new(T::ChangedAt).string().not_null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("partner_status_changes_partner")
                        .table(T::Table)
                        .col(T::TenantId)
                        .col(T::PartnerId)
                        .if_not_exists()
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(PartnerStatusChanges::Table).to_owned())
                .await
        }
    }
}
