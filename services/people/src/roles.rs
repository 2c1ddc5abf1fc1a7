//! Roles a partner can hold (DOMAIN.md §2), the training and checks each requires, and
//! eligibility: a partner is eligible for a role they hold while every required item is on record
//! and in date. Expiry blocks assignment: engagement learns each partner's eligible roles, with the
//! last day each stays valid, from `PartnerEligibilityChanged`.

use std::collections::BTreeMap;

use alongside_platform::OdsCode;
use sea_orm::entity::prelude::*;
use time::Date;

/// (role, label, required training and checks).
pub const ROLES: &[(&str, &str, &[&str])] = &[
    ("forum_member", "Forum member", &["induction"]),
    (
        "patient_carer_partner",
        "Patient or carer partner",
        &["induction", "confidentiality"],
    ),
    (
        "governance_partner",
        "Governance partner (MDT or committee seat)",
        &["induction", "confidentiality", "shared_decision_making"],
    ),
    (
        "improvement_partner",
        "Improvement partner",
        &["induction", "confidentiality"],
    ),
    (
        "peer_support_worker",
        "Peer support worker",
        &[
            "induction",
            "confidentiality",
            "safeguarding",
            "references",
            "dbs",
        ],
    ),
    (
        "co_researcher",
        "Co-researcher",
        &["induction", "confidentiality"],
    ),
    ("trainer", "Trainer", &["induction", "safeguarding"]),
    (
        "recruitment_panel_member",
        "Recruitment panel member",
        &["induction", "confidentiality"],
    ),
];

/// (kind, label, usual validity in years when no expiry is given; `None`: does not expire).
pub const TRAINING: &[(&str, &str, Option<i32>)] = &[
    ("induction", "Induction", None),
    ("shared_decision_making", "Shared decision-making", None),
    // Data security awareness is renewed every year in the NHS.
    (
        "confidentiality",
        "Confidentiality and data security",
        Some(1),
    ),
    ("safeguarding", "Safeguarding", Some(3)),
    ("references", "References", None),
    // Many trusts recheck DBS every three years (or use the update service).
    ("dbs", "DBS check", Some(3)),
];

pub fn role_known(role: &str) -> bool {
    ROLES.iter().any(|(r, _, _)| *r == role)
}

pub fn requirements(role: &str) -> &'static [&'static str] {
    ROLES
        .iter()
        .find(|(r, _, _)| *r == role)
        .map_or(&[], |(_, _, needs)| needs)
}

pub fn training_validity(kind: &str) -> Option<Option<i32>> {
    TRAINING
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map(|(_, _, years)| *years)
}

/// The latest record of each kind: (completed_on, expires_on).
pub type Held = BTreeMap<String, (Date, Option<Date>)>;

/// Whether a held role is satisfied on `today`, what is missing, and until when it stays valid.
#[derive(Debug, PartialEq, Eq)]
pub struct Eligibility {
    pub eligible: bool,
    pub missing: Vec<String>,
    pub valid_until: Option<Date>,
}

pub fn eligibility(role: &str, held: &Held, today: Date) -> Eligibility {
    let mut missing = Vec::new();
    let mut valid_until: Option<Date> = None;
    for need in requirements(role) {
        match held.get(*need) {
            None => missing.push(format!("{need} (none on record)")),
            Some((_, Some(expires))) if *expires < today => {
                missing.push(format!("{need} (expired {expires})"))
            }
            Some((_, Some(expires))) => {
                valid_until = Some(valid_until.map_or(*expires, |v| v.min(*expires)));
            }
            Some((_, None)) => {}
        }
    }
    Eligibility {
        eligible: missing.is_empty(),
        missing,
        valid_until,
    }
}

/// `partner_roles`: the roles a partner holds.
pub mod held_role {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "partner_roles")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: String,
        pub partner_id: String,
        pub role: String,
        pub granted_by: String,
        pub granted_at: String,
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

/// `training_records`: every training and check recorded, append-only (the latest of a kind counts).
pub mod training {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "training_records")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: String,
        pub partner_id: String,
        pub kind: String,
        pub completed_on: String,
        /// Empty: does not expire.
        pub expires_on: String,
        pub certificate_number: String,
        pub recorded_by: String,
        pub recorded_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    pub fn of_tenant(tenant: &OdsCode) -> Select<Entity> {
        Entity::find().filter(Column::TenantId.eq(tenant.as_str()))
    }
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261124_100002_roles_and_training"
        }
    }

    #[derive(DeriveIden)]
    enum PartnerRoles {
        Table,
        Id,
        TenantId,
        PartnerId,
        Role,
        GrantedBy,
        GrantedAt,
    }

    #[derive(DeriveIden)]
    enum TrainingRecords {
        Table,
        Id,
        TenantId,
        PartnerId,
        Kind,
        CompletedOn,
        ExpiresOn,
        CertificateNumber,
        RecordedBy,
        RecordedAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(PartnerRoles::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(PartnerRoles::Id)
                                .big_integer()
                                .not_null()
                                .auto_increment()
                                .primary_key(),
                        )
                        .col(ColumnDef::new(PartnerRoles::TenantId).string().not_null())
                        .col(ColumnDef::new(PartnerRoles::PartnerId).string().not_null())
                        .col(ColumnDef::new(PartnerRoles::Role).string().not_null())
                        .col(ColumnDef::new(PartnerRoles::GrantedBy).string().not_null())
                        .col(ColumnDef::new(PartnerRoles::GrantedAt).string().not_null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("partner_roles_one_each")
                        .table(PartnerRoles::Table)
                        .col(PartnerRoles::TenantId)
                        .col(PartnerRoles::PartnerId)
                        .col(PartnerRoles::Role)
                        .unique()
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(TrainingRecords::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(TrainingRecords::Id)
                                .big_integer()
                                .not_null()
                                .auto_increment()
                                .primary_key(),
                        )
                        .col(
                            ColumnDef::new(TrainingRecords::TenantId)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(TrainingRecords::PartnerId)
                                .string()
                                .not_null(),
                        )
                        .col(ColumnDef::new(TrainingRecords::Kind).string().not_null())
                        .col(
                            ColumnDef::new(TrainingRecords::CompletedOn)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(TrainingRecords::ExpiresOn)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(TrainingRecords::CertificateNumber)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(TrainingRecords::RecordedBy)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(TrainingRecords::RecordedAt)
                                .string()
                                .not_null(),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("training_records_partner")
                        .table(TrainingRecords::Table)
                        .col(TrainingRecords::TenantId)
                        .col(TrainingRecords::PartnerId)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("training_records_expiry")
                        .table(TrainingRecords::Table)
                        .col(TrainingRecords::TenantId)
                        .col(TrainingRecords::ExpiresOn)
                        .if_not_exists()
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(TrainingRecords::Table).to_owned())
                .await?;
            manager
                .drop_table(Table::drop().table(PartnerRoles::Table).to_owned())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn held(items: &[(&str, Option<Date>)]) -> Held {
        items
            .iter()
            .map(|(k, e)| (String::from(*k), (date!(2026 - 01 - 10), *e)))
            .collect()
    }

    #[test]
    fn eligible_until_the_first_required_item_expires() {
        let h = held(&[
            ("induction", None),
            ("confidentiality", Some(date!(2027 - 01 - 10))),
            ("shared_decision_making", None),
        ]);
        let e = eligibility("governance_partner", &h, date!(2026 - 11 - 24));
        assert_eq!(
            e,
            Eligibility {
                eligible: true,
                missing: vec![],
                valid_until: Some(date!(2027 - 01 - 10))
            }
        );
        // The day of expiry still counts; the day after does not.
        assert!(eligibility("governance_partner", &h, date!(2027 - 01 - 10)).eligible);
        let after = eligibility("governance_partner", &h, date!(2027 - 01 - 11));
        assert_eq!(after.missing, ["confidentiality (expired 2027-01-10)"]);
    }

    #[test]
    fn a_peer_support_worker_needs_a_dbs_check_and_references() {
        let h = held(&[
            ("induction", None),
            ("confidentiality", Some(date!(2027 - 01 - 10))),
            ("safeguarding", Some(date!(2028 - 05 - 01))),
        ]);
        let e = eligibility("peer_support_worker", &h, date!(2026 - 11 - 24));
        assert!(!e.eligible);
        assert_eq!(
            e.missing,
            ["references (none on record)", "dbs (none on record)"]
        );
        // A forum member needs only induction, and it never expires.
        let e = eligibility("forum_member", &h, date!(2030 - 01 - 01));
        assert!(e.eligible && e.valid_until.is_none());
    }

    #[test]
    fn the_roles_are_the_contract_s_roles() {
        let names: Vec<&str> = ROLES.iter().map(|(r, _, _)| *r).collect();
        assert_eq!(names, alongside_proto::PARTNER_ROLES);
    }

    #[test]
    fn every_requirement_is_a_known_kind() {
        for (role, _, needs) in ROLES {
            for need in *needs {
                assert!(
                    training_validity(need).is_some(),
                    "{role} needs unknown {need}"
                );
            }
        }
    }
}
