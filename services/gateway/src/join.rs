//! Coming forward and getting in: the public expression-of-interest form (no sign-in), and the
//! one-time invitation link with which a partner chooses their password.

use std::collections::BTreeMap;

use alongside_platform::{Caller, OdsCode, Role};
use alongside_proto::people::v1 as people;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::CookieJar;
use http::StatusCode;
use minijinja::context;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;

use crate::access::LEADS;
use crate::error::AppError;
use crate::pages::{base, errors_map, merge, render};
use crate::session::{self, SignedIn};
use crate::store::{invitation, tenant, user};
use crate::AppState;

/// The privacy notice shown on the form; recorded with the consent it asks for.
pub const PRIVACY_NOTICE_VERSION: &str = "2026-11";
/// How long an invitation link works.
const INVITATION_DAYS: i64 = 14;
const MIN_PASSWORD: usize = 12;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/join", get(choose_trust))
        .route("/join/{ods}", get(join_form).post(join))
        .route("/partners/{id}/invite", post(invite))
        .route("/invite/{token}", get(accept_form).post(accept))
}

pub(crate) async fn trust(state: &AppState, ods: &str) -> Result<tenant::Model, AppError> {
    tenant::Entity::find_by_id(ods.to_ascii_uppercase())
        .one(&state.db)
        .await?
        .filter(|t| t.kind == "trust")
        .ok_or(AppError::NotFound)
}

async fn choose_trust(State(state): State<AppState>) -> Result<Html<String>, AppError> {
    let trusts: Vec<(String, String)> = tenant::Entity::find()
        .filter(tenant::Column::Kind.eq("trust"))
        .order_by_asc(tenant::Column::Name)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.ods_code, t.name))
        .collect();
    render(
        &state,
        "join_choose.html",
        context! { title => "Get involved", trusts => trusts },
    )
}

#[derive(Deserialize, Default)]
struct JoinForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    locality: String,
    #[serde(default)]
    interests: String,
    #[serde(default)]
    consent_to_contact: Option<String>,
    /// Left empty by people; filled in by form-filling robots.
    #[serde(default)]
    website: String,
}

fn join_page(
    state: &AppState,
    trust: &tenant::Model,
    csrf_token: &str,
    typed: &JoinForm,
    errors: BTreeMap<String, String>,
) -> Result<Html<String>, AppError> {
    render(
        state,
        "join.html",
        context! {
            title => format!("Get involved with {}", trust.name),
            trust => context! { ods => trust.ods_code, name => trust.name },
            csrf_token => csrf_token,
            typed => context! {
                given_name => typed.given_name, family_name => typed.family_name,
                email => typed.email, phone => typed.phone, locality => typed.locality,
                interests => typed.interests, consent_to_contact => typed.consent_to_contact.is_some(),
            },
            errors => errors,
            notice_version => PRIVACY_NOTICE_VERSION,
        },
    )
}

async fn join_form(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(ods): Path<String>,
) -> Result<Response, AppError> {
    let trust = trust(&state, &ods).await?;
    let token = session::random_token();
    let html = join_page(
        &state,
        &trust,
        &token,
        &JoinForm::default(),
        BTreeMap::new(),
    )?;
    let jar = jar.add(session::form_csrf_cookie(
        token,
        &format!("/join/{}", trust.ods_code),
        state.settings.secure_cookies(),
    ));
    Ok((jar, html).into_response())
}

async fn join(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(ods): Path<String>,
    Form(form): Form<JoinForm>,
) -> Result<Response, AppError> {
    let trust = trust(&state, &ods).await?;
    session::check_form_csrf(&jar, &form.csrf_token)?;
    let thanks = || {
        render(
            &state,
            "join_thanks.html",
            context! { title => "Thank you", trust => trust.name },
        )
    };
    if !form.website.is_empty() {
        tracing::info!(tenant = %trust.ods_code, "expression of interest dropped: the hidden field was filled");
        return Ok(thanks()?.into_response());
    }
    let caller = Caller {
        subject: "public-form".into(),
        tenant: OdsCode::parse(&trust.ods_code).map_err(|e| AppError::Internal(e.to_string()))?,
        role: Role::Public,
        ics: trust.parent.as_deref().and_then(|p| OdsCode::parse(p).ok()),
    };
    let request = people::ExpressInterestRequest {
        given_name: form.given_name.clone(),
        family_name: form.family_name.clone(),
        email: form.email.clone(),
        phone: form.phone.clone(),
        locality: form.locality.clone(),
        interests: form.interests.clone(),
        consent_to_contact: form.consent_to_contact.is_some(),
        notice_version: PRIVACY_NOTICE_VERSION.into(),
    };
    match state
        .clients
        .people()
        .express_interest(state.clients.request(&caller, request))
        .await
        .map_err(AppError::from)
    {
        Ok(_) => Ok(thanks()?.into_response()),
        Err(err @ AppError::Invalid(_)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            join_page(&state, &trust, &form.csrf_token, &form, errors_map(&err))?,
        )
            .into_response()),
        Err(err) => Err(err),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf_token: String,
}

/// A lead creates a one-time link for a partner to choose their password.
async fn invite(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    if !me.has_role(LEADS) {
        return Err(AppError::Forbidden);
    }
    let partner = state
        .clients
        .people()
        .get_partner(
            state
                .clients
                .request(&me.caller, people::GetPartnerRequest { id: id.clone() }),
        )
        .await?
        .into_inner();
    let refusal = if matches!(partner.status.as_str(), "erased" | "left") {
        Some("Only a partner who is still with the People Bank can be invited.")
    } else if user::Entity::find()
        .filter(user::Column::Email.eq(&partner.email))
        .one(&state.db)
        .await?
        .is_some()
    {
        Some("This partner already has an account: they can sign in, or reset their password with an administrator.")
    } else {
        None
    };
    if let Some(message) = refusal {
        return Err(AppError::Conflict(message.into()));
    }
    let token = session::random_token();
    let now = state.clock.now();
    let expires = now + time::Duration::days(INVITATION_DAYS);
    invitation::Entity::insert(invitation::ActiveModel {
        token_hash: Set(session::digest(&token)),
        tenant_id: Set(me.caller.tenant.to_string()),
        partner_id: Set(partner.id.clone()),
        email: Set(partner.email.clone()),
        display_name: Set(format!("{} {}", partner.given_name, partner.family_name)),
        created_by: Set(me.user.id.clone()),
        created_at: Set(alongside_platform::format_rfc3339(now)),
        expires_at: Set(expires.unix_timestamp()),
        used_at: Set(None),
    })
    .exec_without_returning(&state.db)
    .await?;
    tracing::info!(partner_id = %partner.id, "invitation created");
    let link = format!(
        "{}/invite/{token}",
        state.settings.http.public_url.trim_end_matches('/')
    );
    Ok(render(
        &state,
        "invitation.html",
        merge(
            base(&me, "/partners", "Invitation to the portal"),
            context! {
                partner => context! { id => partner.id, name => format!("{} {}", partner.given_name, partner.family_name), email => partner.email },
                link => link,
                expires_on => expires.date().to_string(),
            },
        ),
    )?
    .into_response())
}

/// The invitation of `token`, if it is unused and in date.
async fn open_invitation(state: &AppState, token: &str) -> Result<invitation::Model, AppError> {
    let now = state.clock.now().unix_timestamp();
    invitation::Entity::find_by_id(session::digest(token))
        .one(&state.db)
        .await?
        .filter(|i| i.used_at.is_none() && i.expires_at > now)
        .ok_or_else(|| {
            AppError::Conflict(
                "This invitation link has been used or has expired. Ask your engagement lead for a new one.".into(),
            )
        })
}

fn accept_page(
    state: &AppState,
    invitation: &invitation::Model,
    csrf_token: &str,
    errors: BTreeMap<String, String>,
) -> Result<Html<String>, AppError> {
    render(
        state,
        "invite_accept.html",
        context! { title => "Choose your password", name => invitation.display_name, email => invitation.email, csrf_token => csrf_token, errors => errors, min => MIN_PASSWORD },
    )
}

async fn accept_form(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let invitation = open_invitation(&state, &token).await?;
    let csrf = session::random_token();
    let html = accept_page(&state, &invitation, &csrf, BTreeMap::new())?;
    let jar = jar.add(session::form_csrf_cookie(
        csrf,
        &format!("/invite/{token}"),
        state.settings.secure_cookies(),
    ));
    Ok((jar, html).into_response())
}

#[derive(Deserialize)]
struct AcceptForm {
    csrf_token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// What is wrong with a chosen password, by field.
fn password_problems(password: &str, confirm: &str) -> BTreeMap<String, String> {
    let mut errors = BTreeMap::new();
    let length = password.chars().count();
    if length < MIN_PASSWORD {
        errors.insert(
            "password".into(),
            format!("Password: must be at least {MIN_PASSWORD} characters (three random words work well)"),
        );
    } else if length > 128 {
        errors.insert(
            "password".into(),
            "Password: must be 128 characters or fewer".into(),
        );
    } else if password != confirm {
        errors.insert(
            "confirm".into(),
            "Type the same password again: the two do not match".into(),
        );
    }
    errors
}

async fn accept(
    State(state): State<AppState>,
    address: crate::throttle::ClientAddress,
    jar: CookieJar,
    Path(token): Path<String>,
    Form(form): Form<AcceptForm>,
) -> Result<Response, AppError> {
    session::check_form_csrf(&jar, &form.csrf_token)?;
    let invitation = open_invitation(&state, &token).await?;
    let errors = password_problems(&form.password, &form.confirm);
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            accept_page(&state, &invitation, &form.csrf_token, errors)?,
        )
            .into_response());
    }
    // The link works once: only the request that marks it used goes on.
    let claimed = invitation::Entity::update_many()
        .col_expr(
            invitation::Column::UsedAt,
            sea_orm::sea_query::Expr::value(state.clock.now_rfc3339()),
        )
        .filter(invitation::Column::TokenHash.eq(&invitation.token_hash))
        .filter(invitation::Column::UsedAt.is_null())
        .exec(&state.db)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(AppError::Conflict(
            "This invitation link has just been used. Sign in instead.".into(),
        ));
    }
    crate::seed::create_user(
        &state.db,
        &invitation.email,
        &invitation.display_name,
        &form.password,
        &invitation.tenant_id,
        Role::Partner,
        Some(invitation.partner_id.clone()),
    )
    .await?;
    let Some((session_token, _)) =
        session::sign_in(&state, address, &invitation.email, &form.password).await?
    else {
        return Err(AppError::Conflict(
            "An account with this email address already exists. Sign in instead.".into(),
        ));
    };
    tracing::info!(partner_id = %invitation.partner_id, "invitation accepted");
    let jar = jar.add(session::session_cookie(
        session_token,
        state.settings.secure_cookies(),
    ));
    Ok((jar, Redirect::to("/my-profile")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_enough_and_typed_twice() {
        assert!(password_problems("correct horse battery", "correct horse battery").is_empty());
        assert!(password_problems("short", "short").contains_key("password"));
        assert!(password_problems("correct horse battery", "correct horse").contains_key("confirm"));
        assert!(password_problems(&"x".repeat(129), &"x".repeat(129)).contains_key("password"));
    }
}
