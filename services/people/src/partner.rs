//! A partner's record, always read and written for one tenant.

use alongside_platform::OdsCode;
use sea_orm::entity::prelude::*;
use sea_orm::Condition;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partners")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub phone: String,
    pub locality: String,
    pub status: String,
    pub registered_at: String,
    pub registered_by: String,
    /// Name and locality, lower-cased, for search.
    pub search_text: String,
    /// The ICS (ICB) of the tenant, empty when it belongs to none: sharing stays within it.
    pub ics_id: String,
    /// For a record added from another trust of the ICS: the first record's id and trust. Every
    /// record of one person shares the first record's id here (that record itself has it empty).
    pub shared_from: String,
    pub shared_from_tenant: String,
}

/// The other live records of the same person at the trusts of their ICS: the first record
/// and every record added from it, this one left out.
pub async fn linked(db: &impl ConnectionTrait, row: &Model) -> Result<Vec<Model>, DbErr> {
    let first = if row.shared_from.is_empty() {
        row.id.clone()
    } else {
        row.shared_from.clone()
    };
    Entity::find()
        .filter(
            Condition::any()
                .add(Column::Id.eq(first.as_str()))
                .add(Column::SharedFrom.eq(first.as_str())),
        )
        .filter(Column::Id.ne(row.id.as_str()))
        .filter(Column::Status.ne("erased"))
        .all(db)
        .await
}

/// What a search matches: the full name and the locality, lower-cased.
pub fn search_text(given_name: &str, family_name: &str, locality: &str) -> String {
    format!("{given_name} {family_name} {locality}").to_lowercase()
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Every query of partners starts here, so no query can forget the tenant.
pub fn for_tenant(tenant: &OdsCode) -> Select<Entity> {
    Entity::find().filter(Column::TenantId.eq(tenant.as_str()))
}

impl From<Model> for alongside_proto::people::v1::Partner {
    fn from(m: Model) -> Self {
        Self {
            id: m.id,
            tenant_id: m.tenant_id,
            given_name: m.given_name,
            family_name: m.family_name,
            email: m.email,
            phone: m.phone,
            locality: m.locality,
            status: m.status,
            registered_at: m.registered_at,
            joined_from: m.shared_from_tenant,
        }
    }
}

/// Search and sort at the size of a real bank: one lower-cased search column, and indexes in the
/// orders the list offers.
pub mod search_migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261124_100003_partner_search"
        }
    }

    #[derive(DeriveIden)]
    enum Partners {
        Table,
        TenantId,
        FamilyName,
        GivenName,
        Id,
        RegisteredAt,
        Status,
        SearchText,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .alter_table(
                    Table::alter()
                        .table(Partners::Table)
                        .add_column(
                            ColumnDef::new(Partners::SearchText)
                                .string()
                                .not_null()
                                .default(""),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .get_connection()
                .execute_unprepared(
                    "UPDATE partners SET search_text = lower(given_name || ' ' || family_name || ' ' || locality) WHERE status <> 'erased'",
                )
                .await?;
            // Nearly every row of a trust matches `tenant_id`, so an index on it alone would make
            // the database fetch each row at random; these carry what the list filters on
            // (status, search text) so that counting and paging read the index alone.
            manager
                .create_index(
                    Index::create()
                        .name("partners_by_name")
                        .table(Partners::Table)
                        .col(Partners::TenantId)
                        .col(Partners::FamilyName)
                        .col(Partners::GivenName)
                        .col(Partners::Id)
                        .col(Partners::Status)
                        .col(Partners::SearchText)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("partners_by_registration")
                        .table(Partners::Table)
                        .col(Partners::TenantId)
                        .col(Partners::RegisteredAt)
                        .col(Partners::Id)
                        .col(Partners::Status)
                        .col(Partners::SearchText)
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

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261123_100001_partners"
        }
    }

    #[derive(DeriveIden)]
    enum Partners {
        Table,
        Id,
        TenantId,
        GivenName,
        FamilyName,
        Email,
        Phone,
        Locality,
        Status,
        RegisteredAt,
        RegisteredBy,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(Partners::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(Partners::Id)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(Partners::TenantId).string().not_null())
                        .col(ColumnDef::new(Partners::GivenName).string().not_null())
                        .col(ColumnDef::new(Partners::FamilyName).string().not_null())
                        .col(ColumnDef::new(Partners::Email).string().not_null())
                        .col(ColumnDef::new(Partners::Phone).string().not_null())
                        .col(ColumnDef::new(Partners::Locality).string().not_null())
                        .col(ColumnDef::new(Partners::Status).string().not_null())
                        .col(ColumnDef::new(Partners::RegisteredAt).string().not_null())
                        .col(ColumnDef::new(Partners::RegisteredBy).string().not_null())
                        .to_owned(),
                )
                .await?;
            // One registration per e-mail address within a tenant.
            manager
                .create_index(
                    Index::create()
                        .name("partners_tenant_email")
                        .table(Partners::Table)
                        .col(Partners::TenantId)
                        .col(Partners::Email)
                        .unique()
                        .if_not_exists()
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(Partners::Table).to_owned())
                .await
        }
    }
}

/// Each partner carries their trust's ICS, so sharing across it needs no other table.
pub mod ics_migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261125_100008_partner_ics"
        }
    }

    #[derive(DeriveIden)]
    enum Partners {
        Table,
        IcsId,
        Status,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .alter_table(
                    Table::alter()
                        .table(Partners::Table)
                        .add_column(
                            ColumnDef::new(Partners::IcsId)
                                .string()
                                .not_null()
                                .default(""),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("partners_by_ics")
                        .table(Partners::Table)
                        .col(Partners::IcsId)
                        .col(Partners::Status)
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

/// Where a record added from another trust came from, so that a withdrawal reaches every
/// record of the person.
pub mod shared_from_migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_100012_partner_shared_from"
        }
    }

    #[derive(DeriveIden)]
    enum Partners {
        Table,
        SharedFrom,
        SharedFromTenant,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for column in [Partners::SharedFrom, Partners::SharedFromTenant] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Partners::Table)
                            .add_column(ColumnDef::new(column).string().not_null().default(""))
                            .to_owned(),
                    )
                    .await?;
            }
            manager
                .create_index(
                    Index::create()
                        .name("partners_by_shared_from")
                        .table(Partners::Table)
                        .col(Partners::SharedFrom)
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
