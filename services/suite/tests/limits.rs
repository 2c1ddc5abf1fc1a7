//! Abuse limits through the real gateway: repeated wrong passwords make each further attempt
//! wait (429 with Retry-After, before any password is checked), and floods of the public forms
//! are turned away per client address with a page that says to try later.

mod common;

use serde_json::json;

async fn attempt(http: &reqwest::Client, base: &str, password: &str) -> reqwest::Response {
    http.post(format!("{base}/api/v1/session"))
        .json(&json!({ "email": "lead@rza.demo.test", "password": password }))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_wait_longer_and_floods_of_public_forms_are_turned_away() {
    let data = tempfile::tempdir().unwrap();
    let suite = common::demo_suite(data.path()).await;
    let base = suite.url();
    let http = reqwest::Client::new();

    // Five wrong passwords are answered as wrong; then the account must wait, even with the
    // right password, and the API says for how long.
    for _ in 0..5 {
        assert_eq!(attempt(&http, &base, "guess").await.status(), 401);
    }
    let waiting = attempt(&http, &base, "alongside-demo").await;
    assert_eq!(waiting.status(), 429);
    let retry_after: u64 = waiting.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = waiting.json().await.unwrap();
    assert_eq!(body["error"], "too_many_requests");
    // Once the wait is over the right password works, and clears the account's failures.
    tokio::time::sleep(std::time::Duration::from_secs(retry_after + 1)).await;
    assert_eq!(attempt(&http, &base, "alongside-demo").await.status(), 200);
    assert_eq!(
        attempt(&http, &base, "guess").await.status(),
        401,
        "counting again from one"
    );

    // The public FFT form: thirty posts a minute from one address, then a page saying to wait.
    let limit = 30;
    let mut statuses = Vec::new();
    for _ in 0..=limit {
        let response = http
            .post(format!("{base}/fft/RZA"))
            .form(&[("answer", "1")])
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
            let page = response.text().await.unwrap();
            assert!(page.contains("try again in"), "{page}");
        }
    }
    assert!(statuses[..limit].iter().all(|s| *s != 429), "{statuses:?}");
    assert_eq!(statuses[limit], 429, "{statuses:?}");
    // Other pages are not held up.
    let form = http.get(format!("{base}/fft/RZA")).send().await.unwrap();
    assert_eq!(form.status(), 200);

    suite.stop().await;
}
