//! The shipped model is what the code and the public data make, and its evaluation file tells
//! the truth about it.

use alongside_themes::{dataset, evaluate, Input, Question, Sentiment};

#[test]
fn the_shipped_model_is_retrained_bit_for_bit_from_the_public_data() {
    let mut last = None;
    let model = alongside_themes::train_shipped(&mut |p| last = Some(p));
    let last = last.expect("progress is reported");
    assert_eq!(last.done, last.total, "progress ends at the total");
    assert!(
        model.to_bytes() == alongside_themes::SHIPPED,
        "model/themes.bin is stale: run `make themes-model`"
    );
}

#[test]
fn the_evaluation_file_is_the_shipped_models_on_the_test_split() {
    let model = alongside_themes::shipped();
    let (_, test) = dataset::public_split();
    let report = evaluate::evaluate(model, &test);
    assert_eq!(
        alongside_themes::evaluation_markdown(model, &report),
        include_str!("../model/EVALUATION.md"),
        "model/EVALUATION.md is stale: run `make themes-model`"
    );
    // A floor, so a change that spoils the model cannot pass by rewriting the file.
    let (_, _, macro_f1) = report.macro_();
    assert!(report.micro().f1() > 0.70, "{}", report.micro().f1());
    assert!(macro_f1 > 0.50, "{macro_f1}");
    assert!(report.sentiment_macro_f1() > 0.50);
}

#[test]
fn plain_comments_get_the_themes_a_reader_would_give() {
    let model = alongside_themes::shipped();
    let classify = |text: &str, question: Question, rating: Option<u8>| {
        model.classify(&Input {
            text,
            question,
            rating,
        })
    };
    let kind = classify(
        "The nurses were so kind and caring, thank you all",
        Question::WorkedWell,
        Some(1),
    );
    assert!(
        kind.categories.iter().any(|c| c.code == "staff_manner"),
        "{kind:?}"
    );
    assert_eq!(kind.sentiment, Some(Sentiment::VeryPositive));
    let wait = classify(
        "Waited over four hours for the ambulance to arrive",
        Question::CouldImprove,
        Some(4),
    );
    assert!(
        wait.categories.iter().any(|c| c.code == "timeliness"),
        "{wait:?}"
    );
    assert!(wait.sentiment >= Some(Sentiment::Negative), "{wait:?}");
    let blank = classify("  ", Question::Unspecified, None);
    assert_eq!(blank.categories[0].code, "labelling_not_possible");
    assert_eq!(blank.sentiment, None);
}
