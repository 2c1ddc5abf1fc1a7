//! A trust's own dashboard: its FFT figures by site, pathway, team, locality or way of
//! answering, and drilled — a locality by site, a site by pathway, a site's pathway by team, a
//! pathway by team. Every view's figures of a month are the trust's part of its ICS's release of
//! that month (see [`crate::release`]: the trust, each dimension, each drilled table, whose
//! margins are the views above it, and the other trusts' and the ICS's figures, protected
//! together) the same whatever is asked; a period's figure is hidden when any of its months
//! is. So no hidden figure follows from, or is narrowed by, totals, siblings, drilled views,
//! other periods or other outputs.

use std::collections::BTreeSet;

use alongside_platform::error::Violations;
use alongside_platform::{add_months, Caller, ServiceError};
use alongside_proto::feedback::v1::{ProtectedBreakdown, ProtectedBreakdownRequest};
use sea_orm::ConnectionTrait;

use crate::api::check_period;
use crate::compare::{protected_chart, row};
use crate::protection::Held;
use crate::release::{over_period, Cells, TABLES};

const DEFAULT_CHART_MONTHS: u32 = 24;
const MAX_MONTHS: u32 = 60;

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

pub(crate) async fn breakdown(
    db: &impl ConnectionTrait,
    caller: &Caller,
    r: ProtectedBreakdownRequest,
    publication: &crate::release::Publication,
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

    // The trust's figures as published with its ICS's other members', month by month.
    let published = crate::release::published_with(db, &caller.tenant).await?;
    let protected: Vec<(String, Vec<Cells<Held>>)> =
        crate::release::months(db, &published, &chart_from, to, publication)
            .await?
            .into_iter()
            .filter_map(|(month, mut release)| {
                let mine = release.trusts.remove(caller.tenant.as_str())?;
                Some((month, mine))
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
    let all = over_period(
        in_period
            .iter()
            .filter_map(|m| m[parent].get(&fixed).copied()),
    );
    let values: BTreeSet<&Vec<String>> = in_period
        .iter()
        .flat_map(|m| m[table].keys())
        .filter(|k| k.starts_with(&fixed))
        .collect();
    let rows = values
        .into_iter()
        .map(|key| {
            let held = over_period(in_period.iter().filter_map(|m| m[table].get(key).copied()));
            row(
                key.last().cloned().unwrap_or_default(),
                &held.counts,
                held.state,
            )
        })
        .collect();
    let months = protected
        .iter()
        .filter_map(|(m, t)| Some((m.clone(), *t[parent].get(&fixed)?)));
    let chart = protected_chart(months)?;
    let (released_to, next_release_on) = publication.told();
    Ok(ProtectedBreakdown {
        all: Some(row(String::new(), &all.counts, all.state)),
        rows,
        positive_chart: Some(chart),
        released_to,
        next_release_on,
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
