//! Spend as published: a trust's committed and paid involvement spend by month, pathway, kind of
//! work and cost centre.
//!
//! For readers of figures (analysts and administrators, and every user of an ICS), each month is
//! one set of linked tables, protected once ([`shown_month`]): for each of the three
//! dimensions, every value's paid, not yet paid and committed spend (committed = paid + not yet
//! paid), and the month's three totals, each the sum of every dimension's values. A figure of 1
//! to 4 partners is hidden, and whatever would give it back or narrow its number of claims below
//! the standard of `alongside_platform::protection` (0 and at least 5 both possible). Any range
//! of dates is answered in whole months, as sums of those months' figures, and a sum is hidden
//! when any month of it is: so whatever ranges, groupings and bases one reader asks for, each
//! shown figure is a sum of shown month figures, and nothing hidden in a month comes back by
//! subtracting one range from another. An ICS's figures are likewise sums of its trusts'.
//! Pathways (typed by staff) are published to them only under the trust's listed codes
//! (`feedback.places.v1`), the others together as "".

use std::collections::{BTreeMap, BTreeSet};

use alongside_platform::protection::{sum_by_key, Figure, Table, Tally};

pub type Shown = alongside_platform::protection::Shown<Spend>;

/// What spend may be grouped by besides the month, in the order of [`Month::by`].
pub const DIMENSIONS: [&str; 3] = ["pathway", "kind", "cost_centre"];

/// Where pathways are in [`Month::by`].
pub const PATHWAY: usize = 0;

/// Adds one value's paid, not yet paid and committed figures to another's, each hidden when
/// either part is.
pub fn add(sum: &mut [Shown; 3], part: &[Shown; 3]) {
    for (s, p) in sum.iter_mut().zip(part) {
        s.add(p);
    }
}

/// The classes of committed spend, in the order of each figure's array.
pub const PAID: usize = 0;
pub const NOT_YET_PAID: usize = 1;
pub const COMMITTED: usize = 2;

/// One partner's claims of one month, pathway, kind, cost centre and class, as the database
/// sums them.
#[derive(Clone, Debug)]
pub struct Claims {
    pub month: String,
    /// Pathway, kind and cost centre.
    pub keys: [String; 3],
    pub paid: bool,
    /// The partner, by a number standing for their id within one report.
    pub partner: u32,
    pub claims: u64,
    pub involvement_pence: i64,
    pub expenses_pence: i64,
    pub total_pence: i64,
}

/// A spend figure: claims, the partners they pay and what they come to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Spend {
    pub claims: u64,
    pub partners: BTreeSet<u32>,
    pub involvement_pence: i64,
    pub expenses_pence: i64,
    pub total_pence: i64,
}

impl Tally for Spend {
    fn add(&mut self, other: &Spend) {
        self.claims += other.claims;
        self.partners.extend(other.partners.iter().copied());
        self.involvement_pence += other.involvement_pence;
        self.expenses_pence += other.expenses_pence;
        self.total_pence += other.total_pence;
    }
}

impl Spend {
    fn add_claims(&mut self, c: &Claims) {
        self.claims += c.claims;
        self.partners.insert(c.partner);
        self.involvement_pence += c.involvement_pence;
        self.expenses_pence += c.expenses_pence;
        self.total_pence += c.total_pence;
    }
}

/// Bounded by its number of claims; small by its partners (one partner's many claims are still
/// one person's pay).
impl Figure for Spend {
    const PARTS: usize = 1;

    fn part(&self, _: usize) -> u64 {
        self.claims
    }

    fn is_small(&self) -> bool {
        (1..alongside_platform::protection::THRESHOLD).contains(&(self.partners.len() as u64))
    }
}

/// A month's figures: paid, not yet paid and committed, in total and by each dimension's values.
#[derive(Clone, Debug, Default)]
pub struct Month<T> {
    pub total: [T; 3],
    pub by: [BTreeMap<String, [T; 3]>; 3],
}

/// Each month's figures of `claims`, by month.
pub fn months(claims: &[Claims]) -> BTreeMap<String, Month<Spend>> {
    let mut out: BTreeMap<String, Month<Spend>> = BTreeMap::new();
    for c in claims {
        let month = out.entry(c.month.clone()).or_default();
        let class = if c.paid { PAID } else { NOT_YET_PAID };
        for figures in std::iter::once(&mut month.total).chain(
            month
                .by
                .iter_mut()
                .zip(&c.keys)
                .map(|(by, key)| by.entry(key.clone()).or_default()),
        ) {
            figures[class].add_claims(c);
            figures[COMMITTED].add_claims(c);
        }
    }
    out
}

/// A month's figures as they may be shown: protected as one set of linked tables, or for those
/// who may read the claims themselves, as they are.
pub fn shown_month(month: Month<Spend>, protected: bool) -> Month<Shown> {
    let mut t: Table<Spend> = Table::default();
    let triple = |t: &mut Table<Spend>, f: &[Spend; 3]| -> [usize; 3] {
        let terms = [
            t.term(f[PAID].clone()),
            t.term(f[NOT_YET_PAID].clone()),
            t.term(f[COMMITTED].clone()),
        ];
        t.sum(terms[COMMITTED], [terms[PAID], terms[NOT_YET_PAID]]);
        terms
    };
    let total = triple(&mut t, &month.total);
    let by: Vec<Vec<[usize; 3]>> = month
        .by
        .iter()
        .map(|by| by.values().map(|f| triple(&mut t, f)).collect())
        .collect();
    for terms in &by {
        for class in [PAID, NOT_YET_PAID, COMMITTED] {
            t.sum(
                total[class],
                terms.iter().map(|f| f[class]).collect::<Vec<_>>(),
            );
        }
    }
    let mut shown: Vec<Option<Shown>> = t.shown(protected).into_iter().map(Some).collect();
    let mut take = |terms: [usize; 3]| terms.map(|i| shown[i].take().unwrap_or_default());
    Month {
        total: take(total),
        by: std::array::from_fn(|d| {
            month.by[d]
                .keys()
                .zip(&by[d])
                .map(|(key, &terms)| (key.clone(), take(terms)))
                .collect()
        }),
    }
}

/// What a range of months comes to, grouped by `group` (None: by month; Some(d): by
/// [`DIMENSIONS`]`[d]`), for `class`: its rows by key and its total, each hidden when any month's
/// part of it is.
pub fn over_months(
    months: &BTreeMap<String, Month<Shown>>,
    group: Option<usize>,
    class: usize,
) -> (BTreeMap<String, Shown>, Shown) {
    let mut total = Shown::default();
    for month in months.values() {
        total.add(&month.total[class]);
    }
    let rows = match group {
        None => sum_by_key(months.iter().map(|(m, f)| (m, &f.total[class]))),
        Some(d) => sum_by_key(
            months
                .values()
                .flat_map(|f| f.by[d].iter().map(|(k, f)| (k, &f[class]))),
        ),
    };
    (rows, total)
}

/// Sums several trusts' rows and totals: an ICS's, each hidden when any trust's part is.
pub fn over_trusts<'a>(
    trusts: impl IntoIterator<Item = &'a (BTreeMap<String, Shown>, Shown)>,
) -> (BTreeMap<String, Shown>, Shown) {
    let trusts: Vec<_> = trusts.into_iter().collect();
    let mut total = Shown::default();
    for (_, trust_total) in &trusts {
        total.add(trust_total);
    }
    (sum_by_key(trusts.iter().flat_map(|(rows, _)| rows)), total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(month: &str, pathway: &str, paid: bool, partner: &str, pence: i64) -> Claims {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        partner.hash(&mut h);
        Claims {
            month: month.into(),
            keys: [pathway.into(), "meeting".into(), "CC1".into()],
            paid,
            partner: h.finish() as u32,
            claims: 1,
            involvement_pence: pence,
            expenses_pence: 0,
            total_pence: pence,
        }
    }

    /// `n` partners' paid claims in `pathway` in `month`.
    fn many(month: &str, pathway: &str, n: usize, out: &mut Vec<Claims>) {
        for p in 0..n {
            out.push(claims(
                month,
                pathway,
                true,
                &format!("{pathway}{p}"),
                2_500,
            ));
        }
    }

    #[test]
    fn a_month_of_one_partner_in_a_pathway_is_hidden_with_what_would_give_it_back() {
        let mut rows = Vec::new();
        many("2026-01", "msk", 12, &mut rows);
        many("2026-01", "pain", 8, &mut rows);
        rows.push(claims("2026-01", "spinal", true, "lone", 9_000));
        let month = shown_month(months(&rows).remove("2026-01").unwrap(), true);
        let pathway = &month.by[0];
        assert!(pathway["spinal"][PAID].hidden && pathway["spinal"][COMMITTED].hidden);
        // Its pathway's lines would otherwise give it back: another is hidden with it.
        let others = ["msk", "pain"]
            .iter()
            .filter(|p| pathway[**p][PAID].hidden)
            .count();
        assert_eq!(others, 1);
        // The month in total is 21 partners: shown.
        assert!(!month.total[COMMITTED].hidden);
    }

    #[test]
    fn a_range_is_hidden_when_any_month_of_it_is_so_ranges_never_subtract() {
        let mut rows = Vec::new();
        for m in ["2026-01", "2026-02", "2026-03"] {
            many(m, "msk", 10, &mut rows);
            many(m, "pain", 10, &mut rows);
        }
        rows.push(claims("2026-01", "spinal", true, "lone", 9_000));
        many("2026-02", "spinal", 6, &mut rows);
        many("2026-03", "spinal", 6, &mut rows);
        let protected: BTreeMap<String, Month<Shown>> = months(&rows)
            .into_iter()
            .map(|(m, f)| (m, shown_month(f, true)))
            .collect();
        let range = |from: &str| -> BTreeMap<String, Month<Shown>> {
            protected
                .range(from.to_string()..)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let (q1, _) = over_months(&range("2026-01"), Some(0), COMMITTED);
        let (q1_less_january, _) = over_months(&range("2026-02"), Some(0), COMMITTED);
        // January to March less February to March would be January's lone partner: hidden.
        assert!(q1["spinal"].hidden);
        assert!(!q1_less_january["spinal"].hidden);
        assert_eq!(q1_less_january["spinal"].figure.partners.len(), 6);
        // And so is whatever else January hid to protect it.
        for (pathway, row) in &q1 {
            let january = &protected["2026-01"].by[0][pathway][COMMITTED];
            assert_eq!(row.hidden, january.hidden, "{pathway}");
        }
    }

    #[test]
    fn paid_and_committed_together_cannot_give_back_what_is_not_yet_paid() {
        // msk: 10 partners paid, and one partner's claim approved, not yet paid. Committed
        // less paid would be that one partner's claim.
        let mut rows = Vec::new();
        many("2026-01", "msk", 10, &mut rows);
        many("2026-01", "pain", 10, &mut rows);
        rows.push(claims("2026-01", "msk", false, "waiting", 7_000));
        let month = shown_month(months(&rows).remove("2026-01").unwrap(), true);
        let msk = &month.by[0]["msk"];
        assert!(msk[NOT_YET_PAID].hidden);
        assert!(
            msk[PAID].hidden || msk[COMMITTED].hidden,
            "paid {:?} committed {:?}",
            msk[PAID],
            msk[COMMITTED]
        );
    }

    #[test]
    fn an_ics_row_is_hidden_when_any_trust_s_is() {
        let row = |pence: i64, hidden: bool| Shown {
            figure: Spend {
                claims: 1,
                total_pence: pence,
                ..Default::default()
            },
            hidden,
        };
        let a = (
            BTreeMap::from([("msk".to_string(), row(10, false))]),
            row(10, false),
        );
        let b = (
            BTreeMap::from([("msk".to_string(), row(5, true))]),
            row(5, true),
        );
        let (rows, total) = over_trusts([&a, &b]);
        assert!(rows["msk"].hidden && total.hidden);
        assert_eq!(total.figure.total_pence, 15);
        let (rows, total) = over_trusts([&a]);
        assert!(!rows["msk"].hidden && !total.hidden);
    }
}
