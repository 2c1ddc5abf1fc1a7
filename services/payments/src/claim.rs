//! Claims for payment. One per attendance, enforced by a unique index as well as by the inbox.

use alongside_platform::OdsCode;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claims")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub partner_id: String,
    pub attendance_id: String,
    pub opportunity_id: String,
    pub amount_pence: i64,
    pub rate_basis: String,
    pub status: String,
    pub activity_date: String,
    pub minutes: i32,
    pub created_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Every query of claims starts here, so no query can forget the tenant.
pub fn for_tenant(tenant: &OdsCode) -> Select<Entity> {
    Entity::find().filter(Column::TenantId.eq(tenant.as_str()))
}

impl From<Model> for alongside_proto::payments::v1::Claim {
    fn from(m: Model) -> Self {
        Self {
            id: m.id,
            tenant_id: m.tenant_id,
            partner_id: m.partner_id,
            attendance_id: m.attendance_id,
            amount: Some(alongside_proto::common::v1::Money {
                pence: m.amount_pence,
            }),
            rate_basis: m.rate_basis,
            status: m.status,
            activity_date: m.activity_date,
            minutes: m.minutes as u32,
            created_at: m.created_at,
        }
    }
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261123_400001_claims"
        }
    }

    #[derive(DeriveIden)]
    enum Claims {
        Table,
        Id,
        TenantId,
        PartnerId,
        AttendanceId,
        OpportunityId,
        AmountPence,
        RateBasis,
        Status,
        ActivityDate,
        Minutes,
        CreatedAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(Claims::Table)
                        .if_not_exists()
                        .col(ColumnDef::new(Claims::Id).string().not_null().primary_key())
                        .col(ColumnDef::new(Claims::TenantId).string().not_null())
                        .col(ColumnDef::new(Claims::PartnerId).string().not_null())
                        // At most one claim per attendance, whatever is redelivered or replayed.
                        .col(
                            ColumnDef::new(Claims::AttendanceId)
                                .string()
                                .not_null()
                                .unique_key(),
                        )
                        .col(ColumnDef::new(Claims::OpportunityId).string().not_null())
                        .col(ColumnDef::new(Claims::AmountPence).big_integer().not_null())
                        .col(ColumnDef::new(Claims::RateBasis).string().not_null())
                        .col(ColumnDef::new(Claims::Status).string().not_null())
                        .col(ColumnDef::new(Claims::ActivityDate).string().not_null())
                        .col(ColumnDef::new(Claims::Minutes).integer().not_null())
                        .col(ColumnDef::new(Claims::CreatedAt).string().not_null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("claims_tenant_partner")
                        .table(Claims::Table)
                        .col(Claims::TenantId)
                        .col(Claims::PartnerId)
                        .if_not_exists()
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(Claims::Table).to_owned())
                .await
        }
    }
}
