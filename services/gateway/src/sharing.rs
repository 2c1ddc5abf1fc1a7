//! Partners shared across an ICS: leads see the partners of their ICS's other trusts who agreed
//! to be offered across it, and add one to their own People Bank.

use alongside_proto::people::v1 as people;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;
use sea_orm::EntityTrait;
use serde::Deserialize;

use crate::access::ENGAGEMENT_TEAM;
use crate::error::AppError;
use crate::pages::{base, merge, page_request, page_value, render};
use crate::session::SignedIn;
use crate::store::tenant;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/partners/shared", get(shared))
        .route("/partners/shared/{id}/add", post(add))
}

#[derive(Deserialize)]
struct SharedQuery {
    #[serde(default)]
    search: String,
    #[serde(default)]
    page: Option<u32>,
}

async fn shared(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<SharedQuery>,
) -> Result<Html<String>, AppError> {
    if !me.has_role(ENGAGEMENT_TEAM) {
        return Err(AppError::Forbidden);
    }
    let request = people::ListSharedPartnersRequest {
        page: page_request(q.page, 25),
        search: q.search.clone(),
    };
    let answer = state
        .clients
        .people()
        .list_shared_partners(state.clients.request(&me.caller, request))
        .await;
    let (listed, unavailable) = match answer.map_err(AppError::from) {
        Ok(listed) => (listed.into_inner(), None),
        // A trust outside any ICS has nobody shared with it.
        Err(AppError::Invalid(errors)) => (
            people::ListPartnersResponse::default(),
            errors.first().map(|e| {
                let mut reason = e.reason.clone();
                if let Some(first) = reason.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                format!("{reason}.")
            }),
        ),
        Err(err) => return Err(err),
    };
    let names: std::collections::BTreeMap<String, String> = tenant::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.ods_code, t.name))
        .collect();
    let partners: Vec<minijinja::Value> = listed
        .partners
        .iter()
        .map(|p| context! { id => p.id, given_name => p.given_name, family_name => p.family_name, locality => p.locality, trust => names.get(&p.tenant_id).unwrap_or(&p.tenant_id) })
        .collect();
    render(
        &state,
        "shared.html",
        merge(
            base(&me, "/partners", "Partners across the ICS"),
            context! { partners => partners, page => page_value(listed.page), search => q.search, unavailable => unavailable },
        ),
    )
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf_token: String,
}

async fn add(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    let added = state
        .clients
        .people()
        .adopt_shared_partner(state.clients.request(
            &me.caller,
            people::AdoptSharedPartnerRequest { partner_id: id },
        ))
        .await?
        .into_inner();
    Ok(Redirect::to(&format!("/partners/{}?notice=joined", added.id)).into_response())
}
