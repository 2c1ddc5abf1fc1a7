//! The dashboards: for an ICS, its member trusts side by side and the ICS in total; for a trust
//! (or an ICS drilling into one), its sites, pathways, teams, localities or ways of answering.
//! Each shows the Friends and Family Test with confidence intervals, Making Data Count SPC
//! charts with their icons, a funnel plot, outcome measures, the themes of comments and how they
//! move, and involvement (partners active and paid, spend). Figures only: small numbers are
//! hidden with secondary suppression by the services, so no hidden figure can be worked out
//! from the totals. Every chart has a table and a CSV copy; the board report is the same
//! figures, printable and as PDF.

use std::collections::BTreeMap;

use alongside_platform::error::FieldError;
use alongside_platform::{add_months, Caller, OdsCode, Role};
use alongside_proto::common::v1::DateRange;
use alongside_proto::engagement::v1::{EngagementReportRequest, EngagementReportResponse};
use alongside_proto::feedback::v1 as feedback;
use alongside_proto::payments::v1 as payments;
use alongside_proto::people::v1 as people;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use minijinja::context;
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::DASHBOARD_READERS;
use crate::api::{ApiResult, FftBreakdownRowBody, SpcChartBody};
use crate::charts::{self, FunnelUnit};
use crate::error::AppError;
use crate::fft::percent;
use crate::pages::{base, csv_response, errors_map, merge, query_string, render};
use crate::pdf::{self, Block};
use crate::session::SignedIn;
use crate::AppState;

/// Months of history each SPC chart shows, ending with the period.
const CHART_MONTHS: i32 = 24;
const TOP_THEMES: usize = 8;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(page))
        .route("/dashboard.csv", get(csv))
        .route("/dashboard/board-report", get(board_report))
        .route("/dashboard/board-report.pdf", get(board_report_pdf))
        .route("/api/v1/dashboard", get(dashboard_json))
}

/// What the dashboard shows: a period and filters; an ICS may name one of its trusts.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct DashboardQuery {
    /// First and last months, YYYY-MM; the last three complete months when both are empty.
    from: String,
    to: String,
    /// For an ICS: one member trust (its ODS code), to drill into it.
    trust: String,
    /// Within a trust: site, locality, pathway, team or source to show units by (site when empty).
    by: String,
    site: String,
    locality: String,
    pathway: String,
    team: String,
    /// web, sms, kiosk, paper, just_a_minute_card, ivr or app.
    source: String,
    /// For the CSV download: fft, funnel, charts, proms, themes or involvement.
    #[param(ignore)]
    section: String,
}

const BY: &[(&str, &str)] = &[
    ("site", "Site"),
    ("pathway", "Pathway"),
    ("team", "Team"),
    ("locality", "Locality"),
    ("source", "Way of answering"),
];

/// What an ICS sees a trust by: the dimensions of its protected comparison.
const ICS_BY: [&str; 3] = ["pathway", "locality", "source"];

/// A unit's name: "Not known" for the empty value, a way of answering by its label.
fn value_label(by: &str, value: &str) -> String {
    if value.is_empty() {
        "Not known".into()
    } else if by == "source" {
        crate::fft::SOURCES
            .iter()
            .find(|(v, _)| *v == value)
            .map_or(value.to_string(), |(_, l)| l.to_string())
    } else {
        value.to_string()
    }
}

/// A unit's FFT figures as shown, with its chart's icons.
#[derive(Serialize, ToSchema)]
pub struct UnitBody {
    /// The trust's ODS code, or the site, pathway... value; empty for the total.
    code: String,
    name: String,
    #[serde(flatten)]
    figures: FftBreakdownRowBody,
    /// Where the unit lies on the funnel plot; absent when it is not on it.
    funnel: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ChartBody {
    code: String,
    name: String,
    chart: SpcChartBody,
    #[serde(skip)]
    drawn: feedback::SpcChart,
}

#[derive(Serialize, ToSchema)]
pub struct PromBody {
    code: String,
    name: String,
    /// Absent when hidden (1 to 4 questionnaires, or what would give such a figure back).
    msk_hq_responses: Option<u64>,
    /// Follow-ups, each paired with its episode's first questionnaire; absent when hidden.
    msk_hq_episodes_paired: Option<u64>,
    /// Shares 0–1 of follow-ups improving, or worsening, by the threshold; absent when
    /// hidden or there are none.
    msk_hq_improved: Option<f64>,
    msk_hq_worsened: Option<f64>,
    msk_hq_threshold: u32,
    /// Absent when hidden.
    sure_responses: Option<u64>,
    /// Share 0–1 with decisional conflict; absent when hidden.
    sure_conflict: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct ThemeBody {
    code: String,
    name: String,
    comments: u64,
    /// Of the period's comments, and of the previous period's, in percent.
    share: f64,
    /// Absent when hidden: a month of it had 1 to 4 comments about the theme at some trust.
    previous_comments: Option<u64>,
    previous_share: Option<f64>,
    /// Percentage points since the previous period.
    change: Option<f64>,
    /// Absent when the split by sentiment is hidden (a month of 1 to 4 of one somewhere).
    negative: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct InvolvementBody {
    code: String,
    name: String,
    /// Active in the People Bank now.
    active_partners: u64,
    /// Paid for involvement or expenses in the period (approved, in a run or paid); absent
    /// when hidden (1 to 4 partners).
    partners_paid: Option<u64>,
    spend_pence: Option<i64>,
    /// Sessions partners attended in the period, and their hours, as engagement publishes
    /// them: absent when hidden (1 to 4 partners, or what would give such a figure back), with
    /// the partners involved; the ICS's when any trust's is.
    sessions: Option<u64>,
    hours: Option<f64>,
    /// Distinct partners who attended; absent when hidden (1 to 4 partners).
    partners_involved: Option<u64>,
    /// How far the bank is from the population served on the question where it is furthest:
    /// the dissimilarity index (half the sum of the differences of shares), in percentage points;
    /// absent when no population is set or a count is hidden.
    representation_gap: Option<f64>,
    representation_question: String,
}

/// The question on which the bank is furthest from the population served, and how far.
pub fn representation_gap(report: &people::EqualityReport) -> Option<(String, f64)> {
    report
        .questions
        .iter()
        .filter(|q| !q.population_source.is_empty())
        .filter(|q| q.counts.iter().all(|c| !c.hidden))
        .filter_map(|q| {
            let known: Vec<_> = q
                .counts
                .iter()
                .filter_map(|c| Some((c.bank_permille?, c.population_permille?)))
                .collect();
            (!known.is_empty()).then(|| {
                let gap: f64 = known
                    .iter()
                    .map(|(b, p)| (*b as f64 - *p as f64).abs())
                    .sum::<f64>()
                    / 20.0;
                (q.label.clone(), gap)
            })
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The dashboard as JSON: what the page shows.
#[derive(Serialize, ToSchema)]
pub struct DashboardBody {
    /// ics (member trusts side by side) or trust (its units).
    scope: String,
    /// The ICS's or the trust's ODS code, and its name.
    code: String,
    name: String,
    /// For a trust seen from its ICS: the ICS's code.
    ics: String,
    from: String,
    to: String,
    previous_from: String,
    previous_to: String,
    /// trust, or what a trust's units are by.
    by: String,
    total: UnitBody,
    units: Vec<UnitBody>,
    /// The total first, then (for an ICS) each trust.
    charts: Vec<ChartBody>,
    /// The total's % positive the funnel plot centres on; absent without one.
    funnel_mean: Option<f64>,
    proms: Vec<PromBody>,
    comments: u64,
    previous_comments: u64,
    themes: Vec<ThemeBody>,
    involvement: Vec<InvolvementBody>,
    /// Absent when it would give away one hidden trust's figures.
    involvement_total: Option<InvolvementBody>,
    /// Each trust's latest changes from its impact log in the period ("you said, we did").
    impact: Vec<ImpactBody>,
    /// The last month whose FFT figures are released (YYYY-MM): a month is released some days
    /// after it ends and then kept, so later months of the period are not in the figures yet.
    released_to: String,
    /// The day the next month is released (YYYY-MM-DD).
    next_release_on: String,
}

#[derive(Serialize, ToSchema)]
pub struct ImpactBody {
    /// The trust's ODS code and name.
    code: String,
    name: String,
    changed_on: String,
    pathway: String,
    you_said: String,
    we_did: String,
}

/// Whose dashboard it is.
enum Scope {
    /// An ICS: its code, name and member trusts (code, name).
    Ics(String, String, Vec<(String, String)>),
    /// A trust: its code and name, and when an ICS analyst drilled into it, the ICS's code
    /// and members.
    Trust(String, String, Option<(String, Vec<(String, String)>)>),
}

fn invalid(field: &str, reason: &str) -> AppError {
    AppError::Invalid(vec![FieldError::new(field, reason)])
}

async fn scope(state: &AppState, me: &SignedIn, q: &DashboardQuery) -> Result<Scope, AppError> {
    use crate::store::tenant;
    let own = me.caller.tenant.as_str().to_string();
    let name_of = |t: Option<tenant::Model>| t.map(|t| t.name).unwrap_or_default();
    let members = tenant::members(&state.db, &own).await?;
    let own_name = name_of(
        tenant::Entity::find_by_id(own.clone())
            .one(&state.db)
            .await?,
    );
    let trust = q.trust.trim().to_ascii_uppercase();
    if members.is_empty() {
        // A trust's users see their own trust only.
        if !trust.is_empty() && trust != own {
            return Err(AppError::Forbidden);
        }
        return Ok(Scope::Trust(own, own_name, None));
    }
    if me.caller.role != Role::IcsAnalyst {
        return Err(AppError::Forbidden);
    }
    if trust.is_empty() {
        return Ok(Scope::Ics(own, own_name, members));
    }
    match members.iter().find(|(code, _)| *code == trust).cloned() {
        Some((code, name)) => Ok(Scope::Trust(code, name, Some((own, members)))),
        None => Err(invalid("trust", "is not a trust of this ICS")),
    }
}

/// The caller, acting on one trust's figures (an ICS analyst reads its members' aggregates).
pub(crate) fn as_trust(me: &SignedIn, code: &str) -> Result<Caller, AppError> {
    Ok(Caller {
        tenant: OdsCode::parse(code).map_err(|e| AppError::Internal(e.to_string()))?,
        ..me.caller.clone()
    })
}

/// The period, defaulting to the last three complete months, and the one before it.
fn period(
    q: &DashboardQuery,
    today: time::Date,
) -> Result<(String, String, String, String), AppError> {
    let (from, to) = if q.from.trim().is_empty() && q.to.trim().is_empty() {
        crate::complaints::last_quarter(today)
    } else {
        (q.from.trim().to_string(), q.to.trim().to_string())
    };
    let mut errors = Vec::new();
    for (field, value) in [("from", &from), ("to", &to)] {
        if add_months(value, 0).is_none() {
            errors.push(FieldError::new(
                field,
                "must be a month in the form YYYY-MM",
            ));
        }
    }
    if errors.is_empty() && to < from {
        errors.push(FieldError::new("to", "cannot be before the first month"));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let mut months = 1;
    while add_months(&from, months).is_some_and(|m| m <= to) {
        months += 1;
    }
    let previous_to = add_months(&from, -1).unwrap_or_default();
    let previous_from = add_months(&from, -months).unwrap_or_default();
    Ok((from, to, previous_from, previous_to))
}

fn unit(code: &str, name: &str, row: feedback::FftBreakdownRow) -> UnitBody {
    UnitBody {
        code: code.into(),
        name: name.into(),
        figures: row.into(),
        funnel: None,
    }
}

impl UnitBody {
    /// The unit as a point of the funnel plot: not when its percentage is hidden.
    fn on_funnel(&self) -> Option<FunnelUnit> {
        let percent = self.figures.percent_positive()?;
        let n = self.figures.total().filter(|&n| n > 0)?;
        Some(FunnelUnit {
            label: self.name.clone(),
            n,
            percent,
        })
    }
}

async fn gather(
    state: &AppState,
    me: &SignedIn,
    q: &DashboardQuery,
) -> Result<DashboardBody, AppError> {
    me.require(DASHBOARD_READERS)?;
    let scope = scope(state, me, q).await?;
    let (from, to, previous_from, previous_to) = period(q, state.clock.today())?;
    let source = q.source.trim().to_ascii_lowercase();
    let rename = |e: tonic::Status| AppError::from(e).with_fields(crate::pages::period_field);

    // The FFT: the units and the total, the charts.
    let compare = |ics: &str, members: &[(String, String)]| {
        let request = feedback::CompareTrustsRequest {
            from_month: from.clone(),
            to_month: to.clone(),
            trusts: members.iter().map(|(c, _)| c.clone()).collect(),
            chart_months: CHART_MONTHS as u32,
        };
        let caller = Caller {
            tenant: OdsCode::parse(ics).unwrap_or_else(|_| me.caller.tenant.clone()),
            ..me.caller.clone()
        };
        let mut feedback = state.clients.feedback();
        async move {
            feedback
                .compare_trusts(state.clients.request(&caller, request))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let chart_of = |name: String, s: Option<&feedback::TrustSeries>| {
        let chart = s.and_then(|s| s.positive_chart.clone()).unwrap_or_default();
        ChartBody {
            code: s.map(|s| s.trust.clone()).unwrap_or_default(),
            name,
            chart: chart.clone().into(),
            drawn: chart,
        }
    };
    let mut released = (String::new(), String::new());
    let (scope_name, code, name, ics, by, trusts, total, units, charts) = match &scope {
        Scope::Ics(code, name, members) => {
            // Each figure is one of the comparison's protected tables: in total, or by one
            // value of one dimension.
            if !q.site.trim().is_empty() || !q.team.trim().is_empty() {
                return Err(invalid(
                    "site",
                    "sites and teams are a trust's own: choose a trust to see them",
                ));
            }
            let chosen: Vec<(&str, &str)> = [
                ("locality", q.locality.trim()),
                ("pathway", q.pathway.trim()),
                ("source", source.as_str()),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
            if chosen.len() > 1 {
                return Err(invalid(
                    chosen[1].0,
                    "compare trusts by one of locality, pathway or way of answering at a time",
                ));
            }
            let c = compare(code, members).await.map_err(rename)?;
            released = (c.released_to.clone(), c.next_release_on.clone());
            let names: BTreeMap<&str, &str> = members
                .iter()
                .map(|(c, n)| (c.as_str(), n.as_str()))
                .collect();
            let name_of = |trust: &str| names.get(trust).copied().unwrap_or("").to_string();
            let all = format!("{name} (all trusts)");
            let (rows, total, charts): (Vec<feedback::FftBreakdownRow>, _, Vec<ChartBody>) =
                match chosen.first() {
                    None => (
                        c.trusts.clone(),
                        c.ics.clone().unwrap_or_default(),
                        std::iter::once(chart_of(all.clone(), c.charts.first()))
                            .chain(
                                c.charts
                                    .iter()
                                    .skip(1)
                                    .map(|s| chart_of(name_of(&s.trust), Some(s))),
                            )
                            .collect(),
                    ),
                    Some((by, value)) => {
                        let cell = |trust: &str| {
                            c.cells
                                .iter()
                                .find(|x| x.by == *by && x.value == *value && x.trust == trust)
                                .and_then(|x| x.row.clone())
                                .unwrap_or_else(|| feedback::FftBreakdownRow {
                                    value: trust.into(),
                                    suppression: "none".into(),
                                    ..Default::default()
                                })
                        };
                        let rows = members
                            .iter()
                            .map(|(t, _)| feedback::FftBreakdownRow {
                                value: t.clone(),
                                ..cell(t)
                            })
                            .collect();
                        // Month by month, only the whole of each trust is protected, so no charts.
                        (rows, cell(""), Vec::new())
                    }
                };
            let units: Vec<UnitBody> = rows
                .into_iter()
                .map(|r: feedback::FftBreakdownRow| {
                    let trust = r.value.clone();
                    unit(&trust, &name_of(&trust), r)
                })
                .collect();
            (
                "ics",
                code.clone(),
                name.clone(),
                String::new(),
                "trust".to_string(),
                members.clone(),
                unit("", &all, total),
                units,
                charts,
            )
        }
        Scope::Trust(code, name, Some((ics, members))) => {
            // An ICS sees a trust as one row of the ICS's protected tables.
            let by = if q.by.trim().is_empty() {
                "pathway".to_string()
            } else {
                q.by.trim().to_string()
            };
            if !ICS_BY.contains(&by.as_str()) {
                return Err(invalid(
                    "by",
                    "an ICS sees a trust by locality, pathway or way of answering",
                ));
            }
            if [&q.site, &q.locality, &q.pathway, &q.team, &q.source]
                .iter()
                .any(|v| !v.trim().is_empty())
            {
                return Err(invalid(
                    "by",
                    "an ICS sees a trust by one of locality, pathway or way of answering, without other filters",
                ));
            }
            let c = compare(ics, members).await.map_err(rename)?;
            let total = c
                .trusts
                .iter()
                .find(|r| r.value == *code)
                .cloned()
                .unwrap_or_default();
            let units = c
                .cells
                .iter()
                .filter(|x| x.by == by && x.trust == *code)
                .filter_map(|x| x.row.clone())
                .filter(|r| r.total != Some(0))
                .map(|r| {
                    let label = value_label(&by, &r.value);
                    unit(&r.value.clone(), &label, r)
                })
                .collect();
            let charts = vec![chart_of(
                name.clone(),
                c.charts.iter().find(|s| s.trust == *code),
            )];
            (
                "trust",
                code.clone(),
                name.clone(),
                ics.clone(),
                by,
                vec![(code.clone(), name.clone())],
                unit("", name, total),
                units,
                charts,
            )
        }
        Scope::Trust(code, name, None) => {
            let caller = as_trust(me, code)?;
            let by = if q.by.trim().is_empty() {
                "site".to_string()
            } else {
                q.by.trim().to_string()
            };
            if !BY.iter().any(|(b, _)| *b == by) {
                return Err(invalid(
                    "by",
                    "must be site, pathway, team, locality or source",
                ));
            }
            // Only the protected views: by one dimension, or drilled (a locality by site, a
            // site by pathway, a site's pathway by team, a pathway by team).
            if !q.team.trim().is_empty() || !source.is_empty() {
                return Err(invalid(
                    "by",
                    "a trust is shown by one of site, pathway, team, locality or way of answering, or drilled: a locality by site, a site by pathway, a site's pathway by team, or a pathway by team",
                ));
            }
            let b = state
                .clients
                .feedback()
                .get_protected_breakdown(state.clients.request(
                    &caller,
                    feedback::ProtectedBreakdownRequest {
                        from_month: from.clone(),
                        to_month: to.clone(),
                        by: by.clone(),
                        locality: q.locality.trim().into(),
                        site: q.site.trim().into(),
                        pathway: q.pathway.trim().into(),
                        chart_months: CHART_MONTHS as u32,
                    },
                ))
                .await
                .map_err(rename)?
                .into_inner();
            released = (b.released_to.clone(), b.next_release_on.clone());
            let units = b
                .rows
                .into_iter()
                .map(|r| {
                    let label = value_label(&by, &r.value);
                    unit(&r.value.clone(), &label, r)
                })
                .collect();
            let chart = b.positive_chart.clone().unwrap_or_default();
            let charts = vec![ChartBody {
                code: String::new(),
                name: name.clone(),
                chart: chart.clone().into(),
                drawn: chart,
            }];
            (
                "trust",
                code.clone(),
                name.clone(),
                String::new(),
                by,
                vec![(code.clone(), name.clone())],
                unit("", name, b.all.unwrap_or_default()),
                units,
                charts,
            )
        }
    };

    // The funnel plot of the units, around the total's % positive.
    let funnel_mean = total.on_funnel().map(|u| u.percent);
    let mut unit_bodies = units;
    if let Some(mean) = funnel_mean {
        for body in &mut unit_bodies {
            body.funnel = body
                .on_funnel()
                .map(|u| charts::funnel_position(mean, &u).to_string());
        }
    }

    // Outcome measures, themes and involvement, trust by trust.
    let pathway = q.pathway.trim().to_string();
    let per_trust = futures::future::try_join_all(
        trusts
            .iter()
            .map(|(code, name)| trust_figures(state, me, code, name, (&from, &to), &pathway)),
    );
    let (per_trust, spend_report, involvement_report, now, before) = futures::try_join!(
        per_trust,
        spend(state, me, &trusts, &from, &to),
        involvement(state, me, &trusts, &from, &to),
        themes(state, me, &trusts, (&from, &to), &pathway),
        themes(state, me, &trusts, (&previous_from, &previous_to), &pathway),
    )?;
    let mut proms = Vec::new();
    let mut involvement = Vec::new();
    let mut impact = Vec::new();
    for t in per_trust {
        impact.extend(t.impact.iter().map(|e| ImpactBody {
            code: t.code.clone(),
            name: t.name.clone(),
            changed_on: e.changed_on.clone(),
            pathway: e.pathway.clone(),
            you_said: e.raised.clone(),
            we_did: e.changed.clone(),
        }));
        proms.push(prom_body(&t.code, &t.name, &t.proms));
        let involved = if involvement_report.trusts.is_empty() {
            Some(&involvement_report)
        } else {
            involvement_report
                .trusts
                .iter()
                .find(|r| r.trust == t.code)
                .and_then(|r| r.report.as_ref())
        };
        let report_total = if spend_report.trusts.is_empty() {
            spend_report.total.clone()
        } else {
            spend_report
                .trusts
                .iter()
                .find(|s| s.trust == t.code)
                .and_then(|s| s.total.clone())
        }
        .unwrap_or_default();
        let gap = representation_gap(&t.equality);
        involvement.push(InvolvementBody {
            code: t.code.clone(),
            name: t.name.clone(),
            active_partners: t.active_partners,
            partners_paid: (!report_total.suppressed).then_some(report_total.partner_count),
            spend_pence: (!report_total.suppressed).then_some(report_total.total_pence),
            sessions: involved.and_then(sessions),
            hours: involved.and_then(hours),
            partners_involved: involved.and_then(partners),
            representation_gap: gap.as_ref().map(|(_, g)| *g),
            representation_question: gap.map(|(q, _)| q).unwrap_or_default(),
        });
    }
    let involvement_total = (involvement.len() > 1).then(|| {
        // Payments sums the trusts' spend, hidden when any trust's is (a partner paid by two
        // trusts counted once).
        let total = spend_report.total.as_ref().filter(|t| !t.suppressed);
        InvolvementBody {
            code: String::new(),
            name: format!("{name} (all trusts)"),
            active_partners: involvement.iter().map(|i| i.active_partners).sum(),
            partners_paid: total.map(|t| t.partner_count),
            spend_pence: total.map(|t| t.total_pence),
            // Engagement sums the trusts' involvement, hidden when any trust's is.
            sessions: sessions(&involvement_report),
            hours: hours(&involvement_report),
            partners_involved: partners(&involvement_report),
            representation_gap: None,
            representation_question: String::new(),
        }
    });
    // Feedback adds up an ICS's trusts, a theme hidden when any trust's is.
    let (comments, previous_comments) = (now.comments, before.comments);
    let mut themes: Vec<ThemeBody> = now
        .categories
        .into_iter()
        .zip(before.categories)
        .filter(|(t, _)| {
            !t.hidden
                && t.comments > 0
                && !matches!(t.code.as_str(), "not_assigned" | "labelling_not_possible")
        })
        .map(|(t, b)| {
            let share = t.comments as f64 * 100.0 / comments.max(1) as f64;
            let previous_share = (previous_comments > 0 && !b.hidden)
                .then(|| b.comments as f64 * 100.0 / previous_comments as f64);
            ThemeBody {
                code: t.code,
                name: t.name,
                comments: t.comments,
                share,
                previous_comments: (!b.hidden).then_some(b.comments),
                previous_share,
                change: previous_share.map(|p| share - p),
                negative: (!t.sentiment_hidden).then_some(t.negative),
            }
        })
        .collect();
    themes.sort_by(|a, b| b.comments.cmp(&a.comments).then(a.name.cmp(&b.name)));
    themes.truncate(TOP_THEMES);

    Ok(DashboardBody {
        scope: scope_name.into(),
        code,
        name,
        ics,
        from,
        to,
        previous_from,
        previous_to,
        by,
        total,
        units: unit_bodies,
        charts,
        funnel_mean,
        proms,
        comments,
        previous_comments,
        themes,
        involvement,
        involvement_total,
        impact,
        released_to: released.0,
        next_release_on: released.1,
    })
}

/// One trust's outcome measures, equality answers and impact log.
struct TrustFigures {
    code: String,
    name: String,
    proms: feedback::PromSummary,
    active_partners: u64,
    equality: people::EqualityReport,
    impact: Vec<alongside_proto::engagement::v1::Impact>,
}

/// How many of a trust's latest impact log entries the dashboard highlights.
const IMPACT_HIGHLIGHTS: u32 = 3;

async fn trust_figures(
    state: &AppState,
    me: &SignedIn,
    code: &str,
    name: &str,
    (from, to): (&String, &String),
    pathway: &str,
) -> Result<TrustFigures, AppError> {
    let caller = as_trust(me, code)?;
    let caller = &caller;
    let last = last_day(to);
    let last = &last;
    // The trust's figures from each service, asked at once.
    let proms = async {
        Ok::<_, AppError>(
            state
                .clients
                .feedback()
                .get_prom_summary(state.clients.request(
                    caller,
                    feedback::GetPromSummaryRequest {
                        from: format!("{from}-01"),
                        to: last.clone(),
                        pathway: pathway.into(),
                        msk_hq_threshold: 0,
                    },
                ))
                .await?
                .into_inner(),
        )
    };
    let equality = async {
        Ok::<_, AppError>(
            state
                .clients
                .people()
                .get_equality_report(
                    state
                        .clients
                        .request(caller, people::EqualityReportRequest {}),
                )
                .await?
                .into_inner(),
        )
    };
    // The latest changes partners brought about in the period, "you said, we did".
    let impact = async {
        Ok::<_, AppError>(
            state
                .clients
                .engagement()
                .list_impact(state.clients.request(
                    caller,
                    alongside_proto::engagement::v1::ListImpactRequest {
                        page: crate::pages::page_request(Some(1), IMPACT_HIGHLIGHTS),
                        pathway: pathway.into(),
                        from: format!("{from}-01"),
                        to: last.clone(),
                    },
                ))
                .await?
                .into_inner()
                .entries,
        )
    };
    let (proms, equality, impact) = futures::try_join!(proms, equality, impact)?;
    let active_partners = equality.active_partners;
    Ok(TrustFigures {
        code: code.into(),
        name: name.into(),
        proms,
        active_partners,
        equality,
        impact,
    })
}

/// The last day (YYYY-MM-DD) of the period's last month (YYYY-MM).
fn last_day(to: &str) -> String {
    alongside_platform::last_day_of_month(to)
        .map(|d| d.to_string())
        .unwrap_or_default()
}

fn sessions(r: &EngagementReportResponse) -> Option<u64> {
    (!r.total_hidden).then_some(r.sessions as u64)
}

fn hours(r: &EngagementReportResponse) -> Option<f64> {
    (!r.total_hidden).then_some(r.minutes as f64 / 60.0)
}

fn partners(r: &EngagementReportResponse) -> Option<u64> {
    (!r.total_hidden).then_some(r.partners as u64)
}

/// The trusts' involvement over the period's months, asked of engagement at once so that it
/// protects them together: for the caller's own trust its own figures, otherwise each trust's
/// and their sum.
async fn involvement(
    state: &AppState,
    me: &SignedIn,
    trusts: &[(String, String)],
    from: &str,
    to: &str,
) -> Result<EngagementReportResponse, AppError> {
    let last = last_day(to);
    Ok(state
        .clients
        .engagement()
        .engagement_report(state.clients.request(
            &me.caller,
            EngagementReportRequest {
                from: format!("{from}-01"),
                to: last,
                trusts: others(me, trusts),
            },
        ))
        .await?
        .into_inner())
}

/// The comments of the period's months by theme: the caller's own trust's, or the trusts'
/// protected and added up by feedback.
async fn themes(
    state: &AppState,
    me: &SignedIn,
    trusts: &[(String, String)],
    (from, to): (&str, &str),
    pathway: &str,
) -> Result<feedback::ThemeSummary, AppError> {
    Ok(state
        .clients
        .feedback()
        .get_theme_summary(state.clients.request(
            &me.caller,
            feedback::GetThemeSummaryRequest {
                from_month: from.into(),
                to_month: to.into(),
                pathway: pathway.into(),
                trusts: others(me, trusts),
            },
        ))
        .await?
        .into_inner())
}

/// The trusts to name in a request: none when the caller's own trust is the only one.
fn others(me: &SignedIn, trusts: &[(String, String)]) -> Vec<String> {
    if matches!(trusts, [(code, _)] if code == me.caller.tenant.as_str()) {
        Vec::new()
    } else {
        trusts.iter().map(|(code, _)| code.clone()).collect()
    }
}

/// The trusts' committed spend over the period's months, asked of payments at once so that it
/// protects them together: for the caller's own trust its own figures, otherwise each trust's
/// and their sum.
async fn spend(
    state: &AppState,
    me: &SignedIn,
    trusts: &[(String, String)],
    from: &str,
    to: &str,
) -> Result<payments::SpendReportResponse, AppError> {
    let last = last_day(to);
    Ok(state
        .clients
        .payments()
        .spend_report(state.clients.request(
            &me.caller,
            payments::SpendReportRequest {
                group_by: "month".into(),
                activity: Some(DateRange {
                    from: format!("{from}-01"),
                    to: last,
                }),
                basis: "committed".into(),
                trusts: others(me, trusts),
            },
        ))
        .await?
        .into_inner())
}

fn prom_body(code: &str, name: &str, p: &feedback::PromSummary) -> PromBody {
    PromBody {
        code: code.into(),
        name: name.into(),
        msk_hq_responses: p.msk_hq_responses,
        msk_hq_episodes_paired: p.msk_hq_episodes_paired,
        msk_hq_improved: p.msk_hq_improved.filter(|_| !p.msk_hq_withheld),
        msk_hq_worsened: p.msk_hq_worsened.filter(|_| !p.msk_hq_withheld),
        msk_hq_threshold: p.msk_hq_threshold,
        sure_responses: p.sure_responses,
        sure_conflict: p.sure_conflict.filter(|_| !p.sure_withheld),
    }
}

/// Where a unit's row leads: into the trust, or the next level down within it.
fn drill(d: &DashboardBody, q: &DashboardQuery, u: &UnitBody) -> Option<String> {
    fn set<'a>(pairs: &mut Vec<(&'a str, &'a str)>, key: &'a str, value: &'a str) {
        match pairs.iter_mut().find(|(k, _)| *k == key) {
            Some(pair) => pair.1 = value,
            None => pairs.push((key, value)),
        }
    }
    if u.code.is_empty() {
        return None;
    }
    let mut pairs: Vec<(&str, &str)> = vec![
        ("from", &d.from),
        ("to", &d.to),
        ("trust", &q.trust),
        ("site", &q.site),
        ("locality", &q.locality),
        ("pathway", &q.pathway),
        ("team", &q.team),
        ("source", &q.source),
    ];
    match (d.scope.as_str(), d.by.as_str()) {
        ("ics", _) => {
            // Into the trust, by the dimension the ICS view was filtered by.
            let by = [
                ("locality", &q.locality),
                ("pathway", &q.pathway),
                ("source", &q.source),
            ]
            .into_iter()
            .find(|(_, v)| !v.trim().is_empty())
            .map_or("pathway", |(by, _)| by);
            pairs = vec![
                ("from", &d.from),
                ("to", &d.to),
                ("trust", &u.code),
                ("by", by),
            ];
        }
        // A trust seen from its ICS is one row of the ICS's tables: no further down.
        _ if !d.ics.is_empty() => return None,
        (_, "locality") => {
            set(&mut pairs, "locality", &u.code);
            set(&mut pairs, "by", "site");
        }
        (_, "site") => {
            // A site by pathway is a view of its own, whichever locality led to the site.
            set(&mut pairs, "locality", "");
            set(&mut pairs, "site", &u.code);
            set(&mut pairs, "by", "pathway");
        }
        (_, "pathway") => {
            set(&mut pairs, "pathway", &u.code);
            set(&mut pairs, "by", "team");
        }
        _ => return None,
    }
    Some(format!("/dashboard?{}", query_string(&pairs)))
}

fn interval(f: &FftBreakdownRowBody) -> String {
    match f.interval() {
        Some((low, high)) => format!("{low:.0}–{high:.0}%"),
        None => "–".into(),
    }
}

fn hidden_note(suppression: &str) -> &'static str {
    match suppression {
        "primary" => "1 to 4 responses: percentages hidden",
        "secondary" | "cascade" => "Counts hidden so that a smaller unit cannot be worked out",
        _ => "",
    }
}

fn signed_points(change: Option<f64>) -> String {
    match change {
        Some(c) if c.abs() < 0.05 => "no change".into(),
        Some(c) if c > 0.0 => format!("up {c:.1} points"),
        Some(c) => format!("down {:.1} points", -c),
        None => "–".into(),
    }
}

fn share_of(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{}%", (v * 100.0).round() as i64))
}

fn money(pence: Option<i64>) -> String {
    pence.map_or("hidden".into(), crate::payments::pounds)
}

/// The page's values: the figures formatted, each chart drawn.
fn view(d: &DashboardBody, q: &DashboardQuery) -> minijinja::Value {
    let icons: BTreeMap<&str, String> = d
        .charts
        .iter()
        .map(|c| (c.code.as_str(), charts::icons_svg(&c.drawn)))
        .collect();
    let row = |u: &UnitBody| {
        context! {
            name => u.name, code => u.code, link => drill(d, q, u),
            total => u.figures.total().map_or_else(|| "hidden".to_string(), |n| n.to_string()),
            has_responses => u.figures.total() != Some(0),
            positive => percent(u.figures.percent_positive()),
            negative => percent(u.figures.percent_negative()), interval => interval(&u.figures),
            hidden => hidden_note(u.figures.suppression()), funnel => u.funnel,
            icons => if d.scope == "ics" { icons.get(u.code.as_str()).cloned() } else { None },
        }
    };
    let funnel_units: Vec<FunnelUnit> = d.units.iter().filter_map(UnitBody::on_funnel).collect();
    let funnel = d.funnel_mean.filter(|_| funnel_units.len() >= 2).map(|mean| {
        context! {
            svg => charts::funnel_svg(&funnel_units, mean, &format!("% positive against responses, {} to {}, with 95% and 99.8% limits", d.from, d.to), "funnel"),
            mean => format!("{mean:.1}%"),
            rows => funnel_units.iter().map(|u| {
                let (l998, l95, h95, h998) = charts::funnel_limits(mean, u.n);
                context! { name => u.label, n => u.n, percent => format!("{:.1}%", u.percent),
                    limits95 => format!("{l95:.1}–{h95:.1}%"), limits998 => format!("{l998:.1}–{h998:.1}%"),
                    position => charts::funnel_position(mean, u) }
            }).collect::<Vec<_>>(),
        }
    });
    let charts: Vec<minijinja::Value> = d
        .charts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let id = format!("spc-{i}");
            context! {
                name => c.name, id => id,
                svg => (!c.drawn.points.is_empty()).then(|| charts::spc_svg_with_id(&c.drawn, &format!("{}: % positive by month, with its mean and process limits", c.name), "%", &id)),
                icons => charts::icons_svg(&c.drawn),
                summary => charts::summary(&c.drawn, "%"),
                warnings => c.drawn.warnings,
                points => c.drawn.points.iter().map(|p| context! {
                    period => p.period, value => format!("{:.1}%", p.value), mean => format!("{:.1}%", p.mean),
                    lpl => p.lpl.map(|v| format!("{v:.1}%")), upl => p.upl.map(|v| format!("{v:.1}%")),
                    variation => p.r#type.replace('_', " "),
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    let involvement_row = |i: &InvolvementBody| {
        context! { name => i.name, active => i.active_partners,
        paid => i.partners_paid.map_or("hidden".to_string(), |n| n.to_string()),
        spend => money(i.spend_pence), sessions => i.sessions.map_or("hidden".to_string(), |n| n.to_string()), hours => i.hours.map_or("hidden".to_string(), |h| format!("{h:.1}")),
        involved => i.partners_involved.map_or("hidden".to_string(), |n| n.to_string()),
        representation => i.representation_gap.map_or("–".to_string(), |g| format!("{g:.1} points ({})", i.representation_question)) }
    };
    // Months after the last released are in the period but not yet in the figures.
    let release = (!d.released_to.is_empty() && d.to > d.released_to).then(|| {
        let next = alongside_platform::add_months(&d.released_to, 1).unwrap_or_default();
        format!(
            "The Friends and Family Test figures here run to {}: a month's figures are released a few days after it ends and then kept, so that they read the same every day. {next} is released on {}.",
            d.released_to,
            crate::pages::day_label(&d.next_release_on)
        )
    });
    context! {
        release => release,
        scope => d.scope, name => d.name, code => d.code, ics => d.ics,
        from => d.from, to => d.to, previous_from => d.previous_from, previous_to => d.previous_to,
        by_label => if d.scope == "ics" { "Trust" } else { BY.iter().find(|(b, _)| *b == d.by).map_or("Unit", |(_, l)| *l) },
        total => row(&d.total),
        units => d.units.iter().map(row).collect::<Vec<_>>(),
        funnel => funnel, charts => charts,
        proms => d.proms.iter().map(|p| context! {
            name => p.name, msk => crate::proms::count(p.msk_hq_responses), paired => crate::proms::count(p.msk_hq_episodes_paired),
            improved => share_of(p.msk_hq_improved), worsened => share_of(p.msk_hq_worsened),
            threshold => p.msk_hq_threshold, sure => crate::proms::count(p.sure_responses), conflict => share_of(p.sure_conflict),
        }).collect::<Vec<_>>(),
        comments => d.comments, previous_comments => d.previous_comments,
        themes => d.themes.iter().map(|t| context! {
            name => t.name, comments => t.comments, share => format!("{:.0}%", t.share),
            previous => t.previous_share.map_or("–".to_string(), |p| format!("{p:.0}%")),
            change => signed_points(t.change), negative => t.negative.map_or_else(|| "hidden".to_string(), |n| crate::pages::share(n, t.comments)),
        }).collect::<Vec<_>>(),
        involvement => d.involvement.iter().map(involvement_row).collect::<Vec<_>>(),
        involvement_total => d.involvement_total.as_ref().map(involvement_row),
        impact => d.impact.iter().map(|i| context! { name => i.name, changed_on => i.changed_on, pathway => i.pathway, you_said => i.you_said, we_did => i.we_did }).collect::<Vec<_>>(),
        query => self::query(d, q),
        any_proms => d.proms.iter().any(|p| p.msk_hq_responses != Some(0) || p.sure_responses != Some(0)),
        back => (!d.ics.is_empty()).then(|| format!("/dashboard?{}", query_string(&[("from", &d.from), ("to", &d.to)]))),
    }
}

/// The query string that gives this view again.
fn query(d: &DashboardBody, q: &DashboardQuery) -> String {
    query_string(&[
        ("from", &d.from),
        ("to", &d.to),
        ("trust", &q.trust),
        ("by", if d.scope == "trust" { &d.by } else { "" }),
        ("site", &q.site),
        ("locality", &q.locality),
        ("pathway", &q.pathway),
        ("team", &q.team),
        ("source", &q.source),
    ])
}

/// The choices of each filter: the places the trust's (or every member trust's) responses carry.
async fn options(
    state: &AppState,
    me: &SignedIn,
    q: &DashboardQuery,
) -> Result<minijinja::Value, AppError> {
    use crate::store::tenant;
    let own = me.caller.tenant.as_str().to_string();
    let members = tenant::members(&state.db, &own).await?;
    let trusts: Vec<String> = if members.is_empty() {
        vec![own]
    } else if !q.trust.trim().is_empty() && members.iter().any(|(c, _)| *c == q.trust.trim()) {
        vec![q.trust.trim().to_string()]
    } else {
        members.iter().map(|(c, _)| c.clone()).collect()
    };
    let places = futures::future::try_join_all(trusts.iter().map(|code| async move {
        let caller = as_trust(me, code)?;
        Ok::<_, AppError>(
            state
                .clients
                .feedback()
                .list_fft_places(
                    state
                        .clients
                        .request(&caller, feedback::ListFftPlacesRequest {}),
                )
                .await?
                .into_inner(),
        )
    }))
    .await?;
    let gather = |pick: fn(&feedback::FftPlaces) -> &Vec<String>, all: &str| {
        let mut values: Vec<String> = places
            .iter()
            .flat_map(|p| pick(p).iter().cloned())
            .collect();
        values.sort();
        values.dedup();
        let mut out = vec![(String::new(), all.to_string())];
        out.extend(values.into_iter().map(|v| (v.clone(), v)));
        out
    };
    let mut sources = vec![(String::new(), "Any way".to_string())];
    sources.extend(
        crate::fft::SOURCES
            .iter()
            .map(|(v, l)| (v.to_string(), l.to_string())),
    );
    let mut trust_choice = vec![(String::new(), "All trusts, side by side".to_string())];
    trust_choice.extend(
        members
            .iter()
            .map(|(c, n)| (c.clone(), format!("{n} ({c})"))),
    );
    let drill = !members.is_empty() && !q.trust.trim().is_empty();
    let by: Vec<(String, String)> = BY
        .iter()
        .filter(|(v, _)| !drill || ICS_BY.contains(v))
        .map(|(v, l)| (v.to_string(), l.to_string()))
        .collect();
    Ok(context! {
        ics => !members.is_empty(),
        drill => drill,
        trusts => trust_choice,
        by => by,
        sites => gather(|p| &p.sites, "All sites"),
        localities => gather(|p| &p.localities, "All localities"),
        pathways => gather(|p| &p.pathways, "All pathways"),
        teams => gather(|p| &p.teams, "All teams"),
        sources => sources,
    })
}

async fn show(
    state: &AppState,
    me: &SignedIn,
    q: &DashboardQuery,
    board: bool,
) -> Result<Response, AppError> {
    me.require(DASHBOARD_READERS)?;
    let (found, errors) = match gather(state, me, q).await {
        Ok(d) => (Some(d), Default::default()),
        Err(err @ AppError::Invalid(_)) => (None, errors_map(&err)),
        Err(err) => return Err(err),
    };
    let status = if found.is_some() {
        http::StatusCode::OK
    } else {
        http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let title = match (&found, board) {
        (Some(d), true) => format!("Board report: {}", d.name),
        (Some(d), false) => format!("Dashboard: {}", d.name),
        (None, _) => "Dashboard".to_string(),
    };
    let html = render(
        state,
        "dashboard.html",
        merge(
            base(me, "/dashboard", &title),
            context! {
                d => found.as_ref().map(|d| view(d, q)),
                board => board, heading => title, errors => errors,
                filter => context! { from => q.from, to => q.to, trust => q.trust, by => q.by, site => q.site, locality => q.locality, pathway => q.pathway, team => q.team, source => q.source },
                options => options(state, me, q).await?,
            },
        ),
    )?;
    Ok((status, html).into_response())
}

async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, AppError> {
    show(&state, &me, &q, false).await
}

async fn board_report(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, AppError> {
    show(&state, &me, &q, true).await
}

/// The dashboard's figures as JSON: FFT by unit with intervals and suppression, the SPC charts,
/// outcome measures, themes and their movement, involvement. No personal data.
#[utoipa::path(get, path = "/api/v1/dashboard", params(DashboardQuery),
    responses((status = 200, body = DashboardBody), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn dashboard_json(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<DashboardQuery>,
) -> ApiResult<Json<DashboardBody>> {
    Ok(Json(gather(&state, &me, &q).await?))
}

/// Each table of the dashboard as CSV: `section` is fft, funnel, charts, proms, themes or
/// involvement.
async fn csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, AppError> {
    let d = gather(&state, &me, &q).await?;
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.2}"));
    let count = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
    let (header, rows): (&[&str], Vec<Vec<String>>) = match q.section.as_str() {
        "fft" | "" => (
            &[
                "code",
                "name",
                "responses",
                "very_good",
                "good",
                "neither",
                "poor",
                "very_poor",
                "dont_know",
                "percent_positive",
                "positive_low_95",
                "positive_high_95",
                "percent_negative",
                "suppression",
                "funnel",
            ],
            std::iter::once(&d.total)
                .chain(&d.units)
                .map(|u| {
                    let f = &u.figures;
                    let (low, high) = f.interval().unzip();
                    let mut row = vec![u.code.clone(), u.name.clone(), count(f.total())];
                    row.extend(f.counts().map(count));
                    row.extend([
                        opt(f.percent_positive()),
                        opt(low),
                        opt(high),
                        opt(f.percent_negative()),
                        f.suppression().to_string(),
                        u.funnel.clone().unwrap_or_default(),
                    ]);
                    row
                })
                .collect(),
        ),
        "funnel" => (
            &[
                "name",
                "responses",
                "percent_positive",
                "mean",
                "low_99_8",
                "low_95",
                "high_95",
                "high_99_8",
                "position",
            ],
            match d.funnel_mean {
                None => Vec::new(),
                Some(mean) => d
                    .units
                    .iter()
                    .filter_map(|u| {
                        let unit = u.on_funnel()?;
                        let percent = unit.percent;
                        let (a, b, c, e) = charts::funnel_limits(mean, unit.n);
                        Some(vec![
                            unit.label.clone(),
                            unit.n.to_string(),
                            format!("{percent:.2}"),
                            format!("{mean:.2}"),
                            format!("{a:.2}"),
                            format!("{b:.2}"),
                            format!("{c:.2}"),
                            format!("{e:.2}"),
                            charts::funnel_position(mean, &unit).to_string(),
                        ])
                    })
                    .collect(),
            },
        ),
        "charts" => (
            &[
                "code",
                "name",
                "month",
                "percent_positive",
                "mean",
                "lower_limit",
                "upper_limit",
                "variation",
                "rule",
            ],
            d.charts
                .iter()
                .flat_map(|c| {
                    c.drawn.points.iter().map(|p| {
                        vec![
                            c.code.clone(),
                            c.name.clone(),
                            p.period.clone(),
                            format!("{:.2}", p.value),
                            format!("{:.2}", p.mean),
                            opt(p.lpl),
                            opt(p.upl),
                            p.r#type.clone(),
                            p.rule.clone(),
                        ]
                    })
                })
                .collect(),
        ),
        "proms" => (
            &[
                "code",
                "name",
                "msk_hq_responses",
                "msk_hq_episodes_paired",
                "msk_hq_improved",
                "msk_hq_worsened",
                "msk_hq_threshold",
                "sure_responses",
                "sure_conflict",
            ],
            d.proms
                .iter()
                .map(|p| {
                    vec![
                        p.code.clone(),
                        p.name.clone(),
                        count(p.msk_hq_responses),
                        count(p.msk_hq_episodes_paired),
                        opt(p.msk_hq_improved),
                        opt(p.msk_hq_worsened),
                        p.msk_hq_threshold.to_string(),
                        count(p.sure_responses),
                        opt(p.sure_conflict),
                    ]
                })
                .collect(),
        ),
        "themes" => (
            &[
                "code",
                "name",
                "comments",
                "share",
                "previous_comments",
                "previous_share",
                "change_points",
                "negative",
            ],
            d.themes
                .iter()
                .map(|t| {
                    vec![
                        t.code.clone(),
                        t.name.clone(),
                        t.comments.to_string(),
                        format!("{:.2}", t.share),
                        count(t.previous_comments),
                        opt(t.previous_share),
                        opt(t.change),
                        count(t.negative),
                    ]
                })
                .collect(),
        ),
        "involvement" => (
            &[
                "code",
                "name",
                "active_partners",
                "partners_paid",
                "spend_pence",
                "sessions",
                "hours",
                "partners_involved",
                "representation_gap",
                "representation_question",
            ],
            d.involvement
                .iter()
                .chain(d.involvement_total.as_ref())
                .map(|i| {
                    vec![
                        i.code.clone(),
                        i.name.clone(),
                        i.active_partners.to_string(),
                        count(i.partners_paid),
                        i.spend_pence.map_or(String::new(), |p| p.to_string()),
                        count(i.sessions),
                        i.hours.map_or(String::new(), |h| format!("{h:.1}")),
                        count(i.partners_involved),
                        i.representation_gap
                            .map_or(String::new(), |g| format!("{g:.1}")),
                        i.representation_question.clone(),
                    ]
                })
                .collect(),
        ),
        _ => {
            return Err(invalid(
                "section",
                "must be fft, funnel, charts, proms, themes or involvement",
            ))
        }
    };
    let section = if q.section.is_empty() {
        "fft"
    } else {
        q.section.as_str()
    };
    csv_response(
        &format!(
            "dashboard-{}-{section}-{}-{}.csv",
            d.code.to_lowercase(),
            d.from,
            d.to
        ),
        header,
        rows,
    )
}

async fn board_report_pdf(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, AppError> {
    let d = gather(&state, &me, &q).await?;
    let mut blocks = vec![
        Block::Title(format!("Board report: {}", d.name)),
        Block::Text(format!(
            "{} to {}. Figures only; small numbers are hidden as NHS England publishes them.",
            d.from, d.to
        )),
        Block::Heading("Friends and Family Test: % positive (95% interval)".into()),
    ];
    for u in std::iter::once(&d.total).chain(&d.units) {
        let f = &u.figures;
        let note = hidden_note(f.suppression());
        blocks.push(Block::Row(
            match f.total() {
                Some(n) => format!("{} ({n} responses)", u.name),
                None => format!("{} (responses hidden)", u.name),
            },
            if f.percent_positive().is_some() {
                format!("{} ({})", percent(f.percent_positive()), interval(f))
            } else {
                note.to_string()
            },
        ));
    }
    blocks.push(Block::Heading("SPC: the latest month".into()));
    for c in &d.charts {
        let icon = charts::variation(&c.drawn).map_or("no points".to_string(), |(_, l)| l);
        blocks.push(Block::Row(c.name.clone(), icon));
        blocks.push(Block::Text(charts::summary(&c.drawn, "%")));
    }
    blocks.push(Block::Heading(format!(
        "Themes of {} comments (previous period {})",
        d.comments, d.previous_comments
    )));
    for t in &d.themes {
        blocks.push(Block::Row(
            t.name.clone(),
            format!(
                "{} ({:.0}%), {}",
                t.comments,
                t.share,
                signed_points(t.change)
            ),
        ));
    }
    blocks.push(Block::Heading("Outcome measures".into()));
    for p in &d.proms {
        blocks.push(Block::Row(
            format!("{}: MSK-HQ improved by {}+", p.name, p.msk_hq_threshold),
            format!(
                "{} of {} follow-ups",
                share_of(p.msk_hq_improved),
                crate::proms::count(p.msk_hq_episodes_paired)
            ),
        ));
        blocks.push(Block::Row(
            format!("{}: SURE decisional conflict", p.name),
            format!(
                "{} of {}",
                share_of(p.sure_conflict),
                crate::proms::count(p.sure_responses)
            ),
        ));
    }
    blocks.push(Block::Heading("Involvement".into()));
    for i in d.involvement.iter().chain(d.involvement_total.as_ref()) {
        blocks.push(Block::Row(
            format!("{}: active partners / paid", i.name),
            format!(
                "{} / {}",
                i.active_partners,
                i.partners_paid
                    .map_or("hidden".to_string(), |n| n.to_string())
            ),
        ));
        blocks.push(Block::Row(
            format!("{}: spend", i.name),
            money(i.spend_pence),
        ));
        blocks.push(Block::Row(
            format!("{}: sessions / hours / partners involved", i.name),
            format!(
                "{} / {} / {}",
                i.sessions.map_or("hidden".to_string(), |n| n.to_string()),
                i.hours.map_or("hidden".to_string(), |h| format!("{h:.1}")),
                i.partners_involved
                    .map_or("hidden".to_string(), |n| n.to_string())
            ),
        ));
    }
    blocks.push(Block::Heading("You said, we did".into()));
    if d.impact.is_empty() {
        blocks.push(Block::Text(
            "No changes in the impact log in the period.".into(),
        ));
    }
    for i in &d.impact {
        let pathway = if i.pathway.is_empty() {
            String::new()
        } else {
            format!(", {}", i.pathway)
        };
        blocks.push(Block::Text(format!(
            "{} ({}{pathway}): you said {}; we did {}",
            i.changed_on, i.name, i.you_said, i.we_did
        )));
    }
    Ok(pdf::response(
        &format!(
            "board-report-{}-{}-{}.pdf",
            d.code.to_lowercase(),
            d.from,
            d.to
        ),
        pdf::render(&blocks),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(
        answer: &str,
        bank: Option<u32>,
        population: Option<u32>,
        hidden: bool,
    ) -> people::EqualityCount {
        people::EqualityCount {
            answer: answer.into(),
            label: answer.into(),
            count: if hidden { 0 } else { 10 },
            hidden,
            bank_permille: bank,
            population_permille: population,
        }
    }

    #[test]
    fn the_bank_is_as_far_from_the_population_as_half_its_differences() {
        let question = |label: &str, counts: Vec<people::EqualityCount>, source: &str| {
            people::EqualityQuestion {
                question: label.into(),
                label: label.into(),
                counts,
                total: 30,
                total_hidden: false,
                population_source: source.into(),
            }
        };
        let report = people::EqualityReport {
            questions: vec![
                // 70/30 against 50/50: 20 points apart.
                question(
                    "Sex",
                    vec![
                        count("f", Some(700), Some(500), false),
                        count("m", Some(300), Some(500), false),
                    ],
                    "Census 2021",
                ),
                // 60/40 against 55/45: 5 points.
                question(
                    "Disability",
                    vec![
                        count("y", Some(600), Some(550), false),
                        count("n", Some(400), Some(450), false),
                    ],
                    "Census 2021",
                ),
                // No population: not compared; a hidden count: not compared.
                question("Age", vec![count("a", Some(1000), None, false)], ""),
                question(
                    "Religion",
                    vec![
                        count("x", None, Some(900), true),
                        count("z", Some(1000), Some(100), false),
                    ],
                    "Census 2021",
                ),
            ],
            active_partners: 30,
            respondents: 30,
            respondents_hidden: false,
            as_at: "2026-12-01".into(),
        };
        let (question, gap) = representation_gap(&report).unwrap();
        assert_eq!(question, "Sex");
        assert!((gap - 20.0).abs() < 1e-9, "{gap}");
        assert_eq!(representation_gap(&people::EqualityReport::default()), None);
    }
}
