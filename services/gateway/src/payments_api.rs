//! The payments part of the JSON API: claims, expense claims, decisions, rate cards, payment runs
//! with their payment file, partners' accounts and statements, benefits warnings, spend and the
//! ledger check. Money is integer pence.

use alongside_proto::common::v1::DateRange;
use alongside_proto::payments::v1 as payments;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::{csrf, ApiResult, Page};
use crate::error::{ApiError, AppError, ErrorBody};
use crate::session::SignedIn;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/claims", get(list_claims))
        .route("/api/v1/claims/decisions", post(decide_claims))
        .route("/api/v1/claims/{id}", get(get_claim))
        .route(
            "/api/v1/expense-claims",
            // As the page's form: 32 MB of receipts, here base64-encoded (four bytes for three).
            post(submit_expense_claim)
                .layer(axum::extract::DefaultBodyLimit::max(44 * 1024 * 1024)),
        )
        .route(
            "/api/v1/rate-cards",
            get(list_rate_cards).post(create_rate_card),
        )
        .route(
            "/api/v1/payment-runs",
            get(list_payment_runs).post(create_payment_run),
        )
        .route("/api/v1/payment-runs/{id}", get(get_payment_run))
        .route(
            "/api/v1/payment-runs/{id}/confirm",
            post(confirm_payment_run),
        )
        .route("/api/v1/payment-runs/{id}/cancel", post(cancel_payment_run))
        .route("/api/v1/payment-runs/{id}/payment-file", get(payment_file))
        .route("/api/v1/partners/{id}/payments", get(partner_account))
        .route(
            "/api/v1/partners/{id}/statements/{year}",
            get(annual_statement),
        )
        .route("/api/v1/benefit-warnings", get(benefit_warnings))
        .route("/api/v1/spend", get(spend_report))
        .route("/api/v1/ledger/check", get(check_ledger))
}

#[derive(Serialize, ToSchema)]
pub struct ClaimBody {
    id: String,
    partner_id: String,
    /// attendance, expenses or adjustment.
    kind: String,
    /// The attendance it pays for; empty for expenses.
    attendance_id: String,
    opportunity_id: String,
    activity_date: String,
    minutes: u32,
    description: String,
    /// How it was priced: day, half_day, hour, block, fixed, expenses_only, declined, expenses, adjustment.
    rate_basis: String,
    involvement_pence: i64,
    expenses_pence: i64,
    /// Involvement plus expenses, in pence.
    amount_pence: i64,
    /// awaiting_approval, approved, rejected, in_run, paid, no_payment, withdrawn.
    status: String,
    decision_reason: String,
    decided_at: String,
    run_id: String,
    paid_at: String,
    pathway: String,
    activity_kind: String,
    cost_centre: String,
    adjusts_claim_id: String,
    created_at: String,
}

impl From<payments::Claim> for ClaimBody {
    fn from(c: payments::Claim) -> Self {
        Self {
            amount_pence: c.amount.map(|m| m.pence).unwrap_or(0),
            id: c.id,
            partner_id: c.partner_id,
            kind: c.kind,
            attendance_id: c.attendance_id,
            opportunity_id: c.opportunity_id,
            activity_date: c.activity_date,
            minutes: c.minutes,
            description: c.description,
            rate_basis: c.rate_basis,
            involvement_pence: c.involvement_pence,
            expenses_pence: c.expenses_pence,
            status: c.status,
            decision_reason: c.decision_reason,
            decided_at: c.decided_at,
            run_id: c.run_id,
            paid_at: c.paid_at,
            pathway: c.pathway,
            activity_kind: c.activity_kind,
            cost_centre: c.cost_centre,
            adjusts_claim_id: c.adjusts_claim_id,
            created_at: c.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ClaimList {
    items: Vec<ClaimBody>,
    page: Page,
    /// The sum of every claim the filter matches, in pence.
    total_pence: i64,
}

#[derive(Deserialize, IntoParams)]
pub struct ClaimParams {
    page: Option<u32>,
    page_size: Option<u32>,
    /// -created_at (default), created_at, activity_date, -activity_date, amount, -amount.
    #[serde(default)]
    sort: String,
    #[serde(default)]
    status: String,
    /// attendance, expenses or adjustment.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    partner_id: String,
    /// Activity dates from (YYYY-MM-DD).
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn page(page: Option<u32>, size: Option<u32>) -> Option<alongside_proto::common::v1::PageRequest> {
    Some(alongside_proto::common::v1::PageRequest {
        page: page.unwrap_or(1),
        page_size: size.unwrap_or(25),
    })
}

/// Claims the caller may see: a partner their own, staff those they entered, finance and leads
/// their trust's.
#[utoipa::path(get, path = "/api/v1/claims", params(ClaimParams), responses((status = 200, body = ClaimList), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_claims(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ClaimParams>,
) -> ApiResult<Json<ClaimList>> {
    let request = payments::ListClaimsRequest {
        page: page(q.page, q.page_size),
        partner_id: q.partner_id,
        status: q.status,
        kind: q.kind,
        activity: Some(DateRange {
            from: q.from,
            to: q.to,
        }),
        sort: q.sort,
    };
    let listed = state
        .clients
        .payments()
        .list_claims(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok(Json(ClaimList {
        total_pence: listed.total.map(|m| m.pence).unwrap_or(0),
        items: listed.claims.into_iter().map(Into::into).collect(),
        page: listed.page.into(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ExpenseItemBody {
    kind: String,
    description: String,
    amount_pence: i64,
    miles_tenths: u32,
    passengers: u32,
    vehicle: String,
    spent_on: String,
    receipt_id: String,
    /// How mileage was worked out.
    working: String,
}

#[derive(Serialize, ToSchema)]
pub struct WarningBody {
    partner_id: String,
    benefit: String,
    limit_label: String,
    /// week or year.
    period: String,
    period_start: String,
    limit_pence: i64,
    counted_pence: i64,
    /// approaching or over.
    level: String,
    message: String,
}

impl From<payments::BenefitWarning> for WarningBody {
    fn from(w: payments::BenefitWarning) -> Self {
        Self {
            partner_id: w.partner_id,
            benefit: w.benefit,
            limit_label: w.limit_label,
            period: w.period,
            period_start: w.period_start,
            limit_pence: w.limit_pence,
            counted_pence: w.counted_pence,
            level: w.level,
            message: w.message,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LedgerEntryBody {
    journal_id: String,
    account: String,
    partner_id: String,
    claim_id: String,
    run_id: String,
    /// Debits positive, credits negative.
    amount_pence: i64,
    kind: String,
    recorded_at: String,
}

impl From<payments::LedgerEntry> for LedgerEntryBody {
    fn from(e: payments::LedgerEntry) -> Self {
        Self {
            journal_id: e.journal_id,
            account: e.account,
            partner_id: e.partner_id,
            claim_id: e.claim_id,
            run_id: e.run_id,
            amount_pence: e.amount_pence,
            kind: e.kind,
            recorded_at: e.recorded_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ClaimDetailBody {
    claim: ClaimBody,
    items: Vec<ExpenseItemBody>,
    /// Receipt ids and file names (download them from the claim's page).
    receipts: Vec<(String, String)>,
    history: Vec<(String, String, String)>,
    ledger: Vec<LedgerEntryBody>,
    warnings: Vec<WarningBody>,
    can_decide: bool,
    cannot_decide_because: String,
}

impl From<payments::ClaimDetail> for ClaimDetailBody {
    fn from(d: payments::ClaimDetail) -> Self {
        Self {
            claim: d.claim.unwrap_or_default().into(),
            items: d
                .items
                .into_iter()
                .map(|i| ExpenseItemBody {
                    kind: i.kind,
                    description: i.description,
                    amount_pence: i.amount_pence,
                    miles_tenths: i.miles_tenths,
                    passengers: i.passengers,
                    vehicle: i.vehicle,
                    spent_on: i.spent_on,
                    receipt_id: i.receipt_id,
                    working: i.working,
                })
                .collect(),
            receipts: d.receipts.into_iter().map(|r| (r.id, r.filename)).collect(),
            history: d
                .history
                .into_iter()
                .map(|h| (h.at, h.what, h.detail))
                .collect(),
            ledger: d.ledger.into_iter().map(Into::into).collect(),
            warnings: d.warnings.into_iter().map(Into::into).collect(),
            can_decide: d.can_decide,
            cannot_decide_because: d.cannot_decide_because,
        }
    }
}

/// One claim with its items, receipts, history, ledger entries and benefits warnings.
#[utoipa::path(get, path = "/api/v1/claims/{id}", params(("id" = String, Path)), responses((status = 200, body = ClaimDetailBody), (status = 404, body = ErrorBody)))]
pub async fn get_claim(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<ClaimDetailBody>> {
    let detail = state
        .clients
        .payments()
        .get_claim(
            state
                .clients
                .request(&me.caller, payments::GetClaimRequest { id }),
        )
        .await?
        .into_inner();
    Ok(Json(detail.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct ReceiptBody {
    filename: String,
    /// application/pdf, image/jpeg, image/png or image/heic.
    content_type: String,
    /// The file, base64-encoded; 5 MB at most.
    content_base64: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ExpenseItemInputBody {
    /// travel, parking, carer, subsistence, mileage, other.
    kind: String,
    #[serde(default)]
    description: String,
    /// At cost, in pence (not for mileage, which is worked out).
    #[serde(default)]
    amount_pence: i64,
    /// Mileage: tenths of a mile (12.5 miles is 125).
    #[serde(default)]
    miles_tenths: u32,
    #[serde(default)]
    passengers: u32,
    /// car, motorcycle or bicycle.
    #[serde(default)]
    vehicle: String,
    /// YYYY-MM-DD
    spent_on: String,
    /// Every item but mileage needs one.
    receipt: Option<ReceiptBody>,
}

#[derive(Deserialize, ToSchema)]
pub struct ExpenseClaimBody {
    /// The partner claimed for (a partner may leave it out: themself).
    #[serde(default)]
    partner_id: String,
    /// The opportunity the expenses were for, if any.
    #[serde(default)]
    opportunity_id: String,
    #[serde(default)]
    description: String,
    items: Vec<ExpenseItemInputBody>,
}

/// Claim expenses (the partner, or staff for them): every problem is named by item and field.
#[utoipa::path(post, path = "/api/v1/expense-claims", request_body = ExpenseClaimBody,
    responses((status = 201, body = ClaimDetailBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn submit_expense_claim(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Json(b): Json<ExpenseClaimBody>,
) -> ApiResult<(StatusCode, Json<ClaimDetailBody>)> {
    csrf(&me, &headers)?;
    let mut items = Vec::new();
    for (i, item) in b.items.into_iter().enumerate() {
        let receipt = match item.receipt {
            None => None,
            Some(r) => Some(payments::ReceiptUpload {
                filename: r.filename,
                content_type: r.content_type,
                content: base64::engine::general_purpose::STANDARD
                    .decode(r.content_base64.trim())
                    .map_err(|_| {
                        ApiError(AppError::Invalid(vec![
                            alongside_platform::error::FieldError::new(
                                format!("items[{i}].receipt"),
                                "content_base64 is not base64",
                            ),
                        ]))
                    })?,
            }),
        };
        items.push(payments::ExpenseItemInput {
            kind: item.kind,
            description: item.description,
            amount_pence: item.amount_pence,
            miles_tenths: item.miles_tenths,
            passengers: item.passengers,
            vehicle: item.vehicle,
            spent_on: item.spent_on,
            receipt,
        });
    }
    let request = payments::SubmitExpenseClaimRequest {
        partner_id: b.partner_id,
        opportunity_id: b.opportunity_id,
        description: b.description,
        items,
    };
    let made = state
        .clients
        .payments()
        .submit_expense_claim(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(made.into())))
}

#[derive(Deserialize, ToSchema)]
pub struct DecisionBody {
    claim_ids: Vec<String>,
    /// approve or reject.
    decision: String,
    /// Required to reject: the partner sees it.
    #[serde(default)]
    reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionsBody {
    decided: Vec<ClaimBody>,
    /// (claim id, why it was not decided).
    refused: Vec<(String, String)>,
}

/// Finance approve or reject claims: never one they entered, never one already decided.
#[utoipa::path(post, path = "/api/v1/claims/decisions", request_body = DecisionBody,
    responses((status = 200, body = DecisionsBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn decide_claims(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Json(b): Json<DecisionBody>,
) -> ApiResult<Json<DecisionsBody>> {
    csrf(&me, &headers)?;
    let request = payments::DecideClaimsRequest {
        claim_ids: b.claim_ids,
        decision: b.decision,
        reason: b.reason,
    };
    let answer = state
        .clients
        .payments()
        .decide_claims(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok(Json(DecisionsBody {
        decided: answer.decided.into_iter().map(Into::into).collect(),
        refused: answer
            .refused
            .into_iter()
            .map(|r| (r.claim_id, r.reason))
            .collect(),
    }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RateRuleBody {
    /// Empty: any kind of work.
    #[serde(default)]
    kind: String,
    /// 0: any involvement level.
    #[serde(default)]
    involvement_level: u32,
    /// day, hour, block, fixed or expenses_only.
    basis: String,
    #[serde(default)]
    amount_pence: i64,
    #[serde(default)]
    half_day_pence: i64,
    #[serde(default)]
    half_day_max_minutes: u32,
    #[serde(default)]
    block_minutes: u32,
}

#[derive(Serialize, ToSchema)]
pub struct RateCardBody {
    /// Empty for the built-in default.
    id: String,
    effective_from: String,
    note: String,
    rules: Vec<RateRuleBody>,
    built_in: bool,
    in_force: bool,
}

impl From<payments::RateCard> for RateCardBody {
    fn from(c: payments::RateCard) -> Self {
        Self {
            id: c.id,
            effective_from: c.effective_from,
            note: c.note,
            rules: c
                .rules
                .into_iter()
                .map(|r| RateRuleBody {
                    kind: r.kind,
                    involvement_level: r.involvement_level,
                    basis: r.basis,
                    amount_pence: r.amount_pence,
                    half_day_pence: r.half_day_pence,
                    half_day_max_minutes: r.half_day_max_minutes,
                    block_minutes: r.block_minutes,
                })
                .collect(),
            built_in: c.built_in,
            in_force: c.in_force,
        }
    }
}

/// The trust's rate cards, newest first, and the built-in default.
#[utoipa::path(get, path = "/api/v1/rate-cards", responses((status = 200, body = Vec<RateCardBody>)))]
pub async fn list_rate_cards(
    State(state): State<AppState>,
    me: SignedIn,
) -> ApiResult<Json<Vec<RateCardBody>>> {
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
    Ok(Json(listed.cards.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateRateCardBody {
    /// YYYY-MM-DD: prices activity from this date; claims already made keep their price.
    effective_from: String,
    #[serde(default)]
    note: String,
    /// Must include a rule for any kind and any level.
    rules: Vec<RateRuleBody>,
}

/// A new version of the trust's rate card (finance or admin), with HMRC mileage rates.
#[utoipa::path(post, path = "/api/v1/rate-cards", request_body = CreateRateCardBody,
    responses((status = 201, body = RateCardBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_rate_card(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Json(b): Json<CreateRateCardBody>,
) -> ApiResult<(StatusCode, Json<RateCardBody>)> {
    csrf(&me, &headers)?;
    let request = payments::CreateRateCardRequest {
        effective_from: b.effective_from,
        note: b.note,
        rules: b
            .rules
            .into_iter()
            .map(|r| payments::RateRule {
                kind: r.kind,
                involvement_level: r.involvement_level,
                basis: r.basis,
                amount_pence: r.amount_pence,
                half_day_pence: r.half_day_pence,
                half_day_max_minutes: r.half_day_max_minutes,
                block_minutes: r.block_minutes,
            })
            .collect(),
        mileage: None,
    };
    let made = state
        .clients
        .payments()
        .create_rate_card(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(made.into())))
}

#[derive(Serialize, ToSchema)]
pub struct PaymentRunBody {
    id: String,
    /// draft, confirmed or cancelled.
    status: String,
    up_to: String,
    claim_count: u64,
    partner_count: u64,
    total_pence: i64,
    reference: String,
    created_at: String,
    confirmed_at: String,
    cancelled_at: String,
}

impl From<payments::PaymentRun> for PaymentRunBody {
    fn from(r: payments::PaymentRun) -> Self {
        Self {
            total_pence: r.total.map(|m| m.pence).unwrap_or(0),
            id: r.id,
            status: r.status,
            up_to: r.up_to,
            claim_count: r.claim_count,
            partner_count: r.partner_count,
            reference: r.reference,
            created_at: r.created_at,
            confirmed_at: r.confirmed_at,
            cancelled_at: r.cancelled_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PaymentRunList {
    items: Vec<PaymentRunBody>,
    page: Page,
}

#[derive(Deserialize, IntoParams)]
pub struct PageParams {
    page: Option<u32>,
    page_size: Option<u32>,
}

/// Payment runs, newest first (finance).
#[utoipa::path(get, path = "/api/v1/payment-runs", params(PageParams), responses((status = 200, body = PaymentRunList), (status = 403, body = ErrorBody)))]
pub async fn list_payment_runs(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<PageParams>,
) -> ApiResult<Json<PaymentRunList>> {
    let listed = state
        .clients
        .payments()
        .list_payment_runs(state.clients.request(
            &me.caller,
            payments::ListPaymentRunsRequest {
                page: page(q.page, q.page_size),
                status: String::new(),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(PaymentRunList {
        items: listed.runs.into_iter().map(Into::into).collect(),
        page: listed.page.into(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateRunBody {
    /// Approved claims for activity up to this day (YYYY-MM-DD) go into the run.
    up_to: String,
}

/// Draft a payment run: approved, unpaid claims up to a date are held for it.
#[utoipa::path(post, path = "/api/v1/payment-runs", request_body = CreateRunBody,
    responses((status = 201, body = PaymentRunBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_payment_run(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Json(b): Json<CreateRunBody>,
) -> ApiResult<(StatusCode, Json<PaymentRunBody>)> {
    csrf(&me, &headers)?;
    let run = state
        .clients
        .payments()
        .create_payment_run(state.clients.request(
            &me.caller,
            payments::CreatePaymentRunRequest { up_to: b.up_to },
        ))
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(run.into())))
}

#[derive(Serialize, ToSchema)]
pub struct RunLineBody {
    partner_id: String,
    claim_count: u64,
    involvement_pence: i64,
    expenses_pence: i64,
    total_pence: i64,
    /// bacs or payroll.
    payment_route: String,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentRunDetailBody {
    run: PaymentRunBody,
    lines: Vec<RunLineBody>,
    page: Page,
}

/// A run and what each partner is paid in it.
#[utoipa::path(get, path = "/api/v1/payment-runs/{id}", params(("id" = String, Path), PageParams), responses((status = 200, body = PaymentRunDetailBody), (status = 404, body = ErrorBody)))]
pub async fn get_payment_run(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<PageParams>,
) -> ApiResult<Json<PaymentRunDetailBody>> {
    let detail = state
        .clients
        .payments()
        .get_payment_run(state.clients.request(
            &me.caller,
            payments::GetPaymentRunRequest {
                id,
                page: page(q.page, q.page_size),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(PaymentRunDetailBody {
        run: detail.run.unwrap_or_default().into(),
        lines: detail
            .lines
            .into_iter()
            .map(|l| RunLineBody {
                partner_id: l.partner_id,
                claim_count: l.claim_count,
                involvement_pence: l.involvement_pence,
                expenses_pence: l.expenses_pence,
                total_pence: l.total_pence,
                payment_route: l.payment_route,
            })
            .collect(),
        page: detail.page.into(),
    }))
}

/// Confirm a draft run: its claims are paid, once.
#[utoipa::path(post, path = "/api/v1/payment-runs/{id}/confirm", params(("id" = String, Path)),
    responses((status = 200, body = PaymentRunBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn confirm_payment_run(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<PaymentRunBody>> {
    csrf(&me, &headers)?;
    let run = state
        .clients
        .payments()
        .confirm_payment_run(
            state
                .clients
                .request(&me.caller, payments::PaymentRunAction { id }),
        )
        .await?
        .into_inner();
    Ok(Json(run.into()))
}

/// Cancel a draft run: its claims are approved again, for the next run.
#[utoipa::path(post, path = "/api/v1/payment-runs/{id}/cancel", params(("id" = String, Path)),
    responses((status = 200, body = PaymentRunBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel_payment_run(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<PaymentRunBody>> {
    csrf(&me, &headers)?;
    let run = state
        .clients
        .payments()
        .cancel_payment_run(
            state
                .clients
                .request(&me.caller, payments::PaymentRunAction { id }),
        )
        .await?
        .into_inner();
    Ok(Json(run.into()))
}

/// The run's payment file: CSV in the layout of `deploy/payment-file.md`, one row a partner, with
/// the bank details BACS needs (each reveal audited by the People Bank).
#[utoipa::path(get, path = "/api/v1/payment-runs/{id}/payment-file", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn payment_file(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (run, rows) = crate::payments::payment_file_rows(&state, &me, &id).await?;
    Ok(crate::pages::csv_response(
        &format!("payment-file-{}.csv", run.reference.replace(' ', "-")),
        crate::payments::PAYMENT_FILE_COLUMNS,
        rows,
    )?)
}

#[derive(Serialize, ToSchema)]
pub struct PartnerAccountBody {
    partner_id: String,
    /// bacs or payroll.
    payment_route: String,
    awaiting_approval_pence: i64,
    payable_pence: i64,
    paid_pence: i64,
    entries: Vec<LedgerEntryBody>,
    page: Page,
    /// Confirmed runs that paid them.
    remittances: Vec<PaymentRunBody>,
    warnings: Vec<WarningBody>,
}

/// A partner's balances, ledger entries, remittances and benefits warnings (a partner: their own).
#[utoipa::path(get, path = "/api/v1/partners/{id}/payments", params(("id" = String, Path), PageParams), responses((status = 200, body = PartnerAccountBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn partner_account(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<PageParams>,
) -> ApiResult<Json<PartnerAccountBody>> {
    let a = state
        .clients
        .payments()
        .get_partner_account(state.clients.request(
            &me.caller,
            payments::GetPartnerAccountRequest {
                partner_id: id,
                page: page(q.page, q.page_size),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(PartnerAccountBody {
        partner_id: a.partner_id,
        payment_route: a.payment_route,
        awaiting_approval_pence: a.awaiting_approval_pence,
        payable_pence: a.payable_pence,
        paid_pence: a.paid_pence,
        entries: a.entries.into_iter().map(Into::into).collect(),
        page: a.page.into(),
        remittances: a.remittances.into_iter().map(Into::into).collect(),
        warnings: a.warnings.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct StatementBody {
    partner_id: String,
    tax_year: u32,
    from: String,
    to: String,
    claims: Vec<ClaimBody>,
    /// Income for tax purposes.
    involvement_pence: i64,
    /// Repaid at cost: not income.
    expenses_pence: i64,
    total_pence: i64,
    notes: Vec<String>,
}

/// What a partner was paid in the tax year starting 6 April of `year`.
#[utoipa::path(get, path = "/api/v1/partners/{id}/statements/{year}", params(("id" = String, Path), ("year" = u32, Path)),
    responses((status = 200, body = StatementBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn annual_statement(
    State(state): State<AppState>,
    me: SignedIn,
    Path((id, year)): Path<(String, u32)>,
) -> ApiResult<Json<StatementBody>> {
    let s = state
        .clients
        .payments()
        .get_annual_statement(state.clients.request(
            &me.caller,
            payments::GetAnnualStatementRequest {
                partner_id: id,
                tax_year: year,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(StatementBody {
        partner_id: s.partner_id,
        tax_year: s.tax_year,
        from: s.from,
        to: s.to,
        claims: s.claims.into_iter().map(Into::into).collect(),
        involvement_pence: s.involvement_pence,
        expenses_pence: s.expenses_pence,
        total_pence: s.total_pence,
        notes: s.notes,
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct WarningParams {
    #[serde(default)]
    partner_id: String,
    /// The day to look from (default today).
    #[serde(default)]
    on: String,
}

/// Partners on benefits whose involvement payments near a limit (a partner: their own).
#[utoipa::path(get, path = "/api/v1/benefit-warnings", params(WarningParams), responses((status = 200, body = Vec<WarningBody>), (status = 403, body = ErrorBody)))]
pub async fn benefit_warnings(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<WarningParams>,
) -> ApiResult<Json<Vec<WarningBody>>> {
    let found = state
        .clients
        .payments()
        .list_benefit_warnings(state.clients.request(
            &me.caller,
            payments::ListBenefitWarningsRequest {
                partner_id: q.partner_id,
                on: q.on,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(found.warnings.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, IntoParams)]
pub struct SpendParams {
    /// month (default), pathway, kind or cost_centre.
    #[serde(default)]
    group_by: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// committed (default) or paid.
    #[serde(default)]
    basis: String,
}

#[derive(Serialize, ToSchema)]
pub struct SpendRowBody {
    key: String,
    claim_count: u64,
    partner_count: u64,
    involvement_pence: i64,
    expenses_pence: i64,
    total_pence: i64,
    /// Hidden from readers of figures: 1 to 4 partners, or what would give such a figure back
    /// (its counts and amounts are zero here).
    suppressed: bool,
}

#[derive(Serialize, ToSchema)]
pub struct TrustSpendBody {
    trust: String,
    rows: Vec<SpendRowBody>,
    total: Option<SpendRowBody>,
    /// The first and last activity dates answered: whole months for readers of figures, so
    /// that every range is a sum of the same protected months.
    covered_from: String,
    covered_to: String,
}

fn spend_row(r: payments::SpendRow) -> SpendRowBody {
    SpendRowBody {
        key: r.key,
        claim_count: r.claim_count,
        partner_count: r.partner_count,
        involvement_pence: r.involvement_pence,
        expenses_pence: r.expenses_pence,
        total_pence: r.total_pence,
        suppressed: r.suppressed,
    }
}

/// Involvement spend: the caller's trust, or for an ICS, each member trust and then the ICS
/// (its ICB's code), each row the sum of its trusts' and hidden when any of theirs is.
#[utoipa::path(get, path = "/api/v1/spend", params(SpendParams), responses((status = 200, body = Vec<TrustSpendBody>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn spend_report(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<SpendParams>,
) -> ApiResult<Json<Vec<TrustSpendBody>>> {
    let request = payments::SpendReportRequest {
        group_by: q.group_by,
        activity: Some(DateRange {
            from: q.from,
            to: q.to,
        }),
        basis: q.basis,
        trusts: Vec::new(),
    };
    let reports = crate::payments::spend_by_trust(&state, &me, request).await?;
    let covered = reports.covered;
    Ok(Json(
        reports
            .trusts
            .into_iter()
            .map(|(_, _, r)| r)
            .chain(reports.ics)
            .map(|r| TrustSpendBody {
                trust: r.trust,
                rows: r.rows.into_iter().map(spend_row).collect(),
                total: r.total.map(spend_row),
                covered_from: covered.from.clone(),
                covered_to: covered.to.clone(),
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct LedgerCheckBody {
    balanced: bool,
    journals: u64,
    entries: u64,
    unbalanced_journals: Vec<String>,
    sum_pence: i64,
    /// (account, balance in pence): the trial balance.
    accounts: Vec<(String, i64)>,
}

/// Whether the trust's ledger balances: every journal, and the whole, sum to zero.
#[utoipa::path(get, path = "/api/v1/ledger/check", responses((status = 200, body = LedgerCheckBody), (status = 403, body = ErrorBody)))]
pub async fn check_ledger(
    State(state): State<AppState>,
    me: SignedIn,
) -> ApiResult<Json<LedgerCheckBody>> {
    let c = state
        .clients
        .payments()
        .check_ledger(
            state
                .clients
                .request(&me.caller, payments::CheckLedgerRequest {}),
        )
        .await?
        .into_inner();
    Ok(Json(LedgerCheckBody {
        balanced: c.balanced,
        journals: c.journals,
        entries: c.entries,
        unbalanced_journals: c.unbalanced_journals,
        sum_pence: c.sum_pence,
        accounts: c
            .accounts
            .into_iter()
            .map(|a| (a.account, a.balance_pence))
            .collect(),
    }))
}
