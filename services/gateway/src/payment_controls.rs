//! The trust's money controls (DOMAIN.md §9), as a page and as JSON: finance and admins read
//! them; only admins change them. Whoever changed a partner's bank details never approves or
//! pays that partner, whatever is set here; the setting is whether a payment run is confirmed by
//! someone other than who drafted it.

use alongside_proto::payments::v1 as payments;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use http::HeaderMap;
use minijinja::context;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{PAYMENT_CONTROL_READERS, PAYMENT_CONTROL_SETTERS};
use crate::api::{csrf, ApiResult};
use crate::error::{AppError, ErrorBody};
use crate::pages::{base, merge, render};
use crate::session::SignedIn;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/payments/controls", get(page).post(page_set))
        .route(
            "/api/v1/payment-controls",
            get(get_controls).put(put_controls),
        )
}

/// The trust's money controls.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct PaymentControlsBody {
    /// A payment run is confirmed by someone other than who drafted it.
    pub separate_confirmer: bool,
    /// Who set them last, and when; empty until set (ignored when sent).
    #[serde(default)]
    pub updated_by: String,
    #[serde(default)]
    pub updated_at: String,
}

impl From<payments::PaymentControls> for PaymentControlsBody {
    fn from(c: payments::PaymentControls) -> Self {
        Self {
            separate_confirmer: c.separate_confirmer,
            updated_by: c.updated_by,
            updated_at: c.updated_at,
        }
    }
}

async fn read(state: &AppState, me: &SignedIn) -> Result<payments::PaymentControls, AppError> {
    me.require(PAYMENT_CONTROL_READERS)?;
    Ok(state
        .clients
        .payments()
        .get_payment_controls(
            state
                .clients
                .request(&me.caller, payments::GetPaymentControlsRequest {}),
        )
        .await?
        .into_inner())
}

async fn set(
    state: &AppState,
    me: &SignedIn,
    separate_confirmer: bool,
) -> Result<payments::PaymentControls, AppError> {
    me.require(PAYMENT_CONTROL_SETTERS)?;
    let controls = payments::PaymentControls {
        separate_confirmer,
        ..Default::default()
    };
    Ok(state
        .clients
        .payments()
        .set_payment_controls(state.clients.request(&me.caller, controls))
        .await?
        .into_inner())
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<NoticeQuery>,
) -> Result<Html<String>, AppError> {
    let controls = read(&state, &me).await?;
    let notice = (q.notice.as_deref() == Some("saved")).then_some("The controls are saved.");
    render(
        &state,
        "payment_controls.html",
        merge(
            base(&me, "/payments/controls", "Money controls"),
            context! {
                controls => PaymentControlsBody::from(controls),
                can_edit => me.has_role(PAYMENT_CONTROL_SETTERS),
                notice => notice,
            },
        ),
    )
}

#[derive(Deserialize)]
struct ControlsForm {
    csrf_token: String,
    /// A checkbox: present when ticked.
    separate_confirmer: Option<String>,
}

async fn page_set(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<ControlsForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    set(&state, &me, form.separate_confirmer.is_some()).await?;
    Ok(Redirect::to("/payments/controls?notice=saved").into_response())
}

/// The trust's money controls (finance and admins).
#[utoipa::path(get, path = "/api/v1/payment-controls",
    responses((status = 200, body = PaymentControlsBody), (status = 403, body = ErrorBody)))]
pub async fn get_controls(
    State(state): State<AppState>,
    me: SignedIn,
) -> ApiResult<Json<PaymentControlsBody>> {
    Ok(Json(read(&state, &me).await?.into()))
}

/// Set the trust's money controls (admins only, so finance cannot lift a control on themselves).
#[utoipa::path(put, path = "/api/v1/payment-controls", request_body = PaymentControlsBody,
    responses((status = 200, body = PaymentControlsBody), (status = 403, body = ErrorBody)))]
pub async fn put_controls(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Json(body): Json<PaymentControlsBody>,
) -> ApiResult<Json<PaymentControlsBody>> {
    csrf(&me, &headers)?;
    Ok(Json(
        set(&state, &me, body.separate_confirmer).await?.into(),
    ))
}
