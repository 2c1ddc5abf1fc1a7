//! Payments in the portal (DOMAIN.md §5): claims and expense claims with receipts, finance's
//! approval, payment runs with their payment file and remittance advice, partners' own payments
//! and yearly statements, rate cards, benefits safeguards and involvement spend.

use std::collections::BTreeMap;

use alongside_platform::money::Pence;
use alongside_platform::Role;
use alongside_proto::common::v1::DateRange;
use alongside_proto::payments::v1 as payments;
use alongside_proto::people::v1 as people;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::{header, StatusCode};
use minijinja::{context, Value};
use serde::Deserialize;

use crate::access::{
    BENEFIT_READERS, BENEFIT_WARNING_READERS, CLAIM_READERS, EXPENSE_SUBMITTERS, FINANCE,
    LEDGER_READERS, ORGANISERS, PARTNERS, PAYEE_READERS, RATE_CARD_EDITORS, RATE_CARD_READERS,
    SPEND_READERS, STATEMENT_READERS,
};
use crate::error::AppError;
use crate::pages::{
    all_partners, base, csv_response, errors_map, every_page, merge, page_request, page_value,
    render, NoticeQuery,
};
use crate::pdf::{self, Block};
use crate::session::SignedIn;
use crate::AppState;

use Role::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/claims", get(claims))
        .route("/claims.csv", get(claims_csv))
        .route("/claims/decide", post(decide_many))
        .route(
            "/claims/new",
            get(expense_form)
                .post(expense_submit)
                // Receipts: up to 5 MB each, several a claim.
                .layer(DefaultBodyLimit::max(32 * 1024 * 1024)),
        )
        .route("/claims/{id}", get(claim))
        .route("/claims/{id}/decision", post(decide_one))
        .route("/claims/{id}/receipts/{receipt}", get(receipt))
        .route("/payments/runs", get(runs).post(run_create))
        .route("/payments/runs/{id}", get(run))
        .route("/payments/runs/{id}/confirm", post(run_confirm))
        .route("/payments/runs/{id}/cancel", post(run_cancel))
        .route("/payments/runs/{id}/payment-file.csv", get(payment_file))
        .route("/payments/runs/{id}/remittances/{partner}", get(remittance))
        .route(
            "/payments/runs/{id}/remittances/{partner}/pdf",
            get(remittance_pdf),
        )
        .route("/my-payments", get(my_payments))
        .route("/payments/statements/{partner}/{year}", get(statement))
        .route(
            "/payments/statements/{partner}/{year}/pdf",
            get(statement_pdf),
        )
        .route("/payments/partners/{id}", get(payee))
        .route("/payments/partners/{id}/route", post(payee_route))
        .route(
            "/payments/rate-cards",
            get(rate_cards).post(rate_card_create),
        )
        .route("/payments/benefits", get(benefits).post(benefit_limit_set))
        .route("/payments/budget", get(budget))
        .route("/payments/budget.csv", get(budget_csv))
        .route("/payments/ledger", get(ledger))
}

pub(crate) fn pounds(pence: i64) -> String {
    Pence(pence).display()
}

fn status_label(status: &str) -> &'static str {
    match status {
        "awaiting_approval" => "Awaiting approval",
        "approved" => "Approved",
        "rejected" => "Rejected",
        "in_run" => "In a payment run",
        "paid" => "Paid",
        "no_payment" => "Nothing to pay",
        "withdrawn" => "Withdrawn",
        "draft" => "Draft",
        "confirmed" => "Confirmed",
        "cancelled" => "Cancelled",
        _ => "Unknown",
    }
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "attendance" => "Time given",
        "expenses" => "Expenses",
        "adjustment" => "Adjustment",
        _ => "Claim",
    }
}

/// Names of the partners `ids`, as the caller may know them: finance by their payee list,
/// organisers from the People Bank, a partner only themself.
pub(crate) async fn names(
    state: &AppState,
    me: &SignedIn,
    ids: &[String],
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if me.caller.role == Finance {
        for chunk in ids.chunks(1_000) {
            let request = people::GetPayeesRequest {
                partner_ids: chunk.to_vec(),
                include_bank_details: false,
            };
            if let Ok(found) = state
                .clients
                .people()
                .get_payees(state.clients.request(&me.caller, request))
                .await
            {
                out.extend(
                    found
                        .into_inner()
                        .payees
                        .into_iter()
                        .map(|p| (p.partner_id, p.name)),
                );
            }
        }
    } else if me.has_role(ORGANISERS) {
        if let Ok(partners) = all_partners(state, me, "", "name").await {
            out.extend(
                partners
                    .into_iter()
                    .filter(|p| ids.contains(&p.id))
                    .map(|p| (p.id, format!("{} {}", p.given_name, p.family_name))),
            );
        }
    } else if me.caller.role == Partner {
        out.insert(me.caller.subject.clone(), me.user.display_name.clone());
    }
    out
}

fn claim_value(c: &payments::Claim, names: &BTreeMap<String, String>) -> Value {
    let amount = c.amount.map(|m| m.pence).unwrap_or(0);
    context! {
        id => c.id, partner_id => c.partner_id,
        partner => names.get(&c.partner_id).cloned().unwrap_or_else(|| c.partner_id.clone()),
        kind => c.kind, kind_label => kind_label(&c.kind), activity_date => c.activity_date,
        minutes => c.minutes, description => c.description, amount => pounds(amount),
        amount_pence => amount, involvement => pounds(c.involvement_pence), expenses => pounds(c.expenses_pence),
        status => c.status, status_label => status_label(&c.status), decision_reason => c.decision_reason,
        decided_at => c.decided_at, paid_at => c.paid_at, run_id => c.run_id, pathway => c.pathway,
        cost_centre => c.cost_centre, activity_kind => c.activity_kind.replace('_', " "),
        adjusts_claim_id => c.adjusts_claim_id, created_at => c.created_at, preference => c.payment_preference,
    }
}

fn warning_value(w: &payments::BenefitWarning, names: &BTreeMap<String, String>) -> Value {
    context! {
        partner_id => w.partner_id,
        partner => names.get(&w.partner_id).cloned().unwrap_or_else(|| w.partner_id.clone()),
        label => w.limit_label, period => w.period, period_start => w.period_start,
        limit => pounds(w.limit_pence), counted => pounds(w.counted_pence), level => w.level,
        over => w.level == "over", message => w.message,
    }
}

// ---- claims ----

#[derive(Deserialize, Default)]
struct ClaimsQuery {
    page: Option<u32>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    partner: String,
    notice: Option<String>,
}

impl ClaimsQuery {
    fn request(
        &self,
        page: Option<alongside_proto::common::v1::PageRequest>,
    ) -> payments::ListClaimsRequest {
        payments::ListClaimsRequest {
            page,
            partner_id: self.partner.clone(),
            status: self.status.clone(),
            kind: self.kind.clone(),
            activity: Some(DateRange {
                from: self.from.clone(),
                to: self.to.clone(),
            }),
            sort: self.sort.clone(),
        }
    }

    /// The filters as a query string, for paging and the CSV link.
    fn query_string(&self) -> String {
        // Each pair ends in "&", for the page number to follow.
        let pairs = crate::pages::query_string(&[
            ("status", &self.status),
            ("kind", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
            ("sort", &self.sort),
            ("partner", &self.partner),
        ]);
        if pairs.is_empty() {
            pairs
        } else {
            format!("{pairs}&")
        }
    }
}

const STATUS_OPTIONS: &[(&str, &str)] = &[
    ("", "Any status"),
    ("awaiting_approval", "Awaiting approval"),
    ("approved", "Approved"),
    ("in_run", "In a payment run"),
    ("paid", "Paid"),
    ("rejected", "Rejected"),
    ("no_payment", "Nothing to pay"),
    ("withdrawn", "Withdrawn"),
];
const KIND_OPTIONS: &[(&str, &str)] = &[
    ("", "Any kind"),
    ("attendance", "Time given"),
    ("expenses", "Expenses"),
    ("adjustment", "Adjustments"),
];
const SORT_OPTIONS: &[(&str, &str)] = &[
    ("-created_at", "Newest first"),
    ("created_at", "Oldest first"),
    ("-activity_date", "Activity date, latest first"),
    ("activity_date", "Activity date, earliest first"),
    ("-amount", "Largest amount first"),
    ("amount", "Smallest amount first"),
];

async fn claims_page(
    state: &AppState,
    me: &SignedIn,
    q: &ClaimsQuery,
    err: Option<&AppError>,
) -> Result<Html<String>, AppError> {
    me.require(CLAIM_READERS)?;
    let listed = state
        .clients
        .payments()
        .list_claims(
            state
                .clients
                .request(&me.caller, q.request(page_request(q.page, 25))),
        )
        .await?
        .into_inner();
    let ids: Vec<String> = listed.claims.iter().map(|c| c.partner_id.clone()).collect();
    let names = names(state, me, &ids).await;
    let rows: Vec<Value> = listed
        .claims
        .iter()
        .map(|c| claim_value(c, &names))
        .collect();
    let notice = match q.notice.as_deref() {
        Some("decided") => Some("The claims you chose are decided."),
        _ => None,
    };
    render(
        state,
        "claims.html",
        merge(
            base(
                me,
                "/claims",
                if me.caller.role == Partner {
                    "Your claims"
                } else {
                    "Claims"
                },
            ),
            context! {
                claims => rows, page => page_value(listed.page), total => pounds(listed.total.map(|m| m.pence).unwrap_or(0)),
                filters => context! { status => q.status, kind => q.kind, from => q.from, to => q.to, sort => q.sort, partner => q.partner },
                query => q.query_string(), status_options => STATUS_OPTIONS, kind_options => KIND_OPTIONS, sort_options => SORT_OPTIONS,
                can_decide => me.caller.role == Finance, can_claim_expenses => me.has_role(EXPENSE_SUBMITTERS),
                own => me.caller.role == Partner, notice => notice, errors => err.map(errors_map).unwrap_or_default(),
            },
        ),
    )
}

async fn claims(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ClaimsQuery>,
) -> Result<Html<String>, AppError> {
    claims_page(&state, &me, &q, None).await
}

async fn claims_csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ClaimsQuery>,
) -> Result<Response, AppError> {
    me.require(CLAIM_READERS)?;
    let (state, me, q) = (&state, &me, &q);
    let claims = every_page(|page| async move {
        let listed = state
            .clients
            .payments()
            .list_claims(state.clients.request(&me.caller, q.request(page)))
            .await?
            .into_inner();
        Ok((listed.claims, listed.page.map(|p| p.total).unwrap_or(0)))
    })
    .await?;
    let ids: Vec<String> = claims.iter().map(|c| c.partner_id.clone()).collect();
    let names = names(state, me, &ids).await;
    let rows = claims
        .into_iter()
        .map(|c| {
            vec![
                c.id,
                names.get(&c.partner_id).cloned().unwrap_or_default(),
                c.partner_id,
                c.kind,
                c.activity_date,
                c.minutes.to_string(),
                c.description,
                c.rate_basis,
                c.involvement_pence.to_string(),
                c.expenses_pence.to_string(),
                c.amount.map(|m| m.pence).unwrap_or(0).to_string(),
                c.status,
                c.pathway,
                c.activity_kind,
                c.cost_centre,
                c.run_id,
                c.paid_at,
                c.created_at,
            ]
        })
        .collect();
    csv_response(
        "claims.csv",
        &[
            "id",
            "partner",
            "partner_id",
            "kind",
            "activity_date",
            "minutes",
            "description",
            "rate_basis",
            "involvement_pence",
            "expenses_pence",
            "amount_pence",
            "status",
            "pathway",
            "activity_kind",
            "cost_centre",
            "run_id",
            "paid_at",
            "created_at",
        ],
        rows,
    )
}

async fn decide(
    state: &AppState,
    me: &SignedIn,
    ids: Vec<String>,
    decision: &str,
    reason: &str,
) -> Result<payments::DecideClaimsResponse, AppError> {
    me.require(FINANCE)?;
    let request = payments::DecideClaimsRequest {
        claim_ids: ids,
        decision: decision.into(),
        reason: reason.into(),
    };
    Ok(state
        .clients
        .payments()
        .decide_claims(state.clients.request(&me.caller, request))
        .await?
        .into_inner())
}

/// Finance approve the claims ticked on the list (a form of repeated `claim_id` fields).
async fn decide_many(
    State(state): State<AppState>,
    me: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    me.require(FINANCE)?;
    let field = |name: &str| crate::pages::posted(&pairs, name);
    me.check_csrf(field("csrf_token"))?;
    let ids = crate::pages::posted_all(&pairs, "claim_id");
    if ids.is_empty() {
        let err = AppError::Invalid(vec![alongside_platform::error::FieldError::new(
            "claim_id",
            "tick the claims to approve",
        )]);
        let q = ClaimsQuery {
            status: "awaiting_approval".into(),
            ..Default::default()
        };
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            claims_page(&state, &me, &q, Some(&err)).await?,
        )
            .into_response());
    }
    decide(&state, &me, ids, "approve", "").await?;
    Ok(Redirect::to("/claims?status=awaiting_approval&notice=decided").into_response())
}

async fn claim_page(
    state: &AppState,
    me: &SignedIn,
    id: &str,
    notice: Option<&str>,
    err: Option<&AppError>,
) -> Result<Html<String>, AppError> {
    me.require(CLAIM_READERS)?;
    let detail = state
        .clients
        .payments()
        .get_claim(
            state
                .clients
                .request(&me.caller, payments::GetClaimRequest { id: id.into() }),
        )
        .await?
        .into_inner();
    let claim = detail.claim.clone().unwrap_or_default();
    let names = names(state, me, std::slice::from_ref(&claim.partner_id)).await;
    let notice = match notice {
        Some("submitted") => Some("Your claim is sent. Finance will approve it or say why not."),
        Some("approved") => Some("Claim approved."),
        Some("rejected") => Some("Claim rejected. The partner sees your reason."),
        _ => None,
    };
    let refused = match err {
        Some(AppError::Conflict(message)) => Some(message.clone()),
        _ => None,
    };
    render(
        state,
        "claim.html",
        merge(
            base(me, "/claims", "Claim"),
            context! {
                claim => claim_value(&claim, &names),
                items => detail.items.iter().map(|i| context! {
                    kind => i.kind.replace('_', " "), description => i.description, spent_on => i.spent_on,
                    amount => pounds(i.amount_pence), working => i.working, receipt_id => i.receipt_id,
                }).collect::<Vec<_>>(),
                receipts => detail.receipts.iter().map(|r| context! { id => r.id, filename => r.filename, size_kb => r.size_bytes.div_ceil(1024) }).collect::<Vec<_>>(),
                history => detail.history.iter().map(|h| context! { at => h.at, what => h.what.replace('_', " "), detail => h.detail }).collect::<Vec<_>>(),
                ledger => detail.ledger.iter().map(|e| context! { account => e.account.replace('_', " "), amount => pounds(e.amount_pence), kind => e.kind, at => e.recorded_at }).collect::<Vec<_>>(),
                warnings => detail.warnings.iter().map(|w| warning_value(w, &names)).collect::<Vec<_>>(),
                can_decide => detail.can_decide, cannot_decide_because => detail.cannot_decide_because,
                is_finance => me.caller.role == Finance, notice => notice, refused => refused,
                errors => err.map(errors_map).unwrap_or_default(),
            },
        ),
    )
}

async fn claim(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Html<String>, AppError> {
    claim_page(&state, &me, &id, q.notice.as_deref(), None).await
}

#[derive(Deserialize)]
struct DecisionForm {
    csrf_token: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

async fn decide_one(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    match decide(&state, &me, vec![id.clone()], &form.decision, &form.reason).await {
        Ok(answer) if answer.decided.is_empty() => {
            let why = answer
                .refused
                .first()
                .map(|r| r.reason.clone())
                .unwrap_or_else(|| "the claim could not be decided".into());
            let err = AppError::Conflict(format!("Not decided: {why}."));
            Ok((
                StatusCode::CONFLICT,
                claim_page(&state, &me, &id, None, Some(&err)).await?,
            )
                .into_response())
        }
        Ok(_) => {
            let notice = if form.decision == "reject" {
                "rejected"
            } else {
                "approved"
            };
            Ok(Redirect::to(&format!("/claims/{id}?notice={notice}")).into_response())
        }
        Err(err @ AppError::Invalid(_)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            claim_page(&state, &me, &id, None, Some(&err)).await?,
        )
            .into_response()),
        Err(err) => Err(err),
    }
}

async fn receipt(
    State(state): State<AppState>,
    me: SignedIn,
    Path((id, receipt)): Path<(String, String)>,
) -> Result<Response, AppError> {
    me.require(CLAIM_READERS)?;
    let found = state
        .clients
        .payments()
        .get_receipt(state.clients.request(
            &me.caller,
            payments::GetReceiptRequest {
                claim_id: id,
                receipt_id: receipt,
            },
        ))
        .await?
        .into_inner();
    let info = found.info.unwrap_or_default();
    Ok((
        [
            (header::CONTENT_TYPE, info.content_type),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}\"",
                    info.filename.replace('"', "")
                ),
            ),
            (header::CACHE_CONTROL, "private, no-store".into()),
        ],
        found.content,
    )
        .into_response())
}

// ---- expense claims ----

const ITEM_ROWS: usize = 4;
const ITEM_KINDS: &[(&str, &str)] = &[
    ("", "Choose…"),
    ("travel", "Travel (bus, train, taxi)"),
    ("parking", "Parking"),
    ("carer", "Care for someone while you took part"),
    ("subsistence", "Food and drink"),
    ("mileage", "Mileage (your own vehicle)"),
    ("other", "Something else"),
];
const VEHICLES: &[(&str, &str)] = &[
    ("car", "Car or van"),
    ("motorcycle", "Motorcycle"),
    ("bicycle", "Bicycle"),
];

type Typed = BTreeMap<String, String>;

async fn expense_page(
    state: &AppState,
    me: &SignedIn,
    typed: &Typed,
    err: Option<&AppError>,
) -> Result<Html<String>, AppError> {
    me.require(EXPENSE_SUBMITTERS)?;
    let own = me.caller.role == Partner;
    let partner_options: Vec<(String, String)> = if own {
        Vec::new()
    } else {
        all_partners(state, me, "", "name")
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                (
                    p.id,
                    format!("{} {} ({})", p.given_name, p.family_name, p.locality),
                )
            })
            .collect()
    };
    // What the expenses can be for: the partner's own attendance.
    let attended: Vec<(String, String)> = if own {
        let request = payments::ListClaimsRequest {
            kind: "attendance".into(),
            sort: "-activity_date".into(),
            page: page_request(Some(1), 50),
            ..Default::default()
        };
        let listed = state
            .clients
            .payments()
            .list_claims(state.clients.request(&me.caller, request))
            .await?
            .into_inner();
        std::iter::once((String::new(), "Not linked to one".to_string()))
            .chain(listed.claims.into_iter().map(|c| {
                (
                    c.opportunity_id,
                    format!("{}: {}", c.activity_date, c.activity_kind.replace('_', " ")),
                )
            }))
            .collect()
    } else {
        Vec::new()
    };
    let rows: Vec<usize> = (0..ITEM_ROWS).collect();
    render(
        state,
        "expense_new.html",
        merge(
            base(me, "/claims", "Claim expenses"),
            context! {
                own => own, partner_options => partner_options, attended => attended, rows => rows,
                item_kinds => ITEM_KINDS, vehicles => VEHICLES, typed => typed,
                today => state.clock.today().to_string(),
                errors => err.map(errors_map).unwrap_or_default(),
            },
        ),
    )
}

async fn expense_form(
    State(state): State<AppState>,
    me: SignedIn,
) -> Result<Html<String>, AppError> {
    expense_page(&state, &me, &Typed::new(), None).await
}

/// The form input of a service's field in a list: `items[1].amount_pence` is `amount-3` when the
/// second item sent came from the form's fourth row (`rows`), with the fields `renamed`; the list
/// itself points at its first row's first input.
fn row_field(field: &str, list: &str, rows: &[usize], renamed: &[(&str, &str)]) -> String {
    let Some(rest) = field.strip_prefix(list).and_then(|r| r.strip_prefix('[')) else {
        return if field == list {
            format!("{}-0", if list == "items" { "kind" } else { "basis" })
        } else {
            field.to_string()
        };
    };
    let (index, name) = rest.split_once("].").unwrap_or((rest, ""));
    let row = index
        .parse::<usize>()
        .ok()
        .and_then(|i| rows.get(i).copied())
        .unwrap_or(0);
    let name = renamed
        .iter()
        .find(|(from, _)| *from == name)
        .map_or(name, |(_, to)| to);
    format!("{name}-{row}")
}

fn unreadable(what: &str, err: impl std::fmt::Display) -> AppError {
    tracing::info!(error = %err, "expense form not read");
    AppError::Invalid(vec![alongside_platform::error::FieldError::new(
        "request", what,
    )])
}

/// Miles as typed ("12.5") in tenths of a mile.
fn tenths(typed: &str) -> Option<u32> {
    let typed = typed.trim();
    let (whole, fraction) = typed.split_once('.').unwrap_or((typed, ""));
    if whole.is_empty()
        || fraction.len() > 1
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
        || whole.len() > 5
    {
        return None;
    }
    Some(whole.parse::<u32>().ok()? * 10 + fraction.parse::<u32>().unwrap_or(0))
}

async fn expense_submit(
    State(state): State<AppState>,
    me: SignedIn,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    me.require(EXPENSE_SUBMITTERS)?;
    let mut typed = Typed::new();
    let mut files: BTreeMap<usize, payments::ReceiptUpload> = BTreeMap::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| unreadable("the form could not be read", e))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if let Some(row) = name
            .strip_prefix("receipt-")
            .and_then(|r| r.parse::<usize>().ok())
        {
            let filename = field.file_name().unwrap_or_default().to_string();
            let content_type = field.content_type().unwrap_or_default().to_string();
            let content = field.bytes().await.map_err(|e| {
                unreadable(
                    "the receipt could not be read (the most is 5 MB a receipt)",
                    e,
                )
            })?;
            if !content.is_empty() {
                files.insert(
                    row,
                    payments::ReceiptUpload {
                        filename,
                        content_type,
                        content: content.to_vec(),
                    },
                );
            }
        } else {
            let value = field.text().await.unwrap_or_default();
            typed.insert(name, value);
        }
    }
    me.check_csrf(typed.get("csrf_token").map(String::as_str))?;
    let get = |k: &str| typed.get(k).cloned().unwrap_or_default();
    let mut items = Vec::new();
    // Which form row each item came from, for the errors.
    let mut rows = Vec::new();
    let mut local = Vec::new();
    for row in 0..ITEM_ROWS {
        let kind = get(&format!("kind-{row}"));
        if kind.is_empty() {
            continue;
        }
        let amount_typed = get(&format!("amount-{row}"));
        let amount = if kind == "mileage" || amount_typed.trim().is_empty() {
            0
        } else {
            crate::profile::pence(&amount_typed).unwrap_or_else(|| {
                local.push(alongside_platform::error::FieldError::new(
                    format!("amount-{row}"),
                    "enter the amount in pounds, like 6.50",
                ));
                0
            })
        };
        let miles = if kind == "mileage" {
            tenths(&get(&format!("miles-{row}"))).unwrap_or_else(|| {
                local.push(alongside_platform::error::FieldError::new(
                    format!("miles-{row}"),
                    "enter the miles, like 12.5",
                ));
                0
            })
        } else {
            0
        };
        let passengers = get(&format!("passengers-{row}"))
            .trim()
            .parse::<u32>()
            .unwrap_or(0);
        items.push(payments::ExpenseItemInput {
            kind,
            description: get(&format!("description-{row}")),
            amount_pence: amount,
            miles_tenths: miles,
            passengers,
            vehicle: get(&format!("vehicle-{row}")),
            spent_on: get(&format!("spent_on-{row}")),
            receipt: files.remove(&row),
        });
        rows.push(row);
    }
    let result = if !local.is_empty() {
        Err(AppError::Invalid(local))
    } else {
        let request = payments::SubmitExpenseClaimRequest {
            partner_id: get("partner_id"),
            opportunity_id: get("opportunity_id"),
            description: get("description"),
            items,
        };
        state
            .clients
            .payments()
            .submit_expense_claim(state.clients.request(&me.caller, request))
            .await
            .map_err(|status| {
                AppError::from(status).with_fields(|field| {
                    row_field(
                        field,
                        "items",
                        &rows,
                        &[("amount_pence", "amount"), ("miles_tenths", "miles")],
                    )
                })
            })
    };
    match result {
        Ok(made) => {
            let id = made.into_inner().claim.map(|c| c.id).unwrap_or_default();
            Ok(Redirect::to(&format!("/claims/{id}?notice=submitted")).into_response())
        }
        Err(err @ AppError::Invalid(_)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            expense_page(&state, &me, &typed, Some(&err)).await?,
        )
            .into_response()),
        Err(err) => Err(err),
    }
}

// ---- payment runs ----

fn run_value(r: &payments::PaymentRun) -> Value {
    context! {
        id => r.id, status => r.status, status_label => status_label(&r.status), up_to => r.up_to,
        claims => r.claim_count, partners => r.partner_count, total => pounds(r.total.map(|m| m.pence).unwrap_or(0)),
        reference => r.reference, created_at => r.created_at, confirmed_at => r.confirmed_at, cancelled_at => r.cancelled_at,
        draft => r.status == "draft", confirmed => r.status == "confirmed",
    }
}

async fn runs_page(
    state: &AppState,
    me: &SignedIn,
    page: Option<u32>,
    typed_up_to: &str,
    err: Option<&AppError>,
) -> Result<Html<String>, AppError> {
    me.require(FINANCE)?;
    let listed = state
        .clients
        .payments()
        .list_payment_runs(state.clients.request(
            &me.caller,
            payments::ListPaymentRunsRequest {
                page: page_request(page, 25),
                status: String::new(),
            },
        ))
        .await?
        .into_inner();
    let up_to = if typed_up_to.is_empty() {
        state.clock.today().to_string()
    } else {
        typed_up_to.to_string()
    };
    render(
        state,
        "runs.html",
        merge(
            base(me, "/payments/runs", "Payment runs"),
            context! { runs => listed.runs.iter().map(run_value).collect::<Vec<_>>(), page => page_value(listed.page), up_to => up_to, errors => err.map(errors_map).unwrap_or_default() },
        ),
    )
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<u32>,
    notice: Option<String>,
}

async fn runs(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<PageQuery>,
) -> Result<Html<String>, AppError> {
    runs_page(&state, &me, q.page, "", None).await
}

#[derive(Deserialize)]
struct RunForm {
    csrf_token: String,
    #[serde(default)]
    up_to: String,
}

async fn run_create(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<RunForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    me.require(FINANCE)?;
    let result = state
        .clients
        .payments()
        .create_payment_run(state.clients.request(
            &me.caller,
            payments::CreatePaymentRunRequest {
                up_to: form.up_to.clone(),
            },
        ))
        .await
        .map_err(AppError::from);
    match result {
        Ok(run) => {
            Ok(Redirect::to(&format!("/payments/runs/{}", run.into_inner().id)).into_response())
        }
        Err(err @ AppError::Invalid(_)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            runs_page(&state, &me, None, &form.up_to, Some(&err)).await?,
        )
            .into_response()),
        Err(err) => Err(err),
    }
}

async fn run(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Html<String>, AppError> {
    me.require(FINANCE)?;
    let detail = state
        .clients
        .payments()
        .get_payment_run(state.clients.request(
            &me.caller,
            payments::GetPaymentRunRequest {
                id: id.clone(),
                page: page_request(q.page, 50),
            },
        ))
        .await?
        .into_inner();
    let ids: Vec<String> = detail.lines.iter().map(|l| l.partner_id.clone()).collect();
    let payees = payees(&state, &me, &ids, false).await?;
    let run = detail.run.unwrap_or_default();
    let lines: Vec<Value> = detail
        .lines
        .iter()
        .map(|l| {
            let payee = payees.get(&l.partner_id);
            context! {
                partner_id => l.partner_id, partner => payee.map(|p| p.name.clone()).unwrap_or_else(|| l.partner_id.clone()),
                claims => l.claim_count, involvement => pounds(l.involvement_pence), expenses => pounds(l.expenses_pence),
                total => pounds(l.total_pence), route => l.payment_route,
                no_bank_details => l.payment_route == "bacs" && !payee.is_some_and(|p| p.bank_details_held),
            }
        })
        .collect();
    let notice = match q.notice.as_deref() {
        Some("confirmed") => Some("The run is confirmed: its claims are paid, and each partner has their remittance advice."),
        Some("cancelled") => Some("The run is cancelled: its claims are approved again, ready for the next run."),
        _ => None,
    };
    render(
        &state,
        "run.html",
        merge(
            base(
                &me,
                "/payments/runs",
                &format!("Payment run {}", run.reference),
            ),
            context! { run => run_value(&run), lines => lines, page => page_value(detail.page), notice => notice, base_path => format!("/payments/runs/{id}?") },
        ),
    )
}

async fn run_action(
    state: &AppState,
    me: &SignedIn,
    id: &str,
    csrf: &str,
    confirm: bool,
) -> Result<Response, AppError> {
    me.check_csrf(Some(csrf))?;
    me.require(FINANCE)?;
    let action = payments::PaymentRunAction { id: id.into() };
    let mut client = state.clients.payments();
    let request = state.clients.request(&me.caller, action);
    if confirm {
        client.confirm_payment_run(request).await?;
    } else {
        client.cancel_payment_run(request).await?;
    }
    let notice = if confirm { "confirmed" } else { "cancelled" };
    Ok(Redirect::to(&format!("/payments/runs/{id}?notice={notice}")).into_response())
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf_token: String,
}

async fn run_confirm(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    run_action(&state, &me, &id, &form.csrf_token, true).await
}

async fn run_cancel(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    run_action(&state, &me, &id, &form.csrf_token, false).await
}

/// Finance's payees by id, in chunks the People Bank answers.
async fn payees(
    state: &AppState,
    me: &SignedIn,
    ids: &[String],
    bank_details: bool,
) -> Result<BTreeMap<String, people::Payee>, AppError> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(1_000) {
        let found = state
            .clients
            .people()
            .get_payees(state.clients.request(
                &me.caller,
                people::GetPayeesRequest {
                    partner_ids: chunk.to_vec(),
                    include_bank_details: bank_details,
                },
            ))
            .await?
            .into_inner();
        out.extend(found.payees.into_iter().map(|p| (p.partner_id.clone(), p)));
    }
    Ok(out)
}

/// The columns of the payment file, documented in `deploy/payment-file.md`.
pub const PAYMENT_FILE_COLUMNS: &[&str] = &[
    "run_reference",
    "payment_route",
    "partner_id",
    "payee_name",
    "account_name",
    "sort_code",
    "account_number",
    "amount_pence",
    "amount",
    "payment_reference",
    "problem",
];

/// The rows of a run's payment file: one per partner, with the bank details BACS needs (revealed
/// from the People Bank for this file only, each reveal audited there).
pub(crate) async fn payment_file_rows(
    state: &AppState,
    me: &SignedIn,
    id: &str,
) -> Result<(payments::PaymentRun, Vec<Vec<String>>), AppError> {
    me.require(FINANCE)?;
    let run = state
        .clients
        .payments()
        .get_payment_run(state.clients.request(
            &me.caller,
            payments::GetPaymentRunRequest {
                id: id.into(),
                page: page_request(Some(1), 1),
            },
        ))
        .await?
        .into_inner()
        .run
        .unwrap_or_default();
    let lines = every_page(|page| async move {
        let detail = state
            .clients
            .payments()
            .get_payment_run(state.clients.request(
                &me.caller,
                payments::GetPaymentRunRequest {
                    id: id.into(),
                    page,
                },
            ))
            .await?
            .into_inner();
        Ok((detail.lines, detail.page.map(|p| p.total).unwrap_or(0)))
    })
    .await?;
    let bacs: Vec<String> = lines
        .iter()
        .filter(|l| l.payment_route == "bacs")
        .map(|l| l.partner_id.clone())
        .collect();
    let all: Vec<String> = lines.iter().map(|l| l.partner_id.clone()).collect();
    let mut found = payees(state, me, &all, false).await?;
    found.extend(payees(state, me, &bacs, true).await?);
    let rows = lines
        .into_iter()
        .map(|l| {
            let payee = found.get(&l.partner_id);
            let bank = payee.and_then(|p| p.bank_details.clone());
            let problem = if l.payment_route == "bacs" && bank.is_none() {
                "bank details not held"
            } else {
                ""
            };
            let bank = bank.unwrap_or_default();
            vec![
                run.reference.clone(),
                l.payment_route.clone(),
                l.partner_id.clone(),
                payee.map(|p| p.name.clone()).unwrap_or_default(),
                bank.account_name,
                bank.sort_code,
                bank.account_number,
                l.total_pence.to_string(),
                format!("{}.{:02}", l.total_pence / 100, l.total_pence % 100),
                run.reference.clone(),
                problem.to_string(),
            ]
        })
        .collect();
    Ok((run, rows))
}

async fn payment_file(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (run, rows) = payment_file_rows(&state, &me, &id).await?;
    csv_response(
        &format!("payment-file-{}.csv", run.reference.replace(' ', "-")),
        PAYMENT_FILE_COLUMNS,
        rows,
    )
}

async fn remittance_of(
    state: &AppState,
    me: &SignedIn,
    run: &str,
    partner: &str,
) -> Result<(payments::Remittance, String), AppError> {
    me.require(STATEMENT_READERS)?;
    let found = state
        .clients
        .payments()
        .get_remittance(state.clients.request(
            &me.caller,
            payments::GetRemittanceRequest {
                run_id: run.into(),
                partner_id: partner.into(),
            },
        ))
        .await?
        .into_inner();
    let name = names(state, me, std::slice::from_ref(&found.partner_id))
        .await
        .remove(&found.partner_id)
        .unwrap_or_else(|| found.partner_id.clone());
    Ok((found, name))
}

async fn remittance(
    State(state): State<AppState>,
    me: SignedIn,
    Path((run, partner)): Path<(String, String)>,
) -> Result<Html<String>, AppError> {
    let (found, name) = remittance_of(&state, &me, &run, &partner).await?;
    let r = found.run.clone().unwrap_or_default();
    let back = if me.caller.role == Partner {
        "/my-payments"
    } else {
        "/payments/runs"
    };
    render(
        &state,
        "remittance.html",
        merge(
            base(&me, back, "Remittance advice"),
            context! {
                run => run_value(&r), name => name, partner_id => found.partner_id, route => found.payment_route,
                claims => found.claims.iter().map(|c| claim_value(c, &BTreeMap::new())).collect::<Vec<_>>(),
                involvement => pounds(found.involvement_pence), expenses => pounds(found.expenses_pence), total => pounds(found.total_pence),
                pdf => format!("/payments/runs/{run}/remittances/{}/pdf", found.partner_id), back => back,
            },
        ),
    )
}

async fn remittance_pdf(
    State(state): State<AppState>,
    me: SignedIn,
    Path((run, partner)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (found, name) = remittance_of(&state, &me, &run, &partner).await?;
    let r = found.run.clone().unwrap_or_default();
    let mut blocks = vec![
        Block::Title("Remittance advice".into()),
        Block::Row("Paid to".into(), name),
        Block::Row("Payment reference".into(), r.reference.clone()),
        Block::Row(
            "Paid on".into(),
            r.confirmed_at.get(..10).unwrap_or_default().to_string(),
        ),
        Block::Row(
            "Paid by".into(),
            if found.payment_route == "payroll" {
                "The trust's payroll".into()
            } else {
                "Bank transfer (BACS)".into()
            },
        ),
        Block::Heading("What it is for".into()),
    ];
    for c in &found.claims {
        blocks.push(Block::Row(
            format!(
                "{} {}: {}",
                c.activity_date,
                kind_label(&c.kind),
                c.description
            ),
            pounds(c.amount.map(|m| m.pence).unwrap_or(0)),
        ));
    }
    blocks.extend([
        Block::Gap,
        Block::Row("Involvement payments".into(), pounds(found.involvement_pence)),
        Block::Row("Expenses repaid".into(), pounds(found.expenses_pence)),
        Block::Row("Total paid".into(), pounds(found.total_pence)),
        Block::Gap,
        Block::Text("Involvement payments are income for tax purposes; expenses repaid at cost are not. Keep this advice with your records.".into()),
    ]);
    Ok(pdf::response(
        &format!("remittance-{}.pdf", r.reference.replace(' ', "-")),
        pdf::render(&blocks),
    ))
}

// ---- partners' own payments and statements ----

async fn account_of(
    state: &AppState,
    me: &SignedIn,
    partner: &str,
    page: Option<u32>,
) -> Result<payments::PartnerAccount, AppError> {
    Ok(state
        .clients
        .payments()
        .get_partner_account(state.clients.request(
            &me.caller,
            payments::GetPartnerAccountRequest {
                partner_id: partner.into(),
                page: page_request(page, 25),
            },
        ))
        .await?
        .into_inner())
}

fn account_value(a: &payments::PartnerAccount, names: &BTreeMap<String, String>) -> Value {
    context! {
        partner_id => a.partner_id, route => a.payment_route, preference => a.payment_preference,
        reduced => pounds(a.reduced_amount_pence), receives_benefits => a.receives_benefits,
        awaiting => pounds(a.awaiting_approval_pence), payable => pounds(a.payable_pence), paid => pounds(a.paid_pence),
        entries => a.entries.iter().map(|e| context! { at => e.recorded_at, account => e.account.replace('_', " "), kind => e.kind, memo => e.memo, amount => pounds(e.amount_pence), claim_id => e.claim_id }).collect::<Vec<_>>(),
        remittances => a.remittances.iter().map(run_value).collect::<Vec<_>>(),
        warnings => a.warnings.iter().map(|w| warning_value(w, names)).collect::<Vec<_>>(),
    }
}

fn tax_years(today: time::Date) -> Vec<(u32, String)> {
    let this = if today
        >= time::Date::from_calendar_date(today.year(), time::Month::April, 6).unwrap_or(today)
    {
        today.year()
    } else {
        today.year() - 1
    };
    (0..3)
        .map(|back| {
            let y = (this - back) as u32;
            (y, format!("6 April {y} to 5 April {}", y + 1))
        })
        .collect()
}

async fn my_payments(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<PageQuery>,
) -> Result<Html<String>, AppError> {
    me.require(PARTNERS)?;
    let account = account_of(&state, &me, "", q.page).await?;
    let names = BTreeMap::from([(me.caller.subject.clone(), me.user.display_name.clone())]);
    render(
        &state,
        "my_payments.html",
        merge(
            base(&me, "/my-payments", "Your payments"),
            context! { account => account_value(&account, &names), page => page_value(account.page), years => tax_years(state.clock.today()), me_id => me.caller.subject },
        ),
    )
}

async fn statement_of(
    state: &AppState,
    me: &SignedIn,
    partner: &str,
    year: u32,
) -> Result<(payments::AnnualStatement, String), AppError> {
    me.require(STATEMENT_READERS)?;
    let found = state
        .clients
        .payments()
        .get_annual_statement(state.clients.request(
            &me.caller,
            payments::GetAnnualStatementRequest {
                partner_id: partner.into(),
                tax_year: year,
            },
        ))
        .await?
        .into_inner();
    let name = names(state, me, std::slice::from_ref(&found.partner_id))
        .await
        .remove(&found.partner_id)
        .unwrap_or_else(|| found.partner_id.clone());
    Ok((found, name))
}

async fn statement(
    State(state): State<AppState>,
    me: SignedIn,
    Path((partner, year)): Path<(String, u32)>,
) -> Result<Html<String>, AppError> {
    let (found, name) = statement_of(&state, &me, &partner, year).await?;
    render(
        &state,
        "statement.html",
        merge(
            base(
                &me,
                if me.caller.role == Partner {
                    "/my-payments"
                } else {
                    "/payments/runs"
                },
                "Statement of payments",
            ),
            context! {
                name => name, year => found.tax_year, next_year => found.tax_year + 1, from => found.from, to => found.to,
                claims => found.claims.iter().map(|c| claim_value(c, &BTreeMap::new())).collect::<Vec<_>>(),
                involvement => pounds(found.involvement_pence), expenses => pounds(found.expenses_pence), total => pounds(found.total_pence),
                notes => found.notes, pdf => format!("/payments/statements/{}/{}/pdf", found.partner_id, found.tax_year),
            },
        ),
    )
}

async fn statement_pdf(
    State(state): State<AppState>,
    me: SignedIn,
    Path((partner, year)): Path<(String, u32)>,
) -> Result<Response, AppError> {
    let (found, name) = statement_of(&state, &me, &partner, year).await?;
    let mut blocks = vec![
        Block::Title(format!(
            "Statement of payments {}–{}",
            found.tax_year,
            found.tax_year + 1
        )),
        Block::Row("Partner".into(), name),
        Block::Row("Tax year".into(), format!("{} to {}", found.from, found.to)),
        Block::Heading("Payments made in the tax year".into()),
    ];
    for c in &found.claims {
        blocks.push(Block::Row(
            format!(
                "Paid {}: {} {}",
                c.paid_at.get(..10).unwrap_or_default(),
                kind_label(&c.kind),
                c.description
            ),
            pounds(c.amount.map(|m| m.pence).unwrap_or(0)),
        ));
    }
    blocks.extend([
        Block::Gap,
        Block::Row(
            "Involvement payments (income)".into(),
            pounds(found.involvement_pence),
        ),
        Block::Row(
            "Expenses repaid (not income)".into(),
            pounds(found.expenses_pence),
        ),
        Block::Row("Total paid".into(), pounds(found.total_pence)),
        Block::Heading("For your tax return".into()),
    ]);
    blocks.extend(found.notes.iter().map(|n| Block::Text(n.clone())));
    Ok(pdf::response(
        &format!("statement-{}-{}.pdf", found.tax_year, found.tax_year + 1),
        pdf::render(&blocks),
    ))
}

/// Finance's view of one partner's account, where they record how the partner is paid.
async fn payee(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Html<String>, AppError> {
    me.require(PAYEE_READERS)?;
    let account = account_of(&state, &me, &id, q.page).await?;
    let names = names(&state, &me, std::slice::from_ref(&id)).await;
    let notice = match q.notice.as_deref() {
        Some("route") => Some("How they are paid is saved."),
        _ => None,
    };
    render(
        &state,
        "payee.html",
        merge(
            base(&me, "/claims", "Payments to a partner"),
            context! {
                account => account_value(&account, &names), name => names.get(&id).cloned().unwrap_or_else(|| id.clone()),
                page => page_value(account.page), can_set_route => me.caller.role == Finance, years => tax_years(state.clock.today()),
                notice => notice, id => id,
            },
        ),
    )
}

#[derive(Deserialize)]
struct RouteForm {
    csrf_token: String,
    #[serde(default)]
    payment_route: String,
}

async fn payee_route(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<RouteForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    me.require(FINANCE)?;
    state
        .clients
        .payments()
        .set_payment_route(state.clients.request(
            &me.caller,
            payments::SetPaymentRouteRequest {
                partner_id: id.clone(),
                payment_route: form.payment_route,
            },
        ))
        .await?;
    Ok(Redirect::to(&format!("/payments/partners/{id}?notice=route")).into_response())
}

// ---- rate cards ----

const RULE_ROWS: usize = 4;
const BASES: &[(&str, &str)] = &[
    ("", "No rule"),
    ("day", "A day, with a half-day rate"),
    ("hour", "By the hour"),
    ("block", "By blocks of time"),
    ("fixed", "A fixed amount"),
    ("expenses_only", "Expenses only"),
];
const RULE_LEVELS: &[(&str, &str)] = &[
    ("0", "Any level"),
    ("1", "Level 1"),
    ("2", "Level 2"),
    ("3", "Level 3"),
    ("4", "Level 4"),
];

fn rule_kinds() -> Vec<(String, String)> {
    std::iter::once((String::new(), "Any kind of work".to_string()))
        .chain(
            crate::pages::KINDS
                .iter()
                .map(|(k, l)| (k.to_string(), l.to_string())),
        )
        .collect()
}

async fn rate_cards_page(
    state: &AppState,
    me: &SignedIn,
    typed: &Typed,
    notice: Option<&str>,
    err: Option<&AppError>,
) -> Result<Html<String>, AppError> {
    me.require(RATE_CARD_READERS)?;
    let listed = state
        .clients
        .payments()
        .list_rate_cards(
            state
                .clients
                .request(&me.caller, payments::ListRateCardsRequest {}),
        )
        .await?
        .into_inner();
    let kinds = rule_kinds();
    let cards: Vec<Value> = listed
        .cards
        .iter()
        .map(|c| {
            let mileage = c.mileage.unwrap_or_default();
            context! {
                effective_from => c.effective_from, note => c.note, built_in => c.built_in, in_force => c.in_force,
                rules => c.rules.iter().map(|r| context! {
                    kind => kinds.iter().find(|(k, _)| *k == r.kind).map(|(_, l)| l.clone()).unwrap_or_else(|| r.kind.clone()),
                    level => if r.involvement_level == 0 { "Any".to_string() } else { r.involvement_level.to_string() },
                    pays => rule_words(r),
                }).collect::<Vec<_>>(),
                mileage => format!("Car {}p a mile ({}p after {} miles in a tax year), motorcycle {}p, bicycle {}p, {}p a passenger",
                    mileage.car_pence, mileage.car_after_threshold_pence, mileage.car_threshold_miles, mileage.motorcycle_pence, mileage.bicycle_pence, mileage.passenger_pence),
            }
        })
        .collect();
    render(
        state,
        "rate_cards.html",
        merge(
            base(me, "/payments/rate-cards", "Rate cards"),
            context! {
                cards => cards, can_edit => me.has_role(RATE_CARD_EDITORS), rows => (0..RULE_ROWS).collect::<Vec<_>>(),
                bases => BASES, levels => RULE_LEVELS, kinds => kinds, typed => typed, notice => notice,
                errors => err.map(errors_map).unwrap_or_default(),
            },
        ),
    )
}

fn rule_words(r: &payments::RateRule) -> String {
    match r.basis.as_str() {
        "day" => format!(
            "{} a day; {} up to {} minutes",
            pounds(r.amount_pence),
            pounds(r.half_day_pence),
            r.half_day_max_minutes
        ),
        "hour" => format!("{} an hour, to the minute", pounds(r.amount_pence)),
        "block" => format!(
            "{} for each {} minutes started",
            pounds(r.amount_pence),
            r.block_minutes
        ),
        "fixed" => format!("{} for the activity", pounds(r.amount_pence)),
        _ => "Expenses only".to_string(),
    }
}

async fn rate_cards(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<NoticeQuery>,
) -> Result<Html<String>, AppError> {
    let notice = match q.notice.as_deref() {
        Some("created") => Some("The rate card is saved. It prices activity from its date; claims already made keep their price."),
        _ => None,
    };
    rate_cards_page(&state, &me, &Typed::new(), notice, None).await
}

async fn rate_card_create(
    State(state): State<AppState>,
    me: SignedIn,
    Form(typed): Form<Typed>,
) -> Result<Response, AppError> {
    me.check_csrf(typed.get("csrf_token").map(String::as_str))?;
    let get = |k: &str| typed.get(k).cloned().unwrap_or_default();
    let mut local = Vec::new();
    let mut money = |field: String, required: bool| -> i64 {
        let value = get(&field);
        if value.trim().is_empty() && !required {
            return 0;
        }
        crate::profile::pence(&value).unwrap_or_else(|| {
            local.push(alongside_platform::error::FieldError::new(
                field,
                "enter an amount in pounds, like 150 or 11.50",
            ));
            0
        })
    };
    let mut rules = Vec::new();
    let mut rows = Vec::new();
    for row in 0..RULE_ROWS {
        let basis = get(&format!("basis-{row}"));
        if basis.is_empty() {
            continue;
        }
        let priced = basis != "expenses_only";
        rules.push(payments::RateRule {
            kind: get(&format!("kind-{row}")),
            involvement_level: get(&format!("level-{row}")).parse().unwrap_or(0),
            amount_pence: money(format!("amount-{row}"), priced),
            half_day_pence: if basis == "day" {
                money(format!("half_day-{row}"), true)
            } else {
                0
            },
            half_day_max_minutes: get(&format!("half_day_minutes-{row}"))
                .trim()
                .parse()
                .unwrap_or(0),
            block_minutes: get(&format!("block_minutes-{row}"))
                .trim()
                .parse()
                .unwrap_or(0),
            basis,
        });
        rows.push(row);
    }
    let result = if !local.is_empty() {
        Err(AppError::Invalid(local))
    } else {
        let request = payments::CreateRateCardRequest {
            effective_from: get("effective_from"),
            note: get("note"),
            rules,
            mileage: None,
        };
        state
            .clients
            .payments()
            .create_rate_card(state.clients.request(&me.caller, request))
            .await
            .map(|_| ())
            .map_err(|status| {
                AppError::from(status).with_fields(|field| {
                    row_field(
                        field,
                        "rules",
                        &rows,
                        &[
                            ("amount_pence", "amount"),
                            ("half_day_pence", "half_day"),
                            ("half_day_max_minutes", "half_day_minutes"),
                            ("involvement_level", "level"),
                        ],
                    )
                })
            })
    };
    match result {
        Ok(()) => Ok(Redirect::to("/payments/rate-cards?notice=created").into_response()),
        Err(err @ AppError::Invalid(_)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            rate_cards_page(&state, &me, &typed, None, Some(&err)).await?,
        )
            .into_response()),
        Err(err) => Err(err),
    }
}

// ---- benefits safeguards ----

const BENEFIT_PERIODS: &[(&str, &str)] = &[("week", "A week"), ("year", "A tax year")];

async fn benefits_page(
    state: &AppState,
    me: &SignedIn,
    typed: &Typed,
    notice: Option<&str>,
    err: Option<&AppError>,
) -> Result<Html<String>, AppError> {
    me.require(BENEFIT_READERS)?;
    let limits = state
        .clients
        .payments()
        .list_benefit_limits(
            state
                .clients
                .request(&me.caller, payments::ListBenefitLimitsRequest {}),
        )
        .await?
        .into_inner();
    let warnings = if me.has_role(BENEFIT_WARNING_READERS) {
        state
            .clients
            .payments()
            .list_benefit_warnings(
                state
                    .clients
                    .request(&me.caller, payments::ListBenefitWarningsRequest::default()),
            )
            .await?
            .into_inner()
            .warnings
    } else {
        Vec::new()
    };
    let ids: Vec<String> = warnings.iter().map(|w| w.partner_id.clone()).collect();
    let names = names(state, me, &ids).await;
    let benefit = |code: &str| {
        alongside_proto::BENEFITS
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, l)| *l)
            .unwrap_or("Another benefit")
    };
    let limit = |l: &payments::BenefitLimit| {
        context! {
            benefit => benefit(&l.benefit), label => l.label, period => if l.period == "week" { "a week" } else { "a tax year" },
            amount => pounds(l.amount_pence), effective_from => l.effective_from, warn_at => l.warn_at_percent, built_in => l.built_in,
        }
    };
    render(
        state,
        "benefits.html",
        merge(
            base(me, "/payments/benefits", "Benefits safeguards"),
            context! {
                in_force => limits.in_force.iter().map(limit).collect::<Vec<_>>(), all => limits.all.iter().map(limit).collect::<Vec<_>>(),
                warnings => warnings.iter().map(|w| warning_value(w, &names)).collect::<Vec<_>>(), sees_warnings => me.has_role(BENEFIT_WARNING_READERS),
                can_edit => me.has_role(RATE_CARD_EDITORS), benefit_options => alongside_proto::BENEFITS, periods => BENEFIT_PERIODS,
                typed => typed, notice => notice, errors => err.map(errors_map).unwrap_or_default(),
            },
        ),
    )
}

async fn benefits(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<NoticeQuery>,
) -> Result<Html<String>, AppError> {
    let notice = match q.notice.as_deref() {
        Some("saved") => Some("The limit is saved and applies from its date."),
        _ => None,
    };
    benefits_page(&state, &me, &Typed::new(), notice, None).await
}

async fn benefit_limit_set(
    State(state): State<AppState>,
    me: SignedIn,
    Form(typed): Form<Typed>,
) -> Result<Response, AppError> {
    me.require(RATE_CARD_EDITORS)?;
    me.check_csrf(typed.get("csrf_token").map(String::as_str))?;
    let get = |k: &str| typed.get(k).cloned().unwrap_or_default();
    let result = match crate::profile::pence(&get("amount")) {
        None => Err(AppError::Invalid(vec![
            alongside_platform::error::FieldError::new(
                "amount",
                "enter the limit in pounds, like 195.50",
            ),
        ])),
        Some(amount) => {
            let request = payments::SetBenefitLimitRequest {
                benefit: get("benefit"),
                label: get("label"),
                period: get("period"),
                amount_pence: amount,
                effective_from: get("effective_from"),
                warn_at_percent: get("warn_at_percent").trim().parse().unwrap_or(0),
            };
            state
                .clients
                .payments()
                .set_benefit_limit(state.clients.request(&me.caller, request))
                .await
                .map(|_| ())
                .map_err(|s| {
                    AppError::from(s).with_fields(|f| {
                        if f == "amount_pence" {
                            "amount".into()
                        } else {
                            f.to_string()
                        }
                    })
                })
        }
    };
    match result {
        Ok(()) => Ok(Redirect::to("/payments/benefits?notice=saved").into_response()),
        Err(err @ AppError::Invalid(_)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            benefits_page(&state, &me, &typed, None, Some(&err)).await?,
        )
            .into_response()),
        Err(err) => Err(err),
    }
}

// ---- involvement spend ----

#[derive(Deserialize, Default)]
struct BudgetQuery {
    #[serde(default)]
    group_by: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    basis: String,
}

const GROUPS: &[(&str, &str)] = &[
    ("month", "Month"),
    ("pathway", "Pathway"),
    ("kind", "Kind of work"),
    ("cost_centre", "Cost centre"),
];
/// The groupings a user may ask for: readers of figures and an ICS's users are not offered
/// cost centres, which are typed rather than listed (payments refuses them).
fn groups_for(protected: bool) -> Vec<(&'static str, &'static str)> {
    GROUPS
        .iter()
        .copied()
        .filter(|(group, _)| !protected || *group != "cost_centre")
        .collect()
}

const BASES_OF_SPEND: &[(&str, &str)] = &[
    ("committed", "Approved, in a run or paid"),
    ("paid", "Paid only"),
];

/// Spend as payments publishes it: each trust's, and for a user of an ICB the ICS's too.
pub(crate) struct SpendByTrust {
    /// (code, name, figures) of each trust.
    pub trusts: Vec<(String, String, payments::TrustSpend)>,
    /// The ICS's figures, for a user of an ICB.
    pub ics: Option<payments::TrustSpend>,
    pub group_by: String,
    /// The activity dates answered (whole months for readers of figures).
    pub covered: DateRange,
}

/// One trust's spend, or for a user of an ICB, each member trust's and the ICS's, asked of
/// payments at once so that it protects them together.
pub(crate) async fn spend_by_trust(
    state: &AppState,
    me: &SignedIn,
    mut request: payments::SpendReportRequest,
) -> Result<SpendByTrust, AppError> {
    me.require(SPEND_READERS)?;
    let members = crate::store::tenant::members(&state.db, me.caller.tenant.as_str()).await?;
    request.trusts = members.iter().map(|(code, _)| code.clone()).collect();
    let report = state
        .clients
        .payments()
        .spend_report(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    let covered = report.covered.clone().unwrap_or_default();
    let (trusts, ics) = if members.is_empty() {
        let own = payments::TrustSpend {
            trust: me.caller.tenant.to_string(),
            rows: report.rows,
            total: report.total,
        };
        (vec![(own.trust.clone(), String::new(), own)], None)
    } else {
        let names: BTreeMap<String, String> = members.into_iter().collect();
        let trusts = report
            .trusts
            .into_iter()
            .map(|t| {
                (
                    t.trust.clone(),
                    names.get(&t.trust).cloned().unwrap_or_default(),
                    t,
                )
            })
            .collect();
        let ics = payments::TrustSpend {
            trust: me.caller.tenant.to_string(),
            rows: report.rows,
            total: report.total,
        };
        (trusts, Some(ics))
    };
    Ok(SpendByTrust {
        trusts,
        ics,
        group_by: report.group_by,
        covered,
    })
}

fn spend_request(q: &BudgetQuery) -> payments::SpendReportRequest {
    payments::SpendReportRequest {
        group_by: if q.group_by.is_empty() {
            "month".into()
        } else {
            q.group_by.clone()
        },
        activity: Some(DateRange {
            from: q.from.clone(),
            to: q.to.clone(),
        }),
        basis: q.basis.clone(),
        trusts: Vec::new(),
    }
}

fn spend_cells(row: &payments::SpendRow) -> Value {
    context! {
        key => row.key, suppressed => row.suppressed, claims => row.claim_count, partners => row.partner_count,
        involvement => pounds(row.involvement_pence), expenses => pounds(row.expenses_pence), total => pounds(row.total_pence),
    }
}

async fn budget(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<BudgetQuery>,
) -> Result<Response, AppError> {
    let reports = match spend_by_trust(&state, &me, spend_request(&q)).await {
        Ok(reports) => reports,
        Err(err @ AppError::Invalid(_)) => {
            let html = render(
                &state,
                "budget.html",
                merge(
                    base(&me, "/payments/budget", "Involvement spend"),
                    context! { trusts => Vec::<Value>::new(), groups => groups_for(me.caller.role.reads_figures_only()), bases => BASES_OF_SPEND, q => context! { group_by => q.group_by, from => q.from, to => q.to, basis => q.basis }, errors => errors_map(&err) },
                ),
            )?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
        }
        Err(err) => return Err(err),
    };
    let ics_total = reports
        .ics
        .as_ref()
        .and_then(|ics| ics.total.as_ref())
        .map(spend_cells);
    let trusts: Vec<Value> = reports
        .trusts
        .iter()
        .map(|(code, name, r)| context! { code => code, name => name, rows => r.rows.iter().map(spend_cells).collect::<Vec<_>>(), total => r.total.as_ref().map(spend_cells) })
        .collect();
    let query = format!(
        "group_by={}&from={}&to={}&basis={}",
        urlencoding::encode(&q.group_by),
        urlencoding::encode(&q.from),
        urlencoding::encode(&q.to),
        urlencoding::encode(&q.basis)
    );
    Ok(render(
        &state,
        "budget.html",
        merge(
            base(&me, "/payments/budget", "Involvement spend"),
            context! {
                trusts => trusts, rolled_up => reports.ics.is_some(), ics_total => ics_total, groups => groups_for(me.caller.role.reads_figures_only() || reports.ics.is_some()), bases => BASES_OF_SPEND,
                covered => context! { from => reports.covered.from, to => reports.covered.to },
                q => context! { group_by => if q.group_by.is_empty() { "month" } else { q.group_by.as_str() }, from => q.from, to => q.to, basis => q.basis },
                query => query, suppressed_view => me.caller.role.reads_figures_only() || reports.ics.is_some(), errors => BTreeMap::<String, String>::new(),
            },
        ),
    )?
    .into_response())
}

async fn budget_csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<BudgetQuery>,
) -> Result<Response, AppError> {
    let reports = spend_by_trust(&state, &me, spend_request(&q)).await?;
    let mut rows = Vec::new();
    let ics = reports.ics.iter().map(|ics| ("ICS", ics));
    let trusts = reports.trusts.iter().map(|(code, _, t)| (code.as_str(), t));
    for (code, figures) in trusts.chain(ics) {
        for row in figures.rows.iter().chain(figures.total.iter()) {
            let hidden = |x: String| if row.suppressed { String::new() } else { x };
            rows.push(vec![
                if code == "ICS" {
                    me.caller.tenant.to_string()
                } else {
                    code.to_string()
                },
                reports.group_by.clone(),
                if code == "ICS" {
                    format!("ICS {}", row.key)
                } else {
                    row.key.clone()
                },
                hidden(row.claim_count.to_string()),
                hidden(row.involvement_pence.to_string()),
                hidden(row.expenses_pence.to_string()),
                hidden(row.total_pence.to_string()),
                if row.suppressed {
                    "suppressed".into()
                } else {
                    String::new()
                },
            ]);
        }
    }
    csv_response(
        "involvement-spend.csv",
        &[
            "trust",
            "group_by",
            "group",
            "claims",
            "involvement_pence",
            "expenses_pence",
            "total_pence",
            "note",
        ],
        rows,
    )
}

async fn ledger(State(state): State<AppState>, me: SignedIn) -> Result<Html<String>, AppError> {
    me.require(LEDGER_READERS)?;
    let check = state
        .clients
        .payments()
        .check_ledger(
            state
                .clients
                .request(&me.caller, payments::CheckLedgerRequest {}),
        )
        .await?
        .into_inner();
    render(
        &state,
        "ledger.html",
        merge(
            base(&me, "/payments/runs", "Ledger"),
            context! {
                balanced => check.balanced, journals => check.journals, entries => check.entries, unbalanced => check.unbalanced_journals,
                accounts => check.accounts.iter().map(|a| context! { account => a.account.replace('_', " "), balance => pounds(a.balance_pence) }).collect::<Vec<_>>(),
            },
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fields_error_lands_on_its_form_row() {
        let renamed = [("amount_pence", "amount")];
        assert_eq!(
            row_field("items[1].amount_pence", "items", &[0, 3], &renamed),
            "amount-3"
        );
        assert_eq!(
            row_field("items[0].receipt", "items", &[2], &renamed),
            "receipt-2"
        );
        assert_eq!(row_field("items", "items", &[2], &renamed), "kind-0");
        assert_eq!(row_field("rules", "rules", &[], &[]), "basis-0");
        assert_eq!(
            row_field("partner_id", "items", &[], &renamed),
            "partner_id"
        );
    }

    #[test]
    fn miles_are_read_to_a_tenth() {
        assert_eq!(tenths("12.5"), Some(125));
        assert_eq!(tenths("3"), Some(30));
        assert_eq!(tenths("1.25"), None);
        assert_eq!(tenths("ten"), None);
        assert_eq!(tenths(""), None);
    }
}
