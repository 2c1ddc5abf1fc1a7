//! Equality monitoring in the portal: a partner's own optional answers, and the People Bank's
//! representation in suppressed totals for leads and analysts.

use std::collections::BTreeMap;

use alongside_platform::Role;
use alongside_proto::people::v1 as people;
use alongside_proto::EQUALITY_QUESTIONS;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::StatusCode;
use minijinja::context;
use serde::Deserialize;

use crate::access::{LEADS, REPRESENTATION_READERS};
use crate::error::AppError;
use crate::pages::{base, errors_map, merge, render, NoticeQuery};
use crate::session::SignedIn;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/my-equality", get(my_equality).post(save_answers))
        .route("/my-equality/consent", post(consent))
        .route("/partners/representation", get(representation))
        .route("/partners/representation/population", post(set_population))
}

fn partner_only(me: &SignedIn) -> Result<(), AppError> {
    if me.caller.role == Role::Partner {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

async fn page(
    state: &AppState,
    me: &SignedIn,
    notice: Option<&str>,
    err: Option<&AppError>,
    typed: Option<&BTreeMap<String, String>>,
) -> Result<Html<String>, AppError> {
    let id = me.caller.subject.clone();
    let consents = crate::profile::fetch_consents(state, me, &id).await?;
    let agreed = consents
        .current
        .iter()
        .any(|c| c.purpose == "equality" && c.granted);
    let held = if agreed {
        state
            .clients
            .people()
            .get_equality_answers(
                state
                    .clients
                    .request(&me.caller, people::GetPartnerRequest { id }),
            )
            .await?
            .into_inner()
    } else {
        people::EqualityAnswers::default()
    };
    let stored = |question: &str| -> String {
        match question {
            "age_band" => held.age_band.clone(),
            "sex" => held.sex.clone(),
            "ethnic_group" => held.ethnic_group.clone(),
            "disability" => held.disability.clone(),
            _ => held.carer.clone(),
        }
    };
    let questions: Vec<minijinja::Value> = EQUALITY_QUESTIONS
        .iter()
        .map(|(question, label, options)| {
            let mut options: Vec<(&str, &str)> = options.to_vec();
            options.push(("prefer_not_to_say", "Prefer not to say"));
            let answer = typed
                .and_then(|t| t.get(*question).cloned())
                .unwrap_or_else(|| stored(question));
            context! { question => question, label => label, options => options, answer => answer }
        })
        .collect();
    let notice = match notice {
        Some("saved") => Some("Your answers are saved."),
        Some("withdrawn") => Some("Your consent is withdrawn and your answers are deleted."),
        _ => None,
    };
    render(
        state,
        "equality.html",
        merge(
            base(me, "/my-profile", "Equality monitoring"),
            context! {
                agreed => agreed,
                questions => questions,
                answered_at => held.answered_at,
                notice => notice,
                errors => err.map(errors_map).unwrap_or_default(),
            },
        ),
    )
}

async fn my_equality(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<NoticeQuery>,
) -> Result<Html<String>, AppError> {
    partner_only(&me)?;
    page(&state, &me, q.notice.as_deref(), None, None).await
}

async fn save_answers(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    partner_only(&me)?;
    me.check_csrf(form.get("csrf_token").map(String::as_str))?;
    let answer = |q: &str| form.get(q).cloned().unwrap_or_default();
    let request = people::EqualityAnswers {
        partner_id: me.caller.subject.clone(),
        age_band: answer("age_band"),
        sex: answer("sex"),
        ethnic_group: answer("ethnic_group"),
        disability: answer("disability"),
        carer: answer("carer"),
        answered_at: String::new(),
    };
    match state
        .clients
        .people()
        .record_equality_answers(state.clients.request(&me.caller, request))
        .await
        .map_err(AppError::from)
    {
        Ok(_) => Ok(Redirect::to("/my-equality?notice=saved").into_response()),
        Err(err @ AppError::Invalid(_)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&state, &me, None, Some(&err), Some(&form)).await?,
        )
            .into_response()),
        Err(err) => Err(err),
    }
}

#[derive(Deserialize)]
struct ConsentForm {
    csrf_token: String,
    /// `give` or `withdraw`.
    #[serde(default)]
    action: String,
}

async fn consent(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<ConsentForm>,
) -> Result<Response, AppError> {
    partner_only(&me)?;
    me.check_csrf(Some(&form.csrf_token))?;
    let granted = form.action == "give";
    let request = people::RecordConsentRequest {
        partner_id: me.caller.subject.clone(),
        purpose: "equality".into(),
        granted,
        notice_version: crate::join::PRIVACY_NOTICE_VERSION.into(),
    };
    state
        .clients
        .people()
        .record_consent(state.clients.request(&me.caller, request))
        .await?;
    let to = if granted {
        "/my-equality"
    } else {
        "/my-equality?notice=withdrawn"
    };
    Ok(Redirect::to(to).into_response())
}

/// Tenths of a percent as a percentage, "51.2%".
fn percent(permille: Option<u32>) -> String {
    permille.map_or_else(String::new, |p| format!("{}.{}%", p / 10, p % 10))
}

/// A percentage as typed ("51.2", "51.2%", "7") in tenths of a percent.
fn permille(typed: &str) -> Option<u32> {
    let typed = typed.trim().trim_end_matches('%').trim();
    let (whole, tenth) = typed.split_once('.').unwrap_or((typed, "0"));
    if whole.is_empty() || whole.len() > 3 || tenth.len() != 1 {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let tenth: u32 = tenth.parse().ok()?;
    Some(whole * 10 + tenth)
}

async fn representation(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<NoticeQuery>,
) -> Result<Html<String>, AppError> {
    report_page(&state, &me, q.notice.as_deref(), None).await
}

async fn report_page(
    state: &AppState,
    me: &SignedIn,
    notice: Option<&str>,
    err: Option<(&str, &AppError, &BTreeMap<String, String>)>,
) -> Result<Html<String>, AppError> {
    if !me.has_role(REPRESENTATION_READERS) {
        return Err(AppError::Forbidden);
    }
    let report = state
        .clients
        .people()
        .get_equality_report(
            state
                .clients
                .request(&me.caller, people::EqualityReportRequest {}),
        )
        .await?
        .into_inner();
    let questions: Vec<minijinja::Value> = report
        .questions
        .iter()
        .map(|q| {
            // What was typed into this question's form when it was refused.
            let typed = match err {
                Some((question, _, typed)) if question == q.question => Some(typed),
                _ => None,
            };
            let counts: Vec<minijinja::Value> = q
                .counts
                .iter()
                .map(|c| {
                    let population = percent(c.population_permille);
                    let entered = typed
                        .and_then(|t| t.get(&format!("share_{}", c.answer)).cloned())
                        .unwrap_or_else(|| population.trim_end_matches('%').to_string());
                    context! { answer => c.answer, label => c.label, count => c.count, hidden => c.hidden, bank => percent(c.bank_permille), population => population, entered => entered }
                })
                .collect();
            let errors = match err {
                Some((question, e, _)) if question == q.question => errors_map(e),
                _ => BTreeMap::new(),
            };
            let source_entered = typed
                .and_then(|t| t.get("source").cloned())
                .unwrap_or_else(|| q.population_source.clone());
            context! { question => q.question, label => q.label, counts => counts, total => q.total, total_hidden => q.total_hidden, source => q.population_source, source_entered => source_entered, errors => errors }
        })
        .collect();
    let notice = match notice {
        Some("population") => Some("Population figures saved."),
        _ => None,
    };
    render(
        state,
        "representation.html",
        merge(
            base(
                me,
                "/partners/representation",
                "How representative is the People Bank?",
            ),
            context! {
                report => context! {
                    questions => questions,
                    active_partners => report.active_partners,
                    respondents => report.respondents,
                    respondents_hidden => report.respondents_hidden,
                    as_at => crate::pages::day_label(&report.as_at),
                },
                can_set => me.has_role(LEADS),
                notice => notice,
                // The summary links to the field of the question's own form.
                errors => err
                    .map(|(question, e, _)| {
                        errors_map(e)
                            .into_iter()
                            .map(|(field, reason)| match field.as_str() {
                                "source" => (format!("{question}-source"), reason),
                                _ => (format!("{question}-shares-error"), reason),
                            })
                            .collect::<BTreeMap<_, _>>()
                    })
                    .unwrap_or_default(),
            },
        ),
    )
}

async fn set_population(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    me.check_csrf(form.get("csrf_token").map(String::as_str))?;
    let question = form.get("question").cloned().unwrap_or_default();
    let mut shares = Vec::new();
    let mut unreadable = Vec::new();
    for (key, value) in &form {
        if let Some(answer) = key.strip_prefix("share_") {
            match permille(value) {
                Some(p) => shares.push(people::PopulationShare {
                    answer: answer.to_string(),
                    permille: p,
                }),
                None => unreadable.push(answer.replace('_', " ")),
            }
        }
    }
    let result = if unreadable.is_empty() {
        state
            .clients
            .people()
            .set_population(state.clients.request(
                &me.caller,
                people::SetPopulationRequest {
                    question: question.clone(),
                    shares,
                    source: form.get("source").cloned().unwrap_or_default(),
                },
            ))
            .await
            .map(|_| ())
            .map_err(AppError::from)
    } else {
        Err(AppError::Invalid(vec![
            alongside_platform::error::FieldError::new(
                "shares",
                format!(
                    "enter each share as a percentage like 51.2 ({})",
                    unreadable.join(", ")
                ),
            ),
        ]))
    };
    match result {
        Ok(()) => Ok(Redirect::to("/partners/representation?notice=population").into_response()),
        Err(err @ AppError::Invalid(_)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            report_page(&state, &me, None, Some((&question, &err, &form))).await?,
        )
            .into_response()),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_as_typed_become_tenths() {
        assert_eq!(permille("51.2"), Some(512));
        assert_eq!(permille("7%"), Some(70));
        assert_eq!(permille(" 100.0 "), Some(1000));
        for bad in ["", "51.25", "abc", "-3", "1000"] {
            assert_eq!(permille(bad), None, "{bad}");
        }
        assert_eq!(percent(Some(512)), "51.2%");
        assert_eq!(percent(None), "");
    }

    #[test]
    fn the_day_totals_were_taken_reads_as_people_write_it() {
        assert_eq!(crate::pages::day_label("2026-12-07"), "7 December 2026");
        assert_eq!(crate::pages::day_label(""), "", "none yet");
    }
}
