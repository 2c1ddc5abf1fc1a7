//! (9) The ICS dashboard: FFT responses across the ten trusts of one ICS stored through the
//! feedback service, then the dashboard's page and its JSON asked for by an ICS analyst over
//! HTTP, one after another, with latency percentiles.

use std::time::{Duration, Instant};

use alongside_platform::{Caller, OdsCode, Role};
use alongside_proto::feedback::v1::*;
use alongside_suite::Suite;

const TRUSTS: usize = 10;
const BATCH: usize = 5_000;
const PASSWORD: &str = "bench-password-123";

fn trust(t: usize) -> String {
    format!("RB{t}")
}

fn response(t: usize, i: usize) -> FftResponse {
    let answer = [1, 1, 1, 2, 2, 3, 4, 5, 6, 1, 2, 1][(i + t) % 12];
    // Two years of months, eight localities, twelve pathways, four ways of answering.
    let month = i % 24;
    FftResponse {
        response_id: format!("ics-{i}"),
        source: ["sms", "web", "paper", "kiosk"][i % 4].into(),
        answer,
        responded_on: format!(
            "{}-{:02}-{:02}",
            2024 + month / 12,
            month % 12 + 1,
            1 + (i / 24) % 28
        ),
        site: format!("Site {}", i % 6),
        locality: format!("Locality {}", (i / 3) % 8),
        pathway: format!("Pathway {}", (i / 5) % 12),
        team: format!("Team {}", (i / 7) % 20),
        ..Default::default()
    }
}

pub async fn bench(
    suite: &Suite,
    data: &std::path::Path,
    responses: usize,
    queries: usize,
) -> anyhow::Result<()> {
    let state = suite.gateway_state().clone();
    let seed = |e: String| anyhow::anyhow!(e);
    alongside_gateway::seed::create_tenant(&state.db, "QBN", "Bench ICB", None)
        .await
        .map_err(seed)?;
    for t in 0..TRUSTS {
        alongside_gateway::seed::create_tenant(
            &state.db,
            &trust(t),
            &format!("Bench Trust {t}"),
            Some("QBN"),
        )
        .await
        .map_err(seed)?;
    }
    alongside_gateway::seed::register_tenants(&state.db, &state.clients)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    alongside_gateway::seed::create_user(
        &state.db,
        "ics@qbn.test",
        "ICS bench",
        PASSWORD,
        "QBN",
        Role::IcsAnalyst,
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;

    for t in 0..TRUSTS {
        let admin = Caller {
            subject: "bench".into(),
            tenant: OdsCode::parse(&trust(t)).expect("a code"),
            role: Role::Admin,
            ics: None,
        };
        let listed = crate::feedback::places(&[
            ("site", "Site", 6),
            ("locality", "Locality", 8),
            ("pathway", "Pathway", 12),
            ("team", "Team", 20),
        ]);
        state
            .clients
            .feedback()
            .save_places(state.clients.request(&admin, listed))
            .await?;
    }

    // Stored through the feedback service: two trusts' batches at once.
    let started = Instant::now();
    let per_trust = responses / TRUSTS;
    let mut jobs = Vec::new();
    for t in 0..TRUSTS {
        for from in (0..per_trust).step_by(BATCH) {
            jobs.push((t, from, (from + BATCH).min(per_trust)));
        }
    }
    let mut stored = 0u64;
    let mut progress = crate::Progress::new("ICS data set stored", (per_trust * TRUSTS) as u64);
    for pair in jobs.chunks(2) {
        let calls = pair.iter().map(|&(t, from, to)| {
            let caller = Caller {
                subject: "bench".into(),
                tenant: OdsCode::parse(&trust(t)).expect("a code"),
                role: Role::Analyst,
                ics: None,
            };
            let request = SubmitFftResponsesRequest {
                responses: (from..to).map(|i| response(t, i)).collect(),
                dry_run: false,
            };
            let mut client = state
                .clients
                .feedback()
                .max_decoding_message_size(64 << 20)
                .max_encoding_message_size(64 << 20);
            let request = state.clients.request(&caller, request);
            async move {
                anyhow::Ok(
                    client
                        .submit_fft_responses(request)
                        .await?
                        .into_inner()
                        .accepted,
                )
            }
        });
        for accepted in futures::future::join_all(calls).await {
            stored += accepted? as u64;
        }
        progress.at(stored);
    }
    let ingest = started.elapsed();
    let total = (per_trust * TRUSTS) as u64;
    anyhow::ensure!(stored == total, "stored {stored} of {total}");
    crate::record(
        &format!("ICS data set ({total} responses, {TRUSTS} trusts)"),
        "stored",
        total as f64 / ingest.as_secs_f64(),
        "responses/s",
    );
    println!(
        "  ICS data set: {total} FFT responses across {TRUSTS} trusts of one ICS (24 months, 8 localities, 12 pathways, 4 ways of answering) stored in {:.0} s ({:.0} responses/s)",
        ingest.as_secs_f64(),
        total as f64 / ingest.as_secs_f64()
    );

    // The dashboards are timed once the stream has caught up with the five million (its
    // publisher republishes each changed month in the background); how long that took is said.
    let settled = crate::settle(data).await?;
    crate::record(
        &format!("analytics stream ({total} responses)"),
        "caught up after",
        settled.as_secs_f64(),
        "s",
    );
    println!(
        "  analytics stream caught up with the ICS data set {:.1} s after the last batch",
        settled.as_secs_f64()
    );

    let http = reqwest::Client::builder().cookie_store(true).build()?;
    let base = suite.url();
    let signed_in = http
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({ "email": "ics@qbn.test", "password": PASSWORD }))
        .send()
        .await?;
    anyhow::ensure!(signed_in.status() == 200, "the ICS analyst signs in");
    let period = "from=2025-10&to=2025-12";
    for (name, path) in [
        (
            "page (HTML, every trust side by side)",
            format!("/dashboard?{period}"),
        ),
        ("JSON", format!("/api/v1/dashboard?{period}")),
        (
            "JSON by a pathway",
            format!("/api/v1/dashboard?{period}&pathway=Pathway%203"),
        ),
        (
            "page into one trust, by locality",
            format!("/dashboard?{period}&trust=RB3&by=locality"),
        ),
    ] {
        let mut took: Vec<Duration> = Vec::with_capacity(queries);
        let mut bytes = 0;
        for _ in 0..queries {
            let t = Instant::now();
            let response = http.get(format!("{base}{path}")).send().await?;
            anyhow::ensure!(response.status() == 200, "{path}: {}", response.status());
            bytes = response.bytes().await?.len();
            took.push(t.elapsed());
        }
        took.sort();
        let lat =
            crate::record_latencies(&format!("ICS dashboard {name} ({total} responses)"), &took);
        println!(
            "  ICS dashboard {name} over those {total} responses ({queries} requests one after another, {} kB): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
            bytes / 1024,
            lat.p50,
            lat.p95,
            lat.max,
        );
    }
    Ok(())
}

/// The protection of one month of an ICS's FFT figures (every table of ten trusts and the
/// ICS's margins), timed alone over months of random answers at the bench ICS's places, from
/// sparse (most cells of 1 to 4 responses: most figures hidden, many bounded by linear
/// programming) to full.
pub fn protection(largest: usize) {
    use alongside_feedback::fft::Counts;
    use alongside_feedback::release::{protect_month, Cells, TABLES};
    use alongside_proto::feedback::v1::FftAnswer;
    use std::collections::BTreeMap;

    println!("== (9b) protecting one month of an ICS's figures (10 trusts, every table) ==");
    for per_trust in [200, 2_000, 20_000].into_iter().filter(|n| *n <= largest) {
        let mut month: BTreeMap<String, Vec<Cells<Counts>>> = BTreeMap::new();
        for t in 0..TRUSTS {
            let mut tables: Vec<Cells<Counts>> = vec![BTreeMap::new(); TABLES.len()];
            let mut x = 7 + t as u64;
            let mut next = |n: u64| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 33) % n) as usize
            };
            for _ in 0..per_trust {
                let answer = [1, 1, 1, 2, 2, 3, 4, 5, 6, 1, 2, 1][next(12)];
                let values = [
                    ("site", format!("Site {}", next(6))),
                    ("locality", format!("Locality {}", next(8))),
                    ("pathway", format!("Pathway {}", next(12))),
                    ("team", format!("Team {}", next(20))),
                    (
                        "source",
                        ["sms", "web", "paper", "kiosk"][next(4)].to_string(),
                    ),
                ];
                let of = |dim: &str| {
                    values
                        .iter()
                        .find(|(d, _)| *d == dim)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                for (ti, dims) in TABLES.iter().enumerate() {
                    let key: Vec<String> = dims.iter().map(|d| of(d)).collect();
                    let answer = FftAnswer::try_from(answer).unwrap_or(FftAnswer::DontKnow);
                    tables[ti].entry(key).or_default().add(answer, 1);
                }
            }
            month.insert(trust(t), tables);
        }
        let started = Instant::now();
        let release = protect_month(&month);
        let took = started.elapsed();
        let figures: Vec<_> = release
            .trusts
            .values()
            .flatten()
            .flat_map(|c| c.values())
            .collect();
        let hidden = figures
            .iter()
            .filter(|h| h.state != alongside_feedback::suppression::Suppression::None)
            .count();
        crate::record(
            &format!("protecting an ICS month ({per_trust} responses a trust)"),
            "time",
            took.as_secs_f64(),
            "s",
        );
        println!(
            "  {per_trust} responses a trust ({} in all): {:.3} s, {hidden} of {} figures hidden",
            per_trust * TRUSTS,
            took.as_secs_f64(),
            figures.len()
        );
    }
}
