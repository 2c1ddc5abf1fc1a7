//! The Friends and Family Test as patients answer it: a public web form (no sign-in, works on a
//! phone) with the question's six answers and its two free-text follow-ups, and personal links
//! for a trust to send out, each of which counts one response however often it is used.

use alongside_platform::{Caller, OdsCode, Role};
use alongside_proto::feedback::v1 as feedback;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use axum_extra::extract::cookie::CookieJar;
use http::StatusCode;
use minijinja::context;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;

use crate::access::SURVEY_LINK_MAKERS;
use crate::error::AppError;
use crate::pages::{base, merge, render};
use crate::session::{self, SignedIn};
use crate::store::{survey_link, tenant};
use crate::AppState;

/// NHS England's question, since 1 April 2020.
pub const QUESTION: &str = alongside_proto::FFT_QUESTION;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/fft/{ods}", get(form).post(answer))
        .route("/feedback/links", get(links_form).post(make_links))
}

/// Where the care was, carried by a link so its answers are counted there (a poster's QR code
/// on a ward, say). Checked by the feedback service like any other tag.
#[derive(Clone, Deserialize, Default, serde::Serialize)]
struct Place {
    #[serde(default)]
    site: String,
    #[serde(default)]
    pathway: String,
    #[serde(default)]
    team: String,
}

impl Place {
    /// The form's address for this place, with a personal link's token when there is one.
    fn form_url(&self, trust_form: &str, link: &str) -> String {
        let query = crate::pages::query_string(&[
            ("link", link),
            ("site", self.site.trim()),
            ("pathway", self.pathway.trim()),
            ("team", self.team.trim()),
        ]);
        if query.is_empty() {
            trust_form.to_string()
        } else {
            format!("{trust_form}?{query}")
        }
    }
}

#[derive(Deserialize, Default)]
struct LinkQuery {
    #[serde(default)]
    link: String,
    #[serde(flatten)]
    place: Place,
}

#[derive(Deserialize, Default, serde::Serialize)]
struct AnswerForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    worked_well: String,
    #[serde(default)]
    could_improve: String,
    #[serde(default)]
    link: String,
    #[serde(flatten)]
    place: Place,
    /// Hidden from people; robots fill it in.
    #[serde(default)]
    website: String,
    /// The survey's other questions, as `q_<code>`.
    #[serde(flatten)]
    questions: std::collections::BTreeMap<String, String>,
}

impl AnswerForm {
    /// The other questions' answers, by question code.
    fn answers(&self) -> std::collections::HashMap<String, String> {
        self.questions
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("q_")?.to_string(), v.clone())))
            .filter(|(_, v)| !v.is_empty())
            .collect()
    }
}

/// How the public form calls feedback for a trust: one web response at a time.
fn public_caller(trust: &tenant::Model) -> Result<Caller, AppError> {
    Ok(Caller {
        subject: "public-survey".into(),
        tenant: OdsCode::parse(&trust.ods_code).map_err(|e| AppError::Internal(e.to_string()))?,
        role: Role::Public,
        ics: trust.parent.as_deref().and_then(|p| OdsCode::parse(p).ok()),
    })
}

/// The questions the trust's survey asks besides the FFT one, with their answers.
async fn asked(state: &AppState, trust: &tenant::Model) -> Result<Vec<minijinja::Value>, AppError> {
    let survey = state
        .clients
        .feedback()
        .get_survey(
            state
                .clients
                .request(&public_caller(trust)?, feedback::GetSurveyRequest {}),
        )
        .await?
        .into_inner();
    Ok(survey
        .questions
        .into_iter()
        .filter(|q| q.asked)
        .map(|q| {
            let answers = alongside_proto::survey_answers(&q.scale);
            context! { code => q.code, text => q.text, answers => answers }
        })
        .collect())
}

fn options() -> Vec<(String, &'static str)> {
    feedback::FftAnswer::ALL
        .into_iter()
        .map(|a| (a.code().to_string(), a.label()))
        .collect()
}

async fn form_page(
    state: &AppState,
    trust: &tenant::Model,
    csrf: &str,
    typed: &AnswerForm,
    error: Option<&str>,
) -> Result<Html<String>, AppError> {
    let errors: std::collections::BTreeMap<&str, String> = error
        .iter()
        .map(|e| ("answer-1", format!("Answer: {e}")))
        .collect();
    let questions = asked(state, trust).await?;
    render(
        state,
        "fft_form.html",
        context! {
            title => "Tell us about your experience", trust => context! { name => trust.name, ods => trust.ods_code },
            question => QUESTION, options => options(), typed => typed, csrf_token => csrf,
            answer_error => error, errors => errors, questions => questions,
        },
    )
}

async fn form(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(ods): Path<String>,
    Query(q): Query<LinkQuery>,
) -> Result<Response, AppError> {
    let trust = crate::join::trust(&state, &ods).await?;
    if !q.link.is_empty() {
        if let Some(used) = link(&state, &trust, &q.link).await?.and_then(|l| l.used_at) {
            tracing::debug!(%used, "survey link used before");
            return Ok(thanks(&state, &trust, true)?.into_response());
        }
    }
    let token = session::random_token();
    let typed = AnswerForm {
        link: q.link,
        place: q.place,
        ..AnswerForm::default()
    };
    let html = form_page(&state, &trust, &token, &typed, None).await?;
    let jar = jar.add(session::form_csrf_cookie(
        token,
        &format!("/fft/{}", trust.ods_code),
        state.settings.secure_cookies(),
    ));
    Ok((jar, html).into_response())
}

fn thanks(
    state: &AppState,
    trust: &tenant::Model,
    already: bool,
) -> Result<Html<String>, AppError> {
    render(
        state,
        "fft_thanks.html",
        context! { title => "Thank you", trust => trust.name, already => already },
    )
}

/// The personal link `token` of `trust`, if it is one.
async fn link(
    state: &AppState,
    trust: &tenant::Model,
    token: &str,
) -> Result<Option<survey_link::Model>, AppError> {
    Ok(survey_link::Entity::find_by_id(session::digest(token))
        .one(&state.db)
        .await?
        .filter(|l| l.tenant_id == trust.ods_code))
}

async fn answer(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(ods): Path<String>,
    Form(form): Form<AnswerForm>,
) -> Result<Response, AppError> {
    let trust = crate::join::trust(&state, &ods).await?;
    session::check_form_csrf(&jar, &form.csrf_token)?;
    if !form.website.is_empty() {
        tracing::info!(tenant = %trust.ods_code, "FFT response dropped: the hidden field was filled");
        return Ok(thanks(&state, &trust, false)?.into_response());
    }
    let Some(answer) = feedback::FftAnswer::parse(&form.answer) else {
        let html = form_page(
            &state,
            &trust,
            &form.csrf_token,
            &form,
            Some("choose the answer that fits best"),
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    };
    // A personal link counts once: its response id is the link's. Without one, each answer is
    // its own.
    let personal = if form.link.is_empty() {
        None
    } else {
        link(&state, &trust, &form.link).await?
    };
    let response_id = match &personal {
        Some(l) => format!("link-{}", &l.token_hash[..24]),
        None => format!("web-{}", uuid::Uuid::now_v7().simple()),
    };
    let caller = public_caller(&trust)?;
    let request = feedback::SubmitFftResponsesRequest {
        responses: vec![feedback::FftResponse {
            response_id,
            source: "web".into(),
            answer: answer as i32,
            responded_on: state.clock.today().to_string(),
            worked_well: form.worked_well.clone(),
            could_improve: form.could_improve.clone(),
            site: form.place.site.clone(),
            pathway: form.place.pathway.clone(),
            team: form.place.team.clone(),
            answers: form.answers(),
            ..Default::default()
        }],
        dry_run: false,
    };
    let result = state
        .clients
        .feedback()
        .submit_fft_responses(state.clients.request(&caller, request))
        .await?
        .into_inner();
    if let Some(problem) = result.rejected.first() {
        let html = form_page(
            &state,
            &trust,
            &form.csrf_token,
            &form,
            Some(&problem.reason),
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    }
    if let Some(l) = personal {
        survey_link::Entity::update_many()
            .col_expr(
                survey_link::Column::UsedAt,
                sea_orm::sea_query::Expr::value(state.clock.now_rfc3339()),
            )
            .filter(survey_link::Column::TokenHash.eq(&l.token_hash))
            .filter(survey_link::Column::UsedAt.is_null())
            .exec(&state.db)
            .await?;
    }
    Ok(thanks(&state, &trust, result.accepted == 0)?.into_response())
}

/// The address of the caller's trust's public form.
fn trust_form(state: &AppState, me: &SignedIn) -> String {
    format!("{}/fft/{}", state.settings.public_base(), me.caller.tenant)
}

async fn links_page(
    state: &AppState,
    me: &SignedIn,
    made: Option<Vec<String>>,
    place: &Place,
    errors: std::collections::BTreeMap<&str, String>,
) -> Result<Html<String>, AppError> {
    let public = place.form_url(&trust_form(state, me), "");
    render(
        state,
        "survey_links.html",
        merge(
            base(me, "/feedback", "Survey links"),
            context! { public => public, made => made, place => place, errors => errors },
        ),
    )
}

async fn links_form(State(state): State<AppState>, me: SignedIn) -> Result<Html<String>, AppError> {
    me.require(SURVEY_LINK_MAKERS)?;
    links_page(&state, &me, None, &Place::default(), Default::default()).await
}

#[derive(Deserialize)]
struct LinksForm {
    csrf_token: String,
    #[serde(default)]
    count: String,
    #[serde(flatten)]
    place: Place,
}

/// Personal links, shown once (only their digests are kept).
async fn make_links(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<LinksForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    me.require(SURVEY_LINK_MAKERS)?;
    let mut errors = std::collections::BTreeMap::new();
    let count = form
        .count
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=500).contains(n));
    if count.is_none() {
        errors.insert(
            "count",
            "How many: enter a number from 1 to 500".to_string(),
        );
    }
    for (field, label, value) in [
        ("site", "Site", &form.place.site),
        ("pathway", "Pathway", &form.place.pathway),
        ("team", "Team", &form.place.team),
    ] {
        // A link may carry only a listed place: its answers would be refused otherwise.
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let listed = crate::places::listed_codes(&state, &me, field).await?;
        if !listed.iter().any(|code| code.eq_ignore_ascii_case(value)) {
            let some: Vec<&str> = listed.iter().take(8).map(String::as_str).collect();
            let reason = if some.is_empty() {
                format!(
                    "{label}: the trust lists none yet (an administrator adds them under Places)"
                )
            } else {
                format!(
                    "{label}: enter one of the trust's codes under Places (such as {})",
                    some.join(", ")
                )
            };
            errors.insert(field, reason);
        }
    }
    let Some(count) = count.filter(|_| errors.is_empty()) else {
        let html = links_page(&state, &me, None, &form.place, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    };
    let form_url = trust_form(&state, &me);
    let now = state.clock.now_rfc3339();
    let mut urls = Vec::with_capacity(count);
    let mut rows = Vec::with_capacity(count);
    for _ in 0..count {
        let token = session::random_token();
        rows.push(survey_link::ActiveModel {
            token_hash: Set(session::digest(&token)),
            tenant_id: Set(me.caller.tenant.to_string()),
            created_by: Set(me.caller.subject.clone()),
            created_at: Set(now.clone()),
            used_at: Set(None),
        });
        urls.push(form.place.form_url(&form_url, &token));
    }
    survey_link::Entity::insert_many(rows)
        .exec_without_returning(&state.db)
        .await?;
    Ok(links_page(&state, &me, Some(urls), &form.place, errors)
        .await?
        .into_response())
}
