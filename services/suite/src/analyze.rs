//! `alongside analyze`: the analyst's command line for ad hoc work and reproducible checks. CSV
//! in, JSON on stdout; bad input gets a message naming the row and field, and a non-zero exit.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use alongside_feedback::fft::Counts;
use alongside_feedback::spc::{self, Direction};
use alongside_feedback::suppression::{self, Unit};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

#[derive(Subcommand)]
pub enum Analysis {
    /// An XmR chart (Making Data Count) with NHSRplotthedots' defaults. Input columns:
    /// period,value, in time order.
    Spc(SpcArgs),
    /// Friends and Family Test figures of a hierarchy of units with NHS England's small-number
    /// suppression. Input columns: unit,parent,very_good,good,neither,poor,very_poor,dont_know.
    Fft(FileArg),
    /// Free-text themes (NHS England's framework, v7) and 5-point sentiment of comments. Input
    /// columns: comment, and optionally id, question (worked_well, could_improve or unspecified)
    /// and answer (the FFT answer given with it: 1 to 6 or its words).
    Themes(FileArg),
}

#[derive(Args)]
pub struct FileArg {
    #[arg(long)]
    input: PathBuf,
}

#[derive(Args)]
pub struct SpcArgs {
    #[arg(long)]
    input: PathBuf,
    /// Which way is better: increase, decrease or neutral.
    #[arg(long, default_value = "increase")]
    improvement: String,
    /// The target to assure against; may be negative (a change score, say).
    #[arg(long, allow_negative_numbers = true)]
    target: Option<f64>,
    /// Periods (as in the input) from which the limits are worked out again, comma-separated.
    #[arg(long, value_delimiter = ',')]
    rebase: Vec<String>,
    /// Limits from the first N points of each group (at least 12).
    #[arg(long)]
    fix_after: Option<usize>,
    /// Keep moving ranges of 3.267 × their mean or more (NHSRplotthedots leaves them out).
    #[arg(long)]
    no_screen_outliers: bool,
    #[arg(long, default_value_t = 7)]
    shift_run: usize,
    #[arg(long, default_value_t = 7)]
    trend_run: usize,
}

/// Runs the analysis: the JSON to print, or the message for the user.
pub fn run(analysis: &Analysis) -> Result<Value, String> {
    match analysis {
        Analysis::Spc(args) => spc_chart(args),
        Analysis::Fft(args) => fft_units(&args.input),
        Analysis::Themes(args) => themes(&args.input),
    }
}

fn read(path: &Path, columns: &[&str]) -> Result<Vec<(usize, csv::StringRecord)>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let header = reader
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let positions: Vec<usize> = columns
        .iter()
        .map(|c| {
            header
                .iter()
                .position(|h| h.eq_ignore_ascii_case(c))
                .ok_or_else(|| {
                    format!(
                        "{}: no column {c:?} (the columns must be {})",
                        path.display(),
                        columns.join(",")
                    )
                })
        })
        .collect::<Result<_, _>>()?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        // Line numbers as a spreadsheet shows them: the header is line 1.
        let line = i + 2;
        let record = record.map_err(|e| format!("{}, line {line}: {e}", path.display()))?;
        let picked: csv::StringRecord = positions
            .iter()
            .map(|&p| record.get(p).unwrap_or(""))
            .collect();
        rows.push((line, picked));
    }
    Ok(rows)
}

fn spc_chart(args: &SpcArgs) -> Result<Value, String> {
    let improvement = Direction::parse(&args.improvement)
        .ok_or("--improvement must be increase, decrease or neutral")?;
    let rows = read(&args.input, &["period", "value"])?;
    let mut periods: Vec<String> = Vec::new();
    let mut values = Vec::new();
    for (line, row) in &rows {
        let period = row.get(0).unwrap_or("").to_string();
        if period.is_empty() {
            return Err(format!("line {line}: period is empty"));
        }
        if periods.contains(&period) {
            return Err(format!("line {line}: period {period:?} appears twice"));
        }
        let raw = row.get(1).unwrap_or("");
        let value: f64 = raw
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| format!("line {line}: value {raw:?} is not a number"))?;
        periods.push(period);
        values.push(value);
    }
    let mut rebase_at = Vec::new();
    for period in &args.rebase {
        match periods.iter().position(|p| p == period) {
            Some(i) => rebase_at.push(i),
            None => return Err(format!("--rebase: period {period:?} is not in the input")),
        }
    }
    let options = spc::Options {
        improvement,
        target: args.target,
        rebase_at,
        fix_after: args.fix_after,
        screen_outliers: !args.no_screen_outliers,
        shift_run: args.shift_run,
        trend_run: args.trend_run,
    };
    if let Some((option, problem)) = spc::check(&options, values.len()).first() {
        return Err(format!("--{}: {problem}", option.replace('_', "-")));
    }
    let chart = spc::xmr(&values, &options);
    let finite = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
    Ok(json!({
        "points": chart.points.iter().zip(&periods).map(|(p, period)| json!({
            "period": period,
            "value": p.value,
            "mean": finite(p.mean),
            "lpl": p.lpl.map_or(Value::Null, finite),
            "upl": p.upl.map_or(Value::Null, finite),
            "type": p.point_type.as_str(),
        })).collect::<Vec<_>>(),
        "assurance": chart.assurance.as_str(),
        "warnings": chart.warnings,
    }))
}

fn fft_units(path: &Path) -> Result<Value, String> {
    let columns = [
        "unit",
        "parent",
        "very_good",
        "good",
        "neither",
        "poor",
        "very_poor",
        "dont_know",
    ];
    let rows = read(path, &columns)?;
    let mut units = Vec::new();
    let mut seen = BTreeSet::new();
    for (line, row) in &rows {
        let unit = row.get(0).unwrap_or("").to_string();
        if unit.is_empty() {
            return Err(format!("line {line}: unit is empty"));
        }
        if !seen.insert(unit.clone()) {
            return Err(format!("line {line}: unit {unit:?} appears twice"));
        }
        let count = |i: usize| -> Result<u64, String> {
            let raw = row.get(i).unwrap_or("");
            raw.parse().map_err(|_| {
                format!(
                    "line {line}: {} {raw:?} is not a whole number of responses",
                    columns[i]
                )
            })
        };
        let counts = Counts {
            very_good: count(2)?,
            good: count(3)?,
            neither: count(4)?,
            poor: count(5)?,
            very_poor: count(6)?,
            dont_know: count(7)?,
        };
        units.push(Unit {
            id: unit,
            parent: row.get(1).unwrap_or("").to_string(),
            counts,
        });
    }
    let published = suppression::suppress(&units).map_err(|e| e.to_string())?;
    Ok(Value::Array(
        published
            .iter()
            .map(|p| {
                json!({
                    "unit": p.id,
                    "parent": p.parent,
                    "total": p.total,
                    "pct_positive": p.positive,
                    "pct_negative": p.negative,
                    "counts": p.counts.map(|c| json!({
                        "very_good": c.very_good, "good": c.good, "neither": c.neither,
                        "poor": c.poor, "very_poor": c.very_poor, "dont_know": c.dont_know,
                    })),
                    "suppression": p.suppression.as_str(),
                })
            })
            .collect(),
    ))
}

fn themes(path: &Path) -> Result<Value, String> {
    use alongside_themes::{Input, Question};
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::Headers)
        .from_path(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let header = reader
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let position = |c: &str| header.iter().position(|h| h.eq_ignore_ascii_case(c));
    let comment = position("comment").ok_or_else(|| {
        format!(
            "{}: no column \"comment\" (columns: comment, and optionally id, question, answer)",
            path.display()
        )
    })?;
    let (id, question, answer) = (position("id"), position("question"), position("answer"));
    let model = alongside_themes::shipped();
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| format!("{}, line {line}: {e}", path.display()))?;
        let cell = |p: Option<usize>| p.and_then(|p| record.get(p)).unwrap_or("").trim();
        let row_id = match cell(id) {
            "" => (line - 1).to_string(),
            given => given.to_string(),
        };
        if !seen.insert(row_id.clone()) {
            return Err(format!("line {line}: id {row_id:?} appears twice"));
        }
        let question = match cell(question) {
            "" => Question::Unspecified,
            given => Question::parse(given).ok_or_else(|| {
                format!("line {line}: question {given:?} must be worked_well, could_improve or unspecified")
            })?,
        };
        let rating = match cell(answer) {
            "" => None,
            given => Some(
                alongside_proto::feedback::v1::FftAnswer::parse(given).ok_or_else(|| {
                    format!("line {line}: answer {given:?} is not an FFT answer (1 to 6, or Very good … Don't know)")
                })? as u8,
            ),
        };
        let text = record.get(comment).unwrap_or("");
        let got = model.classify(&Input {
            text,
            question,
            rating,
        });
        out.push(json!({
            "id": row_id,
            "categories": got.categories.iter().map(|c| json!({
                "code": c.code, "name": c.name, "major": c.major,
            })).collect::<Vec<_>>(),
            "sentiment": got.sentiment.map(|s| json!({
                "score": s.score(), "code": s.code(), "label": s.label(),
            })),
        }));
    }
    Ok(Value::Array(out))
}
