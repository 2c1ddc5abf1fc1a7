//! Free-text comments' themes: counts by theme for everyone who reads feedback, the comments
//! themselves for staff (they may hold names; each list and read is audited by feedback), their
//! correction, and the trust's themes model with its retraining.

use std::collections::BTreeMap;

use alongside_proto::feedback::v1 as feedback;
use alongside_themes::{Category, Sentiment, CATEGORIES, MAJORS, NOT_ASSIGNED};
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use minijinja::{context, Value};
use serde::Deserialize;

use crate::access::{COMMENT_READERS, THEME_MODEL_TRAINERS, THEME_READERS};
use crate::error::AppError;
use crate::pages::{
    base, csv_response, errors_map, export_rows, merge, page_value, posted, posted_all, render,
    share, EXPORT_PAGE,
};
use crate::session::SignedIn;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/feedback/themes", get(themes))
        .route("/feedback/themes.csv", get(themes_csv))
        .route("/feedback/themes/model", get(model).post(retrain))
        .route("/feedback/comments", get(comments))
        .route("/feedback/comments.csv", get(comments_csv))
        .route("/feedback/comments/{id}", get(comment).post(correct))
}

pub(crate) fn name_of(code: &str) -> &'static str {
    alongside_themes::framework::by_code(code).map_or("Unknown", |c| c.name)
}

fn sentiment_label(score: u32) -> &'static str {
    u8::try_from(score)
        .ok()
        .and_then(Sentiment::from_score)
        .map_or("None", |s| s.label())
}

/// The framework's categories that `include` keeps, grouped by major category, for choosing
/// themes with checkboxes (a comment's correction, a complaint's themes).
pub(crate) fn theme_groups(include: impl Fn(&Category) -> bool, chosen: &[String]) -> Vec<Value> {
    MAJORS
        .iter()
        .enumerate()
        .map(|(g, major)| {
            let options: Vec<Value> = CATEGORIES
                .iter()
                .chain([&NOT_ASSIGNED])
                .filter(|c| c.major == *major && include(c))
                .map(|c| context! { code => c.code, name => c.name, checked => chosen.iter().any(|x| x == c.code) })
                .collect();
            context! { major => major, index => g, options => options }
        })
        .collect()
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Period {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

async fn summary(
    state: &AppState,
    me: &SignedIn,
    period: &Period,
) -> Result<feedback::ThemeSummary, AppError> {
    Ok(state
        .clients
        .feedback()
        .get_theme_summary(state.clients.request(
            &me.caller,
            feedback::GetThemeSummaryRequest {
                from_month: period.from.trim().into(),
                to_month: period.to.trim().into(),
                pathway: String::new(),
                trusts: Vec::new(),
            },
        ))
        .await?
        .into_inner())
}

async fn themes(
    State(state): State<AppState>,
    me: SignedIn,
    Query(period): Query<Period>,
) -> Result<Response, AppError> {
    me.require(THEME_READERS)?;
    let (found, errors) = match summary(&state, &me, &period).await {
        Ok(s) => (s, BTreeMap::new()),
        Err(err @ AppError::Invalid(_)) => (Default::default(), errors_map(&err)),
        Err(err) => return Err(err),
    };
    let can_read = me.has_role(COMMENT_READERS);
    let groups: Vec<Value> = MAJORS
        .iter()
        .map(|major| {
            let rows: Vec<Value> = found
                .categories
                .iter()
                .filter(|c| c.major == *major)
                .map(|c| {
                    // Hidden for readers of figures only: what a few people wrote about.
                    let of = |n: u64| if c.sentiment_hidden { "hidden".to_string() } else { share(n, c.comments) };
                    context! { code => c.code, name => c.name, comments => if c.hidden { "hidden".to_string() } else { c.comments.to_string() }, positive => of(c.positive), neutral => of(c.neutral), negative => of(c.negative), of_all => if c.hidden { "hidden".to_string() } else { share(c.comments, found.comments) } }
                })
                .collect();
            let total: u64 = found.categories.iter().filter(|c| c.major == *major).map(|c| c.comments).sum();
            context! { major => major, rows => rows, total => total }
        })
        .collect();
    let sentiment: Vec<Value> = Sentiment::ALL
        .iter()
        .zip(found.sentiment.iter().chain(std::iter::repeat(&0)))
        .map(|(s, n)| {
            let hidden = found.sentiment_hidden;
            context! { score => s.score(), label => s.label(), comments => if hidden { "hidden".to_string() } else { n.to_string() }, share => if hidden { "hidden".to_string() } else { share(*n, found.comments) } }
        })
        .collect();
    let status = if errors.is_empty() {
        http::StatusCode::OK
    } else {
        http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let html = render(
        &state,
        "themes.html",
        merge(
            base(&me, "/feedback/themes", "Themes in comments"),
            context! { groups => groups, sentiment => sentiment, comments => found.comments, corrected => found.corrected, period => context! { from => period.from, to => period.to }, errors => errors, can_read => can_read },
        ),
    )?;
    Ok((status, html).into_response())
}

async fn themes_csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(period): Query<Period>,
) -> Result<Response, AppError> {
    me.require(THEME_READERS)?;
    let found = summary(&state, &me, &period).await?;
    let rows = found
        .categories
        .iter()
        .map(|c| {
            vec![
                c.major.clone(),
                c.name.clone(),
                c.code.clone(),
                c.comments.to_string(),
                c.positive.to_string(),
                c.neutral.to_string(),
                c.negative.to_string(),
            ]
        })
        .collect();
    csv_response(
        "themes.csv",
        &[
            "major_category",
            "category",
            "code",
            "comments",
            "positive",
            "neutral",
            "negative",
        ],
        rows,
    )
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CommentQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    major: String,
    #[serde(default)]
    sentiment: String,
    #[serde(default)]
    question: String,
    #[serde(default)]
    labelled_by: String,
    #[serde(default)]
    sort: String,
    page: Option<u32>,
    #[serde(default)]
    notice: String,
}

impl CommentQuery {
    fn request(&self, page: u32, page_size: u32) -> feedback::ListCommentsRequest {
        feedback::ListCommentsRequest {
            from_month: self.from.trim().into(),
            to_month: self.to.trim().into(),
            category: self.category.clone(),
            major: self.major.clone(),
            // A value that is not a number asks for an impossible sentiment, which is refused.
            sentiment: match self.sentiment.as_str() {
                "" => 0,
                s => s.parse().unwrap_or(99),
            },
            question: self.question.clone(),
            labelled_by: self.labelled_by.clone(),
            page,
            page_size,
            sort: self.sort.clone(),
        }
    }

    fn query(&self) -> String {
        crate::pages::query_string(&[
            ("from", &self.from),
            ("to", &self.to),
            ("category", &self.category),
            ("major", &self.major),
            ("sentiment", &self.sentiment),
            ("question", &self.question),
            ("labelled_by", &self.labelled_by),
            ("sort", &self.sort),
        ])
    }
}

fn comment_value(c: &feedback::Comment) -> Value {
    let question = if c.question == "worked_well" {
        "What worked well"
    } else {
        "What could be improved"
    };
    context! {
        id => c.id, text => c.text, responded_on => c.responded_on, question => question,
        categories => c.categories.iter().map(|code| name_of(code)).collect::<Vec<_>>(),
        sentiment => sentiment_label(c.sentiment),
        corrected => c.labelled_by == "staff",
        model_categories => c.model_categories.iter().map(|code| name_of(code)).collect::<Vec<_>>(),
        model_sentiment => sentiment_label(c.model_sentiment),
    }
}

fn category_options() -> Vec<(String, String)> {
    let mut out = vec![(String::new(), "Any theme".to_string())];
    out.extend(
        CATEGORIES
            .iter()
            .chain([&NOT_ASSIGNED])
            .map(|c| (c.code.to_string(), format!("{} ({})", c.name, c.major))),
    );
    out
}

async fn comments(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<CommentQuery>,
) -> Result<Response, AppError> {
    me.require(COMMENT_READERS)?;
    let listed = state
        .clients
        .feedback()
        .list_comments(
            state
                .clients
                .request(&me.caller, q.request(q.page.unwrap_or(1), 25)),
        )
        .await
        .map_err(AppError::from);
    let (listed, errors) = match listed {
        Ok(answer) => (answer.into_inner(), BTreeMap::new()),
        Err(err @ AppError::Invalid(_)) => (Default::default(), errors_map(&err)),
        Err(err) => return Err(err),
    };
    let filters = q.query();
    let mut majors = vec![(String::new(), "Any major category".to_string())];
    majors.extend(MAJORS.iter().map(|m| (m.to_string(), m.to_string())));
    let mut sentiments = vec![(String::new(), "Any sentiment".to_string())];
    sentiments.extend(
        Sentiment::ALL
            .iter()
            .map(|s| (s.score().to_string(), s.label().to_string())),
    );
    let status = if errors.is_empty() {
        http::StatusCode::OK
    } else {
        http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = page_value(Some(alongside_proto::common::v1::PageInfo {
        page: q.page.unwrap_or(1).max(1),
        page_size: 25,
        total: listed.total,
    }));
    let notice = (q.notice == "corrected").then_some(
        "Correction saved. It counts from now, and is used when the model is next retrained.",
    );
    let html = render(
        &state,
        "comments.html",
        merge(
            base(&me, "/feedback/themes", "Comments"),
            context! {
                comments => listed.comments.iter().map(comment_value).collect::<Vec<_>>(),
                total => listed.total, page => page,
                query_base => format!("/feedback/comments?{filters}&"), csv_query => filters,
                back => format!("/feedback/comments?{filters}"),
                filter => context! { from => q.from, to => q.to, category => q.category, major => q.major, sentiment => q.sentiment, question => q.question, labelled_by => q.labelled_by, sort => q.sort },
                categories => category_options(), majors => majors, sentiments => sentiments,
                questions => [("", "Either question"), ("worked_well", "What worked well"), ("could_improve", "What could be improved")],
                labelled => [("", "By the model or staff"), ("model", "By the model"), ("staff", "Corrected by staff")],
                sorts => [("newest", "Newest first"), ("oldest", "Oldest first")],
                errors => errors, notice => notice,
            },
        ),
    )?;
    Ok((status, html).into_response())
}

/// Comments as CSV: the text goes with them, so only staff may download (each row's read is
/// audited by feedback). Up to 5,000 rows, the filters applied.
async fn comments_csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<CommentQuery>,
) -> Result<Response, AppError> {
    me.require(COMMENT_READERS)?;
    let (state, me, q) = (&state, &me, &q);
    let listed = export_rows(|page| async move {
        Ok(state
            .clients
            .feedback()
            .list_comments(
                state
                    .clients
                    .request(&me.caller, q.request(page, EXPORT_PAGE)),
            )
            .await?
            .into_inner()
            .comments)
    })
    .await?;
    let rows = listed
        .into_iter()
        .map(|c| {
            vec![
                c.responded_on,
                c.question,
                c.text,
                c.categories
                    .iter()
                    .map(|code| name_of(code))
                    .collect::<Vec<_>>()
                    .join("; "),
                sentiment_label(c.sentiment).to_string(),
                c.labelled_by,
            ]
        })
        .collect();
    csv_response(
        "comments.csv",
        &[
            "responded_on",
            "question",
            "comment",
            "themes",
            "sentiment",
            "labelled_by",
        ],
        rows,
    )
}

#[derive(Deserialize, Default)]
pub struct Back {
    #[serde(default)]
    back: String,
}

/// Only a comments list of this site may be gone back to.
fn safe_back(back: &str) -> String {
    if back.starts_with("/feedback/comments") && !back.contains("//") {
        back.to_string()
    } else {
        "/feedback/comments".into()
    }
}

async fn comment_page(
    state: &AppState,
    me: &SignedIn,
    id: &str,
    back: &str,
    chosen: Option<(Vec<String>, String)>,
    errors: BTreeMap<String, String>,
) -> Result<Html<String>, AppError> {
    let c = state
        .clients
        .feedback()
        .get_comment(
            state
                .clients
                .request(&me.caller, feedback::GetCommentRequest { id: id.into() }),
        )
        .await?
        .into_inner();
    let (codes, sentiment) =
        chosen.unwrap_or_else(|| (c.categories.clone(), c.sentiment.to_string()));
    let groups = theme_groups(|_| true, &codes);
    let mut sentiments: Vec<(String, String)> = Sentiment::ALL
        .iter()
        .map(|s| (s.score().to_string(), s.label().to_string()))
        .collect();
    sentiments.push(("0".into(), "None (the comment cannot be labelled)".into()));
    render(
        state,
        "comment.html",
        merge(
            base(me, "/feedback/themes", "Correct a comment's themes"),
            context! { comment => comment_value(&c), groups => groups, sentiments => sentiments, sentiment => sentiment, errors => errors, back => safe_back(back) },
        ),
    )
}

async fn comment(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<Back>,
) -> Result<Html<String>, AppError> {
    me.require(COMMENT_READERS)?;
    comment_page(&state, &me, &id, &q.back, None, BTreeMap::new()).await
}

async fn correct(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let value = |key: &str| posted(&form, key).unwrap_or_default().to_string();
    me.check_csrf(Some(&value("csrf_token")))?;
    me.require(COMMENT_READERS)?;
    let categories = posted_all(&form, "categories");
    let sentiment = value("sentiment");
    let back = safe_back(&value("back"));
    let result = state
        .clients
        .feedback()
        .correct_comment(state.clients.request(
            &me.caller,
            feedback::CorrectCommentRequest {
                id: id.clone(),
                categories: categories.clone(),
                sentiment: sentiment.parse().unwrap_or(99),
            },
        ))
        .await
        .map_err(AppError::from);
    match result {
        Ok(_) => {
            let sep = if back.contains('?') { '&' } else { '?' };
            Ok(Redirect::to(&format!("{back}{sep}notice=corrected")).into_response())
        }
        Err(err @ AppError::Invalid(_)) => {
            let html = comment_page(
                &state,
                &me,
                &id,
                &back,
                Some((categories, sentiment)),
                errors_map(&err),
            )
            .await?;
            Ok((http::StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
        }
        Err(err) => Err(err),
    }
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

async fn model_page(
    state: &AppState,
    me: &SignedIn,
    problem: Option<String>,
    notice: Option<&str>,
) -> Result<Html<String>, AppError> {
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
    let training = s.training.as_ref().map(|t| {
        context! {
            status => t.status, done => t.done, total => t.total, corrections => t.corrections,
            requested_at => t.requested_at.get(..16).unwrap_or("").replace('T', " "),
            finished_at => t.finished_at.get(..16).unwrap_or("").replace('T', " "),
            error => t.error,
            under_way => matches!(t.status.as_str(), "queued" | "running"),
        }
    });
    let errors: BTreeMap<String, String> = problem
        .iter()
        .map(|p| ("retrain".to_string(), p.clone()))
        .collect();
    render(
        state,
        "theme_model.html",
        merge(
            base(me, "/feedback/themes", "The themes model"),
            context! {
                shipped => s.version.starts_with("shipped-"), version => s.version, description => s.description,
                figures => [
                    ("Themes: micro-averaged F1", percent(s.micro_f1), percent(s.shipped_micro_f1)),
                    ("Themes: macro-averaged F1", percent(s.macro_f1), percent(s.shipped_macro_f1)),
                    ("Sentiment: macro-averaged F1", percent(s.sentiment_macro_f1), percent(s.shipped_sentiment_macro_f1)),
                ],
                corrections => s.corrections, labelled => s.labelled, to_label => s.to_label,
                training => training, can_retrain => me.has_role(THEME_MODEL_TRAINERS), errors => errors, problem => problem, notice => notice,
            },
        ),
    )
}

#[derive(Deserialize, Default)]
pub struct ModelQuery {
    #[serde(default)]
    notice: String,
}

async fn model(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ModelQuery>,
) -> Result<Html<String>, AppError> {
    me.require(THEME_READERS)?;
    let notice = (q.notice == "queued").then_some(
        "Retraining has started. It takes about a minute; this page shows how far it has got.",
    );
    model_page(&state, &me, None, notice).await
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: String,
}

async fn retrain(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    me.check_csrf(Some(&form.csrf_token))?;
    me.require(THEME_MODEL_TRAINERS)?;
    let result = state
        .clients
        .feedback()
        .retrain_themes(
            state
                .clients
                .request(&me.caller, feedback::RetrainThemesRequest {}),
        )
        .await
        .map_err(AppError::from);
    match result {
        Ok(_) => Ok(Redirect::to("/feedback/themes/model?notice=queued").into_response()),
        Err(AppError::Conflict(message)) => {
            let html = model_page(&state, &me, Some(message), None).await?;
            Ok((http::StatusCode::CONFLICT, html).into_response())
        }
        Err(err) => Err(err),
    }
}
