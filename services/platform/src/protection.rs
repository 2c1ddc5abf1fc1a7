//! Small-number protection of linked tables: figures published together (an ICS's trusts in
//! total and by locality, pathway and way of answering; each trust by site, pathway, team,
//! locality and way of answering and their drills; a trust's spend by month, pathway, kind of
//! work and cost centre, committed and paid) are sums of one another, so hiding a small figure
//! is not enough when the others would give it back by subtraction, or narrow it down by the
//! counts' being never negative.
//!
//! Each figure is a term (its parts: an FFT figure's six answer counts, a spend figure's number
//! of claims); each line is a sum that holds between terms (its margin first, then the terms
//! that add up to it). A small term (1 to 4 responses, or people) is hidden (primary): all of
//! it, its size too. Then, until nothing changes, any
//! line with exactly one hidden term hides its smallest shown term with responses too
//! (secondary), so that no line leaves a hidden term alone.
//!
//! That rules out exact derivation, not bounds. So each primary term is then audited as an
//! attacker would, and a stronger one: by linear programming over the lines around it, the
//! hidden terms near it as variables of at least 0 and every other figure as known (even the
//! hidden ones further off, at their true values), the smallest and largest number of responses
//! //! the term can have. An attacker who knows less can only find wider bounds. The standard (the
//! protection interval of ONS's and tau-Argus's disclosure control, for a threshold of 5): the
//! bounds must include 0 (no one is shown to be there, nor to have given any answer) and a value
//! of at least 5 (nor to be one of a few). A term short of it
//! hides the smallest shown term with responses on the lines around it, and is audited again,
//! until it meets the standard. Hiding more only widens every bound, so terms that met the
//! standard keep meeting it.
//!
//! This is stricter than NHS England's publication, which shows every unit's number of
//! responses and a secondarily suppressed unit's percentages; the trust's own FFT publication
//! keeps that rule (feedback's `suppression`).

use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, OnceLock};

use microlp::{ComparisonOp, OptimizationDirection as Direction, Problem};

/// The smallest count published: a hidden figure must be able to be 0 and at least this.
pub const THRESHOLD: u64 = 5;
const EPSILON: f64 = 1e-6;
/// How many terms of a table may be bounded with the most unknowns (the others that the
/// nearer bounds do not settle hide more instead).
const WIDE: usize = 100;
/// Hidden terms taken as unknown when one is bounded: the nearest few, then more.
const NEAR: [usize; 3] = [24, 120, 1000];
/// Protected tables kept, by their figures and sums: the same month is asked for by many views.
const CACHED: usize = 4096;

/// A figure that may be published: counts that add up along the lines of its table.
pub trait Figure {
    /// How many parts it has; each is bounded on its own.
    const PARTS: usize;
    /// Part `k` (below [`Self::PARTS`]).
    fn part(&self, k: usize) -> u64;
    /// Its size: what a smaller figure is hidden before a larger one by.
    fn size(&self) -> u64 {
        (0..Self::PARTS).map(|k| self.part(k)).sum()
    }
    /// Whether it is small enough to be hidden itself (1 to 4 of its size, unless said
    /// otherwise: a spend figure is small by its people, not its claims).
    fn is_small(&self) -> bool {
        (1..THRESHOLD).contains(&self.size())
    }
    /// Whether it is hidden or shown already, whatever protection would choose: a figure
    /// published in an earlier release stays as it was shown (`Some(false)`), one never
    /// published (the people who joined since) stays hidden (`Some(true)`). Protection hides
    /// only figures not yet settled.
    fn settled(&self) -> Option<bool> {
        None
    }
}

/// Whether a term is shown or hidden, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hide {
    Shown,
    /// Small itself.
    Primary,
    /// Hidden so that a small term cannot be given back.
    Secondary,
}

/// Terms (figures that may be published) and the sums that hold between them.
pub struct Table<F> {
    pub figures: Vec<F>,
    pub lines: Vec<Vec<usize>>,
}

impl<F> Default for Table<F> {
    fn default() -> Self {
        Self {
            figures: Vec::new(),
            lines: Vec::new(),
        }
    }
}

impl<F: Figure> Table<F> {
    pub fn term(&mut self, figure: F) -> usize {
        self.figures.push(figure);
        self.figures.len() - 1
    }

    pub fn sum(&mut self, margin: usize, parts: impl IntoIterator<Item = usize>) {
        let mut line = vec![margin];
        line.extend(parts);
        self.lines.push(line);
    }

    /// What to hide of each term, in order.
    pub fn protect(&self) -> Vec<Hide> {
        protect(&self.figures, &self.lines)
    }

    /// Each term as it may be shown: protected, or for those who may read the rows themselves,
    /// as it is.
    pub fn shown(self, protected: bool) -> Vec<Shown<F>> {
        let hide = if protected {
            self.protect()
        } else {
            vec![Hide::Shown; self.figures.len()]
        };
        self.figures
            .into_iter()
            .zip(hide)
            .map(|(figure, h)| Shown {
                figure,
                hidden: h != Hide::Shown,
            })
            .collect()
    }
}

/// A figure that adds up with others of its kind (a month's to a range's, a trust's to an
/// ICS's).
pub trait Tally: Figure + Clone + Default {
    fn add(&mut self, other: &Self);
}

/// A figure and whether it is hidden.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shown<F> {
    pub figure: F,
    pub hidden: bool,
}

impl<F: Tally> Shown<F> {
    /// Adds `other` in: a sum is hidden when any part of it is, so that every figure shown is a
    /// sum of figures shown, and two sums cannot be subtracted to give a hidden part back.
    pub fn add(&mut self, other: &Shown<F>) {
        self.figure.add(&other.figure);
        self.hidden |= other.hidden;
    }
}

/// A plain count (answers, partners) as a figure: small at 1 to 4.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count(pub u64);

impl Figure for Count {
    const PARTS: usize = 1;
    fn part(&self, _: usize) -> u64 {
        self.0
    }
}

impl Tally for Count {
    fn add(&mut self, other: &Self) {
        self.0 += other.0;
    }
}

/// Keyed figures summed key by key (months' rows into a range's, trusts' into an ICS's).
pub fn sum_by_key<'a, F: Tally + 'a>(
    parts: impl IntoIterator<Item = (&'a String, &'a Shown<F>)>,
) -> std::collections::BTreeMap<String, Shown<F>> {
    let mut out: std::collections::BTreeMap<String, Shown<F>> = Default::default();
    for (key, part) in parts {
        out.entry(key.clone()).or_default().add(part);
    }
    out
}

/// Which terms to hide: `figures[i]` is term i; each line lists the terms of one sum, its
/// margin first. Ties between equally small terms go to the lower index. The same figures and
/// sums are always protected the same way.
pub fn protect<F: Figure>(figures: &[F], lines: &[Vec<usize>]) -> Vec<Hide> {
    static CACHE: OnceLock<Mutex<HashMap<u64, Vec<Hide>>>> = OnceLock::new();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::any::type_name::<F>().hash(&mut hasher);
    for f in figures {
        for k in 0..F::PARTS {
            f.part(k).hash(&mut hasher);
        }
        f.is_small().hash(&mut hasher);
        f.settled().hash(&mut hasher);
    }
    lines.hash(&mut hasher);
    let key = hasher.finish();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        if hit.len() == figures.len() {
            return hit;
        }
    }
    let state = Audit::new(figures, lines).run();
    if let Ok(mut c) = cache.lock() {
        if c.len() >= CACHED {
            c.clear();
        }
        c.insert(key, state.clone());
    }
    state
}

struct Audit<'a, F> {
    counts: &'a [F],
    lines: &'a [Vec<usize>],
    /// The lines each term is on.
    on: Vec<Vec<usize>>,
    state: Vec<Hide>,
    /// How many more times a term may be bounded with the most unknowns.
    wide_left: std::cell::Cell<usize>,
}

impl<'a, F: Figure> Audit<'a, F> {
    fn new(counts: &'a [F], lines: &'a [Vec<usize>]) -> Self {
        let mut on = vec![Vec::new(); counts.len()];
        for (l, line) in lines.iter().enumerate() {
            for &t in line {
                on[t].push(l);
            }
        }
        let state = counts
            .iter()
            .map(|c| match (c.settled(), c.is_small()) {
                (Some(false), _) => Hide::Shown,
                (_, true) => Hide::Primary,
                (Some(true), false) => Hide::Secondary,
                (None, false) => Hide::Shown,
            })
            .collect();
        Self {
            counts,
            lines,
            on,
            state,
            wide_left: std::cell::Cell::new(WIDE),
        }
    }

    fn hidden(&self, t: usize) -> bool {
        self.state[t] != Hide::Shown
    }

    /// Whether hidden term `t` must not be left alone on a line: every hidden figure, but not
    /// a term never published that is no one's small figure (what stayed between two
    /// releases, the responses of one cross-classified cell): working one of those out
    /// exactly gives nothing away by itself, and the audit bounds every small figure it could
    /// lead to.
    fn guarded(&self, t: usize) -> bool {
        let never_shown = self.counts[t].settled() == Some(true);
        self.hidden(t) && (!never_shown || self.counts[t].is_small())
    }

    fn run(mut self) -> Vec<Hide> {
        self.close((0..self.lines.len()).collect());
        for i in 0..self.counts.len() {
            if self.state[i] != Hide::Primary {
                continue;
            }
            while !self.meets_standard(i) {
                let Some(t) = self.hide_near(i) else {
                    break;
                };
                self.close(self.on[t].clone());
            }
        }
        self.state
    }

    /// Until nothing changes, a line with exactly one hidden term hides its smallest shown
    /// term with responses; `work` lists the lines to look at first, and each term hidden adds
    /// its lines.
    fn close(&mut self, work: Vec<usize>) {
        // First in, first out: the sums in the order they were built (each trust's before the
        // ICS's), as a pass over them all would take them.
        let mut work: std::collections::VecDeque<usize> = work.into();
        while let Some(l) = work.pop_front() {
            let line = &self.lines[l];
            if line.iter().filter(|&&t| self.guarded(t)).count() != 1 {
                continue;
            }
            if let Some(t) = self.smallest_shown(line.iter().copied()) {
                self.state[t] = Hide::Secondary;
                work.extend(self.on[t].iter().copied());
            }
        }
    }

    fn smallest_shown(&self, terms: impl Iterator<Item = usize>) -> Option<usize> {
        terms
            .filter(|&t| {
                !self.hidden(t) && self.counts[t].size() > 0 && self.counts[t].settled().is_none()
            })
            .min_by_key(|&t| (self.counts[t].size(), t))
    }

    /// The hidden terms nearest `i` through the lines (at most `most`, the nearest first),
    /// and every line they are on. Bounding `i` with only these as unknowns, every other figure
    /// taken as known (hidden ones at their true values), gives bounds no wider than an
    /// attacker's, who knows less: so a term that meets the standard here meets it.
    fn near(&self, i: usize, most: usize) -> (Vec<usize>, BTreeSet<usize>) {
        let mut terms = vec![i];
        let mut seen: BTreeSet<usize> = [i].into();
        let mut at = 0;
        while at < terms.len() && terms.len() < most {
            let t = terms[at];
            at += 1;
            for &l in &self.on[t] {
                for &u in &self.lines[l] {
                    if terms.len() < most && self.hidden(u) && seen.insert(u) {
                        terms.push(u);
                    }
                }
            }
        }
        let lines = terms
            .iter()
            .flat_map(|&t| self.on[t].iter().copied())
            .collect();
        (terms, lines)
    }

    /// Hides the smallest shown term with responses among the parts of `i`'s lines, or failing
    /// that of the lines of the hidden terms near it, or failing that their margins (a total
    /// is hidden last), and answers it; none when there is none left to hide.
    fn hide_near(&mut self, i: usize) -> Option<usize> {
        let parts = |lines: &mut dyn Iterator<Item = usize>| -> Vec<usize> {
            lines
                .flat_map(|l| self.lines[l][1..].iter().copied())
                .collect()
        };
        let own = parts(&mut self.on[i].iter().copied());
        // Hidden terms that are never shown (flows between releases, cross-classified cells)
        // can stand between a term and every shown one: look further out until one is found.
        let pick = self.smallest_shown(own.into_iter()).or_else(|| {
            NEAR.iter().find_map(|&most| {
                let (_, near_lines) = self.near(i, most);
                let near = parts(&mut near_lines.iter().copied());
                let margins = near_lines.iter().map(|&l| self.lines[l][0]);
                self.smallest_shown(near.into_iter())
                    .or_else(|| self.smallest_shown(margins))
            })
        });
        if let Some(t) = pick {
            self.state[t] = Hide::Secondary;
        }
        pick
    }

    /// Whether the number of responses of hidden term `i` can, given everything shown, be 0
    /// and be at least [`THRESHOLD`]. The answers are bounded one by one: with every hidden
    /// figure's number of responses hidden too, no sum links one answer's counts to another's.
    fn meets_standard(&self, i: usize) -> bool {
        // The few nearest unknowns settle most terms; more are taken before hiding more, the
        // most only so many times a table (a count, not a clock: the same figures are always
        // protected the same way).
        NEAR.iter().enumerate().any(|(k, &most)| {
            if k + 1 == NEAR.len() {
                if self.wide_left.get() == 0 {
                    return false;
                }
                self.wide_left.set(self.wide_left.get() - 1);
            }
            self.meets_standard_near(i, most)
        })
    }

    fn meets_standard_near(&self, i: usize, most: usize) -> bool {
        let (terms, lines) = self.near(i, most);
        // Each part it holds may be none…
        for answer in 0..F::PARTS {
            if self.counts[i].part(answer) > 0
                && self.bound(i, &terms, &lines, answer, Direction::Minimize) > EPSILON
            {
                return false;
            }
        }
        // …and together they may reach the threshold.
        let mut high = 0.0;
        for answer in 0..F::PARTS {
            high += self.bound(i, &terms, &lines, answer, Direction::Maximize);
            if high >= THRESHOLD as f64 - EPSILON {
                return true;
            }
        }
        false
    }

    /// The least or the most term `i` can hold of `answer`, with `terms` unknown.
    fn bound(
        &self,
        i: usize,
        terms: &[usize],
        lines: &BTreeSet<usize>,
        answer: usize,
        direction: Direction,
    ) -> f64 {
        let mut p = Problem::new(direction);
        // A problem the solver has not settled by then counts as short of the standard.
        p.set_time_limit(std::time::Duration::from_secs(1));
        let vars: Vec<microlp::Variable> = terms
            .iter()
            .map(|&t| p.add_var(if t == i { 1.0 } else { 0.0 }, (0.0, f64::INFINITY)))
            .collect();
        for &l in lines {
            let mut expr = Vec::new();
            let mut rhs = 0.0;
            for (place, &t) in self.lines[l].iter().enumerate() {
                // margin − Σ parts = 0
                let sign = if place == 0 { 1.0 } else { -1.0 };
                match terms.iter().position(|&u| u == t) {
                    Some(k) => expr.push((vars[k], sign)),
                    None => rhs -= sign * self.counts[t].part(answer) as f64,
                }
            }
            if !expr.is_empty() {
                p.add_constraint(expr.as_slice(), ComparisonOp::Eq, rhs);
            }
        }
        match (p.solve(), direction) {
            (Ok(microlp::SolveOutcome::Solution(solution)), _) => solution.objective(),
            (Err(microlp::Error::Unbounded), _) => f64::INFINITY,
            // A problem the solver cannot settle counts as short of the standard.
            (_, Direction::Minimize) => f64::INFINITY,
            (_, Direction::Maximize) => 0.0,
        }
    }

    /// The least and the most responses hidden term `i` can have, as [`Self::meets_standard`]
    /// bounds them.
    #[cfg(test)]
    fn bounds(&self, i: usize) -> (f64, f64) {
        let (terms, lines) = self.near(i, NEAR[2]);
        let (mut low, mut high) = (0.0, 0.0);
        for answer in 0..F::PARTS {
            low += self.bound(i, &terms, &lines, answer, Direction::Minimize);
            high += self.bound(i, &terms, &lines, answer, Direction::Maximize);
        }
        (low, high)
    }
}

/// The attacker of the tests: what one audience can work out from every figure shown to it.
/// Each shown figure is an equation over cells (each at least 0); a linear programme then
/// bounds any sum of cells, as an analyst combining every output would.
#[cfg(any(test, feature = "test-support"))]
pub mod attacker {
    use std::collections::{BTreeMap, BTreeSet};

    use microlp::{ComparisonOp, OptimizationDirection, Problem, SolveOutcome};

    /// A small generator of test data from a fixed seed (a linear congruential one): the same
    /// figures every run, so a failure can be looked at again.
    pub fn seeded(mut seed: u64) -> impl FnMut(u64) -> u64 {
        move |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        }
    }

    pub struct Attacker<K> {
        cells: BTreeMap<K, usize>,
        facts: Vec<(Vec<usize>, f64)>,
        seen: BTreeSet<(Vec<usize>, u64)>,
    }

    impl<K: Ord + Clone> Default for Attacker<K> {
        fn default() -> Self {
            Self {
                cells: BTreeMap::new(),
                facts: Vec::new(),
                seen: BTreeSet::new(),
            }
        }
    }

    impl<K: Ord + Clone + std::fmt::Debug> Attacker<K> {
        fn vars<'a>(&mut self, cells: impl IntoIterator<Item = &'a K>) -> Vec<usize>
        where
            K: 'a,
        {
            let mut out: Vec<usize> = cells
                .into_iter()
                .map(|c| {
                    let n = self.cells.len();
                    *self.cells.entry(c.clone()).or_insert(n)
                })
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        }

        /// A shown figure: the sum of `cells` is `value`.
        pub fn know<'a>(&mut self, cells: impl IntoIterator<Item = &'a K>, value: f64)
        where
            K: 'a,
        {
            let vars = self.vars(cells);
            if self.seen.insert((vars.clone(), value.to_bits())) {
                self.facts.push((vars, value));
            }
        }

        /// How many figures it knows.
        pub fn known(&self) -> usize {
            self.facts.len()
        }

        /// The least and the most the sum of `cells` can be, given every shown figure.
        pub fn bounds<'a>(&mut self, cells: impl IntoIterator<Item = &'a K>) -> (f64, f64)
        where
            K: 'a,
        {
            let target: BTreeSet<usize> = self.vars(cells).into_iter().collect();
            let solve = |direction| {
                let mut p = Problem::new(direction);
                let vars: Vec<microlp::Variable> = (0..self.cells.len())
                    .map(|i| {
                        let weight = if target.contains(&i) { 1.0 } else { 0.0 };
                        p.add_var(weight, (0.0, f64::INFINITY))
                    })
                    .collect();
                for (fact, value) in &self.facts {
                    let expr: Vec<(microlp::Variable, f64)> =
                        fact.iter().map(|&i| (vars[i], 1.0)).collect();
                    p.add_constraint(expr.as_slice(), ComparisonOp::Eq, *value);
                }
                match p.solve() {
                    Ok(SolveOutcome::Solution(s)) => s.objective(),
                    Err(microlp::Error::Unbounded) => f64::INFINITY,
                    other => panic!("the figures shown are consistent: {other:?}"),
                }
            };
            (
                solve(OptimizationDirection::Minimize),
                solve(OptimizationDirection::Maximize),
            )
        }

        /// The figures of `small` (name, cells) it narrows below the standard: those that
        /// cannot be 0, or cannot be [`super::THRESHOLD`].
        pub fn narrowed(&mut self, small: &[(String, Vec<K>)]) -> Vec<String> {
            small
                .iter()
                .filter_map(|(name, cells)| {
                    let (low, high) = self.bounds(cells);
                    (low > 1e-6 || high < super::THRESHOLD as f64 - 1e-6)
                        .then(|| format!("{name}: [{low}, {high}]"))
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Hide::{Primary, Secondary, Shown};

    /// A figure of six answers, as an FFT figure is.
    #[derive(Clone, Copy, Default)]
    struct Answers([u64; 6]);

    impl Figure for Answers {
        const PARTS: usize = 6;
        fn part(&self, k: usize) -> u64 {
            self.0[k]
        }
    }

    fn of(totals: &[u64]) -> Vec<Answers> {
        totals
            .iter()
            .map(|&n| Answers([n, 0, 0, 0, 0, 0]))
            .collect()
    }

    #[test]
    fn a_small_term_hides_the_next_smallest_of_its_sum() {
        // 20 = 3 + 5 + 12
        let got = protect(&of(&[20, 3, 5, 12]), &[vec![0, 1, 2, 3]]);
        assert_eq!(got, [Shown, Primary, Secondary, Shown]);
    }

    #[test]
    fn terms_without_responses_never_stand_in() {
        // 3 = 3 + 0: the margin is the small term itself, so it is hidden too.
        let got = protect(&of(&[7, 3, 0, 4]), &[vec![0, 1, 2, 3]]);
        assert_eq!(got, [Shown, Primary, Shown, Primary]);
        let got = protect(&of(&[10, 3, 0, 7]), &[vec![0, 1, 2, 3]]);
        assert_eq!(got, [Shown, Primary, Shown, Secondary]);
    }

    /// The sums of a 2 × 2 table with margins, its terms a b c d r s x y t numbered 0 to 8:
    /// cells a b / c d, rows r s, columns x y, total t.
    fn two_by_two() -> Vec<Vec<usize>> {
        let (a, b, c, d, r, s, x, y, t) = (0, 1, 2, 3, 4, 5, 6, 7, 8);
        vec![
            vec![r, a, b],
            vec![s, c, d],
            vec![x, a, c],
            vec![y, b, d],
            vec![t, r, s],
            vec![t, x, y],
        ]
    }

    #[test]
    fn hiding_spreads_through_crossing_sums_until_each_has_two() {
        // A 2 × 2 table with margins: cells a b / c d, rows r s, columns x y, total t.
        //        x   y
        //   r  a=3 b=20   = 23
        //   s  c=30 d=40  = 70
        //      33   60    = 93
        let totals = [3, 20, 30, 40, 23, 70, 33, 60, 93];
        let (a, b, c, d) = (0, 1, 2, 3);
        let lines = two_by_two();
        let got = protect(&of(&totals), &lines);
        assert_eq!(got[a], Primary);
        // a's row hides b, its column c; then c's row hides d: a cycle a b d c.
        for i in [b, c, d] {
            assert_eq!(got[i], Secondary, "{i}");
        }
        for line in &lines {
            let hidden = line.iter().filter(|&&i| got[i] != Shown).count();
            assert_ne!(hidden, 1, "{line:?}");
        }
    }

    #[test]
    fn two_small_terms_that_add_up_to_less_than_five_hide_a_third() {
        // 40 = 3 + 1 + 16 + 20: hiding 3 and 1 alone would show they are 4 together, so
        // neither could be 5; the audit hides 16 as well.
        let got = protect(&of(&[40, 3, 1, 16, 20]), &[vec![0, 1, 2, 3, 4]]);
        assert_eq!(got, [Shown, Primary, Primary, Secondary, Shown]);
    }

    #[test]
    fn a_term_that_bounds_force_above_zero_hides_more() {
        // Rows r s, columns x y; cells a b / c d with a = 2 small. Hiding the cycle a b c d
        // gives a ∈ [max(0, r − y) …]: with b tiny, a can never be 0 unless more is hidden.
        //        x    y
        //   r  a=2  b=1   = 3
        //   s  c=9  d=30  = 39
        //      11   31    = 42
        let counts = of(&[2, 1, 9, 30, 3, 39, 11, 31, 42]);
        let (a, b) = (0, 1);
        let lines = two_by_two();
        let got = protect(&counts, &lines);
        let audit = Audit {
            state: got.clone(),
            ..Audit::new(&counts, &lines)
        };
        for i in [a, b] {
            assert_eq!(got[i], Primary);
            let (low, high) = audit.bounds(i);
            assert!(low <= EPSILON && high >= 5.0, "{i}: [{low}, {high}]");
        }
    }

    #[test]
    fn each_answer_is_a_variable_of_its_own() {
        // 30 = 3 + 27 by answers: the small term is 3 "very poor", the other all "very good".
        // Hiding both, the very-poor line says the two hold 3 very poor between them: the
        // small one may still hold none (the other may hold all three).
        let counts = [
            Answers([27, 0, 0, 0, 3, 0]),
            Answers([0, 0, 0, 0, 3, 0]),
            Answers([27, 0, 0, 0, 0, 0]),
        ];
        let lines = [vec![0, 1, 2]];
        let got = protect(&counts, &lines);
        assert_eq!(got, [Shown, Primary, Secondary]);
        let audit = Audit {
            state: got,
            ..Audit::new(&counts, &lines)
        };
        assert_eq!(audit.bounds(1), (0.0, 30.0));
    }
}
