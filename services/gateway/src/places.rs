//! The trust's places — sites, localities, pathways and teams — as reference data, kept by its
//! administrators in the feedback service: a page and its JSON twin to list them (CSV too), add
//! or rename one, import many from a CSV file after a preview, retire, merge, see the history,
//! and map the values responses carried before the lists existed. Responses may name only
//! listed places, so nothing a respondent typed becomes a label of a published figure.

use std::collections::BTreeMap;

use alongside_platform::error::FieldError;
use alongside_proto::feedback::v1 as feedback;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use http::{HeaderMap, StatusCode};
use minijinja::context;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::{HELD_PLACE_READERS, PLACE_KEEPERS, PLACE_READERS};
use crate::api::{csrf, ApiResult};
use crate::error::{AppError, ErrorBody};
use crate::pages::{base, csv_response, merge, render};
use crate::session::SignedIn;
use crate::AppState;

const KINDS: [(&str, &str); 4] = [
    ("site", "Sites"),
    ("locality", "Localities"),
    ("pathway", "Pathways"),
    ("team", "Teams"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/places", get(page).post(page_add))
        .route("/admin/places.csv", get(page_csv))
        .route("/admin/places/import", post(page_import))
        .route("/admin/places/import/confirm", post(page_import_confirm))
        .route("/admin/places/retire", post(page_retire))
        .route("/admin/places/merge", post(page_merge))
        .route("/admin/places/map", post(page_map))
        .route("/api/v1/places", get(list_places).post(save_places))
        .route("/api/v1/places/history", get(place_history))
        .route("/api/v1/places/held", get(held_places))
        .route("/api/v1/places/held/map", post(map_held_place))
        .route("/api/v1/places/{kind}/{code}/retire", post(retire_place))
        .route("/api/v1/places/{kind}/{code}/restore", post(restore_place))
        .route("/api/v1/places/{kind}/{code}/merge", post(merge_place))
}

/// A site, locality, pathway or team of the trust.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct PlaceBody {
    /// site, locality, pathway or team.
    pub kind: String,
    /// What responses carry: 1 to 40 letters, digits, spaces or - _ . & ( ) '.
    pub code: String,
    /// What pages show; the code when empty.
    #[serde(default)]
    pub name: String,
    /// active, retired or merged (ignored when sent).
    #[serde(default)]
    pub status: String,
    /// The place it was merged into (ignored when sent).
    #[serde(default)]
    pub merged_into: String,
    #[serde(default)]
    pub changed_at: String,
}

impl From<feedback::Place> for PlaceBody {
    fn from(p: feedback::Place) -> Self {
        Self {
            kind: p.kind,
            code: p.code,
            name: p.name,
            status: p.status,
            merged_into: p.merged_into,
            changed_at: p.changed_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PlaceListBody {
    pub places: Vec<PlaceBody>,
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ListPlacesQuery {
    /// One kind (site, locality, pathway or team); every kind when empty.
    #[serde(default)]
    pub kind: String,
    /// Retired and merged places too.
    #[serde(default)]
    pub include_retired: bool,
}

async fn list(
    state: &AppState,
    me: &SignedIn,
    kind: &str,
    include_retired: bool,
) -> Result<Vec<feedback::Place>, AppError> {
    me.require(PLACE_READERS)?;
    let request = feedback::ListPlacesRequest {
        kind: kind.to_string(),
        include_retired,
    };
    Ok(state
        .clients
        .feedback()
        .list_places(state.clients.request(&me.caller, request))
        .await?
        .into_inner()
        .places)
}

/// The trust's active places of `kind`, for checking and offering them in other forms.
pub(crate) async fn listed_codes(
    state: &AppState,
    me: &SignedIn,
    kind: &str,
) -> Result<Vec<String>, AppError> {
    Ok(list(state, me, kind, false)
        .await?
        .into_iter()
        .map(|p| p.code)
        .collect())
}

/// The trust's active places of `kind` as a select's options: none first, then each by name;
/// a value already chosen that is not listed (typed into a staff request, say) is kept as an
/// option so the form shows it, and the service's refusal says why.
pub(crate) async fn options(
    state: &AppState,
    me: &SignedIn,
    kind: &str,
    chosen: &str,
) -> Result<(Vec<(String, String)>, String), AppError> {
    let listed = list(state, me, kind, false).await?;
    let chosen = chosen.trim();
    let selected = listed
        .iter()
        .find(|p| p.code.eq_ignore_ascii_case(chosen))
        .map_or(chosen.to_string(), |p| p.code.clone());
    let mut options = vec![(String::new(), "None".to_string())];
    if !selected.is_empty() && !listed.iter().any(|p| p.code == selected) {
        options.push((selected.clone(), format!("{selected} (not listed)")));
    }
    options.extend(listed.into_iter().map(|p| {
        let text = if p.name.is_empty() || p.name == p.code {
            p.code.clone()
        } else {
            format!("{} ({})", p.name, p.code)
        };
        (p.code, text)
    }));
    Ok((options, selected))
}

async fn save(
    state: &AppState,
    me: &SignedIn,
    places: Vec<feedback::PlaceInput>,
    dry_run: bool,
) -> Result<feedback::SavePlacesResponse, AppError> {
    me.require(PLACE_KEEPERS)?;
    let request = feedback::SavePlacesRequest { places, dry_run };
    Ok(state
        .clients
        .feedback()
        .save_places(state.clients.request(&me.caller, request))
        .await?
        .into_inner())
}

async fn retire(
    state: &AppState,
    me: &SignedIn,
    kind: String,
    code: String,
    retired: bool,
) -> Result<feedback::Place, AppError> {
    me.require(PLACE_KEEPERS)?;
    let request = feedback::RetirePlaceRequest {
        kind,
        code,
        retired,
    };
    Ok(state
        .clients
        .feedback()
        .retire_place(state.clients.request(&me.caller, request))
        .await?
        .into_inner())
}

async fn merge_into(
    state: &AppState,
    me: &SignedIn,
    request: feedback::MergePlaceRequest,
) -> Result<feedback::Place, AppError> {
    me.require(PLACE_KEEPERS)?;
    Ok(state
        .clients
        .feedback()
        .merge_place(state.clients.request(&me.caller, request))
        .await?
        .into_inner())
}

async fn history(
    state: &AppState,
    me: &SignedIn,
    request: feedback::ListPlaceHistoryRequest,
) -> Result<Vec<feedback::PlaceChange>, AppError> {
    me.require(PLACE_READERS)?;
    Ok(state
        .clients
        .feedback()
        .list_place_history(state.clients.request(&me.caller, request))
        .await?
        .into_inner()
        .changes)
}

async fn held(state: &AppState, me: &SignedIn) -> Result<feedback::HeldPlaces, AppError> {
    me.require(HELD_PLACE_READERS)?;
    Ok(state
        .clients
        .feedback()
        .list_held_places(
            state
                .clients
                .request(&me.caller, feedback::ListHeldPlacesRequest {}),
        )
        .await?
        .into_inner())
}

async fn map_held(
    state: &AppState,
    me: &SignedIn,
    request: feedback::MapHeldPlaceRequest,
) -> Result<u64, AppError> {
    me.require(PLACE_KEEPERS)?;
    Ok(state
        .clients
        .feedback()
        .map_held_place(state.clients.request(&me.caller, request))
        .await?
        .into_inner()
        .responses)
}

/// Rows of a places CSV file: kind, code and name, with a header line.
fn parse_csv(bytes: &[u8]) -> Result<Vec<feedback::PlaceInput>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|_| "the file is not a CSV file".to_string())?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(kind), Some(code)) = (column("kind"), column("code")) else {
        return Err("the file needs a header line with the columns kind, code and name".into());
    };
    let name = column("name");
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("the file could not be read: {e}"))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        let cell = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .unwrap_or_default()
                .to_string()
        };
        rows.push(feedback::PlaceInput {
            kind: cell(Some(kind)),
            code: cell(Some(code)),
            name: cell(name),
        });
        if rows.len() > 2_000 {
            return Err("the file has more than 2,000 places".into());
        }
    }
    if rows.is_empty() {
        return Err("the file has no places".into());
    }
    Ok(rows)
}

#[derive(Deserialize, Default)]
struct PageQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    all: Option<String>,
    #[serde(default)]
    notice: String,
}

fn notice(q: &PageQuery) -> Option<String> {
    let n = &q.notice;
    let said = match n.as_str() {
        "" => return None,
        "added" => "The place is saved.".to_string(),
        "retired" => "The place is retired: responses naming it are refused from now on.".into(),
        "restored" => "The place is listed again.".into(),
        "merged" => "The places are merged: the figures now count them as one.".into(),
        _ if n.starts_with("imported-") => format!("{} places are saved.", &n[9..]),
        _ if n.starts_with("mapped-") => format!("{} responses are placed.", &n[7..]),
        _ => return None,
    };
    Some(said)
}

/// The page, with what a form sent back and its errors when there are any.
async fn show(
    state: &AppState,
    me: &SignedIn,
    q: &PageQuery,
    errors: BTreeMap<String, String>,
    typed: BTreeMap<&str, String>,
    preview: Option<minijinja::Value>,
) -> Result<Html<String>, AppError> {
    let all = q.all.is_some();
    let places = list(state, me, &q.kind, all).await?;
    let groups: Vec<minijinja::Value> = KINDS
        .iter()
        .filter(|(k, _)| q.kind.is_empty() || q.kind == *k)
        .map(|(kind, label)| {
            let rows: Vec<PlaceBody> = places
                .iter()
                .filter(|p| p.kind == *kind)
                .cloned()
                .map(PlaceBody::from)
                .collect();
            context! { kind => kind, label => label, places => rows }
        })
        .collect();
    let held = if me.has_role(HELD_PLACE_READERS) {
        Some(held(state, me).await?)
    } else {
        None
    };
    let recent = history(
        state,
        me,
        feedback::ListPlaceHistoryRequest {
            limit: 20,
            ..Default::default()
        },
    )
    .await?;
    render(
        state,
        "places.html",
        merge(
            base(me, "/admin/places", "Places"),
            context! {
                groups => groups,
                kinds => KINDS.iter().map(|(k, l)| (k.to_string(), l.to_string())).collect::<Vec<_>>(),
                kind => q.kind,
                all => all,
                notice => notice(q),
                can_edit => me.has_role(PLACE_KEEPERS),
                errors => errors,
                typed => typed,
                preview => preview,
                held => held.as_ref().map(|h| h.held.iter().map(|p| context! { kind => p.kind, value => p.value, responses => p.responses }).collect::<Vec<_>>()),
                held_total => held.as_ref().map(|h| h.total_values).unwrap_or(0),
                history => recent.into_iter().map(|c| context! { kind => c.kind, code => c.code, action => c.action, detail => c.detail, by => c.by, at => c.at }).collect::<Vec<_>>(),
            },
        ),
    )
}

async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<PageQuery>,
) -> Result<Html<String>, AppError> {
    show(&state, &me, &q, BTreeMap::new(), BTreeMap::new(), None).await
}

/// A refusal shown on the page by field, the form's values kept.
async fn refused(
    state: &AppState,
    me: &SignedIn,
    err: AppError,
    prefix: &str,
    typed: BTreeMap<&str, String>,
) -> Result<Response, AppError> {
    let AppError::Invalid(fields) = err else {
        return Err(err);
    };
    let errors = fields
        .into_iter()
        .map(|e| (format!("{prefix}{}", e.field), e.reason))
        .collect();
    let html = show(state, me, &PageQuery::default(), errors, typed, None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
}

#[derive(Deserialize)]
struct AddForm {
    csrf_token: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
}

async fn page_add(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<AddForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    let input = feedback::PlaceInput {
        kind: form.kind.clone(),
        code: form.code.clone(),
        name: form.name.clone(),
    };
    let saved = save(&state, &me, vec![input], false).await?;
    if !saved.rejected.is_empty() {
        let err = AppError::Invalid(
            saved
                .rejected
                .into_iter()
                .map(|r| FieldError::new(r.field, r.reason))
                .collect(),
        );
        let typed = BTreeMap::from([
            ("kind", form.kind),
            ("code", form.code),
            ("name", form.name),
        ]);
        return refused(&state, &me, err, "", typed).await;
    }
    Ok(Redirect::to("/admin/places?notice=added").into_response())
}

async fn page_csv(State(state): State<AppState>, me: SignedIn) -> Result<Response, AppError> {
    let places = list(&state, &me, "", true).await?;
    csv_response(
        "places.csv",
        &[
            "kind",
            "code",
            "name",
            "status",
            "merged_into",
            "changed_at",
        ],
        places
            .into_iter()
            .map(|p| {
                vec![
                    p.kind,
                    p.code,
                    p.name,
                    p.status,
                    p.merged_into,
                    p.changed_at,
                ]
            })
            .collect(),
    )
}

async fn page_import(
    State(state): State<AppState>,
    me: SignedIn,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    me.require(PLACE_KEEPERS)?;
    let unreadable = || {
        AppError::Invalid(vec![FieldError::new(
            "file",
            "the upload could not be read",
        )])
    };
    let (mut token, mut bytes) = (None, Vec::new());
    while let Some(field) = multipart.next_field().await.map_err(|_| unreadable())? {
        match field.name() {
            Some("csrf_token") => token = field.text().await.ok(),
            Some("file") => bytes = field.bytes().await.map_err(|_| unreadable())?.to_vec(),
            _ => {}
        }
    }
    me.check_csrf(token.as_deref())?;
    let rows = if bytes.is_empty() {
        Err("choose a CSV file".to_string())
    } else {
        parse_csv(&bytes)
    };
    let rows = match rows {
        Ok(rows) => rows,
        Err(problem) => {
            let err = AppError::Invalid(vec![FieldError::new("file", problem)]);
            return refused(&state, &me, err, "", BTreeMap::new()).await;
        }
    };
    let answer = save(&state, &me, rows.clone(), true).await?;
    // Lines count from 2: the header is line 1.
    let preview = context! {
        outcomes => answer.outcomes.iter().map(|o| context! { line => o.index + 2, kind => o.kind, code => o.code, outcome => o.outcome }).collect::<Vec<_>>(),
        problems => answer.rejected.iter().map(|r| context! { line => r.index + 2, field => r.field, reason => r.reason }).collect::<Vec<_>>(),
        rows => rows.len(),
        content => base64::engine::general_purpose::STANDARD.encode(&bytes),
    };
    let html = show(
        &state,
        &me,
        &PageQuery::default(),
        BTreeMap::new(),
        BTreeMap::new(),
        Some(preview),
    )
    .await?;
    Ok(html.into_response())
}

#[derive(Deserialize, Default)]
// Every field optional here: a missing one is named by the service, after the role check.
#[serde(default)]
struct ConfirmForm {
    csrf_token: String,
    content: String,
}

async fn page_import_confirm(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, AppError> {
    me.require(PLACE_KEEPERS)?;
    me.check_csrf(Some(&form.csrf_token))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(form.content.trim())
        .map_err(|_| {
            AppError::Invalid(vec![FieldError::new(
                "file",
                "the upload could not be read",
            )])
        })?;
    let rows =
        parse_csv(&bytes).map_err(|e| AppError::Invalid(vec![FieldError::new("file", e)]))?;
    let answer = save(&state, &me, rows, false).await?;
    if let Some(problem) = answer.rejected.first() {
        return Err(AppError::Invalid(vec![FieldError::new(
            "file",
            format!(
                "line {}: {}: {}",
                problem.index + 2,
                problem.field,
                problem.reason
            ),
        )]));
    }
    Ok(Redirect::to(&format!(
        "/admin/places?notice=imported-{}",
        answer.outcomes.len()
    ))
    .into_response())
}

#[derive(Deserialize, Default)]
// Every field optional here: a missing one is named by the service, after the role check.
#[serde(default)]
struct RetireForm {
    csrf_token: String,
    kind: String,
    code: String,
    /// "retire" or "restore".
    action: String,
}

async fn page_retire(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<RetireForm>,
) -> Result<Response, AppError> {
    me.require(PLACE_KEEPERS)?;
    me.check_csrf(Some(&form.csrf_token))?;
    let retired = form.action != "restore";
    retire(&state, &me, form.kind, form.code, retired).await?;
    let notice = if retired { "retired" } else { "restored" };
    Ok(Redirect::to(&format!("/admin/places?notice={notice}")).into_response())
}

#[derive(Deserialize)]
struct MergeForm {
    csrf_token: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    into: String,
}

async fn page_merge(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<MergeForm>,
) -> Result<Response, AppError> {
    me.require(PLACE_KEEPERS)?;
    me.check_csrf(Some(&form.csrf_token))?;
    let request = feedback::MergePlaceRequest {
        kind: form.kind.clone(),
        code: form.code.clone(),
        into: form.into.clone(),
    };
    match merge_into(&state, &me, request).await {
        Ok(_) => Ok(Redirect::to("/admin/places?notice=merged").into_response()),
        Err(err) => {
            let typed = BTreeMap::from([
                ("merge_kind", form.kind),
                ("merge_code", form.code),
                ("merge_into", form.into),
            ]);
            refused(&state, &me, err, "merge_", typed).await
        }
    }
}

#[derive(Deserialize, Default)]
// Every field optional here: a missing one is named by the service, after the role check.
#[serde(default)]
struct MapForm {
    csrf_token: String,
    kind: String,
    value: String,
    #[serde(default)]
    code: String,
}

async fn page_map(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<MapForm>,
) -> Result<Response, AppError> {
    me.require(PLACE_KEEPERS)?;
    me.check_csrf(Some(&form.csrf_token))?;
    let request = feedback::MapHeldPlaceRequest {
        kind: form.kind,
        value: form.value,
        code: form.code,
    };
    match map_held(&state, &me, request).await {
        Ok(n) => Ok(Redirect::to(&format!("/admin/places?notice=mapped-{n}")).into_response()),
        Err(err) => refused(&state, &me, err, "map_", BTreeMap::new()).await,
    }
}

/// The trust's places (every reader of figures; retired and merged with `include_retired`).
#[utoipa::path(get, path = "/api/v1/places", params(ListPlacesQuery),
    responses((status = 200, body = PlaceListBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_places(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ListPlacesQuery>,
) -> ApiResult<Json<PlaceListBody>> {
    let places = list(&state, &me, &q.kind, q.include_retired).await?;
    Ok(Json(PlaceListBody {
        places: places.into_iter().map(PlaceBody::from).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct SavePlacesBody {
    /// 1 to 2,000 places: new codes are added, listed ones renamed.
    pub places: Vec<PlaceBody>,
    /// Say what would happen, and save nothing.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PlaceOutcomeBody {
    /// The place's position in `places`, from 0.
    pub index: u32,
    pub kind: String,
    pub code: String,
    /// added, renamed or unchanged.
    pub outcome: String,
}

#[derive(Serialize, ToSchema)]
pub struct SavePlacesAnswer {
    pub saved: bool,
    pub outcomes: Vec<PlaceOutcomeBody>,
}

/// Add or rename places (administrators). All or nothing: any row refused is a 422 naming
/// `places[i].field`; with `dry_run` the answer says what would happen.
#[utoipa::path(post, path = "/api/v1/places", request_body = SavePlacesBody,
    responses((status = 200, body = SavePlacesAnswer), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_places(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Json(body): Json<SavePlacesBody>,
) -> ApiResult<Json<SavePlacesAnswer>> {
    csrf(&me, &headers)?;
    let rows = body
        .places
        .into_iter()
        .map(|p| feedback::PlaceInput {
            kind: p.kind,
            code: p.code,
            name: p.name,
        })
        .collect();
    let answer = save(&state, &me, rows, body.dry_run).await?;
    if !answer.rejected.is_empty() {
        return Err(AppError::Invalid(
            answer
                .rejected
                .into_iter()
                .map(|r| FieldError::new(format!("places[{}].{}", r.index, r.field), r.reason))
                .collect(),
        )
        .into());
    }
    Ok(Json(SavePlacesAnswer {
        saved: answer.saved,
        outcomes: answer
            .outcomes
            .into_iter()
            .map(|o| PlaceOutcomeBody {
                index: o.index,
                kind: o.kind,
                code: o.code,
                outcome: o.outcome,
            })
            .collect(),
    }))
}

/// Retire a place: responses naming it are refused from now on; its figures stay.
#[utoipa::path(post, path = "/api/v1/places/{kind}/{code}/retire",
    params(("kind" = String, Path), ("code" = String, Path)),
    responses((status = 200, body = PlaceBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn retire_place(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path((kind, code)): Path<(String, String)>,
) -> ApiResult<Json<PlaceBody>> {
    csrf(&me, &headers)?;
    Ok(Json(retire(&state, &me, kind, code, true).await?.into()))
}

/// List a retired place again.
#[utoipa::path(post, path = "/api/v1/places/{kind}/{code}/restore",
    params(("kind" = String, Path), ("code" = String, Path)),
    responses((status = 200, body = PlaceBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn restore_place(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path((kind, code)): Path<(String, String)>,
) -> ApiResult<Json<PlaceBody>> {
    csrf(&me, &headers)?;
    Ok(Json(retire(&state, &me, kind, code, false).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct MergeBody {
    /// An active place of the same kind.
    pub into: String,
}

/// Merge a place into another: its responses count as the other's, then and from now on.
#[utoipa::path(post, path = "/api/v1/places/{kind}/{code}/merge", request_body = MergeBody,
    params(("kind" = String, Path), ("code" = String, Path)),
    responses((status = 200, body = PlaceBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn merge_place(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path((kind, code)): Path<(String, String)>,
    Json(body): Json<MergeBody>,
) -> ApiResult<Json<PlaceBody>> {
    csrf(&me, &headers)?;
    let request = feedback::MergePlaceRequest {
        kind,
        code,
        into: body.into,
    };
    Ok(Json(merge_into(&state, &me, request).await?.into()))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub code: String,
    /// 1 to 500 (100 when not given).
    #[serde(default)]
    pub limit: u32,
}

#[derive(Serialize, ToSchema)]
pub struct PlaceChangeBody {
    pub kind: String,
    pub code: String,
    /// added, renamed, retired, restored, merged, merged_from or mapped.
    pub action: String,
    pub detail: String,
    pub by: String,
    pub at: String,
}

/// Every change to the trust's places, newest first.
#[utoipa::path(get, path = "/api/v1/places/history", params(HistoryQuery),
    responses((status = 200, body = [PlaceChangeBody]), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn place_history(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<Vec<PlaceChangeBody>>> {
    let request = feedback::ListPlaceHistoryRequest {
        kind: q.kind,
        code: q.code,
        limit: q.limit,
    };
    let changes = history(&state, &me, request).await?;
    Ok(Json(
        changes
            .into_iter()
            .map(|c| PlaceChangeBody {
                kind: c.kind,
                code: c.code,
                action: c.action,
                detail: c.detail,
                by: c.by,
                at: c.at,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct HeldPlaceBody {
    pub kind: String,
    pub value: String,
    pub responses: u64,
}

#[derive(Serialize, ToSchema)]
pub struct HeldPlacesBody {
    /// By kind, most responses first; at most 500.
    pub held: Vec<HeldPlaceBody>,
    pub total_values: u64,
}

/// Values responses carried before the lists existed, to map (administrators and engagement
/// leads: they may be what a respondent typed; each read is audited).
#[utoipa::path(get, path = "/api/v1/places/held",
    responses((status = 200, body = HeldPlacesBody), (status = 403, body = ErrorBody)))]
pub async fn held_places(
    State(state): State<AppState>,
    me: SignedIn,
) -> ApiResult<Json<HeldPlacesBody>> {
    let held = held(&state, &me).await?;
    Ok(Json(HeldPlacesBody {
        held: held
            .held
            .into_iter()
            .map(|h| HeldPlaceBody {
                kind: h.kind,
                value: h.value,
                responses: h.responses,
            })
            .collect(),
        total_values: held.total_values,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct MapHeldBody {
    pub kind: String,
    pub value: String,
    /// A listed place, or empty to leave the responses' place not known.
    #[serde(default)]
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct MappedBody {
    pub responses: u64,
}

/// Map a held value to a listed place (or leave it not known): the figures are recounted.
#[utoipa::path(post, path = "/api/v1/places/held/map", request_body = MapHeldBody,
    responses((status = 200, body = MappedBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn map_held_place(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Json(body): Json<MapHeldBody>,
) -> ApiResult<Json<MappedBody>> {
    csrf(&me, &headers)?;
    let request = feedback::MapHeldPlaceRequest {
        kind: body.kind,
        value: body.value,
        code: body.code,
    };
    Ok(Json(MappedBody {
        responses: map_held(&state, &me, request).await?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_places_file_is_read_by_its_header_and_refused_whole_without_it() {
        let rows =
            parse_csv(b"\xef\xbb\xbfCode,Kind,Name\nRGT01,site,Riverside\n,,\nMSK,pathway\n")
                .unwrap();
        let read: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|r| (r.kind.as_str(), r.code.as_str(), r.name.as_str()))
            .collect();
        assert_eq!(
            read,
            [("site", "RGT01", "Riverside"), ("pathway", "MSK", "")]
        );
        assert!(parse_csv(b"site,name\nRGT01,x\n")
            .unwrap_err()
            .contains("kind, code"));
        assert!(parse_csv(b"kind,code\n").unwrap_err().contains("no places"));
    }
}
