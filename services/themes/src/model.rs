//! A trained model: its vocabulary, one classifier and threshold per category, one classifier
//! per sentiment; how it classifies a comment; and its file format.

use crate::framework::{Category, Sentiment, CATEGORIES, NOT_ASSIGNED};
use crate::linear::Linear;
use crate::text::{Input, Vocabulary};

#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub vocab: Vocabulary,
    /// In the order of [`CATEGORIES`]: a category applies when its score reaches its threshold.
    pub themes: Vec<(Linear, f32)>,
    /// In the order of [`Sentiment::ALL`]: the highest score wins.
    pub sentiment: Vec<Linear>,

    /// What it was trained on, in words.
    pub description: String,
}

/// What a model says of a comment.
#[derive(Clone, Debug, PartialEq)]
pub struct Classification {
    /// At least one: "Labelling not possible" alone, or the categories found, or "Not assigned".
    pub categories: Vec<Category>,
    /// None when there is nothing to read.
    pub sentiment: Option<Sentiment>,
}

const LABELLING_NOT_POSSIBLE: usize = 4;

impl Model {
    /// Scores of every category, less its threshold (≥ 0 applies).
    pub fn margins(&self, input: &Input) -> Vec<f32> {
        let x = self.vocab.vectorize(input);
        self.themes.iter().map(|(l, t)| l.score(&x) - t).collect()
    }

    pub fn classify(&self, input: &Input) -> Classification {
        let x = self.vocab.vectorize(input);
        let margins: Vec<f32> = self.themes.iter().map(|(l, t)| l.score(&x) - t).collect();
        if margins[LABELLING_NOT_POSSIBLE] >= 0.0 || crate::text::words(input.text).is_empty() {
            return Classification {
                categories: vec![CATEGORIES[LABELLING_NOT_POSSIBLE]],
                sentiment: None,
            };
        }
        let mut categories: Vec<Category> = margins
            .iter()
            .enumerate()
            .filter(|(_, m)| **m >= 0.0)
            .map(|(i, _)| CATEGORIES[i])
            .collect();
        if categories.is_empty() {
            categories.push(NOT_ASSIGNED);
        }
        let sentiment = self
            .sentiment
            .iter()
            .map(|l| l.score(&x))
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |best, (i, s)| {
                if s > best.1 {
                    (i, s)
                } else {
                    best
                }
            })
            .0;
        Classification {
            categories,
            sentiment: Some(Sentiment::ALL[sentiment]),
        }
    }

    /// The model as bytes: a header, the vocabulary, then every classifier's weights as
    /// bfloat16 (the top half of an f32: three significant digits, half the size).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        put_str(&mut out, &self.description);
        put_u32(&mut out, self.vocab.terms.len() as u32);
        for (term, idf) in self.vocab.terms.iter().zip(&self.vocab.idf) {
            put_str(&mut out, term);
            out.extend_from_slice(&idf.to_le_bytes());
        }
        put_u32(&mut out, self.themes.len() as u32);
        put_u32(&mut out, self.sentiment.len() as u32);
        for (linear, threshold) in &self.themes {
            out.extend_from_slice(&threshold.to_le_bytes());
            put_linear(&mut out, linear);
        }
        for linear in &self.sentiment {
            put_linear(&mut out, linear);
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(MAGIC.len())? != MAGIC {
            return Err("not an Alongside themes model".into());
        }
        let description = r.string()?;
        let n = r.u32()? as usize;
        let mut terms = Vec::with_capacity(n);
        let mut idf = Vec::with_capacity(n);
        for _ in 0..n {
            terms.push(r.string()?);
            idf.push(r.f32()?);
        }
        let vocab = Vocabulary::from_parts(terms, idf);
        let (themes_n, sentiment_n) = (r.u32()? as usize, r.u32()? as usize);
        if themes_n != CATEGORIES.len() || sentiment_n != Sentiment::ALL.len() {
            return Err(format!(
                "the model has {themes_n} categories and {sentiment_n} sentiments; this version reads {} and {}",
                CATEGORIES.len(),
                Sentiment::ALL.len()
            ));
        }
        let dim = vocab.dim();
        let mut themes = Vec::with_capacity(themes_n);
        for _ in 0..themes_n {
            let threshold = r.f32()?;
            themes.push((r.linear(dim)?, threshold));
        }
        let mut sentiment = Vec::with_capacity(sentiment_n);
        for _ in 0..sentiment_n {
            sentiment.push(r.linear(dim)?);
        }
        if r.at != bytes.len() {
            return Err("the model file has bytes after its end".into());
        }
        Ok(Self {
            vocab,
            themes,
            sentiment,
            description,
        })
    }

    /// The same model as it is after a round trip through its file (weights in bfloat16).
    pub fn quantized(&self) -> Self {
        let round = |l: &Linear| Linear {
            weights: l.weights.iter().map(|w| from_bf16(to_bf16(*w))).collect(),
            bias: from_bf16(to_bf16(l.bias)),
        };
        Self {
            vocab: self.vocab.clone(),
            themes: self.themes.iter().map(|(l, t)| (round(l), *t)).collect(),
            sentiment: self.sentiment.iter().map(round).collect(),
            description: self.description.clone(),
        }
    }
}

const MAGIC: &[u8] = b"ALONGSIDE-THEMES-1\n";

/// Round to nearest even, keeping the top 16 bits.
fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    let rounding = 0x7FFF + ((bits >> 16) & 1);
    (bits.wrapping_add(rounding) >> 16) as u16
}

fn from_bf16(x: u16) -> f32 {
    f32::from_bits(u32::from(x) << 16)
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s.as_bytes());
}

fn put_linear(out: &mut Vec<u8>, l: &Linear) {
    out.extend_from_slice(&to_bf16(l.bias).to_le_bytes());
    for w in &l.weights {
        out.extend_from_slice(&to_bf16(*w).to_le_bytes());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let end = end.ok_or("the model file is cut short")?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f32(&mut self) -> Result<f32, String> {
        Ok(f32::from_bits(self.u32()?))
    }

    fn string(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| "a term is not UTF-8".into())
    }

    fn linear(&mut self, dim: usize) -> Result<Linear, String> {
        let b = self.take(2)?;
        let bias = from_bf16(u16::from_le_bytes([b[0], b[1]]));
        let raw = self.take(dim * 2)?;
        let weights = raw
            .chunks_exact(2)
            .map(|c| from_bf16(u16::from_le_bytes([c[0], c[1]])))
            .collect();
        Ok(Linear { weights, bias })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bfloat16_keeps_three_significant_digits() {
        for x in [0.0f32, 1.0, -0.123_456, 7.25, 1e-6, -250.5] {
            let y = from_bf16(to_bf16(x));
            assert!((x - y).abs() <= x.abs() / 256.0, "{x} became {y}");
        }
    }
}
