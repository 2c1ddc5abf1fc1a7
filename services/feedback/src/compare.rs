//! The member trusts of an ICS side by side: each trust's FFT figures for a period in total, by
//! locality, pathway and way of answering, and month by month as SPC charts, with the ICS's
//! totals of each, read from the ICS's release of each month (see [`crate::release`]), so they
//! are protected together with the trusts' own views and the analytics stream; a period's
//! figure is hidden when any of its months is. So every published figure is a sum of shown
//! monthly figures, and whatever an ICS analyst combines, across views, periods and outputs, a
//! hidden figure's bounds keep the standard.

use std::collections::BTreeSet;

use alongside_platform::error::Violations;
use alongside_platform::{add_months, Caller, OdsCode, ServiceError};
use alongside_proto::feedback::v1::{
    CompareTrustsRequest, ComparisonCell, FftBreakdownRow, FftMonth, SpcChart, TrustComparison,
    TrustSeries,
};

use crate::api::{check_period, fft_month, positive_chart};
use crate::fft::Counts;
use crate::protection::Held;
use crate::release::{over_period, table, Release, ICS_DIMENSIONS};
use crate::suppression::Suppression;

/// Most trusts compared at once: an ICS has a handful to a dozen or so.
pub const MAX_TRUSTS: usize = 50;
const DEFAULT_CHART_MONTHS: u32 = 24;
const MAX_MONTHS: u32 = 60;

/// What may be shown of a figure: everything, or (hidden) only its number of responses.
pub(crate) fn row(value: String, c: &Counts, state: Suppression) -> FftBreakdownRow {
    let shown = state == Suppression::None;
    let show = |n: u64| shown.then_some(n);
    let interval = shown
        .then(|| crate::fft::wilson_95(c.very_good + c.good, c.total()))
        .flatten();
    FftBreakdownRow {
        value,
        total: show(c.total()),
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
    caller: &Caller,
    request: CompareTrustsRequest,
    publication: &crate::release::Publication,
) -> Result<TrustComparison, ServiceError> {
    let (trusts, chart_from) = check(&request)?;
    let (from, to) = (request.from_month.as_str(), request.to_month.as_str());
    // The ICS's figures are its registered members', published together whichever of them a
    // request names; an ICS with none registered is taken to be the trusts named.
    let members = crate::tenants::members(db, caller.tenant.as_str()).await?;
    let published: Vec<OdsCode> = if members.is_empty() {
        trusts.clone()
    } else {
        let mut v = Violations::default();
        for trust in &trusts {
            v.check(
                members.iter().any(|m| m == trust.as_str()),
                "trusts",
                &format!(
                    "{} is not a member trust of {}",
                    trust.as_str(),
                    caller.tenant.as_str()
                ),
            );
        }
        v.finish()?;
        members
            .iter()
            .filter_map(|c| OdsCode::parse(c).ok())
            .collect()
    };
    let released = crate::release::months(db, &published, &chart_from, to, publication).await?;
    let period: Vec<&Release> = released
        .iter()
        .filter(|(m, _)| m.as_str() >= from && m.as_str() <= to)
        .map(|(_, r)| r)
        .collect();
    let whole = table(&[]);
    let of_trust = |r: &Release, trust: &OdsCode, t: usize, key: &[String]| {
        r.trust(trust.as_str(), t, key).unwrap_or_default()
    };

    let shown = |value: String, h: &Held| row(value, &h.counts, h.state);
    let ics = over_period(period.iter().map(|r| r.ics));
    let trust_rows: Vec<FftBreakdownRow> = trusts
        .iter()
        .map(|trust| {
            let held = over_period(period.iter().map(|r| of_trust(r, trust, whole, &[])));
            shown(trust.as_str().into(), &held)
        })
        .collect();
    let mut cells = Vec::new();
    for (d, dim) in ICS_DIMENSIONS.iter().enumerate() {
        let values: BTreeSet<&String> = period.iter().flat_map(|r| r.ics_by[d].keys()).collect();
        let by = table(&[dim]);
        for value in values {
            let cell = |trust: &str, h: Held| ComparisonCell {
                by: (*dim).into(),
                value: value.clone(),
                trust: trust.into(),
                row: Some(shown(value.clone(), &h)),
            };
            let column = period
                .iter()
                .map(|r| r.ics_by[d].get(value).copied().unwrap_or_default());
            cells.push(cell("", over_period(column)));
            let key = [value.clone()];
            for trust in &trusts {
                let held = over_period(period.iter().map(|r| of_trust(r, trust, by, &key)));
                cells.push(cell(trust.as_str(), held));
            }
        }
    }
    let mut charts = vec![TrustSeries {
        trust: String::new(),
        positive_chart: Some(protected_chart(
            released.iter().map(|(m, r)| (m.clone(), r.ics)),
        )?),
    }];
    for trust in &trusts {
        let months = released
            .iter()
            .filter_map(|(m, r)| Some((m.clone(), r.trust(trust.as_str(), whole, &[])?)));
        charts.push(TrustSeries {
            trust: trust.as_str().into(),
            positive_chart: Some(protected_chart(months)?),
        });
    }
    let (released_to, next_release_on) = publication.told();
    Ok(TrustComparison {
        ics: Some(shown(String::new(), &ics)),
        trusts: trust_rows,
        charts,
        cells,
        released_to,
        next_release_on,
    })
}

/// A chart of % positive over the months given, drawn and limited from the shown months only:
/// a hidden month counted in the limits would be given back by the centre line.
pub(crate) fn protected_chart(
    months: impl Iterator<Item = (String, Held)>,
) -> Result<SpcChart, ServiceError> {
    let mut hidden = 0;
    let mut shown = Vec::new();
    for (month, held) in months {
        if held.state == Suppression::None {
            shown.push(fft_month(month, &held.counts));
        } else {
            hidden += 1;
        }
    }
    let mut chart = positive_chart(&shown, None, &[])?;
    if hidden > 0 {
        let one = hidden == 1;
        chart.warnings.push(format!(
            "{hidden} month{} with few responses, or hidden so that such a month cannot be \
             worked out, {} neither drawn nor counted in the limits",
            if one { "" } else { "s" },
            if one { "is" } else { "are" },
        ));
    }
    Ok(chart)
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
