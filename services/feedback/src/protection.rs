//! FFT figures as terms of the linked tables `alongside_platform::protection` protects: each
//! figure's six answer counts are its parts, its number of responses its size.

use alongside_platform::protection::{Figure, Hide};

use crate::fft::Counts;
use crate::suppression::Suppression;

pub use alongside_platform::protection::THRESHOLD;

/// An ICS month's FFT figures and the sums between them.
pub type Table = alongside_platform::protection::Table<Counts>;

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
