//! Equality monitoring (DOMAIN.md §2): optional answers, given only with the partner's
//! `equality` consent, kept in their own table apart from the profile, readable one by one only
//! by the partner, and otherwise used only in totals with small numbers suppressed.

use alongside_platform::OdsCode;
use sea_orm::entity::prelude::*;

pub use alongside_proto::EQUALITY_QUESTIONS as QUESTIONS;

pub const PREFER_NOT: &str = "prefer_not_to_say";
/// Counts from 1 to this are hidden (0 is shown), as NHS England's publications do.
pub const SMALL: u64 = 4;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "equality_answers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub partner_id: String,
    pub tenant_id: String,
    pub age_band: String,
    pub sex: String,
    pub ethnic_group: String,
    pub disability: String,
    pub carer: String,
    pub answered_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub fn of_partner(tenant: &OdsCode, partner_id: &str) -> Select<Entity> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant.as_str()))
        .filter(Column::PartnerId.eq(partner_id))
}

impl Model {
    pub fn answer(&self, question: &str) -> &str {
        match question {
            "age_band" => &self.age_band,
            "sex" => &self.sex,
            "ethnic_group" => &self.ethnic_group,
            "disability" => &self.disability,
            _ => &self.carer,
        }
    }
}

/// An answer, checked: one of the question's answers, "prefer_not_to_say", or empty (not
/// answered, kept as prefer not to say).
pub fn checked(question: &str, value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return Some(PREFER_NOT.into());
    }
    let (_, _, answers) = QUESTIONS.iter().find(|(q, _, _)| *q == question)?;
    (value == PREFER_NOT || answers.iter().any(|(a, _)| *a == value)).then(|| value.to_string())
}

/// A count as it may be shown: `None` when hidden.
pub type Shown = Option<u64>;

/// Protects every question's counts together (`alongside_platform::protection`): each
/// question's answers add up to the partners who answered (one figure, the margin of every
/// question), so the questions are one set of linked tables. A count of 1 to [`SMALL`] is
/// hidden, and whatever would give it back or narrow it below the standard (0 and 5 both
/// possible). Returns each question's counts and the number who answered as they may be shown;
/// a question whose counts do not add up to the others' has a margin of its own.
pub fn protect(questions: &[Vec<u64>]) -> (Vec<Vec<Shown>>, Shown) {
    use alongside_platform::protection::{Count, Table};
    let answered = questions.first().map_or(0, |q| q.iter().sum());
    let mut t: Table<Count> = Table::default();
    let all = t.term(Count(answered));
    let terms: Vec<Vec<usize>> = questions
        .iter()
        .map(|counts| {
            let parts: Vec<usize> = counts.iter().map(|&n| t.term(Count(n))).collect();
            let sum: u64 = counts.iter().sum();
            let margin = if sum == answered {
                all
            } else {
                t.term(Count(sum))
            };
            t.sum(margin, parts.clone());
            parts
        })
        .collect();
    let shown = t.shown(true);
    let show = |i: usize| (!shown[i].hidden).then_some(shown[i].figure.0);
    (
        terms
            .iter()
            .map(|parts| parts.iter().map(|&i| show(i)).collect())
            .collect(),
        show(all),
    )
}

/// `population_shares`: the population a trust serves, per question and answer.
pub mod population {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "population_shares")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: String,
        pub question: String,
        pub answer: String,
        /// Tenths of a percent.
        pub permille: i32,
        pub source: String,
        pub updated_at: String,
        pub updated_by: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A count's share of `total` in tenths of a percent, rounded half up.
pub fn permille(count: u64, total: u64) -> Option<u32> {
    (total > 0).then(|| ((count * 2000 + total) / (2 * total)) as u32)
}

/// Checks a trust's population figures for `question`: every answer once, each between 0 and
/// 100%, adding up to 100% give or take rounding.
pub fn checked_population(
    question: &str,
    shares: &[(String, u32)],
) -> Result<Vec<(String, u32)>, String> {
    let Some((_, _, answers)) = QUESTIONS.iter().find(|(q, _, _)| *q == question) else {
        return Err("unknown question".into());
    };
    let mut kept = Vec::new();
    for (code, _) in answers.iter() {
        let given: Vec<&(String, u32)> = shares.iter().filter(|(a, _)| a == code).collect();
        match given.as_slice() {
            [(_, p)] if *p <= 1000 => kept.push(((*code).to_owned(), *p)),
            [_] => return Err(format!("{code}: must be between 0 and 100%")),
            [] => return Err(format!("give a share for {code}")),
            _ => return Err(format!("{code} is given more than once")),
        }
    }
    if shares.len() != kept.len() {
        return Err(format!(
            "answers must be those of the question: {}",
            answers
                .iter()
                .map(|(c, _)| *c)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let sum: u32 = kept.iter().map(|(_, p)| p).sum();
    if !(990..=1010).contains(&sum) {
        return Err(format!(
            "the shares add up to {}.{}%; they should add up to 100%",
            sum / 10,
            sum % 10
        ));
    }
    Ok(kept)
}

pub mod population_migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261125_100010_population_shares"
        }
    }

    #[derive(DeriveIden)]
    enum PopulationShares {
        Table,
        Id,
        TenantId,
        Question,
        Answer,
        Permille,
        Source,
        UpdatedAt,
        UpdatedBy,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let text = |c: PopulationShares| ColumnDef::new(c).string().not_null().to_owned();
            manager
                .create_table(
                    Table::create()
                        .table(PopulationShares::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(PopulationShares::Id)
                                .big_integer()
                                .not_null()
                                .auto_increment()
                                .primary_key(),
                        )
                        .col(text(PopulationShares::TenantId))
                        .col(text(PopulationShares::Question))
                        .col(text(PopulationShares::Answer))
                        .col(
                            ColumnDef::new(PopulationShares::Permille)
                                .integer()
                                .not_null(),
                        )
                        .col(text(PopulationShares::Source))
                        .col(text(PopulationShares::UpdatedAt))
                        .col(text(PopulationShares::UpdatedBy))
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("population_shares_one_each")
                        .table(PopulationShares::Table)
                        .col(PopulationShares::TenantId)
                        .col(PopulationShares::Question)
                        .col(PopulationShares::Answer)
                        .unique()
                        .if_not_exists()
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(PopulationShares::Table).to_owned())
                .await
        }
    }
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261125_100007_equality_answers"
        }
    }

    #[derive(DeriveIden)]
    enum EqualityAnswers {
        Table,
        PartnerId,
        TenantId,
        AgeBand,
        Sex,
        EthnicGroup,
        Disability,
        Carer,
        AnsweredAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            let text = |c: EqualityAnswers| ColumnDef::new(c).string().not_null().to_owned();
            manager
                .create_table(
                    Table::create()
                        .table(EqualityAnswers::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(EqualityAnswers::PartnerId)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(text(EqualityAnswers::TenantId))
                        .col(text(EqualityAnswers::AgeBand))
                        .col(text(EqualityAnswers::Sex))
                        .col(text(EqualityAnswers::EthnicGroup))
                        .col(text(EqualityAnswers::Disability))
                        .col(text(EqualityAnswers::Carer))
                        .col(text(EqualityAnswers::AnsweredAt))
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(EqualityAnswers::Table).to_owned())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(counts: &[u64]) -> (Vec<Shown>, Shown) {
        let (mut q, total) = protect(&[counts.to_vec()]);
        (q.remove(0), total)
    }

    #[test]
    fn small_counts_are_hidden_and_what_would_give_them_back() {
        assert_eq!(
            one(&[10, 0, 7]),
            (vec![Some(10), Some(0), Some(7)], Some(17))
        );
        // Two small counts that could together be 5 hide each other.
        assert_eq!(one(&[10, 3, 2]), (vec![Some(10), None, None], Some(15)));
        // One small count alone: the next smallest goes too, or the total would reveal it.
        assert_eq!(
            one(&[20, 3, 9, 0]),
            (vec![Some(20), None, None, Some(0)], Some(32))
        );
        // Two small counts of 4 together: each could not be 5, so a third is hidden.
        assert_eq!(
            one(&[20, 3, 1, 16]),
            (vec![Some(20), None, None, None], Some(40))
        );
        // Nothing else to hide: the total goes instead. Zero is never hidden.
        assert_eq!(one(&[0, 3]), (vec![Some(0), None], None));
    }

    #[test]
    fn the_questions_share_the_number_who_answered() {
        // Three answered; every count is small, so the number who answered goes too: a
        // question whose counts are all hidden would otherwise still say it.
        let (questions, answered) = protect(&[vec![2, 1], vec![3, 0]]);
        assert_eq!(answered, None);
        assert_eq!(questions[1], [None, Some(0)]);
    }

    /// An analyst who reads every question's counts can bound none of the small ones below the
    /// standard, over the answers' every combination (each at least 0); and the check can fail.
    #[test]
    fn no_small_count_is_narrowed_by_the_questions_together() {
        use alongside_platform::protection::attacker::Attacker;
        let mut next = alongside_platform::protection::attacker::seeded(7);
        let mut bounded = 0;
        for round in 0..20 {
            // Three questions of three answers; a few dozen partners, skewed so that some
            // answers are rare.
            let people: Vec<[usize; 3]> = (0..12 + next(30))
                .map(|_| {
                    let skewed = |r: u64| match r {
                        0 => 2,
                        1..=3 => 1,
                        _ => 0,
                    };
                    [skewed(next(12)), skewed(next(12)), next(3) as usize]
                })
                .collect();
            let counts: Vec<Vec<u64>> = (0..3)
                .map(|q| {
                    (0..3)
                        .map(|a| people.iter().filter(|p| p[q] == a).count() as u64)
                        .collect()
                })
                .collect();
            let cells_of = |q: usize, a: usize| -> Vec<[usize; 3]> {
                let mut out = Vec::new();
                for x in 0..3 {
                    for y in 0..3 {
                        for z in 0..3 {
                            let cell = [x, y, z];
                            if cell[q] == a {
                                out.push(cell);
                            }
                        }
                    }
                }
                out
            };
            let every: Vec<[usize; 3]> = cells_of(0, 0)
                .into_iter()
                .chain(cells_of(0, 1))
                .chain(cells_of(0, 2))
                .collect();
            let small: Vec<(String, Vec<[usize; 3]>)> = (0..3)
                .flat_map(|q| (0..3).map(move |a| (q, a)))
                .filter(|&(q, a)| (1..=SMALL).contains(&counts[q][a]))
                .map(|(q, a)| {
                    (
                        format!("round {round}: question {q} answer {a}"),
                        cells_of(q, a),
                    )
                })
                .collect();
            let (shown, answered) = protect(&counts);
            let mut attacker = Attacker::default();
            let mut open = Attacker::default();
            if let Some(n) = answered {
                attacker.know(&every, n as f64);
            }
            open.know(&every, people.len() as f64);
            for q in 0..3 {
                for a in 0..3 {
                    if let Some(n) = shown[q][a] {
                        attacker.know(&cells_of(q, a), n as f64);
                    }
                    open.know(&cells_of(q, a), counts[q][a] as f64);
                }
            }
            assert_eq!(attacker.narrowed(&small), Vec::<String>::new());
            assert_eq!(
                open.narrowed(&small).len(),
                small.len(),
                "unprotected, all are"
            );
            bounded += small.len();
        }
        assert!(bounded >= 20, "small counts bounded: {bounded}");
    }

    #[test]
    fn shares_round_half_up_and_population_figures_add_up() {
        assert_eq!(permille(1, 3), Some(333));
        assert_eq!(permille(2, 3), Some(667));
        assert_eq!(permille(5, 0), None);
        let sex = |f: u32, m: u32| vec![("female".to_string(), f), ("male".to_string(), m)];
        assert!(checked_population("sex", &sex(512, 488)).is_ok());
        assert!(
            checked_population("sex", &sex(512, 490)).is_ok(),
            "rounding allowed"
        );
        assert!(checked_population("sex", &sex(600, 500))
            .unwrap_err()
            .contains("add up to 110.0%"));
        assert!(checked_population("sex", &sex(512, 488)[..1])
            .unwrap_err()
            .contains("male"));
        let mut extra = sex(500, 500);
        extra.push(("other".into(), 0));
        assert!(checked_population("sex", &extra).is_err());
        assert!(checked_population("shoe_size", &sex(500, 500)).is_err());
    }

    #[test]
    fn answers_are_checked_against_their_question() {
        assert_eq!(checked("age_band", "35_44").as_deref(), Some("35_44"));
        assert_eq!(checked("age_band", "").as_deref(), Some(PREFER_NOT));
        assert_eq!(checked("sex", PREFER_NOT).as_deref(), Some(PREFER_NOT));
        assert_eq!(checked("sex", "35_44"), None);
        assert_eq!(checked("shoe_size", "9"), None);
    }
}
