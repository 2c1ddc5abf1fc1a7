//! No hidden figure of an ICS's comparison can be worked out, or narrowed below the standard,
//! from everything an ICS analyst sees together: the comparison in one view or across every
//! period they may ask for, and the analytics stream's figures of every trust, site and
//! site's pathway.
//!
//! A seeded set of responses across three trusts, two localities, three pathways, two ways of
//! answering and three months, with many small groups. Every figure the comparison publishes
//! (each trust and the ICS in total, by each locality, pathway and way of answering, and each
//! drawn month of the charts), for each month and every run of months, is a sum of the responses' cells: trust × month × locality ×
//! pathway × source × answer. A shown count, percentage or number of responses is a linear
//! equation over those cells (the numbers of responses of every month are taken as known too,
//! as a cautious reader would). A hidden figure can be worked out exactly from totals, siblings
//! or filtered views if and only if its equation is a combination of the published ones: the
//! test checks, by Gaussian elimination, that none is.

// Months are indices into the cells' coordinates, not only into MONTHS.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeMap;

use alongside_events::envelope::Envelope;
use alongside_events::testing::{read_records, TestService};
use alongside_events::topics::FEEDBACK_INSIGHTS;
use alongside_platform::grpc::outgoing;
use alongside_platform::testing::Backend;
use alongside_platform::Role;
use alongside_proto::feedback::events::v1::FftInsight;
use alongside_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use alongside_proto::feedback::v1::*;
use std::time::Duration;

mod common;
use common::Span;

const TRUSTS: [&str; 3] = ["RZA", "RZB", "RZC"];
const MONTHS: [&str; 3] = ["2026-08", "2026-09", "2026-10"];
const LOCALITIES: [&str; 2] = ["North", "South"];
const SITES: [&str; 2] = ["Riverside", "Hilltop"];
const PATHWAYS: [&str; 3] = ["Eye", "MSK", "Pain"];
const SOURCES: [&str; 2] = ["sms", "web"];
const ANSWERS: [FftAnswer; 6] = [
    FftAnswer::VeryGood,
    FftAnswer::Good,
    FftAnswer::Neither,
    FftAnswer::Poor,
    FftAnswer::VeryPoor,
    FftAnswer::DontKnow,
];

/// One cell of the responses: indices into the lists above.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct Cell {
    trust: usize,
    month: usize,
    locality: usize,
    site: usize,
    pathway: usize,
    source: usize,
}

fn cells() -> Vec<Cell> {
    let mut out = Vec::new();
    for trust in 0..3 {
        for month in 0..3 {
            for locality in 0..2 {
                for site in 0..2 {
                    for pathway in 0..3 {
                        for source in 0..2 {
                            out.push(Cell {
                                trust,
                                month,
                                locality,
                                site,
                                pathway,
                                source,
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

/// A deterministic mix, mostly empty cells, a few of up to 9 responses (fewer at the third
/// trust), some answers more common than others.
fn seeded(cell: &Cell) -> [u64; 6] {
    let mut x = (cell.trust * 131
        + cell.month * 71
        + cell.locality * 29
        + cell.site * 41
        + cell.pathway * 17
        + cell.source * 7
        + 3) as u64;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) % 1000
    };
    let empty = if cell.trust == 2 { 920 } else { 820 };
    let n = if next() < empty { 0 } else { 1 + next() % 9 };
    let mut counts = [0u64; 6];
    for _ in 0..n {
        let pick = match next() {
            0..=499 => 0,
            500..=749 => 1,
            750..=829 => 2,
            830..=899 => 3,
            900..=959 => 4,
            _ => 5,
        };
        counts[pick] += 1;
    }
    counts
}

/// Which cells a published figure adds up: a trust (or all), a month (or the period) and a
/// value of each of some dimensions (none: all).
#[derive(Clone, Debug)]
struct Figure {
    trust: Option<usize>,
    months: Vec<usize>,
    by: Vec<(&'static str, usize)>,
}

impl Figure {
    fn holds(&self, c: &Cell) -> bool {
        self.trust.is_none_or(|t| t == c.trust)
            && self.months.contains(&c.month)
            && self.by.iter().all(|&(by, v)| match by {
                "locality" => c.locality == v,
                "site" => c.site == v,
                "pathway" => c.pathway == v,
                _ => c.source == v,
            })
    }

    /// The equation of the sum of `answers` over the figure's cells.
    fn equation(&self, cells: &[Cell], answers: &[usize]) -> Vec<f64> {
        let mut v = vec![0.0; cells.len() * 6];
        for (i, c) in cells.iter().enumerate() {
            if self.holds(c) {
                for &a in answers {
                    v[i * 6 + a] = 1.0;
                }
            }
        }
        v
    }
}

const POSITIVE: [usize; 2] = [0, 1];
const NEGATIVE: [usize; 2] = [3, 4];
const EVERY: [usize; 6] = [0, 1, 2, 3, 4, 5];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hidden_figure_follows_from_the_published_ones() {
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    for trust in TRUSTS {
        let mut places: Vec<(&str, &str)> = LOCALITIES.iter().map(|l| ("locality", *l)).collect();
        places.extend(PATHWAYS.iter().map(|p| ("pathway", *p)));
        places.extend(SITES.iter().map(|s| ("site", *s)));
        common::list_places(&svc, trust, &places).await;
        // The trusts are the ICS's members: their figures are published together.
        let admin = svc.token_in_ics(trust, "QZX", Role::Admin);
        FeedbackServiceClient::connect(svc.url())
            .await
            .unwrap()
            .register_tenant(outgoing(RegisterTenantRequest {}, &admin))
            .await
            .unwrap();
    }
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    let cells = cells();
    let mut sent = 0;
    for (t, trust) in TRUSTS.iter().enumerate() {
        let token = svc.token(trust, Role::Analyst);
        let mut responses = Vec::new();
        for c in cells.iter().filter(|c| c.trust == t) {
            for (a, n) in seeded(c).iter().enumerate() {
                for i in 0..*n {
                    responses.push(FftResponse {
                        response_id: format!("{c:?}-{a}-{i}"),
                        source: SOURCES[c.source].into(),
                        answer: ANSWERS[a] as i32,
                        responded_on: format!("{}-15", MONTHS[c.month]),
                        locality: LOCALITIES[c.locality].into(),
                        site: SITES[c.site].into(),
                        pathway: PATHWAYS[c.pathway].into(),
                        ..Default::default()
                    });
                }
            }
        }
        sent += responses.len();
        let got = client
            .submit_fft_responses(outgoing(
                SubmitFftResponsesRequest {
                    responses,
                    dry_run: false,
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    }
    let ics = svc.token("QZX", Role::IcsAnalyst);
    let trust_of = |code: &str| TRUSTS.iter().position(|t| *t == code);
    // Every figure of every period an analyst may ask for — each month, each run of months —
    // with what is shown of it, and each view's charts.
    let mut figures: Vec<(Figure, FftBreakdownRow)> = Vec::new();
    let mut charts = Vec::new();
    let mut views = 0;
    for first in 0..MONTHS.len() {
        for last in first..MONTHS.len() {
            let got = client
                .compare_trusts(outgoing(
                    CompareTrustsRequest {
                        from_month: MONTHS[first].into(),
                        to_month: MONTHS[last].into(),
                        trusts: TRUSTS.iter().map(|t| t.to_string()).collect(),
                        chart_months: 3,
                    },
                    &ics,
                ))
                .await
                .unwrap()
                .into_inner();
            views += 1;
            let period: Vec<usize> = (first..=last).collect();
            let before = figures.len();
            figures.push((
                Figure {
                    trust: None,
                    months: period.clone(),
                    by: vec![],
                },
                got.ics.clone().unwrap(),
            ));
            for r in &got.trusts {
                figures.push((
                    Figure {
                        trust: trust_of(&r.value),
                        months: period.clone(),
                        by: vec![],
                    },
                    r.clone(),
                ));
            }
            for c in &got.cells {
                let (by, list): (&'static str, &[&str]) = match c.by.as_str() {
                    "locality" => ("locality", &LOCALITIES),
                    "pathway" => ("pathway", &PATHWAYS),
                    _ => ("source", &SOURCES),
                };
                let value = list
                    .iter()
                    .position(|v| *v == c.value)
                    .expect("a seeded value");
                let trust = if c.trust.is_empty() {
                    None
                } else {
                    Some(trust_of(&c.trust).unwrap())
                };
                figures.push((
                    Figure {
                        trust,
                        months: period.clone(),
                        by: vec![(by, value)],
                    },
                    c.row.clone().unwrap(),
                ));
            }
            if (first, last) == (0, MONTHS.len() - 1) {
                assert_eq!(
                    figures.len() - before,
                    4 + 4 * (2 + 3 + 2),
                    "every figure of the whole period is published"
                );
                assert_eq!(
                    got.ics.as_ref().unwrap().total.unwrap() as usize,
                    cells
                        .iter()
                        .map(|c| seeded(c).iter().sum::<u64>() as usize)
                        .sum::<usize>()
                );
            }
            // A view's charts end at its last month.
            charts.extend(got.charts.into_iter().map(|c| (last, c)));
        }
    }
    assert_eq!(views, 6, "three months, and every run of them");
    assert!(sent > 50, "{sent} responses");

    // The analytics stream, as an ICS data team reads it: the latest figure of each key (the
    // topic is compacted), each trust's month, sites and sites' pathways.
    let mut stream: BTreeMap<String, FftInsight> = BTreeMap::new();
    let records = read_records(svc.brokers(), FEEDBACK_INSIGHTS, Duration::from_secs(10)).await;
    for (key, value) in records {
        let Some(value) = value else {
            stream.remove(&key);
            continue;
        };
        let envelope = Envelope::decode(&value).unwrap();
        if envelope.inner.event_type == "alongside.feedback.events.v1.FftInsight" {
            stream.insert(key, envelope.payload::<FftInsight>().unwrap());
        }
    }
    let mut months_on_stream = 0;
    for insight in stream.values() {
        let month = MONTHS.iter().position(|m| *m == insight.month).unwrap();
        let mut by = Vec::new();
        if insight.level != "trust" {
            by.push((
                "site",
                SITES.iter().position(|s| *s == insight.site).unwrap(),
            ));
        }
        if insight.level == "pathway" {
            let p = PATHWAYS.iter().position(|p| *p == insight.pathway);
            by.push(("pathway", p.unwrap()));
        }
        months_on_stream += usize::from(insight.level == "trust");
        let c = insight.counts.unwrap_or_default();
        let shown = insight.counts.is_some();
        figures.push((
            Figure {
                trust: trust_of(&insight.tenant),
                months: vec![month],
                by,
            },
            FftBreakdownRow {
                total: insight.total,
                very_good: shown.then_some(c.very_good),
                good: shown.then_some(c.good),
                neither: shown.then_some(c.neither),
                poor: shown.then_some(c.poor),
                very_poor: shown.then_some(c.very_poor),
                dont_know: shown.then_some(c.dont_know),
                percent_positive: insight.percent_positive,
                percent_negative: insight.percent_negative,
                suppression: insight.suppression.clone(),
                ..Default::default()
            },
        ));
    }
    let months_with_responses: std::collections::BTreeSet<(usize, usize)> = cells
        .iter()
        .filter(|c| seeded(c).iter().sum::<u64>() > 0)
        .map(|c| (c.trust, c.month))
        .collect();
    assert_eq!(
        months_on_stream,
        months_with_responses.len(),
        "every trust's every month with responses is on the stream"
    );

    let mut published = Span {
        width: cells.len() * 6,
        rows: Vec::new(),
    };
    // What is hidden, and whether only to protect another (secondary).
    let mut hidden: Vec<(String, Vec<f64>)> = Vec::new();
    let mut protecting: Vec<Vec<f64>> = Vec::new();
    let mut suppressed = BTreeMap::new();
    let mut attacker = common::Attacker::new(cells.len() * 6);
    let mut protecting_totals = Vec::new();
    for (f, row) in &figures {
        *suppressed.entry(row.suppression.clone()).or_insert(0) += 1;
        let total = f.equation(&cells, &EVERY);
        match row.total {
            Some(n) => {
                published.add(total.clone());
                attacker.know(total, n as f64);
            }
            None if row.suppression == "secondary" => {
                protecting.push(total.clone());
                protecting_totals.push(total);
            }
            None => {
                hidden.push((format!("{f:?} responses"), total.clone()));
                attacker.bound(format!("{f:?}"), total);
            }
        }
        if row.total == Some(0) {
            // Nothing there: every cell of it is known to be empty.
            for (i, c) in cells.iter().enumerate() {
                if f.holds(c) {
                    for a in 0..6 {
                        let mut v = vec![0.0; published.width];
                        v[i * 6 + a] = 1.0;
                        published.add(v);
                    }
                }
            }
            continue;
        }
        let counts = [
            row.very_good,
            row.good,
            row.neither,
            row.poor,
            row.very_poor,
            row.dont_know,
        ];
        for (a, shown) in counts.iter().enumerate() {
            let eq = f.equation(&cells, &[a]);
            match shown {
                Some(n) => {
                    attacker.know(eq.clone(), *n as f64);
                    published.add(eq)
                }
                None if row.suppression == "secondary" => protecting.push(eq),
                None => hidden.push((format!("{f:?} answer {a}"), eq)),
            }
        }
        for (share, answers, name) in [
            (row.percent_positive, &POSITIVE, "positive"),
            (row.percent_negative, &NEGATIVE, "negative"),
        ] {
            let eq = f.equation(&cells, answers);
            match share {
                Some(_) => published.add(eq),
                None if row.suppression == "secondary" => protecting.push(eq),
                None => hidden.push((format!("{f:?} {name}"), eq)),
            }
        }
    }
    // The charts: each drawn month's % positive (and its number of responses, taken as known);
    // the centre line only from the months drawn.
    for (last, series) in &charts {
        let trust = if series.trust.is_empty() {
            None
        } else {
            trust_of(&series.trust)
        };
        let chart = series.positive_chart.as_ref().unwrap();
        if let Some(first) = chart.points.first() {
            let mean =
                chart.points.iter().map(|p| p.value).sum::<f64>() / chart.points.len() as f64;
            assert!((first.mean - mean).abs() < 1e-9, "{chart:?}");
        }
        for (m, month) in MONTHS.iter().enumerate().take(last + 1) {
            let f = Figure {
                trust,
                months: vec![m],
                by: vec![],
            };
            let n: u64 = cells
                .iter()
                .filter(|c| f.holds(c))
                .map(|c| seeded(c).iter().sum::<u64>())
                .sum();
            let eq = f.equation(&cells, &POSITIVE);
            if chart.points.iter().any(|p| p.period == *month) {
                published.add(f.equation(&cells, &EVERY));
                published.add(eq);
            } else if (1..=4).contains(&n) {
                hidden.push((format!("chart {f:?}"), eq));
            } else if n > 0 {
                protecting.push(eq);
            }
        }
    }
    assert!(
        suppressed.get("primary").copied().unwrap_or(0) >= 3,
        "the seeded set has small figures to hide: {suppressed:?}"
    );
    assert!(hidden.len() > 20, "{} hidden figures", hidden.len());
    assert!(
        !protecting.is_empty(),
        "some figures are hidden only to protect others"
    );
    for eq in &protecting {
        assert!(
            !published.contains(eq.clone()),
            "a protecting figure is hidden too"
        );
    }
    // The check can fail: had the protecting figures been shown, small ones would follow.
    let mut naive = Span {
        width: published.width,
        rows: published.rows.clone(),
    };
    for eq in &protecting {
        naive.add(eq.clone());
    }
    assert!(
        hidden.iter().any(|(_, eq)| naive.contains(eq.clone())),
        "without the protection, some small figure would follow by subtraction"
    );
    let derivable: Vec<&String> = hidden
        .iter()
        .filter(|(_, eq)| published.contains(eq.clone()))
        .map(|(name, _)| name)
        .collect();
    assert!(
        derivable.is_empty(),
        "{} of {} hidden figures follow from the published ones: {derivable:#?}",
        derivable.len(),
        hidden.len()
    );
    let truth: Vec<f64> = cells
        .iter()
        .flat_map(|c| seeded(c).map(|n| n as f64))
        .collect();
    attacker.assert_standard(&truth, &protecting_totals);
}
