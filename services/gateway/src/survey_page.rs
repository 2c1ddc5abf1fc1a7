//! The trust's survey beyond the FFT question: which standard experience questions the web
//! form asks and the trust's own questions (leads and admins choose), and the answers to each
//! in a period (everyone who reads feedback; small numbers hidden). CSV and JSON too.

use std::collections::BTreeMap;

use alongside_proto::feedback::v1 as feedback;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use http::HeaderMap;
use minijinja::{context, Value};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::{SURVEY_QUESTION_CHOOSERS, THEME_READERS};
use crate::api::{csrf, ApiResult};
use crate::error::{AppError, ErrorBody};
use crate::pages::{
    base, csv_response, errors_map, merge, period_field, posted, posted_all, query_string, render,
};
use crate::session::SignedIn;
use crate::AppState;

/// Blank rows the form offers for new questions of the trust's own.
const BLANK_ROWS: usize = 2;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/feedback/survey", get(page).post(choose))
        .route("/feedback/survey.csv", get(results_csv))
        .route(
            "/api/v1/feedback/survey",
            get(api_survey).put(api_update_survey),
        )
        .route("/api/v1/feedback/survey-results", get(api_results))
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
pub struct Period {
    /// First month, YYYY-MM.
    #[serde(default)]
    from: String,
    /// Last month, YYYY-MM.
    #[serde(default)]
    to: String,
    #[serde(default)]
    #[param(ignore)]
    notice: String,
}

async fn survey(state: &AppState, me: &SignedIn) -> Result<feedback::Survey, AppError> {
    Ok(state
        .clients
        .feedback()
        .get_survey(
            state
                .clients
                .request(&me.caller, feedback::GetSurveyRequest {}),
        )
        .await?
        .into_inner())
}

async fn results(
    state: &AppState,
    me: &SignedIn,
    period: &Period,
) -> Result<feedback::SurveyResults, AppError> {
    Ok(state
        .clients
        .feedback()
        .get_survey_results(state.clients.request(
            &me.caller,
            feedback::GetSurveyResultsRequest {
                from_month: period.from.trim().into(),
                to_month: period.to.trim().into(),
            },
        ))
        .await
        .map_err(|s| AppError::from(s).with_fields(period_field))?
        .into_inner())
}

fn scale_label(scale: &str) -> &'static str {
    if scale == "rating" {
        "Very good to very poor"
    } else {
        "Yes, definitely / to some extent / no"
    }
}

fn result_value(r: &feedback::QuestionResult) -> Value {
    let q = r.question.clone().unwrap_or_default();
    context! {
        text => q.text, asked => q.asked, total => r.total, suppressed => r.suppressed, total_hidden => r.total_hidden,
        answers => r.answers.iter().map(|a| context! { label => a.label, count => a.count, hidden => a.hidden }).collect::<Vec<_>>(),
        any_hidden => r.suppressed || r.total_hidden || r.answers.iter().any(|a| a.hidden),
        positive_shown => r.percent_positive.is_some(), positive => crate::fft::percent(r.percent_positive),
    }
}

/// The survey's questions for the form: the standard ones to tick, the trust's own (asked)
/// with blank rows after them. `typed` is the form as posted, after a problem.
fn choice_value(s: &feedback::Survey, typed: Option<&[(String, String)]>) -> Value {
    let value = |key: &str| typed.and_then(|t| posted(t, key)).map(str::to_string);
    let standard: Vec<Value> = s
        .questions
        .iter()
        .filter(|q| q.standard)
        .map(|q| {
            let checked = match typed {
                Some(t) => t.iter().any(|(k, v)| k == "standard" && *v == q.code),
                None => q.asked,
            };
            context! { code => q.code, text => q.text, checked => checked }
        })
        .collect();
    let own: Vec<&feedback::SurveyQuestion> = s
        .questions
        .iter()
        .filter(|q| !q.standard && q.asked)
        .collect();
    let rows: Vec<Value> = (0..own.len() + BLANK_ROWS)
        .map(|i| {
            let held = own.get(i);
            let code = held.map_or(String::new(), |q| q.code.clone());
            context! {
                index => i, code => code,
                text => value(&format!("own_text_{i}")).unwrap_or_else(|| held.map_or(String::new(), |q| q.text.clone())),
                scale => value(&format!("own_scale_{i}")).unwrap_or_else(|| held.map_or("agreement".into(), |q| q.scale.clone())),
                fixed_scale => held.is_some(),
            }
        })
        .collect();
    context! { standard => standard, own => rows }
}

async fn render_page(
    state: &AppState,
    me: &SignedIn,
    period: &Period,
    typed: Option<&[(String, String)]>,
    choice_errors: BTreeMap<String, String>,
) -> Result<Response, AppError> {
    let s = survey(state, me).await?;
    let (found, errors) = match results(state, me, period).await {
        Ok(r) => (r, BTreeMap::new()),
        Err(err @ AppError::Invalid(_)) => (Default::default(), errors_map(&err)),
        Err(err) => return Err(err),
    };
    let status = if errors.is_empty() && choice_errors.is_empty() {
        http::StatusCode::OK
    } else {
        http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let notice = (period.notice == "saved")
        .then_some("Survey saved. The web form asks these questions from now on.");
    let html = render(
        state,
        "survey.html",
        merge(
            base(me, "/feedback/survey", "Survey questions"),
            context! {
                fft_question => s.fft_question,
                results => found.questions.iter().map(result_value).collect::<Vec<_>>(),
                choice => choice_value(&s, typed), can_choose => me.has_role(SURVEY_QUESTION_CHOOSERS),
                scales => [("agreement", scale_label("agreement")), ("rating", scale_label("rating"))],
                period => context! { from => period.from, to => period.to },
                query => query_string(&[("from", period.from.trim()), ("to", period.to.trim())]),
                errors => if choice_errors.is_empty() { errors } else { choice_errors },
                notice => notice,
            },
        ),
    )?;
    Ok((status, html).into_response())
}

async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Query(period): Query<Period>,
) -> Result<Response, AppError> {
    me.require(THEME_READERS)?;
    render_page(&state, &me, &period, None, BTreeMap::new()).await
}

/// The form as an update: ticked standard questions, and own rows with text (a row whose text
/// is cleared stops being asked); with the form's row of each own question sent, so a problem
/// the service names by its place in the update is shown on its row.
fn update_of(form: &[(String, String)]) -> (feedback::UpdateSurveyRequest, Vec<usize>) {
    let value = |key: &str| posted(form, key).unwrap_or_default().trim().to_string();
    let rows = form
        .iter()
        .filter(|(k, _)| k.starts_with("own_text_"))
        .count();
    let filled: Vec<usize> = (0..rows)
        .filter(|i| !value(&format!("own_text_{i}")).is_empty())
        .collect();
    let request = feedback::UpdateSurveyRequest {
        standard: posted_all(form, "standard"),
        own: filled
            .iter()
            .map(|i| feedback::SurveyQuestion {
                code: value(&format!("own_code_{i}")),
                text: value(&format!("own_text_{i}")),
                scale: value(&format!("own_scale_{i}")),
                ..Default::default()
            })
            .collect(),
    };
    (request, filled)
}

async fn choose(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    me.check_csrf(posted(&form, "csrf_token"))?;
    me.require(SURVEY_QUESTION_CHOOSERS)?;
    let (request, filled) = update_of(&form);
    let result = state
        .clients
        .feedback()
        .update_survey(state.clients.request(&me.caller, request))
        .await
        .map_err(|s| {
            AppError::from(s).with_fields(|f| {
                let Some(rest) = f.strip_prefix("own[") else {
                    return f.into();
                };
                let (n, field) = rest.split_once("].").unwrap_or((rest, "text"));
                let row = n.parse::<usize>().ok().and_then(|n| filled.get(n).copied());
                format!("own_{field}_{}", row.unwrap_or(0))
            })
        });
    match result {
        Ok(_) => Ok(Redirect::to("/feedback/survey?notice=saved").into_response()),
        Err(err @ AppError::Invalid(_)) => {
            render_page(
                &state,
                &me,
                &Period::default(),
                Some(&form),
                errors_map(&err),
            )
            .await
        }
        Err(err) => Err(err),
    }
}

async fn results_csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(period): Query<Period>,
) -> Result<Response, AppError> {
    me.require(THEME_READERS)?;
    let found = results(&state, &me, &period).await?;
    let mut rows = Vec::new();
    for r in &found.questions {
        let q = r.question.clone().unwrap_or_default();
        if r.suppressed {
            rows.push(vec![
                q.code.clone(),
                q.text.clone(),
                String::new(),
                "*".into(),
                if r.total_hidden {
                    "*".to_string()
                } else {
                    r.total.to_string()
                },
            ]);
        }
        let total = if r.total_hidden {
            "*".to_string()
        } else {
            r.total.to_string()
        };
        for a in &r.answers {
            rows.push(vec![
                q.code.clone(),
                q.text.clone(),
                a.answer.clone(),
                if a.hidden {
                    "*".to_string()
                } else {
                    a.count.to_string()
                },
                total.clone(),
            ]);
        }
    }
    csv_response(
        "survey.csv",
        &["question", "text", "answer", "count", "question_total"],
        rows,
    )
}

// ---- JSON ----

#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct SurveyQuestionBody {
    /// booking, involvement, information, compassion, or own_N (given by Alongside).
    code: String,
    /// Up to 200 characters.
    text: String,
    /// agreement or rating.
    scale: String,
    asked: bool,
    standard: bool,
}

impl From<feedback::SurveyQuestion> for SurveyQuestionBody {
    fn from(q: feedback::SurveyQuestion) -> Self {
        Self {
            code: q.code,
            text: q.text,
            scale: q.scale,
            asked: q.asked,
            standard: q.standard,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SurveyBody {
    fft_question: String,
    questions: Vec<SurveyQuestionBody>,
}

impl From<feedback::Survey> for SurveyBody {
    fn from(s: feedback::Survey) -> Self {
        Self {
            fft_question: s.fft_question,
            questions: s.questions.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateSurveyBody {
    /// The standard questions to ask, by code.
    #[serde(default)]
    standard: Vec<String>,
    /// The trust's own questions to ask, in order (code to keep one, none to add one).
    #[serde(default)]
    own: Vec<SurveyQuestionBody>,
}

/// The trust's survey: the FFT question and the others, asked or not.
#[utoipa::path(get, path = "/api/v1/feedback/survey",
    responses((status = 200, body = SurveyBody)))]
pub async fn api_survey(
    State(state): State<AppState>,
    me: SignedIn,
) -> ApiResult<Json<SurveyBody>> {
    Ok(Json(survey(&state, &me).await?.into()))
}

/// Chooses the survey's questions (engagement leads and admins).
#[utoipa::path(put, path = "/api/v1/feedback/survey", request_body = UpdateSurveyBody,
    responses((status = 200, body = SurveyBody), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn api_update_survey(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Json(b): Json<UpdateSurveyBody>,
) -> ApiResult<Json<SurveyBody>> {
    csrf(&me, &headers)?;
    let request = feedback::UpdateSurveyRequest {
        standard: b.standard,
        own: b
            .own
            .into_iter()
            .map(|q| feedback::SurveyQuestion {
                code: q.code,
                text: q.text,
                scale: q.scale,
                ..Default::default()
            })
            .collect(),
    };
    let s = state
        .clients
        .feedback()
        .update_survey(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    Ok(Json(s.into()))
}

#[derive(Serialize, ToSchema)]
pub struct AnswerCountBody {
    answer: String,
    /// 0 when hidden.
    count: u64,
    /// Hidden from readers of figures: 1 to 4, or what would give such a count back.
    hidden: bool,
}

#[derive(Serialize, ToSchema)]
pub struct QuestionResultBody {
    question: SurveyQuestionBody,
    total: u64,
    /// Empty when hidden (1 to 4 answers).
    answers: Vec<AnswerCountBody>,
    /// The top answers as a % of those other than dont_know.
    percent_positive: Option<f64>,
    suppressed: bool,
    /// The number who answered is hidden (0 here).
    total_hidden: bool,
}

/// Answers to the survey's questions in a period, with small numbers hidden.
#[utoipa::path(get, path = "/api/v1/feedback/survey-results", params(Period),
    responses((status = 200, body = Vec<QuestionResultBody>), (status = 422, body = ErrorBody)))]
pub async fn api_results(
    State(state): State<AppState>,
    me: SignedIn,
    Query(period): Query<Period>,
) -> ApiResult<Json<Vec<QuestionResultBody>>> {
    let found = results(&state, &me, &period).await?;
    Ok(Json(
        found
            .questions
            .into_iter()
            .map(|r| QuestionResultBody {
                question: r.question.unwrap_or_default().into(),
                total: r.total,
                answers: r
                    .answers
                    .into_iter()
                    .map(|a| AnswerCountBody {
                        answer: a.answer,
                        count: a.count,
                        hidden: a.hidden,
                    })
                    .collect(),
                percent_positive: r.percent_positive,
                suppressed: r.suppressed,
                total_hidden: r.total_hidden,
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_an_update_without_its_empty_rows() {
        let form: Vec<(String, String)> = [
            ("standard", "booking"),
            ("standard", "compassion"),
            ("own_code_0", "own_1"),
            ("own_text_0", "Was the clinic easy to find?"),
            ("own_scale_0", "agreement"),
            ("own_code_1", ""),
            ("own_text_1", "  "),
            ("own_scale_1", "rating"),
            ("own_code_2", ""),
            ("own_text_2", "How was the waiting area?"),
            ("own_scale_2", "rating"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let (update, rows) = update_of(&form);
        assert_eq!(update.standard, ["booking", "compassion"]);
        assert_eq!(rows, [0, 2], "the form's rows of the questions sent");
        let own: Vec<(&str, &str, &str)> = update
            .own
            .iter()
            .map(|q| (q.code.as_str(), q.text.as_str(), q.scale.as_str()))
            .collect();
        assert_eq!(
            own,
            [
                ("own_1", "Was the clinic easy to find?", "agreement"),
                ("", "How was the waiting area?", "rating")
            ]
        );
    }
}
