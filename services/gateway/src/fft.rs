//! The Friends and Family Test pages: the trust's figures month by month with their SPC chart,
//! narrowed to a site, locality, pathway, team or way of answering; the same figures broken down
//! by any of those or by who answered (the health-equity view), with NHS England's small-number
//! suppression; CSV copies of both; and a paper response typed in.

use alongside_platform::error::FieldError;
use alongside_proto::feedback::v1 as feedback;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::StatusCode;
use minijinja::{context, Value};
use serde::{Deserialize, Serialize};

use crate::access::FFT_READERS;
use crate::error::AppError;
use crate::pages::{base, csv_response, errors_map, merge, period_field, query_string, render};
use crate::session::SignedIn;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/feedback", get(summary))
        .route("/feedback.csv", get(summary_csv))
        .route("/feedback/responses", post(add))
        .route("/feedback/breakdown", get(breakdown))
        .route("/feedback/breakdown.csv", get(breakdown_csv))
}

/// The ways of answering, as the feedback service names them.
pub(crate) const SOURCES: &[(&str, &str)] = &[
    ("web", "Web form"),
    ("sms", "Text message"),
    ("kiosk", "Kiosk or tablet"),
    ("paper", "Paper card or form"),
    ("just_a_minute_card", "Just a minute card"),
    ("ivr", "Automated phone call"),
    ("app", "App"),
];

/// What a breakdown can be by: where the care was, or who answered.
const PLACES: &[(&str, &str)] = &[
    ("site", "Site"),
    ("locality", "Locality"),
    ("pathway", "Pathway"),
    ("team", "Team"),
    ("source", "Way of answering"),
];
const WHO: &[(&str, &str)] = &[
    ("age_band", "Age"),
    ("sex", "Sex"),
    ("ethnic_group", "Ethnic group"),
    ("imd_decile", "Deprivation decile"),
];

const ANSWERS: &[(&str, &str)] = &[
    ("1", "Very good"),
    ("2", "Good"),
    ("3", "Neither good nor poor"),
    ("4", "Poor"),
    ("5", "Very poor"),
    ("6", "Don't know"),
];

/// The period and the places chosen, from the query string of every FFT page.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Filter {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    locality: String,
    #[serde(default)]
    pathway: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    by: String,
    /// The chart's target % positive, for its assurance.
    #[serde(default)]
    target: String,
    /// Months the chart's limits start afresh, separated by commas or spaces.
    #[serde(default)]
    rebase: String,
    #[serde(default)]
    notice: Option<String>,
}

impl Filter {
    fn places(&self) -> feedback::FftFilter {
        feedback::FftFilter {
            site: self.site.clone(),
            locality: self.locality.clone(),
            pathway: self.pathway.clone(),
            team: self.team.clone(),
            source: self.source.clone(),
        }
    }

    fn any_place(&self) -> bool {
        [
            &self.site,
            &self.locality,
            &self.pathway,
            &self.team,
            &self.source,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }

    fn by(&self) -> &str {
        if self.by.is_empty() {
            "site"
        } else {
            &self.by
        }
    }

    /// The filter as a query string, to carry it to the CSV and the other page.
    fn query(&self, with_by: bool) -> String {
        query_string(&[
            ("from", &self.from),
            ("to", &self.to),
            ("site", &self.site),
            ("locality", &self.locality),
            ("pathway", &self.pathway),
            ("team", &self.team),
            ("source", &self.source),
            ("by", if with_by { self.by() } else { "" }),
        ])
    }

    fn value(&self) -> Value {
        context! {
            from => self.from, to => self.to, site => self.site, locality => self.locality,
            pathway => self.pathway, team => self.team, source => self.source, by => self.by(),
            target => self.target, rebase => self.rebase,
        }
    }
}

/// A target typed as "90" or "90%", and months separated by commas or spaces.
pub(crate) fn chart_settings(
    target: &str,
    rebase: &str,
) -> Result<(Option<f64>, Vec<String>), AppError> {
    let target = target.trim().trim_end_matches('%').trim();
    let target = if target.is_empty() {
        None
    } else {
        Some(
            target
                .parse::<f64>()
                .ok()
                .filter(|t| t.is_finite())
                .ok_or_else(|| {
                    AppError::Invalid(vec![FieldError::new(
                        "target",
                        "must be a percentage from 0 to 100, for example 90",
                    )])
                })?,
        )
    };
    let rebase = rebase
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect();
    Ok((target, rebase))
}

pub(crate) fn percent(value: Option<f64>) -> String {
    // NHS England publishes FFT percentages as whole numbers.
    value
        .map(|v| format!("{}%", v.round() as i64))
        .unwrap_or_else(|| "–".into())
}

async fn get_summary(
    state: &AppState,
    me: &SignedIn,
    filter: &Filter,
) -> Result<feedback::GetFftSummaryResponse, AppError> {
    let (target, rebase_months) = chart_settings(&filter.target, &filter.rebase)?;
    let request = feedback::GetFftSummaryRequest {
        from_month: filter.from.trim().into(),
        to_month: filter.to.trim().into(),
        target,
        filter: Some(filter.places()),
        rebase_months,
        leave_out_small_months: false,
    };
    Ok(state
        .clients
        .feedback()
        .get_fft_summary(state.clients.request(&me.caller, request))
        .await
        .map_err(|s| AppError::from(s).with_fields(period_field))?
        .into_inner())
}

async fn get_breakdown(
    state: &AppState,
    me: &SignedIn,
    filter: &Filter,
    by: &str,
) -> Result<feedback::GetFftBreakdownResponse, AppError> {
    let request = feedback::GetFftBreakdownRequest {
        from_month: filter.from.trim().into(),
        to_month: filter.to.trim().into(),
        by: by.into(),
        filter: Some(filter.places()),
    };
    Ok(state
        .clients
        .feedback()
        .get_fft_breakdown(state.clients.request(&me.caller, request))
        .await
        .map_err(|s| AppError::from(s).with_fields(period_field))?
        .into_inner())
}

async fn get_places(state: &AppState, me: &SignedIn) -> Result<feedback::FftPlaces, AppError> {
    Ok(state
        .clients
        .feedback()
        .list_fft_places(
            state
                .clients
                .request(&me.caller, feedback::ListFftPlacesRequest {}),
        )
        .await?
        .into_inner())
}

/// The choices of each filter: every value the trust's responses carry.
fn options(places: &feedback::FftPlaces) -> Value {
    let list = |all: &str, values: &[String]| {
        let mut out = vec![(String::new(), all.to_string())];
        out.extend(values.iter().map(|v| (v.clone(), v.clone())));
        out
    };
    let mut sources = vec![(String::new(), "Any way".to_string())];
    sources.extend(SOURCES.iter().map(|(v, l)| (v.to_string(), l.to_string())));
    let mut by: Vec<(String, String)> = PLACES
        .iter()
        .map(|(v, l)| (v.to_string(), l.to_string()))
        .collect();
    by.extend(
        WHO.iter()
            .map(|(v, l)| (v.to_string(), format!("Who answered: {}", lower_first(l)))),
    );
    context! {
        sites => list("All sites", &places.sites),
        localities => list("All localities", &places.localities),
        pathways => list("All pathways", &places.pathways),
        teams => list("All teams", &places.teams),
        sources => sources,
        by => by,
    }
}

async fn summary_page(
    state: &AppState,
    me: &SignedIn,
    filter: &Filter,
    form: Value,
    err: Option<&AppError>,
) -> Result<Response, AppError> {
    let (summary, filter_errors) = match get_summary(state, me, filter).await {
        Ok(summary) => (Some(summary), None),
        Err(err @ AppError::Invalid(_)) => (None, Some(errors_map(&err))),
        Err(err) => return Err(err),
    };
    let places = get_places(state, me).await?;
    let summary = summary.unwrap_or_default();
    let months: Vec<Value> = summary
        .months
        .iter()
        .rev()
        .map(|m| {
            let interval = match (m.positive_low_95, m.positive_high_95) {
                (Some(low), Some(high)) => format!("{low:.0}–{high:.0}%"),
                _ => "–".into(),
            };
            context! { month => m.month, very_good => m.very_good, good => m.good, neither => m.neither, poor => m.poor, very_poor => m.very_poor, dont_know => m.dont_know, total => m.total, positive => percent(m.percent_positive), negative => percent(m.percent_negative), interval => interval }
        })
        .collect();
    let chart = summary.positive_chart.unwrap_or_default();
    let points: Vec<Value> = chart
        .points
        .iter()
        .map(|p| context! { period => p.period, value => format!("{:.1}%", p.value), mean => format!("{:.1}%", p.mean), lpl => p.lpl.map(|v| format!("{v:.1}%")), upl => p.upl.map(|v| format!("{v:.1}%")), variation => p.r#type.replace('_', " "), rule => p.rule })
        .collect();
    let spc = (!chart.points.is_empty()).then(|| context! {
        svg => crate::charts::spc_svg(&chart, "% positive by month, with its mean and process limits", "%"),
        target => chart.target.map(|t| format!("{t}%")),
        groups => chart.points.windows(2).filter(|w| w[0].mean != w[1].mean || w[0].upl != w[1].upl).count() + 1,
        summary => crate::charts::summary(&chart, "%"),
        warnings => chart.warnings,
        points => points,
    });
    let notice = (filter.notice.as_deref() == Some("added")).then_some("Response added.");
    let status = if err.is_some() || filter_errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let html: Html<String> = render(
        state,
        "feedback.html",
        merge(
            base(me, "/feedback", "Friends and Family Test"),
            context! {
                months => months, spc => spc, answers => ANSWERS, form => form,
                can_submit => me.has_role(FFT_READERS),
                errors => err.map(errors_map).or(filter_errors.clone()).unwrap_or_default(),
                filter_errors => filter_errors.unwrap_or_default(),
                filter => filter.value(), filtered => filter.any_place() || !filter.from.is_empty() || !filter.to.is_empty(),
                query => filter.query(false), options => options(&places), chart_choice => true,
                notice => notice,
            },
        ),
    )?;
    Ok((status, html).into_response())
}

async fn summary(
    State(state): State<AppState>,
    me: SignedIn,
    Query(filter): Query<Filter>,
) -> Result<Response, AppError> {
    me.require(FFT_READERS)?;
    let today = state.clock.today().to_string();
    summary_page(
        &state,
        &me,
        &filter,
        context! { response_id => "", answer => "1", responded_on => today },
        None,
    )
    .await
}

async fn summary_csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(filter): Query<Filter>,
) -> Result<Response, AppError> {
    me.require(FFT_READERS)?;
    let summary = get_summary(&state, &me, &filter).await?;
    let fmt = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_default();
    let rows = summary
        .months
        .into_iter()
        .map(|m| {
            vec![
                m.month,
                m.very_good.to_string(),
                m.good.to_string(),
                m.neither.to_string(),
                m.poor.to_string(),
                m.very_poor.to_string(),
                m.dont_know.to_string(),
                m.total.to_string(),
                fmt(m.percent_positive),
                fmt(m.percent_negative),
            ]
        })
        .collect();
    csv_response(
        "fft.csv",
        &[
            "month",
            "very_good",
            "good",
            "neither",
            "poor",
            "very_poor",
            "dont_know",
            "total",
            "percent_positive",
            "percent_negative",
        ],
        rows,
    )
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
}

/// How a value of a dimension reads on the page ("" is not known).
fn label(by: &str, value: &str) -> String {
    if value.is_empty() {
        return "Not known".into();
    }
    match by {
        "source" => SOURCES
            .iter()
            .find(|(v, _)| *v == value)
            .map_or(value.to_string(), |(_, l)| l.to_string()),
        "imd_decile" => match value {
            "1" => "1 (most deprived)".into(),
            "10" => "10 (least deprived)".into(),
            v => v.into(),
        },
        "age_band" if value == "under_16" => "Under 16".into(),
        _ => alongside_proto::EQUALITY_QUESTIONS
            .iter()
            .find(|(q, _, _)| *q == by)
            .and_then(|(_, _, answers)| answers.iter().find(|(v, _)| *v == value))
            .map_or(value.to_string(), |(_, l)| l.to_string()),
    }
}

/// Rows in the order people read them: age bands youngest first, deciles 1 to 10, the codes of
/// the other equality questions as asked, places by name; "not known" last.
fn order(by: &str, value: &str) -> (bool, usize, String) {
    let position = match by {
        "imd_decile" => value.parse().unwrap_or(usize::MAX),
        "age_band" if value == "under_16" => 0,
        _ => alongside_proto::EQUALITY_QUESTIONS
            .iter()
            .find(|(q, _, _)| *q == by)
            .and_then(|(_, _, answers)| answers.iter().position(|(v, _)| *v == value))
            .map_or(0, |p| p + 1),
    };
    (value.is_empty(), position, value.to_string())
}

fn suppression_note(kind: &str) -> &'static str {
    match kind {
        "primary" => "Hidden: 1 to 4 responses",
        "secondary" => "Hidden so a hidden row cannot be worked out",
        "cascade" => "Hidden with its group",
        _ => "",
    }
}

fn cell(v: Option<u64>) -> String {
    v.map_or_else(|| "*".into(), |v| v.to_string())
}

fn breakdown_row(by: &str, row: &feedback::FftBreakdownRow, all: bool) -> Value {
    let hidden = row.suppression != "none" && !row.suppression.is_empty();
    context! {
        label => if all { "All responses".to_string() } else { label(by, &row.value) },
        total => cell(row.total),
        very_good => cell(row.very_good), good => cell(row.good), neither => cell(row.neither),
        poor => cell(row.poor), very_poor => cell(row.very_poor), dont_know => cell(row.dont_know),
        // Only primary suppression hides the percentages; the service leaves them out then.
        positive => if hidden && row.percent_positive.is_none() { "*".into() } else { percent(row.percent_positive) },
        negative => if hidden && row.percent_negative.is_none() { "*".into() } else { percent(row.percent_negative) },
        note => suppression_note(&row.suppression),
    }
}

async fn breakdown(
    State(state): State<AppState>,
    me: SignedIn,
    Query(filter): Query<Filter>,
) -> Result<Response, AppError> {
    me.require(FFT_READERS)?;
    let by = filter.by().to_string();
    let equity = WHO.iter().any(|(v, _)| *v == by);
    let (result, errors) = match get_breakdown(&state, &me, &filter, &by).await {
        Ok(r) => (Some(r), None),
        Err(err @ AppError::Invalid(_)) => (None, Some(errors_map(&err))),
        Err(err) => return Err(err),
    };
    let places = get_places(&state, &me).await?;
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut ordered: Vec<&feedback::FftBreakdownRow> =
        result.iter().flat_map(|r| r.rows.iter()).collect();
    ordered.sort_by_key(|row| order(&by, &row.value));
    let rows: Vec<Value> = ordered
        .into_iter()
        .map(|row| breakdown_row(&by, row, false))
        .collect();
    let all = result
        .as_ref()
        .and_then(|r| r.all.as_ref())
        .filter(|a| a.total != Some(0))
        .map(|a| breakdown_row(&by, a, true));
    let heading = PLACES
        .iter()
        .chain(WHO)
        .find(|(v, _)| *v == by)
        .map_or("Value", |(_, l)| l);
    let html: Html<String> = render(
        &state,
        "fft_breakdown.html",
        merge(
            base(
                &me,
                "/feedback",
                "Friends and Family Test by place and by who answered",
            ),
            context! {
                rows => rows, all => all, heading => heading, phrase => lower_first(heading), equity => equity,
                filter => filter.value(), query => filter.query(true), summary_query => filter.query(false),
                options => options(&places),
                filter_errors => errors.clone().unwrap_or_default(),
                errors => errors.unwrap_or_default(),
            },
        ),
    )?;
    Ok((status, html).into_response())
}

async fn breakdown_csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(filter): Query<Filter>,
) -> Result<Response, AppError> {
    me.require(FFT_READERS)?;
    let by = filter.by().to_string();
    let result = get_breakdown(&state, &me, &filter, &by).await?;
    let n = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    let fmt = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_default();
    let line = |value: String, r: &feedback::FftBreakdownRow| {
        vec![
            value,
            n(r.total),
            n(r.very_good),
            n(r.good),
            n(r.neither),
            n(r.poor),
            n(r.very_poor),
            n(r.dont_know),
            fmt(r.percent_positive),
            fmt(r.percent_negative),
            r.suppression.clone(),
        ]
    };
    let mut rows: Vec<Vec<String>> = result.all.iter().map(|a| line("all".into(), a)).collect();
    rows.extend(result.rows.iter().map(|r| line(r.value.clone(), r)));
    let column = result.by.clone();
    csv_response(
        &format!("fft-by-{column}.csv"),
        &[
            column.as_str(),
            "total",
            "very_good",
            "good",
            "neither",
            "poor",
            "very_poor",
            "dont_know",
            "percent_positive",
            "percent_negative",
            "suppression",
        ],
        rows,
    )
}

#[derive(Deserialize, Serialize)]
struct AddForm {
    csrf_token: String,
    #[serde(default)]
    response_id: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    responded_on: String,
    #[serde(default)]
    paper_site: String,
    #[serde(default)]
    paper_pathway: String,
    #[serde(default)]
    paper_team: String,
}

async fn add(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<AddForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    let response = feedback::FftResponse {
        response_id: form.response_id.clone(),
        source: "paper".into(),
        answer: form.answer.parse().unwrap_or(0),
        responded_on: form.responded_on.clone(),
        site: form.paper_site.clone(),
        pathway: form.paper_pathway.clone(),
        team: form.paper_team.clone(),
        ..Default::default()
    };
    let result = state
        .clients
        .feedback()
        .submit_fft_responses(state.clients.request(
            &me.caller,
            feedback::SubmitFftResponsesRequest {
                responses: vec![response],
                dry_run: false,
            },
        ))
        .await?
        .into_inner();
    let err = if !result.rejected.is_empty() {
        let problems = result
            .rejected
            .into_iter()
            .map(|r| FieldError::new(r.field, r.reason))
            .collect();
        // The paper form's place fields are named apart from the filter's.
        Some(
            AppError::Invalid(problems).with_fields(|field| match field {
                "site" | "pathway" | "team" => format!("paper_{field}"),
                other => other.into(),
            }),
        )
    } else if result.duplicates > 0 {
        Some(AppError::Invalid(vec![FieldError::new(
            "response_id",
            "a paper response with this number is already recorded",
        )]))
    } else {
        None
    };
    match err {
        None => Ok(Redirect::to("/feedback?notice=added").into_response()),
        Some(err) => {
            let form = context! { response_id => form.response_id, answer => form.answer, responded_on => form.responded_on, paper_site => form.paper_site, paper_pathway => form.paper_pathway, paper_team => form.paper_team };
            summary_page(&state, &me, &Filter::default(), form, Some(&err)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_people_would_say_them() {
        assert_eq!(
            label("ethnic_group", "black"),
            "Black, Black British, Caribbean or African"
        );
        assert_eq!(label("age_band", "under_16"), "Under 16");
        assert_eq!(label("imd_decile", "1"), "1 (most deprived)");
        assert_eq!(label("source", "sms"), "Text message");
        assert_eq!(label("site", ""), "Not known");
        assert_eq!(label("site", "Ward 7"), "Ward 7");
    }

    #[test]
    fn rows_come_in_the_order_people_read_them() {
        let mut deciles = vec!["10", "", "2", "1"];
        deciles.sort_by_key(|v| order("imd_decile", v));
        assert_eq!(deciles, ["1", "2", "10", ""]);
        let mut ages = vec!["75_plus", "16_24", "under_16", "35_44"];
        ages.sort_by_key(|v| order("age_band", v));
        assert_eq!(ages, ["under_16", "16_24", "35_44", "75_plus"]);
        let mut sites = vec!["Ward 9", "", "Clinic"];
        sites.sort_by_key(|v| order("site", v));
        assert_eq!(sites, ["Clinic", "Ward 9", ""]);
    }

    #[test]
    fn the_filter_travels_in_links_encoded() {
        let f = Filter {
            site: "St Mary's & Co".into(),
            by: "team".into(),
            ..Default::default()
        };
        assert_eq!(f.query(true), "site=St%20Mary%27s%20%26%20Co&by=team");
        assert_eq!(f.query(false), "site=St%20Mary%27s%20%26%20Co");
        assert_eq!(Filter::default().query(true), "by=site");
    }
}
