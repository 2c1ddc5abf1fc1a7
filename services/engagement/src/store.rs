//! Engagement's tables. Every query starts from a tenant-scoped constructor.

macro_rules! tenant_scoped {
    () => {
        /// Every query of this table starts here, so no query can forget the tenant.
        pub fn for_tenant(tenant: &alongside_platform::OdsCode) -> Select<Entity> {
            Entity::find().filter(Column::TenantId.eq(tenant.as_str()))
        }
    };
}

pub mod known_partner {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "known_partners")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub partner_id: String,
        pub tenant_id: String,
        pub status: String,
        pub locality: String,
        pub updated_at: String,
        /// False once the partner withdraws consent to be contacted: offered nothing more.
        pub contactable: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
    tenant_scoped!();
}

pub mod opportunity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "opportunities")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub title: String,
        pub kind: String,
        pub involvement_level: i32,
        pub starts_on: String,
        pub places: i32,
        pub status: String,
        pub created_at: String,
        pub created_by: String,
        /// Empty: any active partner.
        pub required_role: String,
        pub pathway: String,
        pub cost_centre: String,
        /// rate_card or expenses_only.
        pub remuneration: String,
        /// Places taken: raised only while below `places`, in one statement, so two leads
        /// assigning the last place at once give it to one partner.
        pub filled: i32,
        pub description: String,
        pub locality: String,
        /// Minutes per session.
        pub expected_minutes: i32,
        pub accessibility: String,
        pub contact: String,
        pub cancel_reason: String,
        pub request_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
    tenant_scoped!();

    impl Model {
        /// As published: `filled` while published with every place taken.
        pub fn status_now(&self) -> String {
            if self.status == "published" && self.filled >= self.places {
                "filled".into()
            } else {
                self.status.clone()
            }
        }

        pub fn into_proto(
            self,
            sessions: Vec<crate::schema::session::Model>,
        ) -> alongside_proto::engagement::v1::Opportunity {
            alongside_proto::engagement::v1::Opportunity {
                status: self.status_now(),
                id: self.id,
                tenant_id: self.tenant_id,
                title: self.title,
                kind: self.kind,
                involvement_level: self.involvement_level as u32,
                starts_on: self.starts_on,
                places: self.places as u32,
                created_at: self.created_at,
                required_role: self.required_role,
                pathway: self.pathway,
                cost_centre: self.cost_centre,
                remuneration: self.remuneration,
                description: self.description,
                locality: self.locality,
                expected_minutes: self.expected_minutes.max(0) as u32,
                accessibility: self.accessibility,
                contact: self.contact,
                sessions: sessions
                    .into_iter()
                    .map(|s| alongside_proto::engagement::v1::Session {
                        id: s.id,
                        number: s.number as u32,
                        on: s.on_date,
                        start_time: s.start_time,
                        minutes: s.minutes.max(0) as u32,
                    })
                    .collect(),
                filled: self.filled.max(0) as u32,
                cancel_reason: self.cancel_reason,
                request_id: self.request_id,
            }
        }
    }
}

pub mod assignment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "assignments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub opportunity_id: String,
        pub partner_id: String,
        pub created_at: String,
        /// offered (the place held for the partner's answer), accepted or declined.
        pub status: String,
        pub decline_reason: String,
        pub responded_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
    tenant_scoped!();
}

pub mod attendance {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "session_attendances")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub assignment_id: String,
        pub opportunity_id: String,
        pub partner_id: String,
        pub minutes: i32,
        pub activity_date: String,
        pub recorded_at: String,
        pub recorded_by: String,
        /// 1 as recorded, one more for each correction (kept in `attendance_corrections`).
        pub revision: i32,
        pub corrected_at: String,
        pub correction_reason: String,
        pub session_id: String,
        /// attended, apologies or no_show.
        pub outcome: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
    tenant_scoped!();

    impl From<Model> for alongside_proto::engagement::v1::Attendance {
        fn from(m: Model) -> Self {
            Self {
                id: m.id,
                assignment_id: m.assignment_id,
                opportunity_id: m.opportunity_id,
                partner_id: m.partner_id,
                minutes: m.minutes as u32,
                activity_date: m.activity_date,
                recorded_at: m.recorded_at,
                revision: m.revision as u32,
                corrected_at: m.corrected_at,
                correction_reason: m.correction_reason,
                session_id: m.session_id,
                outcome: m.outcome,
            }
        }
    }
}

/// Every correction of recorded attendance, never overwritten.
pub mod correction {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "attendance_corrections")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: String,
        pub attendance_id: String,
        pub revision: i32,
        pub from_minutes: i32,
        pub to_minutes: i32,
        pub reason: String,
        pub corrected_by: String,
        pub corrected_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
    tenant_scoped!();
}

/// Pathway, cost centre and remuneration on opportunities (reported on by payments), and
/// corrections of attendance with their history.
pub mod payment_fields_migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_200004_opportunity_payment_fields_corrections"
        }
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum Opportunities {
        Table,
        Pathway,
        CostCentre,
        Remuneration,
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum Attendances {
        Table,
        Revision,
        CorrectedAt,
        CorrectionReason,
    }

    #[derive(DeriveIden)]
    enum AttendanceCorrections {
        Table,
        Id,
        TenantId,
        AttendanceId,
        Revision,
        FromMinutes,
        ToMinutes,
        Reason,
        CorrectedBy,
        CorrectedAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            // One column per statement: SQLite alters one thing at a time.
            for (column, default) in [
                (Opportunities::Pathway, ""),
                (Opportunities::CostCentre, ""),
                (Opportunities::Remuneration, "rate_card"),
            ] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Opportunities::Table)
                            .add_column(ColumnDef::new(column).text().not_null().default(default))
                            .to_owned(),
                    )
                    .await?;
            }
            manager
                .alter_table(
                    Table::alter()
                        .table(Attendances::Table)
                        .add_column(
                            ColumnDef::new(Attendances::Revision)
                                .integer()
                                .not_null()
                                .default(1),
                        )
                        .to_owned(),
                )
                .await?;
            for column in [Attendances::CorrectedAt, Attendances::CorrectionReason] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Attendances::Table)
                            .add_column(ColumnDef::new(column).text().not_null().default(""))
                            .to_owned(),
                    )
                    .await?;
            }
            let text = |c: AttendanceCorrections| ColumnDef::new(c).text().not_null().to_owned();
            manager
                .create_table(
                    Table::create()
                        .table(AttendanceCorrections::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(AttendanceCorrections::Id)
                                .big_integer()
                                .not_null()
                                .auto_increment()
                                .primary_key(),
                        )
                        .col(text(AttendanceCorrections::TenantId))
                        .col(text(AttendanceCorrections::AttendanceId))
                        .col(
                            ColumnDef::new(AttendanceCorrections::Revision)
                                .integer()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(AttendanceCorrections::FromMinutes)
                                .integer()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(AttendanceCorrections::ToMinutes)
                                .integer()
                                .not_null(),
                        )
                        .col(text(AttendanceCorrections::Reason))
                        .col(text(AttendanceCorrections::CorrectedBy))
                        .col(text(AttendanceCorrections::CorrectedAt))
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
            Ok(())
        }
    }
}

/// The roles each partner is eligible for, from `PartnerEligibilityChanged`.
pub mod eligibility {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "partner_eligibility")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: String,
        pub partner_id: String,
        pub role: String,
        /// The last day eligible; empty: no expiry.
        pub valid_until: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
    tenant_scoped!();
}

/// An assignment cancelled because the partner left or was erased: kept under the
/// pseudonymous id, so the history still says the place was theirs and why it was freed.
pub mod cancellation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "assignment_cancellations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub assignment_id: String,
        pub tenant_id: String,
        pub opportunity_id: String,
        pub partner_id: String,
        pub reason: String,
        pub cancelled_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
    tenant_scoped!();
}

pub mod cancellation_migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_200007_assignment_cancellations"
        }
    }

    #[derive(DeriveIden)]
    enum AssignmentCancellations {
        Table,
        AssignmentId,
        TenantId,
        OpportunityId,
        PartnerId,
        Reason,
        CancelledAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            use AssignmentCancellations as C;
            manager
                .create_table(
                    Table::create()
                        .table(C::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(C::AssignmentId)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(C::TenantId).string().not_null())
                        .col(ColumnDef::new(C::OpportunityId).string().not_null())
                        .col(ColumnDef::new(C::PartnerId).string().not_null())
                        .col(ColumnDef::new(C::Reason).string().not_null())
                        .col(ColumnDef::new(C::CancelledAt).string().not_null())
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(
                    Table::drop()
                        .table(AssignmentCancellations::Table)
                        .to_owned(),
                )
                .await
        }
    }
}

/// Opportunities count their places taken (from the assignments held).
pub mod filled_migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_200005_opportunity_filled"
        }
    }

    #[derive(DeriveIden)]
    enum Opportunities {
        Table,
        Filled,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .alter_table(
                    Table::alter()
                        .table(Opportunities::Table)
                        .add_column(
                            ColumnDef::new(Opportunities::Filled)
                                .integer()
                                .not_null()
                                .default(0),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .get_connection()
                .execute_unprepared(
                    "UPDATE opportunities SET filled = \
                     (SELECT COUNT(*) FROM assignments a WHERE a.opportunity_id = opportunities.id)",
                )
                .await?;
            Ok(())
        }

        async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
            Ok(())
        }
    }
}

/// Whether a partner may be contacted, from `PartnerConsentChanged`.
pub mod contact_migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261125_200002_partner_contactable"
        }
    }

    #[derive(DeriveIden)]
    enum KnownPartners {
        Table,
        Contactable,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .alter_table(
                    Table::alter()
                        .table(KnownPartners::Table)
                        .add_column(
                            ColumnDef::new(KnownPartners::Contactable)
                                .boolean()
                                .not_null()
                                .default(true),
                        )
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
            Ok(())
        }
    }
}

/// Opportunities gain a required role; partners' eligibility is kept.
pub mod eligibility_migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261124_200001_required_roles"
        }
    }

    #[derive(DeriveIden)]
    enum Opportunities {
        Table,
        RequiredRole,
    }

    #[derive(DeriveIden)]
    enum PartnerEligibility {
        Table,
        Id,
        TenantId,
        PartnerId,
        Role,
        ValidUntil,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .alter_table(
                    Table::alter()
                        .table(Opportunities::Table)
                        .add_column(
                            ColumnDef::new(Opportunities::RequiredRole)
                                .string()
                                .not_null()
                                .default(""),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(PartnerEligibility::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(PartnerEligibility::Id)
                                .big_integer()
                                .not_null()
                                .auto_increment()
                                .primary_key(),
                        )
                        .col(
                            ColumnDef::new(PartnerEligibility::TenantId)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(PartnerEligibility::PartnerId)
                                .string()
                                .not_null(),
                        )
                        .col(ColumnDef::new(PartnerEligibility::Role).string().not_null())
                        .col(
                            ColumnDef::new(PartnerEligibility::ValidUntil)
                                .string()
                                .not_null(),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("partner_eligibility_one_each")
                        .table(PartnerEligibility::Table)
                        .col(PartnerEligibility::PartnerId)
                        .col(PartnerEligibility::Role)
                        .unique()
                        .if_not_exists()
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(PartnerEligibility::Table).to_owned())
                .await
        }
    }
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261123_200001_engagement"
        }
    }

    #[derive(DeriveIden)]
    enum KnownPartners {
        Table,
        PartnerId,
        TenantId,
        Status,
        Locality,
        UpdatedAt,
    }

    #[derive(DeriveIden)]
    enum Opportunities {
        Table,
        Id,
        TenantId,
        Title,
        Kind,
        InvolvementLevel,
        StartsOn,
        Places,
        Status,
        CreatedAt,
        CreatedBy,
    }

    #[derive(DeriveIden)]
    enum Assignments {
        Table,
        Id,
        TenantId,
        OpportunityId,
        PartnerId,
        CreatedAt,
    }

    #[derive(DeriveIden)]
    enum Attendances {
        Table,
        Id,
        TenantId,
        AssignmentId,
        OpportunityId,
        PartnerId,
        Minutes,
        ActivityDate,
        RecordedAt,
        RecordedBy,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(KnownPartners::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(KnownPartners::PartnerId)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(KnownPartners::TenantId).string().not_null())
                        .col(ColumnDef::new(KnownPartners::Status).string().not_null())
                        .col(ColumnDef::new(KnownPartners::Locality).string().not_null())
                        .col(ColumnDef::new(KnownPartners::UpdatedAt).string().not_null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(Opportunities::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(Opportunities::Id)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(Opportunities::TenantId).string().not_null())
                        .col(ColumnDef::new(Opportunities::Title).string().not_null())
                        .col(ColumnDef::new(Opportunities::Kind).string().not_null())
                        .col(
                            ColumnDef::new(Opportunities::InvolvementLevel)
                                .integer()
                                .not_null(),
                        )
                        .col(ColumnDef::new(Opportunities::StartsOn).string().not_null())
                        .col(ColumnDef::new(Opportunities::Places).integer().not_null())
                        .col(ColumnDef::new(Opportunities::Status).string().not_null())
                        .col(ColumnDef::new(Opportunities::CreatedAt).string().not_null())
                        .col(ColumnDef::new(Opportunities::CreatedBy).string().not_null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(Assignments::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(Assignments::Id)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(Assignments::TenantId).string().not_null())
                        .col(
                            ColumnDef::new(Assignments::OpportunityId)
                                .string()
                                .not_null(),
                        )
                        .col(ColumnDef::new(Assignments::PartnerId).string().not_null())
                        .col(ColumnDef::new(Assignments::CreatedAt).string().not_null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("assignments_once_per_partner")
                        .table(Assignments::Table)
                        .col(Assignments::OpportunityId)
                        .col(Assignments::PartnerId)
                        .unique()
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(Attendances::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(Attendances::Id)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(Attendances::TenantId).string().not_null())
                        .col(
                            ColumnDef::new(Attendances::AssignmentId)
                                .string()
                                .not_null()
                                .unique_key(),
                        )
                        .col(
                            ColumnDef::new(Attendances::OpportunityId)
                                .string()
                                .not_null(),
                        )
                        .col(ColumnDef::new(Attendances::PartnerId).string().not_null())
                        .col(ColumnDef::new(Attendances::Minutes).integer().not_null())
                        .col(
                            ColumnDef::new(Attendances::ActivityDate)
                                .string()
                                .not_null(),
                        )
                        .col(ColumnDef::new(Attendances::RecordedAt).string().not_null())
                        .col(ColumnDef::new(Attendances::RecordedBy).string().not_null())
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for table in [
                Attendances::Table.into_iden(),
                Assignments::Table.into_iden(),
                Opportunities::Table.into_iden(),
                KnownPartners::Table.into_iden(),
            ] {
                manager
                    .drop_table(Table::drop().table(table).to_owned())
                    .await?;
            }
            Ok(())
        }
    }
}
