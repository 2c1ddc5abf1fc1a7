//! Equality monitoring calls: the partner's own answers, and the suppressed totals.

use sea_orm::sea_query::{OnConflict, Query};

use super::*;
use crate::equality::{self, Column as E, QUESTIONS};
use crate::equality_release::{self, Snapshot};

/// Who may read the totals (never anyone's answers): the trust's analysts, and its ICS's
/// through the gateway.
pub(super) const REPORT_READERS: &[Role] = &[
    Role::EngagementLead,
    Role::Admin,
    Role::Analyst,
    Role::IcsAnalyst,
];
/// Who may set the population figures.
pub(super) const POPULATION_EDITORS: &[Role] = &[Role::EngagementLead, Role::Admin];

impl PeopleApi {
    /// Only the partner themself reaches their answers.
    async fn equality_owner(&self, caller: &Caller, id: &str) -> Result<(), ServiceError> {
        if caller.subject != id {
            return Err(ServiceError::not_found("partner", id));
        }
        let row = self.find(caller, id).await?;
        if row.status == Stage::Erased.as_str() {
            return Err(ServiceError::invalid(
                "id",
                "this partner's record has been erased",
            ));
        }
        Ok(())
    }

    pub(super) async fn get_equality_answers(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<EqualityAnswers, ServiceError> {
        self.equality_owner(caller, id).await?;
        let row = equality::of_partner(&caller.tenant, id)
            .one(&self.db)
            .await?;
        Ok(row.map(to_answers).unwrap_or_else(|| EqualityAnswers {
            partner_id: id.to_string(),
            ..Default::default()
        }))
    }

    pub(super) async fn record_equality_answers(
        &self,
        caller: &Caller,
        request: EqualityAnswers,
    ) -> Result<EqualityAnswers, ServiceError> {
        let id = request.partner_id.clone();
        self.equality_owner(caller, &id).await?;
        let consents = crate::consent::of_partner(&caller.tenant, &id)
            .order_by_desc(crate::consent::Column::Id)
            .all(&self.db)
            .await?;
        let agreed = crate::consent::current(&consents)
            .iter()
            .any(|c| c.purpose == "equality" && c.granted);
        if !agreed {
            return Err(ServiceError::invalid(
                "consent",
                "agree to equality monitoring first: the answers are kept only with that consent",
            ));
        }
        let mut v = alongside_platform::error::Violations::default();
        let mut answer = |question: &str, value: &str| {
            equality::checked(question, value).unwrap_or_else(|| {
                v.push(
                    question,
                    "choose one of the answers offered, or prefer not to say",
                );
                String::new()
            })
        };
        let row = equality::Model {
            partner_id: id.clone(),
            tenant_id: caller.tenant.to_string(),
            age_band: answer("age_band", &request.age_band),
            sex: answer("sex", &request.sex),
            ethnic_group: answer("ethnic_group", &request.ethnic_group),
            disability: answer("disability", &request.disability),
            carer: answer("carer", &request.carer),
            answered_at: self.clock.now_rfc3339(),
        };
        v.finish()?;
        let txn = self.db.begin().await?;
        equality::Entity::insert(sea_orm::IntoActiveModel::into_active_model(row.clone()))
            .on_conflict(
                OnConflict::column(E::PartnerId)
                    .update_columns([
                        E::AgeBand,
                        E::Sex,
                        E::EthnicGroup,
                        E::Disability,
                        E::Carer,
                        E::AnsweredAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        audit::record(&txn, caller, "update", "equality_answers", &id).await?;
        txn.commit().await?;
        Ok(to_answers(row))
    }

    /// The totals as this month's release shows them (taken at the month's first reading).
    pub(super) async fn equality_report(
        &self,
        caller: &Caller,
    ) -> Result<EqualityReport, ServiceError> {
        let current = async {
            let active = Query::select()
                .column(partner::Column::Id)
                .from(partner::Entity)
                .and_where(partner::Column::TenantId.eq(caller.tenant.as_str()))
                .and_where(partner::Column::Status.eq(Stage::Active.as_str()))
                .to_owned();
            let answers = equality::Entity::find()
                .filter(E::TenantId.eq(caller.tenant.as_str()))
                .filter(E::PartnerId.in_subquery(active))
                .all(&self.db)
                .await?;
            let active_partners = alongside_platform::paging::count(
                partner::for_tenant(&caller.tenant)
                    .filter(partner::Column::Status.eq(Stage::Active.as_str())),
                &self.db,
            )
            .await
            .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
            let snapshot = Snapshot(
                answers
                    .into_iter()
                    .map(|a| {
                        let given = QUESTIONS.iter().map(|(q, _, _)| a.answer(q).to_owned());
                        (a.partner_id.clone(), given.collect())
                    })
                    .collect(),
            );
            Ok((snapshot, active_partners))
        };
        let release =
            equality_release::this_month(&self.db, &caller.tenant, &self.clock, current).await?;
        let population = equality::population::Entity::find()
            .filter(equality::population::Column::TenantId.eq(caller.tenant.as_str()))
            .all(&self.db)
            .await?;
        let answered = release.published.answered;
        let questions = QUESTIONS
            .iter()
            .zip(equality_release::codes())
            .map(|((question, label, options), codes)| {
                let figures: Vec<&equality::population::Model> = population
                    .iter()
                    .filter(|p| p.question == *question)
                    .collect();
                let text = |code: &str| {
                    options
                        .iter()
                        .find(|(c, _)| *c == code)
                        .map_or("Prefer not to say", |(_, text)| *text)
                };
                EqualityQuestion {
                    question: question.to_string(),
                    label: label.to_string(),
                    counts: codes
                        .iter()
                        .map(|code| {
                            let shown = release.published.count(question, code);
                            EqualityCount {
                                answer: code.to_string(),
                                label: text(code).to_string(),
                                count: shown.unwrap_or(0),
                                hidden: shown.is_none(),
                                // Of everyone who answered, only where both figures are shown: a
                                // share of a hidden total would give the hidden counts away.
                                bank_permille: shown
                                    .zip(answered)
                                    .and_then(|(n, of)| equality::permille(n, of)),
                                population_permille: figures
                                    .iter()
                                    .find(|p| p.answer == *code)
                                    .map(|p| p.permille.max(0) as u32),
                            }
                        })
                        .collect(),
                    total: answered.unwrap_or(0),
                    total_hidden: answered.is_none(),
                    population_source: figures
                        .first()
                        .map(|p| p.source.clone())
                        .unwrap_or_default(),
                }
            })
            .collect();
        audit::record(&self.db, caller, "read", "equality_report", "totals").await?;
        Ok(EqualityReport {
            questions,
            active_partners: release.active_partners,
            respondents: answered.unwrap_or(0),
            respondents_hidden: answered.is_none(),
            as_at: release.taken_on,
        })
    }
}

impl PeopleApi {
    pub(super) async fn set_population(
        &self,
        caller: &Caller,
        request: SetPopulationRequest,
    ) -> Result<EqualityReport, ServiceError> {
        let mut v = alongside_platform::error::Violations::default();
        let question = request.question.trim();
        let shares: Vec<(String, u32)> = request
            .shares
            .iter()
            .map(|s| (s.answer.trim().to_string(), s.permille))
            .collect();
        let kept = equality::checked_population(question, &shares).unwrap_or_else(|reason| {
            let field = if reason == "unknown question" {
                "question"
            } else {
                "shares"
            };
            v.push(field, reason);
            Vec::new()
        });
        let source = request.source.trim();
        if source.is_empty() || source.chars().count() > 200 {
            v.push(
                "source",
                "say where the figures come from, e.g. Census 2021 for the trust's area (up to 200 characters)",
            );
        }
        v.finish()?;
        use equality::population::{ActiveModel, Column as Pop, Entity as Population};
        let now = self.clock.now_rfc3339();
        let txn = self.db.begin().await?;
        Population::delete_many()
            .filter(Pop::TenantId.eq(caller.tenant.as_str()))
            .filter(Pop::Question.eq(question))
            .exec(&txn)
            .await?;
        for (answer, permille) in kept {
            Population::insert(ActiveModel {
                tenant_id: Set(caller.tenant.to_string()),
                question: Set(question.to_string()),
                answer: Set(answer),
                permille: Set(permille as i32),
                source: Set(source.to_string()),
                updated_at: Set(now.clone()),
                updated_by: Set(caller.subject.clone()),
                ..Default::default()
            })
            .exec_without_returning(&txn)
            .await?;
        }
        audit::record(&txn, caller, "update", "population", question).await?;
        txn.commit().await?;
        self.equality_report(caller).await
    }
}

pub(super) fn to_answers(m: equality::Model) -> EqualityAnswers {
    EqualityAnswers {
        partner_id: m.partner_id,
        age_band: m.age_band,
        sex: m.sex,
        ethnic_group: m.ethnic_group,
        disability: m.disability,
        carer: m.carer,
        answered_at: m.answered_at,
    }
}

/// Deletes a partner's answers (consent withdrawn, or erasure).
pub(super) async fn forget_equality(
    db: &impl sea_orm::ConnectionTrait,
    tenant: &alongside_platform::OdsCode,
    partner_id: &str,
) -> Result<(), ServiceError> {
    equality::Entity::delete_many()
        .filter(E::TenantId.eq(tenant.as_str()))
        .filter(E::PartnerId.eq(partner_id))
        .exec(db)
        .await?;
    equality_release::unlink(db, tenant, partner_id).await?;
    Ok(())
}
