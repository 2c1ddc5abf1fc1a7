//! Equality monitoring (DOMAIN.md §2): optional answers, given only with the partner's
//! `equality` consent, kept in their own table apart from the profile, readable one by one only
//! by the partner, and otherwise used only in totals with small numbers suppressed (`equality_release`).

use alongside_platform::OdsCode;
use sea_orm::entity::prelude::*;

pub use alongside_proto::EQUALITY_QUESTIONS as QUESTIONS;

pub const PREFER_NOT: &str = "prefer_not_to_say";

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
