//! The trust's survey beyond the FFT question: the standard experience questions (booking,
//! involvement in decisions, information, compassion) it chooses to ask, and up to ten of its
//! own, each on one of two scales. Answers are kept per response and counted by question, with
//! small numbers hidden.

use std::collections::BTreeMap;

use alongside_platform::error::{FieldError, Violations};
use alongside_platform::protection::{Count, Table};
use alongside_platform::{audit, Caller, OdsCode, ServiceError};
use alongside_proto::feedback::v1::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

use crate::api::{check_period, FeedbackApi};

pub const SCALES: &[&str] = &["agreement", "rating"];
const MAX_OWN: usize = 10;
const TEXT_LIMIT: usize = 200;

/// The standard experience questions of the source practice (DOMAIN.md §4), in our wording.
pub const STANDARD: &[(&str, &str)] = &[
    (
        "booking",
        "Was it easy to book or arrange your appointment?",
    ),
    (
        "involvement",
        "Were you involved as much as you wanted to be in decisions about your care?",
    ),
    (
        "information",
        "Did you get the information you needed, in a way you could understand?",
    ),
    (
        "compassion",
        "Were you treated with kindness and compassion?",
    ),
];

use alongside_proto::survey_answers;

/// Whether an answer counts as positive: the top box of agreement, the top two of rating.
fn positive(answer: &str) -> bool {
    matches!(answer, "yes_definitely" | "very_good" | "good")
}

pub mod question {
    use sea_orm::entity::prelude::*;

    /// A question of a trust's survey; the standard ones get a row once the trust chooses.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "survey_questions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
        pub text: String,
        pub scale: String,
        pub standard: bool,
        pub asked: bool,
        pub position: i32,
        pub updated_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod answer {
    use sea_orm::entity::prelude::*;

    /// One answer of one response (its id in feedback) to one question.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "survey_answers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub response: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub question: String,
        pub tenant_id: String,
        pub month: String,
        pub answer: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A trust's questions: every one it has had (asked or not), in order.
#[derive(Clone, Debug, Default)]
pub struct Questions(pub Vec<SurveyQuestion>);

impl Questions {
    /// The standard questions, none asked: a trust that has not chosen yet.
    pub fn standard() -> Self {
        Self(
            STANDARD
                .iter()
                .map(|(code, text)| SurveyQuestion {
                    code: code.to_string(),
                    text: text.to_string(),
                    scale: "agreement".into(),
                    asked: false,
                    standard: true,
                })
                .collect(),
        )
    }

    pub async fn load(db: &impl ConnectionTrait, tenant: &OdsCode) -> Result<Self, DbErr> {
        let rows = question::Entity::find()
            .filter(question::Column::TenantId.eq(tenant.as_str()))
            .order_by_asc(question::Column::Position)
            .all(db)
            .await?;
        let mut out = Self::standard();
        for row in rows {
            match out.0.iter_mut().find(|q| q.code == row.code) {
                Some(q) => q.asked = row.asked,
                None => out.0.push(SurveyQuestion {
                    code: row.code,
                    text: row.text,
                    scale: row.scale,
                    asked: row.asked,
                    standard: false,
                }),
            }
        }
        Ok(out)
    }

    fn get(&self, code: &str) -> Option<&SurveyQuestion> {
        self.0.iter().find(|q| q.code == code)
    }

    /// Checks a response's answers: each to a question the survey asks, on its scale.
    pub fn check(
        &self,
        answers: &std::collections::HashMap<String, String>,
        errors: &mut Vec<FieldError>,
    ) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (code, answer) in answers {
            let field = format!("answers.{code}");
            let answer = answer.trim();
            if answer.is_empty() {
                continue;
            }
            match self.get(code) {
                Some(q) if q.asked => {
                    let scale = survey_answers(&q.scale);
                    if scale.iter().any(|(a, _)| *a == answer) {
                        out.push((code.clone(), answer.to_string()));
                    } else {
                        let codes: Vec<&str> = scale.iter().map(|(a, _)| *a).collect();
                        errors.push(FieldError::new(
                            field,
                            format!("must be one of {}", codes.join(", ")),
                        ));
                    }
                }
                Some(_) => errors.push(FieldError::new(
                    field,
                    "is not asked by the trust's survey now",
                )),
                None => errors.push(FieldError::new(
                    field,
                    "is not a question of the trust's survey",
                )),
            }
        }
        out.sort();
        out
    }
}

/// A response just stored: its id in feedback, its month, and its answers.
pub type Answered<'a> = (&'a str, String, &'a [(String, String)]);

/// Stores the answers of responses just stored.
pub async fn store_answers(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    fresh: &[Answered<'_>],
) -> Result<(), DbErr> {
    let rows: Vec<answer::ActiveModel> = fresh
        .iter()
        .flat_map(|(id, month, answers)| {
            answers.iter().map(move |(q, a)| answer::ActiveModel {
                response: Set(id.to_string()),
                question: Set(q.clone()),
                tenant_id: Set(tenant.to_string()),
                month: Set(month.clone()),
                answer: Set(a.clone()),
            })
        })
        .collect();
    // Five columns a row: 1,000 rows stay inside SQLite's bound-parameter limit.
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<answer::ActiveModel> = rows.by_ref().take(1_000).collect();
        answer::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([answer::Column::Response, answer::Column::Question])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

fn survey_of(questions: Questions) -> Survey {
    Survey {
        fft_question: alongside_proto::FFT_QUESTION.into(),
        questions: questions.0,
    }
}

impl FeedbackApi {
    pub(crate) async fn survey(&self, caller: &Caller) -> Result<Survey, ServiceError> {
        Ok(survey_of(Questions::load(&self.db, &caller.tenant).await?))
    }

    pub(crate) async fn update_survey(
        &self,
        caller: &Caller,
        r: UpdateSurveyRequest,
    ) -> Result<Survey, ServiceError> {
        let mut v = Violations::default();
        for code in &r.standard {
            v.check(
                STANDARD.iter().any(|(c, _)| c == code),
                "standard",
                &format!("{code:?} is not a standard question"),
            );
        }
        v.check(
            r.own.len() <= MAX_OWN,
            "own",
            &format!("a survey has at most {MAX_OWN} questions of the trust's own"),
        );
        let current = Questions::load(&self.db, &caller.tenant).await?;
        for (i, q) in r.own.iter().enumerate() {
            let text = q.text.trim();
            v.check(
                !text.is_empty() && text.chars().count() <= TEXT_LIMIT,
                &format!("own[{i}].text"),
                &format!("is required, up to {TEXT_LIMIT} characters"),
            );
            v.check(
                SCALES.contains(&q.scale.as_str()),
                &format!("own[{i}].scale"),
                "must be agreement or rating",
            );
            if !q.code.is_empty() {
                match current.get(&q.code) {
                    Some(held) if !held.standard => v.check(
                        held.scale == q.scale,
                        &format!("own[{i}].scale"),
                        "cannot change once answered: add a new question instead",
                    ),
                    _ => v.push(
                        &format!("own[{i}].code"),
                        format!("{:?} is not one of the trust's own questions", q.code),
                    ),
                }
            }
        }
        v.finish()?;
        let now = self.clock.now_rfc3339();
        let mut next_number = current
            .0
            .iter()
            .filter_map(|q| q.code.strip_prefix("own_")?.parse::<u32>().ok())
            .max()
            .unwrap_or(0);
        let mut rows = Vec::new();
        for (i, (code, text)) in STANDARD.iter().enumerate() {
            rows.push(question::ActiveModel {
                tenant_id: Set(caller.tenant.to_string()),
                code: Set(code.to_string()),
                text: Set(text.to_string()),
                scale: Set("agreement".into()),
                standard: Set(true),
                asked: Set(r.standard.iter().any(|c| c == code)),
                position: Set(i as i32),
                updated_at: Set(now.clone()),
            });
        }
        let mut kept = Vec::new();
        for (i, q) in r.own.iter().enumerate() {
            let code = if q.code.is_empty() {
                next_number += 1;
                format!("own_{next_number}")
            } else {
                q.code.clone()
            };
            kept.push(code.clone());
            rows.push(question::ActiveModel {
                tenant_id: Set(caller.tenant.to_string()),
                code: Set(code),
                text: Set(q.text.trim().to_string()),
                scale: Set(q.scale.clone()),
                standard: Set(false),
                asked: Set(true),
                position: Set((STANDARD.len() + i) as i32),
                updated_at: Set(now.clone()),
            });
        }
        // Own questions no longer listed stay, not asked, after the others.
        for (i, q) in current
            .0
            .iter()
            .filter(|q| !q.standard && !kept.contains(&q.code))
            .enumerate()
        {
            rows.push(question::ActiveModel {
                tenant_id: Set(caller.tenant.to_string()),
                code: Set(q.code.clone()),
                text: Set(q.text.clone()),
                scale: Set(q.scale.clone()),
                standard: Set(false),
                asked: Set(false),
                position: Set((STANDARD.len() + MAX_OWN + i) as i32),
                updated_at: Set(now.clone()),
            });
        }
        let txn = self.db.begin().await?;
        question::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([question::Column::TenantId, question::Column::Code])
                    .update_columns([
                        question::Column::Text,
                        question::Column::Asked,
                        question::Column::Position,
                        question::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        audit::record(&txn, caller, "update", "survey", caller.tenant.as_str()).await?;
        txn.commit().await?;
        self.survey(caller).await
    }

    pub(crate) async fn survey_results(
        &self,
        caller: &Caller,
        r: GetSurveyResultsRequest,
    ) -> Result<SurveyResults, ServiceError> {
        let mut v = Violations::default();
        check_period(&mut v, &r.from_month, &r.to_month);
        v.finish()?;
        let mut query = answer::Entity::find()
            .filter(answer::Column::TenantId.eq(caller.tenant.as_str()))
            .select_only()
            .column(answer::Column::Month)
            .column(answer::Column::Question)
            .column(answer::Column::Answer)
            .column_as(answer::Column::Response.count(), "n")
            .group_by(answer::Column::Month)
            .group_by(answer::Column::Question)
            .group_by(answer::Column::Answer);
        if !r.from_month.is_empty() {
            query = query.filter(answer::Column::Month.gte(&r.from_month));
        }
        if !r.to_month.is_empty() {
            query = query.filter(answer::Column::Month.lte(&r.to_month));
        }
        let counts: Vec<(String, String, String, i64)> = query.into_tuple().all(&self.db).await?;
        let questions = Questions::load(&self.db, &caller.tenant).await?;
        if caller.role.reads_figures_only() {
            let months = protected_months(&questions.0, &counts);
            return Ok(SurveyResults {
                questions: questions
                    .0
                    .into_iter()
                    .filter_map(|q| {
                        let held = months.iter().any(|m| m.contains_key(&q.code));
                        (q.asked || held).then(|| protected_result(q, &months))
                    })
                    .collect(),
            });
        }
        let mut by_question: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for (_, q, a, n) in counts {
            *by_question.entry(q).or_default().entry(a).or_default() += n.max(0) as u64;
        }
        Ok(SurveyResults {
            questions: questions
                .0
                .into_iter()
                .filter_map(|q| {
                    let counts = by_question.remove(&q.code);
                    (q.asked || counts.is_some()).then(|| result(q, &counts.unwrap_or_default()))
                })
                .collect(),
        })
    }
}

/// A month's answers as shown: by question, its total and each answer of its scale.
type Shown = alongside_platform::protection::Shown<Count>;
type MonthAnswers = BTreeMap<String, (Shown, Vec<Shown>)>;

/// Each month's answers (month, question, answer, count), protected as linked tables: each
/// question's answers add up to its total.
fn protected_months(
    questions: &[SurveyQuestion],
    counts: &[(String, String, String, i64)],
) -> Vec<MonthAnswers> {
    let mut months: BTreeMap<&str, BTreeMap<&str, BTreeMap<&str, u64>>> = BTreeMap::new();
    for (month, q, a, n) in counts {
        *months
            .entry(month)
            .or_default()
            .entry(q)
            .or_default()
            .entry(a)
            .or_default() += n.max(&0).unsigned_abs();
    }
    months
        .into_values()
        .map(|by_question| {
            let mut t: Table<Count> = Table::default();
            let mut terms = Vec::new();
            for q in questions {
                let Some(answers) = by_question.get(q.code.as_str()) else {
                    continue;
                };
                let counts: Vec<u64> = survey_answers(&q.scale)
                    .iter()
                    .map(|(a, _)| answers.get(a).copied().unwrap_or(0))
                    .collect();
                let parts: Vec<usize> = counts.iter().map(|&n| t.term(Count(n))).collect();
                let total = t.term(Count(counts.iter().sum()));
                t.sum(total, parts.clone());
                terms.push((q.code.clone(), total, parts));
            }
            let shown = t.shown(true);
            terms
                .into_iter()
                .map(|(code, total, parts)| {
                    let parts = parts.iter().map(|&i| shown[i].clone()).collect();
                    (code, (shown[total].clone(), parts))
                })
                .collect()
        })
        .collect()
}

/// A question's figures over the months: each the sum of its months', hidden when any is.
fn protected_result(q: SurveyQuestion, months: &[MonthAnswers]) -> QuestionResult {
    let scale = survey_answers(&q.scale);
    let mut total = Shown::default();
    let mut answers: Vec<Shown> = vec![Shown::default(); scale.len()];
    for (t, parts) in months.iter().filter_map(|m| m.get(&q.code)) {
        total.add(t);
        for (sum, part) in answers.iter_mut().zip(parts) {
            sum.add(part);
        }
    }
    let all_shown = !total.hidden && answers.iter().all(|a| !a.hidden);
    // Only when every count is shown: a share of a total with a hidden part would narrow it.
    let known: u64 = scale
        .iter()
        .zip(&answers)
        .filter(|((a, _), _)| *a != "dont_know")
        .map(|(_, s)| s.figure.0)
        .sum();
    let top: u64 = scale
        .iter()
        .zip(&answers)
        .filter(|((a, _), _)| positive(a))
        .map(|(_, s)| s.figure.0)
        .sum();
    QuestionResult {
        question: Some(q),
        total: if total.hidden { 0 } else { total.figure.0 },
        answers: if total.hidden {
            Vec::new()
        } else {
            scale
                .iter()
                .zip(&answers)
                .map(|((a, label), s)| AnswerCount {
                    answer: a.to_string(),
                    label: label.to_string(),
                    count: if s.hidden { 0 } else { s.figure.0 },
                    hidden: s.hidden,
                })
                .collect()
        },
        percent_positive: (all_shown && known > 0).then(|| top as f64 * 100.0 / known as f64),
        suppressed: total.hidden,
        total_hidden: total.hidden,
    }
}

/// One question's figures: hidden with 1 to 4 answers, as NHS England hides small FFT counts.
pub fn result(q: SurveyQuestion, counts: &BTreeMap<String, u64>) -> QuestionResult {
    let total: u64 = counts.values().sum();
    let suppressed = (1..=4).contains(&total);
    let known: u64 = counts
        .iter()
        .filter(|(a, _)| a.as_str() != "dont_know")
        .map(|(_, n)| n)
        .sum();
    let top: u64 = counts
        .iter()
        .filter(|(a, _)| positive(a))
        .map(|(_, n)| n)
        .sum();
    let answers = if suppressed {
        Vec::new()
    } else {
        survey_answers(&q.scale)
            .iter()
            .map(|(a, label)| AnswerCount {
                answer: a.to_string(),
                label: label.to_string(),
                count: counts.get(*a).copied().unwrap_or(0),
                hidden: false,
            })
            .collect()
    };
    QuestionResult {
        question: Some(q),
        total,
        answers,
        percent_positive: (!suppressed && known > 0).then(|| top as f64 * 100.0 / known as f64),
        suppressed,
        total_hidden: false,
    }
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261201_300008_survey"
        }
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum SurveyQuestions {
        Table,
        TenantId,
        Code,
        Text,
        Scale,
        Standard,
        Asked,
        Position,
        UpdatedAt,
    }

    #[derive(DeriveIden, Clone, Copy)]
    enum SurveyAnswers {
        Table,
        Response,
        Question,
        TenantId,
        Month,
        Answer,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            use SurveyQuestions as Q;
            let text = |c: Q| ColumnDef::new(c).string().not_null().to_owned();
            manager
                .create_table(
                    Table::create()
                        .table(Q::Table)
                        .if_not_exists()
                        .col(text(Q::TenantId))
                        .col(text(Q::Code))
                        .col(text(Q::Text))
                        .col(text(Q::Scale))
                        .col(ColumnDef::new(Q::Standard).boolean().not_null())
                        .col(ColumnDef::new(Q::Asked).boolean().not_null())
                        .col(ColumnDef::new(Q::Position).integer().not_null())
                        .col(text(Q::UpdatedAt))
                        .primary_key(Index::create().col(Q::TenantId).col(Q::Code))
                        .to_owned(),
                )
                .await?;
            use SurveyAnswers as A;
            let text = |c: A| ColumnDef::new(c).string().not_null().to_owned();
            manager
                .create_table(
                    Table::create()
                        .table(A::Table)
                        .if_not_exists()
                        .col(text(A::Response))
                        .col(text(A::Question))
                        .col(text(A::TenantId))
                        .col(text(A::Month))
                        .col(text(A::Answer))
                        .primary_key(Index::create().col(A::Response).col(A::Question))
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("survey_answers_by_month")
                        .table(A::Table)
                        .col(A::TenantId)
                        .col(A::Month)
                        .col(A::Question)
                        .if_not_exists()
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(SurveyAnswers::Table).to_owned())
                .await?;
            manager
                .drop_table(Table::drop().table(SurveyQuestions::Table).to_owned())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use alongside_platform::protection::attacker::Attacker;

    /// What a reader of figures can work out from a question's answers over every run of
    /// months: each small count of a month (an answer's, or the month's total) can still be 0
    /// and 5 or more; and the check can fail.
    #[test]
    fn no_small_month_of_answers_is_narrowed_by_every_period() {
        let q = SurveyQuestion {
            code: "booking".into(),
            scale: "agreement".into(),
            asked: true,
            ..Default::default()
        };
        let scale = survey_answers("agreement");
        let mut next = alongside_platform::protection::attacker::seeded(11);
        let months = [
            "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07", "2026-08",
        ];
        let mut counts = Vec::new();
        for m in months {
            for (a, _) in scale {
                let n = match next(3) {
                    0 => 0,
                    1 => 1 + next(4),
                    _ => 5 + next(20),
                };
                counts.push((
                    m.to_string(),
                    "booking".to_string(),
                    a.to_string(),
                    n as i64,
                ));
            }
        }
        let count = |m: usize, a: usize| counts[m * scale.len() + a].3 as u64;
        let (mut attacker, mut open) = (Attacker::default(), Attacker::default());
        let protected = protected_months(std::slice::from_ref(&q), &counts);
        for first in 0..months.len() {
            for last in first..months.len() {
                let run = &protected[first..=last];
                let r = protected_result(q.clone(), run);
                let cells = |a: Option<usize>| -> Vec<(usize, usize)> {
                    (first..=last)
                        .flat_map(|m| (0..scale.len()).map(move |x| (m, x)))
                        .filter(|(_, x)| a.is_none_or(|a| a == *x))
                        .collect()
                };
                if !r.total_hidden {
                    attacker.know(&cells(None), r.total as f64);
                }
                for (a, answer) in r.answers.iter().enumerate() {
                    if !answer.hidden {
                        attacker.know(&cells(Some(a)), answer.count as f64);
                    }
                }
                let all: u64 = (first..=last)
                    .map(|m| (0..scale.len()).map(|a| count(m, a)).sum::<u64>())
                    .sum();
                open.know(&cells(None), all as f64);
                for a in 0..scale.len() {
                    let n: u64 = (first..=last).map(|m| count(m, a)).sum();
                    open.know(&cells(Some(a)), n as f64);
                }
            }
        }
        let mut small = Vec::new();
        for (m, month) in months.iter().enumerate() {
            let total: u64 = (0..scale.len()).map(|a| count(m, a)).sum();
            if (1..5).contains(&total) {
                small.push((
                    format!("{month} total"),
                    (0..scale.len()).map(|a| (m, a)).collect(),
                ));
            }
            for (a, (answer, _)) in scale.iter().enumerate() {
                if (1..5).contains(&count(m, a)) {
                    small.push((format!("{month} {answer}"), vec![(m, a)]));
                }
            }
        }
        assert!(small.len() >= 5, "small counts to protect: {}", small.len());
        assert_eq!(attacker.narrowed(&small), Vec::<String>::new());
        assert_eq!(
            open.narrowed(&small).len(),
            small.len(),
            "unprotected, all are"
        );
    }

    use super::*;

    fn asked(code: &str, scale: &str) -> SurveyQuestion {
        SurveyQuestion {
            code: code.into(),
            text: code.into(),
            scale: scale.into(),
            asked: true,
            standard: false,
        }
    }

    #[test]
    fn answers_are_checked_against_the_question_and_its_scale() {
        let mut questions = Questions::standard();
        questions.0[0].asked = true; // booking
        questions.0.push(asked("own_1", "rating"));
        let answers = [
            ("booking", "yes_definitely"),
            ("own_1", "yes_definitely"),
            ("compassion", "no"),
            ("parking", "good"),
            ("information", ""),
        ]
        .iter()
        .map(|(q, a)| (q.to_string(), a.to_string()))
        .collect();
        let mut errors = Vec::new();
        let kept = questions.check(&answers, &mut errors);
        assert_eq!(
            kept,
            [("booking".to_string(), "yes_definitely".to_string())]
        );
        let mut found: Vec<(String, String)> =
            errors.into_iter().map(|e| (e.field, e.reason)).collect();
        found.sort();
        assert_eq!(
            found,
            [
                (
                    "answers.compassion".into(),
                    "is not asked by the trust's survey now".into()
                ),
                (
                    "answers.own_1".into(),
                    "must be one of very_good, good, neither, poor, very_poor, dont_know".into()
                ),
                (
                    "answers.parking".into(),
                    "is not a question of the trust's survey".into()
                ),
            ]
        );
    }

    #[test]
    fn the_positive_share_leaves_out_dont_know_and_small_numbers_are_hidden() {
        let counts: BTreeMap<String, u64> = [
            ("yes_definitely", 6),
            ("yes_somewhat", 2),
            ("no", 2),
            ("dont_know", 5),
        ]
        .iter()
        .map(|(a, n)| (a.to_string(), *n))
        .collect();
        let r = result(asked("booking", "agreement"), &counts);
        assert_eq!(r.total, 15);
        assert_eq!(r.percent_positive, Some(60.0), "6 of the 10 who knew");
        assert_eq!(r.answers.len(), 4);
        let few: BTreeMap<String, u64> = [("good".to_string(), 3)].into_iter().collect();
        let r = result(asked("own_1", "rating"), &few);
        assert!(r.suppressed);
        assert!(r.answers.is_empty() && r.percent_positive.is_none());
        assert_eq!(r.total, 3, "the total is always shown");
    }
}
