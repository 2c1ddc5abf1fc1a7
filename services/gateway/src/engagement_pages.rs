//! Engagement beyond a single opportunity's page: staff requests for partners, the partner's
//! own side (opportunities open to them, offers, sessions and a calendar, preferences), forums,
//! and the involvement report for a trust and, rolled up, for its ICS.

use std::collections::BTreeMap;

use alongside_platform::Role;
use alongside_proto::engagement::v1 as engagement;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::{context, Value};
use sea_orm::EntityTrait;
use serde::Deserialize;

use crate::access::{INVOLVEMENT_REPORT_READERS, LEADS, ORGANISERS, PARTNERS};
use crate::error::AppError;
use crate::pages::{
    all_partners, base, csv_response, errors_map, merge, opportunity_value, page_request,
    page_value, posted, posted_all, render, KINDS,
};
use crate::session::SignedIn;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/requests", get(requests).post(request_create))
        .route("/requests/{id}/decline", post(request_decline))
        .route("/my/opportunities", get(my_opportunities).post(my_interest))
        .route("/my/sessions", get(my_sessions).post(my_answer))
        .route("/my/sessions.ics", get(my_calendar))
        .route(
            "/my/preferences",
            get(my_preferences).post(my_preferences_save),
        )
        .route("/forums", get(forums).post(forum_create))
        .route("/forums/{id}", get(forum))
        .route("/forums/{id}/members", post(forum_member))
        .route("/forums/{id}/meetings", post(forum_meeting))
        .route("/forums/{id}/actions", post(forum_action))
        .route("/engagement/report", get(report))
        .route("/engagement/report.csv", get(report_csv))
}

fn kind_options(any: &str) -> Vec<(&str, &str)> {
    std::iter::once(("", any))
        .chain(KINDS.iter().copied())
        .collect()
}

fn value(form: &[(String, String)], key: &str) -> String {
    posted(form, key).unwrap_or_default().to_string()
}

/// Re-renders a form page with the service's refusal, or goes on to `to`.
fn after(
    result: Result<(), tonic::Status>,
    to: String,
    again: impl FnOnce(&AppError) -> Result<Html<String>, AppError>,
) -> Result<Response, AppError> {
    match result.map_err(AppError::from) {
        Ok(()) => Ok(Redirect::to(&to).into_response()),
        Err(err @ AppError::Invalid(_)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, again(&err)?).into_response())
        }
        Err(err) => Err(err),
    }
}

// ---- staff requests ----

/// One staff request of the caller's trust.
pub(crate) async fn staff_request(
    state: &AppState,
    me: &SignedIn,
    id: &str,
) -> Result<engagement::StaffRequest, AppError> {
    let mut page = 1;
    loop {
        let listed = state
            .clients
            .engagement()
            .list_staff_requests(state.clients.request(
                &me.caller,
                engagement::ListStaffRequestsRequest {
                    page: page_request(Some(page), 100),
                    status: "open".into(),
                },
            ))
            .await?
            .into_inner();
        if let Some(found) = listed.requests.iter().find(|r| r.id == id) {
            return Ok(found.clone());
        }
        let total = listed.page.map_or(0, |p| p.total);
        if (page as u64) * 100 >= total {
            return Err(AppError::NotFound);
        }
        page += 1;
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RequestsQuery {
    status: String,
    page: Option<u32>,
    notice: String,
}

async fn requests(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<RequestsQuery>,
) -> Result<Html<String>, AppError> {
    requests_page(&state, &me, &q, Value::from(()), BTreeMap::new()).await
}

async fn requests_page(
    state: &AppState,
    me: &SignedIn,
    q: &RequestsQuery,
    typed: Value,
    errors: BTreeMap<String, String>,
) -> Result<Html<String>, AppError> {
    me.require(ORGANISERS)?;
    let listed = state
        .clients
        .engagement()
        .list_staff_requests(state.clients.request(
            &me.caller,
            engagement::ListStaffRequestsRequest {
                page: page_request(q.page, 25),
                status: q.status.clone(),
            },
        ))
        .await?
        .into_inner();
    let rows: Vec<Value> = listed
        .requests
        .iter()
        .map(|r| context! {
            id => r.id, title => r.title, team => r.team, pathway => r.pathway, description => r.description,
            kind_label => KINDS.iter().find(|(k, _)| *k == r.kind).map(|(_, l)| *l).unwrap_or(""),
            places => r.places, needed_by => r.needed_by, status => r.status, opportunity_id => r.opportunity_id,
            decline_reason => r.decline_reason, created_on => r.created_at.get(..10).unwrap_or_default(),
        })
        .collect();
    let notice = match q.notice.as_str() {
        "made" => Some("Request sent to the engagement team."),
        "declined" => Some("Request declined. The reason is shown with it."),
        _ => None,
    };
    render(
        state,
        "requests.html",
        merge(
            base(me, "/requests", "Requests for partners"),
            context! {
                requests => rows, page => page_value(listed.page), is_lead => me.has_role(LEADS),
                kinds => kind_options("Not sure yet"), typed => typed, errors => errors, notice => notice,
                statuses => [("", "All"), ("open", "Open"), ("converted", "Turned into opportunities"), ("declined", "Declined")],
                status => q.status,
            },
        ),
    )
}

async fn request_create(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    me.check_csrf(posted(&form, "csrf_token"))?;
    let places = value(&form, "places").trim().parse::<u32>().unwrap_or(0);
    let request = engagement::CreateStaffRequestRequest {
        title: value(&form, "title"),
        team: value(&form, "team"),
        pathway: value(&form, "pathway"),
        description: value(&form, "description"),
        kind: value(&form, "kind"),
        places,
        needed_by: value(&form, "needed_by"),
    };
    let result = state
        .clients
        .engagement()
        .create_staff_request(state.clients.request(&me.caller, request))
        .await
        .map(|_| ());
    let typed = context! {
        title => value(&form, "title"), team => value(&form, "team"), pathway => value(&form, "pathway"),
        description => value(&form, "description"), kind => value(&form, "kind"), places => value(&form, "places"),
        needed_by => value(&form, "needed_by"),
    };
    match result.map_err(AppError::from) {
        Ok(()) => Ok(Redirect::to("/requests?notice=made").into_response()),
        Err(err @ AppError::Invalid(_)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            requests_page(
                &state,
                &me,
                &RequestsQuery::default(),
                typed,
                errors_map(&err),
            )
            .await?,
        )
            .into_response()),
        Err(err) => Err(err),
    }
}

async fn request_decline(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    me.check_csrf(posted(&form, "csrf_token"))?;
    let result = state
        .clients
        .engagement()
        .decline_staff_request(state.clients.request(
            &me.caller,
            engagement::DeclineStaffRequestRequest {
                id: id.clone(),
                reason: value(&form, &format!("reason-{id}")),
            },
        ))
        .await
        .map(|_| ());
    match result.map_err(AppError::from) {
        Ok(()) => Ok(Redirect::to("/requests?notice=declined").into_response()),
        Err(AppError::Invalid(errors)) => {
            let err = AppError::Invalid(errors).with_fields(|f| match f {
                "reason" => format!("reason-{id}"),
                other => other.to_string(),
            });
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                requests_page(
                    &state,
                    &me,
                    &RequestsQuery::default(),
                    Value::from(()),
                    errors_map(&err),
                )
                .await?,
            )
                .into_response())
        }
        Err(err) => Err(err),
    }
}

// ---- the partner's side ----

#[derive(Deserialize, Default)]
#[serde(default)]
struct MyQuery {
    page: Option<u32>,
    notice: String,
}

async fn my_opportunities(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<MyQuery>,
) -> Result<Html<String>, AppError> {
    me.require(PARTNERS)?;
    let listed = state
        .clients
        .engagement()
        .list_open_opportunities(state.clients.request(
            &me.caller,
            engagement::ListOpenOpportunitiesRequest {
                page: page_request(q.page, 20),
            },
        ))
        .await?
        .into_inner();
    let rows: Vec<Value> = listed
        .opportunities
        .iter()
        .filter_map(|o| {
            let opportunity = o.opportunity.as_ref()?;
            Some(merge(
                opportunity_value(opportunity),
                context! { interested => o.interested },
            ))
        })
        .collect();
    let notice = match q.notice.as_str() {
        "interested" => Some("Thank you: the engagement team knows you are interested."),
        "withdrawn" => Some("Your interest is withdrawn."),
        _ => None,
    };
    render(
        &state,
        "my_opportunities.html",
        merge(
            base(&me, "/my/opportunities", "Opportunities for you"),
            context! { opportunities => rows, page => page_value(listed.page), notice => notice },
        ),
    )
}

async fn my_interest(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    me.check_csrf(posted(&form, "csrf_token"))?;
    let interested = value(&form, "interested") == "yes";
    state
        .clients
        .engagement()
        .express_interest(state.clients.request(
            &me.caller,
            engagement::ExpressInterestRequest {
                opportunity_id: value(&form, "opportunity_id"),
                interested,
                note: value(&form, "note"),
            },
        ))
        .await?;
    let notice = if interested {
        "interested"
    } else {
        "withdrawn"
    };
    Ok(Redirect::to(&format!("/my/opportunities?notice={notice}")).into_response())
}

async fn mine(state: &AppState, me: &SignedIn) -> Result<Vec<engagement::MyAssignment>, AppError> {
    me.require(PARTNERS)?;
    Ok(state
        .clients
        .engagement()
        .list_my_assignments(
            state
                .clients
                .request(&me.caller, engagement::ListMyAssignmentsRequest {}),
        )
        .await?
        .into_inner()
        .assignments)
}

async fn my_sessions(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<MyQuery>,
) -> Result<Html<String>, AppError> {
    let assignments = mine(&state, &me).await?;
    let today = state.clock.today().to_string();
    let mut offers = Vec::new();
    let mut upcoming = Vec::new();
    for m in &assignments {
        let (Some(a), Some(o)) = (&m.assignment, &m.opportunity) else {
            continue;
        };
        if a.status == "offered" {
            offers.push(merge(
                opportunity_value(o),
                context! { assignment_id => a.id },
            ));
        } else {
            for s in o.sessions.iter().filter(|s| s.on >= today) {
                upcoming.push(context! {
                    title => o.title, on => s.on, start_time => s.start_time, minutes => s.minutes,
                    number => s.number, of => o.sessions.len(), locality => o.locality,
                    accessibility => o.accessibility, contact => o.contact, opportunity_id => o.id,
                });
            }
        }
    }
    upcoming.sort_by_key(|v| {
        (
            v.get_attr("on").map(|x| x.to_string()).unwrap_or_default(),
            v.get_attr("start_time")
                .map(|x| x.to_string())
                .unwrap_or_default(),
        )
    });
    let notice = match q.notice.as_str() {
        "accepted" => Some("Thank you: your place is confirmed. It is in your sessions below."),
        "declined" => Some("You declined the offer. The place goes to someone else."),
        _ => None,
    };
    render(
        &state,
        "my_sessions.html",
        merge(
            base(&me, "/my/sessions", "Your sessions"),
            context! { offers => offers, upcoming => upcoming, notice => notice },
        ),
    )
}

async fn my_answer(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    me.check_csrf(posted(&form, "csrf_token"))?;
    let accept = value(&form, "answer") == "accept";
    state
        .clients
        .engagement()
        .respond_to_offer(state.clients.request(
            &me.caller,
            engagement::RespondToOfferRequest {
                assignment_id: value(&form, "assignment_id"),
                accept,
                reason: value(&form, "reason"),
            },
        ))
        .await?;
    let notice = if accept { "accepted" } else { "declined" };
    Ok(Redirect::to(&format!("/my/sessions?notice={notice}")).into_response())
}

/// Escapes a text value of iCalendar (RFC 5545 §3.3.11).
fn ics_text(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\r', "")
        .replace('\n', "\\n")
}

/// The partner's accepted sessions as an iCalendar file (RFC 5545), in UK local time.
pub fn calendar(assignments: &[engagement::MyAssignment], stamp: &str) -> String {
    let mut out = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Alongside//Partner sessions//EN\r\nCALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\n",
    );
    let compact = |d: &str| d.replace(['-', ':'], "");
    for m in assignments {
        let (Some(a), Some(o)) = (&m.assignment, &m.opportunity) else {
            continue;
        };
        if a.status != "accepted" {
            continue;
        }
        for s in &o.sessions {
            let start = time::PrimitiveDateTime::new(
                alongside_platform::parse_date(&s.on).unwrap_or(time::Date::MIN),
                time::Time::parse(
                    &s.start_time,
                    time::macros::format_description!("[hour]:[minute]"),
                )
                .unwrap_or(time::Time::MIDNIGHT),
            );
            let end = start + time::Duration::minutes(s.minutes as i64);
            let at = |t: time::PrimitiveDateTime| {
                format!(
                    "{:04}{:02}{:02}T{:02}{:02}00",
                    t.year(),
                    t.month() as u8,
                    t.day(),
                    t.hour(),
                    t.minute()
                )
            };
            let mut description = String::new();
            if !o.description.is_empty() {
                description.push_str(&o.description);
            }
            if !o.accessibility.is_empty() {
                description.push_str(&format!("\nAccessibility: {}", o.accessibility));
            }
            if !o.contact.is_empty() {
                description.push_str(&format!("\nContact: {}", o.contact));
            }
            out.push_str("BEGIN:VEVENT\r\n");
            out.push_str(&format!("UID:{}-{}@alongside\r\n", a.id, s.id));
            out.push_str(&format!("DTSTAMP:{}\r\n", compact(stamp)));
            out.push_str(&format!("DTSTART;TZID=Europe/London:{}\r\n", at(start)));
            out.push_str(&format!("DTEND;TZID=Europe/London:{}\r\n", at(end)));
            out.push_str(&format!("SUMMARY:{}\r\n", ics_text(&o.title)));
            if !description.is_empty() {
                out.push_str(&format!("DESCRIPTION:{}\r\n", ics_text(&description)));
            }
            if !o.locality.is_empty() {
                out.push_str(&format!("LOCATION:{}\r\n", ics_text(&o.locality)));
            }
            out.push_str("END:VEVENT\r\n");
        }
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

async fn my_calendar(State(state): State<AppState>, me: SignedIn) -> Result<Response, AppError> {
    let assignments = mine(&state, &me).await?;
    let now = state.clock.now_rfc3339();
    let stamp = format!("{}Z", &now[..19]);
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"alongside-sessions.ics\"",
            ),
        ],
        calendar(&assignments, &stamp),
    )
        .into_response())
}

const DAY_OPTIONS: &[(&str, &str)] = &[
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

async fn my_preferences(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<MyQuery>,
) -> Result<Html<String>, AppError> {
    me.require(PARTNERS)?;
    let found = state
        .clients
        .engagement()
        .get_preferences(
            state
                .clients
                .request(&me.caller, engagement::GetPreferencesRequest::default()),
        )
        .await?
        .into_inner();
    preferences_page(&state, &me, &found, q.notice == "saved", BTreeMap::new())
}

fn preferences_page(
    state: &AppState,
    me: &SignedIn,
    p: &engagement::Preferences,
    saved: bool,
    errors: BTreeMap<String, String>,
) -> Result<Html<String>, AppError> {
    let kinds: Vec<Value> = KINDS
        .iter()
        .map(
            |(k, l)| context! { value => k, label => l, checked => p.kinds.iter().any(|x| x == k) },
        )
        .collect();
    let days: Vec<Value> = DAY_OPTIONS
        .iter()
        .map(|(d, l)| context! { value => d, label => l, checked => p.days.iter().any(|x| x == d) })
        .collect();
    render(
        state,
        "my_preferences.html",
        merge(
            base(me, "/my/preferences", "Your preferences"),
            context! { kinds => kinds, days => days, conflicts => p.conflicts.join("\n"), saved => saved, errors => errors },
        ),
    )
}

async fn my_preferences_save(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    me.check_csrf(posted(&form, "csrf_token"))?;
    let wanted = engagement::Preferences {
        partner_id: String::new(),
        kinds: posted_all(&form, "kinds"),
        days: posted_all(&form, "days"),
        conflicts: value(&form, "conflicts")
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        updated_at: String::new(),
    };
    let result = state
        .clients
        .engagement()
        .set_preferences(state.clients.request(&me.caller, wanted.clone()))
        .await
        .map(|_| ());
    after(result, "/my/preferences?notice=saved".into(), |err| {
        preferences_page(&state, &me, &wanted, false, errors_map(err))
    })
}

// ---- forums ----

async fn forums(State(state): State<AppState>, me: SignedIn) -> Result<Html<String>, AppError> {
    forums_page(&state, &me, Value::from(()), BTreeMap::new()).await
}

async fn forums_page(
    state: &AppState,
    me: &SignedIn,
    typed: Value,
    errors: BTreeMap<String, String>,
) -> Result<Html<String>, AppError> {
    me.require(ORGANISERS)?;
    let listed = state
        .clients
        .engagement()
        .list_forums(
            state
                .clients
                .request(&me.caller, engagement::ListForumsRequest {}),
        )
        .await?
        .into_inner();
    let rows: Vec<Value> = listed
        .forums
        .iter()
        .map(|f| context! { id => f.id, name => f.name, pathway => f.pathway, members => f.members, next => f.next_meeting_on, open_actions => f.open_actions })
        .collect();
    render(
        state,
        "forums.html",
        merge(
            base(me, "/forums", "Forums"),
            context! { forums => rows, is_lead => me.has_role(LEADS), typed => typed, errors => errors },
        ),
    )
}

async fn forum_create(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    me.check_csrf(posted(&form, "csrf_token"))?;
    let created = state
        .clients
        .engagement()
        .create_forum(state.clients.request(
            &me.caller,
            engagement::CreateForumRequest {
                name: value(&form, "name"),
                pathway: value(&form, "pathway"),
                description: value(&form, "description"),
            },
        ))
        .await;
    match created.map_err(AppError::from) {
        Ok(f) => Ok(Redirect::to(&format!("/forums/{}", f.into_inner().id)).into_response()),
        Err(err @ AppError::Invalid(_)) => {
            let typed = context! { name => value(&form, "name"), pathway => value(&form, "pathway"), description => value(&form, "description") };
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                forums_page(&state, &me, typed, errors_map(&err)).await?,
            )
                .into_response())
        }
        Err(err) => Err(err),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ForumQuery {
    notice: String,
}

async fn forum(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<ForumQuery>,
) -> Result<Html<String>, AppError> {
    forum_page(&state, &me, &id, &q.notice, None).await
}

async fn forum_page(
    state: &AppState,
    me: &SignedIn,
    id: &str,
    notice: &str,
    err: Option<&AppError>,
) -> Result<Html<String>, AppError> {
    me.require(ORGANISERS)?;
    let found = state
        .clients
        .engagement()
        .get_forum(
            state
                .clients
                .request(&me.caller, engagement::GetForumRequest { id: id.into() }),
        )
        .await?
        .into_inner();
    let partners = all_partners(state, me, "", "name").await?;
    let name_of = |pid: &str| {
        partners
            .iter()
            .find(|p| p.id == pid)
            .map(|p| format!("{} {}", p.given_name, p.family_name))
            .unwrap_or_else(|| "A former partner".to_string())
    };
    let members: Vec<Value> = found
        .members
        .iter()
        .map(|m| context! { id => m.partner_id, name => name_of(&m.partner_id), role => m.role, joined_on => m.joined_on })
        .collect();
    let options: Vec<(String, String)> = partners
        .iter()
        .filter(|p| p.status == "active" && !found.members.iter().any(|m| m.partner_id == p.id))
        .map(|p| (p.id.clone(), format!("{} {}", p.given_name, p.family_name)))
        .collect();
    let today = state.clock.today().to_string();
    let meetings: Vec<Value> = found
        .meetings
        .iter()
        .map(|m| context! { id => m.id, held_on => m.held_on, focus => m.focus, agenda => m.agenda, minutes => m.minutes, held => m.held_on <= today })
        .collect();
    let meeting_options: Vec<(String, String)> =
        std::iter::once((String::new(), "Not from a meeting".to_string()))
            .chain(
                found
                    .meetings
                    .iter()
                    .map(|m| (m.id.clone(), format!("Meeting on {}", m.held_on))),
            )
            .collect();
    let actions: Vec<Value> = found
        .actions
        .iter()
        .map(|a| context! { id => a.id, action => a.action, owner => a.owner, due_on => a.due_on, status => a.status, done_on => a.done_on, overdue => a.status == "open" && a.due_on < today })
        .collect();
    let forum = found.forum.unwrap_or_default();
    let notice = match notice {
        "member" => Some("Members updated."),
        "meeting" => Some("Meeting saved."),
        "action" => Some("Action saved."),
        _ => None,
    };
    render(
        state,
        "forum.html",
        merge(
            base(me, "/forums", &forum.name),
            context! {
                forum => context! { id => forum.id, name => forum.name, pathway => forum.pathway, description => forum.description },
                members => members, partner_options => options, meetings => meetings, actions => actions,
                meeting_options => meeting_options, is_lead => me.has_role(LEADS), notice => notice,
                errors => err.map(errors_map).unwrap_or_default(),
            },
        ),
    )
}

async fn forum_member(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    me.check_csrf(posted(&form, "csrf_token"))?;
    let result = state
        .clients
        .engagement()
        .set_forum_member(state.clients.request(
            &me.caller,
            engagement::SetForumMemberRequest {
                forum_id: id.clone(),
                partner_id: value(&form, "partner_id"),
                role: value(&form, "role"),
            },
        ))
        .await
        .map(|_| ());
    let again = forum_error_page(&state, &me, &id, result, str::to_string).await?;
    Ok(again
        .unwrap_or_else(|| Redirect::to(&format!("/forums/{id}?notice=member")).into_response()))
}

/// The forum's page again with the refusal, or None when it went through.
async fn forum_error_page(
    state: &AppState,
    me: &SignedIn,
    id: &str,
    result: Result<(), tonic::Status>,
    rename: impl Fn(&str) -> String,
) -> Result<Option<Response>, AppError> {
    match result.map_err(|s| AppError::from(s).with_fields(rename)) {
        Ok(()) => Ok(None),
        Err(err @ AppError::Invalid(_)) => Ok(Some(
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                forum_page(state, me, id, "", Some(&err)).await?,
            )
                .into_response(),
        )),
        Err(err) => Err(err),
    }
}

async fn forum_meeting(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    me.check_csrf(posted(&form, "csrf_token"))?;
    let meeting_id = value(&form, "meeting_id");
    let result = state
        .clients
        .engagement()
        .save_forum_meeting(state.clients.request(
            &me.caller,
            engagement::SaveForumMeetingRequest {
                id: meeting_id.clone(),
                forum_id: id.clone(),
                held_on: value(&form, "held_on"),
                focus: value(&form, "focus"),
                agenda: value(&form, "agenda"),
                minutes: if meeting_id.is_empty() {
                    value(&form, "minutes")
                } else {
                    value(&form, &format!("minutes-{meeting_id}"))
                },
                opportunity_id: String::new(),
            },
        ))
        .await
        .map(|_| ());
    // Minutes are written on each meeting's own form: its fields carry the meeting's id.
    let again = forum_error_page(&state, &me, &id, result, |f| {
        if meeting_id.is_empty() {
            f.to_string()
        } else {
            format!("{f}-{meeting_id}")
        }
    })
    .await?;
    Ok(again
        .unwrap_or_else(|| Redirect::to(&format!("/forums/{id}?notice=meeting")).into_response()))
}

async fn forum_action(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    me.check_csrf(posted(&form, "csrf_token"))?;
    let result = state
        .clients
        .engagement()
        .save_forum_action(state.clients.request(
            &me.caller,
            engagement::SaveForumActionRequest {
                id: value(&form, "action_id"),
                forum_id: id.clone(),
                meeting_id: value(&form, "meeting_id"),
                action: value(&form, "action"),
                owner: value(&form, "owner"),
                due_on: value(&form, "due_on"),
                status: value(&form, "status"),
            },
        ))
        .await
        .map(|_| ());
    let again = forum_error_page(&state, &me, &id, result, str::to_string).await?;
    Ok(again
        .unwrap_or_else(|| Redirect::to(&format!("/forums/{id}?notice=action")).into_response()))
}

// ---- the involvement report ----

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct ReportQuery {
    from: String,
    to: String,
}

/// The period asked for, or the last twelve months to today.
fn report_period(q: &ReportQuery, today: time::Date) -> (String, String) {
    let today = today.to_string();
    let to = if q.to.trim().is_empty() {
        today.clone()
    } else {
        q.to.trim().to_string()
    };
    let from = if q.from.trim().is_empty() {
        // On 29 February a year back is 28 February: the twelve months start on 1 March.
        alongside_platform::parse_date(&today)
            .and_then(|d| {
                d.replace_year(d.year() - 1)
                    .or_else(|_| (d - time::Duration::days(1)).replace_year(d.year() - 1))
                    .ok()
            })
            .map(|d| (d + time::Duration::days(1)).to_string())
            .unwrap_or_default()
    } else {
        q.from.trim().to_string()
    };
    (from, to)
}

/// Each trust's report: the caller's own, or every member trust's for an ICS analyst, with
/// the ICS's (each figure the sum of the trusts', hidden when any of theirs is), asked of
/// engagement at once so that it protects them together.
async fn reports(state: &AppState, me: &SignedIn, q: &ReportQuery) -> Result<Reports, AppError> {
    me.require(INVOLVEMENT_REPORT_READERS)?;
    let (from, to) = report_period(q, state.clock.today());
    let own = me.caller.tenant.as_str().to_string();
    let members = crate::store::tenant::members(&state.db, &own).await?;
    if !members.is_empty() && me.caller.role != Role::IcsAnalyst {
        return Err(AppError::Forbidden);
    }
    let report = state
        .clients
        .engagement()
        .engagement_report(state.clients.request(
            &me.caller,
            engagement::EngagementReportRequest {
                from,
                to,
                trusts: members.iter().map(|(code, _)| code.clone()).collect(),
            },
        ))
        .await?
        .into_inner();
    if members.is_empty() {
        let name = crate::store::tenant::Entity::find_by_id(own.clone())
            .one(&state.db)
            .await?
            .map(|t| t.name)
            .unwrap_or_else(|| own.clone());
        return Ok(Reports {
            trusts: vec![(own, name, report)],
            ics: None,
        });
    }
    let names: std::collections::BTreeMap<String, String> = members.into_iter().collect();
    let mut ics = report;
    let trusts = std::mem::take(&mut ics.trusts)
        .into_iter()
        .map(|t| {
            let name = names.get(&t.trust).cloned().unwrap_or_default();
            (t.trust, name, t.report.unwrap_or_default())
        })
        .collect();
    Ok(Reports {
        trusts,
        ics: Some(ics),
    })
}

/// What the involvement report shows: (code, name, report) of each trust, and the ICS's.
struct Reports {
    trusts: Vec<(String, String, engagement::EngagementReportResponse)>,
    ics: Option<engagement::EngagementReportResponse>,
}

fn hours(minutes: u32) -> String {
    format!("{:.1}", minutes as f64 / 60.0)
}

fn report_value(code: &str, name: &str, r: &engagement::EngagementReportResponse) -> Value {
    let rows = |rows: &[engagement::HoursRow], label: &dyn Fn(&str) -> String| -> Vec<Value> {
        rows.iter()
            .map(|h| context! { key => label(&h.key), hidden => h.hidden, sessions => h.sessions, hours => hours(h.minutes), partners => h.partners })
            .collect()
    };
    let kind = |k: &str| {
        KINDS
            .iter()
            .find(|(x, _)| *x == k)
            .map_or(k.to_string(), |(_, l)| l.to_string())
    };
    let pathway = |p: &str| {
        if p.is_empty() {
            "Not given or not listed".to_string()
        } else {
            p.to_string()
        }
    };
    // What engagement hides from readers of figures is said as hidden, never as a zero.
    let or_hidden = |hidden: bool, n: String| if hidden { "hidden".to_string() } else { n };
    context! {
        code => code, name => name,
        sessions => or_hidden(r.total_hidden, r.sessions.to_string()), hours => or_hidden(r.total_hidden, hours(r.minutes)),
        partners => or_hidden(r.total_hidden, r.partners.to_string()), total_hidden => r.total_hidden,
        any => r.total_hidden || r.sessions > 0,
        paid_sessions => or_hidden(r.paid_hidden, r.paid_sessions.to_string()),
        expenses_only_sessions => or_hidden(r.expenses_only_hidden, r.expenses_only_sessions.to_string()),
        paid_partners => or_hidden(r.paid_hidden, r.paid_partners.to_string()), fairness_hidden => r.fairness_hidden,
        top_fifth_share => format!("{:.0}%", r.top_fifth_share),
        most_paid_sessions => (!r.paid_sessions_histogram.is_empty()).then_some(r.most_paid_sessions), gini => format!("{:.2}", r.gini),
        histogram => r.paid_sessions_histogram,
        apologies => or_hidden(r.apologies_hidden, r.apologies.to_string()), no_shows => or_hidden(r.no_shows_hidden, r.no_shows.to_string()),
        by_kind => rows(&r.by_kind, &kind), by_pathway => rows(&r.by_pathway, &pathway),
        unfilled => r.unfilled.iter().map(|u| context! { id => u.id, title => u.title, starts_on => u.starts_on, places => u.places, filled => if u.filled_hidden { "hidden".to_string() } else { u.filled.to_string() } }).collect::<Vec<_>>(),
    }
}

async fn report(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ReportQuery>,
) -> Result<Html<String>, AppError> {
    let reports = reports(&state, &me, &q).await?;
    let (from, to) = report_period(&q, state.clock.today());
    let ics = reports.ics.is_some();
    // The ICS in total, as engagement sums it.
    let total = reports
        .ics
        .as_ref()
        .map(|r| report_value("", "All trusts", r));
    let trusts = &reports.trusts;
    // Readers of figures are answered in whole months.
    let (from, to) = reports
        .trusts
        .first()
        .map_or((from, to), |(_, _, r)| (r.from.clone(), r.to.clone()));
    render(
        &state,
        "engagement_report.html",
        merge(
            base(&me, "/engagement/report", "Involvement report"),
            context! {
                trusts => trusts.iter().map(|(c, n, r)| report_value(c, n, r)).collect::<Vec<_>>(),
                total => total, ics => ics, from => from, to => to,
                protected => ics || me.caller.role.reads_figures_only(),
                csv => format!("/engagement/report.csv?from={from}&to={to}"),
            },
        ),
    )
}

async fn report_csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ReportQuery>,
) -> Result<Response, AppError> {
    let reports = reports(&state, &me, &q).await?;
    let ics = reports.ics.as_ref().map(|r| {
        (
            me.caller.tenant.to_string(),
            "All trusts".to_string(),
            r.clone(),
        )
    });
    let mut rows = Vec::new();
    for (code, name, r) in reports.trusts.iter().chain(ics.as_ref()) {
        let mut push = |section: &str, key: &str, h: &engagement::HoursRow| {
            rows.push(vec![
                code.clone(),
                name.clone(),
                r.from.clone(),
                r.to.clone(),
                section.to_string(),
                key.to_string(),
                if h.hidden {
                    String::new()
                } else {
                    h.sessions.to_string()
                },
                if h.hidden {
                    String::new()
                } else {
                    hours(h.minutes)
                },
                if h.hidden {
                    String::new()
                } else {
                    h.partners.to_string()
                },
                if h.hidden {
                    "hidden".to_string()
                } else {
                    String::new()
                },
            ]);
        };
        push(
            "total",
            "",
            &engagement::HoursRow {
                key: String::new(),
                sessions: r.sessions,
                minutes: r.minutes,
                partners: r.partners,
                hidden: r.total_hidden,
            },
        );
        for h in &r.by_kind {
            push("kind", &h.key, h);
        }
        for h in &r.by_pathway {
            push("pathway", &h.key, h);
        }
    }
    csv_response(
        "involvement-report.csv",
        &[
            "trust",
            "trust_name",
            "from",
            "to",
            "by",
            "key",
            "sessions",
            "hours",
            "partners",
            "note",
        ],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_report_period_is_the_twelve_months_to_today_leap_day_too() {
        let period = |today: time::Date| report_period(&ReportQuery::default(), today);
        use time::macros::date;
        assert_eq!(
            period(date!(2026 - 12 - 07)),
            ("2025-12-08".to_string(), "2026-12-07".to_string())
        );
        assert_eq!(
            period(date!(2028 - 02 - 29)),
            ("2027-03-01".to_string(), "2028-02-29".to_string())
        );
    }

    #[test]
    fn the_calendar_holds_each_accepted_session_in_uk_time() {
        let session = |id: &str, on: &str| engagement::Session {
            id: id.into(),
            number: 1,
            on: on.into(),
            start_time: "14:30".into(),
            minutes: 90,
        };
        let mine = |status: &str| engagement::MyAssignment {
            assignment: Some(engagement::Assignment {
                id: format!("asg_{status}"),
                status: status.into(),
                ..Default::default()
            }),
            opportunity: Some(engagement::Opportunity {
                title: "Pain forum; winter, review".into(),
                description: "Two lines\nof it".into(),
                sessions: vec![
                    session("ses_1", "2027-01-05"),
                    session("ses_2", "2027-01-12"),
                ],
                ..Default::default()
            }),
        };
        let ics = calendar(&[mine("accepted"), mine("offered")], "20261201T120000Z");
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2, "{ics}");
        assert!(
            ics.contains("DTSTART;TZID=Europe/London:20270105T143000\r\n"),
            "{ics}"
        );
        assert!(
            ics.contains("DTEND;TZID=Europe/London:20270105T160000\r\n"),
            "{ics}"
        );
        assert!(
            ics.contains("SUMMARY:Pain forum\\; winter\\, review\r\n"),
            "{ics}"
        );
        assert!(ics.contains("DESCRIPTION:Two lines\\nof it\r\n"), "{ics}");
        assert!(ics.lines().all(|l| !l.contains('\n')));
        assert!(!ics.contains("asg_offered"));
    }
}
