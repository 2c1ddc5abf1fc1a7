//! The gateway's own tables: tenants, users and sessions. Passwords are argon2 hashes; session
//! tokens are stored only as SHA-256 digests.

use sea_orm_migration::prelude::*;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(migration::Migration),
            Box::new(invitation::migration::Migration),
            Box::new(survey_link::migration::Migration),
            Box::new(crate::throttle::migration::Migration),
        ]
    }
}

pub mod tenant {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub ods_code: String,
        pub name: String,
        /// icb or trust
        pub kind: String,
        /// The ICB a trust belongs to.
        pub parent: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}

    /// The member trusts of an ICB (code, name) by code; none for a trust.
    pub async fn members(
        db: &DatabaseConnection,
        icb: &str,
    ) -> Result<Vec<(String, String)>, DbErr> {
        use sea_orm::QueryOrder;
        Ok(Entity::find()
            .filter(Column::Parent.eq(icb))
            .order_by_asc(Column::OdsCode)
            .all(db)
            .await?
            .into_iter()
            .map(|t| (t.ods_code, t.name))
            .collect())
    }
}

pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        #[sea_orm(unique)]
        pub email: String,
        pub display_name: String,
        pub password_hash: String,
        pub tenant_id: String,
        pub role: String,
        /// For partners: their partner id in the People Bank, the subject of their calls.
        pub partner_id: Option<String>,
        pub created_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

/// Links that let a partner set their password once: stored only as SHA-256 digests.
pub mod invitation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invitations")]
    pub struct Model {
        /// SHA-256 of the link's token, hex.
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub tenant_id: String,
        pub partner_id: String,
        pub email: String,
        pub display_name: String,
        pub created_by: String,
        pub created_at: String,
        /// Unix seconds.
        pub expires_at: i64,
        /// Set when the partner chose their password; a link works once.
        pub used_at: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}

    pub mod migration {
        use sea_orm_migration::prelude::*;

        pub struct Migration;

        impl MigrationName for Migration {
            fn name(&self) -> &str {
                "m20261125_500002_invitations"
            }
        }

        #[derive(DeriveIden)]
        enum Invitations {
            Table,
            TokenHash,
            TenantId,
            PartnerId,
            Email,
            DisplayName,
            CreatedBy,
            CreatedAt,
            ExpiresAt,
            UsedAt,
        }

        #[async_trait::async_trait]
        impl MigrationTrait for Migration {
            async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                let text = |c: Invitations| ColumnDef::new(c).string().not_null().to_owned();
                manager
                    .create_table(
                        Table::create()
                            .table(Invitations::Table)
                            .if_not_exists()
                            .col(
                                ColumnDef::new(Invitations::TokenHash)
                                    .string()
                                    .not_null()
                                    .primary_key(),
                            )
                            .col(text(Invitations::TenantId))
                            .col(text(Invitations::PartnerId))
                            .col(text(Invitations::Email))
                            .col(text(Invitations::DisplayName))
                            .col(text(Invitations::CreatedBy))
                            .col(text(Invitations::CreatedAt))
                            .col(
                                ColumnDef::new(Invitations::ExpiresAt)
                                    .big_integer()
                                    .not_null(),
                            )
                            .col(ColumnDef::new(Invitations::UsedAt).string().null())
                            .to_owned(),
                    )
                    .await
            }

            async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                manager
                    .drop_table(Table::drop().table(Invitations::Table).to_owned())
                    .await
            }
        }
    }
}

/// Personal links to the public FFT form: each counts one response. Only digests are kept.
pub mod survey_link {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "survey_links")]
    pub struct Model {
        /// SHA-256 of the link's token, hex.
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub tenant_id: String,
        pub created_by: String,
        pub created_at: String,
        pub used_at: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}

    pub mod migration {
        use sea_orm_migration::prelude::*;

        pub struct Migration;

        impl MigrationName for Migration {
            fn name(&self) -> &str {
                "m20261201_500003_survey_links"
            }
        }

        #[derive(DeriveIden)]
        enum SurveyLinks {
            Table,
            TokenHash,
            TenantId,
            CreatedBy,
            CreatedAt,
            UsedAt,
        }

        #[async_trait::async_trait]
        impl MigrationTrait for Migration {
            async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                let text = |c: SurveyLinks| ColumnDef::new(c).string().not_null().to_owned();
                manager
                    .create_table(
                        Table::create()
                            .table(SurveyLinks::Table)
                            .if_not_exists()
                            .col(
                                ColumnDef::new(SurveyLinks::TokenHash)
                                    .string()
                                    .not_null()
                                    .primary_key(),
                            )
                            .col(text(SurveyLinks::TenantId))
                            .col(text(SurveyLinks::CreatedBy))
                            .col(text(SurveyLinks::CreatedAt))
                            .col(ColumnDef::new(SurveyLinks::UsedAt).string().null())
                            .to_owned(),
                    )
                    .await
            }

            async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
                Ok(())
            }
        }
    }
}

pub mod session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        /// SHA-256 of the cookie's token, hex.
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub user_id: String,
        pub csrf_token: String,
        pub created_at: String,
        /// Unix seconds.
        pub expires_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261123_500001_gateway"
        }
    }

    #[derive(DeriveIden)]
    enum Tenants {
        Table,
        OdsCode,
        Name,
        Kind,
        Parent,
    }

    #[derive(DeriveIden)]
    enum Users {
        Table,
        Id,
        Email,
        DisplayName,
        PasswordHash,
        TenantId,
        Role,
        PartnerId,
        CreatedAt,
    }

    #[derive(DeriveIden)]
    enum Sessions {
        Table,
        TokenHash,
        UserId,
        CsrfToken,
        CreatedAt,
        ExpiresAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(Tenants::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(Tenants::OdsCode)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(Tenants::Name).string().not_null())
                        .col(ColumnDef::new(Tenants::Kind).string().not_null())
                        .col(ColumnDef::new(Tenants::Parent).string().null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(Users::Table)
                        .if_not_exists()
                        .col(ColumnDef::new(Users::Id).string().not_null().primary_key())
                        .col(
                            ColumnDef::new(Users::Email)
                                .string()
                                .not_null()
                                .unique_key(),
                        )
                        .col(ColumnDef::new(Users::DisplayName).string().not_null())
                        .col(ColumnDef::new(Users::PasswordHash).string().not_null())
                        .col(ColumnDef::new(Users::TenantId).string().not_null())
                        .col(ColumnDef::new(Users::Role).string().not_null())
                        .col(ColumnDef::new(Users::PartnerId).string().null())
                        .col(ColumnDef::new(Users::CreatedAt).string().not_null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(Sessions::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(Sessions::TokenHash)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(Sessions::UserId).string().not_null())
                        .col(ColumnDef::new(Sessions::CsrfToken).string().not_null())
                        .col(ColumnDef::new(Sessions::CreatedAt).string().not_null())
                        .col(ColumnDef::new(Sessions::ExpiresAt).big_integer().not_null())
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(Sessions::Table).to_owned())
                .await?;
            manager
                .drop_table(Table::drop().table(Users::Table).to_owned())
                .await?;
            manager
                .drop_table(Table::drop().table(Tenants::Table).to_owned())
                .await
        }
    }
}
