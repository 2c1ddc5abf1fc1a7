//! The HTML pages: server-rendered with the NHS.UK design system, working without JavaScript.

use std::collections::BTreeMap;

use alongside_platform::Role;
use alongside_proto::common::v1::PageRequest;
use alongside_proto::engagement::v1 as engagement;
use alongside_proto::people::v1 as people;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::CookieJar;
use http::{header, StatusCode};
use minijinja::{context, Environment, Value};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

use crate::access::{
    BENEFIT_READERS, CLAIM_READERS, COMMENT_READERS, DASHBOARD_READERS, ENGAGEMENT_TEAM,
    FFT_READERS, FINANCE, IMPACT_READERS, INVOLVEMENT_REPORT_READERS, LEADS, ORGANISERS, PARTNERS,
    PAYMENT_CONTROL_READERS, PLACE_READERS, RATE_CARD_READERS, REPRESENTATION_READERS,
    SPEND_READERS, THEME_READERS,
};
use crate::error::AppError;
use crate::session::{self, SignedIn};
use crate::AppState;

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../templates/layout.html")),
    (
        "payment_controls.html",
        include_str!("../templates/payment_controls.html"),
    ),
    ("places.html", include_str!("../templates/places.html")),
    ("partner.html", include_str!("../templates/partner.html")),
    (
        "partner_data.html",
        include_str!("../templates/partner_data.html"),
    ),
    (
        "training_expiring.html",
        include_str!("../templates/training_expiring.html"),
    ),
    ("macros.html", include_str!("../templates/macros.html")),
    ("profile.html", include_str!("../templates/profile.html")),
    ("join.html", include_str!("../templates/join.html")),
    ("shared.html", include_str!("../templates/shared.html")),
    ("equality.html", include_str!("../templates/equality.html")),
    (
        "representation.html",
        include_str!("../templates/representation.html"),
    ),
    (
        "join_choose.html",
        include_str!("../templates/join_choose.html"),
    ),
    (
        "join_thanks.html",
        include_str!("../templates/join_thanks.html"),
    ),
    (
        "invitation.html",
        include_str!("../templates/invitation.html"),
    ),
    (
        "invite_accept.html",
        include_str!("../templates/invite_accept.html"),
    ),
    ("sign_in.html", include_str!("../templates/sign_in.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("partners.html", include_str!("../templates/partners.html")),
    (
        "partner_new.html",
        include_str!("../templates/partner_new.html"),
    ),
    (
        "opportunities.html",
        include_str!("../templates/opportunities.html"),
    ),
    (
        "opportunity_new.html",
        include_str!("../templates/opportunity_new.html"),
    ),
    (
        "opportunity.html",
        include_str!("../templates/opportunity.html"),
    ),
    ("claims.html", include_str!("../templates/claims.html")),
    ("claim.html", include_str!("../templates/claim.html")),
    (
        "expense_new.html",
        include_str!("../templates/expense_new.html"),
    ),
    ("runs.html", include_str!("../templates/runs.html")),
    ("run.html", include_str!("../templates/run.html")),
    (
        "remittance.html",
        include_str!("../templates/remittance.html"),
    ),
    (
        "my_payments.html",
        include_str!("../templates/my_payments.html"),
    ),
    (
        "statement.html",
        include_str!("../templates/statement.html"),
    ),
    ("payee.html", include_str!("../templates/payee.html")),
    (
        "rate_cards.html",
        include_str!("../templates/rate_cards.html"),
    ),
    ("benefits.html", include_str!("../templates/benefits.html")),
    ("budget.html", include_str!("../templates/budget.html")),
    ("ledger.html", include_str!("../templates/ledger.html")),
    ("feedback.html", include_str!("../templates/feedback.html")),
    (
        "fft_filter.html",
        include_str!("../templates/fft_filter.html"),
    ),
    (
        "fft_breakdown.html",
        include_str!("../templates/fft_breakdown.html"),
    ),
    ("proms.html", include_str!("../templates/proms.html")),
    ("themes.html", include_str!("../templates/themes.html")),
    ("comments.html", include_str!("../templates/comments.html")),
    ("comment.html", include_str!("../templates/comment.html")),
    (
        "complaints.html",
        include_str!("../templates/complaints.html"),
    ),
    (
        "complaint.html",
        include_str!("../templates/complaint.html"),
    ),
    ("learning.html", include_str!("../templates/learning.html")),
    ("roundup.html", include_str!("../templates/roundup.html")),
    ("survey.html", include_str!("../templates/survey.html")),
    (
        "learning_tables.html",
        include_str!("../templates/learning_tables.html"),
    ),
    (
        "theme_model.html",
        include_str!("../templates/theme_model.html"),
    ),
    (
        "feedback_upload.html",
        include_str!("../templates/feedback_upload.html"),
    ),
    ("fft_form.html", include_str!("../templates/fft_form.html")),
    (
        "fft_thanks.html",
        include_str!("../templates/fft_thanks.html"),
    ),
    (
        "survey_links.html",
        include_str!("../templates/survey_links.html"),
    ),
    (
        "dashboard.html",
        include_str!("../templates/dashboard.html"),
    ),
    ("impact.html", include_str!("../templates/impact.html")),
    ("requests.html", include_str!("../templates/requests.html")),
    (
        "my_opportunities.html",
        include_str!("../templates/my_opportunities.html"),
    ),
    (
        "my_sessions.html",
        include_str!("../templates/my_sessions.html"),
    ),
    (
        "my_preferences.html",
        include_str!("../templates/my_preferences.html"),
    ),
    ("forums.html", include_str!("../templates/forums.html")),
    ("forum.html", include_str!("../templates/forum.html")),
    (
        "engagement_report.html",
        include_str!("../templates/engagement_report.html"),
    ),
    ("error.html", include_str!("../templates/error.html")),
];

const STYLESHEET: &str = include_str!("../static/alongside.css");

pub fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        // Templates are compiled into the binary; a broken one fails the gateway's tests.
        if let Err(err) = env.add_template(name, source) {
            panic!("template {name}: {err}");
        }
    }
    env.add_filter("urlencode", |value: String| {
        urlencoding::encode(&value).into_owned()
    });
    env.add_filter("pounds", |pence: i64| {
        alongside_platform::money::Pence(pence).display()
    });
    env
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in_form).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/partners", get(partners))
        .route("/partners.csv", get(partners_csv))
        .route("/partners/new", get(partner_form).post(partner_register))
        .route("/partners/{id}", get(partner))
        .route("/partners/{id}/status", post(partner_status))
        .route("/partners/{id}/erase", post(partner_erase))
        .route("/partners/{id}/roles", post(partner_role))
        .route("/partners/{id}/training", post(partner_training))
        .route("/partners/{id}/supporter", post(partner_supporter))
        .route("/partners/{id}/notes", post(partner_note))
        .route("/training/expiring", get(expiring_training))
        .route("/training/expiring.csv", get(expiring_training_csv))
        .route("/partners/{id}/data", get(partner_data_page))
        .route("/my-data", get(my_data))
        .route("/opportunities", get(opportunities))
        .route("/opportunities.csv", get(opportunities_csv))
        .route(
            "/opportunities/new",
            get(opportunity_form).post(opportunity_create),
        )
        .route("/opportunities/{id}", get(opportunity))
        .route("/opportunities/{id}/assign", post(opportunity_assign))
        .route("/opportunities/{id}/status", post(opportunity_status))
        .route(
            "/opportunities/{id}/attendance",
            post(opportunity_attendance),
        )
        .route(
            "/opportunities/{id}/corrections",
            post(opportunity_correction),
        )
        .route(
            "/static/alongside.css",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
                    STYLESHEET,
                )
            }),
        )
}

pub(crate) fn render(state: &AppState, name: &str, ctx: Value) -> Result<Html<String>, AppError> {
    let template = state
        .templates
        .get_template(name)
        .map_err(|e| AppError::Internal(format!("template {name}: {e}")))?;
    template
        .render(ctx)
        .map(Html)
        .map_err(|e| AppError::Internal(format!("rendering {name}: {e}")))
}

/// The error page, rendered without state (used by `AppError`'s response).
pub fn render_error(status: StatusCode, message: &str) -> Html<String> {
    let env = templates();
    let heading = match status {
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::FORBIDDEN => "You cannot do this",
        StatusCode::SERVICE_UNAVAILABLE => "Sorry, the service is unavailable",
        StatusCode::UNPROCESSABLE_ENTITY => "There is a problem",
        _ => "Sorry, there is a problem with the service",
    };
    let html = env
        .get_template("error.html")
        .and_then(|t| {
            t.render(context! { title => heading, heading => heading, message => message })
        })
        .unwrap_or_else(|_| format!("<!DOCTYPE html><title>{heading}</title><h1>{heading}</h1>"));
    Html(html)
}

#[derive(Serialize)]
struct NavLink {
    href: &'static str,
    label: &'static str,
    description: &'static str,
    current: bool,
}

fn nav(me: &SignedIn, current: &str) -> Vec<NavLink> {
    let all = [
        (
            "/partners",
            "People Bank",
            "Partners, their details and status.",
            ORGANISERS,
        ),
        (
            "/opportunities",
            "Opportunities",
            "Opportunities, who takes part, and attendance.",
            ORGANISERS,
        ),
        (
            "/claims",
            "Claims",
            "Payments for partners' time and expenses, and their approval.",
            CLAIM_READERS,
        ),
        (
            "/payments/runs",
            "Payment runs",
            "Pay approved claims: the payment file and remittance advice.",
            FINANCE,
        ),
        (
            "/my-payments",
            "Your payments",
            "What you have been paid, remittance advice and yearly statements.",
            PARTNERS,
        ),
        (
            "/payments/rate-cards",
            "Rate cards",
            "How involvement is paid, from the date each card comes into force.",
            RATE_CARD_READERS,
        ),
        (
            "/payments/benefits",
            "Benefits safeguards",
            "Earnings limits of benefits, and partners close to them.",
            BENEFIT_READERS,
        ),
        (
            "/payments/controls",
            "Money controls",
            "Who may approve and pay whom: segregation of duties.",
            PAYMENT_CONTROL_READERS,
        ),
        (
            "/admin/places",
            "Places",
            "The trust's sites, localities, pathways and teams that responses may name.",
            PLACE_READERS,
        ),
        (
            "/payments/budget",
            "Involvement spend",
            "Spend by month, pathway, kind of work and cost centre.",
            SPEND_READERS,
        ),
        (
            "/requests",
            "Requests for partners",
            "Ask for partners for a piece of work; the engagement team turns it into an opportunity.",
            ORGANISERS,
        ),
        (
            "/forums",
            "Forums",
            "Members, meetings with agenda and minutes, and actions.",
            ORGANISERS,
        ),
        (
            "/engagement/report",
            "Involvement report",
            "Partner hours by kind of work and pathway, fairness of paid work, places unfilled.",
            INVOLVEMENT_REPORT_READERS,
        ),
        (
            "/my/opportunities",
            "Opportunities for you",
            "Opportunities you may take part in: say you are interested.",
            PARTNERS,
        ),
        (
            "/my/sessions",
            "Your sessions",
            "Offers to answer, your sessions to come, and a calendar file.",
            PARTNERS,
        ),
        (
            "/my/preferences",
            "Your preferences",
            "The work you like, the days you can do, and conflicts of interest.",
            PARTNERS,
        ),
        (
            "/impact",
            "Impact log",
            "You said, we did: what partners raised and what changed, by pathway.",
            IMPACT_READERS,
        ),
        (
            "/dashboard",
            "Dashboard",
            "Patient experience and involvement at a glance, and the board report.",
            DASHBOARD_READERS,
        ),
        (
            "/feedback",
            "Friends and Family Test",
            "What patients say, month by month.",
            FFT_READERS,
        ),
        (
            "/feedback/themes",
            "Themes in comments",
            "What patients write about, and how it feels.",
            FFT_READERS,
        ),
        (
            "/feedback/survey",
            "Survey questions",
            "What the web form asks besides the FFT question, and the answers.",
            THEME_READERS,
        ),
        (
            "/feedback/proms",
            "Outcome measures",
            "MSK-HQ change and SURE decisional conflict, by pathway.",
            FFT_READERS,
        ),
        (
            "/complaints",
            "Complaints",
            "Complaints received, their outcomes and what was learned.",
            COMMENT_READERS,
        ),
        (
            "/complaints/learning",
            "Learning from complaints",
            "A period's complaints in figures, and the learning, for governance.",
            THEME_READERS,
        ),
        (
            "/reports/round-up",
            "Governance round-up",
            "A period's feedback and learning for the forum, or for one pathway's MDT.",
            THEME_READERS,
        ),
        (
            "/partners/representation",
            "Representation",
            "How the People Bank compares, in totals with small numbers hidden.",
            REPRESENTATION_READERS,
        ),
        (
            "/my-profile",
            "Your profile",
            "How to reach you, what helps you take part, and how you are paid.",
            PARTNERS,
        ),
        (
            "/my-data",
            "Your data",
            "Everything we hold about you, and who has looked at it.",
            PARTNERS,
        ),
    ];
    all.into_iter()
        .filter(|(_, _, _, roles)| me.has_role(roles))
        .map(|(href, label, description, _)| NavLink {
            href,
            label,
            description,
            current: href == current,
        })
        .collect()
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Partner => "Partner",
        Role::Staff => "Staff",
        Role::EngagementLead => "Engagement lead",
        Role::Finance => "Finance",
        Role::Analyst => "Analyst",
        Role::IcsAnalyst => "ICS analyst",
        Role::Admin => "Administrator",
        Role::Public => "Member of the public",
    }
}

/// What every signed-in page needs: who, the navigation, the CSRF token.
pub(crate) fn base(me: &SignedIn, current: &str, title: &str) -> Value {
    context! {
        title => title,
        me => context! { name => me.user.display_name, role_label => role_label(me.caller.role), tenant => me.caller.tenant.as_str() },
        nav => nav(me, current),
        csrf_token => me.csrf_token,
    }
}

pub(crate) fn merge(base: Value, extra: Value) -> Value {
    context! { ..base, ..extra }
}

pub(crate) fn errors_map(err: &AppError) -> BTreeMap<String, String> {
    err.field_errors()
        .iter()
        .map(|e| {
            (
                e.field.clone(),
                format!("{}: {}", label_of(&e.field), e.reason),
            )
        })
        .collect()
}

fn label_of(field: &str) -> String {
    // A field of one row of a table ("minutes-asg_…") is labelled as the field.
    let field = field.split('-').next().unwrap_or(field);
    let mut label = field.replace('_', " ");
    if let Some(first) = label.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    label
}

// ---- sign-in ----

#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
    csrf_token: String,
}

async fn sign_in_form(State(state): State<AppState>, jar: CookieJar) -> Result<Response, AppError> {
    let token = session::random_token();
    let html = render(
        &state,
        "sign_in.html",
        context! { title => "Sign in", csrf_token => token, email => "" },
    )?;
    let jar = jar.add(session::sign_in_csrf_cookie(
        token,
        state.settings.secure_cookies(),
    ));
    Ok((jar, html).into_response())
}

async fn sign_in(
    State(state): State<AppState>,
    address: crate::throttle::ClientAddress,
    jar: CookieJar,
    Form(form): Form<SignInForm>,
) -> Result<Response, AppError> {
    let expected = jar
        .get(session::SIGN_IN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if expected.is_empty()
        || !session::constant_time_eq(expected.as_bytes(), form.csrf_token.as_bytes())
    {
        return Err(AppError::Csrf);
    }
    let mut errors = BTreeMap::new();
    if form.email.trim().is_empty() {
        errors.insert("email".to_string(), "Enter your email address".to_string());
    }
    if form.password.is_empty() {
        errors.insert("password".to_string(), "Enter your password".to_string());
    }
    if errors.is_empty() {
        if let Some((token, _)) =
            session::sign_in(&state, address, &form.email, &form.password).await?
        {
            let jar = jar
                .remove(
                    axum_extra::extract::cookie::Cookie::build(session::SIGN_IN_CSRF_COOKIE)
                        .path("/sign-in"),
                )
                .add(session::session_cookie(
                    token,
                    state.settings.secure_cookies(),
                ));
            return Ok((jar, Redirect::to("/")).into_response());
        }
        errors.insert(
            "email".to_string(),
            "Email address or password is not right".to_string(),
        );
    }
    let html = render(
        &state,
        "sign_in.html",
        context! { title => "Sign in", csrf_token => form.csrf_token, email => form.email, errors => errors },
    )?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf_token: String,
}

async fn sign_out(
    State(state): State<AppState>,
    me: SignedIn,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    if let Some(cookie) = jar.get(session::SESSION_COOKIE) {
        session::sign_out(&state.db, cookie.value()).await?;
    }
    let jar =
        jar.remove(axum_extra::extract::cookie::Cookie::build(session::SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/sign-in")).into_response())
}

async fn home(State(state): State<AppState>, me: SignedIn) -> Result<Html<String>, AppError> {
    use sea_orm::EntityTrait;
    let tenant = crate::store::tenant::Entity::find_by_id(me.caller.tenant.to_string())
        .one(&state.db)
        .await?;
    let name = tenant
        .map(|t| t.name)
        .unwrap_or_else(|| me.caller.tenant.to_string());
    render(
        &state,
        "home.html",
        merge(base(&me, "/", "Home"), context! { tenant_name => name }),
    )
}

// ---- partners ----

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    search: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    locality: String,
    #[serde(default)]
    pathway: String,
    /// "60": only partners with training expiring in the next 60 days.
    #[serde(default)]
    expiring: String,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    notice: Option<String>,
}

pub(crate) fn page_request(page: Option<u32>, size: u32) -> Option<PageRequest> {
    Some(PageRequest {
        page: page.unwrap_or(1),
        page_size: size,
    })
}

pub(crate) fn page_value(info: Option<alongside_proto::common::v1::PageInfo>) -> Value {
    let info = info.unwrap_or_default();
    context! { page => info.page, page_size => info.page_size, total => info.total }
}

impl ListQuery {
    fn sort(&self) -> String {
        if self.sort.is_empty() {
            "name".to_string()
        } else {
            self.sort.clone()
        }
    }

    /// The People Bank list request these filters make (without a page).
    fn partner_filter(&self) -> people::ListPartnersRequest {
        people::ListPartnersRequest {
            page: None,
            search: self.search.clone(),
            sort: self.sort(),
            status: self.status.clone(),
            role: self.role.clone(),
            locality: self.locality.clone(),
            pathway: self.pathway.clone(),
            expiring_within_days: self.expiring.parse().unwrap_or(0),
            export: false,
        }
    }

    /// The filters as a query string, for paging links and the CSV link.
    fn partner_query(&self) -> String {
        [
            ("search", self.search.clone()),
            ("sort", self.sort()),
            ("status", self.status.clone()),
            ("role", self.role.clone()),
            ("locality", self.locality.clone()),
            ("pathway", self.pathway.clone()),
            ("expiring", self.expiring.clone()),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

async fn partners(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, AppError> {
    let request = people::ListPartnersRequest {
        page: page_request(q.page, 25),
        ..q.partner_filter()
    };
    let listed = state
        .clients
        .people()
        .list_partners(state.clients.request(&me.caller, request))
        .await;
    // Refused filters are shown by field, with the list empty.
    let (listed, errors) = match listed.map_err(AppError::from) {
        Ok(answer) => (answer.into_inner(), BTreeMap::new()),
        Err(err @ AppError::Invalid(_)) => {
            (people::ListPartnersResponse::default(), errors_map(&err))
        }
        Err(err) => return Err(err),
    };
    let filters = q.partner_query();
    let query_base = format!("/partners?{filters}&");
    let partners: Vec<Value> = listed.partners.iter().map(partner_value).collect();
    let mut roles: Vec<(&str, &str)> = vec![("", "Any role")];
    roles.extend(ROLE_OPTIONS.iter().skip(1));
    render(
        &state,
        "partners.html",
        merge(
            base(&me, "/partners", "People Bank"),
            context! { partners => partners, page => page_value(listed.page), search => q.search, sort => q.sort(), status => q.status, role => q.role, locality => q.locality, pathway => q.pathway, expiring => q.expiring, roles => roles, statuses => STATUS_OPTIONS, query_base => query_base, csv_query => filters, errors => errors, can_register => me.has_role(LEADS), can_share => me.has_role(ENGAGEMENT_TEAM), notice => match q.notice.as_deref() { Some("registered") => Some("Partner registered."), Some("erased") => Some("The partner's personal data has been erased here and in every other service."), _ => None } },
        ),
    )
}

fn partner_value(p: &people::Partner) -> Value {
    context! { id => p.id, given_name => p.given_name, family_name => p.family_name, locality => p.locality, status => p.status, registered_at => p.registered_at, joined_from => p.joined_from }
}

async fn partner(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Html<String>, AppError> {
    partner_page(
        &state,
        &me,
        &id,
        q.notice.as_deref(),
        None,
        &PartnerForms::default(),
    )
    .await
}

/// What was typed into the partner page's forms (field → value), kept when a change is refused.
type PartnerForms = BTreeMap<&'static str, String>;

async fn partner_page(
    state: &AppState,
    me: &SignedIn,
    id: &str,
    notice: Option<&str>,
    err: Option<&AppError>,
    typed: &PartnerForms,
) -> Result<Html<String>, AppError> {
    let found = state
        .clients
        .people()
        .get_partner(
            state
                .clients
                .request(&me.caller, people::GetPartnerRequest { id: id.into() }),
        )
        .await?
        .into_inner();
    let history = state
        .clients
        .people()
        .list_status_history(state.clients.request(
            &me.caller,
            people::ListStatusHistoryRequest { id: id.into() },
        ))
        .await?
        .into_inner();
    let changes: Vec<Value> = history
        .changes
        .iter()
        .rev()
        .map(|c| context! { from => status_label(&c.from_status), to => status_label(&c.to_status), reason => c.reason, changed_at => c.changed_at.get(..16).unwrap_or(&c.changed_at).replace('T', " ") })
        .collect();
    let next: Vec<(String, String)> = history
        .next_statuses
        .iter()
        .map(|s| (s.clone(), status_label(s).to_string()))
        .collect();
    let roles = state
        .clients
        .people()
        .get_partner_roles(
            state
                .clients
                .request(&me.caller, people::GetPartnerRequest { id: id.into() }),
        )
        .await?
        .into_inner();
    let held: Vec<Value> = roles
        .roles
        .iter()
        .map(|r| context! { role => r.role, label => partner_role_label(&r.role), eligible => r.eligible, missing => r.missing.join("; "), valid_until => r.valid_until })
        .collect();
    let grantable: Vec<(&str, &str)> = ROLE_OPTIONS
        .iter()
        .filter(|(value, _)| !value.is_empty() && !roles.roles.iter().any(|r| r.role == *value))
        .copied()
        .collect();
    let training: Vec<Value> = roles
        .training
        .iter()
        .map(|t| context! { label => training_label(&t.kind), completed_on => t.completed_on, expires_on => t.expires_on, certificate_number => t.certificate_number })
        .collect();
    // A withdrawn consent the team must act on.
    let withdrawn: Vec<&str> = if found.status == "erased" {
        Vec::new()
    } else {
        let consents = crate::profile::fetch_consents(state, me, id).await?;
        consents
            .current
            .iter()
            .filter(|c| !c.granted)
            .filter_map(|c| match c.purpose.as_str() {
                "contact" => Some("contact"),
                "data" => Some("data"),
                "sharing" => Some("sharing"),
                _ => None,
            })
            .collect()
    };
    // Support notes: only for the partner's supporter and the leads; for anyone else, no section.
    let support = if found.status == "erased" {
        None
    } else {
        match state
            .clients
            .people()
            .get_support(
                state
                    .clients
                    .request(&me.caller, people::GetPartnerRequest { id: id.into() }),
            )
            .await
        {
            Ok(answer) => Some(answer.into_inner()),
            Err(status) if status.code() == tonic::Code::PermissionDenied => None,
            Err(status) => return Err(status.into()),
        }
    };
    let supporters: Vec<(String, String)> = if me.has_role(ENGAGEMENT_TEAM) {
        crate::store::user::Entity::find()
            .filter(crate::store::user::Column::TenantId.eq(me.caller.tenant.as_str()))
            .filter(
                crate::store::user::Column::Role
                    .is_in([Role::Staff.as_str(), Role::EngagementLead.as_str()]),
            )
            .order_by_asc(crate::store::user::Column::DisplayName)
            .all(&state.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.display_name))
            .collect()
    } else {
        Vec::new()
    };
    let support = support.map(|s| {
        let notes: Vec<Value> = s
            .notes
            .iter()
            .map(|n| context! { kind => n.kind, body => n.body, written_at => n.written_at.get(..16).unwrap_or(&n.written_at).replace('T', " "), role => n.written_by_role.replace('_', " ") })
            .collect();
        context! { supporter_id => s.supporter_id, supporter_name => s.supporter_name, notes => notes }
    });
    let notice = match notice {
        Some("supporter") => Some("Supporter named.".to_string()),
        Some("joined") => Some(
            "Added to your People Bank with the details, profile and consents they gave their own trust. Roles and training are your trust's to give.".to_string(),
        ),
        Some("note") => Some("Note added.".to_string()),
        Some("status") => Some(format!(
            "Status changed to {}.",
            status_label(&found.status)
        )),
        Some("role") => Some("Roles updated.".to_string()),
        Some("training") => Some("Training recorded.".to_string()),
        _ => None,
    };
    let errors = err.map(errors_map).unwrap_or_default();
    let title = if found.status == "erased" {
        "Erased partner".to_string()
    } else {
        format!("{} {}", found.given_name, found.family_name)
    };
    render(
        state,
        "partner.html",
        merge(
            base(me, "/partners", &title),
            context! {
                partner => partner_value(&found),
                email => found.email,
                phone => found.phone,
                status_label => status_label(&found.status),
                erased => found.status == "erased",
                changes => changes,
                next_statuses => next,
                can_manage => me.has_role(LEADS),
                notice => notice,
                errors => errors,
                typed => typed,
                roles => held,
                grantable => grantable,
                training => training,
                training_kinds => TRAINING_KINDS,
                support => support,
                supporters => supporters,
                withdrawn => withdrawn,
            },
        ),
    )
}

#[derive(Deserialize)]
struct StatusForm {
    csrf_token: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
}

async fn partner_status(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    let request = people::ChangeStatusRequest {
        id: id.clone(),
        status: form.status.clone(),
        reason: form.reason.clone(),
    };
    let result = state
        .clients
        .people()
        .change_status(state.clients.request(&me.caller, request))
        .await;
    let typed = PartnerForms::from([("status", form.status), ("reason", form.reason)]);
    after_partner_change(&state, &me, &id, result.map(|_| ()), "status", &typed).await
}

/// After a change on a partner's page: back to it with a notice, or the page again with the
/// field errors and what was typed when the service refused it.
async fn after_partner_change(
    state: &AppState,
    me: &SignedIn,
    id: &str,
    result: Result<(), tonic::Status>,
    notice: &str,
    typed: &PartnerForms,
) -> Result<Response, AppError> {
    match result.map_err(AppError::from) {
        Ok(()) => Ok(Redirect::to(&format!("/partners/{id}?notice={notice}")).into_response()),
        Err(err @ AppError::Invalid(_)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            partner_page(state, me, id, None, Some(&err), typed).await?,
        )
            .into_response()),
        Err(err) => Err(err),
    }
}

#[derive(Deserialize)]
struct RoleForm {
    csrf_token: String,
    #[serde(default)]
    role: String,
    /// `grant` or `revoke`.
    #[serde(default)]
    action: String,
}

async fn partner_role(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    let request = people::RoleRequest {
        partner_id: id.clone(),
        role: form.role.clone(),
    };
    let mut people = state.clients.people();
    let request = state.clients.request(&me.caller, request);
    let result = if form.action == "revoke" {
        people.revoke_role(request).await
    } else {
        people.grant_role(request).await
    };
    let typed = PartnerForms::from([("role", form.role)]);
    after_partner_change(&state, &me, &id, result.map(|_| ()), "role", &typed).await
}

#[derive(Deserialize)]
struct TrainingForm {
    csrf_token: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    completed_on: String,
    #[serde(default)]
    expires_on: String,
    #[serde(default)]
    certificate_number: String,
}

async fn partner_training(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<TrainingForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    let request = people::RecordTrainingRequest {
        partner_id: id.clone(),
        kind: form.kind.clone(),
        completed_on: form.completed_on.clone(),
        expires_on: form.expires_on.clone(),
        certificate_number: form.certificate_number.clone(),
    };
    let result = state
        .clients
        .people()
        .record_training(state.clients.request(&me.caller, request))
        .await;
    let typed = PartnerForms::from([
        ("kind", form.kind),
        ("completed_on", form.completed_on),
        ("expires_on", form.expires_on),
        ("certificate_number", form.certificate_number),
    ]);
    after_partner_change(&state, &me, &id, result.map(|_| ()), "training", &typed).await
}

#[derive(Deserialize)]
struct SupporterForm {
    csrf_token: String,
    #[serde(default)]
    supporter_id: String,
}

async fn partner_supporter(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<SupporterForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    // Only a member of staff or a lead of the same trust can be named.
    let named = crate::store::user::Entity::find_by_id(form.supporter_id.clone())
        .one(&state.db)
        .await?
        .filter(|u| {
            u.tenant_id == me.caller.tenant.as_str()
                && [Role::Staff.as_str(), Role::EngagementLead.as_str()].contains(&u.role.as_str())
        });
    let request = people::AssignSupporterRequest {
        partner_id: id.clone(),
        supporter_id: named.as_ref().map(|u| u.id.clone()).unwrap_or_default(),
        supporter_name: named.map(|u| u.display_name).unwrap_or_default(),
    };
    let result = state
        .clients
        .people()
        .assign_supporter(state.clients.request(&me.caller, request))
        .await;
    let typed = PartnerForms::from([("supporter_id", form.supporter_id)]);
    after_partner_change(&state, &me, &id, result.map(|_| ()), "supporter", &typed).await
}

#[derive(Deserialize)]
struct NoteForm {
    csrf_token: String,
    #[serde(default)]
    note_kind: String,
    #[serde(default)]
    note_body: String,
}

async fn partner_note(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<NoteForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    let request = people::AddSupportNoteRequest {
        partner_id: id.clone(),
        kind: form.note_kind.clone(),
        body: form.note_body.clone(),
    };
    let result = state
        .clients
        .people()
        .add_support_note(state.clients.request(&me.caller, request))
        .await
        .map(|_| ())
        // The form's fields are named apart from the training form's `kind`.
        .map_err(|status| AppError::from(status).with_fields(|field| format!("note_{field}")));
    let typed = PartnerForms::from([("note_kind", form.note_kind), ("note_body", form.note_body)]);
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/partners/{id}?notice=note")).into_response()),
        Err(err @ AppError::Invalid(_)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            partner_page(&state, &me, &id, None, Some(&err), &typed).await?,
        )
            .into_response()),
        Err(err) => Err(err),
    }
}

/// (kind, label) of training and checks.
const TRAINING_KINDS: &[(&str, &str)] = &[
    ("induction", "Induction"),
    ("shared_decision_making", "Shared decision-making"),
    ("confidentiality", "Confidentiality and data security"),
    ("safeguarding", "Safeguarding"),
    ("references", "References"),
    ("dbs", "DBS check"),
];

fn training_label(kind: &str) -> &str {
    TRAINING_KINDS
        .iter()
        .find(|(value, _)| *value == kind)
        .map_or(kind, |(_, label)| label)
}

#[derive(Deserialize)]
struct ExpiringQuery {
    #[serde(default)]
    within_days: Option<u32>,
    #[serde(default)]
    page: Option<u32>,
}

async fn expiring_training(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ExpiringQuery>,
) -> Result<Html<String>, AppError> {
    let days = q.within_days.unwrap_or(60);
    let request = people::ListExpiringTrainingRequest {
        within_days: days,
        page: page_request(q.page, 25),
    };
    let listed = state
        .clients
        .people()
        .list_expiring_training(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    let items: Vec<Value> = listed
        .items
        .iter()
        .map(|e| context! { partner_id => e.partner_id, name => format!("{} {}", e.given_name, e.family_name), label => training_label(&e.kind), expires_on => e.expires_on })
        .collect();
    render(
        &state,
        "training_expiring.html",
        merge(
            base(&me, "/partners", "Training and checks expiring"),
            context! { items => items, days => days, page => page_value(listed.page), query_base => format!("/training/expiring?within_days={days}&") },
        ),
    )
}

async fn expiring_training_csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ExpiringQuery>,
) -> Result<Response, AppError> {
    let days = q.within_days.unwrap_or(60);
    let rows = every_page(|page| {
        let (state, me) = (&state, &me);
        async move {
            let listed = state
                .clients
                .people()
                .list_expiring_training(state.clients.request(
                    &me.caller,
                    people::ListExpiringTrainingRequest {
                        within_days: days,
                        page,
                    },
                ))
                .await?
                .into_inner();
            Ok((listed.items, listed.page.map(|p| p.total).unwrap_or(0)))
        }
    })
    .await?
    .into_iter()
    .map(|e| {
        vec![
            e.partner_id,
            e.given_name,
            e.family_name,
            training_label(&e.kind).to_string(),
            e.expires_on,
        ]
    })
    .collect();
    csv_response(
        "training-expiring.csv",
        &[
            "partner_id",
            "given_name",
            "family_name",
            "training",
            "expires_on",
        ],
        rows,
    )
}

#[derive(Deserialize)]
struct EraseForm {
    csrf_token: String,
    #[serde(default)]
    erase_reason: String,
    /// The confirmation checkbox: present only when ticked.
    #[serde(default)]
    confirm: Option<String>,
}

async fn partner_erase(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<EraseForm>,
) -> Result<Response, AppError> {
    me.require(LEADS)?;
    me.check_csrf(Some(&form.csrf_token))?;
    let typed = PartnerForms::from([("erase_reason", form.erase_reason.clone())]);
    let result = if form.confirm.is_none() {
        Err(AppError::Invalid(vec![
            alongside_platform::error::FieldError::new(
                "confirm",
                "tick the box to confirm: erasure cannot be undone",
            ),
        ]))
    } else {
        crate::api::erase(&state, &me, id.clone(), form.erase_reason).await
    };
    match result {
        Ok(_) => Ok(Redirect::to("/partners?notice=erased").into_response()),
        Err(AppError::Invalid(errors)) => {
            // The page's erase form names its field erase_reason.
            let errors = errors
                .into_iter()
                .map(|mut e| {
                    if e.field == "reason" {
                        e.field = "erase_reason".into();
                    }
                    e
                })
                .collect();
            let err = AppError::Invalid(errors);
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                partner_page(&state, &me, &id, None, Some(&err), &typed).await?,
            )
                .into_response())
        }
        Err(err) => Err(err),
    }
}

/// Everything held about a partner, readable: for the partner themself, and for leads.
async fn partner_data_page(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    let held = crate::held_data::gather(&state, &me, id.clone()).await?;
    let sign_in = crate::held_data::sign_in_bodies(held.sign_in);
    let engagement = crate::held_data::EngagementDataBody::from(held.engagement);
    let payments = crate::held_data::PaymentsDataBody::new(held.claims, held.account);
    let export = held.people;
    let partner = export.partner.unwrap_or_default();
    let history: Vec<Value> = export
        .status_history
        .iter()
        .map(|c| context! { from => status_label(&c.from_status), to => status_label(&c.to_status), reason => c.reason, changed_at => c.changed_at })
        .collect();
    let accesses: Vec<Value> = export
        .access_log
        .iter()
        .map(|a| context! { at => a.at, role => a.actor_role, action => a.action })
        .collect();
    let current = if me.caller.role == Role::Partner {
        "/my-data"
    } else {
        "/partners"
    };
    render(
        &state,
        "partner_data.html",
        merge(
            base(&me, current, "The data we hold"),
            context! { roles => export.roles.as_ref().map(|r| r.roles.iter().map(|s| context! { label => partner_role_label(&s.role), eligible => s.eligible, missing => s.missing.join("; "), valid_until => s.valid_until }).collect::<Vec<_>>()).unwrap_or_default(), training => export.roles.as_ref().map(|r| r.training.iter().map(|t| context! { label => training_label(&t.kind), completed_on => t.completed_on, expires_on => t.expires_on }).collect::<Vec<_>>()).unwrap_or_default(), equality => export.equality.as_ref().map(|q| context! { age_band => q.age_band, sex => q.sex, ethnic_group => q.ethnic_group, disability => q.disability, carer => q.carer }), support_notes_held => export.support_notes_held, support_notes => export.support_notes.iter().map(|n| context! { kind => n.kind, body => n.body, written_at => n.written_at }).collect::<Vec<_>>(), consents => export.consents.iter().map(|c| context! { purpose => c.purpose, granted => c.granted, recorded_at => c.recorded_at, notice_version => c.notice_version }).collect::<Vec<_>>(), payment_text => export.profile.as_ref().map(crate::profile::payment_text), profile => export.profile.map(crate::profile::ProfileBody::from), partner => partner_value(&partner), email => partner.email, phone => partner.phone, status_label => status_label(&partner.status), history => history, accesses => accesses, generated_at => export.generated_at, id => id, sign_in => sign_in, engagement => engagement, payments => payments },
        ),
    )
}

/// A partner's own data page.
async fn my_data(me: SignedIn) -> Result<Response, AppError> {
    if me.caller.role != Role::Partner {
        return Err(AppError::Forbidden);
    }
    Ok(Redirect::to(&format!("/partners/{}/data", me.caller.subject)).into_response())
}

/// The status filter of the People Bank list: (value, label).
const STATUS_OPTIONS: &[(&str, &str)] = &[
    ("", "Any status"),
    ("interest", "Expressed interest"),
    ("application", "Application"),
    ("conversation", "Conversation"),
    ("checks", "References and checks"),
    ("induction", "Induction and training"),
    ("active", "Active"),
    ("resting", "Resting"),
    ("left", "Left"),
    ("erased", "Erased"),
];

fn status_label(status: &str) -> &str {
    if status.is_empty() {
        return "";
    }
    STATUS_OPTIONS
        .iter()
        .find(|(value, _)| *value == status)
        .map_or(status, |(_, label)| label)
}

/// Every partner of a search, for CSV export and name lookups.
pub(crate) async fn all_partners(
    state: &AppState,
    me: &SignedIn,
    search: &str,
    sort: &str,
) -> Result<Vec<people::Partner>, AppError> {
    every_partner(
        state,
        me,
        people::ListPartnersRequest {
            search: search.into(),
            sort: sort.into(),
            ..Default::default()
        },
    )
    .await
}

/// Every partner `filter` selects, page by page.
async fn every_partner(
    state: &AppState,
    me: &SignedIn,
    filter: people::ListPartnersRequest,
) -> Result<Vec<people::Partner>, AppError> {
    let filter = &filter;
    every_page(|page| async move {
        let request = people::ListPartnersRequest {
            page,
            ..filter.clone()
        };
        let listed = state
            .clients
            .people()
            .list_partners(state.clients.request(&me.caller, request))
            .await?
            .into_inner();
        Ok((listed.partners, listed.page.map(|p| p.total).unwrap_or(0)))
    })
    .await
}

/// Every page of a list, for CSV export: `fetch` gets one page and returns its rows and the total.
pub(crate) async fn every_page<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, AppError>
where
    F: FnMut(Option<PageRequest>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, u64), tonic::Status>>,
{
    let mut out = Vec::new();
    for page in 1.. {
        let (rows, total) = fetch(page_request(
            Some(page),
            alongside_platform::paging::MAX_PAGE_SIZE,
        ))
        .await?;
        let last = rows.is_empty();
        out.extend(rows);
        if last || out.len() as u64 >= total {
            break;
        }
    }
    Ok(out)
}

pub(crate) fn csv_response(
    filename: &str,
    header: &[&str],
    rows: Vec<Vec<String>>,
) -> Result<Response, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let write = |w: &mut csv::Writer<Vec<u8>>| -> Result<(), csv::Error> {
        w.write_record(header)?;
        for row in rows {
            // Cells starting with formula characters are prefixed so spreadsheets do not run them.
            w.write_record(row.iter().map(|cell| defuse_formula(cell)))?;
        }
        Ok(())
    };
    write(&mut writer).map_err(|e| AppError::Internal(e.to_string()))?;
    let body = writer
        .into_inner()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// The first value of `key` in a posted form whose fields may repeat (checkboxes).
pub(crate) fn posted<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Every value of `key` in a posted form, in order (the ticked checkboxes of a group).
pub(crate) fn posted_all(form: &[(String, String)], key: &str) -> Vec<String> {
    form.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

/// The form field for a field a service names: services name a period's months as their
/// requests do, the forms and the JSON API call them from and to (and the chart's rebase).
pub(crate) fn period_field(field: &str) -> String {
    match field {
        "from_month" => "from".into(),
        "to_month" => "to".into(),
        "rebase_months" => "rebase".into(),
        other => other.into(),
    }
}

/// Rows a CSV download may hold: a list read `EXPORT_PAGE` a page, up to 25 pages.
pub(crate) const EXPORT_PAGE: u32 = 200;

/// Every row of a list for a CSV download, `page(n)` giving page n of `EXPORT_PAGE` rows, up
/// to 5,000 rows; stops at the first page that is not full.
pub(crate) async fn export_rows<T, F, Fut>(mut page: F) -> Result<Vec<T>, AppError>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, AppError>>,
{
    let mut rows = Vec::new();
    for n in 1..=25 {
        let got = page(n).await?;
        let last = got.len() < EXPORT_PAGE as usize;
        rows.extend(got);
        if last {
            break;
        }
    }
    Ok(rows)
}

/// `part` of `whole` as a whole percentage, or "–" when there is no whole.
pub(crate) fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{}%", (part as f64 * 100.0 / whole as f64).round() as i64)
    }
}

/// `key=value` pairs joined by `&`, values URL-encoded; pairs with an empty value left out.
pub(crate) fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn defuse_formula(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

async fn partners_csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    // The page's filters; audited as an export. Only the record's own fields: the profile's
    // sensitive parts (needs, experience, payment, benefits) are never exported.
    let filter = people::ListPartnersRequest {
        export: true,
        ..q.partner_filter()
    };
    let rows = every_partner(&state, &me, filter)
        .await?
        .into_iter()
        .map(|p| {
            vec![
                p.id,
                p.given_name,
                p.family_name,
                p.email,
                p.phone,
                p.locality,
                p.status,
                p.registered_at,
            ]
        })
        .collect();
    csv_response(
        "partners.csv",
        &[
            "id",
            "given_name",
            "family_name",
            "email",
            "phone",
            "locality",
            "status",
            "registered_at",
        ],
        rows,
    )
}

#[derive(Deserialize, Serialize, Default)]
struct PartnerForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    locality: String,
}

async fn partner_form(
    State(state): State<AppState>,
    me: SignedIn,
) -> Result<Html<String>, AppError> {
    render(
        &state,
        "partner_new.html",
        merge(
            base(&me, "/partners", "Register a partner"),
            context! { form => PartnerForm::default() },
        ),
    )
}

async fn partner_register(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<PartnerForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    let request = people::RegisterPartnerRequest {
        given_name: form.given_name.clone(),
        family_name: form.family_name.clone(),
        email: form.email.clone(),
        phone: form.phone.clone(),
        locality: form.locality.clone(),
    };
    match state
        .clients
        .people()
        .register_partner(state.clients.request(&me.caller, request))
        .await
    {
        Ok(_) => {
            Ok(Redirect::to("/partners?sort=-registered_at&notice=registered").into_response())
        }
        Err(status) => {
            let err = AppError::from(status);
            if !matches!(err, AppError::Invalid(_)) {
                return Err(err);
            }
            let html = render(
                &state,
                "partner_new.html",
                merge(
                    base(&me, "/partners", "Register a partner"),
                    context! { form => form, errors => errors_map(&err) },
                ),
            )?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
        }
    }
}

// ---- opportunities ----

/// The role an opportunity may require: (value, label).
const ROLE_OPTIONS: &[(&str, &str)] = &[
    ("", "Any active partner"),
    ("forum_member", "Forum member"),
    ("patient_carer_partner", "Patient or carer partner"),
    (
        "governance_partner",
        "Governance partner (MDT or committee seat)",
    ),
    ("improvement_partner", "Improvement partner"),
    ("peer_support_worker", "Peer support worker"),
    ("co_researcher", "Co-researcher"),
    ("trainer", "Trainer"),
    ("recruitment_panel_member", "Recruitment panel member"),
];

fn partner_role_label(role: &str) -> &str {
    ROLE_OPTIONS
        .iter()
        .find(|(value, _)| *value == role)
        .map_or(role, |(_, label)| label)
}

pub const KINDS: &[(&str, &str)] = &[
    ("forum_meeting", "Patient and Carer Forum meeting"),
    ("mdt_seat", "Seat on a multidisciplinary team meeting"),
    ("improvement_group", "Service-improvement group"),
    ("pathway_redesign", "Pathway redesign"),
    ("discussion_group", "Discussion group"),
    (
        "training_codelivery",
        "Co-designing or co-delivering training",
    ),
    ("recruitment_panel", "Recruitment panel"),
    ("co_research", "Co-research"),
    ("story_video", "Patient story video"),
    ("health_equity", "Health-equity work"),
    ("digital_advisory", "Digital services advisory role"),
];

fn kind_label(kind: &str) -> &str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, l)| *l)
        .unwrap_or(kind)
}

pub(crate) fn opportunity_value(o: &engagement::Opportunity) -> Value {
    let sessions: Vec<Value> = o
        .sessions
        .iter()
        .map(|s| context! { id => s.id, number => s.number, on => s.on, start_time => s.start_time, minutes => s.minutes })
        .collect();
    let last_on = o.sessions.last().map(|s| s.on.clone()).unwrap_or_default();
    context! { id => o.id, title => o.title, kind => o.kind, kind_label => kind_label(&o.kind), involvement_level => o.involvement_level, starts_on => o.starts_on, last_on => last_on, places => o.places, filled => o.filled, status => o.status, status_label => opportunity_status_label(&o.status), required_role => o.required_role, required_role_label => partner_role_label(&o.required_role), pathway => o.pathway, cost_centre => o.cost_centre, expenses_only => o.remuneration == "expenses_only", description => o.description, locality => o.locality, expected_minutes => o.expected_minutes, accessibility => o.accessibility, contact => o.contact, sessions => sessions, cancel_reason => o.cancel_reason, request_id => o.request_id }
}

/// An opportunity's status in words.
pub(crate) fn opportunity_status_label(status: &str) -> &str {
    match status {
        "draft" => "Draft (not yet published)",
        "published" => "Published: places open",
        "filled" => "Filled: every place is taken",
        "completed" => "Completed",
        "cancelled" => "Cancelled",
        other => other,
    }
}

const REPEATS: &[(&str, &str)] = &[
    ("", "Once (one session)"),
    ("weekly", "Every week"),
    ("fortnightly", "Every two weeks"),
    ("monthly", "Every month"),
];

const SAVE_AS: &[(&str, &str)] = &[
    ("publish", "Publish it now (sessions today or later)"),
    ("draft", "Save as a draft, to publish later"),
    (
        "held",
        "Record work already done (sessions today or earlier)",
    ),
];

const OPPORTUNITY_STATUSES: &[(&str, &str)] = &[
    ("", "Any status"),
    ("draft", "Draft"),
    ("published", "Published: places open"),
    ("filled", "Filled"),
    ("completed", "Completed"),
    ("cancelled", "Cancelled"),
];

/// How an opportunity pays (DOMAIN.md §3).
const REMUNERATIONS: &[(&str, &str)] = &[
    ("rate_card", "Paid by the trust's rate card"),
    ("expenses_only", "Expenses only"),
];

#[derive(Deserialize, Default)]
struct OpportunityListQuery {
    page: Option<u32>,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
}

async fn opportunities(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<OpportunityListQuery>,
) -> Result<Html<String>, AppError> {
    let request = engagement::ListOpportunitiesRequest {
        page: page_request(q.page, 25),
        sort: q.sort.clone(),
        kind: q.kind.clone(),
        status: q.status.clone(),
        pathway: String::new(),
    };
    let listed = state
        .clients
        .engagement()
        .list_opportunities(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    let rows: Vec<Value> = listed.opportunities.iter().map(opportunity_value).collect();
    render(
        &state,
        "opportunities.html",
        merge(
            base(&me, "/opportunities", "Opportunities"),
            context! { opportunities => rows, page => page_value(listed.page), can_create => me.has_role(LEADS), statuses => OPPORTUNITY_STATUSES, kinds => [("", "Any kind")].iter().chain(KINDS.iter()).collect::<Vec<_>>(), q => context! { status => q.status, kind => q.kind, sort => q.sort } },
        ),
    )
}

async fn opportunities_csv(
    State(state): State<AppState>,
    me: SignedIn,
) -> Result<Response, AppError> {
    let (state, me) = (&state, &me);
    let opportunities = every_page(|page| async move {
        let request = engagement::ListOpportunitiesRequest {
            page,
            ..Default::default()
        };
        let listed = state
            .clients
            .engagement()
            .list_opportunities(state.clients.request(&me.caller, request))
            .await?
            .into_inner();
        Ok((
            listed.opportunities,
            listed.page.map(|p| p.total).unwrap_or(0),
        ))
    })
    .await?;
    let rows = opportunities
        .into_iter()
        .map(|o| {
            vec![
                o.id,
                o.title,
                o.kind,
                o.involvement_level.to_string(),
                o.starts_on,
                o.sessions.len().to_string(),
                o.places.to_string(),
                o.filled.to_string(),
                o.status,
                o.pathway,
                o.locality,
            ]
        })
        .collect();
    csv_response(
        "opportunities.csv",
        &[
            "id",
            "title",
            "kind",
            "involvement_level",
            "starts_on",
            "sessions",
            "places",
            "filled",
            "status",
            "pathway",
            "locality",
        ],
        rows,
    )
}

#[derive(Deserialize, Serialize, Default)]
// Every field optional here: a missing one is named by the service, after the role check.
#[serde(default)]
struct OpportunityForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    involvement_level: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    places: String,
    #[serde(default)]
    pathway: String,
    #[serde(default)]
    cost_centre: String,
    #[serde(default)]
    remuneration: String,
    #[serde(default)]
    required_role: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    locality: String,
    #[serde(default)]
    expected_minutes: String,
    #[serde(default)]
    accessibility: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    start_time: String,
    #[serde(default)]
    repeat: String,
    #[serde(default)]
    session_count: String,
    #[serde(default)]
    save_as: String,
    #[serde(default)]
    request_id: String,
}

const LEVELS: &[(&str, &str)] = &[
    ("4", "Level 4 – partnership (paid)"),
    ("3", "Level 3 – co-production"),
    ("2", "Level 2 – engagement"),
    ("1", "Level 1 – information and feedback"),
];

#[derive(Deserialize)]
struct OpportunityFormQuery {
    /// A staff request to answer: the form starts from it.
    request: Option<String>,
}

async fn opportunity_form(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<OpportunityFormQuery>,
) -> Result<Html<String>, AppError> {
    let mut form = OpportunityForm {
        csrf_token: String::new(),
        title: String::new(),
        kind: "forum_meeting".into(),
        involvement_level: "4".into(),
        starts_on: String::new(),
        places: "1".into(),
        required_role: String::new(),
        pathway: String::new(),
        cost_centre: String::new(),
        remuneration: "rate_card".into(),
        description: String::new(),
        locality: String::new(),
        expected_minutes: "120".into(),
        accessibility: String::new(),
        contact: String::new(),
        start_time: "10:00".into(),
        repeat: String::new(),
        session_count: "1".into(),
        save_as: "publish".into(),
        request_id: String::new(),
    };
    let mut from_request = None;
    if let Some(id) = q.request.filter(|id| !id.is_empty()) {
        let found = crate::engagement_pages::staff_request(&state, &me, &id).await?;
        form.title = found.title.clone();
        form.pathway = found.pathway.clone();
        form.description = found.description.clone();
        if !found.kind.is_empty() {
            form.kind = found.kind.clone();
        }
        form.places = found.places.to_string();
        form.request_id = found.id.clone();
        from_request = Some(
            context! { title => found.title, team => found.team, needed_by => found.needed_by },
        );
    }
    opportunity_form_page(&state, &me, &form, from_request, None).await
}

async fn opportunity_form_page(
    state: &AppState,
    me: &SignedIn,
    form: &OpportunityForm,
    from_request: Option<Value>,
    err: Option<&AppError>,
) -> Result<Html<String>, AppError> {
    // Figures are published by pathway: only the trust's listed pathways are offered.
    let (pathways, pathway) = crate::places::options(state, me, "pathway", &form.pathway).await?;
    render(
        state,
        "opportunity_new.html",
        merge(
            base(me, "/opportunities", "Create an opportunity"),
            context! { form => form, pathways => pathways, pathway => pathway, kinds => KINDS, levels => LEVELS, roles => ROLE_OPTIONS, remunerations => REMUNERATIONS, repeats => REPEATS, save_as => SAVE_AS, from_request => from_request, errors => err.map(errors_map).unwrap_or_default() },
        ),
    )
}

async fn opportunity_create(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<OpportunityForm>,
) -> Result<Response, AppError> {
    me.require(LEADS)?;
    me.check_csrf(Some(&form.csrf_token))?;
    let mut parse_errors = Vec::new();
    let level = form
        .involvement_level
        .trim()
        .parse::<u32>()
        .unwrap_or_else(|_| {
            parse_errors.push(alongside_platform::error::FieldError::new(
                "involvement_level",
                "choose a level",
            ));
            0
        });
    let mut number = |field: &str, value: &str, default: u32| -> u32 {
        let value = value.trim();
        if value.is_empty() {
            return default;
        }
        value.parse::<u32>().unwrap_or_else(|_| {
            parse_errors.push(alongside_platform::error::FieldError::new(
                field,
                "enter a whole number",
            ));
            0
        })
    };
    let places = number("places", &form.places, 0);
    let expected_minutes = number("expected_minutes", &form.expected_minutes, 0);
    let session_count = number("session_count", &form.session_count, 1);
    let result = if parse_errors.is_empty() {
        let request = engagement::CreateOpportunityRequest {
            title: form.title.clone(),
            kind: form.kind.clone(),
            involvement_level: level,
            starts_on: form.starts_on.clone(),
            places,
            required_role: form.required_role.clone(),
            pathway: form.pathway.clone(),
            cost_centre: form.cost_centre.clone(),
            remuneration: form.remuneration.clone(),
            description: form.description.clone(),
            locality: form.locality.clone(),
            expected_minutes,
            accessibility: form.accessibility.clone(),
            contact: form.contact.clone(),
            start_time: form.start_time.clone(),
            repeat: form.repeat.clone(),
            session_count,
            draft: form.save_as == "draft",
            held: form.save_as == "held",
            request_id: form.request_id.clone(),
        };
        state
            .clients
            .engagement()
            .create_opportunity(state.clients.request(&me.caller, request))
            .await
            .map_err(AppError::from)
    } else {
        Err(AppError::Invalid(parse_errors))
    };
    match result {
        Ok(created) => Ok(
            Redirect::to(&format!("/opportunities/{}", created.into_inner().id)).into_response(),
        ),
        Err(err @ AppError::Invalid(_)) => {
            let from_request =
                (!form.request_id.is_empty()).then(|| context! { title => form.title.clone() });
            let html = opportunity_form_page(&state, &me, &form, from_request, Some(&err)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
        }
        Err(err) => Err(err),
    }
}

#[derive(Deserialize)]
pub(crate) struct NoticeQuery {
    pub(crate) notice: Option<String>,
}

async fn opportunity(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Html<String>, AppError> {
    opportunity_page(&state, &me, &id, q.notice.as_deref(), None).await
}

async fn opportunity_page(
    state: &AppState,
    me: &SignedIn,
    id: &str,
    notice: Option<&str>,
    err: Option<&AppError>,
) -> Result<Html<String>, AppError> {
    let found = state
        .clients
        .engagement()
        .get_opportunity(state.clients.request(
            &me.caller,
            engagement::GetOpportunityRequest { id: id.into() },
        ))
        .await?
        .into_inner();
    let assignments = state
        .clients
        .engagement()
        .list_assignments(state.clients.request(
            &me.caller,
            engagement::ListAssignmentsRequest {
                opportunity_id: id.into(),
            },
        ))
        .await?
        .into_inner()
        .assignments;
    let partners = all_partners(state, me, "", "name").await?;
    let name_of = |pid: &str| {
        partners
            .iter()
            .find(|p| p.id == pid)
            .map(|p| format!("{} {}", p.given_name, p.family_name))
            .unwrap_or_else(|| pid.to_string())
    };
    let today = state.clock.today().to_string();
    let rows: Vec<Value> = assignments
        .iter()
        .map(|a| {
            let session_of = |id: &str| found.sessions.iter().find(|s| s.id == id);
            let recorded: Vec<Value> = a
                .attendances
                .iter()
                .map(|t| context! {
                    id => t.id, minutes => t.minutes, outcome => t.outcome, outcome_label => outcome_label(&t.outcome),
                    on => session_of(&t.session_id).map(|s| s.on.clone()).unwrap_or_else(|| t.activity_date.clone()),
                    revision => t.revision, correction_reason => t.correction_reason,
                })
                .collect();
            // Sessions held and not yet recorded for this partner.
            let due: Vec<(String, String)> = found
                .sessions
                .iter()
                .filter(|s| s.on <= today && !a.attendances.iter().any(|t| t.session_id == s.id))
                .map(|s| (s.id.clone(), format!("Session {} on {}", s.number, s.on)))
                .collect();
            context! { id => a.id, partner_name => name_of(&a.partner_id), status => a.status, decline_reason => a.decline_reason, recorded => recorded, due => due }
        })
        .collect();
    let options: Vec<(String, String)> = partners
        .iter()
        .filter(|p| !assignments.iter().any(|a| a.partner_id == p.id))
        .map(|p| {
            (
                p.id.clone(),
                format!("{} {} ({})", p.given_name, p.family_name, p.locality),
            )
        })
        .collect();
    // The ranked shortlist, for a lead with places left: who may take it, and why in this order.
    let places_left = found.filled < found.places;
    let open = matches!(found.status.as_str(), "published" | "completed");
    let shortlist = if me.has_role(LEADS) && places_left && open {
        let list = state
            .clients
            .engagement()
            .shortlist_partners(state.clients.request(
                &me.caller,
                engagement::ShortlistRequest {
                    opportunity_id: id.into(),
                    limit: 10,
                },
            ))
            .await?
            .into_inner();
        Some(context! {
            entries => list.entries.iter().map(|e| context! {
                rank => e.rank, id => e.partner_id, name => name_of(&e.partner_id),
                locality => e.locality, sessions => e.paid_sessions, reasons => e.reasons,
            }).collect::<Vec<_>>(),
            considered => list.considered, eligible => list.eligible,
            excluded => list.excluded.iter().map(|x| context! { reason => x.reason, partners => x.partners }).collect::<Vec<_>>(),
        })
    } else {
        None
    };
    let notice = match notice {
        Some("assigned") => Some("Partner assigned."),
        Some("offered") => Some("Place offered. The partner sees the offer on their sessions page and accepts or declines it."),
        Some("published") => Some("Opportunity published: partners who may take part can see it."),
        Some("completed") => Some("Opportunity marked completed."),
        Some("cancelled") => Some("Opportunity cancelled. Places not yet attended are freed."),
        Some("attendance") => Some("Attendance recorded. A claim will be created for the partner."),
        Some("corrected") => {
            Some("Attendance corrected. The partner's claim follows the correction.")
        }
        _ => None,
    };
    let errors = err.map(errors_map).unwrap_or_default();
    render(
        state,
        "opportunity.html",
        merge(
            base(me, "/opportunities", &found.title),
            context! { opportunity => opportunity_value(&found), assignments => rows, partner_options => options, can_assign => me.has_role(LEADS) && open && places_left, is_lead => me.has_role(LEADS), can_complete => found.status == "published" && found.sessions.last().is_some_and(|s| s.on <= today), notice => notice, errors => errors, shortlist => shortlist, outcomes => OUTCOMES },
        ),
    )
}

/// What became of a partner's place at a session, in words.
const OUTCOMES: &[(&str, &str)] = &[
    ("attended", "Attended"),
    ("apologies", "Sent apologies"),
    ("no_show", "Did not attend"),
];

fn outcome_label(outcome: &str) -> &str {
    OUTCOMES
        .iter()
        .find(|(o, _)| *o == outcome)
        .map_or(outcome, |(_, l)| l)
}

#[derive(Deserialize)]
struct AssignForm {
    csrf_token: String,
    #[serde(default)]
    partner_id: String,
    /// "offer": hold the place for the partner's answer.
    #[serde(default)]
    how: String,
}

async fn opportunity_assign(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<AssignForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    let offer = form.how == "offer";
    let request = engagement::AssignPartnerRequest {
        opportunity_id: id.clone(),
        partner_id: form.partner_id,
        offer,
    };
    let result = state
        .clients
        .engagement()
        .assign_partner(state.clients.request(&me.caller, request))
        .await;
    let notice = if offer { "offered" } else { "assigned" };
    after_opportunity_change(&state, &me, &id, result.map(|_| ()), notice).await
}

#[derive(Deserialize, Default)]
// Every field optional here: a missing one is named by the service, after the role check.
#[serde(default)]
struct OpportunityStatusForm {
    csrf_token: String,
    to: String,
    #[serde(default)]
    reason: String,
}

async fn opportunity_status(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<OpportunityStatusForm>,
) -> Result<Response, AppError> {
    me.require(LEADS)?;
    me.check_csrf(Some(&form.csrf_token))?;
    let action = engagement::OpportunityAction {
        id: id.clone(),
        reason: form.reason,
    };
    let mut client = state.clients.engagement();
    let request = state.clients.request(&me.caller, action);
    let (result, notice) = match form.to.as_str() {
        "published" => (client.publish_opportunity(request).await, "published"),
        "completed" => (client.complete_opportunity(request).await, "completed"),
        "cancelled" => (client.cancel_opportunity(request).await, "cancelled"),
        _ => return Err(AppError::NotFound),
    };
    after_opportunity_change(&state, &me, &id, result.map(|_| ()), notice).await
}

/// After a change on an opportunity's page: back to the page with a notice, or the page again
/// with the field errors when the service refused what was sent.
async fn after_opportunity_change(
    state: &AppState,
    me: &SignedIn,
    id: &str,
    result: Result<(), tonic::Status>,
    notice: &str,
) -> Result<Response, AppError> {
    match result.map_err(AppError::from) {
        Ok(()) => Ok(Redirect::to(&format!("/opportunities/{id}?notice={notice}")).into_response()),
        Err(err @ AppError::Invalid(_)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            opportunity_page(state, me, id, None, Some(&err)).await?,
        )
            .into_response()),
        Err(err) => Err(err),
    }
}

#[derive(Deserialize, Default)]
// Every field optional here: a missing one is named by the service, after the role check.
#[serde(default)]
struct AttendanceForm {
    csrf_token: String,
    assignment_id: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    session_id: String,
    #[serde(default)]
    outcome: String,
}

async fn opportunity_attendance(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<AttendanceForm>,
) -> Result<Response, AppError> {
    me.require(ORGANISERS)?;
    me.check_csrf(Some(&form.csrf_token))?;
    let minutes = form.minutes.trim().parse::<u32>().unwrap_or(0);
    let assignment = form.assignment_id.clone();
    let request = engagement::RecordAttendanceRequest {
        assignment_id: form.assignment_id,
        // Apologies and no-shows give no minutes, whatever the box held.
        minutes: if form.outcome == "attended" || form.outcome.is_empty() {
            minutes
        } else {
            0
        },
        session_id: form.session_id,
        outcome: form.outcome,
    };
    let result = state
        .clients
        .engagement()
        .record_attendance(state.clients.request(&me.caller, request))
        .await
        .map(|_| ())
        // Each row has its own minutes input: the error summary links to the row's.
        .map_err(|status| {
            AppError::from(status).with_fields(|field| match field {
                "minutes" => format!("minutes-{assignment}"),
                "session_id" => format!("session-{assignment}"),
                "outcome" => format!("outcome-{assignment}"),
                other => other.to_string(),
            })
        });
    match result {
        Ok(()) => {
            Ok(Redirect::to(&format!("/opportunities/{id}?notice=attendance")).into_response())
        }
        Err(err @ AppError::Invalid(_)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            opportunity_page(&state, &me, &id, None, Some(&err)).await?,
        )
            .into_response()),
        Err(err) => Err(err),
    }
}

#[derive(Deserialize, Default)]
// Every field optional here: a missing one is named by the service, after the role check.
#[serde(default)]
struct CorrectionForm {
    csrf_token: String,
    attendance_id: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    outcome: String,
}

async fn opportunity_correction(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CorrectionForm>,
) -> Result<Response, AppError> {
    me.require(ORGANISERS)?;
    me.check_csrf(Some(&form.csrf_token))?;
    let row = form.attendance_id.clone();
    let minutes = match form.minutes.trim().parse::<u32>() {
        Ok(m) => m,
        Err(_) => {
            let err = AppError::Invalid(vec![alongside_platform::error::FieldError::new(
                format!("correct_minutes-{row}"),
                "enter the minutes as a whole number (0 if they did not take part)",
            )]);
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                opportunity_page(&state, &me, &id, None, Some(&err)).await?,
            )
                .into_response());
        }
    };
    let request = engagement::CorrectAttendanceRequest {
        attendance_id: form.attendance_id,
        minutes,
        reason: form.reason,
        outcome: form.outcome,
    };
    let result = state
        .clients
        .engagement()
        .correct_attendance(state.clients.request(&me.caller, request))
        .await
        .map(|_| ())
        .map_err(|status| {
            AppError::from(status).with_fields(|field| match field {
                "minutes" => format!("correct_minutes-{row}"),
                "reason" => format!("reason-{row}"),
                "outcome" => format!("outcome-{row}"),
                other => other.to_string(),
            })
        });
    match result {
        Ok(()) => {
            Ok(Redirect::to(&format!("/opportunities/{id}?notice=corrected")).into_response())
        }
        Err(err @ AppError::Invalid(_)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            opportunity_page(&state, &me, &id, None, Some(&err)).await?,
        )
            .into_response()),
        Err(err) => Err(err),
    }
}

/// A day as people write it: 7 December 2026.
pub(crate) fn day_label(iso: &str) -> String {
    time::Date::parse(iso, &time::format_description::well_known::Iso8601::DATE)
        .map(|d| format!("{} {} {}", d.day(), d.month(), d.year()))
        .unwrap_or_else(|_| iso.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        let env = templates();
        for (name, _) in TEMPLATES {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn every_template_rendered_and_every_template_file_is_registered() {
        // Every source file and every template file, read as they are, so none is forgotten.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let read_dir = |dir: &str| -> Vec<std::path::PathBuf> {
            std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect()
        };
        let source: String = read_dir("src")
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        let rendered: Vec<&str> = source
            .split('"')
            .filter(|s| {
                s.ends_with(".html")
                    && s.len() > ".html".len()
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
            })
            .collect();
        assert!(rendered.len() > 10, "{rendered:?}");
        let registered = |name: &str| TEMPLATES.iter().any(|(r, _)| *r == name);
        for name in rendered {
            assert!(registered(name), "{name} is rendered but not in TEMPLATES");
        }
        for file in read_dir("templates") {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            assert!(registered(&name), "templates/{name} is not in TEMPLATES");
        }
    }

    #[test]
    fn csv_cells_cannot_become_formulas() {
        assert_eq!(defuse_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse_formula("Asha"), "Asha");
    }

    #[test]
    fn money_and_percentages_display_as_published() {
        assert_eq!(crate::payments::pounds(15_000), "£150.00");
        assert_eq!(crate::fft::percent(Some(66.666)), "67%");
        assert_eq!(crate::fft::percent(None), "–");
    }
}
