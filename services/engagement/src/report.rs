//! Reporting on involvement for a period: partner hours by kind of work and pathway, distinct
//! partners, paid and expenses-only sessions, how evenly paid work is shared (the share held by
//! the busiest fifth, the most any one held, the Gini coefficient), apologies and no-shows, and
//! opportunities that started with places left.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use alongside_platform::error::Violations;
use alongside_platform::{Caller, ServiceError};
use alongside_proto::engagement::v1::{
    EngagementReportRequest, EngagementReportResponse, HoursRow, UnfilledOpportunity,
};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, Statement};

use crate::store::opportunity;

#[derive(Default)]
struct Tally {
    sessions: u32,
    minutes: u32,
    partners: BTreeSet<String>,
}

impl Tally {
    fn add(&mut self, partner: &str, sessions: u32, minutes: u32) {
        self.sessions += sessions;
        self.minutes += minutes;
        self.partners.insert(partner.to_string());
    }
}

fn rows(tallies: BTreeMap<String, Tally>) -> Vec<HoursRow> {
    let mut rows: Vec<HoursRow> = tallies
        .into_iter()
        .map(|(key, t)| HoursRow {
            key,
            sessions: t.sessions,
            minutes: t.minutes,
            partners: t.partners.len() as u32,
        })
        .collect();
    rows.sort_by(|a, b| b.minutes.cmp(&a.minutes).then(a.key.cmp(&b.key)));
    rows
}

/// Gini coefficient of non-negative counts (0: all equal; towards 1: one holds all).
pub fn gini(counts: &[u32]) -> f64 {
    let n = counts.len();
    let total: u64 = counts.iter().map(|&c| c as u64).sum();
    if n == 0 || total == 0 {
        return 0.0;
    }
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let weighted: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, &c)| (i as f64 + 1.0) * c as f64)
        .sum();
    (2.0 * weighted) / (n as f64 * total as f64) - (n as f64 + 1.0) / n as f64
}

/// The share (0..100) of all paid sessions held by the fifth of partners with most.
pub fn top_fifth_share(counts: &[u32]) -> f64 {
    let total: u64 = counts.iter().map(|&c| c as u64).sum();
    if total == 0 {
        return 0.0;
    }
    let mut sorted = counts.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let fifth = counts.len().div_ceil(5);
    let top: u64 = sorted.iter().take(fifth).map(|&c| c as u64).sum();
    100.0 * top as f64 / total as f64
}

/// How many partners fall in each band of paid sessions: 1, 2-3, 4-6, 7-12, 13+.
pub fn histogram(counts: &[u32]) -> Vec<u32> {
    let mut bands = vec![0u32; 5];
    for &c in counts {
        let band = match c {
            0 => continue,
            1 => 0,
            2..=3 => 1,
            4..=6 => 2,
            7..=12 => 3,
            _ => 4,
        };
        bands[band] += 1;
    }
    bands
}

pub async fn report(
    db: &impl ConnectionTrait,
    caller: &Caller,
    r: EngagementReportRequest,
) -> Result<EngagementReportResponse, ServiceError> {
    let mut v = Violations::default();
    let from = crate::requests::date(&mut v, "from", &r.from, true);
    let to = crate::requests::date(&mut v, "to", &r.to, true);
    if !from.is_empty() && !to.is_empty() && from > to {
        v.push("to", "must be on or after from");
    }
    v.finish()?;
    let backend = db.get_database_backend();
    let p = |n: usize| match backend {
        sea_orm::DbBackend::Postgres => format!("${n}"),
        _ => "?".to_string(),
    };
    let statement = Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT o.kind AS kind, o.pathway AS pathway, o.remuneration AS remuneration, \
             a.partner_id AS partner_id, a.outcome AS outcome, \
             CAST(COUNT(*) AS BIGINT) AS sessions, CAST(COALESCE(SUM(a.minutes), 0) AS BIGINT) AS minutes \
             FROM session_attendances a JOIN opportunities o ON o.id = a.opportunity_id AND o.tenant_id = a.tenant_id \
             WHERE a.tenant_id = {} AND a.activity_date >= {} AND a.activity_date <= {} \
             GROUP BY o.kind, o.pathway, o.remuneration, a.partner_id, a.outcome",
            p(1),
            p(2),
            p(3)
        ),
        [
            caller.tenant.as_str().into(),
            from.clone().into(),
            to.clone().into(),
        ],
    );
    let mut out = EngagementReportResponse {
        from: from.clone(),
        to: to.clone(),
        ..Default::default()
    };
    let mut by_kind: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_pathway: BTreeMap<String, Tally> = BTreeMap::new();
    let mut partners = BTreeSet::new();
    let mut paid: HashMap<String, u32> = HashMap::new();
    for row in db.query_all(statement).await? {
        let kind: String = row.try_get("", "kind")?;
        let pathway: String = row.try_get("", "pathway")?;
        let remuneration: String = row.try_get("", "remuneration")?;
        let partner: String = row.try_get("", "partner_id")?;
        let outcome: String = row.try_get("", "outcome")?;
        let sessions = row.try_get::<i64>("", "sessions")?.max(0) as u32;
        let minutes = row.try_get::<i64>("", "minutes")?.max(0) as u32;
        match outcome.as_str() {
            "apologies" => out.apologies += sessions,
            "no_show" => out.no_shows += sessions,
            _ if minutes == 0 => out.no_shows += sessions,
            _ => {
                out.sessions += sessions;
                out.minutes += minutes;
                partners.insert(partner.clone());
                by_kind
                    .entry(kind)
                    .or_default()
                    .add(&partner, sessions, minutes);
                by_pathway
                    .entry(pathway)
                    .or_default()
                    .add(&partner, sessions, minutes);
                if remuneration == "expenses_only" {
                    out.expenses_only_sessions += sessions;
                } else {
                    out.paid_sessions += sessions;
                    *paid.entry(partner).or_default() += sessions;
                }
            }
        }
    }
    out.partners = partners.len() as u32;
    let counts: Vec<u32> = paid.values().copied().collect();
    out.paid_partners = counts.len() as u32;
    out.top_fifth_share = top_fifth_share(&counts);
    out.most_paid_sessions = counts.iter().copied().max().unwrap_or(0);
    out.gini = gini(&counts);
    out.paid_sessions_histogram = histogram(&counts);
    out.by_kind = rows(by_kind);
    out.by_pathway = rows(by_pathway);
    out.unfilled = opportunity::for_tenant(&caller.tenant)
        .filter(opportunity::Column::StartsOn.gte(from.as_str()))
        .filter(opportunity::Column::StartsOn.lte(to.as_str()))
        .filter(opportunity::Column::Status.is_in(["published", "completed"]))
        .order_by_asc(opportunity::Column::StartsOn)
        .all(db)
        .await?
        .into_iter()
        .filter(|o| o.filled < o.places)
        .map(|o| UnfilledOpportunity {
            id: o.id,
            title: o.title,
            starts_on: o.starts_on,
            places: o.places.max(0) as u32,
            filled: o.filled.max(0) as u32,
        })
        .collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gini_is_zero_when_even_and_rises_as_work_gathers() {
        assert_eq!(gini(&[3, 3, 3, 3]), 0.0);
        assert!((gini(&[0, 0, 0, 4]) - 0.75).abs() < 1e-9);
        assert!(gini(&[1, 2, 3, 10]) > gini(&[3, 4, 4, 5]));
        assert_eq!(gini(&[]), 0.0);
    }

    #[test]
    fn the_busiest_fifth_and_the_bands() {
        // Ten partners: the busiest two hold 10 + 6 of 25.
        let counts = [10, 6, 2, 2, 1, 1, 1, 1, 1, 0];
        assert!((top_fifth_share(&counts) - 64.0).abs() < 1e-9);
        assert_eq!(histogram(&counts), [5, 2, 1, 1, 0]);
    }
}
