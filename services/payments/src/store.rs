//! Payments' other tables: expense items and receipts, claim history, rate cards, payment runs,
//! what payments knows of each partner, and benefits limits. Every query starts from a
//! tenant-scoped constructor.

macro_rules! tenant_scoped {
    () => {
        /// Every query of this table starts here, so no query can forget the tenant.
        pub fn for_tenant(tenant: &alongside_platform::OdsCode) -> Select<Entity> {
            Entity::find().filter(Column::TenantId.eq(tenant.as_str()))
        }
    };
}

pub mod item {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "claim_items")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: String,
        pub claim_id: String,
        pub position: i32,
        pub kind: String,
        pub description: String,
        pub amount_pence: i64,
        pub miles_tenths: i32,
        pub passengers: i32,
        pub vehicle: String,
        pub spent_on: String,
        pub receipt_id: String,
        pub working: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
    tenant_scoped!();

    impl From<Model> for alongside_proto::payments::v1::ExpenseItem {
        fn from(m: Model) -> Self {
            Self {
                kind: m.kind,
                description: m.description,
                amount_pence: m.amount_pence,
                miles_tenths: m.miles_tenths.max(0) as u32,
                passengers: m.passengers.max(0) as u32,
                vehicle: m.vehicle,
                spent_on: m.spent_on,
                receipt_id: m.receipt_id,
                working: m.working,
            }
        }
    }
}

pub mod receipt {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "receipts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub claim_id: String,
        pub partner_id: String,
        pub filename: String,
        pub content_type: String,
        pub size_bytes: i64,
        pub sha256: String,
        pub content: Vec<u8>,
        pub uploaded_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
    tenant_scoped!();

    pub fn info(m: &Model) -> alongside_proto::payments::v1::ReceiptInfo {
        alongside_proto::payments::v1::ReceiptInfo {
            id: m.id.clone(),
            filename: m.filename.clone(),
            content_type: m.content_type.clone(),
            size_bytes: m.size_bytes.max(0) as u64,
            uploaded_at: m.uploaded_at.clone(),
        }
    }
}

/// What happened to each claim, when and by whom: appended, never changed.
pub mod claim_event {
    use sea_orm::entity::prelude::*;
    use sea_orm::ActiveValue::Set;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "claim_events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: String,
        pub claim_id: String,
        pub at: String,
        pub what: String,
        pub by: String,
        pub detail: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
    tenant_scoped!();

    pub fn row(
        tenant: &str,
        claim_id: &str,
        what: &str,
        by: &str,
        detail: &str,
        at: &str,
    ) -> ActiveModel {
        ActiveModel {
            tenant_id: Set(tenant.to_string()),
            claim_id: Set(claim_id.to_string()),
            at: Set(at.to_string()),
            what: Set(what.to_string()),
            by: Set(by.to_string()),
            detail: Set(detail.to_string()),
            ..Default::default()
        }
    }
}

pub mod rate_card {
    use sea_orm::entity::prelude::*;
    use sea_orm::QueryOrder;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rate_cards")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub effective_from: String,
        pub note: String,
        /// The card's rules and mileage rates as JSON: a card never changes once made.
        pub rules: String,
        pub mileage: String,
        pub created_by: String,
        pub created_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
    tenant_scoped!();

    pub fn to_card(m: &Model) -> Option<crate::rate_card::RateCard> {
        Some(crate::rate_card::RateCard {
            id: m.id.clone(),
            effective_from: alongside_platform::parse_date(&m.effective_from)?,
            note: m.note.clone(),
            rules: serde_json::from_str(&m.rules).ok()?,
            mileage: serde_json::from_str(&m.mileage).ok()?,
        })
    }

    /// Every card of `tenant`, with the built-in default, oldest first.
    pub async fn cards_of(
        db: &impl ConnectionTrait,
        tenant: &alongside_platform::OdsCode,
    ) -> Result<Vec<crate::rate_card::RateCard>, DbErr> {
        let mut cards = vec![crate::rate_card::RateCard::default_card()];
        let stored = for_tenant(tenant)
            .order_by_asc(Column::EffectiveFrom)
            .all(db)
            .await?;
        cards.extend(stored.iter().filter_map(to_card));
        Ok(cards)
    }
}

pub mod run {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payment_runs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        /// draft, confirmed, cancelled.
        pub status: String,
        pub up_to: String,
        pub sequence: i32,
        pub claim_count: i64,
        pub partner_count: i64,
        pub total_pence: i64,
        pub reference: String,
        /// The tenant while the run is a draft, empty after: a unique index keeps one draft a
        /// tenant.
        pub open_draft: Option<String>,
        pub created_by: String,
        pub created_at: String,
        pub confirmed_by: String,
        pub confirmed_at: String,
        pub cancelled_by: String,
        pub cancelled_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
    tenant_scoped!();

    impl From<Model> for alongside_proto::payments::v1::PaymentRun {
        fn from(m: Model) -> Self {
            Self {
                id: m.id,
                status: m.status,
                up_to: m.up_to,
                claim_count: m.claim_count.max(0) as u64,
                partner_count: m.partner_count.max(0) as u64,
                total: Some(alongside_proto::common::v1::Money {
                    pence: m.total_pence,
                }),
                created_by: m.created_by,
                created_at: m.created_at,
                confirmed_by: m.confirmed_by,
                confirmed_at: m.confirmed_at,
                cancelled_by: m.cancelled_by,
                cancelled_at: m.cancelled_at,
                reference: m.reference,
            }
        }
    }
}

/// What payments knows of each partner: from `people.partners.v1` (their status and payment
/// terms) and from finance (how they are paid). No names, contact or bank details.
pub mod partner {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "partners")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub partner_id: String,
        pub tenant_id: String,
        pub status: String,
        pub preference: String,
        pub reduced_amount_pence: i64,
        pub receives_benefits: bool,
        /// Codes one a line.
        pub benefits: String,
        /// bacs or payroll.
        pub payment_route: String,
        pub updated_at: String,
        /// Who last set the partner's bank details (a user id, or the partner's own), and when.
        pub bank_changed_by: String,
        pub bank_changed_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
    tenant_scoped!();

    pub fn benefits(m: &Model) -> Vec<String> {
        if !m.receives_benefits {
            return Vec::new();
        }
        m.benefits
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// A partner payments has heard nothing about yet: paid, by BACS.
    pub fn unknown(tenant: &str, partner_id: &str) -> Model {
        Model {
            partner_id: partner_id.to_string(),
            tenant_id: tenant.to_string(),
            status: String::new(),
            preference: "paid".into(),
            reduced_amount_pence: 0,
            receives_benefits: false,
            benefits: String::new(),
            payment_route: "bacs".into(),
            updated_at: String::new(),
            bank_changed_by: String::new(),
            bank_changed_at: String::new(),
        }
    }
}

pub mod benefit_limit {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "benefit_limits")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub benefit: String,
        pub label: String,
        pub period: String,
        pub amount_pence: i64,
        pub effective_from: String,
        pub warn_at_percent: i32,
        pub created_by: String,
        pub created_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
    tenant_scoped!();
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_400003_payments_ledger_runs_cards"
        }
    }

    #[derive(DeriveIden)]
    enum ClaimItems {
        Table,
        Id,
        TenantId,
        ClaimId,
        Position,
        Kind,
        Description,
        AmountPence,
        MilesTenths,
        Passengers,
        Vehicle,
        SpentOn,
        ReceiptId,
        Working,
    }

    #[derive(DeriveIden)]
    enum Receipts {
        Table,
        Id,
        TenantId,
        ClaimId,
        PartnerId,
        Filename,
        ContentType,
        SizeBytes,
        Sha256,
        Content,
        UploadedAt,
    }

    #[derive(DeriveIden)]
    enum ClaimEvents {
        Table,
        Id,
        TenantId,
        ClaimId,
        At,
        What,
        By,
        Detail,
    }

    #[derive(DeriveIden)]
    enum LedgerEntries {
        Table,
        Id,
        TenantId,
        JournalId,
        Account,
        PartnerId,
        ClaimId,
        RunId,
        AmountPence,
        Kind,
        RecordedAt,
        Memo,
    }

    #[derive(DeriveIden)]
    enum RateCards {
        Table,
        Id,
        TenantId,
        EffectiveFrom,
        Note,
        Rules,
        Mileage,
        CreatedBy,
        CreatedAt,
    }

    #[derive(DeriveIden)]
    enum PaymentRuns {
        Table,
        Id,
        TenantId,
        Status,
        UpTo,
        Sequence,
        ClaimCount,
        PartnerCount,
        TotalPence,
        Reference,
        OpenDraft,
        CreatedBy,
        CreatedAt,
        ConfirmedBy,
        ConfirmedAt,
        CancelledBy,
        CancelledAt,
    }

    #[derive(DeriveIden)]
    enum Partners {
        Table,
        PartnerId,
        TenantId,
        Status,
        Preference,
        ReducedAmountPence,
        ReceivesBenefits,
        Benefits,
        PaymentRoute,
        UpdatedAt,
    }

    #[derive(DeriveIden)]
    enum BenefitLimits {
        Table,
        Id,
        TenantId,
        Benefit,
        Label,
        Period,
        AmountPence,
        EffectiveFrom,
        WarnAtPercent,
        CreatedBy,
        CreatedAt,
    }

    fn text<T: IntoIden>(c: T) -> ColumnDef {
        ColumnDef::new(c).text().not_null().default("").to_owned()
    }
    fn big<T: IntoIden>(c: T) -> ColumnDef {
        ColumnDef::new(c)
            .big_integer()
            .not_null()
            .default(0)
            .to_owned()
    }
    fn int<T: IntoIden>(c: T) -> ColumnDef {
        ColumnDef::new(c).integer().not_null().default(0).to_owned()
    }
    fn serial<T: IntoIden>(c: T) -> ColumnDef {
        ColumnDef::new(c)
            .big_integer()
            .not_null()
            .auto_increment()
            .primary_key()
            .to_owned()
    }
    fn key<T: IntoIden>(c: T) -> ColumnDef {
        ColumnDef::new(c)
            .string()
            .not_null()
            .primary_key()
            .to_owned()
    }

    async fn index(
        manager: &SchemaManager<'_>,
        name: &str,
        table: impl IntoIden + 'static,
        columns: Vec<DynIden>,
        unique: bool,
    ) -> Result<(), DbErr> {
        let mut index = Index::create();
        index.name(name).table(table).if_not_exists();
        for column in columns {
            index.col(column);
        }
        if unique {
            index.unique();
        }
        manager.create_index(index.to_owned()).await
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(ClaimItems::Table)
                        .if_not_exists()
                        .col(serial(ClaimItems::Id))
                        .col(text(ClaimItems::TenantId))
                        .col(text(ClaimItems::ClaimId))
                        .col(int(ClaimItems::Position))
                        .col(text(ClaimItems::Kind))
                        .col(text(ClaimItems::Description))
                        .col(big(ClaimItems::AmountPence))
                        .col(int(ClaimItems::MilesTenths))
                        .col(int(ClaimItems::Passengers))
                        .col(text(ClaimItems::Vehicle))
                        .col(text(ClaimItems::SpentOn))
                        .col(text(ClaimItems::ReceiptId))
                        .col(text(ClaimItems::Working))
                        .to_owned(),
                )
                .await?;
            index(
                manager,
                "claim_items_claim",
                ClaimItems::Table,
                vec![ClaimItems::ClaimId.into_iden()],
                false,
            )
            .await?;
            manager
                .create_table(
                    Table::create()
                        .table(Receipts::Table)
                        .if_not_exists()
                        .col(key(Receipts::Id))
                        .col(text(Receipts::TenantId))
                        .col(text(Receipts::ClaimId))
                        .col(text(Receipts::PartnerId))
                        .col(text(Receipts::Filename))
                        .col(text(Receipts::ContentType))
                        .col(big(Receipts::SizeBytes))
                        .col(text(Receipts::Sha256))
                        .col(ColumnDef::new(Receipts::Content).binary().not_null())
                        .col(text(Receipts::UploadedAt))
                        .to_owned(),
                )
                .await?;
            index(
                manager,
                "receipts_claim",
                Receipts::Table,
                vec![Receipts::ClaimId.into_iden()],
                false,
            )
            .await?;
            manager
                .create_table(
                    Table::create()
                        .table(ClaimEvents::Table)
                        .if_not_exists()
                        .col(serial(ClaimEvents::Id))
                        .col(text(ClaimEvents::TenantId))
                        .col(text(ClaimEvents::ClaimId))
                        .col(text(ClaimEvents::At))
                        .col(text(ClaimEvents::What))
                        .col(text(ClaimEvents::By))
                        .col(text(ClaimEvents::Detail))
                        .to_owned(),
                )
                .await?;
            index(
                manager,
                "claim_events_claim",
                ClaimEvents::Table,
                vec![ClaimEvents::ClaimId.into_iden()],
                false,
            )
            .await?;
            manager
                .create_table(
                    Table::create()
                        .table(LedgerEntries::Table)
                        .if_not_exists()
                        .col(serial(LedgerEntries::Id))
                        .col(text(LedgerEntries::TenantId))
                        .col(text(LedgerEntries::JournalId))
                        .col(text(LedgerEntries::Account))
                        .col(text(LedgerEntries::PartnerId))
                        .col(text(LedgerEntries::ClaimId))
                        .col(text(LedgerEntries::RunId))
                        .col(big(LedgerEntries::AmountPence))
                        .col(text(LedgerEntries::Kind))
                        .col(text(LedgerEntries::RecordedAt))
                        .col(text(LedgerEntries::Memo))
                        .to_owned(),
                )
                .await?;
            index(
                manager,
                "ledger_tenant_partner",
                LedgerEntries::Table,
                vec![
                    LedgerEntries::TenantId.into_iden(),
                    LedgerEntries::PartnerId.into_iden(),
                ],
                false,
            )
            .await?;
            index(
                manager,
                "ledger_tenant_journal",
                LedgerEntries::Table,
                vec![
                    LedgerEntries::TenantId.into_iden(),
                    LedgerEntries::JournalId.into_iden(),
                ],
                false,
            )
            .await?;
            index(
                manager,
                "ledger_claim",
                LedgerEntries::Table,
                vec![LedgerEntries::ClaimId.into_iden()],
                false,
            )
            .await?;
            manager
                .create_table(
                    Table::create()
                        .table(RateCards::Table)
                        .if_not_exists()
                        .col(key(RateCards::Id))
                        .col(text(RateCards::TenantId))
                        .col(text(RateCards::EffectiveFrom))
                        .col(text(RateCards::Note))
                        .col(text(RateCards::Rules))
                        .col(text(RateCards::Mileage))
                        .col(text(RateCards::CreatedBy))
                        .col(text(RateCards::CreatedAt))
                        .to_owned(),
                )
                .await?;
            // One card a tenant a day: the card in force on a date is never ambiguous.
            index(
                manager,
                "rate_cards_tenant_from",
                RateCards::Table,
                vec![
                    RateCards::TenantId.into_iden(),
                    RateCards::EffectiveFrom.into_iden(),
                ],
                true,
            )
            .await?;
            manager
                .create_table(
                    Table::create()
                        .table(PaymentRuns::Table)
                        .if_not_exists()
                        .col(key(PaymentRuns::Id))
                        .col(text(PaymentRuns::TenantId))
                        .col(text(PaymentRuns::Status))
                        .col(text(PaymentRuns::UpTo))
                        .col(int(PaymentRuns::Sequence))
                        .col(big(PaymentRuns::ClaimCount))
                        .col(big(PaymentRuns::PartnerCount))
                        .col(big(PaymentRuns::TotalPence))
                        .col(text(PaymentRuns::Reference))
                        .col(ColumnDef::new(PaymentRuns::OpenDraft).string().null())
                        .col(text(PaymentRuns::CreatedBy))
                        .col(text(PaymentRuns::CreatedAt))
                        .col(text(PaymentRuns::ConfirmedBy))
                        .col(text(PaymentRuns::ConfirmedAt))
                        .col(text(PaymentRuns::CancelledBy))
                        .col(text(PaymentRuns::CancelledAt))
                        .to_owned(),
                )
                .await?;
            index(
                manager,
                "payment_runs_one_draft",
                PaymentRuns::Table,
                vec![PaymentRuns::OpenDraft.into_iden()],
                true,
            )
            .await?;
            index(
                manager,
                "payment_runs_sequence",
                PaymentRuns::Table,
                vec![
                    PaymentRuns::TenantId.into_iden(),
                    PaymentRuns::Sequence.into_iden(),
                ],
                true,
            )
            .await?;
            manager
                .create_table(
                    Table::create()
                        .table(Partners::Table)
                        .if_not_exists()
                        .col(key(Partners::PartnerId))
                        .col(text(Partners::TenantId))
                        .col(text(Partners::Status))
                        .col(text(Partners::Preference))
                        .col(big(Partners::ReducedAmountPence))
                        .col(
                            ColumnDef::new(Partners::ReceivesBenefits)
                                .boolean()
                                .not_null()
                                .default(false),
                        )
                        .col(text(Partners::Benefits))
                        .col(text(Partners::PaymentRoute))
                        .col(text(Partners::UpdatedAt))
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(BenefitLimits::Table)
                        .if_not_exists()
                        .col(key(BenefitLimits::Id))
                        .col(text(BenefitLimits::TenantId))
                        .col(text(BenefitLimits::Benefit))
                        .col(text(BenefitLimits::Label))
                        .col(text(BenefitLimits::Period))
                        .col(big(BenefitLimits::AmountPence))
                        .col(text(BenefitLimits::EffectiveFrom))
                        .col(int(BenefitLimits::WarnAtPercent))
                        .col(text(BenefitLimits::CreatedBy))
                        .col(text(BenefitLimits::CreatedAt))
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
            Ok(())
        }
    }
}
