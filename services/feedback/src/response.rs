//! Stored FFT responses: one row per (tenant, source, response id).

use alongside_platform::OdsCode;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "fft_responses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub source: String,
    pub response_id: String,
    pub answer: String,
    pub responded_on: String,
    /// YYYY-MM of `responded_on`, for monthly figures.
    pub month: String,
    pub received_at: String,
    /// Free text: restricted; never logged.
    pub worked_well: String,
    pub could_improve: String,
    pub site: String,
    pub locality: String,
    pub pathway: String,
    pub team: String,
    /// Equality answers, only with the respondent's consent ("" otherwise).
    pub age_band: String,
    pub sex: String,
    pub ethnic_group: String,
    /// 1 to 10; 0 unknown.
    pub imd_decile: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Every query of responses starts here, so no query can forget the tenant.
pub fn for_tenant(tenant: &OdsCode) -> Select<Entity> {
    Entity::find().filter(Column::TenantId.eq(tenant.as_str()))
}

/// The free-text follow-ups of the FFT.
pub mod comments_migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_300002_fft_comments"
        }
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum FftResponses {
        Table,
        WorkedWell,
        CouldImprove,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            // One column per statement: SQLite alters one thing at a time.
            for column in [FftResponses::WorkedWell, FftResponses::CouldImprove] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(FftResponses::Table)
                            .add_column(ColumnDef::new(column).text().not_null().default(""))
                            .to_owned(),
                    )
                    .await?;
            }
            Ok(())
        }

        async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
            Ok(())
        }
    }
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261123_300001_fft_responses"
        }
    }

    #[derive(DeriveIden)]
    enum FftResponses {
        Table,
        Id,
        TenantId,
        Source,
        ResponseId,
        Answer,
        RespondedOn,
        Month,
        ReceivedAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(FftResponses::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(FftResponses::Id)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(FftResponses::TenantId).string().not_null())
                        .col(ColumnDef::new(FftResponses::Source).string().not_null())
                        .col(ColumnDef::new(FftResponses::ResponseId).string().not_null())
                        .col(ColumnDef::new(FftResponses::Answer).string().not_null())
                        .col(
                            ColumnDef::new(FftResponses::RespondedOn)
                                .string()
                                .not_null(),
                        )
                        .col(ColumnDef::new(FftResponses::Month).string().not_null())
                        .col(ColumnDef::new(FftResponses::ReceivedAt).string().not_null())
                        .to_owned(),
                )
                .await?;
            // Re-sending a response never counts it twice.
            manager
                .create_index(
                    Index::create()
                        .name("fft_responses_once")
                        .table(FftResponses::Table)
                        .col(FftResponses::TenantId)
                        .col(FftResponses::Source)
                        .col(FftResponses::ResponseId)
                        .unique()
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("fft_responses_month")
                        .table(FftResponses::Table)
                        .col(FftResponses::TenantId)
                        .col(FftResponses::Month)
                        .col(FftResponses::Answer)
                        .if_not_exists()
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(FftResponses::Table).to_owned())
                .await
        }
    }
}
