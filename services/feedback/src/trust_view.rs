//! A trust's own dashboard: its FFT figures by site, pathway, team, locality or way of
//! answering, and drilled — a locality by site, a site by pathway, a site's pathway by team, a
//! pathway by team. Every view's figures of a month are terms of one table of sums (the trust;
//! each dimension; each drilled table, whose margins are the views above it), protected
//! together (see [`crate::protection`]) the same whatever is asked; a period's figure is hidden
//! when any of its months is. So every published figure is a sum of shown monthly figures, and
//! no hidden one follows from totals, siblings, drilled views or other periods.

use std::collections::{BTreeMap, BTreeSet};

use alongside_platform::error::Violations;
use alongside_platform::{add_months, Caller, ServiceError};
use alongside_proto::feedback::v1::{FftMonth, ProtectedBreakdown, ProtectedBreakdownRequest};
use sea_orm::ConnectionTrait;

use crate::api::{check_period, fft_month, positive_chart};
use crate::compare::{leave_out, over_period, row, Held, Table};
use crate::fft::{answer_from_code, Counts};

/// The tables a trust's views are read from: the trust, each dimension, and the drills.
const TABLES: &[&[&str]] = &[
    &[],
    &["site"],
    &["pathway"],
    &["team"],
    &["locality"],
    &["source"],
    &["locality", "site"],
    &["site", "pathway"],
    &["pathway", "team"],
    &["site", "pathway", "team"],
];

const DEFAULT_CHART_MONTHS: u32 = 24;
const MAX_MONTHS: u32 = 60;

type Cells<T> = BTreeMap<Vec<String>, T>;

/// The table a view reads and the values its drill fixes (the first of the table's dimensions).
fn view(r: &ProtectedBreakdownRequest) -> Result<(usize, Vec<String>), ServiceError> {
    let (locality, site, pathway) = (r.locality.trim(), r.site.trim(), r.pathway.trim());
    let dims: (&[&str], Vec<String>) =
        match (r.by.as_str(), locality, site, pathway) {
            (by, "", "", "") => match by {
                "site" => (&["site"], vec![]),
                "pathway" => (&["pathway"], vec![]),
                "team" => (&["team"], vec![]),
                "locality" => (&["locality"], vec![]),
                "source" => (&["source"], vec![]),
                _ => {
                    return Err(ServiceError::invalid(
                        "by",
                        "must be site, pathway, team, locality or source",
                    ))
                }
            },
            ("site", l, "", "") => (&["locality", "site"], vec![l.to_string()]),
            ("pathway", "", s, "") => (&["site", "pathway"], vec![s.to_string()]),
            ("team", "", s, p) if !s.is_empty() => (
                &["site", "pathway", "team"],
                vec![s.to_string(), p.to_string()],
            ),
            ("team", "", "", p) => (&["pathway", "team"], vec![p.to_string()]),
            _ => return Err(ServiceError::invalid(
                "by",
                "a trust is shown by one of site, pathway, team, locality or way of answering, \
                 or drilled: a locality by site, a site by pathway, a site's pathway by team, \
                 or a pathway by team",
            )),
        };
    let table = TABLES
        .iter()
        .position(|t| *t == dims.0)
        .expect("every view is a table");
    Ok((table, dims.1))
}

/// One month's figures of every table, protected together.
fn protect_month(tables: &[Cells<Counts>]) -> Vec<Cells<Held>> {
    let mut t = Table::default();
    let index: Vec<Cells<usize>> = tables
        .iter()
        .map(|cells| cells.iter().map(|(k, c)| (k.clone(), t.term(*c))).collect())
        .collect();
    // Each table's cells add up, along each of its dimensions, to the table without it.
    for (ti, dims) in TABLES.iter().enumerate() {
        for drop in 0..dims.len() {
            let sub: Vec<&str> = dims
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != drop)
                .map(|(_, d)| *d)
                .collect();
            let Some(si) = TABLES.iter().position(|d| *d == sub.as_slice()) else {
                continue;
            };
            let mut groups: Cells<Vec<usize>> = BTreeMap::new();
            for (key, &term) in &index[ti] {
                let mut k = key.clone();
                k.remove(drop);
                groups.entry(k).or_default().push(term);
            }
            for (k, parts) in groups {
                if let Some(&margin) = index[si].get(&k) {
                    t.sum(margin, parts);
                }
            }
        }
    }
    let totals: Vec<u64> = t.counts.iter().map(Counts::total).collect();
    let state = crate::protection::protect(&totals, &t.lines);
    index
        .into_iter()
        .map(|cells| {
            cells
                .into_iter()
                .map(|(k, i)| {
                    (
                        k,
                        Held {
                            counts: t.counts[i],
                            state: state[i],
                        },
                    )
                })
                .collect()
        })
        .collect()
}

pub(crate) async fn breakdown(
    db: &impl ConnectionTrait,
    caller: &Caller,
    r: ProtectedBreakdownRequest,
) -> Result<ProtectedBreakdown, ServiceError> {
    let mut v = Violations::default();
    check_period(&mut v, &r.from_month, &r.to_month);
    v.check(
        !r.from_month.is_empty() && !r.to_month.is_empty() && r.from_month <= r.to_month,
        "from_month",
        "give the period's first and last months, the first not after the last",
    );
    v.check(
        add_months(&r.from_month, MAX_MONTHS as i32 - 1).is_none_or(|last| r.to_month <= last),
        "to_month",
        &format!("a period is at most {MAX_MONTHS} months"),
    );
    v.check(
        r.chart_months <= MAX_MONTHS,
        "chart_months",
        &format!("must be at most {MAX_MONTHS}"),
    );
    v.finish()?;
    let (table, fixed) = view(&r)?;
    let (from, to) = (r.from_month.as_str(), r.to_month.as_str());
    let chart_months = match r.chart_months {
        0 => DEFAULT_CHART_MONTHS,
        n => n,
    } as i32;
    let chart_from = add_months(to, 1 - chart_months)
        .ok_or_else(|| ServiceError::invalid("to_month", "must be a month in the form YYYY-MM"))?
        .min(from.to_string());

    // Every table's months over the chart's months (which hold the period's).
    let mut by_month: BTreeMap<String, Vec<Cells<Counts>>> = BTreeMap::new();
    for (ti, dims) in TABLES.iter().enumerate() {
        for (month, values, answer, n) in
            crate::rollup::counts_by_month(db, &caller.tenant, &chart_from, to, dims).await?
        {
            by_month
                .entry(month)
                .or_insert_with(|| vec![BTreeMap::new(); TABLES.len()])[ti]
                .entry(values)
                .or_default()
                .add(answer_from_code(&answer), n);
        }
    }
    let protected: Vec<(String, Vec<Cells<Held>>)> = by_month
        .into_iter()
        .map(|(month, tables)| {
            let held = protect_month(&tables);
            (month, held)
        })
        .collect();
    let in_period: Vec<&Vec<Cells<Held>>> = protected
        .iter()
        .filter(|(m, _)| m.as_str() >= from && m.as_str() <= to)
        .map(|(_, t)| t)
        .collect();
    // The unit drilled into (or the trust) is the cell of the table one dimension up.
    let parent = TABLES
        .iter()
        .position(|t| *t == &TABLES[table][..TABLES[table].len() - 1])
        .expect("a view's parent is a table");
    let all = over_period(in_period.iter().filter_map(|m| m[parent].get(&fixed)));
    let values: BTreeSet<&Vec<String>> = in_period
        .iter()
        .flat_map(|m| m[table].keys())
        .filter(|k| k.starts_with(&fixed))
        .collect();
    let rows = values
        .into_iter()
        .map(|key| {
            let held = over_period(in_period.iter().filter_map(|m| m[table].get(key)));
            row(
                key.last().cloned().unwrap_or_default(),
                &held.counts,
                held.state,
            )
        })
        .collect();
    let of_month = |tables: &Vec<Cells<Held>>| tables[parent].get(&fixed).copied();
    let charted: Vec<FftMonth> = protected
        .iter()
        .filter_map(|(m, t)| of_month(t).map(|h| fft_month(m.clone(), &h.counts)))
        .collect();
    let hidden: BTreeSet<String> = protected
        .iter()
        .filter(|(_, t)| {
            of_month(t).is_some_and(|h| h.state != crate::suppression::Suppression::None)
        })
        .map(|(m, _)| m.clone())
        .collect();
    let chart = positive_chart(&charted, None, &[]).map(|c| leave_out(c, &hidden))?;
    Ok(ProtectedBreakdown {
        all: Some(row(String::new(), &all.counts, all.state)),
        rows,
        positive_chart: Some(chart),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(by: &str, locality: &str, site: &str, pathway: &str) -> ProtectedBreakdownRequest {
        ProtectedBreakdownRequest {
            by: by.into(),
            locality: locality.into(),
            site: site.into(),
            pathway: pathway.into(),
            ..Default::default()
        }
    }

    #[test]
    fn only_the_protected_drills_are_views() {
        assert!(view(&request("site", "", "", "")).is_ok());
        assert_eq!(
            view(&request("pathway", "", "Riverside", "")).unwrap().1,
            ["Riverside"]
        );
        assert_eq!(
            view(&request("team", "", "Riverside", "MSK")).unwrap().1,
            ["Riverside", "MSK"]
        );
        assert!(view(&request("team", "", "", "MSK")).is_ok());
        assert!(view(&request("site", "North", "", "")).is_ok());
        // A pathway filtered by locality is not one of them: refused, saying which are.
        assert!(view(&request("pathway", "North", "", "")).is_err());
        assert!(view(&request("source", "", "Riverside", "")).is_err());
        assert!(view(&request("ward", "", "", "")).is_err());
    }
}
