//! The member trusts of an ICS side by side: each trust's FFT figures for a period in total, by
//! locality, pathway and way of answering, and month by month as SPC charts, with the ICS's
//! totals of each. All of them are protected together (see [`crate::protection`]): whatever an
//! ICS analyst adds or subtracts, a hidden figure stays hidden.

use std::collections::{BTreeMap, BTreeSet};

use alongside_platform::error::Violations;
use alongside_platform::{add_months, Caller, OdsCode, ServiceError};
use alongside_proto::feedback::v1::{
    CompareTrustsRequest, ComparisonCell, FftBreakdownRow, FftMonth, SpcChart, TrustComparison,
    TrustSeries,
};

use crate::api::{check_period, fft_month, positive_chart};
use crate::fft::{answer_from_code, Counts};
use crate::rollup::Filter;
use crate::suppression::Suppression;

/// Most trusts compared at once: an ICS has a handful to a dozen or so.
pub const MAX_TRUSTS: usize = 50;
const DEFAULT_CHART_MONTHS: u32 = 24;
const MAX_MONTHS: u32 = 60;
/// What a trust's figures are also given by.
pub const DIMENSIONS: [&str; 3] = ["locality", "pathway", "source"];

/// A month's term for the ICS, and each trust's, in the request's order.
type MonthTerms = (String, usize, Vec<usize>);

/// Terms (figures that may be published) and the sums that hold between them.
#[derive(Default)]
struct Table {
    counts: Vec<Counts>,
    lines: Vec<Vec<usize>>,
}

impl Table {
    fn term(&mut self, counts: Counts) -> usize {
        self.counts.push(counts);
        self.counts.len() - 1
    }

    fn sum(&mut self, margin: usize, parts: impl IntoIterator<Item = usize>) {
        let mut line = vec![margin];
        line.extend(parts);
        self.lines.push(line);
    }
}

/// What may be shown of a figure: everything, or (hidden) only its number of responses.
fn row(value: String, c: &Counts, state: Suppression) -> FftBreakdownRow {
    let shown = state == Suppression::None;
    let show = |n: u64| shown.then_some(n);
    let interval = shown
        .then(|| crate::fft::wilson_95(c.very_good + c.good, c.total()))
        .flatten();
    FftBreakdownRow {
        value,
        total: c.total(),
        very_good: show(c.very_good),
        good: show(c.good),
        neither: show(c.neither),
        poor: show(c.poor),
        very_poor: show(c.very_poor),
        dont_know: show(c.dont_know),
        percent_positive: c.percent_positive().filter(|_| shown),
        percent_negative: c.percent_negative().filter(|_| shown),
        suppression: state.as_str().into(),
        positive_low_95: interval.map(|(low, _)| low * 100.0),
        positive_high_95: interval.map(|(_, high)| high * 100.0),
    }
}

/// Counts by the first element of each row, answers added up.
fn by_value(rows: Vec<(String, String, u64)>) -> BTreeMap<String, Counts> {
    let mut out: BTreeMap<String, Counts> = BTreeMap::new();
    for (value, answer, n) in rows {
        out.entry(value)
            .or_default()
            .add(answer_from_code(&answer), n);
    }
    out
}

fn check(request: &CompareTrustsRequest) -> Result<(Vec<OdsCode>, String), ServiceError> {
    let mut v = Violations::default();
    check_period(&mut v, &request.from_month, &request.to_month);
    v.check(
        !request.from_month.is_empty() && !request.to_month.is_empty(),
        "from_month",
        "give the period's first and last months",
    );
    v.check(
        request.from_month <= request.to_month,
        "to_month",
        "cannot be before the first month",
    );
    v.check(
        add_months(&request.from_month, MAX_MONTHS as i32 - 1)
            .is_none_or(|last| request.to_month <= last),
        "to_month",
        &format!("a period is at most {MAX_MONTHS} months"),
    );
    v.check(
        (1..=MAX_TRUSTS).contains(&request.trusts.len()),
        "trusts",
        &format!("name 1 to {MAX_TRUSTS} member trusts"),
    );
    let mut trusts = Vec::with_capacity(request.trusts.len());
    for code in &request.trusts {
        match OdsCode::parse(code.trim()) {
            Ok(code) if trusts.contains(&code) => {
                v.push("trusts", format!("{} is named twice", code.as_str()))
            }
            Ok(code) => trusts.push(code),
            Err(_) => v.push("trusts", format!("{code:?} is not an ODS code")),
        }
    }
    v.check(
        request.chart_months <= MAX_MONTHS,
        "chart_months",
        &format!("must be at most {MAX_MONTHS}"),
    );
    v.finish()?;
    let chart_months = match request.chart_months {
        0 => DEFAULT_CHART_MONTHS,
        n => n,
    } as i32;
    let chart_from = add_months(&request.to_month, 1 - chart_months)
        .ok_or_else(|| ServiceError::invalid("to_month", "must be a month in the form YYYY-MM"))?;
    Ok((trusts, chart_from.min(request.from_month.clone())))
}

pub(crate) async fn compare(
    db: &sea_orm::DatabaseConnection,
    _caller: &Caller,
    request: CompareTrustsRequest,
) -> Result<TrustComparison, ServiceError> {
    let (trusts, chart_from) = check(&request)?;
    let (from, to) = (request.from_month.as_str(), request.to_month.as_str());
    let in_period = |m: &str| m >= from && m <= to;
    let all = Filter::default();

    // Each trust's months (for the charts and its total) and its period by each dimension.
    let mut months_of = Vec::with_capacity(trusts.len());
    let mut cells_of: Vec<[BTreeMap<String, Counts>; 3]> = Vec::with_capacity(trusts.len());
    for trust in &trusts {
        let months =
            crate::rollup::counts(db, trust, &chart_from, to, &all, "month", false).await?;
        months_of.push(by_value(months));
        let mut cells: [BTreeMap<String, Counts>; 3] = Default::default();
        for (d, dim) in DIMENSIONS.iter().enumerate() {
            cells[d] =
                by_value(crate::rollup::counts(db, trust, from, to, &all, dim, false).await?);
        }
        cells_of.push(cells);
    }
    let months: BTreeSet<String> = months_of.iter().flat_map(|m| m.keys().cloned()).collect();
    let sum = |items: &mut dyn Iterator<Item = Counts>| {
        items.fold(Counts::default(), |mut acc, c| {
            acc.merge(&c);
            acc
        })
    };

    let mut t = Table::default();
    let totals: Vec<Counts> = months_of
        .iter()
        .map(|m| sum(&mut m.iter().filter(|(k, _)| in_period(k)).map(|(_, c)| *c)))
        .collect();
    let ics = t.term(sum(&mut totals.iter().copied()));
    let trust_terms: Vec<usize> = totals.iter().map(|c| t.term(*c)).collect();
    t.sum(ics, trust_terms.clone());

    // By dimension: a table of trusts × values, its margins the trusts' and the values' totals.
    let mut cell_terms: Vec<Vec<(String, usize, Vec<usize>)>> = Vec::new();
    for d in 0..DIMENSIONS.len() {
        let values: BTreeSet<String> = cells_of.iter().flat_map(|c| c[d].keys().cloned()).collect();
        let mut columns = Vec::new();
        let mut rows: Vec<Vec<usize>> = vec![Vec::new(); trusts.len()];
        for value in values {
            let parts: Vec<Counts> = cells_of
                .iter()
                .map(|c| c[d].get(&value).copied().unwrap_or_default())
                .collect();
            let column = t.term(sum(&mut parts.iter().copied()));
            let cells: Vec<usize> = parts.iter().map(|c| t.term(*c)).collect();
            for (i, &cell) in cells.iter().enumerate() {
                rows[i].push(cell);
            }
            t.sum(column, cells.clone());
            columns.push((value, column, cells));
        }
        for (i, row) in rows.into_iter().enumerate() {
            t.sum(trust_terms[i], row);
        }
        t.sum(ics, columns.iter().map(|(_, c, _)| *c).collect::<Vec<_>>());
        cell_terms.push(columns);
    }

    // Month by month: a table of trusts × months; the period's months add up to the totals.
    let mut month_terms: Vec<MonthTerms> = Vec::new();
    let mut trust_months: Vec<Vec<usize>> = vec![Vec::new(); trusts.len()];
    for month in &months {
        let parts: Vec<Counts> = months_of
            .iter()
            .map(|m| m.get(month).copied().unwrap_or_default())
            .collect();
        let column = t.term(sum(&mut parts.iter().copied()));
        let cells: Vec<usize> = parts.iter().map(|c| t.term(*c)).collect();
        t.sum(column, cells.clone());
        if in_period(month) {
            for (i, &cell) in cells.iter().enumerate() {
                trust_months[i].push(cell);
            }
        }
        month_terms.push((month.clone(), column, cells));
    }
    for (i, row) in trust_months.into_iter().enumerate() {
        t.sum(trust_terms[i], row);
    }
    let period_columns: Vec<usize> = month_terms
        .iter()
        .filter(|(m, _, _)| in_period(m))
        .map(|(_, c, _)| *c)
        .collect();
    t.sum(ics, period_columns);

    let totals_n: Vec<u64> = t.counts.iter().map(Counts::total).collect();
    let state = crate::protection::protect(&totals_n, &t.lines);
    let shown = |i: usize| row(String::new(), &t.counts[i], state[i]);

    let mut cells = Vec::new();
    for (d, columns) in cell_terms.iter().enumerate() {
        for (value, column, parts) in columns {
            let cell = |trust: &str, i: usize| ComparisonCell {
                by: DIMENSIONS[d].into(),
                value: value.clone(),
                trust: trust.into(),
                row: Some(row(value.clone(), &t.counts[i], state[i])),
            };
            cells.push(cell("", *column));
            for (trust, &i) in trusts.iter().zip(parts) {
                cells.push(cell(trust.as_str(), i));
            }
        }
    }
    let chart = |pick: &dyn Fn(&MonthTerms) -> usize| {
        let charted: Vec<FftMonth> = month_terms
            .iter()
            .map(|m| fft_month(m.0.clone(), &t.counts[pick(m)]))
            .collect();
        let hidden: BTreeSet<String> = month_terms
            .iter()
            .filter(|m| state[pick(m)] != Suppression::None)
            .map(|m| m.0.clone())
            .collect();
        positive_chart(&charted, None, &[]).map(|c| leave_out(c, &hidden))
    };
    let mut charts = vec![TrustSeries {
        trust: String::new(),
        positive_chart: Some(chart(&|m| m.1)?),
    }];
    for (i, trust) in trusts.iter().enumerate() {
        charts.push(TrustSeries {
            trust: trust.as_str().into(),
            positive_chart: Some(chart(&|m| m.2[i])?),
        });
    }
    Ok(TrustComparison {
        ics: Some(shown(ics)),
        trusts: trusts
            .iter()
            .zip(&trust_terms)
            .map(|(trust, &i)| row(trust.as_str().into(), &t.counts[i], state[i]))
            .collect(),
        charts,
        cells,
    })
}

/// The chart without the points of `hidden` months, saying so; the limits still count them.
fn leave_out(chart: SpcChart, hidden: &BTreeSet<String>) -> SpcChart {
    without(
        chart,
        |month| hidden.contains(month),
        "with few responses, or hidden so that such a month cannot be worked out,",
    )
}

/// The chart with the months of 1 to 4 responses left out, saying so; the limits still count
/// them, as they were computed before.
pub(crate) fn public_chart(months: &[FftMonth], chart: SpcChart) -> SpcChart {
    let few: BTreeSet<&str> = months
        .iter()
        .filter(|m| (1..=4).contains(&m.total))
        .map(|m| m.month.as_str())
        .collect();
    without(chart, |month| few.contains(month), "with 1 to 4 responses")
}

/// The chart without the points of the months `hidden` picks, with a warning of how many
/// months `which` were left out.
fn without(mut chart: SpcChart, hidden: impl Fn(&str) -> bool, which: &str) -> SpcChart {
    let before = chart.points.len();
    chart.points.retain(|p| !hidden(&p.period));
    let left_out = before - chart.points.len();
    if left_out > 0 {
        let one = left_out == 1;
        chart.warnings.push(format!(
            "{left_out} month{} {which} {} not drawn; the limits still count {}",
            if one { "" } else { "s" },
            if one { "is" } else { "are" },
            if one { "it" } else { "them" },
        ));
    }
    chart
}
