//! The gRPC API of feedback.

use std::collections::BTreeMap;

use alongside_platform::error::Violations;
use alongside_platform::{grpc, Caller, Role, ServiceError};
use alongside_proto::feedback::v1::feedback_service_server::FeedbackService;
use alongside_proto::feedback::v1::*;
use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter, QuerySelect};
use tonic::{Request, Response, Status};

use crate::fft::{answer_from_code, Counts};
use crate::{ingest, response};

pub const MAX_BATCH: usize = 5_000;

/// FFT figures are aggregates, not personal data: analysts may read them.
const READERS: &[Role] = &[
    Role::Analyst,
    Role::EngagementLead,
    Role::Staff,
    Role::Admin,
];
const SUBMITTERS: &[Role] = &[
    Role::Analyst,
    Role::EngagementLead,
    Role::Staff,
    Role::Admin,
    // The public web form, through the gateway: one web response at a time.
    Role::Public,
];

pub struct FeedbackApi {
    db: DatabaseConnection,
}

impl FeedbackApi {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn submit(
        &self,
        caller: &Caller,
        request: SubmitFftResponsesRequest,
    ) -> Result<SubmitFftResponsesResponse, ServiceError> {
        let mut v = Violations::default();
        v.check(
            !request.responses.is_empty(),
            "responses",
            "send at least one response",
        );
        v.check(
            request.responses.len() <= MAX_BATCH,
            "responses",
            "send at most 5000 responses in one call",
        );
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
        let today = ingest::today();
        let mut valid = Vec::with_capacity(request.responses.len());
        let mut rejected = Vec::new();
        for (index, r) in request.responses.iter().enumerate() {
            match ingest::validate(r, today) {
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
            ingest::store(&self.db, &caller.tenant, &valid).await?
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
        for (field, value) in [
            ("from_month", &request.from_month),
            ("to_month", &request.to_month),
        ] {
            v.check(
                value.is_empty() || is_month(value),
                field,
                "must be a month in the form YYYY-MM",
            );
        }
        v.finish()?;
        let mut query = response::for_tenant(&caller.tenant);
        if !request.from_month.is_empty() {
            query = query.filter(response::Column::Month.gte(&request.from_month));
        }
        if !request.to_month.is_empty() {
            query = query.filter(response::Column::Month.lte(&request.to_month));
        }
        let rows: Vec<(String, String, i64)> = query
            .select_only()
            .column(response::Column::Month)
            .column(response::Column::Answer)
            .column_as(response::Column::Id.count(), "n")
            .group_by(response::Column::Month)
            .group_by(response::Column::Answer)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut months: BTreeMap<String, Counts> = BTreeMap::new();
        for (month, answer, n) in rows {
            months
                .entry(month)
                .or_default()
                .add(answer_from_code(&answer), n as u64);
        }
        if request.target.is_some_and(|t| !(0.0..=100.0).contains(&t)) {
            return Err(ServiceError::invalid(
                "target",
                "must be a percentage from 0 to 100",
            ));
        }
        let months: Vec<FftMonth> = months
            .into_iter()
            .map(|(month, c)| {
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
            })
            .collect();
        let positive_chart = Some(positive_chart(&months, request.target));
        Ok(GetFftSummaryResponse {
            months,
            positive_chart,
        })
    }
}

/// % positive month by month as an XmR chart (higher is better), months without responses left
/// out as NHSRplotthedots would need them to be.
fn positive_chart(months: &[FftMonth], target: Option<f64>) -> SpcChart {
    let shown: Vec<(&str, f64)> = months
        .iter()
        .filter_map(|m| Some((m.month.as_str(), m.percent_positive?)))
        .collect();
    let values: Vec<f64> = shown.iter().map(|(_, v)| *v).collect();
    let options = crate::spc::Options {
        target,
        ..crate::spc::Options::default()
    };
    let chart = crate::spc::xmr(&values, &options);
    SpcChart {
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
    }
}

fn is_month(value: &str) -> bool {
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
        let caller = grpc::authorize(&request, READERS)?;
        Ok(Response::new(
            self.summary(&caller, request.into_inner()).await?,
        ))
    }
}
