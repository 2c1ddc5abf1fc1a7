//! Precision, recall and F1 of a model on labelled comments, per category and overall, and of
//! its sentiment; written out as the Markdown report kept with the model.

use crate::dataset::Labelled;
use crate::framework::{Category, Sentiment, CATEGORIES, NOT_ASSIGNED};
use crate::model::Model;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Counts {
    pub fn support(&self) -> usize {
        self.tp + self.fn_
    }

    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }

    fn add(&mut self, truth: bool, predicted: bool) {
        match (truth, predicted) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => {}
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub comments: usize,
    /// Per category of [`CATEGORIES`], then "Not assigned".
    pub categories: Vec<(Category, Counts)>,
    /// Rows are the truth, columns the prediction, in [`Sentiment::ALL`] order.
    pub sentiment: Vec<Vec<usize>>,
    /// Comments whose predicted set is exactly right.
    pub exact: usize,
}

/// Evaluates `model` on `rows`.
pub fn evaluate(model: &Model, rows: &[Labelled]) -> Report {
    let mut counts = vec![Counts::default(); CATEGORIES.len() + 1];
    let mut sentiment = vec![vec![0; 5]; 5];
    let mut exact = 0;
    for row in rows {
        let got = model.classify(&row.input());
        let truth: Vec<&str> = if row.categories.is_empty() {
            vec![NOT_ASSIGNED.code]
        } else {
            row.categories.iter().map(|i| CATEGORIES[*i].code).collect()
        };
        let predicted: Vec<&str> = got.categories.iter().map(|c| c.code).collect();
        for (k, c) in CATEGORIES.iter().chain([&NOT_ASSIGNED]).enumerate() {
            counts[k].add(truth.contains(&c.code), predicted.contains(&c.code));
        }
        let (mut t, mut p) = (truth.clone(), predicted.clone());
        t.sort_unstable();
        p.sort_unstable();
        if t == p {
            exact += 1;
        }
        if let (Some(truth), Some(predicted)) = (row.sentiment, got.sentiment) {
            sentiment[truth.score() as usize - 1][predicted.score() as usize - 1] += 1;
        } else if let Some(truth) = row.sentiment {
            // Nothing predicted for a rated comment: counted against it as neutral.
            sentiment[truth.score() as usize - 1][Sentiment::Neutral.score() as usize - 1] += 1;
        }
    }
    Report {
        comments: rows.len(),
        categories: CATEGORIES
            .iter()
            .copied()
            .chain([NOT_ASSIGNED])
            .zip(counts)
            .collect(),
        sentiment,
        exact,
    }
}

/// Macro F1 of a confusion matrix (rows truth, columns prediction).
pub fn macro_f1_of(confusion: &[Vec<usize>]) -> f64 {
    let n = confusion.len();
    (0..n)
        .map(|c| {
            let tp = confusion[c][c];
            let fp: usize = (0..n).map(|r| confusion[r][c]).sum::<usize>() - tp;
            let fn_: usize = confusion[c].iter().sum::<usize>() - tp;
            ratio(2 * tp, 2 * tp + fp + fn_)
        })
        .sum::<f64>()
        / n as f64
}

impl Report {
    /// The 32 categories (not "Not assigned"), as pxtextmining reports them.
    fn themes(&self) -> &[(Category, Counts)] {
        &self.categories[..CATEGORIES.len()]
    }

    pub fn micro(&self) -> Counts {
        self.themes()
            .iter()
            .fold(Counts::default(), |a, (_, c)| Counts {
                tp: a.tp + c.tp,
                fp: a.fp + c.fp,
                fn_: a.fn_ + c.fn_,
            })
    }

    /// Micro average without "Labelling not possible", whose blank and "did not answer" comments
    /// are easy and common.
    pub fn micro_substantive(&self) -> Counts {
        self.themes()
            .iter()
            .filter(|(c, _)| c.code != "labelling_not_possible")
            .fold(Counts::default(), |a, (_, c)| Counts {
                tp: a.tp + c.tp,
                fp: a.fp + c.fp,
                fn_: a.fn_ + c.fn_,
            })
    }

    /// Mean of the per-category figures over categories with test examples.
    pub fn macro_(&self) -> (f64, f64, f64) {
        let with: Vec<&Counts> = self
            .themes()
            .iter()
            .map(|(_, c)| c)
            .filter(|c| c.support() > 0)
            .collect();
        let n = with.len().max(1) as f64;
        (
            with.iter().map(|c| c.precision()).sum::<f64>() / n,
            with.iter().map(|c| c.recall()).sum::<f64>() / n,
            with.iter().map(|c| c.f1()).sum::<f64>() / n,
        )
    }

    pub fn sentiment_accuracy(&self) -> f64 {
        let total: usize = self.sentiment.iter().flatten().sum();
        ratio((0..5).map(|i| self.sentiment[i][i]).sum(), total)
    }

    pub fn sentiment_macro_f1(&self) -> f64 {
        macro_f1_of(&self.sentiment)
    }

    /// The report kept next to the model.
    pub fn markdown(&self, title: &str, description: &str) -> String {
        let mut out = format!("# {title}\n\n{description}\n\n");
        let micro = self.micro();
        let substantive = self.micro_substantive();
        let (mp, mr, mf) = self.macro_();
        out.push_str(&format!(
            "Test split: {} comments. Exact set right: {:.3}.\n\n\
             | | precision | recall | F1 |\n| --- | ---: | ---: | ---: |\n\
             | micro average (32 categories) | {:.3} | {:.3} | {:.3} |\n\
             | micro average without \"Labelling not possible\" | {:.3} | {:.3} | {:.3} |\n\
             | macro average (32 categories with test examples) | {mp:.3} | {mr:.3} | {mf:.3} |\n\n",
            self.comments,
            ratio(self.exact, self.comments),
            micro.precision(),
            micro.recall(),
            micro.f1(),
            substantive.precision(),
            substantive.recall(),
            substantive.f1(),
        ));
        out.push_str("| category | major category | precision | recall | F1 | test examples |\n| --- | --- | ---: | ---: | ---: | ---: |\n");
        for (c, n) in &self.categories {
            out.push_str(&format!(
                "| {} | {} | {:.3} | {:.3} | {:.3} | {} |\n",
                c.name,
                c.major,
                n.precision(),
                n.recall(),
                n.f1(),
                n.support()
            ));
        }
        let total: usize = self.sentiment.iter().flatten().sum();
        out.push_str(&format!(
            "\n## Sentiment\n\n{total} test comments with a sentiment. Accuracy {:.3}, macro F1 {:.3}.\n\n\
             | sentiment | precision | recall | F1 | test examples |\n| --- | ---: | ---: | ---: | ---: |\n",
            self.sentiment_accuracy(),
            self.sentiment_macro_f1()
        ));
        for (i, s) in Sentiment::ALL.iter().enumerate() {
            let tp = self.sentiment[i][i];
            let predicted: usize = (0..5).map(|r| self.sentiment[r][i]).sum();
            let support: usize = self.sentiment[i].iter().sum();
            let c = Counts {
                tp,
                fp: predicted - tp,
                fn_: support - tp,
            };
            out.push_str(&format!(
                "| {} | {:.3} | {:.3} | {:.3} | {support} |\n",
                s.label(),
                c.precision(),
                c.recall(),
                c.f1()
            ));
        }
        out
    }
}
