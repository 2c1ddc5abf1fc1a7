//! Complaints: the trust's record of each (staff only: a summary may name people, and feedback
//! audits every read), and the learning report of a period for everyone who reads feedback,
//! printable and as PDF.

use std::collections::BTreeMap;

use alongside_proto::feedback::v1 as feedback;
use alongside_themes::CATEGORIES;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use minijinja::{context, Value};
use serde::Deserialize;

use crate::access::{COMMENT_READERS, THEME_READERS};
use crate::comments::{name_of, theme_groups};
use crate::error::AppError;
use crate::pages::{
    base, csv_response, errors_map, export_rows, merge, page_value, period_field, posted,
    posted_all, query_string, render, share, EXPORT_PAGE,
};
use crate::pdf::{self, Block};
use crate::session::SignedIn;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/complaints", get(list).post(record))
        .route("/complaints.csv", get(list_csv))
        .route("/complaints/new", get(new))
        .route("/complaints/learning", get(learning))
        .route("/complaints/learning.csv", get(learning_csv))
        .route("/complaints/learning.pdf", get(learning_pdf))
        .route("/complaints/{id}", get(show).post(update))
}

pub(crate) const CHANNELS: &[(&str, &str)] = &[
    ("letter", "Letter"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("in_person", "In person"),
    ("online", "Online form"),
    ("pals", "Through PALS"),
];
pub(crate) const OUTCOMES: &[(&str, &str)] = &[
    ("upheld", "Upheld"),
    ("partly_upheld", "Partly upheld"),
    ("not_upheld", "Not upheld"),
    ("withdrawn", "Withdrawn"),
];

fn label<'a>(options: &'a [(&str, &'a str)], value: &'a str) -> &'a str {
    options
        .iter()
        .find(|(v, _)| *v == value)
        .map_or(value, |(_, l)| l)
}

pub(crate) fn outcome_label(value: &str) -> &str {
    if value.is_empty() {
        "Open"
    } else {
        label(OUTCOMES, value)
    }
}

pub(crate) fn theme_names(codes: &[String]) -> Vec<&'static str> {
    codes.iter().map(|code| name_of(code)).collect()
}

// ---- the list ----

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    pathway: String,
    #[serde(default)]
    sort: String,
    page: Option<u32>,
    #[serde(default)]
    notice: String,
}

impl ListQuery {
    fn request(&self, page: u32, page_size: u32) -> feedback::ListComplaintsRequest {
        feedback::ListComplaintsRequest {
            from_month: self.from.trim().into(),
            to_month: self.to.trim().into(),
            status: self.status.clone(),
            outcome: self.outcome.clone(),
            category: self.category.clone(),
            pathway: self.pathway.trim().into(),
            site: String::new(),
            sort: self.sort.clone(),
            page,
            page_size,
        }
    }

    fn query(&self) -> String {
        query_string(&[
            ("from", &self.from),
            ("to", &self.to),
            ("status", &self.status),
            ("outcome", &self.outcome),
            ("category", &self.category),
            ("pathway", &self.pathway),
            ("sort", &self.sort),
        ])
    }
}

fn row_value(c: &feedback::Complaint) -> Value {
    context! {
        id => c.id, reference => c.reference, received_on => c.received_on,
        channel => label(CHANNELS, &c.channel), pathway => c.pathway, site => c.site,
        themes => theme_names(&c.categories), outcome => outcome_label(&c.outcome),
        closed_on => c.closed_on, acknowledged_on => c.acknowledged_on,
    }
}

fn with_any(any: &str, options: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), any.to_string())];
    out.extend(options.iter().map(|(v, l)| (v.to_string(), l.to_string())));
    out
}

fn theme_options() -> Vec<(String, String)> {
    let mut out = vec![(String::new(), "Any theme".to_string())];
    out.extend(
        CATEGORIES
            .iter()
            .map(|c| (c.code.to_string(), format!("{} ({})", c.name, c.major))),
    );
    out
}

async fn list(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    me.require(COMMENT_READERS)?;
    let listed = state
        .clients
        .feedback()
        .list_complaints(
            state
                .clients
                .request(&me.caller, q.request(q.page.unwrap_or(1), 25)),
        )
        .await
        .map_err(|s| AppError::from(s).with_fields(period_field));
    let (listed, errors) = match listed {
        Ok(answer) => (answer.into_inner(), BTreeMap::new()),
        Err(err @ AppError::Invalid(_)) => (Default::default(), errors_map(&err)),
        Err(err) => return Err(err),
    };
    let filters = q.query();
    let status = if errors.is_empty() {
        http::StatusCode::OK
    } else {
        http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = page_value(Some(alongside_proto::common::v1::PageInfo {
        page: q.page.unwrap_or(1).max(1),
        page_size: 25,
        total: listed.total,
    }));
    let notice = match q.notice.as_str() {
        "recorded" => Some("Complaint recorded."),
        "updated" => Some("Complaint updated."),
        _ => None,
    };
    let html = render(
        &state,
        "complaints.html",
        merge(
            base(&me, "/complaints", "Complaints"),
            context! {
                complaints => listed.complaints.iter().map(row_value).collect::<Vec<_>>(),
                total => listed.total, page => page,
                query_base => format!("/complaints?{filters}&"), csv_query => filters,
                filter => context! { from => q.from, to => q.to, status => q.status, outcome => q.outcome, category => q.category, pathway => q.pathway, sort => q.sort },
                statuses => [("", "Open or closed"), ("open", "Open"), ("closed", "Closed")],
                outcomes => with_any("Any outcome", OUTCOMES), categories => theme_options(),
                sorts => [("newest", "Newest first"), ("oldest", "Oldest first"), ("reference", "By reference")],
                filtered => !filters.is_empty(), errors => errors, notice => notice,
            },
        ),
    )?;
    Ok((status, html).into_response())
}

/// The list as CSV, up to 5,000 rows with the filters applied. Summaries are left out: they may
/// name people and belong in the trust's case system.
async fn list_csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    me.require(COMMENT_READERS)?;
    let (state, me, q) = (&state, &me, &q);
    let listed = export_rows(|page| async move {
        Ok(state
            .clients
            .feedback()
            .list_complaints(
                state
                    .clients
                    .request(&me.caller, q.request(page, EXPORT_PAGE)),
            )
            .await?
            .into_inner()
            .complaints)
    })
    .await?;
    let rows = listed
        .into_iter()
        .map(|c| {
            let themes = theme_names(&c.categories).join("; ");
            vec![
                c.reference,
                c.received_on,
                c.acknowledged_on,
                c.closed_on,
                c.channel,
                c.site,
                c.pathway,
                c.team,
                themes,
                c.outcome,
                if c.ombudsman { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    csv_response(
        "complaints.csv",
        &[
            "reference",
            "received_on",
            "acknowledged_on",
            "closed_on",
            "channel",
            "site",
            "pathway",
            "team",
            "themes",
            "outcome",
            "ombudsman",
        ],
        rows,
    )
}

// ---- one complaint: recording and updating ----

/// The form's fields, as posted (themes may repeat).
fn from_form(form: &[(String, String)]) -> feedback::Complaint {
    let value = |key: &str| posted(form, key).unwrap_or_default().to_string();
    feedback::Complaint {
        reference: value("reference"),
        received_on: value("received_on").trim().into(),
        channel: value("channel"),
        site: value("site"),
        pathway: value("pathway"),
        team: value("team"),
        categories: posted_all(form, "categories"),
        summary: value("summary"),
        acknowledged_on: value("acknowledged_on").trim().into(),
        closed_on: value("closed_on").trim().into(),
        outcome: value("outcome"),
        learning: value("learning"),
        actions: value("actions"),
        ombudsman: value("ombudsman") == "yes",
        ..Default::default()
    }
}

/// Every field of a complaint, for the form.
fn form_value(c: &feedback::Complaint) -> Value {
    context! {
        id => c.id, reference => c.reference, received_on => c.received_on, channel => c.channel,
        site => c.site, pathway => c.pathway, team => c.team, summary => c.summary,
        acknowledged_on => c.acknowledged_on, closed_on => c.closed_on, outcome => c.outcome,
        learning => c.learning, actions => c.actions, ombudsman => c.ombudsman,
        recorded_by => c.recorded_by, updated_at => c.updated_at,
    }
}

fn form_page(
    state: &AppState,
    me: &SignedIn,
    c: &feedback::Complaint,
    errors: BTreeMap<String, String>,
) -> Result<Html<String>, AppError> {
    let title = if c.id.is_empty() {
        "Record a complaint".to_string()
    } else {
        format!("Complaint {}", c.reference)
    };
    let mut channels = vec![(String::new(), "Choose how it came".to_string())];
    channels.extend(CHANNELS.iter().map(|(v, l)| (v.to_string(), l.to_string())));
    render(
        state,
        "complaint.html",
        merge(
            base(me, "/complaints", &title),
            context! {
                title => title, c => form_value(c), channels => channels,
                outcomes => with_any("Still open", OUTCOMES), groups => theme_groups(|t| !matches!(t.code, "labelling_not_possible" | "not_assigned"), &c.categories),
                action => if c.id.is_empty() { "/complaints".to_string() } else { format!("/complaints/{}", c.id) },
                errors => errors,
            },
        ),
    )
}

async fn new(State(state): State<AppState>, me: SignedIn) -> Result<Html<String>, AppError> {
    me.require(COMMENT_READERS)?;
    let today = state.clock.today().to_string();
    let blank = feedback::Complaint {
        received_on: today,
        ..Default::default()
    };
    form_page(&state, &me, &blank, BTreeMap::new())
}

async fn show(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    me.require(COMMENT_READERS)?;
    let c = state
        .clients
        .feedback()
        .get_complaint(
            state
                .clients
                .request(&me.caller, feedback::GetComplaintRequest { id }),
        )
        .await?
        .into_inner();
    form_page(&state, &me, &c, BTreeMap::new())
}

/// Saves a complaint: on a problem, the form again with every field as typed and each error.
async fn save(
    state: &AppState,
    me: &SignedIn,
    form: Vec<(String, String)>,
    id: Option<String>,
) -> Result<Response, AppError> {
    me.check_csrf(posted(&form, "csrf_token"))?;
    me.require(COMMENT_READERS)?;
    let mut c = from_form(&form);
    let mut feedback_client = state.clients.feedback();
    let result = match &id {
        None => {
            feedback_client
                .record_complaint(state.clients.request(
                    &me.caller,
                    feedback::RecordComplaintRequest {
                        complaint: Some(c.clone()),
                    },
                ))
                .await
        }
        Some(id) => {
            c.id = id.clone();
            feedback_client
                .update_complaint(state.clients.request(
                    &me.caller,
                    feedback::UpdateComplaintRequest {
                        complaint: Some(c.clone()),
                    },
                ))
                .await
        }
    };
    match result.map_err(AppError::from) {
        Ok(_) => {
            let notice = if id.is_some() { "updated" } else { "recorded" };
            Ok(Redirect::to(&format!("/complaints?notice={notice}")).into_response())
        }
        Err(err @ AppError::Invalid(_)) => {
            let html = form_page(state, me, &c, errors_map(&err))?;
            Ok((http::StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
        }
        Err(err) => Err(err),
    }
}

async fn record(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    save(&state, &me, form, None).await
}

async fn update(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    save(&state, &me, form, Some(id)).await
}

// ---- the learning report ----

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ReportQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    pathway: String,
}

impl ReportQuery {
    /// The period asked for, or the last three whole months.
    pub(crate) fn period(&self, today: time::Date) -> (String, String) {
        if !self.from.trim().is_empty() || !self.to.trim().is_empty() {
            return (self.from.trim().into(), self.to.trim().into());
        }
        last_quarter(today)
    }
}

/// The three whole months before `today`'s month, as YYYY-MM.
pub(crate) fn last_quarter(today: time::Date) -> (String, String) {
    let this = alongside_platform::month_of(today);
    let month = |by| alongside_platform::add_months(&this, by).unwrap_or_default();
    (month(-3), month(-1))
}

pub(crate) async fn get_learning_report(
    state: &AppState,
    me: &SignedIn,
    from: &str,
    to: &str,
    pathway: &str,
) -> Result<feedback::LearningReport, AppError> {
    Ok(state
        .clients
        .feedback()
        .get_learning_report(state.clients.request(
            &me.caller,
            feedback::GetLearningReportRequest {
                from_month: from.into(),
                to_month: to.into(),
                pathway: pathway.trim().into(),
            },
        ))
        .await
        .map_err(|s| AppError::from(s).with_fields(period_field))?
        .into_inner())
}

/// The report as the pages show it (the round-up shows it too).
pub(crate) fn report_value(r: &feedback::LearningReport) -> Value {
    let outcomes: Vec<Value> = r
        .outcomes
        .iter()
        .map(|o| context! { outcome => outcome_label(&o.outcome), count => o.count, share => share(o.count, r.closed) })
        .collect();
    let themes: Vec<Value> = r
        .themes
        .iter()
        .map(|t| context! { name => theme_names(std::slice::from_ref(&t.category))[0], received => t.received, upheld => t.upheld })
        .collect();
    let pathways: Vec<Value> = r
        .pathways
        .iter()
        .map(|p| context! { pathway => if p.pathway.is_empty() { "Not known" } else { p.pathway.as_str() }, received => p.received, closed => p.closed, upheld => p.upheld })
        .collect();
    let learning: Vec<Value> = r
        .learning
        .iter()
        .map(|l| context! { month => l.closed_month, pathway => l.pathway, themes => theme_names(&l.categories), outcome => outcome_label(&l.outcome), learning => l.learning, actions => l.actions })
        .collect();
    context! {
        received => r.received, acknowledged => r.acknowledged_in_time,
        acknowledged_share => share(r.acknowledged_in_time, r.received),
        closed => r.closed,
        median_days => r.median_days_to_close.map(|d| format!("{d:.0}")),
        open_at_end => r.open_at_end, open_over_six_months => r.open_over_six_months,
        ombudsman => r.referred_to_ombudsman,
        outcomes => outcomes, themes => themes, pathways => pathways, learning => learning,
    }
}

/// The report as PDF blocks, for the learning report's PDF and the round-up's.
pub(crate) fn report_blocks(r: &feedback::LearningReport) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading("Complaints".into()),
        Block::Row("Received".into(), r.received.to_string()),
        Block::Row(
            "Acknowledged within 3 working days".into(),
            format!(
                "{} ({})",
                r.acknowledged_in_time,
                share(r.acknowledged_in_time, r.received)
            ),
        ),
        Block::Row("Closed".into(), r.closed.to_string()),
        Block::Row(
            "Median days from received to closed".into(),
            r.median_days_to_close
                .map_or("–".into(), |d| format!("{d:.0}")),
        ),
        Block::Row(
            "Open at the end of the period".into(),
            r.open_at_end.to_string(),
        ),
        Block::Row(
            "Of those, open more than six months".into(),
            r.open_over_six_months.to_string(),
        ),
        Block::Row(
            "Referred to the Ombudsman".into(),
            r.referred_to_ombudsman.to_string(),
        ),
        Block::Heading("Outcomes of those closed".into()),
    ];
    blocks.extend(
        r.outcomes
            .iter()
            .map(|o| Block::Row(outcome_label(&o.outcome).into(), o.count.to_string())),
    );
    if !r.themes.is_empty() {
        blocks.push(Block::Heading(
            "Themes of those received (upheld in brackets)".into(),
        ));
        blocks.extend(r.themes.iter().map(|t| {
            Block::Row(
                theme_names(std::slice::from_ref(&t.category))[0].into(),
                format!("{} ({})", t.received, t.upheld),
            )
        }));
    }
    blocks.push(Block::Heading("What we learned".into()));
    if r.learning.is_empty() {
        blocks.push(Block::Text(
            "No complaint closed in the period has its learning recorded.".into(),
        ));
    }
    for l in &r.learning {
        let place = if l.pathway.is_empty() {
            String::new()
        } else {
            format!(", {}", l.pathway)
        };
        blocks.push(Block::Text(format!(
            "{}{place} ({}; {}): {}",
            l.closed_month,
            outcome_label(&l.outcome),
            theme_names(&l.categories).join(", "),
            l.learning
        )));
        if !l.actions.is_empty() {
            blocks.push(Block::Text(format!("Actions: {}", l.actions)));
        }
        blocks.push(Block::Gap);
    }
    blocks
}

async fn learning(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ReportQuery>,
) -> Result<Response, AppError> {
    me.require(THEME_READERS)?;
    let (from, to) = q.period(state.clock.today());
    let (report, errors) = match get_learning_report(&state, &me, &from, &to, &q.pathway).await {
        Ok(r) => (Some(r), BTreeMap::new()),
        Err(err @ AppError::Invalid(_)) => (None, errors_map(&err)),
        Err(err) => return Err(err),
    };
    let status = if errors.is_empty() {
        http::StatusCode::OK
    } else {
        http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let query = query_string(&[("from", &from), ("to", &to), ("pathway", q.pathway.trim())]);
    let html = render(
        &state,
        "learning.html",
        merge(
            base(&me, "/complaints/learning", "Learning from complaints"),
            context! {
                report => report.as_ref().map(report_value), filter => context! { from => from, to => to, pathway => q.pathway },
                query => query, errors => errors, can_list => me.has_role(COMMENT_READERS),
            },
        ),
    )?;
    Ok((status, html).into_response())
}

async fn learning_csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ReportQuery>,
) -> Result<Response, AppError> {
    me.require(THEME_READERS)?;
    let (from, to) = q.period(state.clock.today());
    let r = get_learning_report(&state, &me, &from, &to, &q.pathway).await?;
    let rows = r
        .themes
        .iter()
        .map(|t| {
            vec![
                from.clone(),
                to.clone(),
                t.category.clone(),
                theme_names(std::slice::from_ref(&t.category))[0].to_string(),
                t.received.to_string(),
                t.upheld.to_string(),
            ]
        })
        .collect();
    csv_response(
        "complaint-themes.csv",
        &[
            "from_month",
            "to_month",
            "code",
            "theme",
            "received",
            "upheld",
        ],
        rows,
    )
}

async fn learning_pdf(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ReportQuery>,
) -> Result<Response, AppError> {
    me.require(THEME_READERS)?;
    let (from, to) = q.period(state.clock.today());
    let r = get_learning_report(&state, &me, &from, &to, &q.pathway).await?;
    let scope = if q.pathway.trim().is_empty() {
        me.caller.tenant.as_str().to_string()
    } else {
        format!("{}, {}", me.caller.tenant.as_str(), q.pathway.trim())
    };
    let mut blocks = vec![
        Block::Title("Learning from complaints".into()),
        Block::Text(format!("{scope}: {from} to {to}")),
    ];
    blocks.extend(report_blocks(&r));
    Ok(pdf::response(
        &format!("learning-{from}-{to}.pdf"),
        pdf::render(&blocks),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_default_period_is_the_last_three_whole_months() {
        assert_eq!(
            last_quarter(date!(2026 - 12 - 01)),
            ("2026-09".into(), "2026-11".into())
        );
        assert_eq!(
            last_quarter(date!(2027 - 02 - 15)),
            ("2026-11".into(), "2027-01".into())
        );
    }

    #[test]
    fn a_posted_form_keeps_every_theme_and_the_ombudsman_box() {
        let form: Vec<(String, String)> = [
            ("reference", "C-9"),
            ("categories", "timeliness"),
            ("categories", "kept_informed"),
            ("ombudsman", "yes"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = from_form(&form);
        assert_eq!(c.categories, ["timeliness", "kept_informed"]);
        assert!(c.ombudsman);
        assert_eq!(c.reference, "C-9");
    }
}
