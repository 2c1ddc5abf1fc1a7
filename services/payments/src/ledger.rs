//! The double-entry ledger (DOMAIN.md §5): append-only, in pence, every journal summing to zero.
//! Debits are positive, credits negative. A claim's life moves money between five accounts:
//!
//! - made: debit the trust's expense (involvement or expenses), credit what the partner claimed;
//! - corrected: the same for the difference; rejected: the reverse of what was claimed;
//! - approved: from claimed to payable; paid in a confirmed run: from payable to the bank.

use alongside_platform::OdsCode;
use sea_orm::entity::prelude::*;
use sea_orm::ActiveValue::Set;

pub const INVOLVEMENT_EXPENSE: &str = "involvement_expense";
pub const EXPENSES_EXPENSE: &str = "expenses_expense";
pub const PARTNER_CLAIMED: &str = "partner_claimed";
pub const PARTNER_PAYABLE: &str = "partner_payable";
pub const BANK: &str = "bank";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: String,
    pub journal_id: String,
    pub account: String,
    pub partner_id: String,
    pub claim_id: String,
    pub run_id: String,
    pub amount_pence: i64,
    /// claim, correction, reversal, approval, payment.
    pub kind: String,
    pub recorded_at: String,
    pub memo: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub fn for_tenant(tenant: &OdsCode) -> Select<Entity> {
    Entity::find().filter(Column::TenantId.eq(tenant.as_str()))
}

/// One line of a journal: an account and a signed amount.
pub type Line = (&'static str, i64);

/// A claim made for `involvement` and `expenses` (either may be negative for an adjustment).
pub fn claim_made(involvement: i64, expenses: i64) -> Vec<Line> {
    lines(&[
        (INVOLVEMENT_EXPENSE, involvement),
        (EXPENSES_EXPENSE, expenses),
        (PARTNER_CLAIMED, -(involvement + expenses)),
    ])
}

/// A claim taken back before it was approved (rejected, or its attendance corrected to none).
pub fn claim_reversed(involvement: i64, expenses: i64) -> Vec<Line> {
    claim_made(-involvement, -expenses)
}

pub fn claim_approved(amount: i64) -> Vec<Line> {
    lines(&[(PARTNER_CLAIMED, amount), (PARTNER_PAYABLE, -amount)])
}

pub fn paid(amount: i64) -> Vec<Line> {
    lines(&[(PARTNER_PAYABLE, amount), (BANK, -amount)])
}

fn lines(all: &[Line]) -> Vec<Line> {
    all.iter().copied().filter(|(_, a)| *a != 0).collect()
}

/// What every journal must satisfy.
pub fn balances(lines: &[Line]) -> bool {
    lines.iter().map(|(_, a)| a).sum::<i64>() == 0
}

/// Where a journal's lines belong.
pub struct Posting<'a> {
    pub tenant: &'a str,
    pub partner_id: &'a str,
    pub claim_id: &'a str,
    pub run_id: &'a str,
    pub kind: &'a str,
    pub memo: &'a str,
}

/// The rows of one journal, ready to insert.
pub fn rows(posting: &Posting<'_>, lines: &[Line], at: &str) -> Vec<ActiveModel> {
    debug_assert!(balances(lines), "a journal must balance");
    let journal = alongside_platform::ids::new_id(alongside_platform::ids::JOURNAL);
    lines
        .iter()
        .map(|(account, amount)| ActiveModel {
            tenant_id: Set(posting.tenant.to_string()),
            journal_id: Set(journal.clone()),
            account: Set((*account).to_string()),
            partner_id: Set(posting.partner_id.to_string()),
            claim_id: Set(posting.claim_id.to_string()),
            run_id: Set(posting.run_id.to_string()),
            amount_pence: Set(*amount),
            kind: Set(posting.kind.to_string()),
            recorded_at: Set(at.to_string()),
            memo: Set(posting.memo.to_string()),
            ..Default::default()
        })
        .collect()
}

pub fn to_proto(m: Model) -> alongside_proto::payments::v1::LedgerEntry {
    alongside_proto::payments::v1::LedgerEntry {
        journal_id: m.journal_id,
        account: m.account,
        partner_id: m.partner_id,
        claim_id: m.claim_id,
        run_id: m.run_id,
        amount_pence: m.amount_pence,
        kind: m.kind,
        recorded_at: m.recorded_at,
        memo: m.memo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_journal_of_a_claims_life_balances() {
        for journal in [
            claim_made(7_500, 1_250),
            claim_made(-7_500, 0),
            claim_reversed(7_500, 1_250),
            claim_approved(8_750),
            paid(8_750),
        ] {
            assert!(balances(&journal), "{journal:?}");
        }
        // A claim made, approved and paid leaves only the expense and the bank.
        let life: Vec<Line> =
            [claim_made(7_500, 1_250), claim_approved(8_750), paid(8_750)].concat();
        let balance = |account| -> i64 {
            life.iter()
                .filter(|(a, _)| *a == account)
                .map(|(_, x)| x)
                .sum()
        };
        assert_eq!(balance(PARTNER_CLAIMED), 0);
        assert_eq!(balance(PARTNER_PAYABLE), 0);
        assert_eq!(balance(BANK), -8_750);
        assert_eq!(
            balance(INVOLVEMENT_EXPENSE) + balance(EXPENSES_EXPENSE),
            8_750
        );
    }

    #[test]
    fn zero_lines_are_left_out() {
        assert_eq!(claim_made(7_500, 0).len(), 2);
        assert!(claim_approved(0).is_empty());
    }
}
