//! The member trusts of an ICS side by side: each trust's FFT figures for a period in total, by
//! locality, pathway and way of answering, and month by month as SPC charts, with the ICS's
//! totals of each. Each month's figures — the ICS, each trust, and each by every locality,
//! pathway and way of answering — are protected together (see [`crate::protection`]), the same
//! whatever period is asked for; a period's figure is hidden when any of its months is. So
//! every published figure is a sum of shown monthly figures, and whatever an ICS analyst adds
//! or subtracts, across views and periods, a hidden figure stays hidden.

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

/// Terms (figures that may be published) and the sums that hold between them.
#[derive(Default)]
pub(crate) struct Table {
    pub(crate) counts: Vec<Counts>,
    pub(crate) lines: Vec<Vec<usize>>,
}

impl Table {
    pub(crate) fn term(&mut self, counts: Counts) -> usize {
        self.counts.push(counts);
        self.counts.len() - 1
    }

    pub(crate) fn sum(&mut self, margin: usize, parts: impl IntoIterator<Item = usize>) {
        let mut line = vec![margin];
        line.extend(parts);
        self.lines.push(line);
    }
}

/// What may be shown of a figure: everything, or (hidden) only its number of responses.
pub(crate) fn row(value: String, c: &Counts, state: Suppression) -> FftBreakdownRow {
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

/// A figure and what may be shown of it.
#[derive(Clone, Copy)]
pub(crate) struct Held {
    pub(crate) counts: Counts,
    pub(crate) state: Suppression,
}

impl Default for Held {
    fn default() -> Self {
        Self {
            counts: Counts::default(),
            state: Suppression::None,
        }
    }
}

/// One month's figures, protected together: the ICS, each trust, and by each dimension each
/// value's column (the ICS) and its cells (each trust, in the request's order).
struct MonthFigures {
    ics: Held,
    trusts: Vec<Held>,
    by: [BTreeMap<String, (Held, Vec<Held>)>; 3],
}

/// Protects one month's figures of the trusts: the ICS and each trust, and each by every
/// locality, pathway and way of answering — the same whatever period is asked for, so that no
/// two views protect a month differently.
fn protect_month(parts: &[Counts], cells: &[[BTreeMap<String, Counts>; 3]]) -> MonthFigures {
    let sum = |items: &mut dyn Iterator<Item = Counts>| {
        items.fold(Counts::default(), |mut acc, c| {
            acc.merge(&c);
            acc
        })
    };
    let mut t = Table::default();
    let ics = t.term(sum(&mut parts.iter().copied()));
    let trust_terms: Vec<usize> = parts.iter().map(|c| t.term(*c)).collect();
    t.sum(ics, trust_terms.clone());
    let mut by_terms: Vec<Vec<(String, usize, Vec<usize>)>> = Vec::new();
    for d in 0..DIMENSIONS.len() {
        let values: BTreeSet<String> = cells.iter().flat_map(|c| c[d].keys().cloned()).collect();
        let mut columns = Vec::new();
        let mut rows: Vec<Vec<usize>> = vec![Vec::new(); parts.len()];
        for value in values {
            let of_value: Vec<Counts> = cells
                .iter()
                .map(|c| c[d].get(&value).copied().unwrap_or_default())
                .collect();
            let column = t.term(sum(&mut of_value.iter().copied()));
            let terms: Vec<usize> = of_value.iter().map(|c| t.term(*c)).collect();
            for (i, &cell) in terms.iter().enumerate() {
                rows[i].push(cell);
            }
            t.sum(column, terms.clone());
            columns.push((value, column, terms));
        }
        for (i, row) in rows.into_iter().enumerate() {
            t.sum(trust_terms[i], row);
        }
        t.sum(ics, columns.iter().map(|(_, c, _)| *c).collect::<Vec<_>>());
        by_terms.push(columns);
    }
    let totals: Vec<u64> = t.counts.iter().map(Counts::total).collect();
    let state = crate::protection::protect(&totals, &t.lines);
    let held = |i: usize| Held {
        counts: t.counts[i],
        state: state[i],
    };
    let mut by: [BTreeMap<String, (Held, Vec<Held>)>; 3] = Default::default();
    for (d, columns) in by_terms.into_iter().enumerate() {
        for (value, column, terms) in columns {
            by[d].insert(value, (held(column), terms.into_iter().map(held).collect()));
        }
    }
    MonthFigures {
        ics: held(ics),
        trusts: trust_terms.into_iter().map(held).collect(),
        by,
    }
}

/// A period's figure from its months': hidden when any month of it is (so that it adds nothing
/// to what the months published give), primary when it has 1 to 4 responses itself.
pub(crate) fn over_period<'a>(months: impl Iterator<Item = &'a Held>) -> Held {
    let mut out = Held::default();
    let mut hidden = false;
    for m in months {
        out.counts.merge(&m.counts);
        hidden |= m.state != Suppression::None;
    }
    out.state = if (1..=4).contains(&out.counts.total()) {
        Suppression::Primary
    } else if hidden {
        Suppression::Secondary
    } else {
        Suppression::None
    };
    out
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

    // Each trust's months, and its months by each dimension, over the charts' months (which
    // hold the period's): each month is protected whole, whichever of it is published.
    // The trusts are read at once (each its months and its three dimensions).
    type TrustCells = [BTreeMap<String, BTreeMap<String, Counts>>; 3];
    let (all, chart_from) = (&all, &chart_from);
    let read = |trust: OdsCode| async move {
        let trust = &trust;
        let months = crate::rollup::counts(db, trust, chart_from, to, all, "month", false).await?;
        let mut cells: TrustCells = Default::default();
        for (d, dim) in DIMENSIONS.iter().enumerate() {
            for (month, mut values, answer, n) in
                crate::rollup::counts_by_month(db, trust, chart_from, to, &[dim]).await?
            {
                cells[d]
                    .entry(month)
                    .or_default()
                    .entry(values.pop().unwrap_or_default())
                    .or_default()
                    .add(answer_from_code(&answer), n);
            }
        }
        Ok::<_, sea_orm::DbErr>((by_value(months), cells))
    };
    let (months_of, cells_of): (Vec<BTreeMap<String, Counts>>, Vec<TrustCells>) =
        futures::future::try_join_all(trusts.iter().cloned().map(read))
            .await?
            .into_iter()
            .unzip();
    let months: BTreeSet<String> = months_of.iter().flat_map(|m| m.keys().cloned()).collect();
    let protected: Vec<(String, MonthFigures)> = months
        .iter()
        .map(|month| {
            let parts: Vec<Counts> = months_of
                .iter()
                .map(|m| m.get(month).copied().unwrap_or_default())
                .collect();
            let cells: Vec<[BTreeMap<String, Counts>; 3]> = cells_of
                .iter()
                .map(|c| {
                    let mut of_month: [BTreeMap<String, Counts>; 3] = Default::default();
                    for (d, slot) in of_month.iter_mut().enumerate() {
                        *slot = c[d].get(month).cloned().unwrap_or_default();
                    }
                    of_month
                })
                .collect();
            (month.clone(), protect_month(&parts, &cells))
        })
        .collect();
    let period: Vec<&MonthFigures> = protected
        .iter()
        .filter(|(m, _)| in_period(m))
        .map(|(_, f)| f)
        .collect();

    let shown = |value: String, h: &Held| row(value, &h.counts, h.state);
    let ics = over_period(period.iter().map(|m| &m.ics));
    let trust_rows: Vec<FftBreakdownRow> = trusts
        .iter()
        .enumerate()
        .map(|(i, trust)| {
            shown(
                trust.as_str().into(),
                &over_period(period.iter().map(|m| &m.trusts[i])),
            )
        })
        .collect();
    let mut cells = Vec::new();
    for (d, dim) in DIMENSIONS.iter().enumerate() {
        let values: BTreeSet<&String> = period.iter().flat_map(|m| m.by[d].keys()).collect();
        for value in values {
            let of_value: Vec<&(Held, Vec<Held>)> =
                period.iter().filter_map(|m| m.by[d].get(value)).collect();
            let cell = |trust: &str, h: Held| ComparisonCell {
                by: (*dim).into(),
                value: value.clone(),
                trust: trust.into(),
                row: Some(shown(value.clone(), &h)),
            };
            cells.push(cell(
                "",
                over_period(of_value.iter().map(|(column, _)| column)),
            ));
            for (i, trust) in trusts.iter().enumerate() {
                cells.push(cell(
                    trust.as_str(),
                    over_period(of_value.iter().map(|(_, terms)| &terms[i])),
                ));
            }
        }
    }
    let chart = |pick: &dyn Fn(&MonthFigures) -> Held| {
        let charted: Vec<FftMonth> = protected
            .iter()
            .map(|(m, f)| fft_month(m.clone(), &pick(f).counts))
            .collect();
        let hidden: BTreeSet<String> = protected
            .iter()
            .filter(|(_, f)| pick(f).state != Suppression::None)
            .map(|(m, _)| m.clone())
            .collect();
        positive_chart(&charted, None, &[]).map(|c| leave_out(c, &hidden))
    };
    let mut charts = vec![TrustSeries {
        trust: String::new(),
        positive_chart: Some(chart(&|m| m.ics)?),
    }];
    for (i, trust) in trusts.iter().enumerate() {
        charts.push(TrustSeries {
            trust: trust.as_str().into(),
            positive_chart: Some(chart(&|m| m.trusts[i])?),
        });
    }
    Ok(TrustComparison {
        ics: Some(shown(String::new(), &ics)),
        trusts: trust_rows,
        charts,
        cells,
    })
}

/// The chart without the points of `hidden` months, saying so; the limits still count them.
pub(crate) fn leave_out(chart: SpcChart, hidden: &BTreeSet<String>) -> SpcChart {
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
