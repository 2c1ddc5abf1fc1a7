//! The comments part of the JSON API: comments with their themes (staff only), corrections,
//! counts by theme, and the trust's themes model with its retraining.

use alongside_proto::common::v1::PageInfo;
use alongside_proto::feedback::v1 as feedback;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::{csrf, ApiResult, Page};
use crate::error::ErrorBody;
use crate::session::SignedIn;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/feedback/comments", get(list_comments))
        .route("/api/v1/feedback/comments/{id}", get(get_comment))
        .route(
            "/api/v1/feedback/comments/{id}/correction",
            post(correct_comment),
        )
        .route("/api/v1/feedback/theme-summary", get(theme_summary))
        .route("/api/v1/feedback/theme-model", get(theme_model))
        .route("/api/v1/feedback/theme-model/retraining", post(retrain))
}

#[derive(Serialize, ToSchema)]
pub struct CommentBody {
    id: String,
    /// worked_well or could_improve.
    question: String,
    /// May hold names: staff only.
    text: String,
    responded_on: String,
    /// The FFT answer given with it: very_good … dont_know.
    answer: String,
    source: String,
    /// Category codes of NHS England's framework (v7).
    categories: Vec<String>,
    /// 1 (very positive) to 5 (very negative); 0 for none.
    sentiment: u32,
    /// model or staff.
    labelled_by: String,
    /// What the model said, when staff have corrected it.
    model_categories: Vec<String>,
    model_sentiment: u32,
    corrected_at: String,
}

impl From<feedback::Comment> for CommentBody {
    fn from(c: feedback::Comment) -> Self {
        Self {
            answer: feedback::FftAnswer::try_from(c.answer)
                .map(|a| a.code())
                .unwrap_or("")
                .to_string(),
            id: c.id,
            question: c.question,
            text: c.text,
            responded_on: c.responded_on,
            source: c.source,
            categories: c.categories,
            sentiment: c.sentiment,
            labelled_by: c.labelled_by,
            model_categories: c.model_categories,
            model_sentiment: c.model_sentiment,
            corrected_at: c.corrected_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CommentList {
    items: Vec<CommentBody>,
    page: Page,
}

#[derive(Deserialize, IntoParams)]
pub struct CommentParams {
    page: Option<u32>,
    /// Default 25, at most 200.
    page_size: Option<u32>,
    /// First month, YYYY-MM.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// A category code.
    #[serde(default)]
    category: String,
    /// A major category's name.
    #[serde(default)]
    major: String,
    /// 1 to 5.
    sentiment: Option<u32>,
    /// worked_well or could_improve.
    #[serde(default)]
    question: String,
    /// model or staff.
    #[serde(default)]
    labelled_by: String,
    /// newest (default) or oldest.
    #[serde(default)]
    sort: String,
}

/// Comments of the caller's trust with their themes, newest first. Staff, leads and admins
/// only; each listing is audited.
#[utoipa::path(get, path = "/api/v1/feedback/comments", params(CommentParams),
    responses((status = 200, body = CommentList), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_comments(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<CommentParams>,
) -> ApiResult<Json<CommentList>> {
    let page = q.page.unwrap_or(1).max(1);
    let page_size = q.page_size.unwrap_or(25);
    let listed = state
        .clients
        .feedback()
        .list_comments(state.clients.request(
            &me.caller,
            feedback::ListCommentsRequest {
                from_month: q.from,
                to_month: q.to,
                category: q.category,
                major: q.major,
                sentiment: q.sentiment.unwrap_or(0),
                question: q.question,
                labelled_by: q.labelled_by,
                page,
                page_size,
                sort: q.sort,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(CommentList {
        page: Page::from(Some(PageInfo {
            page,
            page_size: if page_size == 0 { 25 } else { page_size },
            total: listed.total,
        })),
        items: listed.comments.into_iter().map(Into::into).collect(),
    }))
}

/// One comment (audited).
#[utoipa::path(get, path = "/api/v1/feedback/comments/{id}",
    responses((status = 200, body = CommentBody), (status = 404, body = ErrorBody)))]
pub async fn get_comment(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<CommentBody>> {
    let c = state
        .clients
        .feedback()
        .get_comment(
            state
                .clients
                .request(&me.caller, feedback::GetCommentRequest { id }),
        )
        .await?
        .into_inner();
    Ok(Json(c.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct CommentCorrectionBody {
    /// At least one category code; labelling_not_possible and not_assigned stand alone.
    categories: Vec<String>,
    /// 1 to 5; 0 only with labelling_not_possible.
    sentiment: u32,
}

/// Corrects a comment's themes and sentiment. Corrections count at once and are used when the
/// trust's model is next retrained.
#[utoipa::path(post, path = "/api/v1/feedback/comments/{id}/correction", request_body = CommentCorrectionBody,
    responses((status = 200, body = CommentBody), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn correct_comment(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<CommentCorrectionBody>,
) -> ApiResult<Json<CommentBody>> {
    csrf(&me, &headers)?;
    let c = state
        .clients
        .feedback()
        .correct_comment(state.clients.request(
            &me.caller,
            feedback::CorrectCommentRequest {
                id,
                categories: b.categories,
                sentiment: b.sentiment,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(c.into()))
}

#[derive(Deserialize, IntoParams)]
pub struct MonthParams {
    /// First month, YYYY-MM.
    #[serde(default)]
    from: String,
    /// Last month, YYYY-MM.
    #[serde(default)]
    to: String,
    /// Comments given with responses of this pathway only (theme summary).
    #[serde(default)]
    pathway: String,
}

#[derive(Serialize, ToSchema)]
pub struct ThemeCountBody {
    code: String,
    name: String,
    major: String,
    comments: u64,
    positive: u64,
    neutral: u64,
    negative: u64,
    /// For analysts and administrators, who do not read comments: true (every count 0) when a
    /// month of the period had 1 to 4 comments about the theme or 1 to 4 in all.
    hidden: bool,
    /// For them too: the split by sentiment alone hidden (0s), a month having 1 to 4 of one.
    sentiment_hidden: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ThemeSummaryBody {
    comments: u64,
    corrected: u64,
    /// Comments by sentiment 1 (very positive) to 5 (very negative).
    sentiment: Vec<u64>,
    /// For analysts and administrators: the split by sentiment hidden (0s), a month of the
    /// period having 1 to 4 comments of one sentiment.
    sentiment_hidden: bool,
    /// Every category of the framework, in its order.
    categories: Vec<ThemeCountBody>,
}

/// Comments counted by theme and sentiment: aggregates, which analysts may read.
#[utoipa::path(get, path = "/api/v1/feedback/theme-summary", params(MonthParams),
    responses((status = 200, body = ThemeSummaryBody), (status = 422, body = ErrorBody)))]
pub async fn theme_summary(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<MonthParams>,
) -> ApiResult<Json<ThemeSummaryBody>> {
    let s = state
        .clients
        .feedback()
        .get_theme_summary(state.clients.request(
            &me.caller,
            feedback::GetThemeSummaryRequest {
                from_month: q.from,
                to_month: q.to,
                pathway: q.pathway,
                trusts: Vec::new(),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(ThemeSummaryBody {
        comments: s.comments,
        corrected: s.corrected,
        sentiment: s.sentiment,
        categories: s
            .categories
            .into_iter()
            .map(|c| ThemeCountBody {
                code: c.code,
                name: c.name,
                major: c.major,
                comments: c.comments,
                positive: c.positive,
                neutral: c.neutral,
                negative: c.negative,
                hidden: c.hidden,
                sentiment_hidden: c.sentiment_hidden,
            })
            .collect(),
        sentiment_hidden: s.sentiment_hidden,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ThemeModelBody {
    /// shipped-… or the retraining that made it.
    version: String,
    description: String,
    /// F1 on the public test split (0-1), and the shipped model's.
    micro_f1: f64,
    macro_f1: f64,
    sentiment_macro_f1: f64,
    shipped_micro_f1: f64,
    shipped_macro_f1: f64,
    shipped_sentiment_macro_f1: f64,
    corrections: u64,
    labelled: u64,
    to_label: u64,
    /// queued, running, done or failed; empty when never retrained.
    training_status: String,
    training_done: u32,
    training_total: u32,
    training_error: String,
}

impl From<feedback::ThemeModelStatus> for ThemeModelBody {
    fn from(s: feedback::ThemeModelStatus) -> Self {
        let t = s.training.unwrap_or_default();
        Self {
            version: s.version,
            description: s.description,
            micro_f1: s.micro_f1,
            macro_f1: s.macro_f1,
            sentiment_macro_f1: s.sentiment_macro_f1,
            shipped_micro_f1: s.shipped_micro_f1,
            shipped_macro_f1: s.shipped_macro_f1,
            shipped_sentiment_macro_f1: s.shipped_sentiment_macro_f1,
            corrections: s.corrections,
            labelled: s.labelled,
            to_label: s.to_label,
            training_status: t.status,
            training_done: t.done,
            training_total: t.total,
            training_error: t.error,
        }
    }
}

/// The themes model the caller's trust uses, its figures and its latest retraining.
#[utoipa::path(get, path = "/api/v1/feedback/theme-model",
    responses((status = 200, body = ThemeModelBody)))]
pub async fn theme_model(
    State(state): State<AppState>,
    me: SignedIn,
) -> ApiResult<Json<ThemeModelBody>> {
    let s = state
        .clients
        .feedback()
        .get_theme_model(
            state
                .clients
                .request(&me.caller, feedback::GetThemeModelRequest {}),
        )
        .await?
        .into_inner();
    Ok(Json(s.into()))
}

/// Starts retraining the trust's model with its corrections (leads and admins). 409 when one is
/// under way or there are no corrections.
#[utoipa::path(post, path = "/api/v1/feedback/theme-model/retraining",
    responses((status = 200, body = ThemeModelBody), (status = 409, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn retrain(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
) -> ApiResult<Json<ThemeModelBody>> {
    csrf(&me, &headers)?;
    let s = state
        .clients
        .feedback()
        .retrain_themes(
            state
                .clients
                .request(&me.caller, feedback::RetrainThemesRequest {}),
        )
        .await?
        .into_inner();
    Ok(Json(s.into()))
}
