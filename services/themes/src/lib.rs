//! Free-text themes and sentiment of patient feedback, in NHS England's qualitative framework
//! (version 7, as pxtextmining uses it): which of 32 sub-categories a comment speaks of, and how
//! it feels on a 5-point scale. A linear model over words, word pairs and character n-grams,
//! trained on the public labelled set in `data/` with the split its README defines; the model
//! shipped is `model/themes.bin` and its evaluation `model/EVALUATION.md`, both written by
//! `train-themes`.
//!
//! Comments can hold names: nothing here logs or prints comment text.

pub mod dataset;
pub mod evaluate;
pub mod framework;
pub mod linear;
pub mod model;
pub mod text;
pub mod train;

pub use framework::{Category, Question, Sentiment, CATEGORIES, MAJORS, NOT_ASSIGNED};
pub use model::{Classification, Model};
pub use text::Input;

/// The shipped model's file.
pub const SHIPPED: &[u8] = include_bytes!("../model/themes.bin");

/// The shipped model, read once.
pub fn shipped() -> &'static Model {
    static MODEL: std::sync::OnceLock<Model> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| Model::from_bytes(SHIPPED).expect("the shipped model reads"))
}

/// How the shipped model is described, and trained: the public training split, default settings.
pub const SHIPPED_DESCRIPTION: &str = "Trained on the 6,290 comments of the public pxtextmining v6 set's training split (v6 labels merged onto v7), with default settings.";

/// Trains the shipped model from the public data (what `train-themes` writes).
pub fn train_shipped(progress: &mut dyn FnMut(train::Progress)) -> Model {
    let (train_rows, _) = dataset::public_split();
    train::train(
        &train_rows,
        &train::Settings::default(),
        SHIPPED_DESCRIPTION,
        progress,
    )
    .quantized()
}

/// pxtextmining's own figures, for comparison (from its repository's model summaries).
pub const PUBLISHED: &str = "
## Compared with pxtextmining's published models

| model | categories | micro F1 | macro F1 | sentiment accuracy | sentiment macro F1 |
| --- | --- | ---: | ---: | ---: | ---: |
| DistilBERT, final (`current_best_model/final_bert/bert_summary.txt`) | 32 (v7) | 0.75 | 0.67 | | |
| SVC, final (`current_best_model/final_svc/final_svc_summary.txt`) | 32 (v7) | 0.71 | 0.64 | | |
| SVC, v6 framework (`current_best_model/v6_framework/svc.txt`) | 45 (v6) | 0.70 | 0.58 | | |
| DistilBERT sentiment (`current_best_model/sentiment/bert_sentiment.txt`) | | | | 0.70 | 0.65 |

Not like for like: pxtextmining trained and tested on its full data (six trusts, v7 labels from a
file it never published) with a random split, where this model has only the two trusts of the
public v6 file, v6 labels merged onto v7, and a split by respondent. Their sentiment model also
saw the question, as this one does; this one also sees the FFT answer given with the comment.
";

/// The evaluation kept next to the model: its figures on the test split, then pxtextmining's.
pub fn evaluation_markdown(model: &Model, report: &evaluate::Report) -> String {
    format!(
        "{}{PUBLISHED}",
        report.markdown(
            "Themes model: evaluation on the test split",
            &model.description
        )
    )
}
