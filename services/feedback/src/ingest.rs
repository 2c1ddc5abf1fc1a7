//! Taking responses in: validation of each one, and storage that counts a response id once.

use alongside_events::{Envelope, Handler, HandlerError};
use alongside_platform::error::FieldError;
use alongside_platform::ids::{self, FFT_RESPONSE};
use alongside_platform::OdsCode;
use alongside_proto::feedback::events::v1::FftResponseReceived;
use alongside_proto::feedback::v1::{FftAnswer, FftResponse};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait};

use alongside_themes::Question;

use crate::comments;
use crate::fft::answer_code;
use crate::places::Places;
use crate::response;
use crate::themes::ThemeModels;

pub const SOURCES: &[&str] = &[
    "web",
    "sms",
    "kiosk",
    "paper",
    "just_a_minute_card",
    "ivr",
    "app",
];

/// A checked response, ready to store.
#[derive(Debug)]
pub struct Valid {
    pub source: String,
    pub response_id: String,
    pub answer: FftAnswer,
    pub responded_on: time::Date,
    pub worked_well: String,
    pub could_improve: String,
    pub tags: Tags,
    pub who: Who,
    /// Answers to the survey's other questions: (question code, answer code), sorted.
    pub answers: Vec<(String, String)>,
}

/// Where the care was.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tags {
    pub site: String,
    pub locality: String,
    pub pathway: String,
    pub team: String,
}

/// Who answered, with their consent; empty otherwise.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Who {
    pub age_band: String,
    pub sex: String,
    pub ethnic_group: String,
    pub imd_decile: i32,
}

/// The answers an equality question takes, as the People Bank asks them ("under_16" too for
/// age: patients can be children).
fn equality_answer(question: &str, value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty()
        || value == "prefer_not_to_say"
        || (question == "age_band" && value == "under_16")
    {
        return Ok(value.to_string());
    }
    let answers = alongside_proto::EQUALITY_QUESTIONS
        .iter()
        .find(|(q, _, _)| *q == question)
        .map(|(_, _, a)| *a)
        .unwrap_or(&[]);
    if answers.iter().any(|(code, _)| *code == value) {
        Ok(value.to_string())
    } else {
        let mut codes: Vec<&str> = answers.iter().map(|(c, _)| *c).collect();
        if question == "age_band" {
            codes.insert(0, "under_16");
        }
        codes.push("prefer_not_to_say");
        Err(format!("must be one of {}", codes.join(", ")))
    }
}

/// Checks one response; every problem is named by field.
#[cfg(test)]
pub fn validate(r: &FftResponse, today: time::Date) -> Result<Valid, Vec<FieldError>> {
    validate_with(
        r,
        today,
        &crate::survey::Questions::standard(),
        &crate::places::Places::default(),
    )
}

/// Checks a response, its answers against the trust's survey `questions` and its places against
/// the trust's lists.
pub fn validate_with(
    r: &FftResponse,
    today: time::Date,
    questions: &crate::survey::Questions,
    places: &Places,
) -> Result<Valid, Vec<FieldError>> {
    let mut errors = Vec::new();
    let answers = questions.check(&r.answers, &mut errors);
    let response_id = r.response_id.trim();
    if response_id.is_empty() || response_id.len() > 100 {
        errors.push(FieldError::new(
            "response_id",
            "is required, up to 100 characters",
        ));
    }
    let source = r.source.trim().to_ascii_lowercase();
    if !SOURCES.contains(&source.as_str()) {
        errors.push(FieldError::new(
            "source",
            format!("must be one of {}", SOURCES.join(", ")),
        ));
    }
    let answer = FftAnswer::try_from(r.answer).unwrap_or(FftAnswer::Unspecified);
    if answer == FftAnswer::Unspecified {
        errors.push(FieldError::new(
            "answer",
            "must be one of the six FFT answers",
        ));
    }
    let date = alongside_platform::parse_date(r.responded_on.trim());
    match date {
        None => errors.push(FieldError::new(
            "responded_on",
            alongside_platform::DATE_FORM,
        )),
        Some(d) if d > today => {
            errors.push(FieldError::new("responded_on", "cannot be in the future"))
        }
        Some(_) => {}
    }
    let mut comment = |field: &str, text: &str| -> String {
        let text: String = text
            .trim()
            .chars()
            .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
            .collect();
        if text.chars().count() > 2_000 {
            errors.push(FieldError::new(field, "must be 2,000 characters or fewer"));
        }
        text
    };
    let worked_well = comment("worked_well", &r.worked_well);
    let could_improve = comment("could_improve", &r.could_improve);
    // Only listed places: nothing typed becomes a dimension of a figure.
    let mut tag = |field: &str, text: &str| -> String {
        places.resolve(field, text).unwrap_or_else(|reason| {
            errors.push(FieldError::new(field, reason));
            String::new()
        })
    };
    let tags = Tags {
        site: tag("site", &r.site),
        locality: tag("locality", &r.locality),
        pathway: tag("pathway", &r.pathway),
        team: tag("team", &r.team),
    };
    let respondent = r.respondent.clone().unwrap_or_default();
    let mut who = Who::default();
    let given = !respondent.age_band.trim().is_empty()
        || !respondent.sex.trim().is_empty()
        || !respondent.ethnic_group.trim().is_empty()
        || respondent.imd_decile != 0;
    if given && !respondent.consent {
        errors.push(FieldError::new(
            "respondent",
            "equality answers are kept only with the respondent's consent: set consent, or leave them out",
        ));
    } else if given {
        for (field, value, slot) in [
            ("age_band", &respondent.age_band, &mut who.age_band),
            ("sex", &respondent.sex, &mut who.sex),
            (
                "ethnic_group",
                &respondent.ethnic_group,
                &mut who.ethnic_group,
            ),
        ] {
            match equality_answer(field, value) {
                Ok(v) => *slot = v,
                Err(reason) => errors.push(FieldError::new(format!("respondent.{field}"), reason)),
            }
        }
        if respondent.imd_decile > 10 {
            errors.push(FieldError::new(
                "respondent.imd_decile",
                "must be 1 (most deprived) to 10, or 0 when not known",
            ));
        }
        who.imd_decile = respondent.imd_decile.min(10) as i32;
    }
    match (errors.is_empty(), date) {
        (true, Some(responded_on)) => Ok(Valid {
            source,
            response_id: response_id.to_string(),
            answer,
            responded_on,
            worked_well,
            could_improve,
            tags,
            who,
            answers,
        }),
        _ => Err(errors),
    }
}

/// Stores checked responses, and their comments labelled by the trust's themes model; returns
/// how many were new (the rest were already held, and their comments are not stored again).
pub async fn store(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    responses: &[Valid],
    models: &ThemeModels,
    received_at: &str,
) -> Result<u64, DbErr> {
    let mut inserted = 0;
    // The months whose figures changed, marked for the analytics stream at the end.
    let mut months = std::collections::BTreeSet::new();
    let mut in_use = None;
    // Eighteen columns a row: 500 rows stay well inside SQLite's bound-parameter limit.
    for chunk in responses.chunks(500) {
        let ids: Vec<String> = chunk.iter().map(|_| ids::new_id(FFT_RESPONSE)).collect();
        let rows = chunk.iter().zip(&ids).map(|(v, id)| {
            let responded_on = v.responded_on.to_string();
            response::ActiveModel {
                id: Set(id.clone()),
                tenant_id: Set(tenant.to_string()),
                source: Set(v.source.clone()),
                response_id: Set(v.response_id.clone()),
                answer: Set(answer_code(v.answer).into()),
                month: Set(responded_on[..7].to_string()),
                responded_on: Set(responded_on),
                received_at: Set(received_at.to_string()),
                // Comments are kept in their own table, with their themes.
                worked_well: Set(String::new()),
                could_improve: Set(String::new()),
                site: Set(v.tags.site.clone()),
                locality: Set(v.tags.locality.clone()),
                pathway: Set(v.tags.pathway.clone()),
                team: Set(v.tags.team.clone()),
                age_band: Set(v.who.age_band.clone()),
                sex: Set(v.who.sex.clone()),
                ethnic_group: Set(v.who.ethnic_group.clone()),
                imd_decile: Set(v.who.imd_decile),
            }
        });
        let insert = response::Entity::insert_many(rows).on_conflict(
            OnConflict::columns([
                response::Column::TenantId,
                response::Column::Source,
                response::Column::ResponseId,
            ])
            .do_nothing()
            .to_owned(),
        );
        // Which responses were new decides what is counted and which comments are stored: the
        // fresh ids that are now held (a response already held kept its old id).
        insert.exec_without_returning(db).await?;
        let new: std::collections::HashSet<String> = {
            use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
            response::Entity::find()
                .filter(response::Column::Id.is_in(ids.iter().cloned()))
                .select_only()
                .column(response::Column::Id)
                .into_tuple::<String>()
                .all(db)
                .await?
                .into_iter()
                .collect()
        };
        inserted += new.len() as u64;
        let fresh: Vec<&Valid> = chunk
            .iter()
            .zip(&ids)
            .filter(|(_, id)| new.contains(*id))
            .map(|(v, _)| v)
            .collect();
        crate::rollup::add(db, tenant, &fresh).await?;
        months.extend(
            fresh
                .iter()
                .map(|v| v.responded_on.to_string()[..7].to_string()),
        );
        let answered: Vec<crate::survey::Answered> = chunk
            .iter()
            .zip(&ids)
            .filter(|(v, id)| !v.answers.is_empty() && new.contains(*id))
            .map(|(v, id)| {
                (
                    id.as_str(),
                    v.responded_on.to_string()[..7].to_string(),
                    v.answers.as_slice(),
                )
            })
            .collect();
        if !answered.is_empty() {
            crate::survey::store_answers(db, tenant, &answered).await?;
        }
        if fresh
            .iter()
            .all(|v| v.worked_well.is_empty() && v.could_improve.is_empty())
        {
            continue;
        }
        let dates: Vec<String> = chunk.iter().map(|v| v.responded_on.to_string()).collect();
        let mut new_comments = Vec::new();
        for ((v, id), on) in chunk.iter().zip(&ids).zip(&dates) {
            if !new.contains(id) {
                continue;
            }
            for (question, text) in [
                (Question::WorkedWell, &v.worked_well),
                (Question::CouldImprove, &v.could_improve),
            ] {
                if !text.is_empty() {
                    new_comments.push(comments::New {
                        source: &v.source,
                        response_id: &v.response_id,
                        question,
                        text,
                        responded_on: on,
                        answer: answer_code(v.answer),
                        answer_number: Some(v.answer as u8),
                        pathway: &v.tags.pathway,
                    });
                }
            }
        }
        if !new_comments.is_empty() {
            if in_use.is_none() {
                in_use = Some(models.for_tenant(tenant).await?);
            }
            if let Some(model) = &in_use {
                comments::store(db, tenant, model, &new_comments, received_at).await?;
            }
        }
    }
    crate::insights::mark(db, tenant, &months).await?;
    Ok(inserted)
}

/// How many of `responses` storing would add: those not already held, each (source, id) once.
pub async fn count_new(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
    responses: &[Valid],
) -> Result<u64, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    let mut seen: std::collections::HashSet<(String, String)> = std::collections::HashSet::new();
    for chunk in responses.chunks(500) {
        let held: Vec<(String, String)> = response::for_tenant(tenant)
            .filter(response::Column::ResponseId.is_in(chunk.iter().map(|v| v.response_id.clone())))
            .select_only()
            .column(response::Column::Source)
            .column(response::Column::ResponseId)
            .into_tuple()
            .all(db)
            .await?;
        seen.extend(held);
    }
    let mut new = 0;
    for v in responses {
        if seen.insert((v.source.clone(), v.response_id.clone())) {
            new += 1;
        }
    }
    Ok(new)
}

/// Responses published on `feedback.responses.v1` by survey tools and uploads.
pub struct ResponsesFromTopic {
    pub models: std::sync::Arc<ThemeModels>,
    pub clock: alongside_platform::SharedClock,
}

impl ResponsesFromTopic {
    /// A response from the topic, checked against its trust's survey; a bad one is poison.
    fn check(
        event: &Envelope,
        (questions, places): &(crate::survey::Questions, Places),
        today: time::Date,
    ) -> Result<Valid, HandlerError> {
        if !event.is::<FftResponseReceived>() {
            return Err(HandlerError::Poison(format!(
                "unexpected event type {} on feedback.responses.v1",
                event.event_type()
            )));
        }
        let received: FftResponseReceived = event.payload()?;
        let response = received
            .response
            .ok_or_else(|| HandlerError::Poison("FftResponseReceived without a response".into()))?;
        validate_with(&response, today, questions, places).map_err(|errors| {
            HandlerError::Poison(
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.reason))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
    }
}

#[async_trait::async_trait]
impl Handler for ResponsesFromTopic {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &Envelope,
    ) -> Result<(), HandlerError> {
        self.handle_batch(txn, std::slice::from_ref(event)).await
    }

    /// A batch is stored per trust at once: one statement per table per trust.
    async fn handle_batch(
        &self,
        txn: &DatabaseTransaction,
        events: &[Envelope],
    ) -> Result<(), HandlerError> {
        let mut by_tenant: std::collections::BTreeMap<String, (OdsCode, Vec<Valid>)> =
            Default::default();
        let mut surveys: std::collections::HashMap<String, (crate::survey::Questions, Places)> =
            Default::default();
        let today = self.clock.today();
        for event in events {
            let tenant = event.tenant();
            if !surveys.contains_key(tenant.as_str()) {
                if !crate::tenants::is_registered(txn, tenant.as_str()).await? {
                    return Err(HandlerError::Poison(format!(
                        "{tenant} is not an organisation registered with Alongside: its responses are not counted"
                    )));
                }
                let questions = crate::survey::Questions::load(txn, tenant).await?;
                let places = Places::load(txn, tenant).await?;
                surveys.insert(tenant.to_string(), (questions, places));
            }
            let valid = Self::check(event, &surveys[tenant.as_str()], today)?;
            by_tenant
                .entry(tenant.to_string())
                .or_insert_with(|| (tenant.clone(), Vec::new()))
                .1
                .push(valid);
        }
        let received_at = self.clock.now_rfc3339();
        for (tenant, valid) in by_tenant.values() {
            store(txn, tenant, valid, &self.models, &received_at).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn response(answer: FftAnswer, on: &str) -> FftResponse {
        FftResponse {
            response_id: "r1".into(),
            source: "SMS".into(),
            answer: answer as i32,
            responded_on: on.into(),
            ..Default::default()
        }
    }

    #[test]
    fn accepts_and_normalises_a_good_response() {
        let v = validate(
            &response(FftAnswer::Good, "2026-11-01"),
            date!(2026 - 11 - 23),
        )
        .unwrap();
        assert_eq!(v.source, "sms");
        assert_eq!(v.responded_on, date!(2026 - 11 - 01));
    }

    #[test]
    fn names_each_problem() {
        let bad = FftResponse {
            response_id: "".into(),
            source: "carrier pigeon".into(),
            answer: 0,
            responded_on: "2027-01-01".into(),
            worked_well: "x".repeat(2_001),
            team: "ward\nseven".into(),
            ..Default::default()
        };
        let fields: Vec<String> = validate(&bad, date!(2026 - 11 - 23))
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "response_id",
                "source",
                "answer",
                "responded_on",
                "worked_well",
                "team"
            ]
        );
        assert!(validate(&response(FftAnswer::Good, "1 Nov"), date!(2026 - 11 - 23)).is_err());
        assert!(validate(
            &FftResponse {
                answer: 42,
                ..response(FftAnswer::Good, "2026-11-01")
            },
            date!(2026 - 11 - 23)
        )
        .is_err());
    }

    #[test]
    fn equality_answers_need_consent_and_known_codes() {
        let today = date!(2026 - 11 - 23);
        let with = |consent: bool, age: &str, decile: u32| FftResponse {
            respondent: Some(alongside_proto::feedback::v1::Respondent {
                consent,
                age_band: age.into(),
                sex: "female".into(),
                ethnic_group: String::new(),
                imd_decile: decile,
            }),
            ..response(FftAnswer::Good, "2026-11-01")
        };
        let fields = |r: &FftResponse| -> Vec<String> {
            validate(r, today)
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(fields(&with(false, "35_44", 3)), ["respondent"]);
        assert_eq!(
            fields(&with(true, "thirties", 11)),
            ["respondent.age_band", "respondent.imd_decile"]
        );
        let ok = validate(&with(true, "under_16", 3), today).unwrap();
        assert_eq!(
            (
                ok.who.age_band.as_str(),
                ok.who.sex.as_str(),
                ok.who.imd_decile
            ),
            ("under_16", "female", 3)
        );
        let none = validate(&response(FftAnswer::Good, "2026-11-01"), today).unwrap();
        assert_eq!(none.who, Who::default(), "nothing given, nothing kept");
    }
}
