//! HL7 FHIR R4 `QuestionnaireResponse` in: one resource, or a `Bundle` of them, posted to
//! `/api/v1/fhir/QuestionnaireResponse` by a survey tool. Alongside's three questionnaires are
//! published at `/api/v1/fhir/Questionnaire/{fft,msk-hq,sure}` so a tool knows the link ids to
//! use. The answer is an `OperationOutcome`: what was stored and, for each problem, the FHIRPath
//! of what is wrong and why. Good responses are kept; a response's id is counted once.

use alongside_proto::feedback::v1 as feedback;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::{header, HeaderMap, StatusCode};
use serde_json::{json, Value};

use crate::api::{csrf, ApiResult};
use crate::error::AppError;
use crate::session::SignedIn;
use crate::AppState;

const FHIR_JSON: &str = "application/fhir+json";
/// Where Alongside's questionnaires are published (after the public base URL); a response names
/// one in `questionnaire`, matched by its last path segment.
const PUBLISHED: &str = "/api/v1/fhir/Questionnaire";
const MAX_RESPONSES: usize = 5_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/fhir/QuestionnaireResponse", post(submit))
        .route("/api/v1/fhir/Questionnaire/{name}", get(questionnaire))
}

/// A response read from FHIR, with the FHIRPath of the resource it came from.
#[derive(Debug, PartialEq)]
enum Read {
    Fft(feedback::FftResponse),
    Prom(feedback::PromResponse),
}

#[derive(Debug, Default)]
struct Parsed {
    reads: Vec<(String, Read)>,
    problems: Vec<(String, String)>,
}

/// Every `QuestionnaireResponse` of `body` (one, or the entries of a Bundle), read or refused.
fn parse(body: &Value) -> Result<Parsed, (String, String)> {
    let mut parsed = Parsed::default();
    match body.get("resourceType").and_then(Value::as_str) {
        Some("QuestionnaireResponse") => {
            read_resource(body, "QuestionnaireResponse", &mut parsed);
        }
        Some("Bundle") => {
            let entries = body.get("entry").and_then(Value::as_array).ok_or_else(|| {
                (
                    "Bundle.entry".to_string(),
                    "is missing: a Bundle of QuestionnaireResponse entries is expected".to_string(),
                )
            })?;
            if entries.len() > MAX_RESPONSES {
                return Err((
                    "Bundle.entry".into(),
                    format!(
                        "holds {} entries: send at most {MAX_RESPONSES} a request",
                        entries.len()
                    ),
                ));
            }
            for (i, entry) in entries.iter().enumerate() {
                let path = format!("Bundle.entry[{i}].resource");
                match entry.get("resource") {
                    Some(r)
                        if r.get("resourceType").and_then(Value::as_str)
                            == Some("QuestionnaireResponse") =>
                    {
                        read_resource(r, &path, &mut parsed)
                    }
                    _ => parsed
                        .problems
                        .push((path, "must be a QuestionnaireResponse".into())),
                }
            }
        }
        other => {
            return Err((
                "resourceType".into(),
                format!(
                    "is {}: send a QuestionnaireResponse or a Bundle of them",
                    other.map_or("missing".to_string(), |t| format!("{t:?}"))
                ),
            ))
        }
    }
    Ok(parsed)
}

/// The answers of a resource's items, by link id (nested groups flattened), each with its path.
fn answers<'a>(resource: &'a Value, path: &str) -> Vec<(&'a str, String, &'a Value)> {
    fn walk<'a>(items: &'a Value, path: &str, out: &mut Vec<(&'a str, String, &'a Value)>) {
        for (i, item) in items.as_array().into_iter().flatten().enumerate() {
            let here = format!("{path}.item[{i}]");
            if let (Some(link), Some(answer)) = (
                item.get("linkId").and_then(Value::as_str),
                item.get("answer")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first()),
            ) {
                out.push((link, format!("{here}.answer[0]"), answer));
            }
            if let Some(nested) = item.get("item") {
                walk(nested, &here, out);
            }
        }
    }
    let mut out = Vec::new();
    if let Some(items) = resource.get("item") {
        walk(items, path, &mut out);
    }
    out
}

/// An answer as text: a string, a coding's code, an integer, a decimal or a boolean.
fn text(answer: &Value) -> Option<String> {
    if let Some(s) = answer.get("valueString").and_then(Value::as_str) {
        return Some(s.to_string());
    }
    if let Some(code) = answer
        .get("valueCoding")
        .and_then(|c| c.get("code"))
        .and_then(Value::as_str)
    {
        return Some(code.to_string());
    }
    if let Some(n) = answer.get("valueInteger").and_then(Value::as_i64) {
        return Some(n.to_string());
    }
    if let Some(n) = answer.get("valueDecimal").and_then(Value::as_f64) {
        return Some(n.to_string());
    }
    answer
        .get("valueBoolean")
        .and_then(Value::as_bool)
        .map(|b| b.to_string())
}

fn read_resource(r: &Value, path: &str, parsed: &mut Parsed) {
    let mut problems = Vec::new();
    let status = r.get("status").and_then(Value::as_str).unwrap_or("");
    if !matches!(status, "completed" | "amended") {
        problems.push((
            format!("{path}.status"),
            format!("is {status:?}: only completed (or amended) responses are counted"),
        ));
    }
    // The survey tool's own identifier, else the resource id: a resent response is counted once.
    let id = r
        .get("identifier")
        .and_then(|i| i.get("value"))
        .and_then(Value::as_str)
        .or_else(|| r.get("id").and_then(Value::as_str))
        .unwrap_or("")
        .to_string();
    if id.is_empty() {
        problems.push((
            format!("{path}.id"),
            "is missing: give the resource an id (or an identifier) so a resent response is counted once".into(),
        ));
    }
    let authored = r.get("authored").and_then(Value::as_str).unwrap_or("");
    let date = authored.get(..10).unwrap_or("").to_string();
    if authored.is_empty() {
        problems.push((
            format!("{path}.authored"),
            "is missing: when the response was given is needed".into(),
        ));
    }
    let questionnaire = r.get("questionnaire").and_then(Value::as_str).unwrap_or("");
    // A canonical may carry a version after "|".
    let name = questionnaire
        .split('|')
        .next()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("");
    let answers = answers(r, path);
    let get = |link: &str| {
        answers
            .iter()
            .find(|(l, _, _)| *l == link)
            .and_then(|(_, _, a)| text(a))
            .unwrap_or_default()
    };
    let source = match get("source") {
        s if s.is_empty() => "web".to_string(),
        s => s,
    };
    let read = match name {
        "fft" => {
            let found = answers.iter().find(|(l, _, _)| *l == "fft");
            let answer = found
                .and_then(|(_, _, a)| text(a))
                .and_then(|t| feedback::FftAnswer::parse(&t));
            if answer.is_none() {
                problems.push((
                    found.map_or(format!("{path}.item"), |(_, p, _)| p.clone()),
                    "the item with linkId \"fft\" needs an answer: a code 1 to 6, or very_good, good, neither, poor, very_poor or dont_know".into(),
                ));
            }
            let imd = get("imd_decile");
            let respondent = feedback::Respondent {
                consent: get("equality_consent") == "true",
                age_band: get("age_band"),
                sex: get("sex"),
                ethnic_group: get("ethnic_group"),
                imd_decile: imd.parse().unwrap_or(0),
            };
            if !imd.is_empty() && imd.parse::<u32>().is_err() {
                problems.push((
                    format!("{path}.item"),
                    format!("imd_decile {imd:?} is not a decile: use 1 to 10"),
                ));
            }
            answer.map(|a| {
                Read::Fft(feedback::FftResponse {
                    response_id: id.clone(),
                    source: source.clone(),
                    answer: a as i32,
                    responded_on: date.clone(),
                    worked_well: get("worked_well"),
                    could_improve: get("could_improve"),
                    site: get("site"),
                    locality: get("locality"),
                    pathway: get("pathway"),
                    team: get("team"),
                    respondent: (respondent != feedback::Respondent::default())
                        .then_some(respondent),
                    // The survey's other questions, by link id q_<code>.
                    answers: answers
                        .iter()
                        .filter_map(|(l, _, a)| Some((l.strip_prefix("q_")?.to_string(), text(a)?)))
                        .collect(),
                })
            })
        }
        "msk-hq" | "sure" => {
            let count = if name == "sure" { 4 } else { 14 };
            let mut items = Vec::with_capacity(count);
            for n in 1..=count {
                let link = format!("item{n}");
                match get(&link).parse::<u32>() {
                    Ok(score) => items.push(score),
                    Err(_) => problems.push((
                        format!("{path}.item"),
                        format!("the item with linkId {link:?} needs a whole-number score"),
                    )),
                }
            }
            let episode = r
                .get("encounter")
                .and_then(|e| {
                    e.get("identifier")
                        .and_then(|i| i.get("value"))
                        .and_then(Value::as_str)
                        .or_else(|| {
                            e.get("reference")
                                .and_then(Value::as_str)
                                .map(|s| s.rsplit('/').next().unwrap_or(s))
                        })
                })
                .unwrap_or("")
                .to_string();
            (items.len() == count).then(|| {
                Read::Prom(feedback::PromResponse {
                    response_id: id.clone(),
                    instrument: name.replace('-', "_"),
                    episode_id: episode,
                    completed_on: date.clone(),
                    items,
                    pathway: get("pathway"),
                    source: source.clone(),
                })
            })
        }
        _ => {
            problems.push((
                format!("{path}.questionnaire"),
                format!("is {questionnaire:?}: name one of Alongside's questionnaires, {PUBLISHED}/fft, {PUBLISHED}/msk-hq or {PUBLISHED}/sure"),
            ));
            None
        }
    };
    match (read, problems.is_empty()) {
        (Some(read), true) => parsed.reads.push((path.to_string(), read)),
        _ => parsed.problems.extend(problems),
    }
}

fn outcome(status: StatusCode, issues: Vec<Value>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, FHIR_JSON)],
        Json(json!({ "resourceType": "OperationOutcome", "issue": issues })),
    )
        .into_response()
}

fn issue(severity: &str, code: &str, expression: Option<&str>, diagnostics: &str) -> Value {
    let mut issue = json!({ "severity": severity, "code": code, "diagnostics": diagnostics });
    if let Some(e) = expression {
        issue["expression"] = json!([e]);
    }
    issue
}

/// What the feedback service said of the responses sent, with each refusal at its resource.
#[derive(Default)]
struct Tally {
    stored: u32,
    held: u32,
    issues: Vec<Value>,
}

impl Tally {
    fn add<T>(
        &mut self,
        sent: &[(String, T)],
        accepted: u32,
        duplicates: u32,
        rejected: &[feedback::RowError],
    ) {
        self.stored += accepted;
        self.held += duplicates;
        self.issues.extend(rejected.iter().map(|r| {
            let path = &sent[r.index as usize].0;
            issue(
                "error",
                "invalid",
                Some(path),
                &format!("{path}: {} {}", r.field, r.reason),
            )
        }));
    }
}

/// Store the responses of a QuestionnaireResponse or a Bundle of them.
async fn submit(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    csrf(&me, &headers)?;
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return Ok(outcome(
                StatusCode::BAD_REQUEST,
                vec![issue("error", "structure", None, &format!("not JSON: {e}"))],
            ))
        }
    };
    let parsed = match parse(&value) {
        Ok(p) => p,
        Err((path, reason)) => {
            return Ok(outcome(
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![issue(
                    "error",
                    "invalid",
                    Some(&path),
                    &format!("{path} {reason}"),
                )],
            ))
        }
    };
    let issues: Vec<Value> = parsed
        .problems
        .iter()
        .map(|(path, reason)| issue("error", "invalid", Some(path), &format!("{path}: {reason}")))
        .collect();
    let (mut fft, mut prom) = (Vec::new(), Vec::new());
    for (path, read) in parsed.reads {
        match read {
            Read::Fft(r) => fft.push((path, r)),
            Read::Prom(r) => prom.push((path, r)),
        }
    }
    let mut tally = Tally {
        issues,
        ..Tally::default()
    };
    if !fft.is_empty() {
        let result = state
            .clients
            .feedback()
            .submit_fft_responses(state.clients.request(
                &me.caller,
                feedback::SubmitFftResponsesRequest {
                    responses: fft.iter().map(|(_, r)| r.clone()).collect(),
                    dry_run: false,
                },
            ))
            .await?
            .into_inner();
        tally.add(&fft, result.accepted, result.duplicates, &result.rejected);
    }
    if !prom.is_empty() {
        let result = state
            .clients
            .feedback()
            .submit_prom_responses(state.clients.request(
                &me.caller,
                feedback::SubmitPromResponsesRequest {
                    responses: prom.iter().map(|(_, r)| r.clone()).collect(),
                    dry_run: false,
                },
            ))
            .await?
            .into_inner();
        tally.add(&prom, result.accepted, result.duplicates, &result.rejected);
    }
    let Tally {
        stored,
        held,
        mut issues,
    } = tally;
    let refused = issues.len();
    let status = if refused > 0 && stored == 0 && held == 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    issues.insert(
        0,
        issue(
            "information",
            "informational",
            None,
            &format!("{stored} responses stored; {held} already held and not counted again; {refused} refused"),
        ),
    );
    Ok(outcome(status, issues))
}

/// Alongside's questionnaires as FHIR R4 `Questionnaire` resources.
async fn questionnaire(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let base = format!("{}{PUBLISHED}", state.settings.public_base());
    let body = match name.as_str() {
        "fft" => fft_questionnaire(&base),
        "msk-hq" => scored(
            &base,
            "msk-hq",
            "MSK-HQ (item scores 0 to 4; the wording is licensed)",
            14,
        ),
        "sure" => scored(&base, "sure", "SURE (item scores 0 = no, 1 = yes)", 4),
        _ => return Err(AppError::NotFound),
    };
    Ok(([(header::CONTENT_TYPE, FHIR_JSON)], Json(body)).into_response())
}

fn string_item(link: &str, text: &str) -> Value {
    json!({ "linkId": link, "text": text, "type": "string", "required": false })
}

fn fft_questionnaire(base: &str) -> Value {
    let options: Vec<Value> = feedback::FftAnswer::ALL
        .iter()
        .map(|a| json!({ "valueCoding": { "system": format!("{base}/fft/answers"), "code": a.code(), "display": a.label() } }))
        .collect();
    json!({
        "resourceType": "Questionnaire",
        "url": format!("{base}/fft"),
        "name": "FriendsAndFamilyTest",
        "title": "Friends and Family Test",
        "status": "active",
        "item": [
            { "linkId": "fft", "text": crate::survey::QUESTION, "type": "choice", "required": true, "answerOption": options },
            string_item("worked_well", "What worked well?"),
            string_item("could_improve", "What could we improve?"),
            string_item("source", "How it was answered: web, sms, kiosk, paper, just_a_minute_card, ivr or app (default web)"),
            string_item("site", "Site"),
            string_item("locality", "Locality"),
            string_item("pathway", "Pathway"),
            string_item("team", "Team"),
            { "linkId": "equality_consent", "text": "Agrees to the equality answers being counted", "type": "boolean" },
            string_item("age_band", "Age band: under_16, 16_24, 25_34, 35_44, 45_54, 55_64, 65_74 or 75_plus"),
            string_item("sex", "Sex: female or male"),
            string_item("ethnic_group", "Ethnic group: asian, black, mixed, white or other"),
            { "linkId": "imd_decile", "text": "Deprivation decile of their area, 1 (most deprived) to 10", "type": "integer" },
        ],
    })
}

fn scored(base: &str, name: &str, title: &str, count: usize) -> Value {
    let mut items: Vec<Value> = (1..=count)
        .map(|n| json!({ "linkId": format!("item{n}"), "text": format!("Item {n} score"), "type": "integer", "required": true }))
        .collect();
    items.push(string_item("pathway", "Pathway"));
    items.push(string_item("source", "How it was answered (default web)"));
    json!({
        "resourceType": "Questionnaire",
        "url": format!("{base}/{name}"),
        "title": title,
        "status": "active",
        "description": "The episode of care is the response's encounter (its identifier value, or the id of its reference); never an NHS number.",
        "item": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://alongside.example.org/api/v1/fhir/Questionnaire";

    fn fft(id: &str, code: &str) -> Value {
        json!({
            "resourceType": "QuestionnaireResponse", "id": id, "status": "completed",
            "questionnaire": format!("{BASE}/fft|1"), "authored": "2026-11-20T10:15:00Z",
            "item": [
                { "linkId": "fft", "answer": [{ "valueCoding": { "code": code } }] },
                { "linkId": "about", "item": [
                    { "linkId": "site", "answer": [{ "valueString": "Ward 7" }] },
                    { "linkId": "equality_consent", "answer": [{ "valueBoolean": true }] },
                    { "linkId": "imd_decile", "answer": [{ "valueInteger": 3 }] },
                ]},
                { "linkId": "worked_well", "answer": [{ "valueString": "Kind staff" }] },
            ],
        })
    }

    #[test]
    fn a_response_is_read_with_its_nested_answers() {
        let parsed = parse(&fft("qr-1", "2")).unwrap();
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let Read::Fft(r) = &parsed.reads[0].1 else {
            panic!("an FFT response")
        };
        assert_eq!(
            (
                r.response_id.as_str(),
                r.answer,
                r.responded_on.as_str(),
                r.source.as_str()
            ),
            ("qr-1", 2, "2026-11-20", "web")
        );
        assert_eq!(
            (r.site.as_str(), r.worked_well.as_str()),
            ("Ward 7", "Kind staff")
        );
        let who = r.respondent.as_ref().unwrap();
        assert!(who.consent);
        assert_eq!(who.imd_decile, 3);
    }

    #[test]
    fn a_bundle_names_each_problem_by_its_fhirpath() {
        let mut bad = fft("", "9");
        bad["status"] = json!("in-progress");
        let prom = json!({
            "resourceType": "QuestionnaireResponse", "id": "p1", "status": "completed",
            "questionnaire": format!("{BASE}/sure"), "authored": "2026-11-20",
            "encounter": { "reference": "Encounter/EP-9" },
            "item": (1..=4).map(|n| json!({ "linkId": format!("item{n}"), "answer": [{ "valueInteger": 1 }] })).collect::<Vec<_>>(),
        });
        let bundle = json!({ "resourceType": "Bundle", "type": "batch", "entry": [
            { "resource": fft("qr-2", "very_good") },
            { "resource": bad },
            { "resource": { "resourceType": "Patient" } },
            { "resource": prom },
        ]});
        let parsed = parse(&bundle).unwrap();
        assert_eq!(parsed.reads.len(), 2);
        let Read::Prom(p) = &parsed.reads[1].1 else {
            panic!("a PROM")
        };
        assert_eq!(
            (p.instrument.as_str(), p.episode_id.as_str(), p.items.len()),
            ("sure", "EP-9", 4)
        );
        let paths: Vec<&str> = parsed.problems.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "Bundle.entry[1].resource.status",
                "Bundle.entry[1].resource.id",
                "Bundle.entry[1].resource.item[0].answer[0]",
                "Bundle.entry[2].resource",
            ]
        );
    }

    #[test]
    fn something_else_is_refused_whole() {
        let err = parse(&json!({ "resourceType": "Patient" })).unwrap_err();
        assert_eq!(err.0, "resourceType");
        let err = parse(&json!({ "resourceType": "Bundle" })).unwrap_err();
        assert_eq!(err.0, "Bundle.entry");
        let unknown = parse(&json!({ "resourceType": "QuestionnaireResponse", "id": "x", "status": "completed", "authored": "2026-11-01", "questionnaire": "https://example.org/Questionnaire/other" })).unwrap();
        assert_eq!(unknown.problems[0].0, "QuestionnaireResponse.questionnaire");
    }
}
