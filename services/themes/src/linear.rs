//! Linear classifiers trained by dual coordinate descent (Hsieh et al., "A dual coordinate
//! descent method for large-scale linear SVM", ICML 2008): an L2-regularised, squared-hinge-loss
//! SVM, as liblinear's default solver. Deterministic: the visiting order comes from a seeded
//! generator.

use crate::text::Sparse;

/// A weight vector and bias; the score of x is w·x + b.
#[derive(Clone, Debug, PartialEq)]
pub struct Linear {
    pub weights: Vec<f32>,
    pub bias: f32,
}

impl Linear {
    pub fn score(&self, x: &Sparse) -> f32 {
        self.bias
            + x.iter()
                .map(|(i, v)| self.weights.get(*i as usize).copied().unwrap_or(0.0) * v)
                .sum::<f32>()
    }
}

/// One training example of a binary problem.
pub struct Sample<'a> {
    pub x: &'a Sparse,
    pub positive: bool,
    /// How much the example counts (a staff correction counts more than a public example).
    pub weight: f32,
}

/// Training settings.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Inverse regularisation strength.
    pub c: f32,
    /// Positive examples weigh (negatives / positives)^balance more: 0 is none, 1 fully balanced.
    pub balance: f32,
    pub max_passes: usize,
    /// Stop when the projected gradient's spread falls below this.
    pub tolerance: f32,
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            c: 0.5,
            balance: 0.5,
            max_passes: 60,
            tolerance: 0.1,
            seed: 0x5EED,
        }
    }
}

/// A small, fixed generator (splitmix64) so training is the same on every machine.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Trains one binary classifier over vectors of `dim` dimensions. The bias is learned as the
/// weight of a constant feature of 1, and so is regularised like the others (as in liblinear).
pub fn train(samples: &[Sample], dim: usize, settings: Settings) -> Linear {
    let positives = samples.iter().filter(|s| s.positive).count().max(1) as f32;
    let negatives = samples.iter().filter(|s| !s.positive).count().max(1) as f32;
    let positive_boost = (negatives / positives).powf(settings.balance);
    let mut w = vec![0.0f32; dim];
    let mut bias = 0.0f32;
    let n = samples.len();
    let mut alpha = vec![0.0f32; n];
    // Squared hinge loss: the dual's diagonal gains 1 / (2 C_i) and alpha has no upper bound.
    let diag: Vec<f32> = samples
        .iter()
        .map(|s| {
            let c = settings.c * s.weight * if s.positive { positive_boost } else { 1.0 };
            0.5 / c
        })
        .collect();
    let qd: Vec<f32> = samples
        .iter()
        .zip(&diag)
        .map(|(s, d)| s.x.iter().map(|(_, v)| v * v).sum::<f32>() + 1.0 + d)
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(settings.seed);
    for _ in 0..settings.max_passes {
        rng.shuffle(&mut order);
        let (mut max_pg, mut min_pg) = (f32::NEG_INFINITY, f32::INFINITY);
        for &i in &order {
            let s = &samples[i];
            let y = if s.positive { 1.0 } else { -1.0 };
            let margin = bias + s.x.iter().map(|(j, v)| w[*j as usize] * v).sum::<f32>();
            let g = y * margin - 1.0 + alpha[i] * diag[i];
            let pg = if alpha[i] == 0.0 { g.min(0.0) } else { g };
            max_pg = max_pg.max(pg);
            min_pg = min_pg.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - g / qd[i]).max(0.0);
                let step = (alpha[i] - old) * y;
                for (j, v) in s.x {
                    w[*j as usize] += step * v;
                }
                bias += step;
            }
        }
        if max_pg - min_pg < settings.tolerance {
            break;
        }
    }
    Linear { weights: w, bias }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separable_points_are_separated_and_training_is_repeatable() {
        // x0 marks positives, x1 negatives, x2 is noise on both.
        let xs: Vec<Sparse> = (0..40)
            .map(|i| {
                if i % 2 == 0 {
                    vec![(0, 1.0), (2, (i % 3) as f32 * 0.1)]
                } else {
                    vec![(1, 1.0), (2, (i % 5) as f32 * 0.1)]
                }
            })
            .collect();
        let samples: Vec<Sample> = xs
            .iter()
            .enumerate()
            .map(|(i, x)| Sample {
                x,
                positive: i % 2 == 0,
                weight: 1.0,
            })
            .collect();
        let model = train(&samples, 3, Settings::default());
        for s in &samples {
            assert_eq!(model.score(s.x) > 0.0, s.positive);
        }
        assert_eq!(model, train(&samples, 3, Settings::default()));
    }

    #[test]
    fn a_weighted_example_pulls_harder() {
        let a: Sparse = vec![(0, 1.0)];
        let b: Sparse = vec![(0, 1.0)];
        // The same point, labelled both ways: the heavier label wins.
        let samples = [
            Sample {
                x: &a,
                positive: true,
                weight: 1.0,
            },
            Sample {
                x: &b,
                positive: false,
                weight: 5.0,
            },
        ];
        let settings = Settings {
            balance: 0.0,
            ..Settings::default()
        };
        assert!(train(&samples, 1, settings).score(&a) < 0.0);
    }
}
