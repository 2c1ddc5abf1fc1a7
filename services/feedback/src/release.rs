//! One publication step for the FFT figures of a month: every figure any output shows of an
//! ICS's member trusts — the ICS in total and by locality, pathway and way of answering (the
//! ICS dashboards, their exports and the board report), each trust by site, pathway, team,
//! locality and way of answering and drilled (the trust's dashboard and exports), and each
//! trust's sites and sites' pathways (the analytics stream) — is a term of one table of sums,
//! protected together (see [`crate::protection`]). Every output reads its figures, and whether
//! each is hidden, from this one release, so what one audience sees together (an ICS analyst:
//! dashboards, exports and the stream) is a subset of one protected table, and no hidden figure
//! is narrowed by combining outputs. A period's figure is the sum of its months', hidden when
//! any month of it is, so overlapping periods add nothing the months do not.

use std::collections::BTreeMap;

use alongside_platform::OdsCode;
use sea_orm::{ConnectionTrait, DbErr};

use crate::fft::{answer_from_code, Counts};
use crate::protection::{Held, Table};
use crate::suppression::Suppression;

/// The tables a trust's figures are published by: the trust, each dimension, and the drills.
pub const TABLES: &[&[&str]] = &[
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

/// What the ICS's own figures are also given by (each the sum of its trusts').
pub const ICS_DIMENSIONS: [&str; 3] = ["locality", "pathway", "source"];

pub type Cells<T> = BTreeMap<Vec<String>, T>;

/// Where a table sits in [`TABLES`].
pub fn table(dims: &[&str]) -> usize {
    TABLES
        .iter()
        .position(|t| *t == dims)
        .expect("a published table")
}

/// One month's figures, protected together.
pub struct Release {
    pub ics: Held,
    /// By each of [`ICS_DIMENSIONS`], each value's ICS figure.
    pub ics_by: [BTreeMap<String, Held>; 3],
    /// Each trust's tables, in [`TABLES`]' order.
    pub trusts: BTreeMap<String, Vec<Cells<Held>>>,
}

impl Release {
    /// A trust's figure of one table (the trust itself is `table(&[])` and key `[]`).
    pub fn trust(&self, trust: &str, table: usize, key: &[String]) -> Option<Held> {
        self.trusts.get(trust)?.get(table)?.get(key).copied()
    }
}

/// Protects one month of the trusts' figures (each trust's tables, in [`TABLES`]' order).
pub fn protect_month(trusts: &BTreeMap<String, Vec<Cells<Counts>>>) -> Release {
    let mut t = Table::default();
    let index: BTreeMap<&String, Vec<Cells<usize>>> = trusts
        .iter()
        .map(|(code, tables)| {
            let terms = tables
                .iter()
                .map(|cells| cells.iter().map(|(k, c)| (k.clone(), t.term(*c))).collect())
                .collect();
            (code, terms)
        })
        .collect();
    for terms in index.values() {
        drill_lines(&mut t, terms);
    }
    // The ICS: the sum of its trusts, and by each dimension the sum of its trusts' figures.
    let whole = table(&[]);
    let trust_terms: Vec<usize> = index
        .values()
        .filter_map(|terms| terms[whole].get(&Vec::new()).copied())
        .collect();
    let ics = t.term(sum(trust_terms.iter().map(|&i| t.figures[i])));
    t.sum(ics, trust_terms);
    let mut by_terms: [BTreeMap<String, usize>; 3] = Default::default();
    for (d, dim) in ICS_DIMENSIONS.iter().enumerate() {
        let of = table(&[dim]);
        let mut parts: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for terms in index.values() {
            for (key, &term) in &terms[of] {
                parts.entry(key[0].clone()).or_default().push(term);
            }
        }
        for (value, parts) in parts {
            let column = t.term(sum(parts.iter().map(|&i| t.figures[i])));
            t.sum(column, parts);
            by_terms[d].insert(value, column);
        }
        t.sum(ics, by_terms[d].values().copied().collect::<Vec<_>>());
    }
    let state = crate::protection::protect(&t);
    let held = |i: usize| Held {
        counts: t.figures[i],
        state: state[i],
    };
    Release {
        ics: held(ics),
        ics_by: by_terms.map(|column| column.into_iter().map(|(v, i)| (v, held(i))).collect()),
        trusts: index
            .into_iter()
            .map(|(code, tables)| {
                let tables = tables
                    .into_iter()
                    .map(|cells| cells.into_iter().map(|(k, i)| (k, held(i))).collect())
                    .collect();
                (code.clone(), tables)
            })
            .collect(),
    }
}

fn sum(parts: impl Iterator<Item = Counts>) -> Counts {
    parts.fold(Counts::default(), |mut acc, c| {
        acc.merge(&c);
        acc
    })
}

/// Each of a trust's tables adds up, along each of its dimensions, to the table without it.
fn drill_lines(t: &mut Table, index: &[Cells<usize>]) {
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
}

/// The months `from`–`to` of `trusts`, each protected together: in month order, months
/// without responses left out.
pub(crate) async fn months(
    db: &impl ConnectionTrait,
    trusts: &[OdsCode],
    from: &str,
    to: &str,
) -> Result<Vec<(String, Release)>, DbErr> {
    let mut months: BTreeMap<String, BTreeMap<String, Vec<Cells<Counts>>>> = BTreeMap::new();
    for (ti, dims) in TABLES.iter().enumerate() {
        for (trust, month, values, answer, n) in
            crate::rollup::counts_by_month_of(db, trusts, from, to, dims).await?
        {
            months
                .entry(month)
                .or_default()
                .entry(trust)
                .or_insert_with(|| vec![BTreeMap::new(); TABLES.len()])[ti]
                .entry(values)
                .or_default()
                .add(answer_from_code(&answer), n);
        }
    }
    // Protecting is CPU work (linear programmes for small figures): off the async workers.
    tokio::task::spawn_blocking(move || {
        months
            .into_iter()
            .map(|(month, trusts)| {
                let release = protect_month(&trusts);
                (month, release)
            })
            .collect()
    })
    .await
    .map_err(|e| DbErr::Custom(format!("protecting figures: {e}")))
}

/// The trusts published together with `tenant` (its ICS's registered members).
pub(crate) async fn published_with(
    db: &impl ConnectionTrait,
    tenant: &OdsCode,
) -> Result<Vec<OdsCode>, DbErr> {
    Ok(crate::tenants::published_with(db, tenant.as_str())
        .await?
        .iter()
        .filter_map(|c| OdsCode::parse(c).ok())
        .collect())
}

/// A period's figure from its months': hidden when any month of it is (so that it adds nothing
/// to what the months published give), primary when it has 1 to 4 responses itself.
pub(crate) fn over_period(months: impl IntoIterator<Item = Held>) -> Held {
    let mut out = Held::default();
    let mut hidden = false;
    for m in months {
        out.counts.merge(&m.counts);
        hidden |= m.state != Suppression::None;
    }
    out.state = if (1..crate::protection::THRESHOLD).contains(&out.counts.total()) {
        Suppression::Primary
    } else if hidden {
        Suppression::Secondary
    } else {
        Suppression::None
    };
    out
}
