//! The gRPC API of feedback.

use std::collections::BTreeMap;

use alongside_platform::error::Violations;
use alongside_platform::{grpc, Caller, Role, ServiceError, SharedClock};
use alongside_proto::feedback::v1::feedback_service_server::FeedbackService;
use alongside_proto::feedback::v1::*;
use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder, QuerySelect};
use tonic::{Request, Response, Status};

use crate::fft::{answer_from_code, Counts};
use crate::{ingest, proms};

pub const MAX_BATCH: usize = 5_000;

/// Comments and complaints one by one may hold names and what happened to a patient: the
/// trust's engagement team only — not analysts, and not administrators, who manage users and
/// reference data rather than case notes.
const COMMENT_READERS: &[Role] = &[Role::EngagementLead, Role::Staff];
/// Retrain the themes model, and choose the survey's questions.
const TRAINERS: &[Role] = &[Role::EngagementLead, Role::Admin];

/// FFT figures are aggregates, not personal data: analysts may read them.
const READERS: &[Role] = &[
    Role::Analyst,
    Role::EngagementLead,
    Role::Staff,
    Role::Admin,
];
/// The aggregates, suppressed: analysts of the trust, and of its ICS through the gateway.
const FIGURE_READERS: &[Role] = &[
    Role::Analyst,
    Role::IcsAnalyst,
    Role::EngagementLead,
    Role::Staff,
    Role::Admin,
];
/// Keep the trust's places: administrators, who keep its reference data.
const PLACE_KEEPERS: &[Role] = &[Role::Admin];
/// See the values held from before the lists, which may be what a respondent typed.
const HELD_READERS: &[Role] = &[Role::Admin, Role::EngagementLead];

/// Trusts side by side: the ICS's analysts, whose tenant is the ICB.
const COMPARERS: &[Role] = &[Role::IcsAnalyst];
const SUBMITTERS: &[Role] = &[
    Role::Analyst,
    Role::EngagementLead,
    Role::Staff,
    Role::Admin,
    // The public web form, through the gateway: one web response at a time.
    Role::Public,
];

pub struct FeedbackApi {
    pub(crate) db: DatabaseConnection,
    /// Where changes to places are announced to the other services.
    pub(crate) outbox: alongside_events::Outbox,
    pub(crate) models: std::sync::Arc<crate::themes::ThemeModels>,
    pub(crate) clock: SharedClock,
    /// When months' figures are released to readers of figures.
    pub(crate) publication: crate::release::Publication,
}

impl FeedbackApi {
    pub fn new(
        db: DatabaseConnection,
        outbox: alongside_events::Outbox,
        models: std::sync::Arc<crate::themes::ThemeModels>,
        clock: SharedClock,
        publication: alongside_platform::config::PublicationSettings,
    ) -> Self {
        Self {
            db,
            outbox,
            models,
            publication: crate::release::Publication {
                settings: publication,
                clock: clock.clone(),
            },
            clock,
        }
    }

    async fn submit(
        &self,
        caller: &Caller,
        request: SubmitFftResponsesRequest,
    ) -> Result<SubmitFftResponsesResponse, ServiceError> {
        let mut v = Violations::default();
        check_batch(&mut v, request.responses.len());
        if caller.role == Role::Public
            && (request.responses.len() != 1
                || request.dry_run
                || request.responses.iter().any(|r| r.source != "web"))
        {
            return Err(ServiceError::Forbidden(
                "the public form sends one web response at a time".into(),
            ));
        }
        v.finish()?;
        let today = self.clock.today();
        let questions = crate::survey::Questions::load(&self.db, &caller.tenant).await?;
        let places = crate::places::Places::load(&self.db, &caller.tenant).await?;
        let mut valid = Vec::with_capacity(request.responses.len());
        let mut rejected = Vec::new();
        for (index, r) in request.responses.iter().enumerate() {
            match ingest::validate_with(r, today, &questions, &places) {
                Ok(ok) => valid.push(ok),
                Err(errors) => rejected.extend(errors.into_iter().map(|e| RowError {
                    index: index as u32,
                    field: e.field,
                    reason: e.reason,
                })),
            }
        }
        let accepted = if request.dry_run {
            ingest::count_new(&self.db, &caller.tenant, &valid).await?
        } else {
            // Responses, their comments and the marks of what changed together, or none.
            let txn = sea_orm::TransactionTrait::begin(&self.db).await?;
            let stored = ingest::store(
                &txn,
                &caller.tenant,
                &valid,
                &self.models,
                &self.clock.now_rfc3339(),
            )
            .await?;
            txn.commit().await?;
            stored
        };
        Ok(SubmitFftResponsesResponse {
            accepted: accepted as u32,
            duplicates: (valid.len() as u64 - accepted) as u32,
            rejected,
        })
    }

    async fn summary(
        &self,
        caller: &Caller,
        request: GetFftSummaryRequest,
    ) -> Result<GetFftSummaryResponse, ServiceError> {
        let mut v = Violations::default();
        check_period(&mut v, &request.from_month, &request.to_month);
        for month in &request.rebase_months {
            v.check(
                is_month(month),
                "rebase_months",
                &format!("{month:?} is not a month in the form YYYY-MM"),
            );
        }
        v.finish()?;
        let filter = to_filter(request.filter.as_ref());
        let rows = crate::rollup::counts(
            &self.db,
            &caller.tenant,
            &request.from_month,
            &request.to_month,
            &filter,
            "month",
            false,
        )
        .await?;
        let mut months: BTreeMap<String, Counts> = BTreeMap::new();
        for (month, answer, n) in rows {
            months
                .entry(month)
                .or_default()
                .add(answer_from_code(&answer), n);
        }
        if request.target.is_some_and(|t| !(0.0..=100.0).contains(&t)) {
            return Err(ServiceError::invalid(
                "target",
                "must be a percentage from 0 to 100",
            ));
        }
        let months: Vec<FftMonth> = months
            .into_iter()
            .map(|(month, c)| fft_month(month, &c))
            .collect();
        let mut chart = positive_chart(&months, request.target, &request.rebase_months)?;
        if request.leave_out_small_months {
            chart = crate::compare::public_chart(&months, chart);
        }
        let positive_chart = Some(chart);
        Ok(GetFftSummaryResponse {
            months,
            positive_chart,
        })
    }
}

/// A batch's size: at least one response, at most [`MAX_BATCH`].
fn check_batch(v: &mut Violations, len: usize) {
    v.check(len > 0, "responses", "send at least one response");
    v.check(
        len <= MAX_BATCH,
        "responses",
        &format!("send at most {MAX_BATCH} responses in one call"),
    );
}

/// A period's months, each empty (open) or YYYY-MM.
pub(crate) fn check_period(v: &mut Violations, from_month: &str, to_month: &str) {
    for (field, value) in [("from_month", from_month), ("to_month", to_month)] {
        v.check(
            value.is_empty() || is_month(value),
            field,
            "must be a month in the form YYYY-MM",
        );
    }
}

pub(crate) fn to_filter(filter: Option<&FftFilter>) -> crate::rollup::Filter {
    let f = filter.cloned().unwrap_or_default();
    crate::rollup::Filter {
        site: f.site.trim().into(),
        locality: f.locality.trim().into(),
        pathway: f.pathway.trim().into(),
        team: f.team.trim().into(),
        source: f.source.trim().to_ascii_lowercase(),
    }
}

impl FeedbackApi {
    async fn breakdown(
        &self,
        caller: &Caller,
        request: GetFftBreakdownRequest,
    ) -> Result<GetFftBreakdownResponse, ServiceError> {
        use crate::rollup::Dim;
        use crate::suppression::{suppress, Unit};
        let mut v = Violations::default();
        check_period(&mut v, &request.from_month, &request.to_month);
        let dim = Dim::parse(&request.by);
        v.check(
            dim.is_some(),
            "by",
            "must be site, locality, pathway, team, source, age_band, sex, ethnic_group or imd_decile",
        );
        let filter = to_filter(request.filter.as_ref());
        if dim.is_some_and(Dim::is_equity) {
            // Who answered is counted by period alone: with a place too, a row could be a person.
            v.check(
                filter.is_empty(),
                "filter",
                "the health-equity view is by period only: leave the filter empty",
            );
        }
        v.finish()?;
        let dim = dim.ok_or_else(|| ServiceError::invalid("by", "unknown"))?;
        let rows = crate::rollup::counts(
            &self.db,
            &caller.tenant,
            &request.from_month,
            &request.to_month,
            &filter,
            dim.column(),
            dim.is_equity(),
        )
        .await?;
        let mut by_value: BTreeMap<String, Counts> = BTreeMap::new();
        let mut all = Counts::default();
        for (value, answer, n) in rows {
            // An unknown decile is stored as 0; shown as not known, like the other dimensions.
            let value = if dim == Dim::ImdDecile && value == "0" {
                String::new()
            } else {
                value
            };
            let answer = answer_from_code(&answer);
            by_value.entry(value).or_default().add(answer, n);
            all.add(answer, n);
        }
        // The rows are siblings under "all", suppressed as NHS England's publication does.
        let mut units = vec![Unit {
            id: "all".into(),
            parent: String::new(),
            counts: all,
        }];
        units.extend(by_value.iter().map(|(value, c)| Unit {
            id: format!("={value}"),
            parent: "all".into(),
            counts: *c,
        }));
        let published = suppress(&units).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(GetFftBreakdownResponse {
            by: dim.column().into(),
            all: published.first().map(|p| published_row(p, String::new())),
            rows: published
                .iter()
                .skip(1)
                .map(|p| published_row(p, p.id.trim_start_matches('=').to_string()))
                .collect(),
        })
    }

    async fn places(&self, caller: &Caller) -> Result<FftPlaces, ServiceError> {
        let values = |column| crate::rollup::values(&self.db, &caller.tenant, column);
        Ok(FftPlaces {
            sites: values("site").await?,
            localities: values("locality").await?,
            pathways: values("pathway").await?,
            teams: values("team").await?,
        })
    }
}

/// A month's counts with its percentages and interval.
pub(crate) fn fft_month(month: String, c: &Counts) -> FftMonth {
    let interval = crate::fft::wilson_95(c.very_good + c.good, c.total());
    FftMonth {
        month,
        very_good: c.very_good,
        good: c.good,
        neither: c.neither,
        poor: c.poor,
        very_poor: c.very_poor,
        dont_know: c.dont_know,
        total: c.total(),
        percent_positive: c.percent_positive(),
        percent_negative: c.percent_negative(),
        positive_low_95: interval.map(|(low, _)| low * 100.0),
        positive_high_95: interval.map(|(_, high)| high * 100.0),
    }
}

/// What may be published of a unit, as a row, with the interval of what it shows.
pub(crate) fn published_row(p: &crate::suppression::Published, value: String) -> FftBreakdownRow {
    let interval = p
        .positive
        .and_then(|share| crate::fft::wilson_95((share * p.total as f64).round() as u64, p.total));
    FftBreakdownRow {
        value,
        total: Some(p.total),
        very_good: p.counts.as_ref().map(|c| c.very_good),
        good: p.counts.as_ref().map(|c| c.good),
        neither: p.counts.as_ref().map(|c| c.neither),
        poor: p.counts.as_ref().map(|c| c.poor),
        very_poor: p.counts.as_ref().map(|c| c.very_poor),
        dont_know: p.counts.as_ref().map(|c| c.dont_know),
        percent_positive: p.positive.map(|x| x * 100.0),
        percent_negative: p.negative.map(|x| x * 100.0),
        suppression: p.suppression.as_str().into(),
        positive_low_95: interval.map(|(low, _)| low * 100.0),
        positive_high_95: interval.map(|(_, high)| high * 100.0),
    }
}

/// % positive month by month as an XmR chart (higher is better), months without responses left
/// out as NHSRplotthedots would need them to be.
/// Rebasing starts a new group of limits at each of `rebase_months`, which must be charted months.
pub(crate) fn positive_chart(
    months: &[FftMonth],
    target: Option<f64>,
    rebase_months: &[String],
) -> Result<SpcChart, ServiceError> {
    let shown: Vec<(&str, f64)> = months
        .iter()
        .filter_map(|m| Some((m.month.as_str(), m.percent_positive?)))
        .collect();
    let values: Vec<f64> = shown.iter().map(|(_, v)| *v).collect();
    let mut v = Violations::default();
    let mut rebase_at = Vec::new();
    for month in rebase_months {
        match shown.iter().position(|(m, _)| m == month) {
            Some(0) => v.push(
                "rebase_months",
                format!("{month} is the first month charted: limits already start there"),
            ),
            Some(i) => rebase_at.push(i),
            None => v.push(
                "rebase_months",
                format!(
                    "{month} is not a month on the chart (a month with responses in the period)"
                ),
            ),
        }
    }
    v.finish()?;
    rebase_at.sort_unstable();
    rebase_at.dedup();
    let options = crate::spc::Options {
        target,
        rebase_at,
        ..crate::spc::Options::default()
    };
    let chart = crate::spc::xmr(&values, &options);
    Ok(SpcChart {
        points: chart
            .points
            .iter()
            .zip(&shown)
            .map(|(p, (month, _))| SpcPoint {
                period: month.to_string(),
                value: p.value,
                mean: p.mean,
                lpl: p.lpl,
                upl: p.upl,
                r#type: p.point_type.as_str().into(),
                rule: p.rule.map(|r| r.describe().to_string()).unwrap_or_default(),
            })
            .collect(),
        assurance: chart.assurance.as_str().into(),
        warnings: chart.warnings,
        target,
    })
}

impl FeedbackApi {
    async fn submit_proms(
        &self,
        caller: &Caller,
        request: SubmitPromResponsesRequest,
    ) -> Result<SubmitPromResponsesResponse, ServiceError> {
        use sea_orm::ActiveValue::Set;
        let mut v = Violations::default();
        check_batch(&mut v, request.responses.len());
        v.finish()?;
        let today = self.clock.today();
        let received_at = self.clock.now_rfc3339();
        let places = crate::places::Places::load(&self.db, &caller.tenant).await?;
        let mut rows = Vec::new();
        let mut rejected = Vec::new();
        for (index, r) in request.responses.iter().enumerate() {
            let mut problems: Vec<(&str, String)> = Vec::new();
            let instrument = proms::Instrument::parse(r.instrument.trim());
            if instrument.is_none() {
                problems.push(("instrument", "must be msk_hq or sure".into()));
            }
            let response_id = r.response_id.trim();
            if response_id.is_empty() || response_id.len() > 100 {
                problems.push(("response_id", "is required, up to 100 characters".into()));
            }
            let episode = r.episode_id.trim();
            if proms::is_nhs_number(episode) {
                problems.push((
                    "episode_id",
                    "is an NHS number: give the episode's own reference instead".into(),
                ));
            } else if episode.is_empty()
                || episode.len() > 64
                || !episode
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_/.".contains(c))
            {
                problems.push((
                    "episode_id",
                    "give the episode's reference: up to 64 letters, digits or - _ / .".into(),
                ));
            }
            match alongside_platform::parse_date(r.completed_on.trim()) {
                None => problems.push(("completed_on", alongside_platform::DATE_FORM.into())),
                Some(d) if d > today => {
                    problems.push(("completed_on", "cannot be in the future".into()))
                }
                Some(_) => {}
            }
            let source = r.source.trim().to_ascii_lowercase();
            if !ingest::SOURCES.contains(&source.as_str()) {
                problems.push((
                    "source",
                    format!("must be one of {}", ingest::SOURCES.join(", ")),
                ));
            }
            let pathway = places
                .resolve("pathway", &r.pathway)
                .unwrap_or_else(|reason| {
                    problems.push(("pathway", reason));
                    String::new()
                });
            let total = instrument.map(|i| proms::total(i, &r.items));
            if let Some(Err(problem)) = &total {
                problems.push(("items", problem.clone()));
            }
            if !problems.is_empty() {
                rejected.extend(problems.into_iter().map(|(field, reason)| RowError {
                    index: index as u32,
                    field: field.into(),
                    reason,
                }));
                continue;
            }
            rows.push(crate::prom_store::ActiveModel {
                id: Set(alongside_platform::ids::new_id(
                    alongside_platform::ids::PROM_RESPONSE,
                )),
                tenant_id: Set(caller.tenant.to_string()),
                instrument: Set(r.instrument.trim().into()),
                source: Set(source),
                response_id: Set(response_id.into()),
                episode_id: Set(episode.into()),
                completed_on: Set(r.completed_on.trim().into()),
                items: Set(r
                    .items
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")),
                total: Set(total.and_then(Result::ok).unwrap_or(0) as i32),
                pathway: Set(pathway),
                received_at: Set(received_at.clone()),
            });
        }
        let valid = rows.len() as u64;
        let accepted = if request.dry_run {
            crate::prom_store::count_new(&self.db, &caller.tenant, &rows).await?
        } else {
            // The questionnaires and the marks of the months they change, together: those of
            // their episodes' questionnaires, new and held (a follow-up is paired with its
            // episode's first, which may arrive after it). Written first: SQLite refuses a
            // transaction that reads and then writes while another connection writes.
            let set = |v: &sea_orm::ActiveValue<String>| match v {
                sea_orm::ActiveValue::Set(s) => Some(s.clone()),
                _ => None,
            };
            let episodes: Vec<String> = rows
                .iter()
                .filter_map(|r| set(&r.episode_id))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let txn = sea_orm::TransactionTrait::begin(&self.db).await?;
            let stored = crate::prom_store::store(&txn, rows).await?;
            let mut months = std::collections::BTreeSet::new();
            for chunk in episodes.chunks(500) {
                let held: Vec<String> = crate::prom_store::for_tenant(&caller.tenant)
                    .filter(crate::prom_store::Column::EpisodeId.is_in(chunk.iter().cloned()))
                    .select_only()
                    .column(crate::prom_store::Column::CompletedOn)
                    .distinct()
                    .into_tuple()
                    .all(&txn)
                    .await?;
                months.extend(held.iter().filter_map(|on| on.get(..7).map(str::to_string)));
            }
            crate::insights::mark(&txn, &caller.tenant, &months).await?;
            txn.commit().await?;
            stored
        };
        Ok(SubmitPromResponsesResponse {
            accepted: accepted as u32,
            duplicates: (valid - accepted) as u32,
            rejected,
        })
    }

    async fn prom_summary(
        &self,
        caller: &Caller,
        request: GetPromSummaryRequest,
    ) -> Result<PromSummary, ServiceError> {
        let mut v = Violations::default();
        for (field, value) in [("from", &request.from), ("to", &request.to)] {
            v.check(
                value.is_empty() || alongside_platform::parse_date(value).is_some(),
                field,
                alongside_platform::DATE_FORM,
            );
        }
        v.check(
            request.msk_hq_threshold <= 56,
            "msk_hq_threshold",
            "must be between 1 and 56 points",
        );
        v.finish()?;
        // Nobody reads questionnaires one by one: every reader is answered in whole months,
        // each month's figures withheld as the stream withholds them, so a period less the
        // months the stream shows (or another period) gives nothing back.
        let (from, to) = (
            whole_month(&request.from, false),
            whole_month(&request.to, true),
        );
        let mut summary = prom_figures(
            &self.db,
            &caller.tenant,
            &from,
            &to,
            &request.pathway,
            request.msk_hq_threshold,
        )
        .await?;
        // For choosing one: the caller's pages ask, the analytics stream does not.
        let pathways: Vec<String> = crate::prom_store::for_tenant(&caller.tenant)
            .select_only()
            .column(crate::prom_store::Column::Pathway)
            .distinct()
            .into_tuple()
            .all(&self.db)
            .await?;
        // Only listed pathways: one recorded before the lists is not offered as a label.
        let places = crate::places::Places::load(&self.db, &caller.tenant).await?;
        summary.pathways = pathways
            .into_iter()
            .filter(|p| places.is_active("pathway", p))
            .collect();
        Ok(summary)
    }
}

/// The first (or with `last`, the last) day of the month of `date`; empty stays empty.
fn whole_month(date: &str, last: bool) -> String {
    match (date.get(..7), last) {
        (Some(month), false) => format!("{month}-01"),
        (Some(month), true) => {
            alongside_platform::last_day_of_month(month).map_or(date.to_string(), |d| d.to_string())
        }
        (None, _) => date.to_string(),
    }
}

/// Outcome measures of the whole months from `from` to `to` (dates, either open) of a pathway
/// (empty for all), as `prom_release` publishes them: each month protected, a period's figure
/// hidden when any of its months' is. A threshold of 0 is the default. `pathways` is left empty.
pub(crate) async fn prom_figures(
    db: &impl sea_orm::ConnectionTrait,
    tenant: &alongside_platform::OdsCode,
    from: &str,
    to: &str,
    pathway: &str,
    threshold: u32,
) -> Result<PromSummary, sea_orm::DbErr> {
    use crate::prom_release::{FOLLOW_UPS, MSK_HQ, SURE};
    let threshold = if threshold == 0 {
        proms::MSK_HQ_DEFAULT_THRESHOLD
    } else {
        threshold
    };
    // Every questionnaire of the trust: a follow-up is paired with its episode's first,
    // whenever that was.
    let rows: Vec<(String, String, String, i32, String)> = crate::prom_store::for_tenant(tenant)
        .select_only()
        .columns([
            crate::prom_store::Column::Instrument,
            crate::prom_store::Column::EpisodeId,
            crate::prom_store::Column::CompletedOn,
            crate::prom_store::Column::Total,
            crate::prom_store::Column::Pathway,
        ])
        .order_by_asc(crate::prom_store::Column::ReceivedAt)
        .order_by_asc(crate::prom_store::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let questionnaires: Vec<crate::prom_release::Questionnaire> = rows
        .into_iter()
        .filter_map(|(instrument, episode, on, total, pathway)| {
            Some(crate::prom_release::Questionnaire {
                instrument: proms::Instrument::parse(&instrument)?,
                episode,
                completed_on: alongside_platform::parse_date(&on)?,
                total: total.max(0) as u32,
                pathway,
            })
        })
        .collect();
    let (first, last) = (from.get(..7).unwrap_or(""), to.get(..7).unwrap_or(""));
    let shown: Vec<_> = crate::prom_release::months(&questionnaires, threshold)
        .into_iter()
        .filter(|(m, _)| {
            (first.is_empty() || m.as_str() >= first) && (last.is_empty() || m.as_str() <= last)
        })
        .map(|(_, figures)| crate::prom_release::shown_month(figures))
        .collect();
    let figures = crate::prom_release::over(&shown, pathway.trim());
    let (msk, follow_ups, sure) = (&figures[MSK_HQ], &figures[FOLLOW_UPS], &figures[SURE]);
    let shown_or = |s: &crate::prom_release::Shown,
                    f: &dyn Fn(&crate::prom_release::Scores) -> Option<f64>| {
        if s.hidden {
            None
        } else {
            f(&s.figure)
        }
    };
    let count = |s: &crate::prom_release::Shown| (!s.hidden).then_some(s.figure.n);
    Ok(PromSummary {
        msk_hq_responses: count(msk),
        msk_hq_mean_total: shown_or(msk, &|f| f.mean()),
        msk_hq_episodes_paired: count(follow_ups),
        msk_hq_mean_change: shown_or(follow_ups, &|f| f.mean()),
        msk_hq_improved: shown_or(follow_ups, &|f| f.share(0)),
        msk_hq_worsened: shown_or(follow_ups, &|f| f.share(1)),
        msk_hq_threshold: threshold,
        sure_responses: count(sure),
        sure_mean_total: shown_or(sure, &|f| f.mean()),
        sure_conflict: shown_or(sure, &|f| f.share(0)),
        pathways: Vec::new(),
        msk_hq_withheld: msk.hidden || follow_ups.hidden,
        sure_withheld: sure.hidden,
    })
}

pub(crate) fn is_month(value: &str) -> bool {
    alongside_platform::parse_date(&format!("{value}-01")).is_some() && value.len() == 7
}

#[tonic::async_trait]
impl FeedbackService for FeedbackApi {
    async fn submit_fft_responses(
        &self,
        request: Request<SubmitFftResponsesRequest>,
    ) -> Result<Response<SubmitFftResponsesResponse>, Status> {
        let caller = grpc::authorize(&request, SUBMITTERS)?;
        Ok(Response::new(
            self.submit(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_fft_summary(
        &self,
        request: Request<GetFftSummaryRequest>,
    ) -> Result<Response<GetFftSummaryResponse>, Status> {
        let caller = grpc::authorize(&request, FIGURE_READERS)?;
        Ok(Response::new(
            self.summary(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_fft_breakdown(
        &self,
        request: Request<GetFftBreakdownRequest>,
    ) -> Result<Response<GetFftBreakdownResponse>, Status> {
        let caller = grpc::authorize(&request, FIGURE_READERS)?;
        Ok(Response::new(
            self.breakdown(&caller, request.into_inner()).await?,
        ))
    }

    async fn list_fft_places(
        &self,
        request: Request<ListFftPlacesRequest>,
    ) -> Result<Response<FftPlaces>, Status> {
        let caller = grpc::authorize(&request, FIGURE_READERS)?;
        Ok(Response::new(self.places(&caller).await?))
    }

    async fn submit_prom_responses(
        &self,
        request: Request<SubmitPromResponsesRequest>,
    ) -> Result<Response<SubmitPromResponsesResponse>, Status> {
        // Staff and analysts who hold the questionnaires; never the public form.
        let caller = grpc::authorize(&request, READERS)?;
        Ok(Response::new(
            self.submit_proms(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_prom_summary(
        &self,
        request: Request<GetPromSummaryRequest>,
    ) -> Result<Response<PromSummary>, Status> {
        let caller = grpc::authorize(&request, FIGURE_READERS)?;
        Ok(Response::new(
            self.prom_summary(&caller, request.into_inner()).await?,
        ))
    }

    async fn list_comments(
        &self,
        request: Request<ListCommentsRequest>,
    ) -> Result<Response<ListCommentsResponse>, Status> {
        let caller = grpc::authorize(&request, COMMENT_READERS)?;
        Ok(Response::new(
            FeedbackApi::list_comments(self, &caller, request.into_inner()).await?,
        ))
    }

    async fn get_comment(
        &self,
        request: Request<GetCommentRequest>,
    ) -> Result<Response<Comment>, Status> {
        let caller = grpc::authorize(&request, COMMENT_READERS)?;
        Ok(Response::new(
            self.get_comment_of(&caller, &request.into_inner().id)
                .await?,
        ))
    }

    async fn correct_comment(
        &self,
        request: Request<CorrectCommentRequest>,
    ) -> Result<Response<Comment>, Status> {
        let caller = grpc::authorize(&request, COMMENT_READERS)?;
        Ok(Response::new(
            FeedbackApi::correct_comment(self, &caller, request.into_inner()).await?,
        ))
    }

    async fn get_theme_summary(
        &self,
        request: Request<GetThemeSummaryRequest>,
    ) -> Result<Response<ThemeSummary>, Status> {
        let caller = grpc::authorize(&request, FIGURE_READERS)?;
        Ok(Response::new(
            self.theme_summary(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_theme_model(
        &self,
        request: Request<GetThemeModelRequest>,
    ) -> Result<Response<ThemeModelStatus>, Status> {
        let caller = grpc::authorize(&request, READERS)?;
        Ok(Response::new(self.theme_model(&caller).await?))
    }

    async fn retrain_themes(
        &self,
        request: Request<RetrainThemesRequest>,
    ) -> Result<Response<ThemeModelStatus>, Status> {
        let caller = grpc::authorize(&request, TRAINERS)?;
        Ok(Response::new(self.retrain(&caller).await?))
    }

    async fn record_complaint(
        &self,
        request: Request<RecordComplaintRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let caller = grpc::authorize(&request, COMMENT_READERS)?;
        Ok(Response::new(
            FeedbackApi::record_complaint(self, &caller, request.into_inner()).await?,
        ))
    }

    async fn update_complaint(
        &self,
        request: Request<UpdateComplaintRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let caller = grpc::authorize(&request, COMMENT_READERS)?;
        Ok(Response::new(
            FeedbackApi::update_complaint(self, &caller, request.into_inner()).await?,
        ))
    }

    async fn get_complaint(
        &self,
        request: Request<GetComplaintRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let caller = grpc::authorize(&request, COMMENT_READERS)?;
        Ok(Response::new(
            FeedbackApi::get_complaint(self, &caller, &request.into_inner().id).await?,
        ))
    }

    async fn list_complaints(
        &self,
        request: Request<ListComplaintsRequest>,
    ) -> Result<Response<ListComplaintsResponse>, Status> {
        let caller = grpc::authorize(&request, COMMENT_READERS)?;
        Ok(Response::new(
            FeedbackApi::list_complaints(self, &caller, request.into_inner()).await?,
        ))
    }

    async fn get_learning_report(
        &self,
        request: Request<GetLearningReportRequest>,
    ) -> Result<Response<LearningReport>, Status> {
        let caller = grpc::authorize(&request, FIGURE_READERS)?;
        Ok(Response::new(
            self.learning_report_of(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn get_survey(
        &self,
        request: Request<GetSurveyRequest>,
    ) -> Result<Response<Survey>, Status> {
        // The public form asks what the survey asks.
        let caller = grpc::authorize(&request, SUBMITTERS)?;
        Ok(Response::new(self.survey(&caller).await?))
    }

    async fn update_survey(
        &self,
        request: Request<UpdateSurveyRequest>,
    ) -> Result<Response<Survey>, Status> {
        let caller = grpc::authorize(&request, TRAINERS)?;
        Ok(Response::new(
            FeedbackApi::update_survey(self, &caller, request.into_inner()).await?,
        ))
    }

    async fn get_survey_results(
        &self,
        request: Request<GetSurveyResultsRequest>,
    ) -> Result<Response<SurveyResults>, Status> {
        let caller = grpc::authorize(&request, FIGURE_READERS)?;
        Ok(Response::new(
            self.survey_results(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_protected_breakdown(
        &self,
        request: Request<ProtectedBreakdownRequest>,
    ) -> Result<Response<ProtectedBreakdown>, Status> {
        let caller = grpc::authorize(&request, FIGURE_READERS)?;
        Ok(Response::new(
            crate::trust_view::breakdown(
                &self.db,
                &caller,
                request.into_inner(),
                &self.publication,
            )
            .await?,
        ))
    }

    async fn register_tenant(
        &self,
        request: Request<RegisterTenantRequest>,
    ) -> Result<Response<RegisteredTenant>, Status> {
        // The gateway registers each tenant it adds, as that tenant's administrator: a caller
        // registers only its own organisation.
        let caller = grpc::authorize(&request, &[Role::Admin])?;
        let icb = caller
            .ics
            .as_ref()
            .filter(|icb| **icb != caller.tenant)
            .map(ToString::to_string)
            .unwrap_or_default();
        let row = crate::tenants::register(
            &self.db,
            caller.tenant.as_str(),
            &icb,
            &self.clock.now_rfc3339(),
        )
        .await
        .map_err(ServiceError::from)?;
        Ok(Response::new(RegisteredTenant {
            code: row.code,
            icb: row.icb,
            registered_at: row.registered_at,
        }))
    }

    async fn list_places(
        &self,
        request: Request<ListPlacesRequest>,
    ) -> Result<Response<PlaceList>, Status> {
        let caller = grpc::authorize(&request, READERS)?;
        let list = crate::place_admin::list(&self.db, &caller, request.into_inner()).await?;
        Ok(Response::new(list))
    }

    async fn save_places(
        &self,
        request: Request<SavePlacesRequest>,
    ) -> Result<Response<SavePlacesResponse>, Status> {
        let caller = grpc::authorize(&request, PLACE_KEEPERS)?;
        let at = self.clock.now_rfc3339();
        let saved =
            crate::place_admin::save(&self.db, &self.outbox, &caller, &at, request.into_inner())
                .await?;
        Ok(Response::new(saved))
    }

    async fn retire_place(
        &self,
        request: Request<RetirePlaceRequest>,
    ) -> Result<Response<Place>, Status> {
        let caller = grpc::authorize(&request, PLACE_KEEPERS)?;
        let at = self.clock.now_rfc3339();
        let place =
            crate::place_admin::retire(&self.db, &self.outbox, &caller, &at, request.into_inner())
                .await?;
        Ok(Response::new(place))
    }

    async fn merge_place(
        &self,
        request: Request<MergePlaceRequest>,
    ) -> Result<Response<Place>, Status> {
        let caller = grpc::authorize(&request, PLACE_KEEPERS)?;
        let at = self.clock.now_rfc3339();
        let place =
            crate::place_admin::merge(&self.db, &self.outbox, &caller, &at, request.into_inner())
                .await?;
        Ok(Response::new(place))
    }

    async fn list_place_history(
        &self,
        request: Request<ListPlaceHistoryRequest>,
    ) -> Result<Response<PlaceHistory>, Status> {
        let caller = grpc::authorize(&request, READERS)?;
        let history = crate::place_admin::history(&self.db, &caller, request.into_inner()).await?;
        Ok(Response::new(history))
    }

    async fn list_held_places(
        &self,
        request: Request<ListHeldPlacesRequest>,
    ) -> Result<Response<HeldPlaces>, Status> {
        let caller = grpc::authorize(&request, HELD_READERS)?;
        Ok(Response::new(
            crate::place_admin::held(&self.db, &caller).await?,
        ))
    }

    async fn map_held_place(
        &self,
        request: Request<MapHeldPlaceRequest>,
    ) -> Result<Response<MapHeldPlaceResponse>, Status> {
        let caller = grpc::authorize(&request, PLACE_KEEPERS)?;
        let at = self.clock.now_rfc3339();
        let mapped =
            crate::place_admin::map_held(&self.db, &caller, &at, request.into_inner()).await?;
        Ok(Response::new(mapped))
    }

    async fn compare_trusts(
        &self,
        request: Request<CompareTrustsRequest>,
    ) -> Result<Response<TrustComparison>, Status> {
        let caller = grpc::authorize(&request, COMPARERS)?;
        Ok(Response::new(
            crate::compare::compare(&self.db, &caller, request.into_inner(), &self.publication)
                .await?,
        ))
    }
}
