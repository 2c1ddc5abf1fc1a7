//! No hidden figure of a trust's dashboard can be worked out from the figures it publishes, in
//! any of its views or periods.
//!
//! A seeded set of one trust's responses across two sites, two localities, two pathways, two
//! teams, two ways of answering and three months, with many small groups. Every view a trust's
//! users may ask for — by each dimension, a locality by site, a site by pathway, a site's
//! pathway by team, a pathway by team — for each month and every run of months publishes its
//! unit in total, its rows and its chart: each a sum of the responses' cells (month × site ×
//! locality × pathway × team × source × answer). The test checks, by Gaussian elimination, that
//! no hidden count or percentage is a combination of the published ones.

// Months are indices into the cells' coordinates, not only into MONTHS.
#![allow(clippy::needless_range_loop)]

use alongside_events::testing::TestService;
use alongside_platform::grpc::outgoing;
use alongside_platform::testing::Backend;
use alongside_platform::Role;
use alongside_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use alongside_proto::feedback::v1::*;

mod common;
use common::Published;

const MONTHS: [&str; 3] = ["2026-08", "2026-09", "2026-10"];
const SITES: [&str; 2] = ["Hillside", "Riverside"];
const LOCALITIES: [&str; 2] = ["North", "South"];
const PATHWAYS: [&str; 2] = ["MSK", "Pain"];
const TEAMS: [&str; 2] = ["Team A", "Team B"];
const SOURCES: [&str; 2] = ["sms", "web"];
const ANSWERS: [FftAnswer; 6] = [
    FftAnswer::VeryGood,
    FftAnswer::Good,
    FftAnswer::Neither,
    FftAnswer::Poor,
    FftAnswer::VeryPoor,
    FftAnswer::DontKnow,
];

/// month, site, locality, pathway, team, source: indices into the lists above.
type Cell = [usize; 6];
const DIMS: [&str; 5] = ["site", "locality", "pathway", "team", "source"];

fn values(dim: &str) -> &'static [&'static str] {
    match dim {
        "site" => &SITES,
        "locality" => &LOCALITIES,
        "pathway" => &PATHWAYS,
        "team" => &TEAMS,
        _ => &SOURCES,
    }
}

fn cells() -> Vec<Cell> {
    let mut out = Vec::new();
    for m in 0..3 {
        for i in 0..32 {
            out.push([
                m,
                i & 1,
                (i >> 1) & 1,
                (i >> 2) & 1,
                (i >> 3) & 1,
                (i >> 4) & 1,
            ]);
        }
    }
    out
}

/// Mostly empty, a few cells of up to 8 responses.
fn seeded(cell: &Cell) -> [u64; 6] {
    let mut x = cell
        .iter()
        .enumerate()
        .map(|(i, v)| (*v as u64 + 1) * [131, 71, 29, 17, 7, 3][i])
        .sum::<u64>();
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) % 1000
    };
    let n = if next() < 650 { 0 } else { 1 + next() % 8 };
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

/// The cells a figure adds up: months, and a value for some dimensions.
fn of(cells: &[Cell], months: &[usize], fixed: &[(&str, &str)]) -> Vec<usize> {
    cells
        .iter()
        .enumerate()
        .filter(|(_, c)| months.contains(&c[0]))
        .filter(|(_, c)| {
            fixed.iter().all(|(dim, value)| {
                let d = DIMS.iter().position(|x| x == dim).unwrap();
                values(dim)[c[d + 1]] == *value
            })
        })
        .map(|(i, _)| i)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hidden_figure_of_a_trusts_dashboard_follows_from_its_views() {
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    let places: Vec<(&str, &str)> = DIMS[..4]
        .iter()
        .flat_map(|d| values(d).iter().map(move |v| (*d, *v)))
        .collect();
    common::list_places(&svc, "RZA", &places).await;
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    let analyst = svc.token("RZA", Role::Analyst);
    let cells = cells();
    let mut responses = Vec::new();
    for c in &cells {
        for (a, n) in seeded(c).iter().enumerate() {
            for i in 0..*n {
                responses.push(FftResponse {
                    response_id: format!("{c:?}-{a}-{i}"),
                    source: SOURCES[c[5]].into(),
                    answer: ANSWERS[a] as i32,
                    responded_on: format!("{}-15", MONTHS[c[0]]),
                    site: SITES[c[1]].into(),
                    locality: LOCALITIES[c[2]].into(),
                    pathway: PATHWAYS[c[3]].into(),
                    team: TEAMS[c[4]].into(),
                    ..Default::default()
                });
            }
        }
    }
    let sent = responses.len();
    let got = client
        .submit_fft_responses(outgoing(
            SubmitFftResponsesRequest {
                responses,
                dry_run: false,
            },
            &analyst,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(got.rejected.is_empty(), "{:?}", got.rejected);
    assert!(sent > 50, "{sent} responses");

    // Every view: (by, locality, site, pathway).
    let mut views: Vec<(&str, &str, &str, &str)> = DIMS.iter().map(|d| (*d, "", "", "")).collect();
    views.extend(LOCALITIES.iter().map(|l| ("site", *l, "", "")));
    views.extend(SITES.iter().map(|s| ("pathway", "", *s, "")));
    for s in SITES {
        views.extend(PATHWAYS.iter().map(|p| ("team", "", s, *p)));
    }
    views.extend(PATHWAYS.iter().map(|p| ("team", "", "", *p)));

    let mut published = Published::new(cells.len());
    let mut asked = 0;
    for first in 0..MONTHS.len() {
        for last in first..MONTHS.len() {
            let months: Vec<usize> = (first..=last).collect();
            for &(by, locality, site, pathway) in &views {
                let b = client
                    .get_protected_breakdown(outgoing(
                        ProtectedBreakdownRequest {
                            from_month: MONTHS[first].into(),
                            to_month: MONTHS[last].into(),
                            by: by.into(),
                            locality: locality.into(),
                            site: site.into(),
                            pathway: pathway.into(),
                            chart_months: 3,
                        },
                        &analyst,
                    ))
                    .await
                    .unwrap()
                    .into_inner();
                asked += 1;
                let fixed: Vec<(&str, &str)> =
                    [("locality", locality), ("site", site), ("pathway", pathway)]
                        .into_iter()
                        .filter(|(_, v)| !v.is_empty())
                        .collect();
                let name = format!("{by} {fixed:?} {months:?}");
                published.row(&name, &b.all.unwrap(), &of(&cells, &months, &fixed));
                for r in &b.rows {
                    assert!(values(by).contains(&r.value.as_str()), "{by} {}", r.value);
                    let mut with = fixed.clone();
                    with.push((by, r.value.as_str()));
                    published.row(
                        &format!("{name} {}", r.value),
                        r,
                        &of(&cells, &months, &with),
                    );
                }
                // The chart of the view's unit ends at the period's last month.
                let chart = b.positive_chart.unwrap();
                assert_limits_from_drawn(&chart);
                for m in 0..=last {
                    let unit = of(&cells, &[m], &fixed);
                    let n: u64 = unit
                        .iter()
                        .map(|&i| seeded(&cells[i]).iter().sum::<u64>())
                        .sum();
                    let drawn = chart.points.iter().any(|p| p.period == MONTHS[m]);
                    published.chart_month(&format!("{fixed:?} {}", MONTHS[m]), &unit, n, drawn);
                }
            }
        }
    }
    assert_eq!(asked, 6 * views.len(), "every view of every period");
    // A view outside the protected ones is refused, saying which are.
    let refused = client
        .get_protected_breakdown(outgoing(
            ProtectedBreakdownRequest {
                from_month: MONTHS[0].into(),
                to_month: MONTHS[2].into(),
                by: "pathway".into(),
                locality: "North".into(),
                ..Default::default()
            },
            &analyst,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(refused.message().contains("drilled"), "{refused:?}");
    published.assert_protected();
    let truth: Vec<f64> = cells
        .iter()
        .flat_map(|c| seeded(c).map(|n| n as f64))
        .collect();
    published
        .attacker
        .assert_standard(&truth, &published.protecting_totals);
}

/// A chart's centre line is the mean of the months it draws: no hidden month is counted in it
/// (the centre line less the drawn months would give it back).
fn assert_limits_from_drawn(chart: &SpcChart) {
    if let Some(first) = chart.points.first() {
        let mean = chart.points.iter().map(|p| p.value).sum::<f64>() / chart.points.len() as f64;
        assert!((first.mean - mean).abs() < 1e-9, "{chart:?}");
    }
}
