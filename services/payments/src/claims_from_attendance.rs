//! Confirmed attendance becomes a claim, at most once per attendance; a correction reprices a
//! claim still awaiting approval, or adds an adjustment claim for the difference once it has been
//! approved or paid. Every event carries the whole attendance at a revision, so duplicated,
//! reordered and replayed events all end at the latest revision. A change of a partner's payment
//! terms reprices their claims not yet approved (which may have been made before the terms
//! arrived): approved and paid ones stand.

use std::collections::HashMap;

use alongside_events::topics::PAYMENTS_CLAIMS;
use alongside_events::{Envelope, Handler, HandlerError, Outbox};
use alongside_platform::ids::{self, CLAIM};
use alongside_platform::{OdsCode, SharedClock};
use alongside_proto::engagement::events::v1::{AttendanceCorrected, AttendanceRecorded};
use alongside_proto::payments::events::v1::{ClaimCorrected, ClaimCreated};
use alongside_proto::people::events::v1::PartnerPaymentTermsChanged;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use crate::claim;
use crate::ledger;
use crate::pricing::{self, Attended, Preference};
use crate::rate_card::{in_force, RateCard};
use crate::store::{claim_event, partner, rate_card};

/// Handles everything payments consumes: attendance from engagement, partners from people.
pub struct PaymentsEvents {
    outbox: Outbox,
    clock: SharedClock,
}

impl PaymentsEvents {
    pub fn new(outbox: Outbox, clock: SharedClock) -> Self {
        Self { outbox, clock }
    }
}

#[async_trait::async_trait]
impl Handler for PaymentsEvents {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        self.handle_batch(txn, std::slice::from_ref(event)).await
    }

    /// Partner events one by one (they are few); attendance set-wise.
    async fn handle_batch(
        &self,
        txn: &DatabaseTransaction,
        events: &[Envelope],
    ) -> Result<(), HandlerError> {
        let mut attended = Vec::new();
        let mut terms_changed = Vec::new();
        for event in events {
            if event.is::<AttendanceRecorded>() {
                attended.push((event.tenant().clone(), checked(event.payload()?)?));
            } else if event.is::<AttendanceCorrected>() {
                let corrected: AttendanceCorrected = event.payload()?;
                let state = corrected.attendance.ok_or_else(|| {
                    HandlerError::Poison("AttendanceCorrected without its attendance".into())
                })?;
                attended.push((event.tenant().clone(), checked(state)?));
            } else {
                crate::partners::apply(txn, event).await?;
                if event.is::<PartnerPaymentTermsChanged>() {
                    let e: PartnerPaymentTermsChanged = event.payload()?;
                    terms_changed.push((event.tenant().clone(), e.partner_id));
                }
            }
        }
        if !attended.is_empty() {
            self.claims_for(txn, attended).await?;
        }
        if !terms_changed.is_empty() {
            self.reprice(txn, terms_changed).await?;
        }
        Ok(())
    }
}

fn checked(mut a: AttendanceRecorded) -> Result<AttendanceRecorded, HandlerError> {
    if a.attendance_id.is_empty() || a.partner_id.is_empty() {
        return Err(HandlerError::Poison(
            "attendance without an attendance or partner id".into(),
        ));
    }
    if alongside_platform::parse_date(&a.activity_date).is_none() {
        return Err(HandlerError::Poison(format!(
            "activity_date {:?} is not a date",
            a.activity_date
        )));
    }
    if a.attendance_id.contains('#') {
        return Err(HandlerError::Poison("attendance id holds '#'".into()));
    }
    // Producers before revisions existed sent 0: the first recording.
    a.revision = a.revision.max(1);
    Ok(a)
}

/// What one batch writes, in one statement a table.
#[derive(Default)]
struct Writes {
    claims: Vec<claim::ActiveModel>,
    ledger: Vec<ledger::ActiveModel>,
    history: Vec<claim_event::ActiveModel>,
    created: Vec<(OdsCode, ClaimCreated)>,
    corrected: Vec<(OdsCode, ClaimCorrected)>,
}

impl Writes {
    fn journal(&mut self, c: &claim::Model, kind: &str, lines: &[ledger::Line], memo: &str) {
        if lines.is_empty() {
            return;
        }
        let posting = ledger::Posting {
            tenant: &c.tenant_id,
            partner_id: &c.partner_id,
            claim_id: &c.id,
            run_id: "",
            kind,
            memo,
        };
        self.ledger
            .extend(ledger::rows(&posting, lines, &c.updated_at));
    }
}

impl PaymentsEvents {
    async fn claims_for(
        &self,
        txn: &DatabaseTransaction,
        attended: Vec<(OdsCode, AttendanceRecorded)>,
    ) -> Result<(), HandlerError> {
        // Within a batch only the latest revision of each attendance matters.
        let mut latest: Vec<(OdsCode, AttendanceRecorded)> = Vec::new();
        for (tenant, a) in attended {
            match latest
                .iter_mut()
                .find(|(_, l)| l.attendance_id == a.attendance_id)
            {
                Some(l) if l.1.revision < a.revision => *l = (tenant, a),
                Some(_) => {}
                None => latest.push((tenant, a)),
            }
        }
        let ids: Vec<String> = latest
            .iter()
            .map(|(_, a)| a.attendance_id.clone())
            .collect();
        let existing: HashMap<String, claim::Model> = claim::Entity::find()
            .filter(claim::Column::AttendanceId.is_in(ids))
            .all(txn)
            .await?
            .into_iter()
            .map(|c| (c.attendance_id.clone(), c))
            .collect();
        let partner_ids: Vec<String> = latest.iter().map(|(_, a)| a.partner_id.clone()).collect();
        let partners: HashMap<String, partner::Model> = partner::Entity::find()
            .filter(partner::Column::PartnerId.is_in(partner_ids))
            .all(txn)
            .await?
            .into_iter()
            .map(|p| (p.partner_id.clone(), p))
            .collect();
        let mut cards: HashMap<OdsCode, Vec<RateCard>> = HashMap::new();
        for (tenant, _) in &latest {
            if !cards.contains_key(tenant) {
                cards.insert(tenant.clone(), rate_card::cards_of(txn, tenant).await?);
            }
        }

        let now = self.clock.now_rfc3339();
        let mut writes = Writes::default();
        for (tenant, a) in &latest {
            let terms = partners
                .get(&a.partner_id)
                .filter(|p| p.tenant_id == tenant.as_str());
            let preference = terms.map_or(Preference::Paid, |p| {
                Preference::from_terms(&p.preference, p.reduced_amount_pence)
            });
            let tenant_cards = &cards[tenant];
            match existing.get(&a.attendance_id) {
                None => {
                    let date = alongside_platform::parse_date(&a.activity_date)
                        .unwrap_or(time::macros::date!(2020 - 01 - 01));
                    let card = in_force(tenant_cards, date).ok_or_else(|| {
                        HandlerError::Poison(format!("no rate card in force on {date}"))
                    })?;
                    new_claim(&mut writes, tenant, a, card, &preference, &now);
                }
                Some(c) if c.tenant_id != tenant.as_str() => {
                    return Err(HandlerError::Poison(format!(
                        "attendance {} belongs to another trust",
                        a.attendance_id
                    )));
                }
                Some(c) if c.revision >= a.revision as i32 => {
                    tracing::debug!(attendance_id = %a.attendance_id, "claim already at this revision or later");
                }
                Some(c) => {
                    // Repriced by the card that priced it: a new card never reprices a claim.
                    let card = tenant_cards
                        .iter()
                        .find(|k| k.id == c.rate_card_id)
                        .unwrap_or(&tenant_cards[0]);
                    self.correct(txn, &mut writes, c, a, card, &preference, &now)
                        .await?;
                }
            }
        }

        self.write(txn, writes).await
    }

    /// Everything a batch wrote, a statement a table, and its events to the outbox.
    async fn write(&self, txn: &DatabaseTransaction, writes: Writes) -> Result<(), HandlerError> {
        if !writes.claims.is_empty() {
            // A claim another consumer made meanwhile breaks the unique key: the batch is then
            // applied one event at a time, which finds it.
            for chunk in writes.claims.chunks(500) {
                claim::Entity::insert_many(chunk.to_vec())
                    .exec_without_returning(txn)
                    .await?;
            }
        }
        for chunk in writes.ledger.chunks(1_000) {
            ledger::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(txn)
                .await?;
        }
        for chunk in writes.history.chunks(1_000) {
            claim_event::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(txn)
                .await?;
        }
        let created: Vec<(&str, &str, &OdsCode, ClaimCreated)> = writes
            .created
            .iter()
            .map(|(t, e)| (PAYMENTS_CLAIMS, e.partner_id.as_str(), t, e.clone()))
            .collect();
        self.outbox.enqueue_many(txn, &created).await?;
        let corrected: Vec<(&str, &str, &OdsCode, ClaimCorrected)> = writes
            .corrected
            .iter()
            .map(|(t, e)| (PAYMENTS_CLAIMS, e.partner_id.as_str(), t, e.clone()))
            .collect();
        self.outbox.enqueue_many(txn, &corrected).await?;
        // The relay polls too; waking it early is only a speed-up, so before commit is harmless.
        self.outbox.notify();
        Ok(())
    }

    /// Claims not yet approved of partners whose payment terms changed, priced again by the
    /// card that priced them with the terms now held, each change with a correcting ledger
    /// entry and `ClaimCorrected`. Expenses-only claims and approved or paid ones stand.
    async fn reprice(
        &self,
        txn: &DatabaseTransaction,
        partners: Vec<(OdsCode, String)>,
    ) -> Result<(), HandlerError> {
        let now = self.clock.now_rfc3339();
        let mut writes = Writes::default();
        for (tenant, partner_id) in partners {
            let Some(terms) = partner::Entity::find_by_id(&partner_id)
                .one(txn)
                .await?
                .filter(|p| p.tenant_id == tenant.as_str())
            else {
                continue;
            };
            let preference = Preference::from_terms(&terms.preference, terms.reduced_amount_pence);
            let open = claim::for_tenant(&tenant)
                .filter(claim::Column::PartnerId.eq(&partner_id))
                .filter(claim::Column::Kind.eq("attendance"))
                .filter(claim::Column::Status.is_in(["awaiting_approval", "no_payment"]))
                .filter(claim::Column::RateBasis.is_not_in(["expenses_only", "none"]))
                .all(txn)
                .await?;
            if open.is_empty() {
                continue;
            }
            let cards = rate_card::cards_of(txn, &tenant).await?;
            for c in open {
                let Some(card) = cards.iter().find(|k| k.id == c.rate_card_id) else {
                    continue;
                };
                let priced = pricing::price(
                    card,
                    &preference,
                    &Attended {
                        kind: &c.activity_kind,
                        level: c.involvement_level.max(0) as u32,
                        minutes: c.minutes.max(0) as u32,
                        expenses_only: false,
                    },
                );
                if priced.involvement.0 == c.involvement_pence && priced.status == c.status {
                    continue;
                }
                let updated = claim::Model {
                    amount_pence: priced.involvement.0 + c.expenses_pence,
                    involvement_pence: priced.involvement.0,
                    rate_basis: priced.basis.into(),
                    status: priced.status.into(),
                    description: priced.description.clone(),
                    payment_preference: preference.as_str().into(),
                    updated_at: now.clone(),
                    ..c.clone()
                };
                let moved = write_priced(txn, &c, &updated).await?;
                if moved == 0 {
                    return Err(HandlerError::Retryable("claim changed meanwhile".into()));
                }
                let change = format!("payment terms now {}", preference.as_str());
                writes.journal(
                    &updated,
                    "correction",
                    &ledger::claim_made(priced.involvement.0 - c.involvement_pence, 0),
                    &change,
                );
                writes.history.push(claim_event::row(
                    &c.tenant_id,
                    &c.id,
                    "corrected",
                    "people",
                    &format!(
                        "{change}: {} now {}",
                        alongside_platform::money::Pence(c.amount_pence).display(),
                        alongside_platform::money::Pence(updated.amount_pence).display()
                    ),
                    &now,
                ));
                writes.corrected.push((
                    tenant.clone(),
                    ClaimCorrected {
                        claim_id: c.id.clone(),
                        partner_id: c.partner_id.clone(),
                        attendance_id: c.attendance_id.clone(),
                        from_pence: c.amount_pence,
                        to_pence: updated.amount_pence,
                        status: updated.status.clone(),
                        revision: c.revision.max(0) as u32,
                    },
                ));
            }
        }
        self.write(txn, writes).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn correct(
        &self,
        txn: &DatabaseTransaction,
        writes: &mut Writes,
        c: &claim::Model,
        a: &AttendanceRecorded,
        card: &RateCard,
        preference: &Preference,
        now: &str,
    ) -> Result<(), HandlerError> {
        let priced = pricing::price(card, preference, &attended(a));
        let change = format!(
            "attendance corrected from {} to {} minutes",
            c.minutes, a.minutes
        );
        match c.status.as_str() {
            "awaiting_approval" | "no_payment" | "withdrawn" => {
                let delta = priced.involvement.0 - c.involvement_pence;
                let updated = claim::Model {
                    amount_pence: priced.involvement.0 + c.expenses_pence,
                    involvement_pence: priced.involvement.0,
                    rate_basis: priced.basis.into(),
                    status: priced.status.into(),
                    description: priced.description.clone(),
                    minutes: a.minutes as i32,
                    revision: a.revision as i32,
                    payment_preference: preference.as_str().into(),
                    updated_at: now.to_string(),
                    ..c.clone()
                };
                // Only from the revision read: a newer one applied meanwhile is never undone.
                let moved = write_priced(txn, c, &updated).await?;
                if moved == 0 {
                    return Err(HandlerError::Retryable("claim changed meanwhile".into()));
                }
                writes.journal(
                    &updated,
                    "correction",
                    &ledger::claim_made(delta, 0),
                    &change,
                );
                writes.history.push(claim_event::row(
                    &c.tenant_id,
                    &c.id,
                    "corrected",
                    "engagement",
                    &format!(
                        "{change}: {} now {}",
                        alongside_platform::money::Pence(c.amount_pence).display(),
                        alongside_platform::money::Pence(updated.amount_pence).display()
                    ),
                    now,
                ));
                writes.corrected.push((
                    tenant_of(c),
                    ClaimCorrected {
                        claim_id: c.id.clone(),
                        partner_id: c.partner_id.clone(),
                        attendance_id: a.attendance_id.clone(),
                        from_pence: c.amount_pence,
                        to_pence: updated.amount_pence,
                        status: updated.status.clone(),
                        revision: a.revision,
                    },
                ));
            }
            "approved" | "in_run" | "paid" => {
                // What the attendance is already paid or owed: the claim and its adjustments
                // that still stand.
                let adjustments = claim::Entity::find()
                    .filter(claim::Column::AdjustsClaimId.eq(&c.id))
                    .all(txn)
                    .await?;
                let standing: i64 = c.involvement_pence
                    + adjustments
                        .iter()
                        .filter(|x| claim::COUNTED.contains(&x.status.as_str()))
                        .map(|x| x.involvement_pence)
                        .sum::<i64>();
                let delta = priced.involvement.0 - standing;
                let moved = claim::Entity::update_many()
                    .col_expr(claim::Column::Revision, Expr::value(a.revision as i32))
                    .filter(claim::Column::Id.eq(&c.id))
                    .filter(claim::Column::Revision.eq(c.revision))
                    .exec(txn)
                    .await?
                    .rows_affected;
                if moved == 0 {
                    return Err(HandlerError::Retryable("claim changed meanwhile".into()));
                }
                if delta == 0 {
                    writes.history.push(claim_event::row(
                        &c.tenant_id,
                        &c.id,
                        "corrected",
                        "engagement",
                        &format!("{change}: the amount stands"),
                        now,
                    ));
                    return Ok(());
                }
                let adjustment = claim::Model {
                    id: ids::new_id(CLAIM),
                    attendance_id: format!("{}#r{}", a.attendance_id, a.revision),
                    kind: "adjustment".into(),
                    amount_pence: delta,
                    involvement_pence: delta,
                    expenses_pence: 0,
                    rate_basis: "adjustment".into(),
                    status: "awaiting_approval".into(),
                    minutes: a.minutes as i32,
                    revision: a.revision as i32,
                    description: format!(
                        "Adjustment: {change}; {} is now due instead of {}",
                        priced.involvement.display(),
                        alongside_platform::money::Pence(standing).display()
                    ),
                    decided_by: String::new(),
                    decided_at: String::new(),
                    decision_reason: String::new(),
                    run_id: None,
                    paid_at: String::new(),
                    adjusts_claim_id: c.id.clone(),
                    created_by: "engagement".into(),
                    created_at: now.to_string(),
                    updated_at: now.to_string(),
                    ..c.clone()
                };
                writes.journal(&adjustment, "claim", &ledger::claim_made(delta, 0), &change);
                writes.history.push(claim_event::row(
                    &c.tenant_id,
                    &c.id,
                    "corrected",
                    "engagement",
                    &format!(
                        "{change}: adjustment {} for {}",
                        adjustment.id,
                        alongside_platform::money::Pence(delta).display()
                    ),
                    now,
                ));
                writes.history.push(claim_event::row(
                    &c.tenant_id,
                    &adjustment.id,
                    "created",
                    "engagement",
                    &format!("adjusts {}", c.id),
                    now,
                ));
                writes
                    .created
                    .push((tenant_of(c), created_event(&adjustment)));
                writes.claims.push(active(&adjustment));
            }
            // Rejected stays rejected: finance decided on it.
            _ => {
                claim::Entity::update_many()
                    .col_expr(claim::Column::Revision, Expr::value(a.revision as i32))
                    .filter(claim::Column::Id.eq(&c.id))
                    .exec(txn)
                    .await?;
                writes.history.push(claim_event::row(
                    &c.tenant_id,
                    &c.id,
                    "corrected",
                    "engagement",
                    &format!("{change}: the claim was rejected and stays so"),
                    now,
                ));
            }
        }
        Ok(())
    }
}

/// Writes a claim's new price (and the minutes and revision it is for), only over the status
/// and revision read, so a change made meanwhile is never undone; answers the rows changed.
async fn write_priced(
    txn: &DatabaseTransaction,
    from: &claim::Model,
    to: &claim::Model,
) -> Result<u64, sea_orm::DbErr> {
    Ok(claim::Entity::update_many()
        .col_expr(claim::Column::AmountPence, Expr::value(to.amount_pence))
        .col_expr(
            claim::Column::InvolvementPence,
            Expr::value(to.involvement_pence),
        )
        .col_expr(claim::Column::RateBasis, Expr::value(to.rate_basis.clone()))
        .col_expr(claim::Column::Status, Expr::value(to.status.clone()))
        .col_expr(
            claim::Column::Description,
            Expr::value(to.description.clone()),
        )
        .col_expr(claim::Column::Minutes, Expr::value(to.minutes))
        .col_expr(claim::Column::Revision, Expr::value(to.revision))
        .col_expr(
            claim::Column::PaymentPreference,
            Expr::value(to.payment_preference.clone()),
        )
        .col_expr(claim::Column::UpdatedAt, Expr::value(to.updated_at.clone()))
        .filter(claim::Column::Id.eq(&from.id))
        .filter(claim::Column::Revision.eq(from.revision))
        .filter(claim::Column::Status.eq(&from.status))
        .exec(txn)
        .await?
        .rows_affected)
}

fn attended(a: &AttendanceRecorded) -> Attended<'_> {
    Attended {
        kind: &a.activity_kind,
        level: a.involvement_level,
        minutes: a.minutes,
        expenses_only: a.expenses_only,
    }
}

fn tenant_of(c: &claim::Model) -> OdsCode {
    OdsCode::parse(&c.tenant_id).unwrap_or_else(|_| OdsCode::parse("XXX").expect("valid code"))
}

fn new_claim(
    writes: &mut Writes,
    tenant: &OdsCode,
    a: &AttendanceRecorded,
    card: &RateCard,
    preference: &Preference,
    now: &str,
) {
    let priced = pricing::price(card, preference, &attended(a));
    let row = claim::Model {
        id: ids::new_id(CLAIM),
        tenant_id: tenant.to_string(),
        partner_id: a.partner_id.clone(),
        attendance_id: a.attendance_id.clone(),
        opportunity_id: a.opportunity_id.clone(),
        amount_pence: priced.involvement.0,
        rate_basis: priced.basis.into(),
        status: priced.status.into(),
        activity_date: a.activity_date.clone(),
        minutes: a.minutes as i32,
        created_at: now.to_string(),
        kind: "attendance".into(),
        activity_kind: a.activity_kind.clone(),
        involvement_level: a.involvement_level as i32,
        pathway: a.pathway.clone(),
        cost_centre: a.cost_centre.clone(),
        description: priced.description.clone(),
        involvement_pence: priced.involvement.0,
        expenses_pence: 0,
        rate_card_id: card.id.clone(),
        payment_preference: preference.as_str().into(),
        revision: a.revision as i32,
        decided_by: String::new(),
        decided_at: String::new(),
        decision_reason: String::new(),
        run_id: None,
        paid_at: String::new(),
        adjusts_claim_id: String::new(),
        created_by: "engagement".into(),
        updated_at: now.to_string(),
    };
    writes.journal(
        &row,
        "claim",
        &ledger::claim_made(row.involvement_pence, 0),
        &priced.description,
    );
    writes.history.push(claim_event::row(
        &row.tenant_id,
        &row.id,
        "created",
        "engagement",
        &priced.description,
        now,
    ));
    writes.created.push((tenant.clone(), created_event(&row)));
    writes.claims.push(active(&row));
}

pub(crate) fn created_event(c: &claim::Model) -> ClaimCreated {
    ClaimCreated {
        claim_id: c.id.clone(),
        partner_id: c.partner_id.clone(),
        attendance_id: claim::attendance_of(c),
        amount_pence: c.amount_pence,
        rate_basis: c.rate_basis.clone(),
        activity_date: c.activity_date.clone(),
        kind: c.kind.clone(),
        status: c.status.clone(),
        adjusts_claim_id: c.adjusts_claim_id.clone(),
    }
}

/// Every column set, for an insert.
pub(crate) fn active(c: &claim::Model) -> claim::ActiveModel {
    sea_orm::ActiveModelTrait::reset_all(sea_orm::IntoActiveModel::into_active_model(c.clone()))
}
