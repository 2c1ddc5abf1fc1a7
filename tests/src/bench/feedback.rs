//! Feedback figures on PostgreSQL: (6) FFT responses stored through the feedback service's gRPC
//! API, tagged with a place and (for some) who answered, as a trust's nightly upload would send
//! them; (7) the dashboard's queries over what was stored (the month-by-month summary, narrowed
//! to a site, and breakdowns by team and by deprivation decile), with latency percentiles; (8)
//! free-text comments labelled with themes and sentiment by the shipped model, on the public
//! pxtextmining comments.

use std::time::Instant;

use alongside_events::testing::TestService;
use alongside_platform::grpc::outgoing;
use alongside_platform::testing::Backend;
use alongside_platform::Role;
use alongside_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use alongside_proto::feedback::v1::*;

use crate::{day, percentile};

const SITES: usize = 40;
const TEAMS: usize = 120;
const BATCH: usize = 5_000;

fn response(i: usize) -> FftResponse {
    // A fixed mix of answers, places and ways of answering; two in five answer the equality
    // questions.
    let answer = [1, 1, 1, 2, 2, 3, 4, 5, 6, 1, 2, 1][i % 12];
    FftResponse {
        response_id: format!("pg-{i}"),
        source: ["sms", "web", "paper", "kiosk"][i % 4].into(),
        answer,
        responded_on: day(i),
        site: format!("Site {}", i % SITES),
        locality: format!("Locality {}", i % 8),
        pathway: format!("Pathway {}", i % 12),
        team: format!("Team {}", (i / 7) % TEAMS),
        respondent: (i % 5 < 2).then(|| Respondent {
            consent: true,
            age_band: [
                "16_24", "25_34", "35_44", "45_54", "55_64", "65_74", "75_plus",
            ][i % 7]
                .into(),
            sex: ["female", "male"][(i / 3) % 2].into(),
            ethnic_group: ["asian", "black", "mixed", "white", "other"][(i / 11) % 5].into(),
            imd_decile: 1 + (i % 10) as u32,
        }),
        ..Default::default()
    }
}

/// The places the responses name, as the trust lists them: `count` of each `(kind, prefix)`.
pub fn places(kinds: &[(&str, &str, usize)]) -> SavePlacesRequest {
    SavePlacesRequest {
        places: kinds
            .iter()
            .flat_map(|&(kind, prefix, count)| {
                (0..count).map(move |i| PlaceInput {
                    kind: kind.into(),
                    code: format!("{prefix} {i}"),
                    name: String::new(),
                })
            })
            .collect(),
        dry_run: false,
    }
}

pub async fn bench(responses: usize, queries: usize, comments: usize) -> anyhow::Result<()> {
    let svc = TestService::start("feedback", Backend::Postgres, alongside_feedback::start).await;
    let channel = tonic::transport::Endpoint::from_shared(svc.url())?
        .connect()
        .await?;
    let analyst = svc.token("RZA", Role::Analyst);
    let listed = places(&[
        ("site", "Site", SITES),
        ("locality", "Locality", 8),
        ("pathway", "Pathway", 12),
        ("team", "Team", TEAMS),
    ]);
    FeedbackServiceClient::new(channel.clone())
        .save_places(outgoing(listed, &svc.token("RZA", Role::Admin)))
        .await?;

    // ---- 6: ingest ----
    let mut latencies = Vec::new();
    let started = Instant::now();
    let mut accepted = 0u64;
    // Two uploads at once, as two trusts' feeds (or two pods) would send them.
    let chunks: Vec<(usize, usize)> = (0..responses)
        .step_by(BATCH)
        .map(|s| (s, (s + BATCH).min(responses)))
        .collect();
    let mut progress = crate::Progress::new("PostgreSQL ingest", responses as u64);
    for pair in chunks.chunks(2) {
        let calls = pair.iter().map(|&(from, to)| {
            let mut client = FeedbackServiceClient::new(channel.clone())
                .max_decoding_message_size(64 << 20)
                .max_encoding_message_size(64 << 20);
            let request = outgoing(
                SubmitFftResponsesRequest {
                    responses: (from..to).map(response).collect(),
                    dry_run: false,
                },
                &analyst,
            );
            async move {
                let t = Instant::now();
                let result = client.submit_fft_responses(request).await?.into_inner();
                anyhow::Ok((t.elapsed(), result.accepted as u64))
            }
        });
        for result in futures::future::join_all(calls).await {
            let (took, n) = result?;
            latencies.push(took);
            accepted += n;
        }
        progress.at(accepted);
    }
    let elapsed = started.elapsed();
    anyhow::ensure!(
        accepted == responses as u64,
        "PostgreSQL ingest accepted {accepted} of {responses}"
    );
    latencies.sort();
    let path = format!("PostgreSQL ingest ({responses} responses)");
    let rate = crate::record_rate(&path, responses, elapsed, "responses/s");
    let lat = crate::record_latencies(&path, &latencies);
    println!(
        "  PostgreSQL ingest ({responses} tagged responses, SubmitFftResponses over gRPC, {BATCH} a call, 2 calls at once; {SITES} sites, {TEAMS} teams, 2 in 5 with equality answers): {:.0} responses/s; per call p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        rate,
        lat.p50,
        lat.p95,
        lat.max,
    );

    // ---- 7: the dashboard's queries ----
    let mut client = FeedbackServiceClient::new(channel.clone());
    let summary = client
        .get_fft_summary(outgoing(GetFftSummaryRequest::default(), &analyst))
        .await?
        .into_inner();
    let counted: u64 = summary.months.iter().map(|m| m.total).sum();
    anyhow::ensure!(
        counted == responses as u64,
        "the summary counts {counted} of {responses}"
    );
    let site = |i: usize| FftFilter {
        site: format!("Site {}", i % SITES),
        ..Default::default()
    };
    let kinds: [(&str, MakeQuery); 4] = [
        (
            "month by month, the whole trust",
            Box::new(|_| Query::Summary(GetFftSummaryRequest::default())),
        ),
        (
            "month by month, one site",
            Box::new(move |i| {
                Query::Summary(GetFftSummaryRequest {
                    filter: Some(site(i)),
                    ..Default::default()
                })
            }),
        ),
        (
            "by team, one site, one year",
            Box::new(move |i| {
                Query::Breakdown(GetFftBreakdownRequest {
                    from_month: "2025-01".into(),
                    to_month: "2025-12".into(),
                    by: "team".into(),
                    filter: Some(site(i)),
                })
            }),
        ),
        (
            "by deprivation decile, one year",
            Box::new(|_| {
                Query::Breakdown(GetFftBreakdownRequest {
                    from_month: "2025-01".into(),
                    to_month: "2025-12".into(),
                    by: "imd_decile".into(),
                    filter: None,
                })
            }),
        ),
    ];
    let mut all = Vec::new();
    let mut lines = Vec::new();
    let started = Instant::now();
    for (name, make) in &kinds {
        let mut took = Vec::with_capacity(queries);
        for i in 0..queries {
            let t = Instant::now();
            match make(i) {
                Query::Summary(r) => {
                    client.get_fft_summary(outgoing(r, &analyst)).await?;
                }
                Query::Breakdown(r) => {
                    client.get_fft_breakdown(outgoing(r, &analyst)).await?;
                }
            }
            took.push(t.elapsed());
        }
        took.sort();
        lines.push(format!(
            "    {name}: p50 {:.1} ms, p95 {:.1} ms",
            percentile(&took, 50.0).as_secs_f64() * 1e3,
            percentile(&took, 95.0).as_secs_f64() * 1e3,
        ));
        all.extend(took);
    }
    let elapsed = started.elapsed();
    all.sort();
    let path = format!("FFT dashboard on PostgreSQL ({responses} responses)");
    let rate = crate::record_rate(&path, all.len(), elapsed, "calls/s");
    let lat = crate::record_latencies(&path, &all);
    println!(
        "  FFT dashboard over those {responses} responses ({} calls, {queries} of each kind, one after another, read from the rollups): {:.0} calls/s; p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        all.len(),
        rate,
        lat.p50,
        lat.p95,
        lat.p99,
        lat.max,
    );
    for line in lines {
        println!("{line}");
    }
    drop(svc);

    // ---- 8: themes and sentiment ----
    classify(comments);
    Ok(())
}

type MakeQuery = Box<dyn Fn(usize) -> Query>;

enum Query {
    Summary(GetFftSummaryRequest),
    Breakdown(GetFftBreakdownRequest),
}

/// The shipped model over `n` comments of the public set (repeated when `n` is more than it
/// holds), one thread.
fn classify(n: usize) {
    let (train, test) = alongside_themes::dataset::public_split();
    let pool: Vec<_> = train.into_iter().chain(test).collect();
    let model = alongside_themes::shipped();
    let mut took = Vec::with_capacity(n);
    let mut labelled = 0usize;
    let started = Instant::now();
    for i in 0..n {
        let comment = &pool[i % pool.len()];
        let t = Instant::now();
        let c = model.classify(&comment.input());
        took.push(t.elapsed());
        labelled += usize::from(!c.categories.is_empty());
    }
    let elapsed = started.elapsed();
    assert_eq!(labelled, n, "every comment has at least one category");
    took.sort();
    let mean_chars = pool.iter().map(|c| c.text.chars().count()).sum::<usize>() / pool.len().max(1);
    let path = format!("themes and sentiment ({n} comments)");
    let rate = crate::record_rate(&path, n, elapsed, "comments/s");
    let lat = crate::record_latencies(&path, &took);
    println!(
        "  Themes and sentiment ({n} comments of the public pxtextmining set, mean {mean_chars} characters, shipped model, one thread): {:.0} comments/s; per comment p50 {:.2} ms, p99 {:.2} ms",
        rate,
        lat.p50,
        lat.p99,
    );
}
