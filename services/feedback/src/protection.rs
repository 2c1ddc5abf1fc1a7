//! Small-number protection of linked tables: figures published together (an ICS's trusts in
//! total and by locality, pathway and way of answering, month by month) are sums of one another,
//! so hiding a small figure is not enough when the others would give it back by subtraction.
//!
//! Each figure is a term with its number of responses; each line is a sum that holds between
//! terms (its margin first, then the terms that add up to it). A term of 1 to 4 responses is
//! hidden (primary). Then, until nothing changes, any line with exactly one hidden term hides
//! its smallest shown term with responses too (secondary), so that no line leaves a hidden term
//! alone: with two or more hidden in every line they touch, subtraction gives only their sums.
//! Hidden means the six counts and the percentages; the number of responses is still shown, as
//! NHS England shows it. This is stricter than NHS England's publication, which shows a
//! secondarily suppressed unit's percentages: with exact percentages the parent's and siblings'
//! would give the primary unit's positives away.

use crate::suppression::Suppression;

/// Which terms to hide: `totals[i]` is term i's number of responses; each line lists the terms
/// of one sum (in any order). Ties between equally small terms go to the lower index.
pub fn protect(totals: &[u64], lines: &[Vec<usize>]) -> Vec<Suppression> {
    let mut state: Vec<Suppression> = totals
        .iter()
        .map(|&n| {
            if (1..=4).contains(&n) {
                Suppression::Primary
            } else {
                Suppression::None
            }
        })
        .collect();
    loop {
        let mut changed = false;
        for line in lines {
            let hidden = line
                .iter()
                .filter(|&&i| state[i] != Suppression::None)
                .count();
            if hidden != 1 {
                continue;
            }
            let smallest = line
                .iter()
                .copied()
                .filter(|&i| state[i] == Suppression::None && totals[i] > 0)
                .min_by_key(|&i| (totals[i], i));
            if let Some(i) = smallest {
                state[i] = Suppression::Secondary;
                changed = true;
            }
        }
        if !changed {
            return state;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Suppression::{None as Shown, Primary, Secondary};

    #[test]
    fn a_small_term_hides_the_next_smallest_of_its_sum() {
        // 20 = 3 + 5 + 12
        let got = protect(&[20, 3, 5, 12], &[vec![0, 1, 2, 3]]);
        assert_eq!(got, [Shown, Primary, Secondary, Shown]);
    }

    #[test]
    fn terms_without_responses_never_stand_in() {
        // 3 = 3 + 0: the margin is the small term itself, so it is hidden too.
        let got = protect(&[7, 3, 0, 4], &[vec![0, 1, 2, 3]]);
        assert_eq!(got, [Shown, Primary, Shown, Primary]);
        let got = protect(&[10, 3, 0, 7], &[vec![0, 1, 2, 3]]);
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
        let got = protect(&totals, &lines);
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
}
