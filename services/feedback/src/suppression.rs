//! Small-number suppression of Friends and Family Test figures over a hierarchy of units, as NHS
//! England's FFT publication applies it (DOMAIN.md §4):
//!
//! - rank: among siblings (units with the same parent; the top-level units are one group), units
//!   with responses are ranked 1, 2, 3… by ascending total; units with none are not ranked; ties
//!   go by the unit's identifier, ascending (NHS England's order is unspecified outside wards);
//! - primary: a unit with 1 to 4 responses;
//! - secondary: when a group's rank-1 unit is primary-suppressed, its rank-2 unit too;
//! - cascade: top-down, a suppressed parent (for any reason) suppresses its rank-1 and rank-2
//!   children; a child never suppresses its parent;
//! - any suppression hides the six counts; only primary hides the percentages; the total is
//!   always shown.

use std::collections::BTreeMap;

use crate::fft::Counts;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Suppression {
    None,
    Primary,
    Secondary,
    Cascade,
}

impl Suppression {
    pub fn as_str(self) -> &'static str {
        match self {
            Suppression::None => "none",
            Suppression::Primary => "primary",
            Suppression::Secondary => "secondary",
            Suppression::Cascade => "cascade",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    pub id: String,
    /// Empty at the top level.
    pub parent: String,
    pub counts: Counts,
}

/// What may be published of a unit.
#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    pub id: String,
    pub parent: String,
    pub total: u64,
    /// Fractions 0–1; none without responses or when primary suppression hides them.
    pub positive: Option<f64>,
    pub negative: Option<f64>,
    /// None when suppressed for any reason.
    pub counts: Option<Counts>,
    pub suppression: Suppression,
    /// Among its siblings; none without responses.
    pub rank: Option<usize>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum HierarchyError {
    #[error("unit {0:?} appears more than once")]
    Duplicate(String),
    #[error("unit {unit:?} names a parent {parent:?} that is not in the data")]
    UnknownParent { unit: String, parent: String },
    #[error("unit {0:?} is its own ancestor")]
    Cycle(String),
}

/// Applies the rules to every unit; answers in the order given.
pub fn suppress(units: &[Unit]) -> Result<Vec<Published>, HierarchyError> {
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, u) in units.iter().enumerate() {
        if index.insert(u.id.as_str(), i).is_some() {
            return Err(HierarchyError::Duplicate(u.id.clone()));
        }
    }
    for u in units {
        if !u.parent.is_empty() && !index.contains_key(u.parent.as_str()) {
            return Err(HierarchyError::UnknownParent {
                unit: u.id.clone(),
                parent: u.parent.clone(),
            });
        }
    }
    // Depth of each unit, refusing cycles: the top level is 0.
    let mut depth = vec![usize::MAX; units.len()];
    for start in 0..units.len() {
        let mut chain = vec![start];
        let mut at = start;
        while depth[at] == usize::MAX && !units[at].parent.is_empty() {
            at = index[units[at].parent.as_str()];
            if chain.contains(&at) {
                return Err(HierarchyError::Cycle(units[at].id.clone()));
            }
            chain.push(at);
        }
        let mut d = if units[at].parent.is_empty() && depth[at] == usize::MAX {
            0
        } else {
            depth[at]
        };
        depth[at] = d;
        for &i in chain.iter().rev().skip(1) {
            d += 1;
            depth[i] = d;
        }
    }

    // Siblings ranked by ascending total, then id; units without responses unranked.
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, u) in units.iter().enumerate() {
        groups.entry(u.parent.as_str()).or_default().push(i);
    }
    let mut rank = vec![None; units.len()];
    let mut ranked: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (parent, members) in &groups {
        let mut with: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| units[i].counts.total() > 0)
            .collect();
        with.sort_by(|&a, &b| {
            units[a]
                .counts
                .total()
                .cmp(&units[b].counts.total())
                .then_with(|| units[a].id.cmp(&units[b].id))
        });
        for (r, &i) in with.iter().enumerate() {
            rank[i] = Some(r + 1);
        }
        ranked.insert(parent, with);
    }

    let mut state = vec![Suppression::None; units.len()];
    for (i, u) in units.iter().enumerate() {
        if (1..=4).contains(&u.counts.total()) {
            state[i] = Suppression::Primary;
        }
    }
    for order in ranked.values() {
        if let (Some(&first), Some(&second)) = (order.first(), order.get(1)) {
            if state[first] == Suppression::Primary && state[second] == Suppression::None {
                state[second] = Suppression::Secondary;
            }
        }
    }
    // Cascade from the top down, so a cascaded parent passes it on.
    let mut by_depth: Vec<usize> = (0..units.len()).collect();
    by_depth.sort_by_key(|&i| depth[i]);
    for &i in &by_depth {
        if state[i] == Suppression::None {
            continue;
        }
        if let Some(children) = ranked.get(units[i].id.as_str()) {
            for &child in children.iter().take(2) {
                if state[child] == Suppression::None {
                    state[child] = Suppression::Cascade;
                }
            }
        }
    }

    Ok(units
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let shows_percentages = state[i] != Suppression::Primary;
            let fraction = |p: Option<f64>| p.filter(|_| shows_percentages).map(|p| p / 100.0);
            Published {
                id: u.id.clone(),
                parent: u.parent.clone(),
                total: u.counts.total(),
                positive: fraction(u.counts.percent_positive()),
                negative: fraction(u.counts.percent_negative()),
                counts: (state[i] == Suppression::None).then_some(u.counts),
                suppression: state[i],
                rank: rank[i],
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unit(id: &str, parent: &str, total: u64) -> Unit {
        Unit {
            id: id.into(),
            parent: parent.into(),
            counts: Counts {
                very_good: total,
                ..Counts::default()
            },
        }
    }

    fn states(published: &[Published]) -> Vec<(&str, &str)> {
        published
            .iter()
            .map(|p| (p.id.as_str(), p.suppression.as_str()))
            .collect()
    }

    #[test]
    fn a_worked_example_of_every_rule() {
        // A trust with two sites; site B has three wards, one with 3 responses.
        let units = [
            unit("RZA", "", 200),
            unit("RZA01", "RZA", 150),
            unit("RZA02", "RZA", 50),
            unit("W1", "RZA02", 3),
            unit("W2", "RZA02", 20),
            unit("W3", "RZA02", 27),
            unit("W4", "RZA01", 0),
            unit("W5", "RZA01", 150),
        ];
        let published = suppress(&units).unwrap();
        assert_eq!(
            states(&published),
            [
                ("RZA", "none"),
                ("RZA01", "none"),
                ("RZA02", "none"),
                // 3 responses: primary; the smallest of its siblings, so the next (W2) goes too.
                ("W1", "primary"),
                ("W2", "secondary"),
                ("W3", "none"),
                // No responses: not suppressed, not ranked.
                ("W4", "none"),
                ("W5", "none"),
            ]
        );
        assert_eq!(published[3].positive, None, "primary hides the percentages");
        assert_eq!(published[3].total, 3, "the total is always shown");
        assert_eq!(published[4].positive, Some(1.0), "secondary keeps them");
        assert!(published[4].counts.is_none(), "and hides the counts");
        assert_eq!(published[6].rank, None);
        assert_eq!(published[7].rank, Some(1));
    }

    #[test]
    fn a_suppressed_parent_takes_its_two_smallest_children_down_with_it() {
        let units = [
            unit("ICS", "", 60),
            unit("T1", "ICS", 2),
            unit("T2", "ICS", 58),
            unit("S1", "T2", 8),
            unit("S2", "T2", 20),
            unit("S3", "T2", 30),
            unit("C1", "S1", 5),
            unit("C2", "S1", 3),
        ];
        let published = suppress(&units).unwrap();
        assert_eq!(
            states(&published),
            [
                ("ICS", "none"),
                ("T1", "primary"),
                ("T2", "secondary"),
                ("S1", "cascade"),
                ("S2", "cascade"),
                ("S3", "none"),
                // Under S1, C2 (3 responses) is rank 1 and primary, so C1 is secondary: that
                // comes before the cascade from S1.
                ("C1", "secondary"),
                ("C2", "primary"),
            ]
        );
    }

    #[test]
    fn ties_rank_by_unit_id_and_bad_hierarchies_are_refused() {
        let published = suppress(&[unit("B", "", 2), unit("A", "", 2), unit("C", "", 9)]).unwrap();
        assert_eq!(published[1].rank, Some(1));
        assert_eq!(published[0].rank, Some(2));
        assert_eq!(
            suppress(&[unit("A", "X", 1)]),
            Err(HierarchyError::UnknownParent {
                unit: "A".into(),
                parent: "X".into()
            })
        );
        assert!(matches!(
            suppress(&[unit("A", "B", 1), unit("B", "A", 1)]),
            Err(HierarchyError::Cycle(_))
        ));
        assert_eq!(
            suppress(&[unit("A", "", 1), unit("A", "", 1)]),
            Err(HierarchyError::Duplicate("A".into()))
        );
    }

    /// Random hierarchies: every unit's parent is an earlier unit or none.
    fn hierarchy() -> impl Strategy<Value = Vec<Unit>> {
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                any::<bool>(),
                0..40u64,
                0..3u64,
            ),
            1..40,
        )
        .prop_map(|rows| {
            let mut units: Vec<Unit> = Vec::new();
            for (i, (parent, top, total, poor)) in rows.into_iter().enumerate() {
                let parent = if top || units.is_empty() {
                    String::new()
                } else {
                    units[parent.index(units.len())].id.clone()
                };
                units.push(Unit {
                    id: format!("u{i:02}"),
                    parent,
                    counts: Counts {
                        very_good: total,
                        poor,
                        ..Counts::default()
                    },
                });
            }
            units
        })
    }

    proptest! {
        #[test]
        fn the_rules_hold_for_any_hierarchy(units in hierarchy()) {
            let published = suppress(&units).unwrap();
            let by_id: BTreeMap<&str, &Published> = published.iter().map(|p| (p.id.as_str(), p)).collect();
            let siblings = |parent: &str| -> Vec<&Published> {
                let mut s: Vec<&Published> = published.iter().filter(|p| p.parent == parent && p.rank.is_some()).collect();
                s.sort_by_key(|p| p.rank);
                s
            };
            for p in &published {
                let ranked = siblings(&p.parent);
                // Each suppression has its reason, and each reason its suppression.
                let reason = match p.suppression {
                    Suppression::None => true,
                    Suppression::Primary => (1..=4).contains(&p.total),
                    Suppression::Secondary => p.rank == Some(2) && ranked[0].suppression == Suppression::Primary && !(1..=4).contains(&p.total),
                    Suppression::Cascade => matches!(p.rank, Some(1) | Some(2))
                        && by_id[p.parent.as_str()].suppression != Suppression::None,
                };
                prop_assert!(reason, "{:?} without its reason", p);
                if (1..=4).contains(&p.total) {
                    prop_assert_eq!(p.suppression, Suppression::Primary);
                }
                if p.rank == Some(2) && ranked[0].suppression == Suppression::Primary {
                    prop_assert_ne!(p.suppression, Suppression::None, "{:?}: rank 2 after a primary rank 1", p);
                }
                if !p.parent.is_empty() && by_id[p.parent.as_str()].suppression != Suppression::None && matches!(p.rank, Some(1) | Some(2)) {
                    prop_assert_ne!(p.suppression, Suppression::None, "{:?}: under a suppressed parent", p);
                }
                // What is hidden.
                prop_assert_eq!(p.counts.is_none(), p.suppression != Suppression::None);
                prop_assert_eq!(p.positive.is_none(), p.total == 0 || p.suppression == Suppression::Primary);
                prop_assert_eq!(p.rank.is_none(), p.total == 0);
            }
        }

        #[test]
        fn the_fft_arithmetic_holds_for_any_counts(
            very_good in 0..10_000u64, good in 0..10_000u64, neither in 0..10_000u64,
            poor in 0..10_000u64, very_poor in 0..10_000u64, dont_know in 0..10_000u64,
        ) {
            let c = Counts { very_good, good, neither, poor, very_poor, dont_know };
            let total = c.total();
            prop_assert_eq!(total, very_good + good + neither + poor + very_poor + dont_know);
            match (c.percent_positive(), c.percent_negative()) {
                (None, None) => prop_assert_eq!(total, 0),
                (Some(pos), Some(neg)) => {
                    prop_assert!((pos - 100.0 * (very_good + good) as f64 / total as f64).abs() < 1e-9);
                    prop_assert!((neg - 100.0 * (poor + very_poor) as f64 / total as f64).abs() < 1e-9);
                    // Neither and don't know are in the denominator: the two never exceed 100.
                    prop_assert!(pos + neg <= 100.0 + 1e-9);
                    let neutral = 100.0 * (neither + dont_know) as f64 / total as f64;
                    prop_assert!((pos + neg + neutral - 100.0).abs() < 1e-9);
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }
    }
}
