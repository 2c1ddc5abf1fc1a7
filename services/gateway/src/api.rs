//! The JSON API under `/api/v1`, described by an OpenAPI document generated from this code.
//! Requests are authenticated by the session cookie; changes need the session's CSRF token in
//! the `X-CSRF-Token` header.

use alongside_proto::common::v1::{PageInfo, PageRequest};
use alongside_proto::engagement::v1 as engagement;
use alongside_proto::feedback::v1 as feedback;
use alongside_proto::people::v1 as people;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::cookie::CookieJar;
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::error::{ApiError, AppError, ErrorBody, ProblemResponses};
use crate::session::{self, SignedIn};
use crate::AppState;

pub(crate) type ApiResult<T> = Result<T, ApiError>;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Alongside API",
        version = "1",
        description = "Working alongside patients and carers: the People Bank, engagement, feedback and payments."
    ),
    paths(
        create_session,
        list_partners,
        register_partner,
        get_partner,
        change_partner_status,
        partner_history,
        erase_partner,
        export_partner_data,
        partner_roles,
        grant_role,
        revoke_role,
        record_training,
        expiring_training,
        list_opportunities,
        create_opportunity,
        list_assignments,
        assign_partner,
        record_attendance,
        correct_attendance,
        crate::payments_api::list_claims,
        crate::payments_api::get_claim,
        crate::payments_api::submit_expense_claim,
        crate::payments_api::decide_claims,
        crate::payments_api::list_rate_cards,
        crate::payments_api::create_rate_card,
        crate::payments_api::list_payment_runs,
        crate::payments_api::create_payment_run,
        crate::payments_api::get_payment_run,
        crate::payments_api::confirm_payment_run,
        crate::payments_api::cancel_payment_run,
        crate::payments_api::payment_file,
        crate::payments_api::partner_account,
        crate::payments_api::annual_statement,
        crate::payments_api::benefit_warnings,
        crate::payments_api::spend_report,
        crate::payments_api::check_ledger,
        crate::payment_controls::get_controls,
        crate::payment_controls::put_controls,
        crate::places::list_places,
        crate::places::save_places,
        crate::places::retire_place,
        crate::places::restore_place,
        crate::places::merge_place,
        crate::places::place_history,
        crate::places::held_places,
        crate::places::map_held_place,
        submit_fft_responses,
        fft_summary,
        fft_chart,
        fft_breakdown,
        submit_prom_responses,
        prom_summary,
        crate::comments_api::list_comments,
        crate::comments_api::get_comment,
        crate::comments_api::correct_comment,
        crate::comments_api::theme_summary,
        crate::comments_api::theme_model,
        crate::comments_api::retrain,
        crate::complaints_api::list_complaints,
        crate::complaints_api::record_complaint,
        crate::complaints_api::get_complaint,
        crate::complaints_api::update_complaint,
        crate::complaints_api::learning_report,
        crate::dashboard::dashboard_json,
        crate::survey_page::api_survey,
        crate::survey_page::api_update_survey,
        crate::survey_page::api_results,
        crate::profile::get_profile,
        crate::profile::update_profile,
        crate::profile::set_bank_details,
        crate::profile::reveal_bank_details
    ),
    components(schemas(ErrorBody)),
    modifiers(&ProblemResponses)
)]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(|| async { Json(ApiDoc::openapi()) }),
        )
        .route("/api/v1/session", post(create_session))
        .route(
            "/api/v1/partners",
            get(list_partners).post(register_partner),
        )
        .route("/api/v1/partners/{id}", get(get_partner))
        .route("/api/v1/partners/{id}/status", post(change_partner_status))
        .route("/api/v1/partners/{id}/history", get(partner_history))
        .route("/api/v1/partners/{id}/erase", post(erase_partner))
        .route("/api/v1/partners/{id}/export", get(export_partner_data))
        .route(
            "/api/v1/partners/{id}/roles",
            get(partner_roles).post(grant_role),
        )
        .route(
            "/api/v1/partners/{id}/roles/{role}",
            axum::routing::delete(revoke_role),
        )
        .route("/api/v1/partners/{id}/training", post(record_training))
        .route("/api/v1/training/expiring", get(expiring_training))
        .route(
            "/api/v1/opportunities",
            get(list_opportunities).post(create_opportunity),
        )
        .route(
            "/api/v1/opportunities/{id}/assignments",
            get(list_assignments).post(assign_partner),
        )
        .route(
            "/api/v1/assignments/{id}/attendance",
            post(record_attendance),
        )
        .route(
            "/api/v1/attendances/{id}/correction",
            post(correct_attendance),
        )
        .route("/api/v1/feedback/fft-responses", post(submit_fft_responses))
        .route("/api/v1/feedback/fft-summary", get(fft_summary))
        .route("/api/v1/feedback/fft-chart", get(fft_chart))
        .route("/api/v1/feedback/fft-breakdown", get(fft_breakdown))
        .route(
            "/api/v1/feedback/prom-responses",
            post(submit_prom_responses),
        )
        .route("/api/v1/feedback/prom-summary", get(prom_summary))
}

pub(crate) fn csrf(me: &SignedIn, headers: &HeaderMap) -> Result<(), ApiError> {
    me.check_csrf(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))
        .map_err(ApiError)
}

#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    /// 1-based page number (default 1).
    page: Option<u32>,
    /// Rows per page (default 25, at most 200).
    page_size: Option<u32>,
    /// Sort key; see each list.
    #[serde(default)]
    sort: String,
}

impl ListParams {
    fn page(&self) -> Option<PageRequest> {
        Some(PageRequest {
            page: self.page.unwrap_or(1),
            page_size: self.page_size.unwrap_or(25),
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct Page {
    page: u32,
    page_size: u32,
    total: u64,
}

impl From<Option<PageInfo>> for Page {
    fn from(info: Option<PageInfo>) -> Self {
        let info = info.unwrap_or_default();
        Page {
            page: info.page,
            page_size: info.page_size,
            total: info.total,
        }
    }
}

// ---- session ----

#[derive(Deserialize, ToSchema)]
pub struct SignInBody {
    email: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionBody {
    /// Send this as `X-CSRF-Token` on every request that changes something.
    csrf_token: String,
    name: String,
    role: String,
    tenant: String,
}

/// Sign in; sets the session cookie. After repeated failures for the account or the client
/// address, each attempt waits: 429 with `Retry-After`.
#[utoipa::path(post, path = "/api/v1/session", request_body = SignInBody,
    responses((status = 200, body = SessionBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, headers(("Retry-After" = u64, description = "seconds to wait")))))]
async fn create_session(
    State(state): State<AppState>,
    address: crate::throttle::ClientAddress,
    jar: CookieJar,
    Json(body): Json<SignInBody>,
) -> ApiResult<Response> {
    match session::sign_in(&state, address, &body.email, &body.password).await? {
        Some((token, me)) => {
            let jar = jar.add(session::session_cookie(
                token,
                state.settings.secure_cookies(),
            ));
            let body = SessionBody {
                csrf_token: me.csrf_token,
                name: me.user.display_name,
                role: me.caller.role.as_str().into(),
                tenant: me.caller.tenant.to_string(),
            };
            Ok((jar, Json(body)).into_response())
        }
        None => Err(ApiError(AppError::Unauthenticated)),
    }
}

// ---- partners ----

#[derive(Serialize, ToSchema)]
pub struct PartnerBody {
    id: String,
    given_name: String,
    family_name: String,
    email: String,
    phone: String,
    locality: String,
    status: String,
    registered_at: String,
}

impl From<people::Partner> for PartnerBody {
    fn from(p: people::Partner) -> Self {
        Self {
            id: p.id,
            given_name: p.given_name,
            family_name: p.family_name,
            email: p.email,
            phone: p.phone,
            locality: p.locality,
            status: p.status,
            registered_at: p.registered_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PartnerList {
    items: Vec<PartnerBody>,
    page: Page,
}

#[derive(Deserialize, IntoParams)]
pub struct PartnerListParams {
    /// 1-based page number (default 1).
    page: Option<u32>,
    /// Rows per page (default 25, at most 200).
    page_size: Option<u32>,
    /// name, -name, registered_at or -registered_at (default name).
    #[serde(default)]
    sort: String,
    /// Part of a name or locality, case-insensitive.
    #[serde(default)]
    search: String,
    /// A pipeline status, or `erased`; default: every status but erased.
    #[serde(default)]
    status: String,
    /// Only partners holding this role.
    #[serde(default)]
    role: String,
    /// Only partners of this locality (case-insensitive).
    #[serde(default)]
    locality: String,
    /// Only partners whose lived experience mentions this, e.g. a pathway.
    #[serde(default)]
    pathway: String,
    /// Only partners with training expiring within this many days (1 to 366).
    expiring_within_days: Option<u32>,
}

/// Partners of the caller's trust, filtered, sorted and paged.
#[utoipa::path(get, path = "/api/v1/partners", params(PartnerListParams),
    responses((status = 200, body = PartnerList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_partners(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<PartnerListParams>,
) -> ApiResult<Json<PartnerList>> {
    let request = people::ListPartnersRequest {
        page: Some(PageRequest {
            page: q.page.unwrap_or(1),
            page_size: q.page_size.unwrap_or(25),
        }),
        search: q.search,
        sort: q.sort,
        status: q.status,
        role: q.role,
        locality: q.locality,
        pathway: q.pathway,
        expiring_within_days: q.expiring_within_days.unwrap_or(0),
        export: false,
    };
    let listed = state
        .clients
        .people()
        .list_partners(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok(Json(PartnerList {
        items: listed.partners.into_iter().map(Into::into).collect(),
        page: listed.page.into(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct RegisterPartnerBody {
    given_name: String,
    family_name: String,
    email: String,
    #[serde(default)]
    phone: String,
    locality: String,
}

/// Register a partner in the caller's trust.
#[utoipa::path(post, path = "/api/v1/partners", request_body = RegisterPartnerBody,
    responses((status = 201, body = PartnerBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn register_partner(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Json(b): Json<RegisterPartnerBody>,
) -> ApiResult<(StatusCode, Json<PartnerBody>)> {
    csrf(&me, &headers)?;
    let request = people::RegisterPartnerRequest {
        given_name: b.given_name,
        family_name: b.family_name,
        email: b.email,
        phone: b.phone,
        locality: b.locality,
    };
    let partner = state
        .clients
        .people()
        .register_partner(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(partner.into())))
}

/// One partner of the caller's trust (the read is audited).
#[utoipa::path(get, path = "/api/v1/partners/{id}", params(("id" = String, Path)),
    responses((status = 200, body = PartnerBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_partner(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<PartnerBody>> {
    let partner = state
        .clients
        .people()
        .get_partner(
            state
                .clients
                .request(&me.caller, people::GetPartnerRequest { id }),
        )
        .await?
        .into_inner();
    Ok(Json(partner.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct ChangeStatusBody {
    /// interest, application, conversation, checks, induction, active, resting or left.
    status: String,
    /// Why: kept in the partner's history.
    reason: String,
}

/// Move a partner along the onboarding pipeline. A move the pipeline does not allow is refused
/// (422) with the moves that are possible.
#[utoipa::path(post, path = "/api/v1/partners/{id}/status", params(("id" = String, Path)), request_body = ChangeStatusBody,
    responses((status = 200, body = PartnerBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn change_partner_status(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<ChangeStatusBody>,
) -> ApiResult<Json<PartnerBody>> {
    csrf(&me, &headers)?;
    let request = people::ChangeStatusRequest {
        id,
        status: b.status,
        reason: b.reason,
    };
    let partner = state
        .clients
        .people()
        .change_status(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok(Json(partner.into()))
}

#[derive(Serialize, ToSchema)]
pub struct StatusChangeBody {
    from_status: String,
    to_status: String,
    reason: String,
    changed_by: String,
    changed_at: String,
}

impl From<people::StatusChange> for StatusChangeBody {
    fn from(c: people::StatusChange) -> Self {
        Self {
            from_status: c.from_status,
            to_status: c.to_status,
            reason: c.reason,
            changed_by: c.changed_by,
            changed_at: c.changed_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct HistoryBody {
    /// Oldest first.
    changes: Vec<StatusChangeBody>,
    /// Where the partner may move next.
    next_statuses: Vec<String>,
}

/// A partner's onboarding history: who moved them, when and why.
#[utoipa::path(get, path = "/api/v1/partners/{id}/history", params(("id" = String, Path)),
    responses((status = 200, body = HistoryBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn partner_history(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<HistoryBody>> {
    let history = state
        .clients
        .people()
        .list_status_history(
            state
                .clients
                .request(&me.caller, people::ListStatusHistoryRequest { id }),
        )
        .await?
        .into_inner();
    Ok(Json(HistoryBody {
        changes: history.changes.into_iter().map(Into::into).collect(),
        next_statuses: history.next_statuses,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct EraseBody {
    /// Why (kept in the history; do not include personal details).
    reason: String,
}

/// Erase a partner (UK GDPR): personal data removed here and, through `PartnerErased`, by every
/// other service; the id remains as a pseudonym.
#[utoipa::path(post, path = "/api/v1/partners/{id}/erase", params(("id" = String, Path)), request_body = EraseBody,
    responses((status = 200, body = PartnerBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn erase_partner(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<EraseBody>,
) -> ApiResult<Json<PartnerBody>> {
    csrf(&me, &headers)?;
    Ok(Json(erase(&state, &me, id, b.reason).await?.into()))
}

/// Erases a partner in people (and, through `PartnerErased`, in every service), then their
/// sign-in here: account, sessions (ended at once) and invitations. Asked again about a partner
/// already erased, it makes sure the sign-in is gone too before saying so.
pub async fn erase(
    state: &AppState,
    me: &SignedIn,
    id: String,
    reason: String,
) -> Result<people::Partner, AppError> {
    let request = people::ErasePartnerRequest {
        id: id.clone(),
        reason,
    };
    let erased = state
        .clients
        .people()
        .erase_partner(state.clients.request(&me.caller, request))
        .await;
    match erased {
        Ok(partner) => {
            session::forget_partner(&state.db, &me.caller.tenant, &id).await?;
            Ok(partner.into_inner())
        }
        Err(status) => {
            let found = state
                .clients
                .people()
                .get_partner(
                    state
                        .clients
                        .request(&me.caller, people::GetPartnerRequest { id: id.clone() }),
                )
                .await;
            if found.is_ok_and(|p| p.get_ref().status == "erased") {
                session::forget_partner(&state.db, &me.caller.tenant, &id).await?;
            }
            Err(status.into())
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AccessBody {
    at: String,
    actor_role: String,
    action: String,
}

#[derive(Serialize, ToSchema)]
pub struct PartnerDataBody {
    partner: Option<PartnerBody>,
    status_history: Vec<StatusChangeBody>,
    /// Every recorded read or change of the partner's record.
    access_log: Vec<AccessBody>,
    generated_at: String,
    /// Needs, experience, availability and payment preference (bank details masked).
    profile: Option<crate::profile::ProfileBody>,
    /// Every consent given or withdrawn, newest first.
    consents: Vec<ConsentBody>,
    /// Debrief and wellbeing notes: in full for a lead answering an access request; for the
    /// partner's own download, only how many are held.
    support_notes: Vec<SupportNoteBody>,
    support_notes_held: u32,
    /// Roles held, eligibility, and the latest record of each training and check.
    roles: Option<PartnerRolesBody>,
    /// Their equality monitoring answers: in the partner's own download only.
    equality: Option<EqualityBody>,
    /// Their sign-in to the portal.
    sign_in: Vec<crate::held_data::SignInAccountBody>,
    /// What engagement holds: offers, places and attendance, notes of interest, preferences,
    /// forums.
    engagement: crate::held_data::EngagementDataBody,
    /// What payments holds: claims, balances, remittances, benefits warnings.
    payments: crate::held_data::PaymentsDataBody,
}

#[derive(Serialize, ToSchema)]
pub struct EqualityBody {
    age_band: String,
    sex: String,
    ethnic_group: String,
    disability: String,
    carer: String,
    answered_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct SupportNoteBody {
    /// debrief or wellbeing.
    kind: String,
    body: String,
    written_at: String,
    written_by_role: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentBody {
    /// contact, data, sharing or equality.
    purpose: String,
    granted: bool,
    notice_version: String,
    recorded_at: String,
    recorded_by_role: String,
}

impl From<crate::held_data::Held> for PartnerDataBody {
    fn from(held: crate::held_data::Held) -> Self {
        let e = held.people;
        Self {
            sign_in: crate::held_data::sign_in_bodies(held.sign_in),
            engagement: held.engagement.into(),
            payments: crate::held_data::PaymentsDataBody::new(held.claims, held.account),
            partner: e.partner.map(Into::into),
            status_history: e.status_history.into_iter().map(Into::into).collect(),
            access_log: e
                .access_log
                .into_iter()
                .map(|a| AccessBody {
                    at: a.at,
                    actor_role: a.actor_role,
                    action: a.action,
                })
                .collect(),
            generated_at: e.generated_at,
            profile: e.profile.map(Into::into),
            support_notes: e
                .support_notes
                .into_iter()
                .map(|n| SupportNoteBody {
                    kind: n.kind,
                    body: n.body,
                    written_at: n.written_at,
                    written_by_role: n.written_by_role,
                })
                .collect(),
            support_notes_held: e.support_notes_held,
            roles: e.roles.map(Into::into),
            equality: e.equality.map(|q| EqualityBody {
                age_band: q.age_band,
                sex: q.sex,
                ethnic_group: q.ethnic_group,
                disability: q.disability,
                carer: q.carer,
                answered_at: q.answered_at,
            }),
            consents: e
                .consents
                .into_iter()
                .map(|c| ConsentBody {
                    purpose: c.purpose,
                    granted: c.granted,
                    notice_version: c.notice_version,
                    recorded_at: c.recorded_at,
                    recorded_by_role: c.recorded_by_role,
                })
                .collect(),
        }
    }
}

/// Everything every service holds about a partner (UK GDPR right of access), as a JSON
/// download. A partner may download their own; engagement leads any of their trust's.
#[utoipa::path(get, path = "/api/v1/partners/{id}/export", params(("id" = String, Path)),
    responses((status = 200, body = PartnerDataBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn export_partner_data(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let body: PartnerDataBody = crate::held_data::gather(&state, &me, id.clone())
        .await?
        .into();
    let disposition = format!("attachment; filename=\"alongside-{id}.json\"");
    Ok((
        [(http::header::CONTENT_DISPOSITION, disposition)],
        Json(body),
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct RoleStatusBody {
    role: String,
    /// Every required item on record and in date today.
    eligible: bool,
    /// What is missing or out of date.
    missing: Vec<String>,
    /// When eligible: the last day every required item is in date; empty when nothing expires.
    valid_until: String,
    requires: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TrainingBody {
    kind: String,
    completed_on: String,
    expires_on: String,
    certificate_number: String,
    recorded_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct PartnerRolesBody {
    partner_id: String,
    roles: Vec<RoleStatusBody>,
    /// The latest record of each kind.
    training: Vec<TrainingBody>,
}

impl From<people::PartnerRoles> for PartnerRolesBody {
    fn from(r: people::PartnerRoles) -> Self {
        Self {
            partner_id: r.partner_id,
            roles: r
                .roles
                .into_iter()
                .map(|s| RoleStatusBody {
                    role: s.role,
                    eligible: s.eligible,
                    missing: s.missing,
                    valid_until: s.valid_until,
                    requires: s.requires,
                })
                .collect(),
            training: r
                .training
                .into_iter()
                .map(|t| TrainingBody {
                    kind: t.kind,
                    completed_on: t.completed_on,
                    expires_on: t.expires_on,
                    certificate_number: t.certificate_number,
                    recorded_at: t.recorded_at,
                })
                .collect(),
        }
    }
}

/// The roles a partner holds, their eligibility today, and their training and checks.
#[utoipa::path(get, path = "/api/v1/partners/{id}/roles", params(("id" = String, Path)),
    responses((status = 200, body = PartnerRolesBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn partner_roles(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<PartnerRolesBody>> {
    let roles = state
        .clients
        .people()
        .get_partner_roles(
            state
                .clients
                .request(&me.caller, people::GetPartnerRequest { id }),
        )
        .await?
        .into_inner();
    Ok(Json(roles.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct GrantRoleBody {
    /// forum_member, patient_carer_partner, governance_partner, improvement_partner,
    /// peer_support_worker, co_researcher, trainer or recruitment_panel_member.
    role: String,
}

/// Grant a partner a role (engagement leads).
#[utoipa::path(post, path = "/api/v1/partners/{id}/roles", params(("id" = String, Path)), request_body = GrantRoleBody,
    responses((status = 200, body = PartnerRolesBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn grant_role(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<GrantRoleBody>,
) -> ApiResult<Json<PartnerRolesBody>> {
    csrf(&me, &headers)?;
    let request = people::RoleRequest {
        partner_id: id,
        role: b.role,
    };
    let roles = state
        .clients
        .people()
        .grant_role(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok(Json(roles.into()))
}

/// Take a role from a partner (engagement leads).
#[utoipa::path(delete, path = "/api/v1/partners/{id}/roles/{role}", params(("id" = String, Path), ("role" = String, Path)),
    responses((status = 200, body = PartnerRolesBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn revoke_role(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path((id, role)): Path<(String, String)>,
) -> ApiResult<Json<PartnerRolesBody>> {
    csrf(&me, &headers)?;
    let request = people::RoleRequest {
        partner_id: id,
        role,
    };
    let roles = state
        .clients
        .people()
        .revoke_role(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok(Json(roles.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct RecordTrainingBody {
    /// induction, shared_decision_making, confidentiality, safeguarding, references or dbs.
    kind: String,
    /// YYYY-MM-DD, not in the future.
    completed_on: String,
    /// YYYY-MM-DD after completed_on; empty or absent: the kind's usual validity.
    #[serde(default)]
    expires_on: String,
    /// 12 digits, for dbs.
    #[serde(default)]
    certificate_number: String,
}

/// Record training or a check (engagement leads); eligibility is recomputed and published.
#[utoipa::path(post, path = "/api/v1/partners/{id}/training", params(("id" = String, Path)), request_body = RecordTrainingBody,
    responses((status = 200, body = PartnerRolesBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn record_training(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<RecordTrainingBody>,
) -> ApiResult<Json<PartnerRolesBody>> {
    csrf(&me, &headers)?;
    let request = people::RecordTrainingRequest {
        partner_id: id,
        kind: b.kind,
        completed_on: b.completed_on,
        expires_on: b.expires_on,
        certificate_number: b.certificate_number,
    };
    let roles = state
        .clients
        .people()
        .record_training(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok(Json(roles.into()))
}

#[derive(Deserialize, IntoParams)]
pub struct ExpiringParams {
    /// Days ahead, 1 to 366 (default 60).
    within_days: Option<u32>,
    page: Option<u32>,
    page_size: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct ExpiringBody {
    partner_id: String,
    given_name: String,
    family_name: String,
    kind: String,
    expires_on: String,
}

#[derive(Serialize, ToSchema)]
pub struct ExpiringList {
    items: Vec<ExpiringBody>,
    page: Page,
}

/// Training and checks that expire soon, soonest first (a renewal supersedes the old record).
#[utoipa::path(get, path = "/api/v1/training/expiring", params(ExpiringParams),
    responses((status = 200, body = ExpiringList), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn expiring_training(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ExpiringParams>,
) -> ApiResult<Json<ExpiringList>> {
    let request = people::ListExpiringTrainingRequest {
        within_days: q.within_days.unwrap_or(0),
        page: Some(PageRequest {
            page: q.page.unwrap_or(1),
            page_size: q.page_size.unwrap_or(25),
        }),
    };
    let listed = state
        .clients
        .people()
        .list_expiring_training(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok(Json(ExpiringList {
        items: listed
            .items
            .into_iter()
            .map(|e| ExpiringBody {
                partner_id: e.partner_id,
                given_name: e.given_name,
                family_name: e.family_name,
                kind: e.kind,
                expires_on: e.expires_on,
            })
            .collect(),
        page: listed.page.into(),
    }))
}

// ---- opportunities ----

#[derive(Serialize, ToSchema)]
pub struct OpportunityBody {
    id: String,
    title: String,
    kind: String,
    involvement_level: u32,
    starts_on: String,
    places: u32,
    status: String,
    created_at: String,
    /// Empty: any active partner.
    required_role: String,
    pathway: String,
    cost_centre: String,
    /// rate_card or expenses_only.
    remuneration: String,
    description: String,
    locality: String,
    /// Minutes per session.
    expected_minutes: u32,
    accessibility: String,
    contact: String,
    /// Places taken (offered or accepted).
    filled: u32,
    sessions: Vec<OpportunitySessionBody>,
}

#[derive(Serialize, ToSchema)]
pub struct OpportunitySessionBody {
    id: String,
    number: u32,
    /// YYYY-MM-DD
    on: String,
    /// HH:MM
    start_time: String,
    minutes: u32,
}

impl From<engagement::Opportunity> for OpportunityBody {
    fn from(o: engagement::Opportunity) -> Self {
        Self {
            id: o.id,
            title: o.title,
            kind: o.kind,
            involvement_level: o.involvement_level,
            starts_on: o.starts_on,
            places: o.places,
            status: o.status,
            created_at: o.created_at,
            required_role: o.required_role,
            pathway: o.pathway,
            cost_centre: o.cost_centre,
            remuneration: o.remuneration,
            description: o.description,
            locality: o.locality,
            expected_minutes: o.expected_minutes,
            accessibility: o.accessibility,
            contact: o.contact,
            filled: o.filled,
            sessions: o
                .sessions
                .into_iter()
                .map(|s| OpportunitySessionBody {
                    id: s.id,
                    number: s.number,
                    on: s.on,
                    start_time: s.start_time,
                    minutes: s.minutes,
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OpportunityList {
    items: Vec<OpportunityBody>,
    page: Page,
}

/// Opportunities of the caller's trust. Sort: starts_on, -starts_on, title, -title.
#[utoipa::path(get, path = "/api/v1/opportunities", params(ListParams), responses((status = 200, body = OpportunityList), (status = 422, body = ErrorBody)))]
async fn list_opportunities(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ListParams>,
) -> ApiResult<Json<OpportunityList>> {
    let request = engagement::ListOpportunitiesRequest {
        page: q.page(),
        sort: q.sort.clone(),
        ..Default::default()
    };
    let listed = state
        .clients
        .engagement()
        .list_opportunities(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok(Json(OpportunityList {
        items: listed.opportunities.into_iter().map(Into::into).collect(),
        page: listed.page.into(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateOpportunityBody {
    title: String,
    /// forum_meeting, mdt_seat, improvement_group, pathway_redesign, discussion_group,
    /// training_codelivery, recruitment_panel, co_research, story_video, health_equity, digital_advisory
    kind: String,
    /// NHS England involvement level, 1 to 4.
    involvement_level: u32,
    /// YYYY-MM-DD
    starts_on: String,
    places: u32,
    /// A People Bank role partners must be eligible for on the day (e.g. governance_partner);
    /// empty or absent: any active partner.
    #[serde(default)]
    required_role: String,
    /// The clinical pathway (optional): one of the trust's listed pathway codes
    /// (`GET /api/v1/places?kind=pathway`); any other value is refused.
    #[serde(default)]
    pathway: String,
    /// The cost centre that pays, e.g. CC-4410 (optional).
    #[serde(default)]
    cost_centre: String,
    /// rate_card (the default) or expenses_only.
    #[serde(default)]
    remuneration: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    locality: String,
    /// Minutes per session, 15 to 720 (default 120).
    #[serde(default)]
    expected_minutes: u32,
    /// Step-free access, BSL, captions, ...
    #[serde(default)]
    accessibility: String,
    #[serde(default)]
    contact: String,
    /// HH:MM (default 10:00).
    #[serde(default)]
    start_time: String,
    /// Empty (one-off), weekly, fortnightly or monthly.
    #[serde(default)]
    repeat: String,
    /// How many sessions when it repeats, 1 to 52.
    #[serde(default)]
    session_count: u32,
    /// Save as a draft (any dates), to publish later.
    #[serde(default)]
    draft: bool,
    /// Work already done, recorded afterwards (sessions today or earlier): created completed.
    #[serde(default)]
    held: bool,
    /// The open staff request it answers.
    #[serde(default)]
    request_id: String,
}

/// Publish an opportunity (or save a draft, or record work already done).
#[utoipa::path(post, path = "/api/v1/opportunities", request_body = CreateOpportunityBody,
    responses((status = 201, body = OpportunityBody), (status = 422, body = ErrorBody)))]
async fn create_opportunity(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Json(b): Json<CreateOpportunityBody>,
) -> ApiResult<(StatusCode, Json<OpportunityBody>)> {
    csrf(&me, &headers)?;
    let request = engagement::CreateOpportunityRequest {
        title: b.title,
        kind: b.kind,
        involvement_level: b.involvement_level,
        starts_on: b.starts_on,
        places: b.places,
        required_role: b.required_role,
        pathway: b.pathway,
        cost_centre: b.cost_centre,
        remuneration: b.remuneration,
        description: b.description,
        locality: b.locality,
        expected_minutes: b.expected_minutes,
        accessibility: b.accessibility,
        contact: b.contact,
        start_time: b.start_time,
        repeat: b.repeat,
        session_count: b.session_count,
        draft: b.draft,
        held: b.held,
        request_id: b.request_id,
    };
    let created = state
        .clients
        .engagement()
        .create_opportunity(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(created.into())))
}

#[derive(Serialize, ToSchema)]
pub struct AssignmentBody {
    id: String,
    opportunity_id: String,
    partner_id: String,
    created_at: String,
    attended_minutes: Option<u32>,
    /// The attendance recorded for it (to correct it); empty when none is.
    attendance_id: String,
    /// offered, accepted or declined.
    status: String,
}

impl From<engagement::Assignment> for AssignmentBody {
    fn from(a: engagement::Assignment) -> Self {
        Self {
            id: a.id,
            opportunity_id: a.opportunity_id,
            partner_id: a.partner_id,
            created_at: a.created_at,
            attended_minutes: a.attended_minutes,
            attendance_id: a.attendance_id,
            status: a.status,
        }
    }
}

/// Partners assigned to an opportunity.
#[utoipa::path(get, path = "/api/v1/opportunities/{id}/assignments", params(("id" = String, Path, description = "opportunity id")),
    responses((status = 200, body = Vec<AssignmentBody>), (status = 404, body = ErrorBody)))]
async fn list_assignments(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<AssignmentBody>>> {
    let listed = state
        .clients
        .engagement()
        .list_assignments(state.clients.request(
            &me.caller,
            engagement::ListAssignmentsRequest { opportunity_id: id },
        ))
        .await?
        .into_inner();
    Ok(Json(
        listed.assignments.into_iter().map(Into::into).collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct AssignBody {
    partner_id: String,
    /// True: offer the place, held until the partner answers; false (default): they agreed.
    #[serde(default)]
    offer: bool,
}

/// Assign a partner to an opportunity.
#[utoipa::path(post, path = "/api/v1/opportunities/{id}/assignments", params(("id" = String, Path, description = "opportunity id")), request_body = AssignBody,
    responses((status = 201, body = AssignmentBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assign_partner(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<AssignBody>,
) -> ApiResult<(StatusCode, Json<AssignmentBody>)> {
    csrf(&me, &headers)?;
    let request = engagement::AssignPartnerRequest {
        opportunity_id: id,
        partner_id: b.partner_id,
        offer: b.offer,
    };
    let created = state
        .clients
        .engagement()
        .assign_partner(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(created.into())))
}

#[derive(Deserialize, ToSchema)]
pub struct AttendanceRequestBody {
    /// Minutes attended, up to the session's length plus 60; 0 with apologies or no_show.
    minutes: u32,
    /// The session; empty or absent: the first.
    #[serde(default)]
    session_id: String,
    /// attended (default), apologies or no_show.
    #[serde(default)]
    outcome: String,
}

#[derive(Serialize, ToSchema)]
pub struct AttendanceBody {
    id: String,
    assignment_id: String,
    opportunity_id: String,
    partner_id: String,
    minutes: u32,
    activity_date: String,
    recorded_at: String,
    session_id: String,
    /// attended, apologies or no_show.
    outcome: String,
}

impl From<engagement::Attendance> for AttendanceBody {
    fn from(a: engagement::Attendance) -> Self {
        Self {
            id: a.id,
            assignment_id: a.assignment_id,
            opportunity_id: a.opportunity_id,
            partner_id: a.partner_id,
            minutes: a.minutes,
            activity_date: a.activity_date,
            recorded_at: a.recorded_at,
            session_id: a.session_id,
            outcome: a.outcome,
        }
    }
}

/// Record (confirm) a partner's attendance; payments creates one claim for it.
#[utoipa::path(post, path = "/api/v1/assignments/{id}/attendance", params(("id" = String, Path, description = "assignment id")), request_body = AttendanceRequestBody,
    responses((status = 201, body = AttendanceBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn record_attendance(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<AttendanceRequestBody>,
) -> ApiResult<(StatusCode, Json<AttendanceBody>)> {
    csrf(&me, &headers)?;
    let request = engagement::RecordAttendanceRequest {
        assignment_id: id,
        minutes: b.minutes,
        session_id: b.session_id,
        outcome: b.outcome,
    };
    let a = state
        .clients
        .engagement()
        .record_attendance(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(a.into())))
}

#[derive(Deserialize, ToSchema)]
pub struct AttendanceCorrectionBody {
    /// The right number of minutes; 0 when the partner did not take part after all.
    minutes: u32,
    /// Why: kept with the correction.
    reason: String,
    /// attended, apologies or no_show; absent: attended when minutes > 0, else no_show.
    #[serde(default)]
    outcome: String,
}

/// Correct recorded attendance. Never a silent edit: the correction and its reason are kept, and
/// payments reprices or adjusts the partner's claim.
#[utoipa::path(post, path = "/api/v1/attendances/{id}/correction", params(("id" = String, Path, description = "attendance id")), request_body = AttendanceCorrectionBody,
    responses((status = 200, body = AttendanceBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn correct_attendance(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<AttendanceCorrectionBody>,
) -> ApiResult<Json<AttendanceBody>> {
    csrf(&me, &headers)?;
    let request = engagement::CorrectAttendanceRequest {
        attendance_id: id,
        minutes: b.minutes,
        reason: b.reason,
        outcome: b.outcome,
    };
    let a = state
        .clients
        .engagement()
        .correct_attendance(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok(Json(a.into()))
}

// ---- feedback ----

#[derive(Deserialize, ToSchema)]
pub struct FftResponseBody {
    /// The source's own id: the same id is counted once.
    response_id: String,
    /// web, sms, kiosk, paper, just_a_minute_card, ivr, app
    source: String,
    /// very_good, good, neither, poor, very_poor, dont_know
    answer: String,
    /// YYYY-MM-DD
    responded_on: String,
    /// "What worked well?" in the patient's words (up to 2,000 characters).
    #[serde(default)]
    worked_well: String,
    /// "What could we improve?" in the patient's words (up to 2,000 characters).
    #[serde(default)]
    could_improve: String,
    /// Where the care was (each up to 100 characters).
    #[serde(default)]
    site: String,
    #[serde(default)]
    locality: String,
    #[serde(default)]
    pathway: String,
    #[serde(default)]
    team: String,
    /// Who answered, only with their consent; counted, never shown one by one.
    #[serde(default)]
    respondent: Option<RespondentBody>,
    /// Answers to the trust's other survey questions, by question code
    /// (`GET /api/v1/feedback/survey`): `{"booking": "yes_definitely"}`.
    #[serde(default)]
    answers: std::collections::HashMap<String, String>,
}

#[derive(Deserialize, ToSchema)]
pub struct RespondentBody {
    /// Must be true for any of the rest to be kept.
    consent: bool,
    /// under_16, 16_24, 25_34, 35_44, 45_54, 55_64, 65_74, 75_plus
    #[serde(default)]
    age_band: String,
    /// female, male
    #[serde(default)]
    sex: String,
    /// asian, black, mixed, white, other
    #[serde(default)]
    ethnic_group: String,
    /// Index of Multiple Deprivation decile of their area, 1 (most deprived) to 10; 0 unknown.
    #[serde(default)]
    imd_decile: u32,
}

#[derive(Deserialize, ToSchema)]
pub struct SubmitFftBody {
    responses: Vec<FftResponseBody>,
}

#[derive(Serialize, ToSchema)]
pub struct RowErrorBody {
    /// 0-based position in `responses`.
    index: u32,
    field: String,
    reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct SubmitFftResult {
    accepted: u32,
    duplicates: u32,
    rejected: Vec<RowErrorBody>,
}

impl SubmitFftResult {
    /// What the feedback service said of a batch (FFT or PROM: their answers have one shape).
    fn new(accepted: u32, duplicates: u32, rejected: Vec<feedback::RowError>) -> Self {
        Self {
            accepted,
            duplicates,
            rejected: rejected
                .into_iter()
                .map(|r| RowErrorBody {
                    index: r.index,
                    field: r.field,
                    reason: r.reason,
                })
                .collect(),
        }
    }
}

/// Submit Friends and Family Test responses (up to 5,000 a call). Good rows are kept; bad rows
/// are reported by index, field and reason.
#[utoipa::path(post, path = "/api/v1/feedback/fft-responses", request_body = SubmitFftBody,
    responses((status = 200, body = SubmitFftResult), (status = 422, body = ErrorBody)))]
async fn submit_fft_responses(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Json(b): Json<SubmitFftBody>,
) -> ApiResult<Json<SubmitFftResult>> {
    csrf(&me, &headers)?;
    let responses = b
        .responses
        .into_iter()
        .map(|r| feedback::FftResponse {
            response_id: r.response_id,
            source: r.source,
            answer: feedback::FftAnswer::from_code(&r.answer) as i32,
            responded_on: r.responded_on,
            worked_well: r.worked_well,
            could_improve: r.could_improve,
            site: r.site,
            locality: r.locality,
            pathway: r.pathway,
            team: r.team,
            answers: r.answers,
            respondent: r.respondent.map(|w| feedback::Respondent {
                consent: w.consent,
                age_band: w.age_band,
                sex: w.sex,
                ethnic_group: w.ethnic_group,
                imd_decile: w.imd_decile,
            }),
        })
        .collect();
    let result = state
        .clients
        .feedback()
        .submit_fft_responses(state.clients.request(
            &me.caller,
            feedback::SubmitFftResponsesRequest {
                responses,
                dry_run: false,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(SubmitFftResult::new(
        result.accepted,
        result.duplicates,
        result.rejected,
    )))
}

#[derive(Deserialize, IntoParams)]
pub struct SummaryParams {
    /// First month, YYYY-MM.
    #[serde(default)]
    from: String,
    /// Last month, YYYY-MM.
    #[serde(default)]
    to: String,
    /// Only responses from this site (and so on for the others); empty for any.
    #[serde(default)]
    site: String,
    #[serde(default)]
    locality: String,
    #[serde(default)]
    pathway: String,
    #[serde(default)]
    team: String,
    /// web, sms, kiosk, paper, just_a_minute_card, ivr or app; empty for any.
    #[serde(default)]
    source: String,
}

impl SummaryParams {
    fn filter(&self) -> feedback::FftFilter {
        feedback::FftFilter {
            site: self.site.clone(),
            locality: self.locality.clone(),
            pathway: self.pathway.clone(),
            team: self.team.clone(),
            source: self.source.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct FftMonthBody {
    month: String,
    very_good: u64,
    good: u64,
    neither: u64,
    poor: u64,
    very_poor: u64,
    dont_know: u64,
    total: u64,
    /// (Very good + Good) / total × 100; absent with no responses.
    percent_positive: Option<f64>,
    /// (Poor + Very poor) / total × 100; absent with no responses.
    percent_negative: Option<f64>,
}

/// FFT figures per month for the caller's trust.
#[utoipa::path(get, path = "/api/v1/feedback/fft-summary", params(SummaryParams),
    responses((status = 200, body = Vec<FftMonthBody>), (status = 422, body = ErrorBody)))]
async fn fft_summary(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<SummaryParams>,
) -> ApiResult<Json<Vec<FftMonthBody>>> {
    let request = feedback::GetFftSummaryRequest {
        filter: Some(q.filter()),
        from_month: q.from,
        to_month: q.to,
        ..Default::default()
    };
    let summary = state
        .clients
        .feedback()
        .get_fft_summary(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok(Json(
        summary
            .months
            .into_iter()
            .map(|m| FftMonthBody {
                month: m.month,
                very_good: m.very_good,
                good: m.good,
                neither: m.neither,
                poor: m.poor,
                very_poor: m.very_poor,
                dont_know: m.dont_know,
                total: m.total,
                percent_positive: m.percent_positive,
                percent_negative: m.percent_negative,
            })
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct ChartParams {
    /// A target % positive (0 to 100), for the chart's assurance.
    #[serde(default)]
    target: String,
    /// Months (YYYY-MM, separated by commas) where the limits start again because the service
    /// changed; each must be a charted month.
    #[serde(default)]
    rebase: String,
}

#[derive(Serialize, ToSchema)]
pub struct SpcPointBody {
    period: String,
    value: f64,
    mean: f64,
    /// Lower and upper process limits; absent where there are too few points for them.
    lpl: Option<f64>,
    upl: Option<f64>,
    /// common_cause, special_cause_improvement, special_cause_concern or special_cause_neutral.
    #[serde(rename = "type")]
    point_type: String,
    /// Which rule made it a special cause, in words; empty for common cause.
    rule: String,
}

#[derive(Serialize, ToSchema)]
pub struct SpcChartBody {
    points: Vec<SpcPointBody>,
    /// pass, fail, hit_or_miss, or none without a target.
    assurance: String,
    warnings: Vec<String>,
    target: Option<f64>,
}

/// % positive month by month as a Making Data Count XmR chart (higher is better), with a target
/// and rebasing if given.
#[utoipa::path(get, path = "/api/v1/feedback/fft-chart", params(SummaryParams, ChartParams),
    responses((status = 200, body = SpcChartBody), (status = 422, body = ErrorBody)))]
async fn fft_chart(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<SummaryParams>,
    Query(c): Query<ChartParams>,
) -> ApiResult<Json<SpcChartBody>> {
    let (target, rebase_months) = crate::fft::chart_settings(&c.target, &c.rebase)?;
    let request = feedback::GetFftSummaryRequest {
        filter: Some(q.filter()),
        from_month: q.from,
        to_month: q.to,
        target,
        rebase_months,
        leave_out_small_months: false,
    };
    let chart = state
        .clients
        .feedback()
        .get_fft_summary(state.clients.request(&me.caller, request))
        .await
        .map_err(|s| AppError::from(s).with_fields(crate::pages::period_field))?
        .into_inner()
        .positive_chart
        .unwrap_or_default();
    Ok(Json(chart.into()))
}

impl From<feedback::SpcChart> for SpcChartBody {
    fn from(chart: feedback::SpcChart) -> Self {
        Self {
            points: chart
                .points
                .into_iter()
                .map(|p| SpcPointBody {
                    period: p.period,
                    value: p.value,
                    mean: p.mean,
                    lpl: p.lpl,
                    upl: p.upl,
                    point_type: p.r#type,
                    rule: p.rule,
                })
                .collect(),
            assurance: chart.assurance,
            warnings: chart.warnings,
            target: chart.target,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct BreakdownParams {
    /// site, locality, pathway, team or source; or age_band, sex, ethnic_group or imd_decile
    /// (who answered: by period only, so no place may be given with them).
    by: String,
}

#[derive(Serialize, ToSchema)]
pub struct FftBreakdownRowBody {
    /// The value of the dimension; empty for not known (and for the row of all responses).
    value: String,
    /// The number of responses: absent when the figure is hidden whole (the dashboards' figures,
    /// protected across every output; the trust's own breakdown always shows it).
    total: Option<u64>,
    /// Each count is absent when hidden (small numbers, or so that a hidden one cannot be
    /// worked out or narrowed down).
    very_good: Option<u64>,
    good: Option<u64>,
    neither: Option<u64>,
    poor: Option<u64>,
    very_poor: Option<u64>,
    dont_know: Option<u64>,
    percent_positive: Option<f64>,
    percent_negative: Option<f64>,
    /// none, primary (1 to 4 responses), secondary (hidden so a primary one cannot be worked
    /// out) or cascade.
    suppression: String,
    /// The Wilson 95% interval of percent_positive; absent when it is.
    positive_low_95: Option<f64>,
    positive_high_95: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct FftBreakdownBody {
    by: String,
    /// Every response in the period and filter.
    all: Option<FftBreakdownRowBody>,
    rows: Vec<FftBreakdownRowBody>,
}

impl FftBreakdownRowBody {
    pub(crate) fn total(&self) -> Option<u64> {
        self.total
    }
    pub(crate) fn percent_positive(&self) -> Option<f64> {
        self.percent_positive
    }
    pub(crate) fn percent_negative(&self) -> Option<f64> {
        self.percent_negative
    }
    pub(crate) fn suppression(&self) -> &str {
        &self.suppression
    }
    pub(crate) fn interval(&self) -> Option<(f64, f64)> {
        self.positive_low_95.zip(self.positive_high_95)
    }
    /// The six counts in answer order, each absent when hidden.
    pub(crate) fn counts(&self) -> [Option<u64>; 6] {
        [
            self.very_good,
            self.good,
            self.neither,
            self.poor,
            self.very_poor,
            self.dont_know,
        ]
    }
}

impl From<feedback::FftBreakdownRow> for FftBreakdownRowBody {
    fn from(r: feedback::FftBreakdownRow) -> Self {
        Self {
            value: r.value,
            total: r.total,
            very_good: r.very_good,
            good: r.good,
            neither: r.neither,
            poor: r.poor,
            very_poor: r.very_poor,
            dont_know: r.dont_know,
            percent_positive: r.percent_positive,
            percent_negative: r.percent_negative,
            suppression: r.suppression,
            positive_low_95: r.positive_low_95,
            positive_high_95: r.positive_high_95,
        }
    }
}

/// FFT figures broken down by a place or by who answered, small numbers suppressed as NHS
/// England publishes them.
#[utoipa::path(get, path = "/api/v1/feedback/fft-breakdown", params(BreakdownParams, SummaryParams),
    responses((status = 200, body = FftBreakdownBody), (status = 422, body = ErrorBody)))]
async fn fft_breakdown(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<BreakdownParams>,
    Query(p): Query<SummaryParams>,
) -> ApiResult<Json<FftBreakdownBody>> {
    let request = feedback::GetFftBreakdownRequest {
        filter: Some(p.filter()),
        from_month: p.from,
        to_month: p.to,
        by: q.by,
    };
    let b = state
        .clients
        .feedback()
        .get_fft_breakdown(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok(Json(FftBreakdownBody {
        by: b.by,
        all: b.all.map(Into::into),
        rows: b.rows.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct PromResponseBody {
    /// The source's own id: the same id is counted once.
    response_id: String,
    /// msk_hq (14 items, each 0-4) or sure (4 items, each 0 or 1).
    instrument: String,
    /// The trust's reference to the episode of care, linking its questionnaires; never an NHS number.
    episode_id: String,
    /// YYYY-MM-DD
    completed_on: String,
    /// Item scores in item order.
    items: Vec<u32>,
    #[serde(default)]
    pathway: String,
    /// web, sms, kiosk, paper, just_a_minute_card, ivr, app
    source: String,
}

#[derive(Deserialize, ToSchema)]
pub struct SubmitPromBody {
    responses: Vec<PromResponseBody>,
    /// Validate and count, storing nothing.
    #[serde(default)]
    dry_run: bool,
}

/// Submit PROM questionnaires (up to 5,000 a call) as item scores. Good rows are kept; bad rows
/// are reported by index, field and reason.
#[utoipa::path(post, path = "/api/v1/feedback/prom-responses", request_body = SubmitPromBody,
    responses((status = 200, body = SubmitFftResult), (status = 422, body = ErrorBody)))]
async fn submit_prom_responses(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Json(b): Json<SubmitPromBody>,
) -> ApiResult<Json<SubmitFftResult>> {
    csrf(&me, &headers)?;
    let request = feedback::SubmitPromResponsesRequest {
        responses: b
            .responses
            .into_iter()
            .map(|r| feedback::PromResponse {
                response_id: r.response_id,
                instrument: r.instrument,
                episode_id: r.episode_id,
                completed_on: r.completed_on,
                items: r.items,
                pathway: r.pathway,
                source: r.source,
            })
            .collect(),
        dry_run: b.dry_run,
    };
    let result = state
        .clients
        .feedback()
        .submit_prom_responses(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok(Json(SubmitFftResult::new(
        result.accepted,
        result.duplicates,
        result.rejected,
    )))
}

#[derive(Deserialize, IntoParams)]
pub struct PromSummaryParams {
    /// First completion date, YYYY-MM-DD.
    #[serde(default)]
    from: String,
    /// Last completion date, YYYY-MM-DD.
    #[serde(default)]
    to: String,
    /// One pathway; empty for all.
    #[serde(default)]
    pathway: String,
    /// MSK-HQ change that matters, in points (default 6).
    #[serde(default)]
    threshold: u32,
}

#[derive(Serialize, ToSchema)]
pub struct PromSummaryBody {
    /// Absent when hidden: a figure of 1 to 4 questionnaires, or one that would give such a
    /// figure back (each month's pathways and total are protected together).
    msk_hq_responses: Option<u64>,
    msk_hq_mean_total: Option<f64>,
    /// Follow-ups: each later questionnaire of an episode, paired with its first, counted in
    /// the month it was completed. Absent when hidden.
    msk_hq_episodes_paired: Option<u64>,
    msk_hq_mean_change: Option<f64>,
    msk_hq_threshold: u32,
    /// Share (0-1) of follow-ups improved by at least the threshold.
    msk_hq_improved: Option<f64>,
    msk_hq_worsened: Option<f64>,
    /// Absent when hidden.
    sure_responses: Option<u64>,
    sure_mean_total: Option<f64>,
    /// Share (0-1) with a SURE total below 4.
    sure_conflict: Option<f64>,
    pathways: Vec<String>,
    /// Whether an MSK-HQ figure (questionnaires or follow-ups) is hidden.
    msk_hq_withheld: bool,
    sure_withheld: bool,
}

/// PROM figures for the caller's trust.
#[utoipa::path(get, path = "/api/v1/feedback/prom-summary", params(PromSummaryParams),
    responses((status = 200, body = PromSummaryBody), (status = 422, body = ErrorBody)))]
async fn prom_summary(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<PromSummaryParams>,
) -> ApiResult<Json<PromSummaryBody>> {
    let request = feedback::GetPromSummaryRequest {
        from: q.from,
        to: q.to,
        pathway: q.pathway,
        msk_hq_threshold: q.threshold,
    };
    let s = state
        .clients
        .feedback()
        .get_prom_summary(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok(Json(PromSummaryBody {
        msk_hq_responses: s.msk_hq_responses,
        msk_hq_mean_total: s.msk_hq_mean_total,
        msk_hq_episodes_paired: s.msk_hq_episodes_paired,
        msk_hq_mean_change: s.msk_hq_mean_change,
        msk_hq_threshold: s.msk_hq_threshold,
        msk_hq_improved: s.msk_hq_improved,
        msk_hq_worsened: s.msk_hq_worsened,
        sure_responses: s.sure_responses,
        sure_mean_total: s.sure_mean_total,
        sure_conflict: s.sure_conflict,
        pathways: s.pathways,
        msk_hq_withheld: s.msk_hq_withheld,
        sure_withheld: s.sure_withheld,
    }))
}
