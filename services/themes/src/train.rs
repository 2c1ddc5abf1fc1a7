//! Training: a vocabulary from the comments, one classifier per category with its threshold
//! chosen by cross-validation (grouped by respondent), and a classifier per sentiment with
//! offsets chosen the same way.

use crate::dataset::{fold, Labelled};
use crate::framework::{Sentiment, CATEGORIES};
use crate::linear::{self, Linear, Sample};
use crate::model::Model;
use crate::text::{Sparse, Vocabulary};

#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub themes: linear::Settings,
    pub sentiment: linear::Settings,
    pub folds: u32,
    pub min_df_words: u32,
    pub min_df_chars: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            themes: linear::Settings::default(),
            sentiment: linear::Settings {
                c: 0.3,
                balance: 0.3,
                ..linear::Settings::default()
            },
            folds: 5,
            min_df_words: 2,
            min_df_chars: 3,
        }
    }
}

/// How far training has got: `done` of `total` classifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

/// Trains a model; `progress` hears after every classifier.
pub fn train(
    examples: &[Labelled],
    settings: &Settings,
    description: &str,
    progress: &mut dyn FnMut(Progress),
) -> Model {
    let vocab = Vocabulary::build(
        examples.iter().map(|e| e.text.as_str()),
        settings.min_df_words,
        settings.min_df_chars,
    );
    let dim = vocab.dim();
    let xs: Vec<Sparse> = examples
        .iter()
        .map(|e| vocab.vectorize(&e.input()))
        .collect();
    let folds: Vec<u32> = examples
        .iter()
        .map(|e| fold(&e.group, settings.folds))
        .collect();
    let rated: Vec<usize> = (0..examples.len())
        .filter(|i| examples[*i].sentiment.is_some())
        .collect();
    let k = settings.folds as usize;
    let total = (k + 1) * (CATEGORIES.len() + Sentiment::ALL.len());
    let mut done = 0;
    let mut tick = |progress: &mut dyn FnMut(Progress)| {
        done += 1;
        progress(Progress { done, total });
    };

    // Out-of-fold scores: each fold scored by classifiers that never saw it.
    let mut theme_scores = vec![vec![0.0f32; examples.len()]; CATEGORIES.len()];
    let mut sentiment_scores = vec![vec![0.0f32; examples.len()]; Sentiment::ALL.len()];
    for f in 0..settings.folds {
        for (c, scores) in theme_scores.iter_mut().enumerate() {
            let model = fit(
                examples,
                &xs,
                (0..examples.len()).filter(|i| folds[*i] != f),
                dim,
                settings.themes,
                |e| e.categories.contains(&c),
            );
            for i in (0..examples.len()).filter(|i| folds[*i] == f) {
                scores[i] = model.score(&xs[i]);
            }
            tick(progress);
        }
        for (s, scores) in sentiment_scores.iter_mut().enumerate() {
            let model = fit(
                examples,
                &xs,
                rated.iter().copied().filter(|i| folds[*i] != f),
                dim,
                settings.sentiment,
                |e| e.sentiment == Some(Sentiment::ALL[s]),
            );
            for &i in rated.iter().filter(|i| folds[**i] == f) {
                scores[i] = model.score(&xs[i]);
            }
            tick(progress);
        }
    }
    let thresholds: Vec<f32> = theme_scores
        .iter()
        .enumerate()
        .map(|(c, scores)| {
            let truth: Vec<bool> = examples.iter().map(|e| e.categories.contains(&c)).collect();
            best_threshold(scores, &truth)
        })
        .collect();
    let offsets = best_offsets(&sentiment_scores, &rated, examples);

    let mut themes = Vec::with_capacity(CATEGORIES.len());
    for (c, threshold) in thresholds.into_iter().enumerate() {
        let model = fit(
            examples,
            &xs,
            0..examples.len(),
            dim,
            settings.themes,
            |e| e.categories.contains(&c),
        );
        themes.push((model, threshold));
        tick(progress);
    }
    let mut sentiment = Vec::with_capacity(Sentiment::ALL.len());
    for (s, offset) in offsets.into_iter().enumerate() {
        let mut model = fit(
            examples,
            &xs,
            rated.iter().copied(),
            dim,
            settings.sentiment,
            |e| e.sentiment == Some(Sentiment::ALL[s]),
        );
        model.bias += offset;
        sentiment.push(model);
        tick(progress);
    }
    Model {
        vocab,
        themes,
        sentiment,
        description: description.to_string(),
    }
}

fn fit(
    examples: &[Labelled],
    xs: &[Sparse],
    rows: impl Iterator<Item = usize>,
    dim: usize,
    settings: linear::Settings,
    positive: impl Fn(&Labelled) -> bool,
) -> Linear {
    let samples: Vec<Sample> = rows
        .map(|i| Sample {
            x: &xs[i],
            positive: positive(&examples[i]),
            weight: examples[i].weight,
        })
        .collect();
    linear::train(&samples, dim, settings)
}

/// The score threshold with the best F1 on held-out scores; 0 when there are too few positives
/// to choose one.
pub fn best_threshold(scores: &[f32], truth: &[bool]) -> f32 {
    let positives = truth.iter().filter(|t| **t).count();
    if positives < 3 {
        return 0.0;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    let (mut tp, mut fp) = (0usize, 0usize);
    let (mut best_f1, mut best) = (-1.0f64, 0.0f32);
    for (rank, &i) in order.iter().enumerate() {
        if truth[i] {
            tp += 1;
        } else {
            fp += 1;
        }
        // Only between distinct scores can a threshold fall.
        let next = order.get(rank + 1).map(|j| scores[*j]);
        if next == Some(scores[i]) {
            continue;
        }
        let f1 = 2.0 * tp as f64 / (2 * tp + fp + (positives - tp)) as f64;
        if f1 > best_f1 {
            best_f1 = f1;
            best = match next {
                Some(n) => (scores[i] + n) / 2.0,
                None => scores[i] - 1.0,
            };
        }
    }
    best
}

/// Offsets added to each sentiment's score that give the best macro F1 on held-out scores,
/// by coordinate ascent over a grid.
fn best_offsets(scores: &[Vec<f32>], rated: &[usize], examples: &[Labelled]) -> Vec<f32> {
    let classes = scores.len();
    let truth: Vec<usize> = rated
        .iter()
        .map(|i| {
            let s = examples[*i].sentiment.expect("rated");
            Sentiment::ALL
                .iter()
                .position(|x| *x == s)
                .expect("a sentiment")
        })
        .collect();
    let macro_f1 = |offsets: &[f32]| {
        let mut confusion = vec![vec![0usize; classes]; classes];
        for (k, &i) in rated.iter().enumerate() {
            let predicted = (0..classes)
                .max_by(|a, b| {
                    (scores[*a][i] + offsets[*a]).total_cmp(&(scores[*b][i] + offsets[*b]))
                })
                .unwrap_or(0);
            confusion[truth[k]][predicted] += 1;
        }
        crate::evaluate::macro_f1_of(&confusion)
    };
    let mut offsets = vec![0.0f32; classes];
    let mut best = macro_f1(&offsets);
    for _ in 0..3 {
        for c in 0..classes {
            for step in -20..=20 {
                let mut trial = offsets.clone();
                trial[c] = step as f32 * 0.05;
                let f = macro_f1(&trial);
                if f > best + 1e-12 {
                    best = f;
                    offsets = trial;
                }
            }
        }
    }
    offsets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_falls_where_f1_is_best() {
        let scores = [2.0, 1.5, 1.0, 0.5, -0.5, -1.0];
        let truth = [true, true, false, true, false, false];
        // Taking the top four gives F1 6/7; the top two 0.8; the top one 0.5.
        assert!((best_threshold(&scores, &truth) - 0.0).abs() < 1e-6);
        assert_eq!(
            best_threshold(&scores, &[true, false, false, false, false, false]),
            0.0,
            "too few positives"
        );
    }
}
