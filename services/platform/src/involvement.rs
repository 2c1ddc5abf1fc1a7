//! Involvement figures as every service publishes them (engagement's report, the analytics
//! stream of feedback): a month's attended sessions in total and by kind of work, pathway and
//! way of paying, and its apologies and no-shows, protected as one set of linked tables
//! ([`crate::protection`]). Whoever builds a month from the same attendance gets the same
//! figures hidden, so what one output shows never gives back what another hides; a sum of a
//! month's figures (several months, several trusts, pathways put together) is hidden when any
//! part of it is.

use std::collections::{BTreeMap, BTreeSet};

use crate::protection::{sum_by_key, Figure, Table, Tally, THRESHOLD};

/// Attended sessions (or apologies, or no-shows): how many, their minutes and whose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Involved {
    pub sessions: u64,
    pub minutes: u64,
    pub partners: BTreeSet<String>,
}

/// Bounded by its sessions; small by its partners.
impl Figure for Involved {
    const PARTS: usize = 1;

    fn part(&self, _: usize) -> u64 {
        self.sessions
    }

    fn is_small(&self) -> bool {
        (1..THRESHOLD).contains(&(self.partners.len() as u64))
    }
}

impl Tally for Involved {
    fn add(&mut self, other: &Self) {
        self.sessions += other.sessions;
        self.minutes += other.minutes;
        self.partners.extend(other.partners.iter().cloned());
    }
}

impl Involved {
    pub fn count(&mut self, partner: &str, sessions: u64, minutes: u64) {
        self.sessions += sessions;
        self.minutes += minutes;
        self.partners.insert(partner.to_string());
    }
}

pub type Shown = crate::protection::Shown<Involved>;

/// What attended sessions are grouped by, in the order of [`Figures::by`].
pub const KIND: usize = 0;
pub const PATHWAY: usize = 1;
/// "paid" or "expenses_only".
pub const WAY: usize = 2;

/// A month's (or a period's, or an ICS's) figures.
#[derive(Clone, Debug, Default)]
pub struct Figures<T> {
    pub attended: T,
    pub by: [BTreeMap<String, T>; 3],
    pub apologies: T,
    pub no_shows: T,
}

impl Figures<Involved> {
    /// Counts `sessions` a partner attended (of `minutes` in all) of a kind of work, a pathway
    /// as typed, paid or expenses only: in the total and in each dimension. Engagement's report
    /// and the stream both build a month through this, so their tables, and what protection
    /// hides of them, are the same.
    pub fn attended(
        &mut self,
        partner: &str,
        (kind, pathway, paid): (&str, &str, bool),
        sessions: u64,
        minutes: u64,
    ) {
        let way = if paid { "paid" } else { "expenses_only" };
        self.attended.count(partner, sessions, minutes);
        for (d, key) in [(KIND, kind), (PATHWAY, pathway), (WAY, way)] {
            self.by[d]
                .entry(key.to_string())
                .or_default()
                .count(partner, sessions, minutes);
        }
    }
}

/// A month's figures as they may be shown: protected as one set of linked tables, or for those
/// who may read the attendance itself, as they are.
pub fn shown_month(month: Figures<Involved>, protected: bool) -> Figures<Shown> {
    let mut t: Table<Involved> = Table::default();
    let attended = t.term(month.attended);
    let by: [Vec<(String, usize)>; 3] = month.by.map(|by| {
        by.into_iter()
            .map(|(key, figure)| (key, t.term(figure)))
            .collect()
    });
    for terms in &by {
        t.sum(attended, terms.iter().map(|(_, i)| *i).collect::<Vec<_>>());
    }
    let apologies = t.term(month.apologies);
    let no_shows = t.term(month.no_shows);
    let mut shown: Vec<Option<Shown>> = t.shown(protected).into_iter().map(Some).collect();
    let mut take = |i: usize| shown[i].take().unwrap_or_default();
    Figures {
        attended: take(attended),
        by: by.map(|terms| terms.into_iter().map(|(k, i)| (k, take(i))).collect()),
        apologies: take(apologies),
        no_shows: take(no_shows),
    }
}

/// Sums shown figures (months into a period, trusts into an ICS): each sum is hidden when any
/// part of it is.
pub fn sum<'a>(parts: impl IntoIterator<Item = &'a Figures<Shown>>) -> Figures<Shown> {
    let parts: Vec<&Figures<Shown>> = parts.into_iter().collect();
    let mut out = Figures::<Shown>::default();
    for p in &parts {
        out.attended.add(&p.attended);
        out.apologies.add(&p.apologies);
        out.no_shows.add(&p.no_shows);
    }
    out.by = std::array::from_fn(|d| sum_by_key(parts.iter().flat_map(|p| p.by[d].iter())));
    out
}
