//! A partner's profile, in the API and on its page: needs, lived experience, skills,
//! availability, payment preference and (masked) bank details. The partner edits their own; a
//! lead edits on their behalf; staff read it without the payment section; finance sees and sets
//! only the payment part.

use std::collections::BTreeMap;

use alongside_platform::error::FieldError;
use alongside_platform::Role;
use alongside_proto::people::v1 as people;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use http::{HeaderMap, StatusCode};
use minijinja::context;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::LEADS;
use crate::api::{csrf, ApiResult};
use crate::error::{AppError, ErrorBody};
use crate::pages::{base, errors_map, merge, render, NoticeQuery};
use crate::session::SignedIn;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/partners/{id}/profile",
            get(get_profile).put(update_profile),
        )
        .route(
            "/api/v1/partners/{id}/bank-details",
            get(reveal_bank_details).put(set_bank_details),
        )
        .route(
            "/partners/{id}/profile",
            get(profile_page).post(profile_save),
        )
        .route("/partners/{id}/bank-details", post(bank_save))
        .route("/partners/{id}/consent", post(consent_save))
        .route("/my-profile", get(my_profile))
}

#[derive(Serialize, ToSchema)]
pub struct PaymentBody {
    /// paid, reduced or declined (expenses only).
    preference: String,
    /// For reduced: the amount per activity, in pence.
    reduced_amount_pence: i64,
    receives_benefits: bool,
    /// Which: esa, carers_allowance, universal_credit, pip_dla_aa, other (each has its own limit).
    benefits: Vec<String>,
    /// Masked, e.g. "Sort code ••-••-50, account ••••5678"; empty when none are held.
    bank_details_masked: String,
    bank_details_updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileBody {
    partner_id: String,
    /// email, phone, text or post.
    contact_method: String,
    accessibility_needs: String,
    lived_experience: Vec<String>,
    skills: Vec<String>,
    /// weekday_daytime, weekday_evening, weekend.
    availability: Vec<String>,
    availability_note: String,
    /// Absent for staff.
    payment: Option<PaymentBody>,
    updated_at: String,
    /// True for finance, who see the payment section only.
    about_withheld: bool,
    /// large_print, bsl, easy_read, hearing_loop, step_free.
    adjustments: Vec<String>,
    address: String,
    postcode: String,
}

impl From<people::Profile> for ProfileBody {
    fn from(p: people::Profile) -> Self {
        Self {
            partner_id: p.partner_id,
            contact_method: p.contact_method,
            accessibility_needs: p.accessibility_needs,
            lived_experience: p.lived_experience,
            skills: p.skills,
            availability: p.availability,
            availability_note: p.availability_note,
            payment: p.payment.map(|s| PaymentBody {
                preference: s.preference,
                reduced_amount_pence: s.reduced_amount_pence,
                receives_benefits: s.receives_benefits,
                benefits: s.benefits,
                bank_details_masked: s.bank_details_masked,
                bank_details_updated_at: s.bank_details_updated_at,
            }),
            updated_at: p.updated_at,
            about_withheld: p.about_withheld,
            adjustments: p.adjustments,
            address: p.address,
            postcode: p.postcode,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateProfileBody {
    contact_method: String,
    #[serde(default)]
    accessibility_needs: String,
    #[serde(default)]
    lived_experience: Vec<String>,
    #[serde(default)]
    skills: Vec<String>,
    #[serde(default)]
    availability: Vec<String>,
    #[serde(default)]
    availability_note: String,
    payment_preference: String,
    #[serde(default)]
    reduced_amount_pence: i64,
    #[serde(default)]
    receives_benefits: bool,
    /// When they receive benefits, which: esa, carers_allowance, universal_credit, pip_dla_aa,
    /// other. Payments warns them and finance near each benefit's earnings limit.
    #[serde(default)]
    benefits: Vec<String>,
    /// large_print, bsl, easy_read, hearing_loop, step_free.
    #[serde(default)]
    adjustments: Vec<String>,
    /// Required when contact_method is post.
    #[serde(default)]
    address: String,
    /// A UK postcode; required when contact_method is post.
    #[serde(default)]
    postcode: String,
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct BankDetailsBody {
    account_name: String,
    sort_code: String,
    account_number: String,
}

/// A partner's consents: the latest of each purpose, and every record.
pub(crate) async fn fetch_consents(
    state: &AppState,
    me: &SignedIn,
    id: &str,
) -> Result<people::ListConsentsResponse, AppError> {
    Ok(state
        .clients
        .people()
        .list_consents(
            state
                .clients
                .request(&me.caller, people::GetPartnerRequest { id: id.into() }),
        )
        .await?
        .into_inner())
}

async fn fetch_profile(
    state: &AppState,
    me: &SignedIn,
    id: &str,
) -> Result<people::Profile, AppError> {
    Ok(state
        .clients
        .people()
        .get_profile(
            state
                .clients
                .request(&me.caller, people::GetPartnerRequest { id: id.into() }),
        )
        .await?
        .into_inner())
}

/// A partner's profile as the caller's role may see it. Every read is audited.
#[utoipa::path(get, path = "/api/v1/partners/{id}/profile", params(("id" = String, Path)),
    responses((status = 200, body = ProfileBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_profile(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<ProfileBody>> {
    Ok(Json(fetch_profile(&state, &me, &id).await?.into()))
}

/// Changes the profile (the partner, or a lead on their behalf). Bank details are set apart.
#[utoipa::path(put, path = "/api/v1/partners/{id}/profile", params(("id" = String, Path)), request_body = UpdateProfileBody,
    responses((status = 200, body = ProfileBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_profile(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<UpdateProfileBody>,
) -> ApiResult<Json<ProfileBody>> {
    csrf(&me, &headers)?;
    let request = people::UpdateProfileRequest {
        partner_id: id,
        contact_method: b.contact_method,
        accessibility_needs: b.accessibility_needs,
        lived_experience: b.lived_experience,
        skills: b.skills,
        availability: b.availability,
        availability_note: b.availability_note,
        payment_preference: b.payment_preference,
        reduced_amount_pence: b.reduced_amount_pence,
        receives_benefits: b.receives_benefits,
        benefits: b.benefits,
        adjustments: b.adjustments,
        address: b.address,
        postcode: b.postcode,
    };
    let saved = state
        .clients
        .people()
        .update_profile(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok(Json(saved.into()))
}

/// Sets bank details (the partner, or finance). Stored encrypted; answered masked.
#[utoipa::path(put, path = "/api/v1/partners/{id}/bank-details", params(("id" = String, Path)), request_body = BankDetailsBody,
    responses((status = 200, body = ProfileBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_bank_details(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<BankDetailsBody>,
) -> ApiResult<Json<ProfileBody>> {
    csrf(&me, &headers)?;
    Ok(Json(save_bank(&state, &me, id, b).await?.into()))
}

async fn save_bank(
    state: &AppState,
    me: &SignedIn,
    partner_id: String,
    b: BankDetailsBody,
) -> Result<people::Profile, AppError> {
    let request = people::SetBankDetailsRequest {
        partner_id,
        account_name: b.account_name,
        sort_code: b.sort_code,
        account_number: b.account_number,
    };
    Ok(state
        .clients
        .people()
        .set_bank_details(state.clients.request(&me.caller, request))
        .await?
        .into_inner())
}

/// The bank details in full, for finance to make a payment. Every call is audited.
#[utoipa::path(get, path = "/api/v1/partners/{id}/bank-details", params(("id" = String, Path)),
    responses((status = 200, body = BankDetailsBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reveal_bank_details(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<BankDetailsBody>> {
    let details = state
        .clients
        .people()
        .reveal_bank_details(
            state
                .clients
                .request(&me.caller, people::GetPartnerRequest { id }),
        )
        .await?
        .into_inner();
    Ok(Json(BankDetailsBody {
        account_name: details.account_name,
        sort_code: details.sort_code,
        account_number: details.account_number,
    }))
}

// ---- the page ----

const CONTACT_OPTIONS: &[(&str, &str)] = &[
    ("email", "Email"),
    ("phone", "Phone call"),
    ("text", "Text message"),
    ("post", "Letter"),
];
const AVAILABILITY_OPTIONS: &[(&str, &str)] = &[
    ("weekday_daytime", "Weekday daytimes"),
    ("weekday_evening", "Weekday evenings"),
    ("weekend", "Weekends"),
];
const PAYMENT_OPTIONS: &[(&str, &str, &str)] = &[
    ("paid", "Paid at the trust's rate", "For each activity, as the rate card sets."),
    (
        "reduced",
        "Paid a reduced amount",
        "You choose the most you want for each activity, for example to stay within a benefit limit.",
    ),
    (
        "declined",
        "No payment, expenses only",
        "Travel and other costs are still repaid.",
    ),
];

/// What the profile form sends. Checkboxes arrive only when ticked.
#[derive(Deserialize, Default)]
struct ProfileForm {
    csrf_token: String,
    #[serde(default)]
    contact_method: String,
    #[serde(default)]
    accessibility_needs: String,
    #[serde(default)]
    lived_experience: String,
    #[serde(default)]
    skills: String,
    #[serde(default)]
    weekday_daytime: Option<String>,
    #[serde(default)]
    weekday_evening: Option<String>,
    #[serde(default)]
    weekend: Option<String>,
    #[serde(default)]
    availability_note: String,
    #[serde(default)]
    payment_preference: String,
    #[serde(default)]
    reduced_amount: String,
    #[serde(default)]
    receives_benefits: Option<String>,
    #[serde(default)]
    esa: Option<String>,
    #[serde(default)]
    carers_allowance: Option<String>,
    #[serde(default)]
    universal_credit: Option<String>,
    #[serde(default)]
    pip_dla_aa: Option<String>,
    #[serde(default)]
    other: Option<String>,
    #[serde(default)]
    large_print: Option<String>,
    #[serde(default)]
    bsl: Option<String>,
    #[serde(default)]
    easy_read: Option<String>,
    #[serde(default)]
    hearing_loop: Option<String>,
    #[serde(default)]
    step_free: Option<String>,
    #[serde(default)]
    address: String,
    #[serde(default)]
    postcode: String,
}

use alongside_proto::CONSENT_PURPOSES;

#[derive(Deserialize)]
struct ConsentForm {
    csrf_token: String,
    #[serde(default)]
    purpose: String,
    /// `give` or `withdraw`.
    #[serde(default)]
    action: String,
}

async fn consent_save(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ConsentForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    let request = people::RecordConsentRequest {
        partner_id: id.clone(),
        purpose: form.purpose,
        granted: form.action == "give",
        notice_version: crate::join::PRIVACY_NOTICE_VERSION.into(),
    };
    let result = state
        .clients
        .people()
        .record_consent(state.clients.request(&me.caller, request))
        .await
        .map(|_| ())
        .map_err(AppError::from);
    after_save(&state, &me, &id, result, "consent", &Typed::new()).await
}

#[derive(Deserialize)]
struct BankForm {
    csrf_token: String,
    #[serde(default)]
    account_name: String,
    #[serde(default)]
    sort_code: String,
    #[serde(default)]
    account_number: String,
}

/// The payment preference in words, e.g. "Paid a reduced amount: £37.50 for each activity".
pub(crate) fn payment_text(profile: &people::Profile) -> String {
    let Some(payment) = &profile.payment else {
        return String::new();
    };
    let label = PAYMENT_OPTIONS
        .iter()
        .find(|(value, _, _)| *value == payment.preference)
        .map_or(payment.preference.as_str(), |(_, label, _)| label);
    if payment.reduced_amount_pence > 0 {
        format!(
            "{label}: {} for each activity",
            alongside_platform::money::Pence(payment.reduced_amount_pence).display()
        )
    } else {
        label.to_string()
    }
}

/// Pounds as typed ("50", "£37.50") to pence.
pub(crate) fn pence(typed: &str) -> Option<i64> {
    let typed = typed.trim().trim_start_matches('£').replace(',', "");
    let (whole, fraction) = typed.split_once('.').unwrap_or((&typed, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
        || fraction.len() > 2
        || whole.len() > 7
    {
        return None;
    }
    let pounds: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let pennies: i64 = format!("{fraction:0<2}").parse().ok()?;
    Some(pounds * 100 + pennies)
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

/// What the form fields showed, for a page rendered again after a refusal.
type Typed = BTreeMap<&'static str, String>;

async fn profile_page(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Html<String>, AppError> {
    let notice = match q.notice.as_deref() {
        Some("profile") => Some("Profile saved."),
        Some("bank") => Some("Bank details saved."),
        Some("consent") => Some("Your choice is recorded."),
        _ => None,
    };
    page(&state, &me, &id, notice, None, None).await
}

async fn page(
    state: &AppState,
    me: &SignedIn,
    id: &str,
    notice: Option<&str>,
    err: Option<&AppError>,
    typed: Option<&Typed>,
) -> Result<Html<String>, AppError> {
    let profile = fetch_profile(state, me, id).await?;
    let payment = profile.payment.clone().unwrap_or_default();
    let stored = Typed::from([
        ("contact_method", profile.contact_method.clone()),
        ("accessibility_needs", profile.accessibility_needs.clone()),
        ("lived_experience", profile.lived_experience.join("\n")),
        ("skills", profile.skills.join("\n")),
        ("availability_note", profile.availability_note.clone()),
        ("payment_preference", payment.preference.clone()),
        (
            "reduced_amount",
            if payment.reduced_amount_pence > 0 {
                format!("{:.2}", payment.reduced_amount_pence as f64 / 100.0)
            } else {
                String::new()
            },
        ),
        (
            "receives_benefits",
            if payment.receives_benefits { "yes" } else { "" }.to_string(),
        ),
    ]);
    let mut shown = stored;
    for (slot, _) in AVAILABILITY_OPTIONS {
        if profile.availability.iter().any(|a| a == slot) {
            shown.insert(slot, "yes".into());
        }
    }
    for (code, _) in alongside_proto::ADJUSTMENTS {
        if profile.adjustments.iter().any(|a| a == code) {
            shown.insert(code, "yes".into());
        }
    }
    for (code, _) in alongside_proto::BENEFITS {
        if payment.benefits.iter().any(|b| b == code) {
            shown.insert(code, "yes".into());
        }
    }
    shown.insert("address", profile.address.clone());
    shown.insert("postcode", profile.postcode.clone());
    match typed {
        // The profile form refused: show exactly what was sent, ticks included.
        Some(t) if t.contains_key("contact_method") => shown = t.clone(),
        Some(t) => shown.extend(t.clone()),
        None => {}
    }
    let own = me.caller.role == Role::Partner;
    let can_edit = own || me.has_role(LEADS);
    // Finance do not see consents; everyone else who sees the profile does.
    let consents: Vec<minijinja::Value> = if me.caller.role == Role::Finance {
        Vec::new()
    } else {
        let held = fetch_consents(state, me, id).await?;
        CONSENT_PURPOSES
            .iter()
            .map(|(purpose, label)| {
                let now = held.current.iter().find(|c| c.purpose == *purpose);
                context! {
                    purpose => purpose,
                    label => label,
                    granted => now.is_some_and(|c| c.granted),
                    recorded_at => now.map(|c| c.recorded_at.get(..10).unwrap_or_default().to_string()),
                }
            })
            .collect()
    };
    let can_set_bank = own || me.caller.role == Role::Finance;
    let errors = err.map(errors_map).unwrap_or_default();
    let (current, title) = if own {
        ("/my-profile", "Your profile")
    } else {
        ("/partners", "Partner profile")
    };
    render(
        state,
        "profile.html",
        merge(
            base(me, current, title),
            context! {
                id => id,
                own => own,
                profile => ProfileBody::from(profile.clone()),
                has_payment => profile.payment.is_some(),
                payment_text => payment_text(&profile),
                can_edit => can_edit && !profile.about_withheld,
                can_set_bank => can_set_bank,
                consents => consents,
                typed => shown,
                contact_options => CONTACT_OPTIONS,
                availability_options => AVAILABILITY_OPTIONS,
                adjustment_options => alongside_proto::ADJUSTMENTS,
                benefit_options => alongside_proto::BENEFITS,
                payment_options => PAYMENT_OPTIONS,
                notice => notice,
                errors => errors,
            },
        ),
    )
}

/// Re-renders the page with the refusal, or goes back to it with a notice.
async fn after_save(
    state: &AppState,
    me: &SignedIn,
    id: &str,
    result: Result<(), AppError>,
    notice: &str,
    typed: &Typed,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => {
            Ok(Redirect::to(&format!("/partners/{id}/profile?notice={notice}")).into_response())
        }
        Err(err @ AppError::Invalid(_)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page(state, me, id, None, Some(&err), Some(typed)).await?,
        )
            .into_response()),
        Err(err) => Err(err),
    }
}

async fn profile_save(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ProfileForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    let availability: Vec<String> = [
        ("weekday_daytime", &form.weekday_daytime),
        ("weekday_evening", &form.weekday_evening),
        ("weekend", &form.weekend),
    ]
    .into_iter()
    .filter(|(_, ticked)| ticked.is_some())
    .map(|(slot, _)| slot.to_string())
    .collect();
    let adjustments: Vec<String> = [
        ("large_print", &form.large_print),
        ("bsl", &form.bsl),
        ("easy_read", &form.easy_read),
        ("hearing_loop", &form.hearing_loop),
        ("step_free", &form.step_free),
    ]
    .into_iter()
    .filter(|(_, ticked)| ticked.is_some())
    .map(|(code, _)| code.to_string())
    .collect();
    let mut typed = Typed::from([
        ("contact_method", form.contact_method.clone()),
        ("accessibility_needs", form.accessibility_needs.clone()),
        ("lived_experience", form.lived_experience.clone()),
        ("skills", form.skills.clone()),
        ("availability_note", form.availability_note.clone()),
        ("payment_preference", form.payment_preference.clone()),
        ("reduced_amount", form.reduced_amount.clone()),
        (
            "receives_benefits",
            form.receives_benefits
                .as_ref()
                .map(|_| "yes")
                .unwrap_or("")
                .to_string(),
        ),
    ]);
    typed.insert("address", form.address.clone());
    typed.insert("postcode", form.postcode.clone());
    let benefits: Vec<String> = [
        ("esa", &form.esa),
        ("carers_allowance", &form.carers_allowance),
        ("universal_credit", &form.universal_credit),
        ("pip_dla_aa", &form.pip_dla_aa),
        ("other", &form.other),
    ]
    .into_iter()
    .filter(|(_, ticked)| ticked.is_some())
    .map(|(code, _)| {
        typed.insert(code, "yes".into());
        code.to_string()
    })
    .collect();
    for slot in &availability {
        if let Some((key, _)) = AVAILABILITY_OPTIONS.iter().find(|(s, _)| s == slot) {
            typed.insert(key, "yes".into());
        }
    }
    for code in &adjustments {
        if let Some((key, _)) = alongside_proto::ADJUSTMENTS.iter().find(|(c, _)| c == code) {
            typed.insert(key, "yes".into());
        }
    }
    let reduced = if form.payment_preference == "reduced" {
        match pence(&form.reduced_amount) {
            Some(p) => p,
            None => {
                let err = AppError::Invalid(vec![FieldError::new(
                    "reduced_amount",
                    "enter the amount in pounds, like 50 or 37.50",
                )]);
                return after_save(&state, &me, &id, Err(err), "profile", &typed).await;
            }
        }
    } else {
        0
    };
    let request = people::UpdateProfileRequest {
        partner_id: id.clone(),
        contact_method: form.contact_method,
        accessibility_needs: form.accessibility_needs,
        lived_experience: lines(&form.lived_experience),
        skills: lines(&form.skills),
        availability,
        availability_note: form.availability_note,
        payment_preference: form.payment_preference,
        reduced_amount_pence: reduced,
        receives_benefits: form.receives_benefits.is_some(),
        benefits,
        adjustments,
        address: form.address,
        postcode: form.postcode,
    };
    let result = state
        .clients
        .people()
        .update_profile(state.clients.request(&me.caller, request))
        .await
        .map(|_| ())
        .map_err(|status| renamed(AppError::from(status)));
    after_save(&state, &me, &id, result, "profile", &typed).await
}

/// The service names the amount in pence; the form asks for pounds.
fn renamed(err: AppError) -> AppError {
    err.with_fields(|field| match field {
        "reduced_amount_pence" => "reduced_amount".into(),
        other => other.into(),
    })
}

async fn bank_save(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<BankForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    // Only the name is shown again after a refusal: account numbers are not echoed into pages.
    let typed = Typed::from([("account_name", form.account_name.clone())]);
    let body = BankDetailsBody {
        account_name: form.account_name,
        sort_code: form.sort_code,
        account_number: form.account_number,
    };
    let result = save_bank(&state, &me, id.clone(), body).await.map(|_| ());
    after_save(&state, &me, &id, result, "bank", &typed).await
}

/// A partner's own profile page.
async fn my_profile(me: SignedIn) -> Result<Response, AppError> {
    if me.caller.role != Role::Partner {
        return Err(AppError::Forbidden);
    }
    Ok(Redirect::to(&format!("/partners/{}/profile", me.caller.subject)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pounds_as_typed_become_pence() {
        assert_eq!(pence("50"), Some(5000));
        assert_eq!(pence("£37.5"), Some(3750));
        assert_eq!(pence("1,000.00"), Some(100_000));
        assert_eq!(pence(".75"), Some(75));
        for bad in ["", "abc", "1.234", "-5", "£", "."] {
            assert_eq!(pence(bad), None, "{bad}");
        }
    }
}
