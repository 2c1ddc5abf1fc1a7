//! Every role against every route of the gateway, over the demo data: each API operation of the
//! OpenAPI document and each page of the navigation, signed in as each of the seven roles and
//! signed out. Nothing answers a server error; nothing answers without a session; no change is
//! taken without the session's CSRF token; a page is open to exactly the roles whose
//! navigation lists it; and case notes and personal data stay with the roles that may read
//! them (administrators never read comments, complaints or claims; analysts nor partners one by
//! one); and every reading operation is open to exactly the roles written down for it.

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

async fn sign_in(base: &str, email: &str) -> reqwest::Client {
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
    http
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
    let doc: Value = anonymous
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.push((method.to_uppercase(), path.clone()));
        }
    }
    assert!(operations.len() > 60, "{} operations", operations.len());
    let mut problems = Vec::new();
    let send = |http: &reqwest::Client, method: &str, path: &str| {
        let url = format!("{base}{}", concrete(path));
        let request = match method {
            "GET" => http.get(url),
            "POST" => http.post(url).json(&serde_json::json!({})),
            "PUT" => http.put(url).json(&serde_json::json!({})),
            "DELETE" => http.delete(url),
            other => panic!("a method the test does not send: {other}"),
        };
        async move { request.send().await.unwrap().status().as_u16() }
    };

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
    for (role, email) in ROLES {
        sessions.push((role, sign_in(&base, email).await));
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
            let wrong = if roles.contains(role) {
                status == 403
            } else {
                !(status == 403 || (status == 404 && path.contains('{')))
            };
            if wrong {
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
