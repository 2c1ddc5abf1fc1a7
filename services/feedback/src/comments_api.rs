//! The comments part of feedback's API: listing and correcting comments' themes, counts by
//! theme, and the trust's themes model with its retraining.

use std::collections::BTreeMap;

use alongside_platform::error::Violations;
use alongside_platform::{audit, Caller, ServiceError};
use alongside_proto::feedback::v1::*;
use alongside_themes::{framework, Sentiment, CATEGORIES, MAJORS, NOT_ASSIGNED};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

use crate::api::{is_month, FeedbackApi};
use crate::comments::{self, split_codes, Relabel};
use crate::fft::answer_from_code;
use crate::themes;

const LABELLING_NOT_POSSIBLE: &str = "labelling_not_possible";

fn to_proto(c: comments::Model) -> Comment {
    let corrected = c.labelled_by == "staff";
    Comment {
        answer: answer_from_code(&c.answer) as i32,
        categories: split_codes(&c.categories),
        sentiment: c.sentiment.max(0) as u32,
        model_categories: if corrected {
            split_codes(&c.model_categories)
        } else {
            Vec::new()
        },
        model_sentiment: if corrected {
            c.model_sentiment.max(0) as u32
        } else {
            0
        },
        id: c.id,
        question: c.question,
        text: c.text,
        responded_on: c.responded_on,
        source: c.source,
        labelled_by: c.labelled_by,
        corrected_at: c.corrected_at,
    }
}

fn month_range(v: &mut Violations, from: &str, to: &str) {
    for (field, value) in [("from_month", from), ("to_month", to)] {
        v.check(
            value.is_empty() || is_month(value),
            field,
            "must be a month in the form YYYY-MM",
        );
    }
}

impl FeedbackApi {
    pub(crate) async fn list_comments(
        &self,
        caller: &Caller,
        r: ListCommentsRequest,
    ) -> Result<ListCommentsResponse, ServiceError> {
        let mut v = Violations::default();
        month_range(&mut v, &r.from_month, &r.to_month);
        v.check(
            r.category.is_empty() || framework::by_code(&r.category).is_some(),
            "category",
            "is not a category of the framework",
        );
        v.check(
            r.major.is_empty() || MAJORS.contains(&r.major.as_str()),
            "major",
            "is not a major category of the framework",
        );
        v.check(
            r.sentiment <= 5,
            "sentiment",
            "must be 1 to 5, or 0 for any",
        );
        v.check(
            matches!(r.question.as_str(), "" | "worked_well" | "could_improve"),
            "question",
            "must be worked_well or could_improve",
        );
        v.check(
            matches!(r.labelled_by.as_str(), "" | "model" | "staff"),
            "labelled_by",
            "must be model or staff",
        );
        v.check(r.page_size <= 200, "page_size", "must be at most 200");
        v.check(
            matches!(r.sort.as_str(), "" | "newest" | "oldest"),
            "sort",
            "must be newest or oldest",
        );
        v.finish()?;
        let mut query = comments::for_tenant(&caller.tenant);
        if !r.from_month.is_empty() {
            query = query.filter(comments::Column::Month.gte(&r.from_month));
        }
        if !r.to_month.is_empty() {
            query = query.filter(comments::Column::Month.lte(&r.to_month));
        }
        if !r.category.is_empty() {
            query =
                query.filter(comments::Column::Categories.contains(format!(",{},", r.category)));
        }
        if !r.major.is_empty() {
            let mut any = Condition::any();
            for c in CATEGORIES
                .iter()
                .chain([&NOT_ASSIGNED])
                .filter(|c| c.major == r.major)
            {
                any = any.add(comments::Column::Categories.contains(format!(",{},", c.code)));
            }
            query = query.filter(any);
        }
        if r.sentiment > 0 {
            query = query.filter(comments::Column::Sentiment.eq(r.sentiment as i32));
        }
        if !r.question.is_empty() {
            query = query.filter(comments::Column::Question.eq(&r.question));
        }
        if !r.labelled_by.is_empty() {
            query = query.filter(comments::Column::LabelledBy.eq(&r.labelled_by));
        }
        query = if r.sort == "oldest" {
            query
                .order_by_asc(comments::Column::RespondedOn)
                .order_by_asc(comments::Column::Id)
        } else {
            query
                .order_by_desc(comments::Column::RespondedOn)
                .order_by_desc(comments::Column::Id)
        };
        let page_size = if r.page_size == 0 { 25 } else { r.page_size } as u64;
        let paginator = query.paginate(&self.db, page_size);
        let total = paginator.num_items().await?;
        let rows = paginator.fetch_page(u64::from(r.page.max(1)) - 1).await?;
        let ids: Vec<String> = rows.iter().map(|c| c.id.clone()).collect();
        audit::record_each(&self.db, caller, "list", "comment", &ids).await?;
        Ok(ListCommentsResponse {
            comments: rows.into_iter().map(to_proto).collect(),
            total,
        })
    }

    async fn find(&self, caller: &Caller, id: &str) -> Result<comments::Model, ServiceError> {
        comments::for_tenant(&caller.tenant)
            .filter(comments::Column::Id.eq(id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ServiceError::not_found("comment", id))
    }

    pub(crate) async fn get_comment_of(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Comment, ServiceError> {
        let comment = self.find(caller, id).await?;
        audit::record(&self.db, caller, "read", "comment", id).await?;
        Ok(to_proto(comment))
    }

    pub(crate) async fn correct_comment(
        &self,
        caller: &Caller,
        r: CorrectCommentRequest,
    ) -> Result<Comment, ServiceError> {
        let mut v = Violations::default();
        let mut chosen = Vec::new();
        for code in &r.categories {
            match framework::by_code(code) {
                Some(c) if !chosen.contains(&c) => chosen.push(c),
                Some(_) => v.push("categories", format!("{code} is given twice")),
                None => v.push(
                    "categories",
                    format!("{code} is not a category of the framework"),
                ),
            }
        }
        v.check(
            !chosen.is_empty(),
            "categories",
            "choose at least one category",
        );
        let alone = chosen
            .iter()
            .any(|c| c.code == LABELLING_NOT_POSSIBLE || c.code == NOT_ASSIGNED.code);
        v.check(
            !alone || chosen.len() == 1,
            "categories",
            "\"Labelling not possible\" and \"Not assigned\" cannot be given with other categories",
        );
        let unreadable = chosen.iter().any(|c| c.code == LABELLING_NOT_POSSIBLE);
        if unreadable {
            v.check(
                r.sentiment == 0,
                "sentiment",
                "a comment that cannot be labelled has no sentiment",
            );
        } else {
            v.check(
                Sentiment::from_score(r.sentiment.min(255) as u8).is_some(),
                "sentiment",
                "choose a sentiment from 1 (very positive) to 5 (very negative)",
            );
        }
        v.finish()?;
        let comment = self.find(caller, &r.id).await?;
        let txn = self.db.begin().await?;
        comments::relabel(
            &txn,
            &comment,
            &chosen,
            r.sentiment as i32,
            Relabel::Staff {
                subject: &caller.subject,
                at: &self.clock.now_rfc3339(),
            },
        )
        .await?;
        audit::record(&txn, caller, "update", "comment", &r.id).await?;
        txn.commit().await?;
        Ok(to_proto(self.find(caller, &r.id).await?))
    }

    pub(crate) async fn theme_summary(
        &self,
        caller: &Caller,
        r: GetThemeSummaryRequest,
    ) -> Result<ThemeSummary, ServiceError> {
        let mut v = Violations::default();
        month_range(&mut v, &r.from_month, &r.to_month);
        let trusts = caller.trusts_asked(&r.trusts, &mut v);
        v.finish()?;
        let (from, to, pathway) = (&r.from_month, &r.to_month, &r.pathway);
        if trusts.is_empty() {
            let tenant = &caller.tenant;
            return if FIGURES_ONLY.contains(&caller.role) {
                Ok(protected_theme_figures(&self.db, tenant, from, to, pathway).await?)
            } else {
                Ok(theme_figures(&self.db, tenant, from, to, pathway).await?)
            };
        }
        // An ICS: every trust protected, then added up here so that no caller sums them.
        let mut each = Vec::with_capacity(trusts.len());
        for trust in &trusts {
            each.push(TrustThemeSummary {
                trust: trust.to_string(),
                summary: Some(protected_theme_figures(&self.db, trust, from, to, pathway).await?),
            });
        }
        let mut out = protected_sum(each.iter().filter_map(|t| t.summary.as_ref()));
        out.trusts = each;
        Ok(out)
    }

    pub(crate) async fn theme_model(
        &self,
        caller: &Caller,
    ) -> Result<ThemeModelStatus, ServiceError> {
        let in_use = self.models.for_tenant(&caller.tenant).await?;
        let shipped = themes::shipped_figures();
        let training = themes::latest_training(&self.db, &caller.tenant).await?;
        let figures = if in_use.version.starts_with("shipped-") {
            shipped
        } else {
            themes::training::Entity::find_by_id(in_use.version.clone())
                .one(&self.db)
                .await?
                .map(|t| themes::Figures {
                    micro_f1: t.micro_f1,
                    macro_f1: t.macro_f1,
                    sentiment_macro_f1: t.sentiment_macro_f1,
                })
                .unwrap_or_default()
        };
        let model_labelled =
            comments::for_tenant(&caller.tenant).filter(comments::Column::LabelledBy.ne("staff"));
        let labelled = model_labelled
            .clone()
            .filter(comments::Column::ModelVersion.eq(&in_use.version))
            .count(&self.db)
            .await?;
        let to_label = model_labelled
            .filter(comments::Column::ModelVersion.ne(&in_use.version))
            .count(&self.db)
            .await?;
        Ok(ThemeModelStatus {
            description: in_use.model.description.clone(),
            version: in_use.version,
            micro_f1: figures.micro_f1,
            macro_f1: figures.macro_f1,
            sentiment_macro_f1: figures.sentiment_macro_f1,
            corrections: themes::staff_corrections(&self.db, &caller.tenant).await?,
            labelled,
            to_label,
            training: training.map(|t| ThemeTraining {
                id: t.id,
                status: t.status,
                done: t.done.max(0) as u32,
                total: t.total.max(0) as u32,
                corrections: t.corrections.max(0) as u32,
                requested_at: t.requested_at,
                finished_at: t.finished_at,
                error: t.error,
                micro_f1: t.micro_f1,
                macro_f1: t.macro_f1,
                sentiment_macro_f1: t.sentiment_macro_f1,
            }),
            shipped_micro_f1: shipped.micro_f1,
            shipped_macro_f1: shipped.macro_f1,
            shipped_sentiment_macro_f1: shipped.sentiment_macro_f1,
        })
    }

    pub(crate) async fn retrain(&self, caller: &Caller) -> Result<ThemeModelStatus, ServiceError> {
        themes::request(&self.db, &self.models, caller).await?;
        self.theme_model(caller).await
    }
}

/// Comments of a period (months, either open) and pathway (empty for all) counted by theme and
/// sentiment.
/// Who read theme figures without reading comments: their counts are protected.
const FIGURES_ONLY: &[alongside_platform::Role] = &[
    alongside_platform::Role::Analyst,
    alongside_platform::Role::IcsAnalyst,
    alongside_platform::Role::Admin,
];

fn small(n: u64) -> bool {
    (1..crate::protection::THRESHOLD).contains(&n)
}

/// The period's theme figures as readers of figures may see them, built from its months: a
/// theme is hidden when any month had 1 to 4 comments about it, or 1 to 4 comments in all (so
/// no period, nor two overlapping periods, gives away a small month: every figure shown is a
/// sum of months each none or at least 5, as the analytics stream shows them), and a split by
/// sentiment when any month had 1 to 4 of one.
pub(crate) async fn protected_theme_figures(
    db: &impl sea_orm::ConnectionTrait,
    tenant: &alongside_platform::OdsCode,
    from_month: &str,
    to_month: &str,
    pathway: &str,
) -> Result<ThemeSummary, sea_orm::DbErr> {
    let months = month_figures(db, tenant, from_month, to_month, pathway).await?;
    let mut out = sum_of(months.values());
    let mut hidden = vec![false; out.categories.len()];
    let mut split_hidden = vec![false; out.categories.len()];
    for m in months.values() {
        out.sentiment_hidden |= m.sentiment.iter().any(|&n| small(n));
        for (i, c) in m.categories.iter().enumerate() {
            hidden[i] |= small(c.comments) || (c.comments > 0 && small(m.comments));
            split_hidden[i] |= [c.positive, c.neutral, c.negative].into_iter().any(small);
        }
    }
    for (i, c) in out.categories.iter_mut().enumerate() {
        c.hidden = hidden[i];
        c.sentiment_hidden = split_hidden[i];
    }
    hide(&mut out);
    Ok(out)
}

/// Protected theme figures added up: a theme, its split or the split of all comments by
/// sentiment is hidden (0s) when any part's is, since a sum with a hidden part would give it away.
fn protected_sum<'a>(parts: impl IntoIterator<Item = &'a ThemeSummary> + Clone) -> ThemeSummary {
    let mut out = sum_of(parts.clone());
    for part in parts {
        out.sentiment_hidden |= part.sentiment_hidden;
        for (sum, c) in out.categories.iter_mut().zip(&part.categories) {
            sum.hidden |= c.hidden;
            sum.sentiment_hidden |= c.sentiment_hidden;
        }
    }
    hide(&mut out);
    out
}

/// Zeroes what is marked hidden.
fn hide(out: &mut ThemeSummary) {
    if out.sentiment_hidden {
        out.sentiment.iter_mut().for_each(|n| *n = 0);
    }
    for c in &mut out.categories {
        if c.hidden {
            c.comments = 0;
            c.sentiment_hidden = true;
        }
        if c.sentiment_hidden {
            (c.positive, c.neutral, c.negative) = (0, 0, 0);
        }
    }
}

/// The trust's labelled comments of the months `from_month`–`to_month` (either open).
fn labelled(
    tenant: &alongside_platform::OdsCode,
    from_month: &str,
    to_month: &str,
) -> sea_orm::Select<comments::Entity> {
    let mut q = comments::for_tenant(tenant).filter(comments::Column::LabelledBy.ne(""));
    if !from_month.is_empty() {
        q = q.filter(comments::Column::Month.gte(from_month));
    }
    if !to_month.is_empty() {
        q = q.filter(comments::Column::Month.lte(to_month));
    }
    q
}

pub(crate) async fn theme_figures(
    db: &impl sea_orm::ConnectionTrait,
    tenant: &alongside_platform::OdsCode,
    from_month: &str,
    to_month: &str,
    pathway: &str,
) -> Result<ThemeSummary, sea_orm::DbErr> {
    let months = month_figures(db, tenant, from_month, to_month, pathway).await?;
    Ok(sum_of(months.values()))
}

/// The theme figures of each month from `from_month` to `to_month` (either open), two queries
/// in all.
async fn month_figures(
    db: &impl sea_orm::ConnectionTrait,
    tenant: &alongside_platform::OdsCode,
    from_month: &str,
    to_month: &str,
    pathway: &str,
) -> Result<BTreeMap<String, ThemeSummary>, sea_orm::DbErr> {
    let mut themes_q = comments::theme::Entity::find()
        .filter(comments::theme::Column::TenantId.eq(tenant.as_str()));
    let mut comments_q = labelled(tenant, from_month, to_month);
    if !from_month.is_empty() {
        themes_q = themes_q.filter(comments::theme::Column::Month.gte(from_month));
    }
    if !to_month.is_empty() {
        themes_q = themes_q.filter(comments::theme::Column::Month.lte(to_month));
    }
    if !pathway.is_empty() {
        themes_q = themes_q.filter(comments::theme::Column::Pathway.eq(pathway.trim()));
        comments_q = comments_q.filter(comments::Column::Pathway.eq(pathway.trim()));
    }
    let by_theme: Vec<(String, String, i32, i64)> = themes_q
        .select_only()
        .column(comments::theme::Column::Month)
        .column(comments::theme::Column::Category)
        .column(comments::theme::Column::Sentiment)
        .column_as(comments::theme::Column::CommentId.count(), "n")
        .group_by(comments::theme::Column::Month)
        .group_by(comments::theme::Column::Category)
        .group_by(comments::theme::Column::Sentiment)
        .into_tuple()
        .all(db)
        .await?;
    let by_sentiment: Vec<(String, i32, String, i64)> = comments_q
        .select_only()
        .column(comments::Column::Month)
        .column(comments::Column::Sentiment)
        .column(comments::Column::LabelledBy)
        .column_as(comments::Column::Id.count(), "n")
        .group_by(comments::Column::Month)
        .group_by(comments::Column::Sentiment)
        .group_by(comments::Column::LabelledBy)
        .into_tuple()
        .all(db)
        .await?;
    let mut months: BTreeMap<String, ThemeSummary> = BTreeMap::new();
    for (m, code, sentiment, n) in by_theme {
        let summary = months.entry(m).or_insert_with(empty_summary);
        let Some(t) = summary.categories.iter_mut().find(|t| t.code == code) else {
            continue;
        };
        let n = n.max(0) as u64;
        t.comments += n;
        match sentiment {
            1 | 2 => t.positive += n,
            3 => t.neutral += n,
            4 | 5 => t.negative += n,
            _ => {}
        }
    }
    for (m, s, by, n) in by_sentiment {
        let summary = months.entry(m).or_insert_with(empty_summary);
        let n = n.max(0) as u64;
        summary.comments += n;
        if by == "staff" {
            summary.corrected += n;
        }
        if (1..=5).contains(&s) {
            summary.sentiment[s as usize - 1] += n;
        }
    }
    Ok(months)
}

/// No comments: every theme at nought.
fn empty_summary() -> ThemeSummary {
    ThemeSummary {
        comments: 0,
        categories: CATEGORIES
            .iter()
            .chain([&NOT_ASSIGNED])
            .map(|c| ThemeCount {
                code: c.code.into(),
                name: c.name.into(),
                major: c.major.into(),
                ..Default::default()
            })
            .collect(),
        sentiment: vec![0; 5],
        corrected: 0,
        sentiment_hidden: false,
        trusts: Vec::new(),
    }
}

/// Months' theme figures added up.
fn sum_of<'a>(months: impl IntoIterator<Item = &'a ThemeSummary>) -> ThemeSummary {
    let mut out = empty_summary();
    for m in months {
        out.comments += m.comments;
        out.corrected += m.corrected;
        for (sum, n) in out.sentiment.iter_mut().zip(&m.sentiment) {
            *sum += n;
        }
        for (sum, c) in out.categories.iter_mut().zip(&m.categories) {
            sum.comments += c.comments;
            sum.positive += c.positive;
            sum.neutral += c.neutral;
            sum.negative += c.negative;
        }
    }
    out
}
