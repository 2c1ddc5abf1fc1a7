//! Support for partners (DOMAIN.md §2): a named supporter, and debrief and wellbeing notes that
//! only that supporter and the engagement leads may read or write.

use alongside_platform::OdsCode;
use sea_orm::entity::prelude::*;

pub const NOTE_KINDS: &[&str] = &["debrief", "wellbeing"];

/// `partner_supporters`: who supports a partner (one at a time).
pub mod supporter {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "partner_supporters")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub partner_id: String,
        pub tenant_id: String,
        /// The supporter's user id at the gateway: the subject of their calls.
        pub supporter_id: String,
        pub supporter_name: String,
        pub assigned_by: String,
        pub assigned_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    pub fn of_partner(tenant: &OdsCode, partner_id: &str) -> Select<Entity> {
        Entity::find()
            .filter(Column::TenantId.eq(tenant.as_str()))
            .filter(Column::PartnerId.eq(partner_id))
    }
}

/// `support_notes`: append-only.
pub mod note {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "support_notes")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: String,
        pub partner_id: String,
        pub kind: String,
        pub body: String,
        pub written_by: String,
        pub written_by_role: String,
        pub written_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    pub fn of_partner(tenant: &OdsCode, partner_id: &str) -> Select<Entity> {
        Entity::find()
            .filter(Column::TenantId.eq(tenant.as_str()))
            .filter(Column::PartnerId.eq(partner_id))
    }

    impl From<Model> for alongside_proto::people::v1::SupportNote {
        fn from(m: Model) -> Self {
            Self {
                kind: m.kind,
                body: m.body,
                written_at: m.written_at,
                written_by_role: m.written_by_role,
            }
        }
    }
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261125_100006_partner_support"
        }
    }

    #[derive(DeriveIden)]
    enum PartnerSupporters {
        Table,
        PartnerId,
        TenantId,
        SupporterId,
        SupporterName,
        AssignedBy,
        AssignedAt,
    }

    #[derive(DeriveIden)]
    enum SupportNotes {
        Table,
        Id,
        TenantId,
        PartnerId,
        Kind,
        Body,
        WrittenBy,
        WrittenByRole,
        WrittenAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(PartnerSupporters::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(PartnerSupporters::PartnerId)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(
                            ColumnDef::new(PartnerSupporters::TenantId)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(PartnerSupporters::SupporterId)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(PartnerSupporters::SupporterName)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(PartnerSupporters::AssignedBy)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(PartnerSupporters::AssignedAt)
                                .string()
                                .not_null(),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(SupportNotes::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(SupportNotes::Id)
                                .big_integer()
                                .not_null()
                                .auto_increment()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(SupportNotes::TenantId).string().not_null())
                        .col(ColumnDef::new(SupportNotes::PartnerId).string().not_null())
                        .col(ColumnDef::new(SupportNotes::Kind).string().not_null())
                        .col(ColumnDef::new(SupportNotes::Body).text().not_null())
                        .col(ColumnDef::new(SupportNotes::WrittenBy).string().not_null())
                        .col(
                            ColumnDef::new(SupportNotes::WrittenByRole)
                                .string()
                                .not_null(),
                        )
                        .col(ColumnDef::new(SupportNotes::WrittenAt).string().not_null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("support_notes_by_partner")
                        .table(SupportNotes::Table)
                        .col(SupportNotes::TenantId)
                        .col(SupportNotes::PartnerId)
                        .col(SupportNotes::Id)
                        .if_not_exists()
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(SupportNotes::Table).to_owned())
                .await?;
            manager
                .drop_table(Table::drop().table(PartnerSupporters::Table).to_owned())
                .await
        }
    }
}
