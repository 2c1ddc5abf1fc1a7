//! Money controls (NHS Standing Financial Instructions, DOMAIN.md §9): whoever changed a payee's
//! bank details does not approve that payee's claims or confirm a run paying them; and, where the
//! trust sets it, a run is confirmed by someone other than who drafted it. Who changed bank
//! details comes from people as `PartnerBankDetailsChanged` and is kept on the partner's row.

use alongside_platform::Caller;
use sea_orm::entity::prelude::*;

use crate::store::partner;

/// Why `caller` may not approve or pay `partner`, if they changed the partner's bank details.
pub fn changed_their_bank_details(caller: &Caller, partner: &partner::Model) -> Option<String> {
    (!partner.bank_changed_by.is_empty() && partner.bank_changed_by == caller.subject).then(|| {
        format!(
            "you changed this partner's bank details on {}: another member of finance must approve and pay them",
            partner.bank_changed_at.get(..10).unwrap_or(&partner.bank_changed_at)
        )
    })
}

/// Why `caller` may not confirm a run drafted by `drafted_by`, under `controls`.
pub fn drafted_it(caller: &Caller, drafted_by: &str, controls: &Model) -> Option<String> {
    (controls.separate_confirmer && drafted_by == caller.subject).then(|| {
        "you drafted this run, and the trust has it confirmed by someone else: another member of finance must confirm it".to_string()
    })
}

/// The trust's controls (one row a trust; none held means none set).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_controls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    pub separate_confirmer: bool,
    pub updated_by: String,
    pub updated_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}
impl ActiveModelBehavior for ActiveModel {}

/// The trust's controls, or none set.
pub async fn of_tenant(
    db: &impl ConnectionTrait,
    tenant: &alongside_platform::OdsCode,
) -> Result<Model, DbErr> {
    Ok(Entity::find_by_id(tenant.as_str())
        .one(db)
        .await?
        .unwrap_or_else(|| Model {
            tenant_id: tenant.to_string(),
            separate_confirmer: false,
            updated_by: String::new(),
            updated_at: String::new(),
        }))
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261206_400004_money_controls"
        }
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum Partners {
        Table,
        BankChangedBy,
        BankChangedAt,
    }

    #[derive(DeriveIden)]
    enum PaymentControls {
        Table,
        TenantId,
        SeparateConfirmer,
        UpdatedBy,
        UpdatedAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            // One column per statement: SQLite alters one thing at a time.
            for column in [Partners::BankChangedBy, Partners::BankChangedAt] {
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
                .create_table(
                    Table::create()
                        .table(PaymentControls::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(PaymentControls::TenantId)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(
                            ColumnDef::new(PaymentControls::SeparateConfirmer)
                                .boolean()
                                .not_null()
                                .default(false),
                        )
                        .col(
                            ColumnDef::new(PaymentControls::UpdatedBy)
                                .string()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(PaymentControls::UpdatedAt)
                                .string()
                                .not_null(),
                        )
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(PaymentControls::Table).to_owned())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alongside_platform::{OdsCode, Role};

    fn finance(subject: &str) -> Caller {
        Caller {
            subject: subject.into(),
            tenant: OdsCode::parse("RZA").unwrap(),
            role: Role::Finance,
            ics: None,
        }
    }

    #[test]
    fn whoever_changed_the_bank_details_neither_approves_nor_pays() {
        let mut payee = partner::unknown("RZA", "ptn_1");
        assert_eq!(changed_their_bank_details(&finance("usr_a"), &payee), None);
        payee.bank_changed_by = "usr_a".into();
        payee.bank_changed_at = "2026-12-06T10:00:00Z".into();
        let why = changed_their_bank_details(&finance("usr_a"), &payee).unwrap();
        assert!(why.contains("on 2026-12-06"), "{why}");
        assert_eq!(changed_their_bank_details(&finance("usr_b"), &payee), None);
        // The partner who set their own details is no finance officer.
        payee.bank_changed_by = "ptn_1".into();
        assert_eq!(changed_their_bank_details(&finance("usr_a"), &payee), None);
    }

    #[test]
    fn a_second_confirmer_only_where_the_trust_asks() {
        let mut controls = Model {
            tenant_id: "RZA".into(),
            separate_confirmer: false,
            updated_by: String::new(),
            updated_at: String::new(),
        };
        assert_eq!(drafted_it(&finance("usr_a"), "usr_a", &controls), None);
        controls.separate_confirmer = true;
        assert!(drafted_it(&finance("usr_a"), "usr_a", &controls).is_some());
        assert_eq!(drafted_it(&finance("usr_b"), "usr_a", &controls), None);
    }
}
