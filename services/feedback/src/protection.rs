//! Small-number protection of linked tables: figures published together (an ICS's trusts in
//! total and by locality, pathway and way of answering; each trust by site, pathway, team,
//! locality and way of answering and their drills; month by month) are sums of one another, so
//! hiding a small figure is not enough when the others would give it back by subtraction, or
//! narrow it down by the counts' being never negative.
//!
//! Each figure is a term (its six answer counts); each line is a sum that holds between terms
//! (its margin first, then the terms that add up to it). A term of 1 to 4 responses is hidden
//! (primary): its counts, percentages and number of responses. Then, until nothing changes, any
//! line with exactly one hidden term hides its smallest shown term with responses too
//! (secondary), so that no line leaves a hidden term alone.
//!
//! That rules out exact derivation, not bounds. So each primary term is then audited as an
//! attacker would: by linear programming over every line, with the shown terms as constants and
//! every hidden count a variable of at least 0, the smallest and largest number of responses the
//! term can have. The standard (the protection interval of ONS's and tau-Argus's disclosure
//! control, for a threshold of 5): the bounds must include 0 (no one is shown to be there, nor to
//! have given any answer) and a value of at least 5 (nor to be one of a few). A term short of it
//! hides the smallest shown term with responses on the lines around it, and is audited again,
//! until it meets the standard. Hiding more only widens every bound, so terms that met the
//! standard keep meeting it.
//!
//! This is stricter than NHS England's publication, which shows every unit's number of
//! responses and a secondarily suppressed unit's percentages; the trust's own FFT publication
//! keeps that rule ([`crate::suppression`]).

use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, OnceLock};

use microlp::{ComparisonOp, OptimizationDirection, Problem};

use crate::fft::Counts;
use crate::suppression::Suppression;

/// The smallest count published: a hidden figure must be able to be 0 and at least this.
pub const THRESHOLD: u64 = 5;
const EPSILON: f64 = 1e-6;
/// Protected tables kept, by their figures and sums: the same month is asked for by many views.
const CACHED: usize = 4096;

fn answers(c: &Counts) -> [u64; 6] {
    [
        c.very_good,
        c.good,
        c.neither,
        c.poor,
        c.very_poor,
        c.dont_know,
    ]
}

fn is_small(c: &Counts) -> bool {
    (1..THRESHOLD).contains(&c.total())
}

/// Terms (figures that may be published) and the sums that hold between them.
#[derive(Default)]
pub struct Table {
    pub counts: Vec<Counts>,
    pub lines: Vec<Vec<usize>>,
}

impl Table {
    pub fn term(&mut self, counts: Counts) -> usize {
        self.counts.push(counts);
        self.counts.len() - 1
    }

    pub fn sum(&mut self, margin: usize, parts: impl IntoIterator<Item = usize>) {
        let mut line = vec![margin];
        line.extend(parts);
        self.lines.push(line);
    }
}

/// A figure and what may be shown of it.
#[derive(Clone, Copy, Debug)]
pub struct Held {
    pub counts: Counts,
    pub state: Suppression,
}

impl Default for Held {
    fn default() -> Self {
        Self {
            counts: Counts::default(),
            state: Suppression::None,
        }
    }
}

/// Which terms to hide: `counts[i]` is term i's answers; each line lists the terms of one sum,
/// its margin first. Ties between equally small terms go to the lower index. The same figures
/// and sums are always protected the same way.
pub fn protect(counts: &[Counts], lines: &[Vec<usize>]) -> Vec<Suppression> {
    static CACHE: OnceLock<Mutex<HashMap<u64, Vec<Suppression>>>> = OnceLock::new();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for c in counts {
        answers(c).hash(&mut hasher);
    }
    lines.hash(&mut hasher);
    let key = hasher.finish();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        if hit.len() == counts.len() {
            return hit;
        }
    }
    let state = Audit::new(counts, lines).run();
    if let Ok(mut c) = cache.lock() {
        if c.len() >= CACHED {
            c.clear();
        }
        c.insert(key, state.clone());
    }
    state
}

struct Audit<'a> {
    counts: &'a [Counts],
    lines: &'a [Vec<usize>],
    /// The lines each term is on.
    on: Vec<Vec<usize>>,
    state: Vec<Suppression>,
}

impl<'a> Audit<'a> {
    fn new(counts: &'a [Counts], lines: &'a [Vec<usize>]) -> Self {
        let mut on = vec![Vec::new(); counts.len()];
        for (l, line) in lines.iter().enumerate() {
            for &t in line {
                on[t].push(l);
            }
        }
        let state = counts
            .iter()
            .map(|c| {
                if is_small(c) {
                    Suppression::Primary
                } else {
                    Suppression::None
                }
            })
            .collect();
        Self {
            counts,
            lines,
            on,
            state,
        }
    }

    fn hidden(&self, t: usize) -> bool {
        self.state[t] != Suppression::None
    }

    fn run(mut self) -> Vec<Suppression> {
        self.close();
        for i in 0..self.counts.len() {
            if self.state[i] != Suppression::Primary {
                continue;
            }
            while !self.meets_standard(i) {
                if !self.hide_near(i) {
                    break;
                }
                self.close();
            }
        }
        self.state
    }

    /// Until nothing changes, a line with exactly one hidden term hides its smallest shown
    /// term with responses.
    fn close(&mut self) {
        loop {
            let mut changed = false;
            for line in self.lines {
                let hidden = line.iter().filter(|&&t| self.hidden(t)).count();
                if hidden != 1 {
                    continue;
                }
                if let Some(t) = self.smallest_shown(line.iter().copied()) {
                    self.state[t] = Suppression::Secondary;
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }

    fn smallest_shown(&self, terms: impl Iterator<Item = usize>) -> Option<usize> {
        terms
            .filter(|&t| !self.hidden(t) && self.counts[t].total() > 0)
            .min_by_key(|&t| (self.counts[t].total(), t))
    }

    /// The hidden terms linked to `i` through lines, and the lines they are on.
    fn component(&self, i: usize) -> (Vec<usize>, BTreeSet<usize>) {
        let mut terms = vec![i];
        let mut seen: BTreeSet<usize> = [i].into();
        let mut lines = BTreeSet::new();
        let mut at = 0;
        while at < terms.len() {
            let t = terms[at];
            at += 1;
            for &l in &self.on[t] {
                if !lines.insert(l) {
                    continue;
                }
                for &u in &self.lines[l] {
                    if self.hidden(u) && seen.insert(u) {
                        terms.push(u);
                    }
                }
            }
        }
        (terms, lines)
    }

    /// Hides the smallest shown term with responses on `i`'s lines, or failing that on the
    /// lines of the hidden terms linked to it; false when there is none left to hide.
    fn hide_near(&mut self, i: usize) -> bool {
        let (_, lines) = self.component(i);
        let near = self.on[i]
            .iter()
            .flat_map(|&l| self.lines[l].iter().copied());
        let pick = self.smallest_shown(near).or_else(|| {
            self.smallest_shown(lines.iter().flat_map(|&l| self.lines[l].iter().copied()))
        });
        match pick {
            Some(t) => {
                self.state[t] = Suppression::Secondary;
                true
            }
            None => false,
        }
    }

    /// Whether the number of responses of hidden term `i` can, given everything shown, be 0
    /// and be at least [`THRESHOLD`].
    fn meets_standard(&self, i: usize) -> bool {
        let (low, high) = self.bounds(i);
        low <= EPSILON && high >= THRESHOLD as f64 - EPSILON
    }

    /// The least and the most responses hidden term `i` can have (the most may be infinite).
    fn bounds(&self, i: usize) -> (f64, f64) {
        let (terms, lines) = self.component(i);
        let solve = |direction| {
            let mut p = Problem::new(direction);
            // One variable per hidden term of the component and answer; the objective is term
            // i's responses.
            let vars: Vec<[microlp::Variable; 6]> = terms
                .iter()
                .map(|&t| {
                    std::array::from_fn(|_| {
                        p.add_var(if t == i { 1.0 } else { 0.0 }, (0.0, f64::INFINITY))
                    })
                })
                .collect();
            let var_of = |t: usize| terms.iter().position(|&u| u == t).map(|k| vars[k]);
            for &l in &lines {
                let line = &self.lines[l];
                for answer in 0..6 {
                    let mut expr = Vec::new();
                    let mut rhs = 0.0;
                    for (place, &t) in line.iter().enumerate() {
                        // margin − Σ parts = 0
                        let sign = if place == 0 { 1.0 } else { -1.0 };
                        match var_of(t) {
                            Some(v) => expr.push((v[answer], sign)),
                            None => rhs -= sign * answers(&self.counts[t])[answer] as f64,
                        }
                    }
                    if !expr.is_empty() {
                        p.add_constraint(expr.as_slice(), ComparisonOp::Eq, rhs);
                    }
                }
            }
            match p.solve() {
                Ok(microlp::SolveOutcome::Solution(solution)) => Some(solution.objective()),
                Err(microlp::Error::Unbounded) => Some(f64::INFINITY),
                Ok(_) => None,
                Err(_) => None,
            }
        };
        // A problem the solver cannot settle counts as short of the standard, so more is hidden.
        let low = solve(OptimizationDirection::Minimize).unwrap_or(f64::INFINITY);
        let high = solve(OptimizationDirection::Maximize).unwrap_or(0.0);
        (low, high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Suppression::{None as Shown, Primary, Secondary};

    fn of(totals: &[u64]) -> Vec<Counts> {
        totals
            .iter()
            .map(|&n| Counts {
                very_good: n,
                ..Default::default()
            })
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

    #[test]
    fn hiding_spreads_through_crossing_sums_until_each_has_two() {
        // A 2 × 2 table with margins: cells a b / c d, rows r s, columns x y, total t.
        //        x   y
        //   r  a=3 b=20   = 23
        //   s  c=30 d=40  = 70
        //      33   60    = 93
        let totals = [3, 20, 30, 40, 23, 70, 33, 60, 93];
        let (a, b, c, d, r, s, x, y, t) = (0, 1, 2, 3, 4, 5, 6, 7, 8);
        let lines = vec![
            vec![r, a, b],
            vec![s, c, d],
            vec![x, a, c],
            vec![y, b, d],
            vec![t, r, s],
            vec![t, x, y],
        ];
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
        let (a, b, c, d, r, s, x, y, t) = (0, 1, 2, 3, 4, 5, 6, 7, 8);
        let lines = vec![
            vec![r, a, b],
            vec![s, c, d],
            vec![x, a, c],
            vec![y, b, d],
            vec![t, r, s],
            vec![t, x, y],
        ];
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
            Counts {
                very_good: 27,
                very_poor: 3,
                ..Default::default()
            },
            Counts {
                very_poor: 3,
                ..Default::default()
            },
            Counts {
                very_good: 27,
                ..Default::default()
            },
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
