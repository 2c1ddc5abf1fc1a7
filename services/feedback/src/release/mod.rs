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

use alongside_platform::protection::Figure;
use alongside_platform::OdsCode;
use sea_orm::{ConnectionTrait, DbErr};

use crate::fft::Counts;
use crate::protection::{Held, Table, Term};
use crate::suppression::Suppression;

mod kept;

pub(crate) use kept::{kept, months};
pub use kept::{migration, stored, Publication, MOST_RELEASES};

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

/// What a month's figures are made from: each trust's responses by site, locality, pathway,
/// team and way of answering, every published figure a sum of these cells. Kept with each
/// release (never published) so that the next can find what came to each cell since.
pub const BASIS: [&str; 5] = ["site", "locality", "pathway", "team", "source"];

/// Each trust's cells of [`BASIS`].
pub type Basis = BTreeMap<String, Cells<Counts>>;

/// Where `dim` is in a basis cell's key.
fn at_basis(dim: &str) -> usize {
    BASIS
        .iter()
        .position(|b| *b == dim)
        .expect("a basis dimension")
}

/// Each trust's tables, in [`TABLES`]' order, from its cells.
pub fn tables_of(basis: &Basis) -> BTreeMap<String, Vec<Cells<Counts>>> {
    let at: Vec<Vec<usize>> = TABLES
        .iter()
        .map(|dims| dims.iter().map(|d| at_basis(d)).collect())
        .collect();
    basis
        .iter()
        .map(|(trust, cells)| {
            let mut tables = vec![Cells::<Counts>::new(); TABLES.len()];
            for (key, counts) in cells {
                for (ti, at) in at.iter().enumerate() {
                    let k: Vec<String> = at.iter().map(|&i| key[i].clone()).collect();
                    tables[ti].entry(k).or_default().merge(counts);
                }
            }
            (trust.clone(), tables)
        })
        .collect()
}

/// The cells of a release that hold the responses of one basis cell of `trust`.
fn ids_of(trust: &str, key: &[String]) -> Vec<Id> {
    let value = |d: &str| key[at_basis(d)].clone();
    let mut out = vec![ics_id(None)];
    for d in ICS_DIMENSIONS {
        out.push(ics_id(Some((d, &value(d)))));
    }
    for (ti, dims) in TABLES.iter().enumerate() {
        let key: Vec<String> = dims.iter().map(|d| value(d)).collect();
        out.push(trust_id(trust, ti, &key));
    }
    out
}

/// Where an ICS figure is: the ICS's own, or its figure of a value by a dimension.
fn ics_id(by: Option<(&str, &str)>) -> Id {
    let mut id = vec!["ics".to_string()];
    if let Some((dim, value)) = by {
        id.extend([dim.to_string(), value.to_string()]);
    }
    id
}

/// Where a trust's figure of table `table` and key `key` is.
fn trust_id(code: &str, table: usize, key: &[String]) -> Id {
    let mut id = vec!["trust".to_string(), code.to_string(), table.to_string()];
    id.extend(key.iter().cloned());
    id
}

/// Every figure of a release's shape (the ICS, by each dimension, each trust's tables) by
/// where it is.
fn by_id<T: Copy>(
    ics: T,
    ics_by: &[BTreeMap<String, T>; 3],
    trusts: &BTreeMap<String, Vec<Cells<T>>>,
) -> BTreeMap<Id, T> {
    let mut out = BTreeMap::from([(ics_id(None), ics)]);
    for (dim, column) in ICS_DIMENSIONS.iter().zip(ics_by) {
        for (value, &figure) in column {
            out.insert(ics_id(Some((dim, value))), figure);
        }
    }
    for (code, tables) in trusts {
        for (ti, cells) in tables.iter().enumerate() {
            for (key, &figure) in cells {
                out.insert(trust_id(code, ti, key), figure);
            }
        }
    }
    out
}

/// Where a table sits in [`TABLES`].
pub fn table(dims: &[&str]) -> usize {
    TABLES
        .iter()
        .position(|t| *t == dims)
        .expect("a published table")
}

/// One month's figures, protected together.
#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    pub ics: Held,
    /// By each of [`ICS_DIMENSIONS`], each value's ICS figure.
    pub ics_by: [BTreeMap<String, Held>; 3],
    /// Each trust's tables, in [`TABLES`]' order.
    pub trusts: BTreeMap<String, Vec<Cells<Held>>>,
    /// What it was made from (empty for a release made from tables alone).
    pub basis: Basis,
}

impl Release {
    /// A trust's figure of one table (the trust itself is `table(&[])` and key `[]`).
    pub fn trust(&self, trust: &str, table: usize, key: &[String]) -> Option<Held> {
        self.trusts.get(trust)?.get(table)?.get(key).copied()
    }

    /// Every figure, by where it is (see [`Id`]).
    pub fn cells(&self) -> BTreeMap<Id, Held> {
        by_id(self.ics, &self.ics_by, &self.trusts)
    }

    /// The trusts' counts it was made from.
    pub fn counts(&self) -> BTreeMap<String, Vec<Cells<Counts>>> {
        self.trusts
            .iter()
            .map(|(code, tables)| {
                let tables = tables
                    .iter()
                    .map(|cells| cells.iter().map(|(k, h)| (k.clone(), h.counts)).collect())
                    .collect();
                (code.clone(), tables)
            })
            .collect()
    }

    /// The release back from its cells (as [`Release::cells`] gives them).
    pub fn from_cells(cells: impl IntoIterator<Item = (Id, Held)>) -> Option<Self> {
        let mut release = Release {
            ics: Held::default(),
            ics_by: Default::default(),
            trusts: BTreeMap::new(),
            basis: Basis::new(),
        };
        for (id, held) in cells {
            match id.first().map(String::as_str) {
                Some("ics") if id.len() == 1 => release.ics = held,
                Some("ics") if id.len() == 3 => {
                    let d = ICS_DIMENSIONS.iter().position(|d| *d == id[1])?;
                    release.ics_by[d].insert(id[2].clone(), held);
                }
                Some("trust") if id.len() >= 3 => {
                    let ti: usize = id[2].parse().ok().filter(|&t| t < TABLES.len())?;
                    release
                        .trusts
                        .entry(id[1].clone())
                        .or_insert_with(|| vec![BTreeMap::new(); TABLES.len()])[ti]
                        .insert(id[3..].to_vec(), held);
                }
                _ => return None,
            }
        }
        Some(release)
    }
}

/// The terms of one release's table, by cell.
struct Index {
    ics: usize,
    ics_by: [BTreeMap<String, usize>; 3],
    trusts: BTreeMap<String, Vec<Cells<usize>>>,
}

/// Where a cell is in a release, the same in every release of a month: the ICS `["ics"]`, an
/// ICS figure by a dimension `["ics", dimension, value]`, or a trust's cell `["trust", code,
/// table, key…]`.
pub type Id = Vec<String>;

impl Index {
    fn ids(&self) -> BTreeMap<Id, usize> {
        by_id(self.ics, &self.ics_by, &self.trusts)
    }
}

/// Adds one release's figures of `trusts` to `t`, each term made by `term` from its cell and
/// counts, with every sum between them: each trust's tables along each dimension, the ICS as
/// the sum of its trusts and of each dimension's values.
fn build(
    t: &mut Table,
    trusts: &BTreeMap<String, Vec<Cells<Counts>>>,
    term: impl Fn(&Id, Counts) -> Term,
) -> Index {
    let mut trust_terms: BTreeMap<String, Vec<Cells<usize>>> = BTreeMap::new();
    for (code, tables) in trusts {
        let terms = tables
            .iter()
            .enumerate()
            .map(|(ti, cells)| {
                cells
                    .iter()
                    .map(|(k, c)| (k.clone(), t.term(term(&trust_id(code, ti, k), *c))))
                    .collect()
            })
            .collect();
        trust_terms.insert(code.clone(), terms);
    }
    for terms in trust_terms.values() {
        drill_lines(t, terms);
    }
    // The ICS: the sum of its trusts, and by each dimension the sum of its trusts' figures.
    let whole = table(&[]);
    let parts: Vec<usize> = trust_terms
        .values()
        .filter_map(|terms| terms[whole].get(&Vec::new()).copied())
        .collect();
    let counts = |t: &Table, parts: &[usize]| sum(parts.iter().map(|&i| t.figures[i].counts));
    let ics = t.term(term(&ics_id(None), counts(t, &parts)));
    t.sum(ics, parts);
    let mut ics_by: [BTreeMap<String, usize>; 3] = Default::default();
    for (d, dim) in ICS_DIMENSIONS.iter().enumerate() {
        let of = table(&[dim]);
        let mut columns: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for terms in trust_terms.values() {
            for (key, &term) in &terms[of] {
                columns.entry(key[0].clone()).or_default().push(term);
            }
        }
        for (value, parts) in columns {
            let column = t.term(term(&ics_id(Some((dim, &value))), counts(t, &parts)));
            t.sum(column, parts);
            ics_by[d].insert(value, column);
        }
        t.sum(ics, ics_by[d].values().copied().collect::<Vec<_>>());
    }
    Index {
        ics,
        ics_by,
        trusts: trust_terms,
    }
}

/// Protects one month of the trusts' figures (each trust's tables, in [`TABLES`]' order).
pub fn protect_month(trusts: &BTreeMap<String, Vec<Cells<Counts>>>) -> Release {
    made(&[], trusts, Basis::new())
}

/// Protects one month of the trusts' figures, made from `basis`, as a revision of its
/// `earlier` releases (oldest first; none for the first release): together with what each of
/// them showed, which stays as it was shown, and with the flows between each release and the
/// next — the responses that came to each basis cell, and those that left it when a place was
/// merged away — which are never published. What came to a published figure, and what left
/// it, are sums of those, held to the same standard as a small figure when 1 to 4 responses.
/// So a late response, or a few, cannot be read off as the difference of two releases, not
/// even by crossing one dimension's figures with another's; the figures that would give it
/// away are hidden in the revision.
pub fn revise(earlier: &[Release], basis: &Basis) -> Release {
    made(earlier, &tables_of(basis), basis.clone())
}

fn made(
    earlier: &[Release],
    trusts: &BTreeMap<String, Vec<Cells<Counts>>>,
    basis: Basis,
) -> Release {
    let mut t = Table::default();
    let mut chain: Vec<(BTreeMap<Id, usize>, &Basis)> = Vec::new();
    for release in earlier {
        let held = release.cells();
        let index = build(&mut t, &release.counts(), |id, counts| {
            held.get(id)
                .map(Term::released)
                .unwrap_or_else(|| Term::flow(counts, true))
        });
        chain.push((index.ids(), &release.basis));
    }
    let index = build(&mut t, trusts, |_, counts| Term::new(counts));
    chain.push((index.ids(), &basis));
    for pair in chain.windows(2) {
        flows(&mut t, (&pair[0].0, pair[0].1), (&pair[1].0, pair[1].1));
    }
    let state = crate::protection::protect(&t);
    let held = |i: usize| Held {
        counts: t.figures[i].counts,
        state: state[i],
    };
    Release {
        ics: held(index.ics),
        ics_by: index
            .ics_by
            .map(|column| column.into_iter().map(|(v, i)| (v, held(i))).collect()),
        trusts: index
            .trusts
            .into_iter()
            .map(|(code, tables)| {
                let tables = tables
                    .into_iter()
                    .map(|cells| cells.into_iter().map(|(k, i)| (k, held(i))).collect())
                    .collect();
                (code, tables)
            })
            .collect(),
        basis,
    }
}

/// The flows between two releases (each its figures' terms and its basis). Each basis cell's
/// responses that stayed, came and left are what a reader could not see: what came and what
/// left are terms (never published, no one's figure by themselves), and each published
/// figure's came and left their sums, small when 1 to 4 responses. For a figure of both
/// releases, later = stayed + came and earlier = stayed + left (earlier = stayed when
/// responses only arrived, as a reader would know); a figure of one release only is what came
/// (or left) alone.
fn flows(
    t: &mut Table,
    before: (&BTreeMap<Id, usize>, &Basis),
    after: (&BTreeMap<Id, usize>, &Basis),
) {
    let mut came: BTreeMap<Id, Vec<usize>> = BTreeMap::new();
    let mut left: BTreeMap<Id, Vec<usize>> = BTreeMap::new();
    let none = Cells::new();
    let trusts: std::collections::BTreeSet<&String> =
        before.1.keys().chain(after.1.keys()).collect();
    for trust in trusts {
        let (was, is) = (
            before.1.get(trust).unwrap_or(&none),
            after.1.get(trust).unwrap_or(&none),
        );
        let keys: std::collections::BTreeSet<&Vec<String>> = was.keys().chain(is.keys()).collect();
        for key in keys {
            let (w, i) = (
                was.get(key).copied().unwrap_or_default(),
                is.get(key).copied().unwrap_or_default(),
            );
            let into = |flow: Counts, t: &mut Table, to: &mut BTreeMap<Id, Vec<usize>>| {
                if flow.total() > 0 {
                    let term = t.term(Term::flow(flow, false));
                    for id in ids_of(trust, key) {
                        to.entry(id).or_default().push(term);
                    }
                }
            };
            into(
                Counts::from_parts(|k| i.part(k).saturating_sub(w.part(k))),
                t,
                &mut came,
            );
            into(
                Counts::from_parts(|k| w.part(k).saturating_sub(i.part(k))),
                t,
                &mut left,
            );
        }
    }
    // A published figure's flow: the sum of its cells'.
    let total = |t: &mut Table, parts: Option<&Vec<usize>>| -> Option<(usize, Counts)> {
        let parts = parts?;
        let counts = sum(parts.iter().map(|&p| t.figures[p].counts));
        let term = t.term(Term::flow(counts, true));
        t.sum(term, parts.iter().copied());
        Some((term, counts))
    };
    let ids: std::collections::BTreeSet<&Id> = before.0.keys().chain(after.0.keys()).collect();
    for id in ids {
        let came = total(t, came.get(id));
        let left = total(t, left.get(id));
        match (before.0.get(id), after.0.get(id)) {
            (Some(&b), Some(&a)) => {
                let is = t.figures[a].counts;
                let arrived = came.map(|c| c.1).unwrap_or_default();
                let stayed = Counts::from_parts(|k| is.part(k).saturating_sub(arrived.part(k)));
                let stayed = t.term(Term::flow(stayed, false));
                t.sum(a, std::iter::once(stayed).chain(came.map(|c| c.0)));
                t.sum(b, std::iter::once(stayed).chain(left.map(|l| l.0)));
            }
            (None, Some(&a)) => {
                if let Some((c, _)) = came {
                    t.sum(a, [c]);
                }
            }
            (Some(&b), None) => {
                if let Some((l, _)) = left {
                    t.sum(b, [l]);
                }
            }
            (None, None) => {}
        }
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

#[cfg(test)]
mod tests;
