//! The governance round-up of a period: what patients said (the Friends and Family Test with its
//! SPC chart, the themes of their comments, outcome measures) and what complaints taught, for the
//! patient forum (the whole trust) or for one pathway's MDT (its responses, comments, outcome
//! measures and complaints only). Printable, and as PDF. Figures only:
//! small numbers are hidden as NHS England publishes them, so it can go to a forum of partners.

use alongside_platform::{add_months, last_day_of_month};
use alongside_proto::feedback::v1 as feedback;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use minijinja::{context, Value};
use serde::Deserialize;

use crate::access::THEME_READERS;
use crate::complaints::{get_learning_report, last_quarter, report_blocks, report_value};
use crate::error::AppError;
use crate::fft::percent;
use crate::pages::{base, errors_map, merge, query_string, render, share};
use crate::pdf::{self, Block};
use crate::session::SignedIn;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports/round-up", get(page))
        .route("/reports/round-up.pdf", get(pdf_copy))
}

/// Months of history the round-up's SPC chart shows up to the period's end.
const CHART_MONTHS: i32 = 24;
/// How many themes the round-up lists.
const TOP_THEMES: usize = 8;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RoundUpQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// Empty for the forum's round-up of the whole trust; a pathway for its MDT's.
    #[serde(default)]
    pathway: String,
}

/// Everything the round-up shows, gathered from feedback.
struct RoundUp {
    from: String,
    to: String,
    pathway: String,
    fft: Fft,
    chart: feedback::SpcChart,
    themes: feedback::ThemeSummary,
    proms: feedback::PromSummary,
    complaints: feedback::LearningReport,
}

/// The period's FFT figures added up; the percentages hidden with 1 to 4 responses.
#[derive(Default)]
struct Fft {
    total: u64,
    positive: u64,
    negative: u64,
}

impl Fft {
    fn hidden(&self) -> bool {
        (1..=4).contains(&self.total)
    }

    fn share(&self, part: u64) -> String {
        if self.hidden() || self.total == 0 {
            "–".into()
        } else {
            percent(Some(part as f64 * 100.0 / self.total as f64))
        }
    }
}

async fn gather(state: &AppState, me: &SignedIn, q: &RoundUpQuery) -> Result<RoundUp, AppError> {
    let (from, to) = if q.from.trim().is_empty() && q.to.trim().is_empty() {
        last_quarter(state.clock.today())
    } else {
        (q.from.trim().to_string(), q.to.trim().to_string())
    };
    let pathway = q.pathway.trim().to_string();
    let bad = |field: &str| {
        AppError::Invalid(vec![alongside_platform::error::FieldError::new(
            field,
            "must be a month in the form YYYY-MM",
        )])
    };
    let chart_from = add_months(&to, 1 - CHART_MONTHS).ok_or_else(|| bad("to"))?;
    let last = last_day_of_month(&to).ok_or_else(|| bad("to"))?.to_string();
    add_months(&from, 0).ok_or_else(|| bad("from"))?;
    if to < from {
        return Err(AppError::Invalid(vec![
            alongside_platform::error::FieldError::new("to", "cannot be before the first month"),
        ]));
    }
    let mut feedback = state.clients.feedback();
    let summary = feedback
        .get_fft_summary(state.clients.request(
            &me.caller,
            feedback::GetFftSummaryRequest {
                from_month: chart_from.min(from.clone()),
                to_month: to.clone(),
                filter: Some(feedback::FftFilter {
                    pathway: pathway.clone(),
                    ..Default::default()
                }),
                leave_out_small_months: true,
                ..Default::default()
            },
        ))
        .await?
        .into_inner();
    let mut fft = Fft::default();
    for m in summary
        .months
        .iter()
        .filter(|m| m.month >= from && m.month <= to)
    {
        fft.total += m.total;
        fft.positive += m.very_good + m.good;
        fft.negative += m.poor + m.very_poor;
    }
    let chart = summary.positive_chart.unwrap_or_default();
    let themes = feedback
        .get_theme_summary(state.clients.request(
            &me.caller,
            feedback::GetThemeSummaryRequest {
                from_month: from.clone(),
                to_month: to.clone(),
                pathway: pathway.clone(),
                trusts: Vec::new(),
            },
        ))
        .await?
        .into_inner();
    let proms = feedback
        .get_prom_summary(state.clients.request(
            &me.caller,
            feedback::GetPromSummaryRequest {
                from: format!("{from}-01"),
                to: last,
                pathway: pathway.clone(),
                msk_hq_threshold: 0,
            },
        ))
        .await?
        .into_inner();
    let complaints = get_learning_report(state, me, &from, &to, &pathway).await?;
    Ok(RoundUp {
        from,
        to,
        pathway,
        fft,
        chart,
        themes,
        proms,
        complaints,
    })
}

fn audience(r: &RoundUp) -> String {
    if r.pathway.is_empty() {
        "the patient forum".into()
    } else {
        format!("the {} MDT", r.pathway)
    }
}

/// The themes most written about in the period, with how they felt.
fn top_themes(themes: &feedback::ThemeSummary) -> Vec<&feedback::ThemeCount> {
    let mut top: Vec<&feedback::ThemeCount> = themes
        .categories
        .iter()
        .filter(|c| {
            c.comments > 0 && !matches!(c.code.as_str(), "not_assigned" | "labelling_not_possible")
        })
        .collect();
    top.sort_by_key(|c| std::cmp::Reverse(c.comments));
    top.truncate(TOP_THEMES);
    top
}

async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<RoundUpQuery>,
) -> Result<Response, AppError> {
    me.require(THEME_READERS)?;
    let (found, errors) = match gather(&state, &me, &q).await {
        Ok(r) => (Some(r), Default::default()),
        Err(err @ AppError::Invalid(_)) => (None, errors_map(&err)),
        Err(err) => return Err(err),
    };
    let status = if found.is_some() {
        http::StatusCode::OK
    } else {
        http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let value = found.as_ref().map(|r| {
        let themes: Vec<Value> = top_themes(&r.themes)
            .into_iter()
            .map(|c| {
                let of = |n: u64| if c.sentiment_hidden { "hidden".to_string() } else { share(n, c.comments) };
                context! { name => c.name, comments => c.comments, positive => of(c.positive), negative => of(c.negative) }
            })
            .collect();
        let chart = (!r.chart.points.is_empty()).then(|| context! {
            svg => crate::charts::spc_svg(&r.chart, "% positive by month, with its mean and process limits", "%"),
            summary => crate::charts::summary(&r.chart, "%"),
            warnings => r.chart.warnings,
        });
        context! {
            audience => audience(r), from => r.from, to => r.to, pathway => r.pathway,
            fft => context! { total => r.fft.total, hidden => r.fft.hidden(), positive => r.fft.share(r.fft.positive), negative => r.fft.share(r.fft.negative) },
            chart => chart, themes => themes,
            comments => r.themes.comments,
            proms => crate::proms::row(&r.pathway, &r.proms),
            report => report_value(&r.complaints),
            query => query_string(&[("from", &r.from), ("to", &r.to), ("pathway", &r.pathway)]),
        }
    });
    // The pathways feedback knows of: where FFT responses and outcome measures were given.
    let mut pathways = state
        .clients
        .feedback()
        .list_fft_places(
            state
                .clients
                .request(&me.caller, feedback::ListFftPlacesRequest {}),
        )
        .await?
        .into_inner()
        .pathways;
    if let Some(r) = &found {
        pathways.extend(r.proms.pathways.iter().cloned());
    }
    pathways.sort();
    pathways.dedup();
    let html = render(
        &state,
        "roundup.html",
        merge(
            base(&me, "/reports/round-up", "Governance round-up"),
            context! {
                r => value, errors => errors,
                filter => context! { from => q.from, to => q.to, pathway => q.pathway },
                pathways => pathways,
            },
        ),
    )?;
    Ok((status, html).into_response())
}

async fn pdf_copy(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<RoundUpQuery>,
) -> Result<Response, AppError> {
    me.require(THEME_READERS)?;
    let r = gather(&state, &me, &q).await?;
    let mut blocks = vec![
        Block::Title(format!("Round-up for {}", audience(&r))),
        Block::Text(format!(
            "{}: {} to {}. Small numbers are hidden.",
            me.caller.tenant.as_str(),
            r.from,
            r.to
        )),
        Block::Heading("Friends and Family Test".into()),
        Block::Row("Responses".into(), r.fft.total.to_string()),
        Block::Row(
            "Positive (very good or good)".into(),
            r.fft.share(r.fft.positive),
        ),
        Block::Row(
            "Negative (poor or very poor)".into(),
            r.fft.share(r.fft.negative),
        ),
    ];
    if !r.chart.points.is_empty() {
        blocks.push(Block::Text(crate::charts::summary(&r.chart, "%")));
    }
    blocks.push(Block::Heading(format!(
        "What comments were about ({} comments)",
        r.themes.comments
    )));
    for c in top_themes(&r.themes) {
        blocks.push(Block::Row(
            c.name.clone(),
            if c.sentiment_hidden {
                format!("{} (sentiment hidden)", c.comments)
            } else {
                format!(
                    "{} ({} positive, {} negative)",
                    c.comments,
                    share(c.positive, c.comments),
                    share(c.negative, c.comments)
                )
            },
        ));
    }
    let p = &r.proms;
    if crate::proms::any(p) {
        blocks.push(Block::Heading("Outcome measures".into()));
        let value = |withheld: bool, v: Option<f64>| {
            if withheld {
                "hidden".to_string()
            } else {
                v.map_or("–".into(), |v| format!("{}%", (v * 100.0).round() as i64))
            }
        };
        blocks.extend([
            Block::Row(
                "MSK-HQ questionnaires".into(),
                crate::proms::count(p.msk_hq_responses),
            ),
            Block::Row(
                format!("Improved by {} points or more", p.msk_hq_threshold),
                value(p.msk_hq_withheld, p.msk_hq_improved),
            ),
            Block::Row(
                "SURE questionnaires".into(),
                crate::proms::count(p.sure_responses),
            ),
            Block::Row(
                "With decisional conflict".into(),
                value(p.sure_withheld, p.sure_conflict),
            ),
        ]);
    }
    blocks.extend(report_blocks(&r.complaints));
    let who = if r.pathway.is_empty() {
        "forum".to_string()
    } else {
        r.pathway.to_lowercase().replace(' ', "-")
    };
    Ok(pdf::response(
        &format!("round-up-{who}-{}-{}.pdf", r.from, r.to),
        pdf::render(&blocks),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handful_of_responses_shows_no_percentages() {
        let few = Fft {
            total: 4,
            positive: 4,
            negative: 0,
        };
        assert_eq!(few.share(few.positive), "–");
        let enough = Fft {
            total: 5,
            positive: 4,
            negative: 1,
        };
        assert_eq!(enough.share(enough.positive), "80%");
    }
}
