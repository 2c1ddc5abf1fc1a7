//! From a comment to a sparse vector: words, word pairs and character n-grams weighted by
//! TF-IDF, and the question the comment answers and the FFT answer given with it.

use std::collections::HashMap;

use crate::framework::Question;

/// A comment with what came with it.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    pub text: &'a str,
    pub question: Question,
    /// The FFT answer given with the comment, 1 (very good) to 6 (don't know), if known.
    pub rating: Option<u8>,
}

/// Sorted by index, no repeats.
pub type Sparse = Vec<(u32, f32)>;

/// Fixed features after the vocabulary: question (3), rating (1..6, unknown), no words at all.
const META: usize = 3 + 7 + 1;

/// Lower-cased words: runs of letters and digits, apostrophes dropped ("don't" is "dont").
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            current.extend(ch.to_lowercase());
        } else if matches!(ch, '\'' | '\u{2019}' | '\u{2018}') && !current.is_empty() {
            // inside a word: skip it
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Every term of a comment with its count, by family.
fn terms(words: &[String]) -> [HashMap<String, u32>; 2] {
    let mut word_terms: HashMap<String, u32> = HashMap::new();
    let mut char_terms: HashMap<String, u32> = HashMap::new();
    for (i, w) in words.iter().enumerate() {
        *word_terms.entry(format!("w {w}")).or_default() += 1;
        if let Some(next) = words.get(i + 1) {
            *word_terms.entry(format!("b {w} {next}")).or_default() += 1;
        }
        let padded: Vec<char> = std::iter::once(' ')
            .chain(w.chars())
            .chain(std::iter::once(' '))
            .collect();
        for n in 3..=5 {
            for gram in padded.windows(n) {
                let mut key = String::with_capacity(n + 2);
                key.push_str("c ");
                key.extend(gram);
                *char_terms.entry(key).or_default() += 1;
            }
        }
    }
    [word_terms, char_terms]
}

/// The terms kept from the training comments, with their inverse document frequencies.
#[derive(Clone, Debug, PartialEq)]
pub struct Vocabulary {
    pub(crate) index: HashMap<String, u32>,
    pub(crate) terms: Vec<String>,
    pub(crate) idf: Vec<f32>,
}

impl Vocabulary {
    /// Keeps words and pairs seen in at least `min_df_words` comments and character n-grams in
    /// at least `min_df_chars`. Terms are ordered, so the same comments give the same vocabulary.
    pub fn build<'a>(
        texts: impl IntoIterator<Item = &'a str>,
        min_df_words: u32,
        min_df_chars: u32,
    ) -> Self {
        let mut df: HashMap<String, u32> = HashMap::new();
        let mut n = 0u32;
        for text in texts {
            n += 1;
            for family in terms(&words(text)) {
                for term in family.into_keys() {
                    *df.entry(term).or_default() += 1;
                }
            }
        }
        let mut kept: Vec<(String, u32)> = df
            .into_iter()
            .filter(|(t, d)| {
                *d >= if t.starts_with('c') {
                    min_df_chars
                } else {
                    min_df_words
                }
            })
            .collect();
        kept.sort();
        let idf = kept
            .iter()
            .map(|(_, d)| (((1 + n) as f32) / ((1 + d) as f32)).ln() + 1.0)
            .collect();
        let terms: Vec<String> = kept.into_iter().map(|(t, _)| t).collect();
        Self::from_parts(terms, idf)
    }

    pub(crate) fn from_parts(terms: Vec<String>, idf: Vec<f32>) -> Self {
        let index = terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Self { index, terms, idf }
    }

    /// Dimensions of a vector: the terms, then the fixed features.
    pub fn dim(&self) -> usize {
        self.terms.len() + META
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The comment as a vector: per family, (1 + ln tf) × idf, L2-normalised.
    pub fn vectorize(&self, input: &Input) -> Sparse {
        let words = words(input.text);
        let mut out: Sparse = Vec::new();
        // Each family is normalised on its own, so a long comment's many character n-grams do
        // not drown its words.
        for counts in terms(&words) {
            let mut part: Sparse = counts
                .into_iter()
                .filter_map(|(term, tf)| {
                    let i = *self.index.get(&term)?;
                    Some((i, (1.0 + (tf as f32).ln()) * self.idf[i as usize]))
                })
                .collect();
            // In index order, so the norm's sum (and so the model) is the same every run.
            part.sort_by_key(|(i, _)| *i);
            let norm = part.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                part.iter_mut().for_each(|(_, v)| *v /= norm);
            }
            out.extend(part);
        }
        let base = self.terms.len() as u32;
        let question = match input.question {
            Question::WorkedWell => 0,
            Question::CouldImprove => 1,
            Question::Unspecified => 2,
        };
        out.push((base + question, 1.0));
        let rating = match input.rating {
            Some(r @ 1..=6) => u32::from(r) - 1,
            _ => 6,
        };
        out.push((base + 3 + rating, 1.0));
        if words.is_empty() {
            out.push((base + 10, 1.0));
        }
        out.sort_by_key(|(i, _)| *i);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowercased_and_apostrophes_kept_inside() {
        assert_eq!(
            words("Didn't wait LONG – 10/10, staff’s care!"),
            ["didnt", "wait", "long", "10", "10", "staffs", "care"]
        );
        assert!(words("  …  ").is_empty());
    }

    #[test]
    fn vectors_are_normalised_per_family_and_know_their_question() {
        let vocab = Vocabulary::build(["kind staff", "kind nurse", "staff kind"], 2, 2);
        assert!(vocab.index.contains_key("w kind"));
        assert!(!vocab.index.contains_key("w nurse"), "seen once");
        let v = vocab.vectorize(&Input {
            text: "Kind staff",
            question: Question::CouldImprove,
            rating: Some(2),
        });
        let base = vocab.len() as u32;
        let terms: f32 = v
            .iter()
            .filter(|(i, _)| *i < base)
            .map(|(_, x)| x * x)
            .sum();
        assert!(
            (terms - 2.0).abs() < 1e-5,
            "two families, each of unit length"
        );
        assert!(v.contains(&(base + 1, 1.0)), "could improve");
        assert!(v.contains(&(base + 3 + 1, 1.0)), "rating 2");
        assert!(v.windows(2).all(|w| w[0].0 < w[1].0), "sorted");
        let empty = vocab.vectorize(&Input {
            text: "",
            question: Question::WorkedWell,
            rating: None,
        });
        assert_eq!(empty, [(base, 1.0), (base + 9, 1.0), (base + 10, 1.0)]);
    }
}
