//! Friends and Family Test responses from a CSV file: a preview lists every row's problems and
//! says what storing would do, before anything is stored; then the good rows are stored. Sending
//! the same file again counts nothing twice (a response id is counted once).

use alongside_proto::feedback::v1 as feedback;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use base64::Engine;
use http::{header, StatusCode};
use minijinja::context;
use serde::Deserialize;

use crate::error::AppError;
use crate::pages::{base, merge, render};
use crate::session::SignedIn;
use crate::AppState;

use alongside_platform::Role;

const UPLOADERS: &[Role] = &[
    Role::Analyst,
    Role::EngagementLead,
    Role::Staff,
    Role::Admin,
];
/// One call of the feedback service takes 5,000; a preview is exact within one call.
pub const MAX_ROWS: usize = 5_000;
const COLUMNS: [&str; 4] = ["response_id", "answer", "responded_on", "source"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/feedback/upload",
            get(form)
                .post(preview)
                .layer(DefaultBodyLimit::max(8 * 1024 * 1024)),
        )
        .route(
            "/feedback/upload/confirm",
            axum::routing::post(confirm).layer(DefaultBodyLimit::max(16 * 1024 * 1024)),
        )
        .route("/feedback/upload-template.csv", get(template))
}

/// A file read: the responses to send (each with its line) and the problems found on the way.
#[derive(Debug, Default, PartialEq)]
pub struct Parsed {
    pub rows: Vec<(usize, feedback::FftResponse)>,
    /// (line, field, reason); line 1 is the header.
    pub problems: Vec<(usize, String, String)>,
    pub ignored_columns: Vec<String>,
    pub lines: usize,
}

/// Reads a CSV of responses; an error that concerns the whole file is the `Err`.
pub fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        "the file is not UTF-8 text: save it from the spreadsheet as CSV UTF-8".to_string()
    })?;
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Err("the file is empty".into());
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("the first line could not be read: {e}"))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let mut positions = Vec::new();
    for column in COLUMNS {
        match header.iter().position(|h| h == column) {
            Some(p) => positions.push(p),
            None => {
                return Err(format!(
                    "there is no {column} column: the first line must name the columns {}",
                    COLUMNS.join(", ")
                ))
            }
        }
    }
    let mut parsed = Parsed {
        ignored_columns: header
            .iter()
            .filter(|h| !COLUMNS.contains(&h.as_str()) && !h.is_empty())
            .cloned()
            .collect(),
        ..Parsed::default()
    };
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        parsed.lines += 1;
        if parsed.lines > MAX_ROWS {
            return Err(format!(
                "the file has more than {MAX_ROWS} rows: split it into smaller files"
            ));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                parsed
                    .problems
                    .push((line, "row".into(), format!("could not be read: {e}")));
                continue;
            }
        };
        let cell = |k: usize| record.get(positions[k]).unwrap_or("").to_string();
        let answer = feedback::FftAnswer::parse(&cell(1));
        if answer.is_none() {
            parsed.problems.push((
                line,
                "answer".into(),
                format!("{:?} is not an answer: use Very good, Good, Neither good nor poor, Poor, Very poor, Don't know, or 1 to 6", cell(1)),
            ));
            continue;
        }
        parsed.rows.push((
            line,
            feedback::FftResponse {
                response_id: cell(0),
                answer: answer.unwrap_or(feedback::FftAnswer::Unspecified) as i32,
                responded_on: cell(2),
                source: cell(3),
                ..Default::default()
            },
        ));
    }
    if parsed.lines == 0 {
        return Err("the file has a header but no rows".into());
    }
    Ok(parsed)
}

/// Sends the file's responses, for real or as a dry run; the answer with every problem by line.
async fn send(
    state: &AppState,
    me: &SignedIn,
    parsed: &Parsed,
    dry_run: bool,
) -> Result<
    (
        feedback::SubmitFftResponsesResponse,
        Vec<(usize, String, String)>,
    ),
    AppError,
> {
    let mut problems = parsed.problems.clone();
    if parsed.rows.is_empty() {
        return Ok((Default::default(), problems));
    }
    let request = feedback::SubmitFftResponsesRequest {
        responses: parsed.rows.iter().map(|(_, r)| r.clone()).collect(),
        dry_run,
    };
    let answer = state
        .clients
        .feedback()
        .submit_fft_responses(state.clients.request(&me.caller, request))
        .await?
        .into_inner();
    problems.extend(answer.rejected.iter().map(|e| {
        let line = parsed
            .rows
            .get(e.index as usize)
            .map_or(0, |(line, _)| *line);
        (line, e.field.clone(), e.reason.clone())
    }));
    problems.sort();
    Ok((answer, problems))
}

async fn page(
    state: &AppState,
    me: &SignedIn,
    preview: Option<minijinja::Value>,
    file_error: Option<String>,
) -> Result<Html<String>, AppError> {
    page_with(state, me, preview, file_error, None).await
}

async fn page_with(
    state: &AppState,
    me: &SignedIn,
    preview: Option<minijinja::Value>,
    file_error: Option<String>,
    notice: Option<String>,
) -> Result<Html<String>, AppError> {
    let errors: std::collections::BTreeMap<String, String> = file_error
        .iter()
        .map(|e| ("file".to_string(), format!("File: {e}")))
        .collect();
    render(
        state,
        "feedback_upload.html",
        merge(
            base(me, "/feedback", "Upload responses"),
            context! { preview => preview, errors => errors, file_error => file_error, max_rows => MAX_ROWS, notice => notice },
        ),
    )
}

async fn form(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<Stored>,
) -> Result<Html<String>, AppError> {
    me.require(UPLOADERS)?;
    let notice = q.stored.map(|stored| {
        format!(
            "{stored} response{} stored; {} already held and not counted again; {} row{} with problems left out.",
            if stored == 1 { "" } else { "s" },
            q.held.unwrap_or(0),
            q.left.unwrap_or(0),
            if q.left == Some(1) { "" } else { "s" }
        )
    });
    page_with(&state, &me, None, None, notice).await
}

async fn preview(
    State(state): State<AppState>,
    me: SignedIn,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    me.require(UPLOADERS)?;
    let mut csrf = None;
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = multipart.next_field().await.map_err(|_| unreadable())? {
        match field.name() {
            Some("csrf_token") => csrf = field.text().await.ok(),
            Some("file") => {
                let name = field.file_name().unwrap_or("responses.csv").to_string();
                file = Some((
                    name,
                    field.bytes().await.map_err(|_| unreadable())?.to_vec(),
                ));
            }
            _ => {}
        }
    }
    me.check_csrf(csrf.as_deref())?;
    let Some((filename, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        let html = page(&state, &me, None, Some("choose a CSV file".into())).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    };
    let parsed = match parse(&bytes) {
        Ok(parsed) => parsed,
        Err(problem) => {
            let html = page(&state, &me, None, Some(problem)).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
        }
    };
    let (answer, problems) = send(&state, &me, &parsed, true).await?;
    let preview = context! {
        filename => filename.rsplit(['/', '\\']).next().unwrap_or("").chars().take(100).collect::<String>(),
        lines => parsed.lines,
        new => answer.accepted,
        held => answer.duplicates,
        with_problems => problems.iter().map(|(line, _, _)| *line).collect::<std::collections::BTreeSet<_>>().len(),
        problems => problems.iter().map(|(line, field, reason)| context! { line => line, field => field, reason => reason }).collect::<Vec<_>>(),
        ignored => parsed.ignored_columns,
        content => base64::engine::general_purpose::STANDARD.encode(&bytes),
    };
    Ok(page(&state, &me, Some(preview), None)
        .await?
        .into_response())
}

fn unreadable() -> AppError {
    AppError::Invalid(vec![alongside_platform::error::FieldError::new(
        "file",
        "the upload could not be read (8 MB at most)",
    )])
}

#[derive(Deserialize)]
struct ConfirmForm {
    csrf_token: String,
    content: String,
}

async fn confirm(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    me.require(UPLOADERS)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(form.content.trim())
        .map_err(|_| unreadable())?;
    let parsed = parse(&bytes).map_err(|e| {
        AppError::Invalid(vec![alongside_platform::error::FieldError::new("file", e)])
    })?;
    let (answer, problems) = send(&state, &me, &parsed, false).await?;
    let left = problems
        .iter()
        .map(|(line, _, _)| *line)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    tracing::info!(
        stored = answer.accepted,
        held = answer.duplicates,
        left,
        "FFT upload stored"
    );
    Ok(Redirect::to(&format!(
        "/feedback/upload?stored={}&held={}&left={left}",
        answer.accepted, answer.duplicates
    ))
    .into_response())
}

#[derive(Deserialize)]
pub struct Stored {
    stored: Option<u32>,
    held: Option<u32>,
    left: Option<usize>,
}

async fn template() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"fft-responses-template.csv\""),
        ],
        "response_id,answer,responded_on,source\nCARD-0001,Very good,2026-11-20,paper\nCARD-0002,Don't know,2026-11-20,paper\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_with_their_lines_and_bad_answers_named() {
        let parsed = parse(
            "\u{feff}Response_ID,answer,responded_on,source,ward\n\
             c1,Very good,2026-11-20,paper,W1\n\
             c2,fantastic,2026-11-20,paper,W1\n\
             c3,6,2026-11-21,kiosk,W2\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(parsed.lines, 3);
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(parsed.rows[1].0, 4, "line 4 of the file");
        assert_eq!(
            parsed.rows[1].1.answer,
            feedback::FftAnswer::DontKnow as i32
        );
        assert_eq!(parsed.problems[0].0, 3);
        assert_eq!(parsed.problems[0].1, "answer");
        assert_eq!(parsed.ignored_columns, ["ward"]);
    }

    #[test]
    fn a_file_without_its_columns_or_rows_is_refused_whole() {
        assert!(parse(b"id,answer\nx,1\n")
            .unwrap_err()
            .contains("no response_id column"));
        assert!(parse(b"response_id,answer,responded_on,source\n")
            .unwrap_err()
            .contains("no rows"));
        assert!(parse(b"").unwrap_err().contains("empty"));
        assert!(parse(&[0xff, 0xfe, 0x00]).unwrap_err().contains("UTF-8"));
        let mut big = String::from("response_id,answer,responded_on,source\n");
        for i in 0..=MAX_ROWS {
            big.push_str(&format!("r{i},1,2026-11-20,web\n"));
        }
        assert!(parse(big.as_bytes())
            .unwrap_err()
            .contains("more than 5000 rows"));
    }
}
