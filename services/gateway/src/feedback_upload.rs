//! Feedback from a CSV file: Friends and Family Test responses, or PROM questionnaires. A preview
//! lists every row's problems and says what storing would do, before anything is stored; then the
//! good rows are stored. Sending the same file again counts nothing twice (a response id is
//! counted once).

use alongside_proto::feedback::v1 as feedback;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use base64::Engine;
use http::{header, StatusCode};
use minijinja::context;
use serde::Deserialize;

use crate::access::FEEDBACK_UPLOADERS;
use crate::error::AppError;
use crate::pages::{base, merge, render};
use crate::session::SignedIn;
use crate::AppState;

/// One call of the feedback service takes 5,000; a preview is exact within one call.
pub const MAX_ROWS: usize = 5_000;
/// MSK-HQ has the most items of the questionnaires held.
const MAX_ITEMS: usize = 14;

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Fft,
    Prom,
}

impl Kind {
    fn path(self) -> &'static str {
        match self {
            Kind::Fft => "/feedback/upload",
            Kind::Prom => "/feedback/proms/upload",
        }
    }

    /// The columns every file must have.
    fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::Fft => &["response_id", "answer", "responded_on", "source"],
            Kind::Prom => &[
                "response_id",
                "instrument",
                "episode_id",
                "completed_on",
                "source",
                "item_1",
            ],
        }
    }

    /// Columns read when present.
    fn optional(self, column: &str) -> bool {
        match self {
            // The survey's other questions: q_booking, q_own_1, ...
            Kind::Fft if column.starts_with("q_") => true,
            Kind::Fft => matches!(
                column,
                "worked_well"
                    | "could_improve"
                    | "site"
                    | "locality"
                    | "pathway"
                    | "team"
                    | "equality_consent"
                    | "age_band"
                    | "sex"
                    | "ethnic_group"
                    | "imd_decile"
            ),
            Kind::Prom => {
                column == "pathway"
                    || column
                        .strip_prefix("item_")
                        .and_then(|n| n.parse::<usize>().ok())
                        .is_some_and(|n| (2..=MAX_ITEMS).contains(&n))
            }
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Fft => "response",
            Kind::Prom => "questionnaire",
        }
    }

    fn template(self) -> (&'static str, String) {
        match self {
            Kind::Fft => (
                "fft-responses-template.csv",
                "response_id,answer,responded_on,source,worked_well,could_improve,site,pathway,team\nCARD-0001,Very good,2026-11-20,paper,Friendly reception staff,,Ward 7,Maternity,Midwifery\nCARD-0002,Don't know,2026-11-20,paper,,,Ward 7,Maternity,\n".into(),
            ),
            Kind::Prom => {
                let items: Vec<String> = (1..=MAX_ITEMS).map(|n| format!("item_{n}")).collect();
                (
                    "prom-responses-template.csv",
                    format!(
                        "response_id,instrument,episode_id,completed_on,source,pathway,{}\n\
                         Q-0001,msk_hq,EP-1042,2026-09-14,paper,msk,3,2,2,3,1,2,3,2,2,1,3,2,2,3\n\
                         Q-0002,msk_hq,EP-1042,2026-11-20,web,msk,4,3,3,3,2,3,4,3,3,2,3,3,3,4\n\
                         Q-0003,sure,EP-1042,2026-09-14,paper,msk,1,1,0,1{}\n",
                        items.join(","),
                        ",".repeat(MAX_ITEMS - 4)
                    ),
                )
            }
        }
    }
}

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for kind in [Kind::Fft, Kind::Prom] {
        let path = kind.path();
        router = router
            .route(
                path,
                get(
                    move |state: State<AppState>, me: SignedIn, q: Query<Stored>| {
                        form(kind, state, me, q)
                    },
                )
                .post(move |state: State<AppState>, me: SignedIn, m: Multipart| {
                    preview(kind, state, me, m)
                })
                .layer(DefaultBodyLimit::max(8 * 1024 * 1024)),
            )
            .route(
                &format!("{path}/confirm"),
                axum::routing::post(
                    move |state: State<AppState>, me: SignedIn, f: Form<ConfirmForm>| {
                        confirm(kind, state, me, f)
                    },
                )
                .layer(DefaultBodyLimit::max(16 * 1024 * 1024)),
            )
            .route(&format!("{path}-template.csv"), get(move || template(kind)));
    }
    router
}

/// One row to send.
#[derive(Clone, Debug, PartialEq)]
pub enum Row {
    Fft(feedback::FftResponse),
    Prom(feedback::PromResponse),
}

/// A file read: the rows to send (each with its line) and the problems found on the way.
#[derive(Debug, Default, PartialEq)]
pub struct Parsed {
    pub rows: Vec<(usize, Row)>,
    /// (line, field, reason); line 1 is the header.
    pub problems: Vec<(usize, String, String)>,
    pub ignored_columns: Vec<String>,
    pub lines: usize,
}

/// Reads a CSV file of `kind`; an error that concerns the whole file is the `Err`.
pub fn parse(kind: Kind, bytes: &[u8]) -> Result<Parsed, String> {
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
    let columns = kind.columns();
    if let Some(missing) = columns.iter().find(|c| !header.iter().any(|h| h == *c)) {
        return Err(format!(
            "there is no {missing} column: the first line must name the columns {}",
            columns.join(", ")
        ));
    }
    let position = |column: &str| header.iter().position(|h| h == column);
    let mut parsed = Parsed {
        ignored_columns: header
            .iter()
            .filter(|h| !columns.contains(&h.as_str()) && !kind.optional(h) && !h.is_empty())
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
        let cell = |column: &str| {
            position(column)
                .and_then(|p| record.get(p))
                .unwrap_or("")
                .to_string()
        };
        let row = match kind {
            Kind::Fft => fft_row(&cell).map(|row| with_answers(row, &header, &cell)),
            Kind::Prom => prom_row(&cell),
        };
        match row {
            Ok(row) => parsed.rows.push((line, row)),
            Err((field, reason)) => parsed.problems.push((line, field, reason)),
        }
    }
    if parsed.lines == 0 {
        return Err("the file has a header but no rows".into());
    }
    Ok(parsed)
}

type RowResult = Result<Row, (String, String)>;

/// A row's answers to the survey's other questions, from its `q_<code>` columns.
fn with_answers(row: Row, header: &[String], cell: &dyn Fn(&str) -> String) -> Row {
    match row {
        Row::Fft(mut r) => {
            r.answers = header
                .iter()
                .filter_map(|h| Some((h.strip_prefix("q_")?.to_string(), cell(h))))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            Row::Fft(r)
        }
        other => other,
    }
}

fn fft_row(cell: &dyn Fn(&str) -> String) -> RowResult {
    let Some(answer) = feedback::FftAnswer::parse(&cell("answer")) else {
        return Err((
            "answer".into(),
            format!("{:?} is not an answer: use Very good, Good, Neither good nor poor, Poor, Very poor, Don't know, or 1 to 6", cell("answer")),
        ));
    };
    let imd_decile = match cell("imd_decile").trim() {
        "" => 0,
        d => d.parse().map_err(|_| {
            (
                "imd_decile".to_string(),
                format!("{d:?} is not a decile: use a whole number from 1 to 10"),
            )
        })?,
    };
    let respondent = feedback::Respondent {
        consent: matches!(
            cell("equality_consent")
                .trim()
                .to_ascii_lowercase()
                .as_str(),
            "yes" | "y" | "true" | "1"
        ),
        age_band: cell("age_band"),
        sex: cell("sex"),
        ethnic_group: cell("ethnic_group"),
        imd_decile,
    };
    Ok(Row::Fft(feedback::FftResponse {
        response_id: cell("response_id"),
        answer: answer as i32,
        responded_on: cell("responded_on"),
        source: cell("source"),
        worked_well: cell("worked_well"),
        could_improve: cell("could_improve"),
        site: cell("site"),
        locality: cell("locality"),
        pathway: cell("pathway"),
        team: cell("team"),
        respondent: (respondent != feedback::Respondent::default()).then_some(respondent),
        answers: Default::default(),
    }))
}

/// Item scores are read from item_1 on, up to the last one filled in; a gap is a problem.
fn prom_row(cell: &dyn Fn(&str) -> String) -> RowResult {
    let cells: Vec<String> = (1..=MAX_ITEMS)
        .map(|n| cell(&format!("item_{n}")))
        .collect();
    let filled = cells
        .iter()
        .rposition(|c| !c.is_empty())
        .map_or(0, |p| p + 1);
    let mut items = Vec::with_capacity(filled);
    for (n, value) in cells.iter().take(filled).enumerate() {
        let field = format!("item_{}", n + 1);
        if value.is_empty() {
            return Err((field, "is blank: every item is needed for a total".into()));
        }
        match value.parse::<u32>() {
            Ok(score) => items.push(score),
            Err(_) => {
                return Err((
                    field,
                    format!("{value:?} is not a score: use a whole number"),
                ))
            }
        }
    }
    Ok(Row::Prom(feedback::PromResponse {
        response_id: cell("response_id"),
        instrument: cell("instrument").to_ascii_lowercase(),
        episode_id: cell("episode_id"),
        completed_on: cell("completed_on"),
        items,
        pathway: cell("pathway"),
        source: cell("source"),
    }))
}

/// What the feedback service said of a file's rows.
#[derive(Default)]
struct Answer {
    accepted: u32,
    duplicates: u32,
}

/// Sends the file's rows, for real or as a dry run; the answer with every problem by line.
async fn send(
    state: &AppState,
    me: &SignedIn,
    parsed: &Parsed,
    dry_run: bool,
) -> Result<(Answer, Vec<(usize, String, String)>), AppError> {
    let mut problems = parsed.problems.clone();
    if parsed.rows.is_empty() {
        return Ok((Answer::default(), problems));
    }
    let mut fft = Vec::new();
    let mut prom = Vec::new();
    for (_, row) in &parsed.rows {
        match row {
            Row::Fft(r) => fft.push(r.clone()),
            Row::Prom(r) => prom.push(r.clone()),
        }
    }
    let mut client = state.clients.feedback();
    // A file holds one kind of row, so the indexes answered are of `parsed.rows`.
    let (answer, rejected) = if prom.is_empty() {
        let request = feedback::SubmitFftResponsesRequest {
            responses: fft,
            dry_run,
        };
        let a = client
            .submit_fft_responses(state.clients.request(&me.caller, request))
            .await?
            .into_inner();
        (
            Answer {
                accepted: a.accepted,
                duplicates: a.duplicates,
            },
            a.rejected,
        )
    } else {
        let request = feedback::SubmitPromResponsesRequest {
            responses: prom,
            dry_run,
        };
        let a = client
            .submit_prom_responses(state.clients.request(&me.caller, request))
            .await?
            .into_inner();
        (
            Answer {
                accepted: a.accepted,
                duplicates: a.duplicates,
            },
            a.rejected,
        )
    };
    problems.extend(rejected.iter().map(|e| {
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
    kind: Kind,
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
    let (current, title) = match kind {
        Kind::Fft => ("/feedback", "Upload Friends and Family Test responses"),
        Kind::Prom => ("/feedback/proms", "Upload PROM questionnaires"),
    };
    render(
        state,
        "feedback_upload.html",
        merge(
            base(me, current, title),
            context! { kind => format!("{kind:?}").to_lowercase(), path => kind.path(), heading => title, noun => kind.noun(), preview => preview, errors => errors, file_error => file_error, max_rows => MAX_ROWS, notice => notice },
        ),
    )
}

async fn form(
    kind: Kind,
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<Stored>,
) -> Result<Html<String>, AppError> {
    me.require(FEEDBACK_UPLOADERS)?;
    let notice = q.stored.map(|stored| {
        format!(
            "{stored} {}{} stored; {} already held and not counted again; {} row{} with problems left out.",
            kind.noun(),
            if stored == 1 { "" } else { "s" },
            q.held.unwrap_or(0),
            q.left.unwrap_or(0),
            if q.left == Some(1) { "" } else { "s" }
        )
    });
    page(kind, &state, &me, None, None, notice).await
}

async fn preview(
    kind: Kind,
    State(state): State<AppState>,
    me: SignedIn,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    me.require(FEEDBACK_UPLOADERS)?;
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
    let refuse = |problem: String| async {
        let html = page(kind, &state, &me, None, Some(problem), None).await?;
        Ok::<_, AppError>((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
    };
    let Some((filename, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return refuse("choose a CSV file".into()).await;
    };
    let parsed = match parse(kind, &bytes) {
        Ok(parsed) => parsed,
        Err(problem) => return refuse(problem).await,
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
    Ok(page(kind, &state, &me, Some(preview), None, None)
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
    kind: Kind,
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    me.require(FEEDBACK_UPLOADERS)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(form.content.trim())
        .map_err(|_| unreadable())?;
    let parsed = parse(kind, &bytes).map_err(|e| {
        AppError::Invalid(vec![alongside_platform::error::FieldError::new("file", e)])
    })?;
    let (answer, problems) = send(&state, &me, &parsed, false).await?;
    let left = problems
        .iter()
        .map(|(line, _, _)| *line)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    tracing::info!(
        kind = ?kind,
        stored = answer.accepted,
        held = answer.duplicates,
        left,
        "feedback upload stored"
    );
    Ok(Redirect::to(&format!(
        "{}?stored={}&held={}&left={left}",
        kind.path(),
        answer.accepted,
        answer.duplicates
    ))
    .into_response())
}

#[derive(Deserialize)]
pub struct Stored {
    stored: Option<u32>,
    held: Option<u32>,
    left: Option<usize>,
}

async fn template(kind: Kind) -> Response {
    let (filename, body) = kind.template();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_with_their_lines_and_bad_answers_named() {
        let parsed = parse(
            Kind::Fft,
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
        let Row::Fft(response) = &parsed.rows[1].1 else {
            panic!("an FFT file gives FFT rows")
        };
        assert_eq!(response.answer, feedback::FftAnswer::DontKnow as i32);
        assert_eq!(parsed.problems[0].0, 3);
        assert_eq!(parsed.problems[0].1, "answer");
        assert_eq!(parsed.ignored_columns, ["ward"]);
    }

    #[test]
    fn q_columns_carry_the_answers_to_the_surveys_other_questions() {
        let parsed = parse(
            Kind::Fft,
            b"response_id,answer,responded_on,source,Q_Booking,q_own_1\n\
              c1,1,2026-11-20,paper,yes_definitely,\n",
        )
        .unwrap();
        let Row::Fft(response) = &parsed.rows[0].1 else {
            panic!("an FFT file gives FFT rows")
        };
        assert_eq!(
            response.answers,
            [("booking".to_string(), "yes_definitely".to_string())]
                .into_iter()
                .collect(),
            "an empty cell is no answer"
        );
        assert!(parsed.ignored_columns.is_empty());
    }

    #[test]
    fn a_file_without_its_columns_or_rows_is_refused_whole() {
        assert!(parse(Kind::Fft, b"id,answer\nx,1\n")
            .unwrap_err()
            .contains("no response_id column"));
        assert!(
            parse(Kind::Fft, b"response_id,answer,responded_on,source\n")
                .unwrap_err()
                .contains("no rows")
        );
        assert!(parse(Kind::Fft, b"").unwrap_err().contains("empty"));
        assert!(parse(Kind::Fft, &[0xff, 0xfe, 0x00])
            .unwrap_err()
            .contains("UTF-8"));
        let mut big = String::from("response_id,answer,responded_on,source\n");
        for i in 0..=MAX_ROWS {
            big.push_str(&format!("r{i},1,2026-11-20,web\n"));
        }
        assert!(parse(Kind::Fft, big.as_bytes())
            .unwrap_err()
            .contains("more than 5000 rows"));
    }

    #[test]
    fn prom_items_are_read_to_the_last_one_filled_in_and_gaps_named() {
        let (_, template) = Kind::Prom.template();
        let parsed = parse(Kind::Prom, template.as_bytes()).unwrap();
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let items: Vec<usize> = parsed
            .rows
            .iter()
            .map(|(_, row)| match row {
                Row::Prom(r) => r.items.len(),
                Row::Fft(_) => 0,
            })
            .collect();
        assert_eq!(items, [14, 14, 4], "MSK-HQ has 14 items, SURE 4");
        assert!(
            parsed.ignored_columns.is_empty(),
            "pathway and item_2.. are read"
        );

        let parsed = parse(
            Kind::Prom,
            b"response_id,instrument,episode_id,completed_on,source,item_1,item_2,item_3,item_4\n\
              a,sure,E1,2026-11-01,paper,1,,1,1\n\
              b,sure,E2,2026-11-01,paper,1,yes,1,1\n\
              c,SURE,E3,2026-11-01,paper,1,0,1\n",
        )
        .unwrap();
        assert_eq!(
            parsed.problems,
            [
                (
                    2,
                    "item_2".into(),
                    "is blank: every item is needed for a total".into()
                ),
                (
                    3,
                    "item_2".into(),
                    "\"yes\" is not a score: use a whole number".into()
                ),
            ]
        );
        let Row::Prom(short) = &parsed.rows[0].1 else {
            panic!("a PROM file gives PROM rows")
        };
        assert_eq!((short.instrument.as_str(), short.items.len()), ("sure", 3));
        assert!(parse(
            Kind::Prom,
            b"response_id,instrument,episode_id,completed_on,source\nx\n"
        )
        .unwrap_err()
        .contains("no item_1 column"));
    }
}
