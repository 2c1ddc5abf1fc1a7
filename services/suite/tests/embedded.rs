//! The embedded run: demo data seeded once, kept by a second run, served over HTTP with its
//! OpenAPI document.

use std::time::Duration;

use alongside_suite::{Options, Suite};

async fn sign_in(base: &str) -> reqwest::Client {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let response = http
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({ "email": "lead@rza.demo.test", "password": "alongside-demo" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "demo lead signs in");
    http
}

async fn partner_total(http: &reqwest::Client, base: &str) -> u64 {
    let body: serde_json::Value = http
        .get(format!("{base}/api/v1/partners"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["page"]["total"].as_u64().unwrap()
}

/// The gRPC service a port of the embedded run serves, as reflection names it.
fn own_service(name: &str) -> String {
    let mut upper = name.chars();
    let first = upper.next().unwrap().to_ascii_uppercase();
    format!("alongside.{name}.v1.{first}{}Service", upper.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_keeps_the_first_runs_data() {
    let data = tempfile::tempdir().unwrap();
    let options = || Options {
        port: 0,
        data_dir: data.path().to_path_buf(),
        demo: true,
        grpc_base_port: None,
        // Released at once, but not while the demo data is still arriving.
        publication: alongside_platform::config::PublicationSettings {
            settle_seconds: 1,
            ..alongside_platform::config::PublicationSettings::at_once()
        },
        clock: alongside_platform::testing::clock_settings(),
    };

    // As `alongside` starts, with logs off: trace context does not depend on the log level.
    std::mem::forget(alongside_platform::telemetry::init(
        "test",
        &alongside_platform::config::TelemetrySettings {
            log_format: "pretty".into(),
            log_level: "off".into(),
        },
    ));
    let first = Suite::start(options()).await.expect("first run starts");
    let base = first.url();
    // Every event carries the W3C trace context of the request that caused it, so a data team
    // can follow it back.
    let headers = alongside_events::testing::read_headers(
        first.kafka_bootstrap(),
        alongside_events::topics::PEOPLE_PARTNERS,
        6,
        std::time::Duration::from_secs(20),
    )
    .await;
    assert_eq!(headers.len(), 6, "the demo's partners on the topic");
    for h in &headers {
        let parent = h.get("traceparent").map(String::as_str).unwrap_or_default();
        let parts: Vec<&str> = parent.split('-').collect();
        assert!(
            parts.len() == 4
                && parts[0] == "00"
                && parts[1].len() == 32
                && parts[2].len() == 16
                && parts[1] != "0".repeat(32),
            "a traceparent on every event: {h:?}"
        );
    }
    for (name, addr) in first.grpc_addresses() {
        assert!(addr.ip().is_loopback(), "{name} listens on {addr}");
        let (v1alpha, v1) =
            alongside_platform::testing::reflected_services(&format!("http://{addr}")).await;
        assert_eq!(v1alpha, v1, "{name}: both versions list the same");
        assert_eq!(
            v1,
            [
                own_service(name),
                "grpc.health.v1.Health".to_string(),
                "grpc.reflection.v1.ServerReflection".to_string(),
                "grpc.reflection.v1alpha.ServerReflection".to_string(),
            ],
            "{name} lists what its port serves, and nothing else"
        );
    }
    assert!(first
        .demo_sign_ins()
        .iter()
        .any(|(email, _)| email == "partner@rza.demo.test"));
    let http = sign_in(&base).await;
    let seeded = partner_total(&http, &base).await;
    assert_eq!(seeded, 6, "six demo partners in each trust");
    let openapi: serde_json::Value = http
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/partners",
        "/api/v1/opportunities",
        "/api/v1/claims",
        "/api/v1/feedback/fft-summary",
    ] {
        assert!(openapi["paths"].get(path).is_some(), "{path} documented");
    }
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);

    // What `helm test` runs: every service's gRPC health and the gateway's readiness.
    let urls = &first.gateway_state().settings.services;
    let grpc: Vec<String> = [
        &urls.people,
        &urls.engagement,
        &urls.feedback,
        &urls.payments,
    ]
    .into_iter()
    .cloned()
    .collect();
    let failures = alongside_gateway::probe::all(&grpc, &[format!("{base}/readyz")]).await;
    assert!(failures.is_empty(), "{failures:?}");
    let failures = alongside_gateway::probe::all(
        &["http://127.0.0.1:1".to_string()],
        &[format!("{base}/no-such-page")],
    )
    .await;
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures[0].starts_with("http://127.0.0.1:1: cannot connect"),
        "{failures:?}"
    );
    assert!(failures[1].contains("404"), "{failures:?}");

    // Everything listens on loopback only; the keys were made here, for the owner alone.
    for url in grpc.iter().chain([&base]) {
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    }
    assert!(first
        .kafka_bootstrap()
        .split(',')
        .all(|b| b.starts_with("127.0.0.1:")));
    let key_file = data.path().join("keys/internal-token.key");
    let key = std::fs::read_to_string(&key_file).expect("the token key is kept with the data");
    assert!(key.len() >= 32);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    first.stop().await;

    let second = Suite::start(options()).await.expect("second run starts");
    let base = second.url();
    let http = sign_in(&base).await;
    assert_eq!(
        partner_total(&http, &base).await,
        seeded,
        "kept, not seeded again"
    );
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        key,
        "the same keys, so sealed bank details open again"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    second.stop().await;
}
