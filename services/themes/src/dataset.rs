//! The labelled comments of pxtextmining's public v6 set, mapped onto v7, and its split.

use sha2::{Digest, Sha256};

use crate::framework::{self, Question, Sentiment};

/// One labelled comment.
#[derive(Clone, Debug, PartialEq)]
pub struct Labelled {
    pub text: String,
    pub question: Question,
    pub rating: Option<u8>,
    /// Positions in [`framework::CATEGORIES`]; empty for "Not assigned".
    pub categories: Vec<usize>,
    pub sentiment: Option<Sentiment>,
    /// Whose comment it is: a respondent's comments stay on one side of every split.
    pub group: String,
    /// How much the example counts in training.
    pub weight: f32,
}

impl Labelled {
    pub fn input(&self) -> crate::text::Input<'_> {
        crate::text::Input {
            text: &self.text,
            question: self.question,
            rating: self.rating,
        }
    }
}

/// The public data file, compiled in so tests and retraining need nothing on disk.
pub const PUBLIC_V6: &[u8] = include_bytes!("../data/v6framework_230831.csv");

/// SHA-256 of a respondent id as the data's README defines the split: the first 32 bits.
fn bucket(group: &str, salt: &str) -> u32 {
    let digest = Sha256::digest(format!("{salt}{group}").as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The data's own split: a fifth of the respondents are the test set.
pub fn is_test(group: &str) -> bool {
    bucket(group, "").is_multiple_of(5)
}

/// A fold for cross-validation inside the training set (by respondent, independent of the
/// test split).
pub fn fold(group: &str, folds: u32) -> u32 {
    bucket(group, "fold:") % folds
}

/// Reads the pxtextmining file (or one with its columns).
pub fn read_v6(bytes: &[u8]) -> Result<Vec<Labelled>, String> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("header: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("no {name:?} column"))
    };
    let (respondent, question, rating, answer, sentiment) = (
        col("Respondent ID")?,
        col("FFT question")?,
        col("FFT categorical answer")?,
        col("FFT answer")?,
        col("Comment sentiment")?,
    );
    let labels: Vec<(usize, Option<usize>)> = header
        .iter()
        .enumerate()
        .skip(sentiment + 1)
        .map(|(i, name)| (i, framework::v6_to_v7(name).and_then(framework::index_of)))
        .collect();
    let mut out = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("row {}: {e}", line + 2))?;
        let cell = |i: usize| record.get(i).unwrap_or("");
        let mut categories: Vec<usize> = labels
            .iter()
            .filter(|(i, _)| !matches!(cell(*i).trim(), "" | "0"))
            .filter_map(|(_, v7)| *v7)
            .collect();
        categories.sort_unstable();
        categories.dedup();
        out.push(Labelled {
            text: cell(answer).to_string(),
            question: Question::of_fft_question(cell(question)),
            rating: cell(rating)
                .trim()
                .parse()
                .ok()
                .filter(|r| (1..=6).contains(r)),
            categories,
            sentiment: cell(sentiment)
                .trim()
                .parse::<f32>()
                .ok()
                .and_then(|s| Sentiment::from_score(s as u8)),
            group: cell(respondent).to_string(),
            weight: 1.0,
        });
    }
    Ok(out)
}

/// The public set split as its README defines: (train, test).
pub fn public_split() -> (Vec<Labelled>, Vec<Labelled>) {
    let rows = read_v6(PUBLIC_V6).expect("the public data file is well formed");
    rows.into_iter().partition(|r| !is_test(&r.group))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_is_the_one_the_data_readme_gives() {
        let (train, test) = public_split();
        assert_eq!((train.len(), test.len()), (6_290, 1_618));
        let with_sentiment =
            |rows: &[Labelled]| rows.iter().filter(|r| r.sentiment.is_some()).count();
        assert_eq!(
            (with_sentiment(&train), with_sentiment(&test)),
            (4_934, 1_245)
        );
        let groups = |rows: &[Labelled]| {
            rows.iter()
                .map(|r| r.group.clone())
                .collect::<std::collections::HashSet<_>>()
        };
        assert!(
            groups(&train).is_disjoint(&groups(&test)),
            "no respondent on both sides"
        );
        assert_eq!(groups(&train).len(), 3_578);
    }

    #[test]
    fn v6_labels_are_merged_onto_v7() {
        let (train, test) = public_split();
        let count = |code: &str| {
            let i = framework::index_of(code).unwrap();
            (
                train.iter().filter(|r| r.categories.contains(&i)).count(),
                test.iter().filter(|r| r.categories.contains(&i)).count(),
            )
        };
        // Straight from the README's table.
        assert_eq!(count("labelling_not_possible"), (1_319, 366));
        assert_eq!(count("staff_manner"), (1_127, 291));
        // Number & deployment (119 / 36) or responsiveness (102 / 24), counted once.
        let (a, b) = count("staffing_levels");
        assert!(
            (119..=221).contains(&a) && (36..=60).contains(&b),
            "{a} {b}"
        );
    }
}
