//! Claims for payment: for attending (one per attendance, enforced by a unique key as well as by
//! the inbox), for expenses, and adjustments after a paid claim's attendance was corrected.

use alongside_platform::OdsCode;
use sea_orm::entity::prelude::*;

pub const KINDS: &[&str] = &["attendance", "expenses", "adjustment"];
pub const STATUSES: &[&str] = &[
    "awaiting_approval",
    "approved",
    "rejected",
    "in_run",
    "paid",
    "no_payment",
    "withdrawn",
];
/// Statuses whose involvement payments count towards benefits limits and spend.
pub const COUNTED: &[&str] = &["awaiting_approval", "approved", "in_run", "paid"];
/// Statuses of money committed: approved, in a run or paid.
pub const COMMITTED: &[&str] = &["approved", "in_run", "paid"];

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claims")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub partner_id: String,
    /// What the claim pays for, unique across claims: the attendance id for an attendance
    /// claim, `<attendance id>#r<revision>` for an adjustment, the claim's own id for expenses.
    pub attendance_id: String,
    pub opportunity_id: String,
    /// Involvement plus expenses.
    pub amount_pence: i64,
    pub rate_basis: String,
    pub status: String,
    pub activity_date: String,
    pub minutes: i32,
    pub created_at: String,
    pub kind: String,
    pub activity_kind: String,
    pub involvement_level: i32,
    pub pathway: String,
    pub cost_centre: String,
    pub description: String,
    pub involvement_pence: i64,
    pub expenses_pence: i64,
    pub rate_card_id: String,
    pub payment_preference: String,
    /// The attendance revision this claim (with its adjustments) pays for.
    pub revision: i32,
    pub decided_by: String,
    pub decided_at: String,
    pub decision_reason: String,
    pub run_id: Option<String>,
    pub paid_at: String,
    pub adjusts_claim_id: String,
    pub created_by: String,
    pub updated_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Every query of claims starts here, so no query can forget the tenant.
pub fn for_tenant(tenant: &OdsCode) -> Select<Entity> {
    Entity::find().filter(Column::TenantId.eq(tenant.as_str()))
}

/// The attendance a claim's key names (empty for expenses).
pub fn attendance_of(m: &Model) -> String {
    match m.kind.as_str() {
        "expenses" => String::new(),
        _ => m
            .attendance_id
            .split('#')
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

impl From<Model> for alongside_proto::payments::v1::Claim {
    fn from(m: Model) -> Self {
        Self {
            attendance_id: attendance_of(&m),
            id: m.id,
            tenant_id: m.tenant_id,
            partner_id: m.partner_id,
            amount: Some(alongside_proto::common::v1::Money {
                pence: m.amount_pence,
            }),
            rate_basis: m.rate_basis,
            status: m.status,
            activity_date: m.activity_date,
            minutes: m.minutes.max(0) as u32,
            created_at: m.created_at,
            kind: m.kind,
            opportunity_id: m.opportunity_id,
            activity_kind: m.activity_kind,
            involvement_level: m.involvement_level.max(0) as u32,
            pathway: m.pathway,
            cost_centre: m.cost_centre,
            description: m.description,
            decided_by: m.decided_by,
            decided_at: m.decided_at,
            decision_reason: m.decision_reason,
            run_id: m.run_id.unwrap_or_default(),
            paid_at: m.paid_at,
            payment_preference: m.payment_preference,
            adjusts_claim_id: m.adjusts_claim_id,
            created_by: m.created_by,
            involvement_pence: m.involvement_pence,
            expenses_pence: m.expenses_pence,
            rate_card_id: m.rate_card_id,
        }
    }
}

/// What a claim became: its kind, what it is for, its money and its approval.
pub mod expand_migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_400002_claims_kinds_approval_runs"
        }
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum Claims {
        Table,
        Kind,
        ActivityKind,
        InvolvementLevel,
        Pathway,
        CostCentre,
        Description,
        InvolvementPence,
        ExpensesPence,
        RateCardId,
        PaymentPreference,
        Revision,
        DecidedBy,
        DecidedAt,
        DecisionReason,
        RunId,
        PaidAt,
        AdjustsClaimId,
        CreatedBy,
        UpdatedAt,
        TenantId,
        Status,
        ActivityDate,
        AmountPence,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let add = |column: ColumnDef| {
                Table::alter()
                    .table(Claims::Table)
                    .add_column(column)
                    .to_owned()
            };
            // One column per statement: SQLite alters one thing at a time.
            for (column, default) in [
                (Claims::Kind, "attendance"),
                (Claims::ActivityKind, ""),
                (Claims::Pathway, ""),
                (Claims::CostCentre, ""),
                (Claims::Description, ""),
                (Claims::RateCardId, ""),
                (Claims::PaymentPreference, "paid"),
                (Claims::DecidedBy, ""),
                (Claims::DecidedAt, ""),
                (Claims::DecisionReason, ""),
                (Claims::PaidAt, ""),
                (Claims::AdjustsClaimId, ""),
                (Claims::CreatedBy, "engagement"),
                (Claims::UpdatedAt, ""),
            ] {
                manager
                    .alter_table(add(ColumnDef::new(column)
                        .text()
                        .not_null()
                        .default(default)
                        .to_owned()))
                    .await?;
            }
            for column in [Claims::InvolvementLevel, Claims::Revision] {
                manager
                    .alter_table(add(ColumnDef::new(column)
                        .integer()
                        .not_null()
                        .default(0)
                        .to_owned()))
                    .await?;
            }
            for column in [Claims::InvolvementPence, Claims::ExpensesPence] {
                manager
                    .alter_table(add(ColumnDef::new(column)
                        .big_integer()
                        .not_null()
                        .default(0)
                        .to_owned()))
                    .await?;
            }
            manager
                .alter_table(add(ColumnDef::new(Claims::RunId).text().null().to_owned()))
                .await?;
            // Claims made before involvement and expenses were kept apart were all involvement.
            manager
                .get_connection()
                .execute_unprepared("UPDATE claims SET involvement_pence = amount_pence WHERE kind = 'attendance' AND involvement_pence = 0")
                .await?;
            for (name, columns) in [
                (
                    "claims_tenant_status_date",
                    vec![Claims::TenantId, Claims::Status, Claims::ActivityDate],
                ),
                ("claims_run", vec![Claims::RunId]),
                (
                    "claims_tenant_date",
                    vec![Claims::TenantId, Claims::ActivityDate, Claims::AmountPence],
                ),
            ] {
                let mut index = Index::create();
                index.name(name).table(Claims::Table).if_not_exists();
                for column in columns {
                    index.col(column);
                }
                manager.create_index(index.to_owned()).await?;
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
