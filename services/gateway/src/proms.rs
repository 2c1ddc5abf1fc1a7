//! The outcome measures page: MSK-HQ change and SURE decisional conflict, for every pathway and
//! each one, over chosen dates, with the figures of few patients withheld by the feedback service.

use alongside_proto::feedback::v1 as feedback;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::StatusCode;
use minijinja::{context, Value};
use serde::Deserialize;

use crate::access::FEEDBACK_UPLOADERS;
use crate::error::AppError;
use crate::pages::{base, csv_response, errors_map, merge, render};
use crate::session::SignedIn;
use crate::AppState;

/// Pathways shown one by one (more are in the CSV file).
const MAX_PATHWAYS: usize = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/feedback/proms", get(page))
        .route("/feedback/proms.csv", get(csv))
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    pathway: String,
    #[serde(default)]
    threshold: String,
}

impl Filter {
    /// The threshold asked for (0 for the default), or the problem with it.
    fn threshold(&self) -> Result<u32, alongside_platform::error::FieldError> {
        match self.threshold.trim() {
            "" => Ok(0),
            t => t
                .parse()
                .ok()
                .filter(|t| (1..=56).contains(t))
                .ok_or_else(|| {
                    alongside_platform::error::FieldError::new(
                        "threshold",
                        "must be a whole number of points from 1 to 56",
                    )
                }),
        }
    }

    fn request(&self, pathway: &str) -> feedback::GetPromSummaryRequest {
        feedback::GetPromSummaryRequest {
            from: self.from.trim().into(),
            to: self.to.trim().into(),
            pathway: pathway.into(),
            msk_hq_threshold: self.threshold().unwrap_or(0),
        }
    }
}

/// Every pathway's summary (the empty pathway first: all of them) under one filter. Every
/// problem with the filter is named at once: the threshold's here, the dates' by the service.
async fn summaries(
    state: &AppState,
    me: &SignedIn,
    filter: &Filter,
) -> Result<Vec<(String, feedback::PromSummary)>, AppError> {
    let ask = |pathway: String| async move {
        let summary = state
            .clients
            .feedback()
            .get_prom_summary(state.clients.request(&me.caller, filter.request(&pathway)))
            .await?
            .into_inner();
        Ok::<_, AppError>((pathway, summary))
    };
    let all = match (ask(String::new()).await, filter.threshold()) {
        (Ok(all), Ok(_)) => all,
        (Err(AppError::Invalid(mut problems)), Err(problem)) => {
            problems.push(problem);
            return Err(AppError::Invalid(problems));
        }
        (Ok(_), Err(problem)) => return Err(AppError::Invalid(vec![problem])),
        (Err(err), _) => return Err(err),
    };
    let mut out = vec![all.clone()];
    for pathway in all.1.pathways.iter().take(MAX_PATHWAYS) {
        out.push(ask(pathway.clone()).await?);
    }
    Ok(out)
}

fn share(value: Option<f64>) -> String {
    value.map_or_else(
        || "–".into(),
        |v| format!("{}%", (v * 100.0).round() as i64),
    )
}

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{v:.1}"))
}

fn signed(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{v:+.1}"))
}

/// A count as published: "hidden" when it is (never shown as a 0).
pub(crate) fn count(n: Option<u64>) -> String {
    n.map_or_else(|| "hidden".into(), |n| n.to_string())
}

/// Whether a count is of any questionnaires (a hidden one is of 1 or more).
fn some(n: Option<u64>) -> bool {
    n != Some(0)
}

/// Whether the period holds any questionnaires.
pub(crate) fn any(s: &feedback::PromSummary) -> bool {
    some(s.msk_hq_responses) || some(s.sure_responses)
}

pub(crate) fn row(pathway: &str, s: &feedback::PromSummary) -> Value {
    context! {
        pathway => if pathway.is_empty() { "All pathways" } else { pathway },
        any => any(s),
        any_sure => some(s.sure_responses),
        msk_responses => count(s.msk_hq_responses),
        msk_mean => number(s.msk_hq_mean_total),
        paired => count(s.msk_hq_episodes_paired),
        change => signed(s.msk_hq_mean_change),
        improved => share(s.msk_hq_improved),
        worsened => share(s.msk_hq_worsened),
        msk_withheld => s.msk_hq_withheld,
        sure_responses => count(s.sure_responses),
        sure_mean => number(s.sure_mean_total),
        conflict => share(s.sure_conflict),
        sure_withheld => s.sure_withheld,
    }
}

async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Query(filter): Query<Filter>,
) -> Result<Response, AppError> {
    me.require(FEEDBACK_UPLOADERS)?;
    let (rows, errors, threshold) = match summaries(&state, &me, &filter).await {
        Ok(list) => {
            let threshold = list[0].1.msk_hq_threshold;
            let chosen: Vec<Value> = list
                .iter()
                .filter(|(p, _)| filter.pathway.is_empty() || *p == filter.pathway)
                .map(|(p, s)| row(p, s))
                .collect();
            (Some((chosen, list[0].1.pathways.clone())), None, threshold)
        }
        Err(err @ AppError::Invalid(_)) => (None, Some(errors_map(&err)), 0),
        Err(err) => return Err(err),
    };
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (rows, pathways) = rows.unwrap_or_default();
    let mut options = vec![(String::new(), "All pathways".to_string())];
    options.extend(pathways.into_iter().map(|p| (p.clone(), p)));
    let html: Html<String> = render(
        &state,
        "proms.html",
        merge(
            base(&me, "/feedback/proms", "Outcome measures"),
            context! {
                rows => rows,
                any => rows_have_responses(&rows),
                options => options,
                filter => context! { from => filter.from, to => filter.to, pathway => filter.pathway, threshold => filter.threshold },
                threshold => threshold,
                errors => errors.unwrap_or_default(),
            },
        ),
    )?;
    Ok((status, html).into_response())
}

fn rows_have_responses(rows: &[Value]) -> bool {
    rows.iter()
        .any(|r| r.get_attr("any").is_ok_and(|v| v.is_true()))
}

async fn csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(filter): Query<Filter>,
) -> Result<Response, AppError> {
    me.require(FEEDBACK_UPLOADERS)?;
    let list = summaries(&state, &me, &filter).await?;
    let fmt = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    // A hidden count is blank, as a hidden mean is; the withheld columns say which.
    let cell = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    let rows = list
        .iter()
        .filter(|(p, _)| filter.pathway.is_empty() || p.is_empty() || *p == filter.pathway)
        .map(|(p, s)| {
            vec![
                if p.is_empty() {
                    "all".into()
                } else {
                    p.clone()
                },
                cell(s.msk_hq_responses),
                fmt(s.msk_hq_mean_total),
                cell(s.msk_hq_episodes_paired),
                fmt(s.msk_hq_mean_change),
                s.msk_hq_threshold.to_string(),
                fmt(s.msk_hq_improved),
                fmt(s.msk_hq_worsened),
                cell(s.sure_responses),
                fmt(s.sure_mean_total),
                fmt(s.sure_conflict),
                s.msk_hq_withheld.to_string(),
                s.sure_withheld.to_string(),
            ]
        })
        .collect();
    csv_response(
        "proms.csv",
        &[
            "pathway",
            "msk_hq_responses",
            "msk_hq_mean_total",
            "msk_hq_episodes_paired",
            "msk_hq_mean_change",
            "msk_hq_threshold",
            "msk_hq_share_improved",
            "msk_hq_share_worsened",
            "sure_responses",
            "sure_mean_total",
            "sure_share_conflict",
            "msk_hq_withheld",
            "sure_withheld",
        ],
        rows,
    )
}
