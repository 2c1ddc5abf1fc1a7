//! The impact log, "you said, we did": a timeline per pathway of what partners raised and what
//! changed, with the evidence; organisers add to it; a CSV copy for the board's papers.

use std::collections::BTreeMap;

use alongside_proto::engagement::v1 as engagement;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use minijinja::{context, Value};
use serde::Deserialize;

use crate::access::{IMPACT_READERS, ORGANISERS};
use crate::comments::{name_of, theme_groups};
use crate::error::AppError;
use crate::pages::{
    base, csv_response, errors_map, export_rows, merge, posted, posted_all, query_string, render,
    EXPORT_PAGE,
};
use crate::session::SignedIn;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/impact", get(page).post(record))
        .route("/impact.csv", get(csv))
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ImpactQuery {
    pathway: String,
    from: String,
    to: String,
    notice: String,
}

async fn entries(
    state: &AppState,
    me: &SignedIn,
    q: &ImpactQuery,
    page: u32,
    size: u32,
) -> Result<(Vec<engagement::Impact>, u64), AppError> {
    let list = state
        .clients
        .engagement()
        .list_impact(state.clients.request(
            &me.caller,
            engagement::ListImpactRequest {
                page: crate::pages::page_request(Some(page), size),
                pathway: q.pathway.trim().into(),
                from: q.from.trim().into(),
                to: q.to.trim().into(),
            },
        ))
        .await?
        .into_inner();
    Ok((list.entries, list.page.map(|p| p.total).unwrap_or(0)))
}

fn entry_value(e: &engagement::Impact) -> Value {
    context! {
        raised => e.raised, changed => e.changed, evidence => e.evidence, changed_on => e.changed_on,
        pathway => if e.pathway.is_empty() { "The whole trust".to_string() } else { e.pathway.clone() },
        themes => e.themes.iter().map(|c| name_of(c)).collect::<Vec<_>>(),
        opportunities => e.opportunity_ids.len(),
    }
}

async fn show(
    state: &AppState,
    me: &SignedIn,
    q: &ImpactQuery,
    form: Value,
    errors: BTreeMap<String, String>,
    chosen: &[String],
) -> Result<Response, AppError> {
    me.require(IMPACT_READERS)?;
    let (found, filter_errors) = match entries(state, me, q, 1, EXPORT_PAGE).await {
        Ok((list, total)) => ((list, total), BTreeMap::new()),
        Err(err @ AppError::Invalid(_)) => ((Vec::new(), 0), errors_map(&err)),
        Err(err) => return Err(err),
    };
    // The timeline, grouped by pathway, newest change first within each.
    let mut by_pathway: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for e in &found.0 {
        let key = if e.pathway.is_empty() {
            String::new()
        } else {
            e.pathway.clone()
        };
        by_pathway.entry(key).or_default().push(entry_value(e));
    }
    let groups: Vec<Value> = by_pathway
        .into_iter()
        .map(|(pathway, entries)| {
            context! {
                pathway => if pathway.is_empty() { "The whole trust".to_string() } else { pathway },
                entries => entries,
            }
        })
        .collect();
    let status = if errors.is_empty() && filter_errors.is_empty() {
        http::StatusCode::OK
    } else {
        http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let notice = (q.notice == "recorded").then_some("Added to the impact log.");
    let html = render(
        state,
        "impact.html",
        merge(
            base(me, "/impact", "Impact log: you said, we did"),
            context! {
                groups => groups, total => found.1, shown => found.0.len(),
                filter => context! { pathway => q.pathway, from => q.from, to => q.to },
                query => query_string(&[("pathway", &q.pathway), ("from", &q.from), ("to", &q.to)]),
                can_add => me.has_role(ORGANISERS), form => form, errors => errors,
                filter_errors => filter_errors, notice => notice,
                theme_groups => theme_groups(|_| true, chosen),
            },
        ),
    )?;
    Ok((status, html).into_response())
}

async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ImpactQuery>,
) -> Result<Response, AppError> {
    show(&state, &me, &q, Value::from(()), BTreeMap::new(), &[]).await
}

async fn record(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    me.check_csrf(posted(&form, "csrf_token"))?;
    me.require(ORGANISERS)?;
    let value = |key: &str| posted(&form, key).unwrap_or_default().to_string();
    let themes = posted_all(&form, "categories");
    let request = engagement::RecordImpactRequest {
        raised: value("raised"),
        changed: value("changed"),
        evidence: value("evidence"),
        changed_on: value("changed_on"),
        // Named apart from the filter's pathway above it: ids on a page are unique.
        pathway: value("impact_pathway"),
        opportunity_ids: Vec::new(),
        themes: themes.clone(),
    };
    match state
        .clients
        .engagement()
        .record_impact(state.clients.request(&me.caller, request))
        .await
        .map_err(|s| {
            AppError::from(s).with_fields(|f| match f {
                "themes" => "categories".into(),
                "pathway" => "impact_pathway".into(),
                other => other.into(),
            })
        }) {
        Ok(_) => Ok(Redirect::to("/impact?notice=recorded").into_response()),
        Err(err @ AppError::Invalid(_)) => {
            let typed = context! {
                raised => value("raised"), changed => value("changed"), evidence => value("evidence"),
                changed_on => value("changed_on"), pathway => value("impact_pathway"),
            };
            show(
                &state,
                &me,
                &ImpactQuery::default(),
                typed,
                errors_map(&err),
                &themes,
            )
            .await
        }
        Err(err) => Err(err),
    }
}

/// The log as CSV, every entry of the filter (up to 5,000).
async fn csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ImpactQuery>,
) -> Result<Response, AppError> {
    me.require(IMPACT_READERS)?;
    let (state_ref, me_ref, q_ref) = (&state, &me, &q);
    let rows =
        export_rows(
            |n| async move { Ok(entries(state_ref, me_ref, q_ref, n, EXPORT_PAGE).await?.0) },
        )
        .await?;
    csv_response(
        "impact-log.csv",
        &[
            "changed_on",
            "pathway",
            "you_said",
            "we_did",
            "evidence",
            "themes",
            "opportunities",
        ],
        rows.into_iter()
            .map(|e| {
                vec![
                    e.changed_on,
                    e.pathway,
                    e.raised,
                    e.changed,
                    e.evidence,
                    e.themes.join("; "),
                    e.opportunity_ids.join("; "),
                ]
            })
            .collect(),
    )
}
