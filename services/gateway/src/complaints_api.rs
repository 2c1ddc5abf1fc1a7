//! The complaints part of the JSON API, for a trust's complaints system to send its cases and
//! for reports: complaints (staff only, every read audited by feedback) and the learning report.

use alongside_proto::common::v1::PageInfo;
use alongside_proto::feedback::v1 as feedback;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::{csrf, ApiResult, Page};
use crate::error::{AppError, ErrorBody};
use crate::session::SignedIn;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/complaints",
            get(list_complaints).post(record_complaint),
        )
        .route("/api/v1/complaints/learning-report", get(learning_report))
        .route(
            "/api/v1/complaints/{id}",
            get(get_complaint).put(update_complaint),
        )
}

/// A complaint. Who complained stays in the trust's case system, found by `reference`.
#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ComplaintBody {
    /// Given by Alongside; ignored when sent.
    id: String,
    /// The trust's case reference, unique in the trust, up to 40 characters.
    reference: String,
    /// YYYY-MM-DD, not in the future.
    received_on: String,
    /// letter, email, phone, in_person, online or pals.
    channel: String,
    site: String,
    pathway: String,
    team: String,
    /// Category codes of the themes framework, at least one.
    categories: Vec<String>,
    /// Up to 4,000 characters; may hold personal detail.
    summary: String,
    /// On or after received_on; empty until acknowledged.
    acknowledged_on: String,
    /// On or after received_on; with the outcome.
    closed_on: String,
    /// upheld, partly_upheld, not_upheld or withdrawn; empty while open.
    outcome: String,
    /// Written to be shared, without names; needed to close an upheld or partly upheld one.
    learning: String,
    actions: String,
    /// Referred to the Parliamentary and Health Service Ombudsman.
    ombudsman: bool,
    /// Set by Alongside.
    recorded_by: String,
    updated_at: String,
}

impl From<feedback::Complaint> for ComplaintBody {
    fn from(c: feedback::Complaint) -> Self {
        Self {
            id: c.id,
            reference: c.reference,
            received_on: c.received_on,
            channel: c.channel,
            site: c.site,
            pathway: c.pathway,
            team: c.team,
            categories: c.categories,
            summary: c.summary,
            acknowledged_on: c.acknowledged_on,
            closed_on: c.closed_on,
            outcome: c.outcome,
            learning: c.learning,
            actions: c.actions,
            ombudsman: c.ombudsman,
            recorded_by: c.recorded_by,
            updated_at: c.updated_at,
        }
    }
}

impl ComplaintBody {
    fn into_proto(self, id: String) -> feedback::Complaint {
        feedback::Complaint {
            id,
            reference: self.reference,
            received_on: self.received_on,
            channel: self.channel,
            site: self.site,
            pathway: self.pathway,
            team: self.team,
            categories: self.categories,
            summary: self.summary,
            acknowledged_on: self.acknowledged_on,
            closed_on: self.closed_on,
            outcome: self.outcome,
            learning: self.learning,
            actions: self.actions,
            ombudsman: self.ombudsman,
            recorded_by: String::new(),
            updated_at: String::new(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ComplaintList {
    items: Vec<ComplaintBody>,
    page: Page,
}

#[derive(Deserialize, IntoParams)]
pub struct ComplaintParams {
    page: Option<u32>,
    /// Default 25, at most 200.
    page_size: Option<u32>,
    /// Received from this month, YYYY-MM.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// open or closed.
    #[serde(default)]
    status: String,
    #[serde(default)]
    outcome: String,
    /// A category code.
    #[serde(default)]
    category: String,
    #[serde(default)]
    pathway: String,
    #[serde(default)]
    site: String,
    /// newest (default), oldest or reference.
    #[serde(default)]
    sort: String,
}

/// The trust's complaints, newest first. Staff, leads and admins only; each listing is audited.
#[utoipa::path(get, path = "/api/v1/complaints", params(ComplaintParams),
    responses((status = 200, body = ComplaintList), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_complaints(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ComplaintParams>,
) -> ApiResult<Json<ComplaintList>> {
    let page = q.page.unwrap_or(1).max(1);
    let page_size = q.page_size.unwrap_or(25);
    let listed = state
        .clients
        .feedback()
        .list_complaints(state.clients.request(
            &me.caller,
            feedback::ListComplaintsRequest {
                from_month: q.from,
                to_month: q.to,
                status: q.status,
                outcome: q.outcome,
                category: q.category,
                pathway: q.pathway,
                site: q.site,
                sort: q.sort,
                page,
                page_size,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(ComplaintList {
        page: Page::from(Some(PageInfo {
            page,
            page_size: if page_size == 0 { 25 } else { page_size },
            total: listed.total,
        })),
        items: listed.complaints.into_iter().map(Into::into).collect(),
    }))
}

/// Records a complaint; every problem is named by field.
#[utoipa::path(post, path = "/api/v1/complaints", request_body = ComplaintBody,
    responses((status = 200, body = ComplaintBody), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn record_complaint(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Json(b): Json<ComplaintBody>,
) -> ApiResult<Json<ComplaintBody>> {
    csrf(&me, &headers)?;
    let c = state
        .clients
        .feedback()
        .record_complaint(state.clients.request(
            &me.caller,
            feedback::RecordComplaintRequest {
                complaint: Some(b.into_proto(String::new())),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(c.into()))
}

/// One complaint (audited).
#[utoipa::path(get, path = "/api/v1/complaints/{id}",
    responses((status = 200, body = ComplaintBody), (status = 404, body = ErrorBody)))]
pub async fn get_complaint(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<ComplaintBody>> {
    let c = state
        .clients
        .feedback()
        .get_complaint(
            state
                .clients
                .request(&me.caller, feedback::GetComplaintRequest { id }),
        )
        .await?
        .into_inner();
    Ok(Json(c.into()))
}

/// Replaces a complaint's fields (acknowledging it, closing it with its outcome and learning).
#[utoipa::path(put, path = "/api/v1/complaints/{id}", request_body = ComplaintBody,
    responses((status = 200, body = ComplaintBody), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_complaint(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<ComplaintBody>,
) -> ApiResult<Json<ComplaintBody>> {
    csrf(&me, &headers)?;
    let c = state
        .clients
        .feedback()
        .update_complaint(state.clients.request(
            &me.caller,
            feedback::UpdateComplaintRequest {
                complaint: Some(b.into_proto(id)),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(c.into()))
}

#[derive(Deserialize, IntoParams)]
pub struct ReportParams {
    /// First month, YYYY-MM (required).
    #[serde(default)]
    from: String,
    /// Last month, YYYY-MM (required).
    #[serde(default)]
    to: String,
    /// One pathway only; empty for the whole trust.
    #[serde(default)]
    pathway: String,
}

#[derive(Serialize, ToSchema)]
pub struct CountBody {
    /// An outcome, a category code or a pathway.
    key: String,
    count: u64,
    /// Of those, upheld or partly upheld (themes and pathways).
    upheld: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct LearningBody {
    closed_month: String,
    pathway: String,
    categories: Vec<String>,
    outcome: String,
    learning: String,
    actions: String,
}

/// A period's complaints in figures, and what was learned. No summary, reference or exact
/// date: analysts may read it.
#[derive(Serialize, ToSchema)]
pub struct LearningReportBody {
    from: String,
    to: String,
    pathway: String,
    received: u64,
    /// Of those received, acknowledged within 3 working days (Monday to Friday less England
    /// and Wales's bank holidays).
    acknowledged_in_time: u64,
    closed: u64,
    median_days_to_close: Option<f64>,
    open_at_end: u64,
    open_over_six_months: u64,
    referred_to_ombudsman: u64,
    /// Of those closed.
    outcomes: Vec<CountBody>,
    /// Of those received, most frequent first.
    themes: Vec<CountBody>,
    pathways: Vec<CountBody>,
    learning: Vec<LearningBody>,
}

#[utoipa::path(get, path = "/api/v1/complaints/learning-report", params(ReportParams),
    responses((status = 200, body = LearningReportBody), (status = 422, body = ErrorBody)))]
pub async fn learning_report(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ReportParams>,
) -> ApiResult<Json<LearningReportBody>> {
    let r = state
        .clients
        .feedback()
        .get_learning_report(state.clients.request(
            &me.caller,
            feedback::GetLearningReportRequest {
                from_month: q.from,
                to_month: q.to,
                pathway: q.pathway,
            },
        ))
        .await
        .map_err(|s| AppError::from(s).with_fields(crate::pages::period_field))?
        .into_inner();
    Ok(Json(LearningReportBody {
        from: r.from_month,
        to: r.to_month,
        pathway: r.pathway,
        received: r.received,
        acknowledged_in_time: r.acknowledged_in_time,
        closed: r.closed,
        median_days_to_close: r.median_days_to_close,
        open_at_end: r.open_at_end,
        open_over_six_months: r.open_over_six_months,
        referred_to_ombudsman: r.referred_to_ombudsman,
        outcomes: r
            .outcomes
            .into_iter()
            .map(|o| CountBody {
                key: o.outcome,
                count: o.count,
                upheld: None,
            })
            .collect(),
        themes: r
            .themes
            .into_iter()
            .map(|t| CountBody {
                key: t.category,
                count: t.received,
                upheld: Some(t.upheld),
            })
            .collect(),
        pathways: r
            .pathways
            .into_iter()
            .map(|p| CountBody {
                key: p.pathway,
                count: p.received,
                upheld: Some(p.upheld),
            })
            .collect(),
        learning: r
            .learning
            .into_iter()
            .map(|l| LearningBody {
                closed_month: l.closed_month,
                pathway: l.pathway,
                categories: l.categories,
                outcome: l.outcome,
                learning: l.learning,
                actions: l.actions,
            })
            .collect(),
    }))
}
