//! Payment runs: approved claims up to a date are held in a draft; confirming pays them (and only
//! then), cancelling releases them. A claim is in one run at most and is paid once: every step
//! moves rows only from the state it expects, in one transaction.

use std::collections::HashMap;

use alongside_events::topics::PAYMENTS_CLAIMS;
use alongside_platform::ids::{self, PAYMENT_RUN};
use alongside_platform::paging::Page;
use alongside_platform::{audit, Caller, Role, ServiceError};
use alongside_proto::payments::events::v1::{
    PaymentIssued, PaymentRunCancelled, PaymentRunCompleted, PaymentRunCreated,
};
use alongside_proto::payments::v1::*;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait,
};

use super::{sum, PaymentsApi};
use crate::claim;
use crate::store::{partner, run};

impl PaymentsApi {
    /// The money controls on confirming `run`: never by whoever changed the bank details of a
    /// partner it pays, nor by who drafted it where the trust asks for a second officer.
    async fn may_confirm(&self, caller: &Caller, run: &run::Model) -> Result<(), ServiceError> {
        let controls = crate::controls::of_tenant(&self.db, &caller.tenant).await?;
        if let Some(why) = crate::controls::drafted_it(caller, &run.created_by, &controls) {
            return Err(ServiceError::Forbidden(why));
        }
        let paid: Vec<String> = claim::for_tenant(&caller.tenant)
            .filter(claim::Column::RunId.eq(&run.id))
            .select_only()
            .column(claim::Column::PartnerId)
            .distinct()
            .into_tuple()
            .all(&self.db)
            .await?;
        let payees = self.payees(caller, paid).await?;
        let mut changed: Vec<&str> = payees
            .values()
            .filter(|p| crate::controls::changed_their_bank_details(caller, p).is_some())
            .map(|p| p.partner_id.as_str())
            .collect();
        changed.sort_unstable();
        if !changed.is_empty() {
            return Err(ServiceError::Forbidden(format!(
                "you changed the bank details of {} partner{} this run pays ({}): another member of finance must confirm it",
                changed.len(),
                if changed.len() == 1 { "" } else { "s" },
                changed.join(", ")
            )));
        }
        Ok(())
    }

    async fn find_run(&self, caller: &Caller, id: &str) -> Result<run::Model, ServiceError> {
        run::for_tenant(&caller.tenant)
            .filter(run::Column::Id.eq(id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("payment run", id))
    }

    pub(super) async fn create_run(
        &self,
        caller: &Caller,
        r: CreatePaymentRunRequest,
    ) -> Result<PaymentRun, ServiceError> {
        let up_to = alongside_platform::parse_date(r.up_to.trim())
            .ok_or_else(|| ServiceError::invalid("up_to", alongside_platform::DATE_FORM))?;
        let tenant = caller.tenant.to_string();
        if run::for_tenant(&caller.tenant)
            .filter(run::Column::Status.eq("draft"))
            .count(&self.db)
            .await?
            > 0
        {
            return Err(ServiceError::invalid(
                "up_to",
                "a draft run is open: confirm or cancel it before starting another",
            ));
        }
        let id = ids::new_id(PAYMENT_RUN);
        let now = self.clock.now_rfc3339();
        let txn = self.db.begin().await?;
        // Written first, with its number worked out in the same statement: SQLite refuses a
        // transaction that reads and then writes while another connection writes. One draft a
        // tenant (a unique index on open_draft) and one number each (tenant, sequence).
        let backend = txn.get_database_backend();
        txn.execute(Statement::from_sql_and_values(
            backend,
            r#"INSERT INTO payment_runs (id, tenant_id, status, up_to, sequence, claim_count, partner_count, total_pence, reference, open_draft,
                                         created_by, created_at, confirmed_by, confirmed_at, cancelled_by, cancelled_at)
               VALUES ($1, $2, 'draft', $3, (SELECT COALESCE(MAX(sequence), 0) + 1 FROM payment_runs WHERE tenant_id = $2), 0, 0, 0, '', $2,
                       $4, $5, '', '', '', '')"#,
            [id.clone().into(), tenant.clone().into(), up_to.to_string().into(), caller.subject.clone().into(), now.clone().into()],
        ))
        .await?;
        let sequence: i32 = run::Entity::find_by_id(&id)
            .select_only()
            .column(run::Column::Sequence)
            .into_tuple()
            .one(&txn)
            .await?
            .unwrap_or(1);
        let reference: String = format!("ALONGSIDE {tenant} {sequence:04}")
            .chars()
            .take(18)
            .collect();
        // Approved claims not in any run, up to the date, of partners owed more than nothing
        // (a negative adjustment waits for a claim it can be netted against).
        txn.execute(Statement::from_sql_and_values(
            backend,
            r#"UPDATE claims SET run_id = $1, status = 'in_run', updated_at = $2
               WHERE tenant_id = $3 AND status = 'approved' AND run_id IS NULL AND activity_date <= $4
                 AND partner_id IN (
                   SELECT partner_id FROM claims
                   WHERE tenant_id = $3 AND status = 'approved' AND run_id IS NULL AND activity_date <= $4
                   GROUP BY partner_id HAVING SUM(amount_pence) > 0)"#,
            [id.clone().into(), now.clone().into(), tenant.clone().into(), up_to.to_string().into()],
        ))
        .await?;
        let (count, partners, total) = run_totals(&txn, &tenant, &id).await?;
        if count == 0 {
            txn.rollback().await?;
            return Err(ServiceError::invalid(
                "up_to",
                format!("no approved claims for activity up to {up_to} are waiting to be paid"),
            ));
        }
        run::Entity::update_many()
            .col_expr(run::Column::Reference, Expr::value(reference))
            .col_expr(run::Column::ClaimCount, Expr::value(count))
            .col_expr(run::Column::PartnerCount, Expr::value(partners))
            .col_expr(run::Column::TotalPence, Expr::value(total))
            .filter(run::Column::Id.eq(&id))
            .exec(&txn)
            .await?;
        history_for_run(
            &txn,
            &id,
            "added_to_run",
            &caller.subject,
            &now,
            &format!("in run {id}"),
        )
        .await?;
        self.outbox
            .enqueue(
                &txn,
                PAYMENTS_CLAIMS,
                &id,
                &caller.tenant,
                &PaymentRunCreated {
                    run_id: id.clone(),
                    up_to: up_to.to_string(),
                    claim_count: count as u64,
                    total_pence: total,
                },
            )
            .await?;
        audit::record(&txn, caller, "create", "payment_run", &id).await?;
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(run_id = %id, claims = count, partners, total_pence = total, "payment run drafted");
        Ok(self.find_run(caller, &id).await?.into())
    }

    pub(super) async fn runs(
        &self,
        caller: &Caller,
        r: ListPaymentRunsRequest,
    ) -> Result<ListPaymentRunsResponse, ServiceError> {
        let page = Page::from_request(r.page.as_ref())?;
        let mut query = run::for_tenant(&caller.tenant);
        if !r.status.is_empty() {
            if !["draft", "confirmed", "cancelled"].contains(&r.status.as_str()) {
                return Err(ServiceError::invalid(
                    "status",
                    "must be draft, confirmed or cancelled",
                ));
            }
            query = query.filter(run::Column::Status.eq(&r.status));
        }
        let total = query.clone().count(&self.db).await?;
        let rows = query
            .order_by_desc(run::Column::Sequence)
            .offset(page.offset())
            .limit(page.limit())
            .all(&self.db)
            .await?;
        Ok(ListPaymentRunsResponse {
            runs: rows.into_iter().map(Into::into).collect(),
            page: Some(page.info(total)),
        })
    }

    pub(super) async fn run_detail(
        &self,
        caller: &Caller,
        r: GetPaymentRunRequest,
    ) -> Result<PaymentRunDetail, ServiceError> {
        let found = self.find_run(caller, &r.id).await?;
        let page = Page::from_request(r.page.as_ref())?;
        let rows: Vec<(String, i64, i64, i64, i64)> = claim::for_tenant(&caller.tenant)
            .filter(claim::Column::RunId.eq(&found.id))
            .select_only()
            .column(claim::Column::PartnerId)
            .column_as(claim::Column::Id.count(), "claims")
            .column_as(sum("involvement_pence"), "involvement")
            .column_as(sum("expenses_pence"), "expenses")
            .column_as(sum("amount_pence"), "total")
            .group_by(claim::Column::PartnerId)
            .order_by_asc(claim::Column::PartnerId)
            .offset(page.offset())
            .limit(page.limit())
            .into_tuple()
            .all(&self.db)
            .await?;
        let routes = routes(&self.db, caller, rows.iter().map(|r| r.0.clone()).collect()).await?;
        audit::record(&self.db, caller, "read", "payment_run", &found.id).await?;
        Ok(PaymentRunDetail {
            lines: rows
                .into_iter()
                .map(
                    |(partner_id, claims, involvement, expenses, total)| RunLine {
                        payment_route: routes
                            .get(&partner_id)
                            .cloned()
                            .unwrap_or_else(|| "bacs".into()),
                        partner_id,
                        claim_count: claims.max(0) as u64,
                        involvement_pence: involvement,
                        expenses_pence: expenses,
                        total_pence: total,
                    },
                )
                .collect(),
            page: Some(page.info(found.partner_count.max(0) as u64)),
            run: Some(found.into()),
        })
    }

    pub(super) async fn confirm_run(
        &self,
        caller: &Caller,
        r: PaymentRunAction,
    ) -> Result<PaymentRun, ServiceError> {
        let found = self.find_run(caller, &r.id).await?;
        self.may_confirm(caller, &found).await?;
        let tenant = caller.tenant.to_string();
        let now = self.clock.now_rfc3339();
        let txn = self.db.begin().await?;
        close_draft(&txn, caller, &found, "confirmed", &now).await?;
        claim::Entity::update_many()
            .col_expr(claim::Column::Status, Expr::value("paid"))
            .col_expr(claim::Column::PaidAt, Expr::value(now.clone()))
            .col_expr(claim::Column::UpdatedAt, Expr::value(now.clone()))
            .filter(claim::Column::RunId.eq(&found.id))
            .filter(claim::Column::Status.eq("in_run"))
            .exec(&txn)
            .await?;
        // One journal a partner: what they were owed leaves the bank.
        let backend = txn.get_database_backend();
        for (account, sign) in [
            (crate::ledger::PARTNER_PAYABLE, ""),
            (crate::ledger::BANK, "-"),
        ] {
            txn.execute(Statement::from_sql_and_values(
                backend,
                format!(
                    r#"INSERT INTO ledger_entries (tenant_id, journal_id, account, partner_id, claim_id, run_id, amount_pence, kind, recorded_at, memo)
                       SELECT tenant_id, $1 || ':' || partner_id, $2, partner_id, '', $1, {sign}CAST(SUM(amount_pence) AS BIGINT), 'payment', $3, $4
                       FROM claims WHERE tenant_id = $5 AND run_id = $1 GROUP BY tenant_id, partner_id"#
                ),
                [
                    found.id.clone().into(),
                    account.into(),
                    now.clone().into(),
                    format!("paid in {}", found.reference).into(),
                    tenant.clone().into(),
                ],
            ))
            .await?;
        }
        history_for_run(
            &txn,
            &found.id,
            "paid",
            &caller.subject,
            &now,
            &found.reference,
        )
        .await?;
        // Who was paid what, and for which claims: one event a partner (more for very many).
        let paid: Vec<(String, String, i64)> = claim::for_tenant(&caller.tenant)
            .filter(claim::Column::RunId.eq(&found.id))
            .select_only()
            .columns([
                claim::Column::PartnerId,
                claim::Column::Id,
                claim::Column::AmountPence,
            ])
            .order_by_asc(claim::Column::PartnerId)
            .into_tuple()
            .all(&txn)
            .await?;
        let mut issued: Vec<PaymentIssued> = Vec::new();
        for (partner_id, claim_id, amount) in paid {
            match issued.last_mut() {
                Some(last) if last.partner_id == partner_id && last.claim_ids.len() < 1_000 => {
                    last.amount_pence += amount;
                    last.claim_ids.push(claim_id);
                }
                _ => issued.push(PaymentIssued {
                    run_id: found.id.clone(),
                    partner_id,
                    amount_pence: amount,
                    claim_ids: vec![claim_id],
                    paid_at: now.clone(),
                }),
            }
        }
        let events: Vec<(&str, &str, &alongside_platform::OdsCode, PaymentIssued)> = issued
            .iter()
            .map(|e| {
                (
                    PAYMENTS_CLAIMS,
                    e.partner_id.as_str(),
                    &caller.tenant,
                    e.clone(),
                )
            })
            .collect();
        self.outbox.enqueue_many(&txn, &events).await?;
        self.outbox
            .enqueue(
                &txn,
                PAYMENTS_CLAIMS,
                &found.id,
                &caller.tenant,
                &PaymentRunCompleted {
                    run_id: found.id.clone(),
                    claim_count: found.claim_count.max(0) as u64,
                    partner_count: found.partner_count.max(0) as u64,
                    total_pence: found.total_pence,
                    confirmed_at: now.clone(),
                },
            )
            .await?;
        audit::record(&txn, caller, "confirm", "payment_run", &found.id).await?;
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(run_id = %found.id, claims = found.claim_count, "payment run confirmed: claims paid");
        Ok(self.find_run(caller, &found.id).await?.into())
    }

    pub(super) async fn cancel_run(
        &self,
        caller: &Caller,
        r: PaymentRunAction,
    ) -> Result<PaymentRun, ServiceError> {
        let found = self.find_run(caller, &r.id).await?;
        let now = self.clock.now_rfc3339();
        let txn = self.db.begin().await?;
        close_draft(&txn, caller, &found, "cancelled", &now).await?;
        history_for_run(
            &txn,
            &found.id,
            "run_cancelled",
            &caller.subject,
            &now,
            "back to approved",
        )
        .await?;
        claim::Entity::update_many()
            .col_expr(claim::Column::Status, Expr::value("approved"))
            .col_expr(claim::Column::RunId, Expr::value(Option::<String>::None))
            .col_expr(claim::Column::UpdatedAt, Expr::value(now.clone()))
            .filter(claim::Column::RunId.eq(&found.id))
            .filter(claim::Column::Status.eq("in_run"))
            .exec(&txn)
            .await?;
        self.outbox
            .enqueue(
                &txn,
                PAYMENTS_CLAIMS,
                &found.id,
                &caller.tenant,
                &PaymentRunCancelled {
                    run_id: found.id.clone(),
                    cancelled_at: now.clone(),
                },
            )
            .await?;
        audit::record(&txn, caller, "cancel", "payment_run", &found.id).await?;
        txn.commit().await?;
        self.outbox.notify();
        Ok(self.find_run(caller, &found.id).await?.into())
    }

    pub(super) async fn remittance(
        &self,
        caller: &Caller,
        r: GetRemittanceRequest,
    ) -> Result<Remittance, ServiceError> {
        let partner_id = if caller.role == Role::Partner {
            caller.subject.clone()
        } else {
            r.partner_id.clone()
        };
        let found = self.find_run(caller, &r.run_id).await?;
        // A partner's advice exists once they are paid.
        if caller.role == Role::Partner && found.status != "confirmed" {
            return Err(ServiceError::not_found("remittance", &r.run_id));
        }
        let claims = claim::for_tenant(&caller.tenant)
            .filter(claim::Column::RunId.eq(&found.id))
            .filter(claim::Column::PartnerId.eq(&partner_id))
            .order_by_asc(claim::Column::ActivityDate)
            .order_by_asc(claim::Column::Id)
            .all(&self.db)
            .await?;
        if claims.is_empty() {
            return Err(ServiceError::not_found("remittance", &r.run_id));
        }
        let route = routes(&self.db, caller, vec![partner_id.clone()]).await?;
        audit::record(
            &self.db,
            caller,
            "read",
            "remittance",
            &format!("{}/{partner_id}", found.id),
        )
        .await?;
        Ok(Remittance {
            involvement_pence: claims.iter().map(|c| c.involvement_pence).sum(),
            expenses_pence: claims.iter().map(|c| c.expenses_pence).sum(),
            total_pence: claims.iter().map(|c| c.amount_pence).sum(),
            payment_route: route
                .get(&partner_id)
                .cloned()
                .unwrap_or_else(|| "bacs".into()),
            claims: claims.into_iter().map(Into::into).collect(),
            partner_id,
            run: Some(found.into()),
        })
    }
}

/// Moves a draft to `confirmed` or `cancelled`, once: a run that is no longer a draft (confirmed
/// or cancelled meanwhile, by this or another request) is refused.
async fn close_draft(
    txn: &DatabaseTransaction,
    caller: &Caller,
    found: &run::Model,
    to: &str,
    now: &str,
) -> Result<(), ServiceError> {
    let (by, at) = if to == "confirmed" {
        (run::Column::ConfirmedBy, run::Column::ConfirmedAt)
    } else {
        (run::Column::CancelledBy, run::Column::CancelledAt)
    };
    let moved = run::Entity::update_many()
        .col_expr(run::Column::Status, Expr::value(to))
        .col_expr(run::Column::OpenDraft, Expr::value(Option::<String>::None))
        .col_expr(by, Expr::value(caller.subject.clone()))
        .col_expr(at, Expr::value(now))
        .filter(run::Column::Id.eq(&found.id))
        .filter(run::Column::Status.eq("draft"))
        .exec(txn)
        .await?
        .rows_affected;
    if moved == 0 {
        return Err(ServiceError::Conflict(format!(
            "the run is {}: only a draft can be {to}",
            found.status
        )));
    }
    Ok(())
}

async fn run_totals(
    txn: &DatabaseTransaction,
    tenant: &str,
    run_id: &str,
) -> Result<(i64, i64, i64), sea_orm::DbErr> {
    let totals: Option<(i64, i64, i64)> = claim::Entity::find()
        .filter(claim::Column::TenantId.eq(tenant))
        .filter(claim::Column::RunId.eq(run_id))
        .select_only()
        .column_as(claim::Column::Id.count(), "claims")
        .column_as(Expr::cust("COUNT(DISTINCT partner_id)"), "partners")
        .column_as(sum("amount_pence"), "total")
        .into_tuple()
        .one(txn)
        .await?;
    Ok(totals.unwrap_or((0, 0, 0)))
}

/// One history line for every claim of a run, in one statement.
async fn history_for_run(
    txn: &DatabaseTransaction,
    run_id: &str,
    what: &str,
    by: &str,
    at: &str,
    detail: &str,
) -> Result<(), sea_orm::DbErr> {
    let backend = txn.get_database_backend();
    txn.execute(Statement::from_sql_and_values(
        backend,
        r#"INSERT INTO claim_events (tenant_id, claim_id, at, what, by, detail)
           SELECT tenant_id, id, $1, $2, $3, $4 FROM claims WHERE run_id = $5"#,
        [
            at.into(),
            what.into(),
            by.into(),
            detail.into(),
            run_id.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// How each partner is paid: BACS unless finance recorded payroll.
pub(super) async fn routes(
    db: &impl ConnectionTrait,
    caller: &Caller,
    partner_ids: Vec<String>,
) -> Result<HashMap<String, String>, sea_orm::DbErr> {
    Ok(partner::for_tenant(&caller.tenant)
        .filter(partner::Column::PartnerId.is_in(partner_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.partner_id, p.payment_route))
        .collect())
}
