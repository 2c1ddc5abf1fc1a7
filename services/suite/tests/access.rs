//! Every role against every route of the gateway, over the demo data: each API operation of the
//! OpenAPI document and each page of the navigation, signed in as each of the seven roles and
//! signed out. Nothing answers a server error; nothing answers without a session; no change is
//! taken without the session's CSRF token; a page is open to exactly the roles whose
//! navigation lists it; and case notes and personal data stay with the roles that may read
//! them (administrators never read comments, complaints or claims; analysts nor partners one by
//! one); and every operation, reading or changing, is open to exactly the roles written down
//! for it.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

const ROLES: [(&str, &str); 7] = [
    ("engagement_lead", "lead@rza.demo.test"),
    ("staff", "staff@rza.demo.test"),
    ("finance", "finance@rza.demo.test"),
    ("analyst", "analyst@rza.demo.test"),
    ("admin", "admin@rza.demo.test"),
    ("partner", "partner@rza.demo.test"),
    ("ics_analyst", "ics.analyst@qzx.demo.test"),
];

const LEAD: &str = "engagement_lead";
const STAFF: &str = "staff";
const FINANCE: &str = "finance";
const ANALYST: &str = "analyst";
const ADMIN: &str = "admin";
const PARTNER: &str = "partner";
const ICS: &str = "ics_analyst";

/// Who may read what, operation by operation. Administrators manage users, tenants and reference
/// data: never case notes, comments, complaints, claims or what a partner is paid. Analysts read
/// protected figures, never people one by one.
const READERS: &[(&str, &[&str])] = &[
    ("/api/v1/benefit-warnings", &[LEAD, FINANCE, PARTNER]),
    ("/api/v1/claims", &[LEAD, STAFF, FINANCE, PARTNER]),
    ("/api/v1/claims/{id}", &[LEAD, STAFF, FINANCE, PARTNER]),
    ("/api/v1/complaints", &[LEAD, STAFF]),
    (
        "/api/v1/complaints/learning-report",
        &[LEAD, STAFF, ANALYST, ADMIN, ICS],
    ),
    ("/api/v1/complaints/{id}", &[LEAD, STAFF]),
    ("/api/v1/dashboard", &[LEAD, ANALYST, ADMIN, ICS]),
    ("/api/v1/feedback/comments", &[LEAD, STAFF]),
    ("/api/v1/feedback/comments/{id}", &[LEAD, STAFF]),
    // The trust's own FFT publication, as NHS England publishes it: open to all of the trust.
    (
        "/api/v1/feedback/fft-breakdown",
        &[LEAD, STAFF, FINANCE, ANALYST, ADMIN, PARTNER, ICS],
    ),
    (
        "/api/v1/feedback/fft-chart",
        &[LEAD, STAFF, ANALYST, ADMIN, ICS],
    ),
    (
        "/api/v1/feedback/fft-summary",
        &[LEAD, STAFF, ANALYST, ADMIN, ICS],
    ),
    (
        "/api/v1/feedback/prom-summary",
        &[LEAD, STAFF, ANALYST, ADMIN, ICS],
    ),
    ("/api/v1/feedback/survey", &[LEAD, STAFF, ANALYST, ADMIN]),
    (
        "/api/v1/feedback/survey-results",
        &[LEAD, STAFF, ANALYST, ADMIN, ICS],
    ),
    (
        "/api/v1/feedback/theme-model",
        &[LEAD, STAFF, ANALYST, ADMIN],
    ),
    (
        "/api/v1/feedback/theme-summary",
        &[LEAD, STAFF, ANALYST, ADMIN, ICS],
    ),
    ("/api/v1/ledger/check", &[FINANCE, ADMIN]),
    ("/api/v1/opportunities", &[LEAD, STAFF, ADMIN]),
    (
        "/api/v1/opportunities/{id}/assignments",
        &[LEAD, STAFF, ADMIN],
    ),
    ("/api/v1/partners", &[LEAD, STAFF, ADMIN]),
    ("/api/v1/partners/{id}", &[LEAD, STAFF, ADMIN]),
    ("/api/v1/partners/{id}/bank-details", &[FINANCE]),
    ("/api/v1/partners/{id}/export", &[LEAD, ADMIN, PARTNER]),
    ("/api/v1/partners/{id}/history", &[LEAD, STAFF, ADMIN]),
    ("/api/v1/partners/{id}/payments", &[LEAD, FINANCE, PARTNER]),
    (
        "/api/v1/partners/{id}/profile",
        &[LEAD, STAFF, FINANCE, ADMIN, PARTNER],
    ),
    ("/api/v1/partners/{id}/roles", &[LEAD, STAFF, ADMIN]),
    (
        "/api/v1/partners/{id}/statements/{year}",
        &[FINANCE, PARTNER],
    ),
    ("/api/v1/payment-controls", &[FINANCE, ADMIN]),
    ("/api/v1/payment-runs", &[FINANCE]),
    ("/api/v1/payment-runs/{id}", &[FINANCE]),
    ("/api/v1/payment-runs/{id}/payment-file", &[FINANCE]),
    ("/api/v1/places", &[LEAD, STAFF, ANALYST, ADMIN]),
    ("/api/v1/places/held", &[LEAD, ADMIN]),
    ("/api/v1/places/history", &[LEAD, STAFF, ANALYST, ADMIN]),
    (
        "/api/v1/rate-cards",
        &[LEAD, STAFF, FINANCE, ANALYST, ADMIN, PARTNER, ICS],
    ),
    ("/api/v1/spend", &[LEAD, FINANCE, ANALYST, ADMIN, ICS]),
    ("/api/v1/training/expiring", &[LEAD, STAFF, ADMIN]),
];

/// Who may change what, operation by operation (the session's own operations aside). Checked
/// as the readers are: sent with the session's CSRF token and an empty body, each role written
/// down is let in (answers anything but 403: the body is then refused by field, or the record
/// is not found), every other role refused. Administrators keep users, tenants and reference
/// data; finance alone keeps bank details and pays; analysts change nothing but their own
/// sharing links.
const WRITERS: &[(&str, &str, &[&str])] = &[
    (
        "POST",
        "/api/v1/assignments/{id}/attendance",
        &[LEAD, STAFF, ADMIN],
    ),
    (
        "POST",
        "/api/v1/attendances/{id}/correction",
        &[LEAD, STAFF, ADMIN],
    ),
    ("POST", "/api/v1/claims/decisions", &[FINANCE]),
    ("POST", "/api/v1/complaints", &[LEAD, STAFF]),
    ("PUT", "/api/v1/complaints/{id}", &[LEAD, STAFF]),
    (
        "POST",
        "/api/v1/expense-claims",
        &[LEAD, STAFF, FINANCE, PARTNER],
    ),
    (
        "POST",
        "/api/v1/feedback/comments/{id}/correction",
        &[LEAD, STAFF],
    ),
    // Survey exports are loaded by whoever keeps the data: staff, leads, analysts, admins.
    (
        "POST",
        "/api/v1/feedback/fft-responses",
        &[LEAD, STAFF, ANALYST, ADMIN],
    ),
    (
        "POST",
        "/api/v1/feedback/prom-responses",
        &[LEAD, STAFF, ANALYST, ADMIN],
    ),
    ("PUT", "/api/v1/feedback/survey", &[LEAD, ADMIN]),
    (
        "POST",
        "/api/v1/feedback/theme-model/retraining",
        &[LEAD, ADMIN],
    ),
    ("POST", "/api/v1/opportunities", &[LEAD, ADMIN]),
    (
        "POST",
        "/api/v1/opportunities/{id}/assignments",
        &[LEAD, ADMIN],
    ),
    ("POST", "/api/v1/partners", &[LEAD, ADMIN]),
    // Bank details: finance, or the partner their own; never a lead or an administrator.
    (
        "PUT",
        "/api/v1/partners/{id}/bank-details",
        &[FINANCE, PARTNER],
    ),
    ("POST", "/api/v1/partners/{id}/erase", &[LEAD, ADMIN]),
    (
        "PUT",
        "/api/v1/partners/{id}/profile",
        &[LEAD, ADMIN, PARTNER],
    ),
    ("POST", "/api/v1/partners/{id}/roles", &[LEAD, ADMIN]),
    (
        "DELETE",
        "/api/v1/partners/{id}/roles/{role}",
        &[LEAD, ADMIN],
    ),
    ("POST", "/api/v1/partners/{id}/status", &[LEAD, ADMIN]),
    ("POST", "/api/v1/partners/{id}/training", &[LEAD, ADMIN]),
    // The money controls bind finance, so finance does not set them.
    ("PUT", "/api/v1/payment-controls", &[ADMIN]),
    ("POST", "/api/v1/payment-runs", &[FINANCE]),
    ("POST", "/api/v1/payment-runs/{id}/cancel", &[FINANCE]),
    ("POST", "/api/v1/payment-runs/{id}/confirm", &[FINANCE]),
    ("POST", "/api/v1/places", &[ADMIN]),
    ("POST", "/api/v1/places/held/map", &[ADMIN]),
    ("POST", "/api/v1/places/{kind}/{code}/merge", &[ADMIN]),
    ("POST", "/api/v1/places/{kind}/{code}/restore", &[ADMIN]),
    ("POST", "/api/v1/places/{kind}/{code}/retire", &[ADMIN]),
    ("POST", "/api/v1/rate-cards", &[FINANCE, ADMIN]),
];

/// Whether `role`'s answer `status` on `path` goes against the roles written down for it: one
/// of them refused (403), or another let in (anything but 403, or 404 for a record a role may
/// not know of).
fn answered_against(roles: &[&str], role: &str, status: u16, path: &str) -> bool {
    if roles.contains(&role) {
        status == 403
    } else {
        !(status == 403 || (status == 404 && path.contains('{')))
    }
}

/// A client signed in as `email`, and its session's CSRF token.
async fn sign_in(base: &str, email: &str) -> (reqwest::Client, String) {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({ "email": email, "password": "alongside-demo" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{email} signs in");
    let body: Value = response.json().await.unwrap();
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    (http, csrf)
}

/// An operation's path with each parameter given a value no record has.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|part| {
            if part.starts_with('{') {
                match part {
                    "{kind}" => "site".to_string(),
                    "{role}" => "peer_leader".to_string(),
                    "{year}" => "2026".to_string(),
                    _ => "zz_0000000000000000000000000000000".to_string(),
                }
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A body of the shape an operation's OpenAPI schema describes (every property present, each
/// of its type, the first of an enumeration), so that what answers is the role check and the
/// service's own validation, not the JSON decoder.
fn shaped(doc: &Value, schema: &Value, depth: usize) -> Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return shaped(doc, &doc["components"]["schemas"][name], depth);
    }
    for choice in ["oneOf", "anyOf", "allOf"] {
        if let Some(first) = schema[choice]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["type"] != "null").or_else(|| a.first()))
        {
            return shaped(doc, first, depth);
        }
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    let kind = match &schema["type"] {
        Value::Array(types) => types
            .iter()
            .find(|t| *t != "null")
            .cloned()
            .unwrap_or(Value::Null),
        other => other.clone(),
    };
    match kind.as_str().unwrap_or("object") {
        "string" if schema["format"] == "date" => Value::from("2026-01-05"),
        "string" => Value::from("x"),
        "integer" | "number" => Value::from(1),
        "boolean" => Value::from(false),
        "array" => Value::Array(Vec::new()),
        _ if depth > 4 => serde_json::json!({}),
        _ => Value::Object(
            schema["properties"]
                .as_object()
                .map(|properties| {
                    properties
                        .iter()
                        .map(|(name, p)| (name.clone(), shaped(doc, p, depth + 1)))
                        .collect()
                })
                .unwrap_or_default(),
        ),
    }
}

/// The links of the main navigation of a page.
fn nav_links(html: &str) -> BTreeSet<String> {
    let Some(start) = html.find("aria-label=\"Main\"") else {
        return BTreeSet::new();
    };
    let end = html[start..]
        .find("</nav>")
        .map_or(html.len(), |e| start + e);
    html[start..end]
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        // The templates escape "/" in attributes.
        .map(|href| href.replace("&#x2f;", "/"))
        .filter(|href| href.starts_with('/'))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_meets_every_route_as_its_access_says() {
    let data = tempfile::tempdir().unwrap();
    let suite = common::demo_suite(data.path()).await;
    let base = suite.url();
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let doc = common::get_json(&anonymous, &format!("{base}/api/v1/openapi.json")).await;
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.push((method.to_uppercase(), path.clone()));
        }
    }
    assert!(operations.len() > 60, "{} operations", operations.len());
    let mut problems = Vec::new();
    let send_with = |http: &reqwest::Client, method: &str, path: &str, csrf: Option<&str>| {
        let url = format!("{base}{}", concrete(path));
        let request = match method {
            "GET" => http.get(url),
            "POST" => http.post(url),
            "PUT" => http.put(url),
            "DELETE" => http.delete(url),
            other => panic!("a method the test does not send: {other}"),
        };
        // Without the token, an empty body; with it, one of the operation's shape.
        let body = doc["paths"][path][method.to_lowercase()]["requestBody"]["content"]
            ["application/json"]["schema"]
            .clone();
        let request = match (csrf, body.is_null()) {
            (Some(token), false) => request
                .header("x-csrf-token", token)
                .json(&shaped(&doc, &body, 0)),
            (Some(token), true) => request.header("x-csrf-token", token),
            (None, _) if method == "GET" || method == "DELETE" => request,
            (None, _) => request.json(&serde_json::json!({})),
        };
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let send =
        |http: &reqwest::Client, method: &str, path: &str| send_with(http, method, path, None);

    // Signed out: only signing in (and the document itself) answers without a session.
    for (method, path) in &operations {
        if path == "/api/v1/session" || path == "/api/v1/openapi.json" {
            continue;
        }
        let status = send(&anonymous, method, path).await;
        if status != 401 {
            problems.push(format!(
                "signed out: {method} {path} answered {status}, not 401"
            ));
        }
    }

    let mut sessions = Vec::new();
    let mut tokens = BTreeMap::new();
    for (role, email) in ROLES {
        let (http, csrf) = sign_in(&base, email).await;
        sessions.push((role, http));
        tokens.insert(role, csrf);
    }
    // A page each role's navigation lists, and the pages of all of them.
    let mut navs: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (role, http) in &sessions {
        let home = http.get(format!("{base}/")).send().await.unwrap();
        assert_eq!(home.status(), 200, "{role}'s home page");
        navs.insert(role, nav_links(&home.text().await.unwrap()));
    }
    let every_page: BTreeSet<&String> = navs.values().flatten().collect();
    assert!(every_page.len() > 15, "{every_page:?}");
    for (role, http) in &sessions {
        for page in &every_page {
            let status = send(http, "GET", page).await;
            let listed = navs[role].contains(*page);
            // A partner's own pages send them on to their record (303).
            let expected = if listed {
                status == 200 || status == 303
            } else {
                status == 403
            };
            if !expected {
                problems.push(format!(
                    "{role}: page {page} answered {status}; its navigation {} it",
                    if listed { "lists" } else { "does not list" }
                ));
            }
        }
        for (method, path) in &operations {
            let status = send(http, method, path).await;
            if status >= 500 {
                problems.push(format!("{role}: {method} {path} answered {status}"));
            }
            // No change without the session's CSRF token (signing in needs none): refused as
            // such, or before for a body that is not one.
            if method != "GET" && path != "/api/v1/session" && !matches!(status, 403 | 422) {
                problems.push(format!(
                    "{role}: {method} {path} without the CSRF token answered {status}"
                ));
            }
        }
    }

    // Every reading operation against the roles written down for it: each of them is let in
    // (answers anything but 403), every other role refused (403, or 404 for a record they may
    // not know of).
    let written: BTreeMap<&str, &[&str]> = READERS.iter().copied().collect();
    for (method, path) in operations.iter().filter(|(m, _)| m == "GET") {
        if path == "/api/v1/openapi.json" || path == "/api/v1/session" {
            continue;
        }
        let Some(roles) = written.get(path.as_str()) else {
            problems.push(format!("GET {path} has no roles written down in READERS"));
            continue;
        };
        for (role, http) in &sessions {
            let status = send(http, method, path).await;
            // A record no one has is not found for those let in, and may be for the others.
            if answered_against(roles, role, status, path) {
                problems.push(format!(
                    "{role}: GET {path} answered {status}; its roles are {roles:?}"
                ));
            }
        }
    }
    for path in written.keys() {
        if !operations.iter().any(|(m, p)| m == "GET" && p == path) {
            problems.push(format!("READERS lists {path}, which the document does not"));
        }
    }

    // Every changing operation against the roles written down for it, with the CSRF token.
    let writers: BTreeMap<(&str, &str), &[&str]> =
        WRITERS.iter().map(|(m, p, r)| ((*m, *p), *r)).collect();
    for (method, path) in operations.iter().filter(|(m, _)| m != "GET") {
        if path == "/api/v1/session" {
            continue;
        }
        let mut let_in = Vec::new();
        let mut statuses = Vec::new();
        for (role, http) in &sessions {
            let status = send_with(http, method, path, Some(&tokens[role])).await;
            if status != 403 {
                let_in.push((*role, status));
            }
            statuses.push((*role, status));
        }
        let Some(roles) = writers.get(&(method.as_str(), path.as_str())) else {
            problems.push(format!(
                "{method} {path} has no roles written down in WRITERS; not refused: {let_in:?}"
            ));
            continue;
        };
        for (role, status) in statuses {
            if answered_against(roles, role, status, path) {
                problems.push(format!(
                    "{role}: {method} {path} answered {status}; its roles are {roles:?}"
                ));
            }
        }
    }
    for (method, path) in writers.keys() {
        if !operations.iter().any(|(m, p)| m == method && p == path) {
            problems.push(format!(
                "WRITERS lists {method} {path}, which the document does not"
            ));
        }
    }

    // Case notes one by one never reach administrators or analysts; nor personal data analysts.
    let personal = [
        "/api/v1/feedback/comments",
        "/api/v1/complaints",
        "/api/v1/claims",
        "/api/v1/partners",
    ];
    for (role, http) in &sessions {
        let paths = match *role {
            "analyst" | "ics_analyst" => &personal[..],
            "admin" => &personal[..3],
            _ => continue,
        };
        for path in paths {
            let status = send(http, "GET", path).await;
            if status == 200 {
                problems.push(format!("{role}: GET {path} answered 200"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Who may send each form of the pages, by path (the gateway's own routes, not the JSON API's).
/// Sent with the session's CSRF token and nothing else, each role written down is let in
/// (answers anything but 403: the form is then refused by field, or the record not found), every
/// other role refused.
const FORMS: &[(&str, &[&str])] = &[
    ("/admin/places", &[ADMIN]),
    ("/admin/places/import", &[ADMIN]),
    ("/admin/places/import/confirm", &[ADMIN]),
    ("/admin/places/map", &[ADMIN]),
    ("/admin/places/merge", &[ADMIN]),
    ("/admin/places/retire", &[ADMIN]),
    ("/claims/decide", &[FINANCE]),
    ("/claims/new", &[LEAD, STAFF, FINANCE, PARTNER]),
    ("/claims/{id}/decision", &[FINANCE]),
    ("/complaints", &[LEAD, STAFF]),
    ("/complaints/{id}", &[LEAD, STAFF]),
    ("/feedback/comments/{id}", &[LEAD, STAFF]),
    ("/feedback/links", &[LEAD, STAFF, ANALYST, ADMIN]),
    ("/feedback/responses", &[LEAD, STAFF, ANALYST, ADMIN]),
    ("/feedback/survey", &[LEAD, ADMIN]),
    ("/feedback/themes/model", &[LEAD, ADMIN]),
    ("/forums", &[LEAD, ADMIN]),
    ("/forums/{id}/actions", &[LEAD, STAFF, ADMIN]),
    ("/forums/{id}/meetings", &[LEAD, STAFF, ADMIN]),
    ("/forums/{id}/members", &[LEAD, ADMIN]),
    ("/impact", &[LEAD, STAFF, ADMIN]),
    ("/my-equality", &[PARTNER]),
    ("/my-equality/consent", &[PARTNER]),
    ("/my/opportunities", &[PARTNER]),
    ("/my/preferences", &[LEAD, ADMIN, PARTNER]),
    ("/my/sessions", &[PARTNER]),
    ("/opportunities/new", &[LEAD, ADMIN]),
    ("/opportunities/{id}/assign", &[LEAD, ADMIN]),
    ("/opportunities/{id}/attendance", &[LEAD, STAFF, ADMIN]),
    ("/opportunities/{id}/corrections", &[LEAD, STAFF, ADMIN]),
    ("/opportunities/{id}/status", &[LEAD, ADMIN]),
    ("/partners/new", &[LEAD, ADMIN]),
    ("/partners/representation/population", &[LEAD, ADMIN]),
    ("/partners/shared/{id}/add", &[LEAD]),
    // Bank details: finance, or the partner their own; never a lead or an administrator.
    ("/partners/{id}/bank-details", &[FINANCE, PARTNER]),
    ("/partners/{id}/consent", &[LEAD, ADMIN, PARTNER]),
    ("/partners/{id}/erase", &[LEAD, ADMIN]),
    ("/partners/{id}/invite", &[LEAD, ADMIN]),
    // Case notes: leads and the staff who support partners; never an administrator.
    ("/partners/{id}/notes", &[LEAD, STAFF]),
    ("/partners/{id}/profile", &[LEAD, ADMIN, PARTNER]),
    ("/partners/{id}/roles", &[LEAD, ADMIN]),
    ("/partners/{id}/status", &[LEAD, ADMIN]),
    ("/partners/{id}/supporter", &[LEAD]),
    ("/partners/{id}/training", &[LEAD, ADMIN]),
    ("/payments/benefits", &[FINANCE, ADMIN]),
    // The money controls bind finance, so finance does not set them.
    ("/payments/controls", &[ADMIN]),
    ("/payments/partners/{id}/route", &[FINANCE]),
    ("/payments/rate-cards", &[FINANCE, ADMIN]),
    ("/payments/runs", &[FINANCE]),
    ("/payments/runs/{id}/cancel", &[FINANCE]),
    ("/payments/runs/{id}/confirm", &[FINANCE]),
    ("/requests", &[LEAD, STAFF, ADMIN]),
    ("/requests/{id}/decline", &[LEAD, ADMIN]),
];

/// Forms anyone may send, signed in or not, and signing out.
const OPEN_FORMS: &[&str] = &[
    "/fft/{ods}",
    "/invite/{token}",
    "/join/{ods}",
    "/sign-in",
    "/sign-out",
];

/// Every path the gateway's source registers with `post(`, outside the JSON API: read from the
/// source, so a new form is not left out of [`FORMS`].
fn form_routes() -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../gateway/src");
    let mut files = vec![dir];
    let mut out = BTreeSet::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for (at, _) in source.match_indices(".route(") {
            // The call, to its closing parenthesis.
            let rest = &source[at + ".route(".len()..];
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            let call = &rest[..end];
            let Some(route) = call.split('"').nth(1) else {
                continue;
            };
            if call.contains("post(") && route.starts_with('/') && !route.starts_with("/api/") {
                out.insert(route.to_string());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_is_open_to_the_roles_written_down_for_it() {
    let routes = form_routes();
    assert!(routes.len() > 40, "{} form routes found", routes.len());
    let data = tempfile::tempdir().unwrap();
    let suite = common::demo_suite(data.path()).await;
    let base = suite.url();
    let mut sessions = Vec::new();
    for (role, email) in ROLES {
        sessions.push((role, sign_in(&base, email).await));
    }
    let written: BTreeMap<&str, &[&str]> = FORMS.iter().copied().collect();
    let mut problems = Vec::new();
    for route in routes.iter().filter(|r| !OPEN_FORMS.contains(&r.as_str())) {
        let mut not_refused = Vec::new();
        let mut statuses = Vec::new();
        for (role, (http, csrf)) in &sessions {
            let url = format!("{base}{}", concrete(route));
            let mut status = http
                .post(&url)
                .form(&[("csrf_token", csrf.as_str())])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            // A form with files is sent as multipart.
            if status == 400 {
                let form = reqwest::multipart::Form::new().text("csrf_token", csrf.clone());
                status = http
                    .post(&url)
                    .multipart(form)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16();
            }
            if status >= 500 {
                problems.push(format!("{role}: POST {route} answered {status}"));
            }
            if status != 403 {
                not_refused.push((*role, status));
            }
            statuses.push((*role, status));
        }
        let Some(roles) = written.get(route.as_str()) else {
            problems.push(format!(
                "POST {route} has no roles written down in FORMS; not refused: {not_refused:?}"
            ));
            continue;
        };
        for (role, status) in statuses {
            if answered_against(roles, role, status, route) {
                problems.push(format!(
                    "{role}: POST {route} answered {status}; its roles are {roles:?}"
                ));
            }
        }
    }
    for route in written.keys() {
        if !routes.contains(*route) {
            problems.push(format!("FORMS lists {route}, which the gateway does not"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
