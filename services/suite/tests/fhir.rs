//! FHIR R4 QuestionnaireResponse in, through the embedded suite's HTTP API: a Bundle's good
//! resources kept and counted once, each problem named by its FHIRPath, the questionnaires
//! published.

use alongside_platform::Role;
use alongside_suite::{Options, Suite};
use serde_json::{json, Value};

const FFT: &str = "https://trust.example.org/api/v1/fhir/Questionnaire/fft";

fn fft(id: &str, code: &str, authored: &str) -> Value {
    json!({
        "resourceType": "QuestionnaireResponse", "id": id, "status": "completed",
        "questionnaire": FFT, "authored": authored,
        "item": [
            { "linkId": "fft", "answer": [{ "valueCoding": { "code": code } }] },
            { "linkId": "site", "answer": [{ "valueString": "Ward 7" }] },
            { "linkId": "source", "answer": [{ "valueString": "kiosk" }] },
        ],
    })
}

fn sure(id: &str) -> Value {
    json!({
        "resourceType": "QuestionnaireResponse", "id": id, "status": "completed",
        "questionnaire": "https://trust.example.org/api/v1/fhir/Questionnaire/sure|1",
        "authored": "2026-11-02T09:00:00Z",
        "encounter": { "identifier": { "value": "EP-1" } },
        "item": (1..=4).map(|n| json!({ "linkId": format!("item{n}"), "answer": [{ "valueInteger": 1 }] })).collect::<Vec<_>>(),
    })
}

fn diagnostics(outcome: &Value) -> Vec<String> {
    outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["diagnostics"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questionnaire_responses_are_kept_counted_once_and_their_problems_named() {
    let data = tempfile::tempdir().unwrap();
    let suite = Suite::start(Options {
        port: 0,
        data_dir: data.path().to_path_buf(),
        demo: false,
        grpc_base_port: None,
        // Released at once, but not while the demo data is still arriving.
        publication: alongside_platform::config::PublicationSettings {
            settle_seconds: 1,
            ..alongside_platform::config::PublicationSettings::at_once()
        },
        clock: alongside_platform::testing::clock_settings(),
    })
    .await
    .expect("suite starts");
    let base = suite.url();
    // The trust lists the ward its responses name.
    let state = suite.gateway_state();
    let admin = alongside_platform::Caller {
        subject: "admin".into(),
        tenant: alongside_platform::OdsCode::parse("RZA").unwrap(),
        role: Role::Admin,
        ics: None,
    };
    let places = alongside_proto::feedback::v1::SavePlacesRequest {
        places: vec![alongside_proto::feedback::v1::PlaceInput {
            kind: "site".into(),
            code: "Ward 7".into(),
            name: String::new(),
        }],
        dry_run: false,
    };
    state
        .clients
        .feedback()
        .save_places(state.clients.request(&admin, places))
        .await
        .unwrap();
    alongside_gateway::seed::create_user(
        &suite.gateway_state().db,
        "analyst@rza.test",
        "Analyst",
        "fhir-password-123",
        "RZA",
        Role::Analyst,
        None,
    )
    .await
    .unwrap();
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let session: Value = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({ "email": "analyst@rza.test", "password": "fhir-password-123" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = session["csrf_token"].as_str().unwrap().to_string();
    let get_json = |url: &str| {
        let request = http.get(url).send();
        async move { request.await.unwrap().json::<Value>().await.unwrap() }
    };
    let post = |body: Value, with_csrf: bool| {
        let mut request = http
            .post(format!("{base}/api/v1/fhir/QuestionnaireResponse"))
            .json(&body);
        if with_csrf {
            request = request.header("x-csrf-token", &csrf);
        }
        request.send()
    };

    let mut no_id = fft("", "1", "2026-11-03");
    no_id.as_object_mut().unwrap().remove("id");
    let bundle = json!({ "resourceType": "Bundle", "type": "batch", "entry": [
        { "resource": fft("qr-1", "very_good", "2026-11-02T10:00:00Z") },
        { "resource": no_id },
        { "resource": sure("qr-2") },
    ]});
    let refused = post(bundle.clone(), false).await.unwrap();
    assert_eq!(refused.status(), 403, "a change needs the CSRF token");

    let response = post(bundle.clone(), true).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/fhir+json");
    let outcome: Value = response.json().await.unwrap();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let said = diagnostics(&outcome);
    assert_eq!(
        said[0],
        "2 responses stored; 0 already held and not counted again; 1 refused"
    );
    assert_eq!(
        outcome["issue"][1]["expression"][0],
        "Bundle.entry[1].resource.id"
    );

    let again: Value = post(bundle, true).await.unwrap().json().await.unwrap();
    assert_eq!(
        diagnostics(&again)[0],
        "0 responses stored; 2 already held and not counted again; 1 refused",
        "the same Bundle again counts nothing twice"
    );

    // A problem only the feedback service sees is still named by where it is.
    let future = post(fft("qr-3", "2", "2099-01-01"), true).await.unwrap();
    assert_eq!(future.status(), 422);
    let future: Value = future.json().await.unwrap();
    assert_eq!(future["issue"][1]["expression"][0], "QuestionnaireResponse");
    assert!(diagnostics(&future)[1].contains("responded_on"), "{future}");

    let by_site: Value = get_json(&format!("{base}/api/v1/feedback/fft-breakdown?by=site")).await;
    let ward = by_site["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"] == "Ward 7")
        .expect("counted at its site");
    assert_eq!(ward["total"], 1);
    let by_source: Value =
        get_json(&format!("{base}/api/v1/feedback/fft-breakdown?by=source")).await;
    assert_eq!(by_source["rows"][0]["value"], "kiosk");

    let questionnaire: Value = get_json(&format!("{base}/api/v1/fhir/Questionnaire/fft")).await;
    assert_eq!(questionnaire["resourceType"], "Questionnaire");
    assert_eq!(questionnaire["item"][0]["linkId"], "fft");
    assert_eq!(
        questionnaire["item"][0]["answerOption"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    let missing = http
        .get(format!("{base}/api/v1/fhir/Questionnaire/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    suite.stop().await;
}
