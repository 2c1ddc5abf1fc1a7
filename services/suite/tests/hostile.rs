//! Hostile values through the gateway's JSON API: dates far in the past or future, requests
//! wrong in every field, and the largest receipt the API accepts. Each is answered by field with
//! a 4xx, never a 5xx, and what is accepted can be read back whole.

mod common;

use base64::Engine;
use serde_json::{json, Value};

struct Client {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

impl Client {
    async fn sign_in(base: &str, email: &str) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let response = http
            .post(format!("{base}/api/v1/session"))
            .json(&json!({ "email": email, "password": "alongside-demo" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{email} signs in");
        let body: Value = response.json().await.unwrap();
        Self {
            http,
            base: base.to_string(),
            csrf: body["csrf_token"].as_str().unwrap().to_string(),
        }
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", &self.csrf)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// The fields a 4xx answer names.
fn fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_are_refused_by_field_and_what_is_accepted_reads_back_whole() {
    let data = tempfile::tempdir().unwrap();
    let suite = common::demo_suite(data.path()).await;
    let base = suite.url();
    let lead = Client::sign_in(&base, "lead@rza.demo.test").await;

    // Year 0 and year 9999, wherever a date goes in.
    for day in ["0000-01-01", "9999-12-31"] {
        let (status, body) = lead
            .post(
                "/api/v1/opportunities",
                &json!({ "title": "Forum", "kind": "forum_meeting", "involvement_level": 3,
                         "starts_on": day, "places": 2, "draft": true }),
            )
            .await;
        assert_eq!(status, 422, "{day}: {body}");
        assert_eq!(fields(&body), ["starts_on"], "{day}: {body}");

        let (status, body) = lead
            .post(
                "/api/v1/complaints",
                &json!({ "reference": format!("HOSTILE-{day}"), "received_on": day,
                         "channel": "letter", "categories": ["appointment_arrangements"],
                         "summary": "A letter" }),
            )
            .await;
        assert!((400..500).contains(&status), "{day}: {status} {body}");
        assert!(fields(&body).contains(&"received_on".to_string()), "{body}");

        let (status, body) = lead
            .post(
                "/api/v1/feedback/fft-responses",
                &json!({ "responses": [{ "response_id": format!("hostile-{day}"), "source": "sms",
                                         "answer": "very_good", "responded_on": day }] }),
            )
            .await;
        assert!(status < 500, "{day}: {status} {body}");
        assert_eq!(body["accepted"], 0, "{day}: {body}");
    }

    // A complaint open across the widest span of years the dates allow: its working days are
    // counted, and the learning report answers.
    let (status, body) = lead
        .post(
            "/api/v1/complaints",
            &json!({ "reference": "HOSTILE-OLD", "received_on": "1900-01-01",
                     "channel": "letter", "categories": ["appointment_arrangements"],
                     "summary": "A very old letter" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let report = lead
        .http
        .get(format!(
            "{base}/api/v1/complaints/learning-report?from=1900-01&to=2199-12"
        ))
        .send()
        .await
        .unwrap();
    assert!(report.status().as_u16() < 500, "{}", report.status());

    // Thirty expense items, each wrong in every field: every problem named, a 4xx.
    let partner = Client::sign_in(&base, "partner@rza.demo.test").await;
    let wrong = json!({ "kind": "yacht", "description": "x".repeat(3_000), "amount_pence": -5,
                        "miles_tenths": 99_999_999, "passengers": 400, "vehicle": "hovercraft",
                        "spent_on": "9999-99-99",
                        "receipt": { "filename": "r.exe", "content_type": "application/x-msdownload",
                                     "content_base64": "TVqQAAMAAAAEAAAA" } });
    let (status, body) = partner
        .post(
            "/api/v1/expense-claims",
            &json!({ "description": "y".repeat(5_000), "items": vec![wrong; 30] }),
        )
        .await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(fields(&body).len() >= 30, "{body}");

    // The largest receipt the API takes (5 MB) comes back whole.
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.resize(5 * 1024 * 1024, 0x5A);
    let today = suite.gateway_state().clock.today().to_string();
    let (status, body) = partner
        .post(
            "/api/v1/expense-claims",
            &json!({ "description": "Taxi to the forum", "items": [{
                "kind": "travel", "description": "Taxi", "amount_pence": 1_850, "spent_on": today,
                "receipt": { "filename": "taxi.jpg", "content_type": "image/jpeg",
                             "content_base64": base64::engine::general_purpose::STANDARD.encode(&jpeg) } }] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let claim = body["claim"]["id"].as_str().unwrap();
    let receipt = body["receipts"][0][0].as_str().unwrap();
    let download = partner
        .http
        .get(format!("{base}/claims/{claim}/receipts/{receipt}"))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let bytes = download.bytes().await.unwrap();
    assert!(bytes.as_ref() == jpeg.as_slice(), "{} bytes", bytes.len());

    problems(&base, &lead).await;
    suite.stop().await;
}

/// Every error of the JSON API is an RFC 9457 problem document, whoever answered: a handler's
/// refusal, or axum's own (not JSON, too large, no such route or method, not signed in).
async fn problems(base: &str, lead: &Client) {
    let big = format!("{{\"title\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let anonymous = reqwest::Client::new();
    let create_opportunity = || {
        lead.http
            .post(format!("{base}/api/v1/opportunities"))
            .header("X-CSRF-Token", &lead.csrf)
    };
    let asks = [
        (
            "refused by field",
            create_opportunity().json(
                &json!({ "title": "", "kind": "party", "involvement_level": 4,
                               "starts_on": "2099-01-01", "places": 1 }),
            ),
            422,
        ),
        (
            "not JSON",
            create_opportunity()
                .header("content-type", "application/json")
                .body("{\"title\": "),
            400,
        ),
        (
            "too large",
            create_opportunity()
                .header("content-type", "application/json")
                .body(big),
            413,
        ),
        (
            "no such route",
            lead.http.get(format!("{base}/api/v1/no-such-thing")),
            404,
        ),
        (
            "no such method",
            lead.http.delete(format!("{base}/api/v1/opportunities")),
            405,
        ),
        (
            "not signed in",
            anonymous.get(format!("{base}/api/v1/partners")),
            401,
        ),
    ];
    for (what, request, status) in asks {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{what}");
        let media = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(media, "application/problem+json", "{what}");
        if status == 405 {
            assert!(
                response.headers().contains_key("allow"),
                "{what}: Allow kept"
            );
        }
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], status, "{what}: {body}");
        assert_eq!(body["type"], "about:blank", "{what}: {body}");
        assert!(
            body["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{what}: {body}"
        );
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{what}: {body}"
        );
        assert!(body["error"].is_string(), "{what}: {body}");
        if status == 422 {
            assert!(
                fields(&body).contains(&"kind".to_string()),
                "{what}: {body}"
            );
        }
    }

    // The document says so: every error response is application/problem+json.
    let openapi = common::get_json(&lead.http, &format!("{base}/api/v1/openapi.json")).await;
    let mut errors = 0;
    for (path, item) in openapi["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (code, response) in operation["responses"].as_object().into_iter().flatten() {
                if code.starts_with('4') || code.starts_with('5') {
                    let content = response["content"].as_object().cloned().unwrap_or_default();
                    assert!(
                        content.keys().all(|m| m == "application/problem+json"),
                        "{method} {path} {code}: {content:?}"
                    );
                    errors += 1;
                }
            }
        }
    }
    assert!(errors > 50, "{errors} error responses documented");
}
