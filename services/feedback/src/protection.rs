//! FFT figures as terms of the linked tables `alongside_platform::protection` protects: each
//! figure's six answer counts are its parts, its number of responses its size.

use alongside_platform::protection::{Figure, Hide};

use crate::fft::Counts;
use crate::suppression::Suppression;

pub use alongside_platform::protection::THRESHOLD;

/// An ICS month's FFT figures and the sums between them (and, for a revision, its earlier
/// releases' and the flows between them).
pub type Table = alongside_platform::protection::Table<Term>;

/// A term of a release's table: a figure, whether an earlier release settled it (shown, or
/// hidden: `Some(hidden)`), and whether it is small (1 to 4 responses) and so protected to the
/// standard. Figures are small by their size; of the flows between two releases, what came and
/// what left are, what stayed is not (it is never published, and is no one's answer).
#[derive(Clone, Copy, Debug)]
pub struct Term {
    pub counts: Counts,
    pub settled: Option<bool>,
    pub small: bool,
}

impl Term {
    /// A figure of the release being made.
    pub fn new(counts: Counts) -> Self {
        Self {
            counts,
            settled: None,
            small: counts.is_small(),
        }
    }

    /// A figure as an earlier release showed it (or hid it).
    pub fn released(held: &Held) -> Self {
        Self {
            settled: Some(held.state != Suppression::None),
            ..Self::new(held.counts)
        }
    }

    /// A flow between two releases, never published; small ones protected when `small`.
    pub fn flow(counts: Counts, small: bool) -> Self {
        Self {
            counts,
            settled: Some(true),
            small: small && counts.is_small(),
        }
    }
}

impl Figure for Term {
    const PARTS: usize = 6;

    fn part(&self, k: usize) -> u64 {
        self.counts.part(k)
    }

    fn is_small(&self) -> bool {
        self.small
    }

    fn settled(&self) -> Option<bool> {
        self.settled
    }
}

impl Figure for Counts {
    const PARTS: usize = 6;

    fn part(&self, k: usize) -> u64 {
        [
            self.very_good,
            self.good,
            self.neither,
            self.poor,
            self.very_poor,
            self.dont_know,
        ][k]
    }

    fn size(&self) -> u64 {
        self.total()
    }
}

/// A figure and what may be shown of it.
#[derive(Clone, Copy, Debug, PartialEq)]
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

/// Which of `t`'s figures to hide, and why.
pub fn protect(t: &Table) -> Vec<Suppression> {
    t.protect()
        .into_iter()
        .map(|h| match h {
            Hide::Shown => Suppression::None,
            Hide::Primary => Suppression::Primary,
            Hide::Secondary => Suppression::Secondary,
        })
        .collect()
}
