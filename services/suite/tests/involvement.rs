//! One release of involvement figures across outputs: the involvement report a trust's analyst
//! reads (its CSV) and the analytics stream an ICS data team reads show the same month's
//! figures and hide the same ones, so neither gives back what the other hides; both publish
//! pathways under the trust's listed codes only.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use alongside_events::testing::read_events;
use alongside_proto::feedback::events::v1::InvolvementInsight;

use common::sign_in;

/// The report's CSV rows of one month: (by, key) → sessions ("" when hidden).
async fn report(
    http: &reqwest::Client,
    base: &str,
    month: &str,
) -> BTreeMap<(String, String), String> {
    let last = alongside_platform::last_day_of_month(month).unwrap();
    let csv = http
        .get(format!(
            "{base}/engagement/report.csv?from={month}-01&to={last}"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (by, key, sessions) = (at("by"), at("key"), at("sessions"));
    lines
        .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
        .map(|f| ((f[by].clone(), f[key].clone()), f[sessions].clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_and_the_stream_hide_the_same_involvement() {
    let data = tempfile::tempdir().unwrap();
    let suite = common::demo_suite(data.path()).await;
    let base = suite.url();
    let analyst = sign_in(&base, "analyst@rza.demo.test").await;

    // Every month of the demo trust's involvement on the stream, at its latest.
    let events = read_events(
        suite.kafka_bootstrap(),
        alongside_events::topics::FEEDBACK_INSIGHTS,
        usize::MAX,
        Duration::from_secs(5),
    )
    .await;
    let mut months: BTreeMap<String, InvolvementInsight> = BTreeMap::new();
    for (key, event) in &events {
        let key = String::from_utf8_lossy(key.as_deref().unwrap_or_default()).to_string();
        if let Some(month) = key.strip_prefix("RZA/involvement/") {
            if let Ok(insight) = event.payload::<InvolvementInsight>() {
                months.insert(month.to_string(), insight);
            }
        }
    }
    assert!(!months.is_empty(), "the demo has involvement on the stream");

    let (mut compared, mut hidden, mut listed) = (0, 0, false);
    for (month, insight) in &months {
        let rows = report(&analyst, &base, month).await;
        let shown = |s: Option<u64>| s.map_or(String::new(), |n| n.to_string());
        let total = &rows[&("total".to_string(), String::new())];
        assert_eq!(
            *total,
            shown(insight.sessions),
            "{month}: the month's sessions"
        );
        for (by, figures) in [("kind", &insight.by_kind), ("pathway", &insight.by_pathway)] {
            for figure in figures {
                let row = &rows[&(by.to_string(), figure.key.clone())];
                assert_eq!(*row, shown(figure.sessions), "{month}: {by} {}", figure.key);
                compared += 1;
                hidden += usize::from(figure.sessions.is_none());
            }
        }
        // Pathways typed by staff ("rheumatology") reach neither output: only listed codes
        // ("Rheumatology").
        let pathways: Vec<&String> = rows
            .keys()
            .filter(|(by, _)| by == "pathway")
            .map(|(_, key)| key)
            .collect();
        let streamed: Vec<&String> = insight.by_pathway.iter().map(|f| &f.key).collect();
        assert_eq!(pathways, streamed, "{month}: the same pathways in both");
        listed |= pathways.iter().any(|k| *k == "Rheumatology");
        assert!(
            pathways
                .iter()
                .all(|k| k.is_empty() || *k == "Pain" || *k == "Rheumatology"),
            "{month}: {pathways:?}"
        );
        compared += 1;
        hidden += usize::from(insight.sessions.is_none());
    }
    assert!(compared >= 2, "{compared} figures compared");
    assert!(
        listed,
        "the demo's pain work is published under its listed code"
    );
    eprintln!(
        "{} months, {compared} figures compared across outputs, {hidden} hidden in both",
        months.len()
    );
}
