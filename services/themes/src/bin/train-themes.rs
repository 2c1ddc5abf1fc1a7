//! Trains the shipped themes model on the public training split and evaluates it on the test
//! split: `cargo run --release -p alongside-themes --bin train-themes -- OUT_DIR` writes
//! OUT_DIR/themes.bin and OUT_DIR/EVALUATION.md.
//!
//! `train-themes --tune` instead compares settings without touching the test split: each is
//! trained on four fifths of the training split and scored on the last fifth (by respondent).

use alongside_themes::{dataset, evaluate, train};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--tune") {
        tune();
        return;
    }
    let out = args
        .first()
        .cloned()
        .unwrap_or_else(|| "services/themes/model".into());
    let started = std::time::Instant::now();
    let mut shown = 0;
    let model = alongside_themes::train_shipped(&mut |p| {
        let tenth = p.done * 10 / p.total;
        if tenth > shown {
            shown = tenth;
            eprintln!("training: {}/{} classifiers", p.done, p.total);
        }
    });
    eprintln!("trained in {:.1} s", started.elapsed().as_secs_f64());
    let (_, test) = dataset::public_split();
    let report = evaluate::evaluate(&model, &test);
    let bytes = model.to_bytes();
    let markdown = alongside_themes::evaluation_markdown(&model, &report);
    std::fs::create_dir_all(&out).expect("the output folder can be made");
    std::fs::write(format!("{out}/themes.bin"), &bytes).expect("the model is written");
    std::fs::write(format!("{out}/EVALUATION.md"), &markdown).expect("the report is written");
    println!(
        "{} terms, {} bytes; {}",
        model.vocab.len(),
        bytes.len(),
        summary(&report)
    );
}

fn summary(report: &evaluate::Report) -> String {
    let (_, _, macro_f1) = report.macro_();
    format!(
        "micro F1 {:.3}, macro F1 {:.3}, exact {:.3}; sentiment accuracy {:.3}, macro F1 {:.3}",
        report.micro().f1(),
        macro_f1,
        report.exact as f64 / report.comments.max(1) as f64,
        report.sentiment_accuracy(),
        report.sentiment_macro_f1()
    )
}

fn tune() {
    let (train_rows, _) = dataset::public_split();
    let (fit, check): (Vec<_>, Vec<_>) = train_rows
        .into_iter()
        .partition(|r| dataset::fold(&format!("tune:{}", r.group), 5) != 0);
    let base = train::Settings::default();
    let grid: Vec<(String, train::Settings)> = std::env::var("TUNE")
        .unwrap_or_else(|_| "c=0.5".into())
        .split(';')
        .map(|spec| {
            let mut s = base;
            for kv in spec.split(',') {
                let (k, v) = kv.split_once('=').expect("key=value");
                let v: f32 = v.parse().expect("a number");
                match k {
                    "c" => s.themes.c = v,
                    "balance" => s.themes.balance = v,
                    "sc" => s.sentiment.c = v,
                    "sbalance" => s.sentiment.balance = v,
                    "words" => s.min_df_words = v as u32,
                    "chars" => s.min_df_chars = v as u32,
                    _ => panic!("unknown setting {k}"),
                }
            }
            (spec.to_string(), s)
        })
        .collect();
    for (name, settings) in grid {
        let model = train::train(&fit, &settings, "", &mut |_| {});
        let report = evaluate::evaluate(&model, &check);
        println!(
            "{name:40} {} terms  {}",
            model.vocab.len(),
            summary(&report)
        );
    }
}
