//! What the suite's tests share: the embedded suite with its demo data, on the tests' day.

use alongside_suite::{Options, Suite};

/// The suite with demo data in `data`, on the day the tests run on.
pub async fn demo_suite(data: &std::path::Path) -> Suite {
    // Errors are logged (shown when a test fails), so a failure says what went wrong inside.
    static LOG: std::sync::OnceLock<alongside_platform::telemetry::TelemetryGuard> =
        std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let settings = alongside_platform::config::TelemetrySettings {
            log_format: "pretty".into(),
            // librdkafka reports its brokers gone as each test's suite stops: not a failure.
            log_level: "error,rdkafka=off,librdkafka=off".into(),
        };
        alongside_platform::telemetry::init("alongside-test", &settings)
    });
    Suite::start(Options {
        port: 0,
        data_dir: data.to_path_buf(),
        demo: true,
        grpc_base_port: None,
        // Released at once, but not while the demo data is still arriving.
        publication: alongside_platform::config::PublicationSettings {
            settle_seconds: 1,
            ..alongside_platform::config::PublicationSettings::at_once()
        },
        clock: alongside_platform::testing::clock_settings(),
    })
    .await
    .expect("the suite starts")
}

/// A client signed in to the suite at `base` as the demo user `email`.
#[allow(dead_code)] // not every test file signs in this way
pub async fn sign_in(base: &str, email: &str) -> reqwest::Client {
    let http = reqwest::Client::builder()
        .cookie_store(true)
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

/// The JSON `http` is answered with at `url`.
#[allow(dead_code)] // not every test file reads JSON this way
pub async fn get_json(http: &reqwest::Client, url: &str) -> serde_json::Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}
