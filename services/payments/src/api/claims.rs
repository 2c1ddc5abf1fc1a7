//! Claims: who sees which, expense claims with receipts and mileage, and finance's decisions.

use std::collections::HashMap;

use alongside_events::topics::PAYMENTS_CLAIMS;
use alongside_platform::error::Violations;
use alongside_platform::ids::{self, CLAIM, RECEIPT};
use alongside_platform::money::Pence;
use alongside_platform::paging::Page;
use alongside_platform::{audit, Caller, Role, ServiceError};
use alongside_proto::payments::events::v1::{ClaimApproved, ClaimRejected};
use alongside_proto::payments::v1::*;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, TransactionTrait,
};

use super::{sum, PaymentsApi};
use crate::claim;
use crate::claims_from_attendance::{active, created_event};
use crate::ledger;
use crate::mileage::{self, Vehicle};
use crate::store::{claim_event, item, partner, rate_card, receipt};

pub(super) const ITEM_KINDS: &[&str] = &[
    "travel",
    "parking",
    "carer",
    "subsistence",
    "mileage",
    "other",
];

/// The claims `caller` may see.
pub(super) fn visible(caller: &Caller) -> Select<claim::Entity> {
    let query = claim::for_tenant(&caller.tenant);
    match caller.role {
        Role::Partner => query.filter(claim::Column::PartnerId.eq(&caller.subject)),
        Role::Staff => query.filter(claim::Column::CreatedBy.eq(&caller.subject)),
        _ => query,
    }
}

impl PaymentsApi {
    pub(super) async fn list(
        &self,
        caller: &Caller,
        request: ListClaimsRequest,
    ) -> Result<ListClaimsResponse, ServiceError> {
        let page = Page::from_request(request.page.as_ref())?;
        let mut v = Violations::default();
        let mut query = visible(caller);
        if !request.partner_id.is_empty() {
            query = query.filter(claim::Column::PartnerId.eq(&request.partner_id));
        }
        if !request.status.is_empty() {
            v.check(
                claim::STATUSES.contains(&request.status.as_str()),
                "status",
                &format!("must be one of {}", claim::STATUSES.join(", ")),
            );
            query = query.filter(claim::Column::Status.eq(&request.status));
        }
        if !request.kind.is_empty() {
            v.check(
                claim::KINDS.contains(&request.kind.as_str()),
                "kind",
                "must be attendance, expenses or adjustment",
            );
            query = query.filter(claim::Column::Kind.eq(&request.kind));
        }
        if let Some(range) = &request.activity {
            let (from, to) = date_range(&mut v, range);
            if let Some(from) = from {
                query = query.filter(claim::Column::ActivityDate.gte(from.to_string()));
            }
            if let Some(to) = to {
                query = query.filter(claim::Column::ActivityDate.lte(to.to_string()));
            }
        }
        let sorted = match request.sort.as_str() {
            "" | "-created_at" => Some((claim::Column::CreatedAt, false)),
            "created_at" => Some((claim::Column::CreatedAt, true)),
            "activity_date" => Some((claim::Column::ActivityDate, true)),
            "-activity_date" => Some((claim::Column::ActivityDate, false)),
            "amount" => Some((claim::Column::AmountPence, true)),
            "-amount" => Some((claim::Column::AmountPence, false)),
            _ => None,
        };
        if sorted.is_none() {
            v.push(
                "sort",
                "must be one of -created_at, created_at, activity_date, -activity_date, amount, -amount",
            );
        }
        v.finish()?;
        let (column, ascending) = sorted.unwrap_or((claim::Column::CreatedAt, false));
        let total = query.clone().count(&self.db).await?;
        let total_pence: i64 = query
            .clone()
            .select_only()
            .column_as(sum("amount_pence"), "total")
            .into_tuple()
            .one(&self.db)
            .await?
            .unwrap_or(0);
        let ordered = if ascending {
            query.order_by_asc(column)
        } else {
            query.order_by_desc(column)
        };
        let rows = ordered
            .order_by_asc(claim::Column::Id)
            .offset(page.offset())
            .limit(page.limit())
            .all(&self.db)
            .await?;
        audit::record(
            &self.db,
            caller,
            "list",
            "claim",
            &format!("{} rows", rows.len()),
        )
        .await?;
        Ok(ListClaimsResponse {
            claims: rows.into_iter().map(Into::into).collect(),
            page: Some(page.info(total)),
            total: Some(alongside_proto::common::v1::Money { pence: total_pence }),
        })
    }

    pub(super) async fn find_claim(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<claim::Model, ServiceError> {
        visible(caller)
            .filter(claim::Column::Id.eq(id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("claim", id))
    }

    pub(super) async fn detail(
        &self,
        caller: &Caller,
        request: GetClaimRequest,
    ) -> Result<ClaimDetail, ServiceError> {
        let c = self.find_claim(caller, &request.id).await?;
        audit::record(&self.db, caller, "read", "claim", &c.id).await?;
        self.claim_detail(caller, c).await
    }

    async fn claim_detail(
        &self,
        caller: &Caller,
        c: claim::Model,
    ) -> Result<ClaimDetail, ServiceError> {
        let items = item::for_tenant(&caller.tenant)
            .filter(item::Column::ClaimId.eq(&c.id))
            .order_by_asc(item::Column::Position)
            .all(&self.db)
            .await?;
        let receipts = receipt::for_tenant(&caller.tenant)
            .filter(receipt::Column::ClaimId.eq(&c.id))
            .select_only()
            .columns([
                receipt::Column::Id,
                receipt::Column::Filename,
                receipt::Column::ContentType,
                receipt::Column::SizeBytes,
                receipt::Column::UploadedAt,
            ])
            .into_tuple::<(String, String, String, i64, String)>()
            .all(&self.db)
            .await?;
        let history = claim_event::for_tenant(&caller.tenant)
            .filter(claim_event::Column::ClaimId.eq(&c.id))
            .order_by_asc(claim_event::Column::Id)
            .all(&self.db)
            .await?;
        let entries = ledger::for_tenant(&caller.tenant)
            .filter(ledger::Column::ClaimId.eq(&c.id))
            .order_by_asc(ledger::Column::Id)
            .all(&self.db)
            .await?;
        let on = alongside_platform::parse_date(&c.activity_date).unwrap_or_else(|| self.today());
        let warnings = self
            .warnings_of(
                &caller.tenant,
                Some(std::slice::from_ref(&c.partner_id)),
                on,
            )
            .await?;
        let payees = self.payees(caller, [c.partner_id.clone()]).await?;
        let refusal = refusal(caller, &c, payees.get(&c.partner_id));
        Ok(ClaimDetail {
            items: items.into_iter().map(Into::into).collect(),
            receipts: receipts
                .into_iter()
                .map(
                    |(id, filename, content_type, size, uploaded_at)| ReceiptInfo {
                        id,
                        filename,
                        content_type,
                        size_bytes: size.max(0) as u64,
                        uploaded_at,
                    },
                )
                .collect(),
            history: history
                .into_iter()
                .map(|h| ClaimEvent {
                    at: h.at,
                    what: h.what,
                    by: h.by,
                    detail: h.detail,
                })
                .collect(),
            ledger: entries.into_iter().map(ledger::to_proto).collect(),
            warnings,
            can_decide: refusal.is_none(),
            cannot_decide_because: refusal.unwrap_or_default(),
            claim: Some(c.into()),
        })
    }

    pub(super) async fn receipt(
        &self,
        caller: &Caller,
        request: GetReceiptRequest,
    ) -> Result<Receipt, ServiceError> {
        let c = self.find_claim(caller, &request.claim_id).await?;
        let found = receipt::for_tenant(&caller.tenant)
            .filter(receipt::Column::ClaimId.eq(&c.id))
            .filter(receipt::Column::Id.eq(&request.receipt_id))
            .one(&self.db)
            .await?
            .filter(|r| !r.content.is_empty())
            .ok_or_else(|| ServiceError::not_found("receipt", &request.receipt_id))?;
        audit::record(&self.db, caller, "read", "receipt", &found.id).await?;
        Ok(Receipt {
            info: Some(receipt::info(&found)),
            content: found.content,
        })
    }

    pub(super) async fn submit_expenses(
        &self,
        caller: &Caller,
        r: SubmitExpenseClaimRequest,
    ) -> Result<ClaimDetail, ServiceError> {
        let mut v = Violations::default();
        let partner_id = if caller.role == Role::Partner {
            if !r.partner_id.is_empty() && r.partner_id != caller.subject {
                v.push("partner_id", "you can claim only for yourself");
            }
            caller.subject.clone()
        } else {
            r.partner_id.trim().to_string()
        };
        let known = partner::for_tenant(&caller.tenant)
            .filter(partner::Column::PartnerId.eq(&partner_id))
            .one(&self.db)
            .await?;
        match &known {
            _ if partner_id.is_empty() => {
                v.push("partner_id", "choose the partner the expenses are for")
            }
            None if caller.role != Role::Partner => {
                v.push("partner_id", "is not a partner of this trust")
            }
            Some(p) if p.status == "erased" => {
                v.push("partner_id", "this partner's record has been erased")
            }
            _ => {}
        }
        let description = r.description.trim().to_string();
        v.check(
            description.chars().count() <= 500,
            "description",
            "must be 500 characters or fewer",
        );
        v.check(
            (1..=30).contains(&r.items.len()),
            "items",
            "add between 1 and 30 items",
        );
        // The activity the expenses were for: its pathway, kind and cost centre count them.
        let attended = if r.opportunity_id.trim().is_empty() {
            None
        } else {
            let found = claim::for_tenant(&caller.tenant)
                .filter(claim::Column::PartnerId.eq(&partner_id))
                .filter(claim::Column::OpportunityId.eq(r.opportunity_id.trim()))
                .filter(claim::Column::Kind.eq("attendance"))
                .one(&self.db)
                .await?;
            if found.is_none() {
                v.push(
                    "opportunity_id",
                    "no attendance of this partner is recorded for that opportunity",
                );
            }
            found
        };
        let today = self.today();
        let cards = rate_card::cards_of(&self.db, &caller.tenant).await?;
        let mut earlier_car = self
            .car_tenths_this_tax_year(caller, &partner_id, today)
            .await?;
        let claim_id = ids::new_id(CLAIM);
        let now = self.clock.now_rfc3339();
        let mut items = Vec::new();
        let mut receipts = Vec::new();
        let mut latest_spent = None;
        for (i, input) in r.items.iter().enumerate() {
            let field = |name: &str| format!("items[{i}].{name}");
            let kind = input.kind.trim();
            if !ITEM_KINDS.contains(&kind) {
                v.push(
                    &field("kind"),
                    format!("must be one of {}", ITEM_KINDS.join(", ")),
                );
                continue;
            }
            let item_description = input.description.trim().to_string();
            if item_description.chars().count() > 200 {
                v.push(&field("description"), "must be 200 characters or fewer");
            }
            if kind == "other" && item_description.is_empty() {
                v.push(&field("description"), "say what the expense was");
            }
            let spent_on = alongside_platform::parse_date(input.spent_on.trim());
            match spent_on {
                None => v.push(&field("spent_on"), alongside_platform::DATE_FORM),
                Some(d) if d > today => v.push(&field("spent_on"), "must not be in the future"),
                Some(d) if d < today - time::Duration::days(365) => {
                    v.push(&field("spent_on"), "must be within the last 12 months")
                }
                Some(d) => latest_spent = latest_spent.max(Some(d)),
            }
            let on = spent_on.unwrap_or(today);
            let card = crate::rate_card::in_force(&cards, on).unwrap_or(&cards[0]);
            let (amount, working, vehicle) = if kind == "mileage" {
                let vehicle = Vehicle::parse(input.vehicle.trim());
                if vehicle.is_none() {
                    v.push(&field("vehicle"), "must be car, motorcycle or bicycle");
                }
                if !(1..=10_000).contains(&input.miles_tenths) {
                    v.push(
                        &field("miles_tenths"),
                        "enter the miles, between 0.1 and 1,000",
                    );
                }
                if input.passengers > 0 && vehicle != Some(Vehicle::Car) {
                    v.push(&field("passengers"), "passengers are paid only in a car");
                } else if input.passengers > 8 {
                    v.push(&field("passengers"), "must be 8 or fewer");
                }
                let vehicle = vehicle.unwrap_or(Vehicle::Car);
                let (pence, working) = mileage::allowance(
                    &card.mileage,
                    vehicle,
                    input.miles_tenths,
                    input.passengers,
                    earlier_car,
                );
                if vehicle == Vehicle::Car {
                    earlier_car += u64::from(input.miles_tenths);
                }
                (pence.0, working, input.vehicle.trim().to_string())
            } else {
                if !(1..=100_000).contains(&input.amount_pence) {
                    v.push(
                        &field("amount_pence"),
                        "must be between £0.01 and £1,000.00",
                    );
                }
                (input.amount_pence, String::new(), String::new())
            };
            let receipt_id = match (&input.receipt, kind) {
                (Some(upload), _) if !upload.content.is_empty() => {
                    if let Some(problem) =
                        crate::receipt::problem(upload.content_type.trim(), &upload.content)
                    {
                        v.push(&field("receipt"), problem);
                        String::new()
                    } else {
                        let id = ids::new_id(RECEIPT);
                        receipts.push(receipt::Model {
                            id: id.clone(),
                            tenant_id: caller.tenant.to_string(),
                            claim_id: claim_id.clone(),
                            partner_id: partner_id.clone(),
                            filename: crate::receipt::clean_filename(&upload.filename),
                            content_type: crate::receipt::sniff(&upload.content)
                                .unwrap_or("application/octet-stream")
                                .into(),
                            size_bytes: upload.content.len() as i64,
                            sha256: sha256_hex(&upload.content),
                            content: upload.content.clone(),
                            uploaded_at: now.clone(),
                        });
                        id
                    }
                }
                (_, "mileage") => String::new(),
                _ => {
                    v.push(&field("receipt"), "attach the receipt (a PDF or a photo): expenses are repaid against receipts");
                    String::new()
                }
            };
            items.push(item::Model {
                id: 0,
                tenant_id: caller.tenant.to_string(),
                claim_id: claim_id.clone(),
                position: i as i32,
                kind: kind.to_string(),
                description: item_description,
                amount_pence: amount,
                miles_tenths: if kind == "mileage" {
                    input.miles_tenths as i32
                } else {
                    0
                },
                passengers: if kind == "mileage" {
                    input.passengers as i32
                } else {
                    0
                },
                vehicle,
                spent_on: input.spent_on.trim().to_string(),
                receipt_id,
                working,
            });
        }
        v.finish()?;
        let total: i64 = items.iter().map(|i| i.amount_pence).sum();
        let activity_date = attended
            .as_ref()
            .map(|a| a.activity_date.clone())
            .or_else(|| latest_spent.map(|d| d.to_string()))
            .unwrap_or_else(|| today.to_string());
        let row = claim::Model {
            id: claim_id.clone(),
            tenant_id: caller.tenant.to_string(),
            partner_id: partner_id.clone(),
            attendance_id: claim_id.clone(),
            opportunity_id: attended
                .as_ref()
                .map(|a| a.opportunity_id.clone())
                .unwrap_or_default(),
            amount_pence: total,
            rate_basis: "expenses".into(),
            status: "awaiting_approval".into(),
            activity_date,
            minutes: 0,
            created_at: now.clone(),
            kind: "expenses".into(),
            activity_kind: attended
                .as_ref()
                .map(|a| a.activity_kind.clone())
                .unwrap_or_default(),
            involvement_level: attended.as_ref().map_or(0, |a| a.involvement_level),
            pathway: attended
                .as_ref()
                .map(|a| a.pathway.clone())
                .unwrap_or_default(),
            cost_centre: attended
                .as_ref()
                .map(|a| a.cost_centre.clone())
                .unwrap_or_default(),
            description: if description.is_empty() {
                format!(
                    "Expenses: {} item{}",
                    items.len(),
                    if items.len() == 1 { "" } else { "s" }
                )
            } else {
                description
            },
            involvement_pence: 0,
            expenses_pence: total,
            rate_card_id: String::new(),
            payment_preference: known
                .as_ref()
                .map_or("paid".into(), |p| p.preference.clone()),
            revision: 0,
            decided_by: String::new(),
            decided_at: String::new(),
            decision_reason: String::new(),
            run_id: None,
            paid_at: String::new(),
            adjusts_claim_id: String::new(),
            created_by: caller.subject.clone(),
            updated_at: now.clone(),
        };
        let txn = self.db.begin().await?;
        claim::Entity::insert(active(&row))
            .exec_without_returning(&txn)
            .await?;
        item::Entity::insert_many(items.into_iter().map(|i| {
            let mut a = sea_orm::ActiveModelTrait::reset_all(
                sea_orm::IntoActiveModel::into_active_model(i),
            );
            a.id = sea_orm::ActiveValue::NotSet;
            a
        }))
        .exec_without_returning(&txn)
        .await?;
        for r in receipts {
            receipt::Entity::insert(sea_orm::ActiveModelTrait::reset_all(
                sea_orm::IntoActiveModel::into_active_model(r),
            ))
            .exec_without_returning(&txn)
            .await?;
        }
        let posting = ledger::Posting {
            tenant: &row.tenant_id,
            partner_id: &row.partner_id,
            claim_id: &row.id,
            run_id: "",
            kind: "claim",
            memo: "expenses claimed",
        };
        ledger::Entity::insert_many(ledger::rows(&posting, &ledger::claim_made(0, total), &now))
            .exec_without_returning(&txn)
            .await?;
        let by_whom = if caller.role == Role::Partner {
            "the partner"
        } else {
            "on the partner's behalf"
        };
        claim_event::Entity::insert(claim_event::row(
            &row.tenant_id,
            &row.id,
            "created",
            &caller.subject,
            &format!("expenses of {} claimed {by_whom}", Pence(total).display()),
            &now,
        ))
        .exec_without_returning(&txn)
        .await?;
        self.outbox
            .enqueue(
                &txn,
                PAYMENTS_CLAIMS,
                &row.partner_id,
                &caller.tenant,
                &created_event(&row),
            )
            .await?;
        audit::record(&txn, caller, "create", "claim", &row.id).await?;
        txn.commit().await?;
        self.outbox.notify();
        tracing::info!(claim_id = %row.id, items = r.items.len(), "expense claim made");
        self.claim_detail(caller, row).await
    }

    /// Tenths of a mile the partner has claimed by car in the tax year of `on` (HMRC's
    /// threshold counts a tax year's business miles).
    async fn car_tenths_this_tax_year(
        &self,
        caller: &Caller,
        partner_id: &str,
        on: time::Date,
    ) -> Result<u64, ServiceError> {
        let start = crate::benefits::tax_year_start(on);
        let claims: Vec<String> = claim::for_tenant(&caller.tenant)
            .filter(claim::Column::PartnerId.eq(partner_id))
            .filter(claim::Column::Kind.eq("expenses"))
            .filter(claim::Column::Status.ne("rejected"))
            .select_only()
            .column(claim::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await?;
        if claims.is_empty() {
            return Ok(0);
        }
        let tenths: i64 = item::for_tenant(&caller.tenant)
            .filter(item::Column::ClaimId.is_in(claims))
            .filter(item::Column::Vehicle.eq("car"))
            .filter(item::Column::SpentOn.gte(start.to_string()))
            .select_only()
            .column_as(sum("miles_tenths"), "tenths")
            .into_tuple()
            .one(&self.db)
            .await?
            .unwrap_or(0);
        Ok(tenths.max(0) as u64)
    }

    pub(super) async fn decide(
        &self,
        caller: &Caller,
        r: DecideClaimsRequest,
    ) -> Result<DecideClaimsResponse, ServiceError> {
        let mut v = Violations::default();
        let approve = match r.decision.as_str() {
            "approve" => true,
            "reject" => false,
            _ => {
                v.push("decision", "must be approve or reject");
                true
            }
        };
        let reason = r.reason.trim().to_string();
        if !approve && reason.is_empty() {
            v.push(
                "reason",
                "say why the claim is rejected: the partner sees it",
            );
        }
        v.check(
            reason.chars().count() <= 500,
            "reason",
            "must be 500 characters or fewer",
        );
        v.check(
            (1..=500).contains(&r.claim_ids.len()),
            "claim_ids",
            "choose between 1 and 500 claims",
        );
        v.finish()?;
        let found: HashMap<String, claim::Model> = claim::for_tenant(&caller.tenant)
            .filter(claim::Column::Id.is_in(r.claim_ids.iter().cloned()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        let payees = self
            .payees(caller, found.values().map(|c| c.partner_id.clone()))
            .await?;
        let mut refused = Vec::new();
        let mut eligible = Vec::new();
        for id in &r.claim_ids {
            match found.get(id) {
                None => refused.push(Refusal {
                    claim_id: id.clone(),
                    reason: "not found".into(),
                }),
                Some(c) => match refusal(caller, c, payees.get(&c.partner_id)) {
                    Some(reason) => refused.push(Refusal {
                        claim_id: id.clone(),
                        reason,
                    }),
                    None if !eligible.contains(&id.clone()) => eligible.push(id.clone()),
                    None => {}
                },
            }
        }
        let now = self.clock.now_rfc3339();
        let txn = self.db.begin().await?;
        // Only claims still awaiting approval move: a decision made meanwhile by someone else
        // stands, and no claim is approved twice.
        let status = if approve { "approved" } else { "rejected" };
        let mut update = claim::Entity::update_many()
            .col_expr(claim::Column::Status, Expr::value(status))
            .col_expr(
                claim::Column::DecidedBy,
                Expr::value(caller.subject.clone()),
            )
            .col_expr(claim::Column::DecidedAt, Expr::value(now.clone()))
            .col_expr(claim::Column::UpdatedAt, Expr::value(now.clone()));
        if !approve {
            update = update.col_expr(claim::Column::DecisionReason, Expr::value(reason.clone()));
        }
        update
            .filter(claim::Column::TenantId.eq(caller.tenant.as_str()))
            .filter(claim::Column::Id.is_in(eligible.clone()))
            .filter(claim::Column::Status.eq("awaiting_approval"))
            .exec(&txn)
            .await?;
        // What this decision moved, read back in its own transaction.
        let decided: Vec<claim::Model> = claim::for_tenant(&caller.tenant)
            .filter(claim::Column::Id.is_in(eligible.clone()))
            .filter(claim::Column::Status.eq(status))
            .filter(claim::Column::DecidedBy.eq(&caller.subject))
            .filter(claim::Column::DecidedAt.eq(&now))
            .all(&txn)
            .await?;
        for id in &eligible {
            if !decided.iter().any(|d| &d.id == id) {
                refused.push(Refusal {
                    claim_id: id.clone(),
                    reason: "decided meanwhile by someone else".into(),
                });
            }
        }
        let mut entries = Vec::new();
        let mut history = Vec::new();
        let mut approved_events = Vec::new();
        let mut rejected_events = Vec::new();
        for c in &decided {
            let posting = ledger::Posting {
                tenant: &c.tenant_id,
                partner_id: &c.partner_id,
                claim_id: &c.id,
                run_id: "",
                kind: if approve { "approval" } else { "reversal" },
                memo: if approve { "approved" } else { "rejected" },
            };
            let lines = if approve {
                ledger::claim_approved(c.amount_pence)
            } else {
                ledger::claim_reversed(c.involvement_pence, c.expenses_pence)
            };
            entries.extend(ledger::rows(&posting, &lines, &now));
            history.push(claim_event::row(
                &c.tenant_id,
                &c.id,
                status,
                &caller.subject,
                if approve { "" } else { &reason },
                &now,
            ));
            if approve {
                approved_events.push((
                    PAYMENTS_CLAIMS,
                    c.partner_id.as_str(),
                    &caller.tenant,
                    ClaimApproved {
                        claim_id: c.id.clone(),
                        partner_id: c.partner_id.clone(),
                        amount_pence: c.amount_pence,
                        approved_at: now.clone(),
                    },
                ));
            } else {
                rejected_events.push((
                    PAYMENTS_CLAIMS,
                    c.partner_id.as_str(),
                    &caller.tenant,
                    ClaimRejected {
                        claim_id: c.id.clone(),
                        partner_id: c.partner_id.clone(),
                        rejected_at: now.clone(),
                    },
                ));
            }
        }
        insert_chunks(&txn, entries).await?;
        for chunk in history.chunks(1_000) {
            claim_event::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        self.outbox.enqueue_many(&txn, &approved_events).await?;
        self.outbox.enqueue_many(&txn, &rejected_events).await?;
        let ids: Vec<String> = decided.iter().map(|c| c.id.clone()).collect();
        audit::record_each(
            &txn,
            caller,
            if approve { "approve" } else { "reject" },
            "claim",
            &ids,
        )
        .await?;
        txn.commit().await?;
        self.outbox.notify();
        Ok(DecideClaimsResponse {
            decided: decided.into_iter().map(Into::into).collect(),
            refused,
        })
    }
}

/// Why `caller` may not decide `c` now; none if they may.
fn refusal(
    caller: &Caller,
    c: &claim::Model,
    payee: Option<&crate::store::partner::Model>,
) -> Option<String> {
    if caller.role != Role::Finance {
        return Some("only finance approve or reject claims".into());
    }
    if c.status != "awaiting_approval" {
        return Some(format!(
            "it is {}, not awaiting approval",
            c.status.replace('_', " ")
        ));
    }
    if c.created_by == caller.subject || c.partner_id == caller.subject {
        return Some("you entered this claim: another member of finance must decide it".into());
    }
    payee.and_then(|p| crate::controls::changed_their_bank_details(caller, p))
}

pub(super) async fn insert_chunks(
    txn: &impl ConnectionTrait,
    entries: Vec<ledger::ActiveModel>,
) -> Result<(), sea_orm::DbErr> {
    for chunk in entries.chunks(1_000) {
        ledger::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// Both ends of a date range, each checked.
pub(super) fn date_range(
    v: &mut Violations,
    range: &alongside_proto::common::v1::DateRange,
) -> (Option<time::Date>, Option<time::Date>) {
    let mut end = |value: &str, field: &str| {
        if value.trim().is_empty() {
            return None;
        }
        let date = alongside_platform::parse_date(value.trim());
        if date.is_none() {
            v.push(field, alongside_platform::DATE_FORM);
        }
        date
    };
    let from = end(&range.from, "activity.from");
    let to = end(&range.to, "activity.to");
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            v.push("activity.to", "must not be before the start");
        }
    }
    (from, to)
}

fn sha256_hex(content: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(content))
}
