//! Outcome measures as published: each month of a trust's questionnaires, by pathway and in
//! total, protected as one set of linked tables (`alongside_platform::protection`), for
//! everyone (nobody reads questionnaires one by one) and for the analytics stream alike.
//!
//! Three figures of a month and pathway, each a table of its own (pathways and their total):
//! MSK-HQ questionnaires (their number and the sum of their totals), MSK-HQ follow-ups (each
//! later questionnaire of an episode paired with the episode's first, counted in the month it
//! was completed, with its change and whether that rose or fell by the threshold) and SURE
//! questionnaires (their number, the sum of their totals and how many show decisional
//! conflict). A figure of 1 to 4 questionnaires is hidden whole, its number too, and whatever
//! would give it back or narrow it below the standard. A period is answered in whole months,
//! each figure the sum of its months' and hidden when any of them is; a follow-up belongs to
//! one month whatever period is asked, so two overlapping periods never subtract to one
//! patient's change.

use std::collections::BTreeMap;

use alongside_platform::protection::{Figure, Table, Tally};

use crate::proms::{decisional_conflict, Instrument};

pub type Shown = alongside_platform::protection::Shown<Scores>;

/// Where each figure is in a month's arrays.
pub const MSK_HQ: usize = 0;
pub const FOLLOW_UPS: usize = 1;
pub const SURE: usize = 2;

/// Questionnaires: how many, the sum of their scores (totals, or for follow-ups changes), and
/// counts of two outcomes (follow-ups: improved, worsened; SURE: decisional conflict).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scores {
    pub n: u64,
    pub sum: i64,
    pub hits: [u64; 2],
}

impl Scores {
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum as f64 / self.n as f64)
    }

    pub fn share(&self, hit: usize) -> Option<f64> {
        (self.n > 0).then(|| self.hits[hit] as f64 / self.n as f64)
    }
}

/// Bounded and small by its number of questionnaires.
impl Figure for Scores {
    const PARTS: usize = 1;

    fn part(&self, _: usize) -> u64 {
        self.n
    }
}

impl Tally for Scores {
    fn add(&mut self, other: &Self) {
        self.n += other.n;
        self.sum += other.sum;
        self.hits[0] += other.hits[0];
        self.hits[1] += other.hits[1];
    }
}

/// A month's three figures in total and by pathway.
#[derive(Clone, Debug, Default)]
pub struct Month<T> {
    pub total: [T; 3],
    pub by_pathway: BTreeMap<String, [T; 3]>,
}

/// One stored questionnaire.
#[derive(Clone, Debug)]
pub struct Questionnaire {
    pub instrument: Instrument,
    pub episode: String,
    pub completed_on: time::Date,
    pub total: u32,
    pub pathway: String,
}

/// Every month's figures of a trust's questionnaires (all of them: a follow-up is paired with
/// its episode's first, whenever that was). `threshold` is the MSK-HQ change that counts as
/// improved or worsened.
pub fn months(questionnaires: &[Questionnaire], threshold: u32) -> BTreeMap<String, Month<Scores>> {
    let mut out: BTreeMap<String, Month<Scores>> = BTreeMap::new();
    let mut count = |q: &Questionnaire, figure: usize, score: i64, hits: [bool; 2]| {
        let month = out
            .entry(alongside_platform::month_of(q.completed_on))
            .or_default();
        let by = month.by_pathway.entry(q.pathway.clone()).or_default();
        for s in [&mut month.total[figure], &mut by[figure]] {
            s.n += 1;
            s.sum += score;
            for (h, hit) in s.hits.iter_mut().zip(hits) {
                *h += u64::from(hit);
            }
        }
    };
    let mut episodes: BTreeMap<&str, Vec<&Questionnaire>> = BTreeMap::new();
    for q in questionnaires {
        let total = i64::from(q.total);
        match q.instrument {
            Instrument::MskHq => {
                count(q, MSK_HQ, total, [false; 2]);
                episodes.entry(q.episode.as_str()).or_default().push(q);
            }
            Instrument::Sure => count(q, SURE, total, [decisional_conflict(q.total), false]),
        }
    }
    let threshold = i64::from(threshold);
    for list in episodes.values_mut() {
        // By date; one day's ties in the order received.
        list.sort_by_key(|q| q.completed_on);
        let first = list[0];
        for q in list
            .iter()
            .skip(1)
            .filter(|q| q.completed_on > first.completed_on)
        {
            let change = i64::from(q.total) - i64::from(first.total);
            count(
                q,
                FOLLOW_UPS,
                change,
                [change >= threshold, change <= -threshold],
            );
        }
    }
    out
}

/// A month's figures as they may be shown: each of the three protected as one table of its
/// pathways and their total.
pub fn shown_month(month: Month<Scores>) -> Month<Shown> {
    let pathways: Vec<String> = month.by_pathway.keys().cloned().collect();
    let mut out = Month::<Shown>::default();
    for figure in 0..3 {
        let mut t: Table<Scores> = Table::default();
        let total = t.term(month.total[figure].clone());
        let parts: Vec<usize> = pathways
            .iter()
            .map(|p| t.term(month.by_pathway[p][figure].clone()))
            .collect();
        t.sum(total, parts);
        let mut shown = t.shown(true).into_iter();
        out.total[figure] = shown.next().unwrap_or_default();
        for (p, s) in pathways.iter().zip(shown) {
            out.by_pathway.entry(p.clone()).or_default()[figure] = s;
        }
    }
    out
}

/// A period's three figures of a pathway ("" for all): its months' summed, each hidden when
/// any month's is.
pub fn over<'a>(months: impl IntoIterator<Item = &'a Month<Shown>>, pathway: &str) -> [Shown; 3] {
    let mut out: [Shown; 3] = Default::default();
    for m in months {
        let of = if pathway.is_empty() {
            Some(&m.total)
        } else {
            m.by_pathway.get(pathway)
        };
        if let Some(figures) = of {
            for (sum, part) in out.iter_mut().zip(figures) {
                sum.add(part);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn q(
        instrument: Instrument,
        episode: &str,
        on: time::Date,
        total: u32,
        pathway: &str,
    ) -> Questionnaire {
        Questionnaire {
            instrument,
            episode: episode.into(),
            completed_on: on,
            total,
            pathway: pathway.into(),
        }
    }

    #[test]
    fn a_follow_up_is_paired_with_its_episodes_first_in_its_own_month() {
        let msk = Instrument::MskHq;
        let all = [
            q(msk, "e1", date!(2026 - 01 - 10), 20, "msk"),
            q(msk, "e1", date!(2026 - 02 - 10), 30, "msk"),
            q(msk, "e1", date!(2026 - 03 - 10), 24, "msk"),
            // Two on one day are not a follow-up.
            q(msk, "e2", date!(2026 - 03 - 01), 40, "msk"),
            q(msk, "e2", date!(2026 - 03 - 01), 10, "msk"),
        ];
        let months = months(&all, 6);
        assert_eq!(months["2026-01"].total[FOLLOW_UPS].n, 0);
        assert_eq!(
            months["2026-02"].total[FOLLOW_UPS],
            Scores {
                n: 1,
                sum: 10,
                hits: [1, 0]
            }
        );
        // March's is against January, whichever period is asked: it never moves.
        assert_eq!(
            months["2026-03"].total[FOLLOW_UPS],
            Scores {
                n: 1,
                sum: 4,
                hits: [0, 0]
            }
        );
        assert_eq!(months["2026-03"].total[MSK_HQ].n, 3);
        // Worsened by the threshold or more: -4 is within 6, not within 4.
        let fell = [
            q(msk, "e3", date!(2026 - 01 - 05), 40, "msk"),
            q(msk, "e3", date!(2026 - 02 - 05), 36, "msk"),
        ];
        let hits = |threshold| super::months(&fell, threshold)["2026-02"].total[FOLLOW_UPS].hits;
        assert_eq!((hits(6), hits(4)), ([0, 0], [0, 1]));
    }

    #[test]
    fn a_small_pathway_is_hidden_with_another_so_the_total_does_not_give_it_back() {
        let sure = Instrument::Sure;
        let mut all = Vec::new();
        for (pathway, n) in [("hip", 2), ("knee", 9), ("spine", 12)] {
            for i in 0..n {
                all.push(q(
                    sure,
                    &format!("{pathway}{i}"),
                    date!(2026 - 01 - 05),
                    3,
                    pathway,
                ));
            }
        }
        let month = shown_month(months(&all, 6).remove("2026-01").unwrap());
        let hidden: Vec<&str> = month
            .by_pathway
            .iter()
            .filter(|(_, f)| f[SURE].hidden)
            .map(|(p, _)| p.as_str())
            .collect();
        assert_eq!(hidden, ["hip", "knee"], "the smallest other hidden with it");
        assert!(!month.total[SURE].hidden);
        let period = over([&month], "hip");
        assert!(period[SURE].hidden);
    }
}

/// What a reader of every output can work out: each pathway's and the total's three figures
/// over every run of months (the pages, their CSV and the dashboards), and each month's total
/// (the stream), bounded by linear programming.
#[cfg(test)]
mod derivation {
    use super::*;
    use alongside_platform::protection::attacker::{seeded, Attacker};

    const MONTHS: usize = 5;
    const PATHWAYS: [&str; 4] = ["hip", "knee", "shoulder", "spine"];

    /// (figure, month, pathway): its number of questionnaires.
    type Cell = (usize, usize, usize);

    fn generate() -> BTreeMap<Cell, u64> {
        let mut next = seeded(0x9e37_79b9);
        let mut out = BTreeMap::new();
        for k in 0..3 {
            for m in 0..MONTHS {
                for p in 0..PATHWAYS.len() {
                    // Many small figures: a third 1 to 4, some none.
                    let n = match next(6) {
                        0 => 0,
                        1 | 2 => 1 + next(4),
                        _ => 5 + next(20),
                    };
                    out.insert((k, m, p), n);
                }
            }
        }
        out
    }

    fn month(cells: &BTreeMap<Cell, u64>, m: usize) -> Month<Scores> {
        let mut out = Month::<Scores>::default();
        for (&(k, month, p), &n) in cells {
            if month != m || n == 0 {
                continue;
            }
            let s = Scores {
                n,
                sum: 30 * n as i64,
                hits: [n / 2, 0],
            };
            out.total[k].add(&s);
            out.by_pathway.entry(PATHWAYS[p].to_string()).or_default()[k].add(&s);
        }
        out
    }

    fn cells_of(k: usize, run: &[usize], p: Option<usize>) -> Vec<Cell> {
        let mut out = Vec::new();
        for &m in run {
            for q in 0..PATHWAYS.len() {
                if p.is_none_or(|p| p == q) {
                    out.push((k, m, q));
                }
            }
        }
        out
    }

    #[test]
    fn no_hidden_figure_is_narrowed_by_everything_shown_together() {
        let cells = generate();
        let shown: Vec<Month<Shown>> = (0..MONTHS).map(|m| shown_month(month(&cells, m))).collect();
        let mut attacker: Attacker<Cell> = Attacker::default();
        let mut naive: Attacker<Cell> = Attacker::default();
        for first in 0..MONTHS {
            for last in first..MONTHS {
                let run: Vec<usize> = (first..=last).collect();
                for p in std::iter::once(None).chain((0..PATHWAYS.len()).map(Some)) {
                    let pathway = p.map_or("", |p| PATHWAYS[p]);
                    let figures = over(run.iter().map(|&m| &shown[m]), pathway);
                    for (k, f) in figures.iter().enumerate() {
                        let of = cells_of(k, &run, p);
                        let truth: u64 = of.iter().map(|c| cells[c]).sum();
                        assert_eq!(f.figure.n, truth, "a sum of its months");
                        if !f.hidden {
                            attacker.know(&of, truth as f64);
                        }
                        naive.know(&of, truth as f64);
                    }
                }
            }
        }
        let mut small: Vec<(String, Vec<Cell>)> = cells
            .iter()
            .filter(|(_, &n)| (1..5).contains(&n))
            .map(|(c, _)| (format!("{c:?}"), vec![*c]))
            .collect();
        for k in 0..3 {
            for m in 0..MONTHS {
                let of = cells_of(k, &[m], None);
                if (1..5).contains(&of.iter().map(|c| cells[c]).sum::<u64>()) {
                    small.push((format!("total {k} {m}"), of));
                }
            }
        }
        assert!(small.len() >= 15, "{} small figures", small.len());
        assert!(attacker.known() > 50, "{} figures shown", attacker.known());
        let narrowed = attacker.narrowed(&small);
        assert!(narrowed.is_empty(), "narrowed: {narrowed:?}");
        // The check can fail: shown unprotected, every small figure is given away.
        assert_eq!(naive.narrowed(&small).len(), small.len());
    }
}
