//! `make bench`: pushes FFT responses through the embedded suite and prints figures.
//!
//! Three measurements, each end to end: (1) the HTTP API of the gateway in batches (→ gRPC →
//! feedback → SQLite), with per-call latency percentiles; (2) the `feedback.responses.v1` topic
//! (→ consumer → inbox + store), timed until the gateway's summary shows every response; (3) the
//! People Bank's list and search API over a bank of 100,000 partners, with latency percentiles;
//! (4) attendance events becoming claims and (5) a payment run over 100,000 approved claims;
//! (6–8) on PostgreSQL, a million FFT responses stored, the dashboard's queries over them, and
//! comments labelled with themes; (9) the ICS dashboard, page and JSON, over five million
//! responses across ten trusts; (10) an opportunity's shortlist from a bank of 100,000 partners
//! with 1,000,000 past attendances.

#[path = "../bench/engagement.rs"]
mod engagement;
#[path = "../bench/feedback.rs"]
mod feedback;
#[path = "../bench/ics.rs"]
mod ics;
#[path = "../bench/payments.rs"]
mod payments;

use alongside_platform::clock::{Clock, SystemClock};
use std::time::{Duration, Instant};

use alongside_events::envelope::Envelope;
use alongside_events::topics::FEEDBACK_RESPONSES;
use alongside_platform::{Caller, OdsCode, Role};
use alongside_proto::feedback::events::v1::FftResponseReceived;
use alongside_proto::feedback::v1::{FftAnswer, FftResponse, GetFftSummaryRequest};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{json, Value};

const ANSWERS: [&str; 6] = [
    "very_good",
    "good",
    "neither",
    "poor",
    "very_poor",
    "dont_know",
];

/// The sizes of each phase: `alongside-bench --help` lists them with their defaults (a full run,
/// about an hour on two cores); an unknown flag is refused.
#[derive(clap::Parser, Debug)]
#[command(
    name = "alongside-bench",
    about = "Pushes work through the embedded suite and prints figures"
)]
struct Args {
    /// FFT responses through the HTTP API (phase 1).
    #[arg(long, default_value_t = 100_000)]
    responses: usize,
    /// Responses per HTTP call.
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// FFT responses through `feedback.responses.v1` (phase 2). The in-process broker stops
    /// accepting a single burst somewhere between 20,000 and 50,000 messages (see README).
    #[arg(long, default_value_t = 20_000)]
    kafka_responses: usize,
    /// Partners in the People Bank (phase 3).
    #[arg(long, default_value_t = 100_000)]
    partners: usize,
    /// List and search calls over the bank.
    #[arg(long, default_value_t = 1_000)]
    searches: usize,
    /// Attendances becoming claims (phase 4).
    #[arg(long, default_value_t = 20_000)]
    attendances: usize,
    /// Approved claims in one payment run (phase 5).
    #[arg(long, default_value_t = 100_000)]
    run_claims: usize,
    /// FFT responses stored in PostgreSQL (phase 6).
    #[arg(long, default_value_t = 1_000_000)]
    pg_responses: usize,
    /// Dashboard queries over them (phase 7).
    #[arg(long, default_value_t = 200)]
    dashboard_queries: usize,
    /// Comments labelled with themes (phase 8).
    #[arg(long, default_value_t = 10_000)]
    comments: usize,
    /// FFT responses across the ten trusts of the bench ICS (phase 9).
    #[arg(long, default_value_t = 5_000_000)]
    ics_responses: usize,
    /// Requests of each ICS dashboard view.
    #[arg(long, default_value_t = 50)]
    ics_queries: usize,
    /// Past attendances behind the shortlist (phase 10).
    #[arg(long, default_value_t = 1_000_000)]
    past_attendances: usize,
    /// Shortlists asked for.
    #[arg(long, default_value_t = 200)]
    shortlists: usize,
    /// The largest month protected in phase 9b, in responses a trust (of 200, 2,000 and
    /// 20,000; 0 skips the phase).
    #[arg(long, default_value_t = 20_000)]
    protection_max: usize,
    /// Also write every figure to this file as JSON (the command, the machine and one row a
    /// figure), to compare two runs or make the README's table (scripts/bench-table.py).
    #[arg(long, value_name = "FILE")]
    json: Option<std::path::PathBuf>,
}

/// Every figure the run prints, for `--json`.
static FIGURES: std::sync::Mutex<Vec<Value>> = std::sync::Mutex::new(Vec::new());

/// Records one figure of a path: `value` in `unit`.
pub(crate) fn record(path: &str, figure: &str, value: f64, unit: &str) {
    if let Ok(mut figures) = FIGURES.lock() {
        figures.push(json!({ "path": path, "figure": figure, "value": value, "unit": unit }));
    }
}

/// A path's latencies in ms, as recorded and printed.
pub(crate) struct Latencies {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// Records the p50, p95, p99 and slowest of `sorted` latencies of a path, in ms, and returns
/// them for the printed line.
pub(crate) fn record_latencies(path: &str, sorted: &[Duration]) -> Latencies {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let l = Latencies {
        p50: ms(percentile(sorted, 50.0)),
        p95: ms(percentile(sorted, 95.0)),
        p99: ms(percentile(sorted, 99.0)),
        max: ms(sorted.last().copied().unwrap_or_default()),
    };
    for (figure, value) in [
        ("p50", l.p50),
        ("p95", l.p95),
        ("p99", l.p99),
        ("max", l.max),
    ] {
        record(path, figure, value, "ms");
    }
    l
}

/// Records how many of `count` a path did a second over `elapsed`, and returns it.
pub(crate) fn record_rate(path: &str, count: usize, elapsed: Duration, unit: &str) -> f64 {
    let rate = count as f64 / elapsed.as_secs_f64().max(f64::EPSILON);
    record(path, "throughput", rate, unit);
    rate
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// How far a long phase has got, said on stderr at most every ten seconds.
pub(crate) struct Progress {
    label: &'static str,
    total: u64,
    started: Instant,
    said: Instant,
}

impl Progress {
    pub(crate) fn new(label: &'static str, total: u64) -> Self {
        let now = Instant::now();
        Self {
            label,
            total,
            started: now,
            said: now,
        }
    }

    pub(crate) fn at(&mut self, done: u64) {
        if self.said.elapsed() >= Duration::from_secs(10) {
            self.said = Instant::now();
            eprintln!(
                "  … {}: {done} of {} ({:.0}%) after {:.0} s",
                self.label,
                self.total,
                done as f64 * 100.0 / self.total.max(1) as f64,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Sends every (key, payload) to `topic`, 5,000 in flight at most; how many the broker took.
pub(crate) async fn send_all(
    producer: &FutureProducer,
    topic: &str,
    messages: impl Iterator<Item = (String, Vec<u8>)>,
) -> usize {
    let mut delivered = 0;
    let mut sends = Vec::with_capacity(5_000);
    for (key, payload) in messages {
        let producer = producer.clone();
        let topic = topic.to_string();
        sends.push(async move {
            producer
                .send(
                    FutureRecord::to(&topic).key(&key).payload(&payload),
                    Duration::from_secs(60),
                )
                .await
                .is_ok()
        });
        if sends.len() == 5_000 {
            delivered += futures::future::join_all(sends.drain(..))
                .await
                .into_iter()
                .filter(|ok| *ok)
                .count();
        }
    }
    delivered
        + futures::future::join_all(sends)
            .await
            .into_iter()
            .filter(|ok| *ok)
            .count()
}

pub(crate) fn day(i: usize) -> String {
    let start = time::macros::date!(2025 - 01 - 01);
    (start + time::Duration::days((i % 600) as i64)).to_string()
}

async fn total(state: &alongside_gateway::AppState, caller: &Caller) -> u64 {
    match state
        .clients
        .feedback()
        .get_fft_summary(
            state
                .clients
                .request(caller, GetFftSummaryRequest::default()),
        )
        .await
    {
        Ok(summary) => summary.into_inner().months.iter().map(|m| m.total).sum(),
        Err(_) => 0,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Args {
        responses,
        batch,
        kafka_responses,
        partners: bank,
        searches,
        attendances,
        run_claims,
        pg_responses,
        dashboard_queries,
        comments,
        ics_responses,
        ics_queries,
        past_attendances,
        shortlists,
        protection_max,
        json: json_file,
    } = <Args as clap::Parser>::parse();
    let data = tempfile::tempdir()?;
    let idle_before = rss_kib("VmRSS:");
    let started = Instant::now();
    let suite = alongside_suite::Suite::start(alongside_suite::Options {
        port: 0,
        data_dir: data.path().to_path_buf(),
        demo: false,
        grpc_base_port: None,
        // Released at once, but not while the demo data is still arriving.
        publication: alongside_platform::config::PublicationSettings {
            settle_seconds: 1,
            ..alongside_platform::config::PublicationSettings::at_once()
        },
        clock: Default::default(),
    })
    .await?;
    let startup = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = rss_kib("VmRSS:");
    let state = suite.gateway_state().clone();
    // The demo's trusts, known to the services (feedback counts responses of tenants only).
    alongside_gateway::seed::ensure_tenants(&state.db)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    alongside_gateway::seed::register_tenants(&state.db, &state.clients)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    alongside_gateway::seed::create_user(
        &state.db,
        "bench@rza.test",
        "Bench",
        "bench-password-123",
        "RZA",
        Role::Analyst,
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;

    println!(
        "Alongside benchmark: FFT responses through the embedded suite (SQLite, in-process Kafka)"
    );
    let command = format!("cargo run --release -p alongside-tests --bin alongside-bench -- --responses {responses} --batch {batch} --kafka-responses {kafka_responses} --partners {bank} --searches {searches} --attendances {attendances} --run-claims {run_claims} --pg-responses {pg_responses} --dashboard-queries {dashboard_queries} --comments {comments} --ics-responses {ics_responses} --ics-queries {ics_queries} --past-attendances {past_attendances} --shortlists {shortlists} --protection-max {protection_max}");
    println!("  command: {command}");
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    record("startup", "time", startup.as_secs_f64(), "s");
    record("startup", "idle RSS", (idle_rss / 1024) as f64, "MiB");
    println!("  machine: {cores} cores");
    println!(
        "  startup: {:.2} s; RSS before start {} MiB, idle after start {} MiB",
        startup.as_secs_f64(),
        idle_before / 1024,
        idle_rss / 1024
    );

    // ---- path 1: HTTP API → gateway → gRPC → feedback ----
    let http = reqwest::Client::builder().cookie_store(true).build()?;
    let base = suite.url();
    let session: Value = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({ "email": "bench@rza.test", "password": "bench-password-123" }))
        .send()
        .await?
        .json()
        .await?;
    let csrf = session["csrf_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut latencies = Vec::new();
    let api_start = Instant::now();
    let mut accepted = 0u64;
    for chunk_start in (0..responses).step_by(batch) {
        let end = (chunk_start + batch).min(responses);
        let body: Vec<Value> = (chunk_start..end)
            .map(|i| json!({ "response_id": format!("api-{i}"), "source": "sms", "answer": ANSWERS[i % 6], "responded_on": day(i) }))
            .collect();
        let t = Instant::now();
        let result: Value = http
            .post(format!("{base}/api/v1/feedback/fft-responses"))
            .header("x-csrf-token", &csrf)
            .json(&json!({ "responses": body }))
            .send()
            .await?
            .json()
            .await?;
        latencies.push(t.elapsed());
        accepted += result["accepted"].as_u64().unwrap_or(0);
    }
    let api_elapsed = api_start.elapsed();
    anyhow::ensure!(
        accepted == responses as u64,
        "API path accepted {accepted} of {responses}"
    );
    latencies.sort();
    let api = format!("HTTP API ingest ({responses} responses, {batch} a call)");
    let rate = record_rate(&api, responses, api_elapsed, "responses/s");
    let lat = record_latencies(&api, &latencies);
    println!(
        "  API path ({responses} responses, POST /api/v1/feedback/fft-responses, {batch} per call): {:.0} responses/s; per call p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        rate,
        lat.p50,
        lat.p95,
        lat.p99,
        lat.max,
    );

    // ---- path 2: Kafka topic → consumer → feedback ----
    let caller = Caller {
        subject: "bench".into(),
        tenant: OdsCode::parse("RZA")?,
        role: Role::Analyst,
        ics: None,
    };
    let before = total(&state, &caller).await;
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", suite.kafka_bootstrap())
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        // Bounded: a broker that stops accepting shows as failed sends, not a hang.
        .set("message.timeout.ms", "15000")
        .create()?;
    let tenant = OdsCode::parse("RZA")?;
    let kafka_start = Instant::now();
    let messages = (0..kafka_responses).map(|i| {
        let answer = [
            FftAnswer::VeryGood,
            FftAnswer::Good,
            FftAnswer::Neither,
            FftAnswer::Poor,
            FftAnswer::VeryPoor,
            FftAnswer::DontKnow,
        ][i % 6];
        let event = FftResponseReceived {
            response: Some(FftResponse {
                response_id: format!("kafka-{i}"),
                source: "kiosk".into(),
                answer: answer as i32,
                responded_on: day(i),
                ..Default::default()
            }),
        };
        (
            "RZA:kiosk".to_string(),
            Envelope::new(&tenant, &event, SystemClock.now()).encode(),
        )
    });
    let delivered = send_all(&producer, FEEDBACK_RESPONSES, messages).await;
    let produced = kafka_start.elapsed();
    if delivered < kafka_responses {
        println!("  Kafka path: the broker accepted {delivered} of {kafka_responses} messages (the rest timed out after 15 s)");
    }
    let want = before + delivered as u64;
    let mut peak = idle_rss;
    loop {
        peak = peak.max(rss_kib("VmRSS:"));
        let now = total(&state, &caller).await;
        if now >= want {
            break;
        }
        if kafka_start.elapsed() > Duration::from_secs(1_800) {
            anyhow::bail!(
                "topic path: only {} of {responses} responses counted after 30 minutes",
                now - before
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let kafka_elapsed = kafka_start.elapsed();
    let path = format!("Kafka topic ingest ({delivered} responses)");
    let rate = record_rate(&path, delivered, kafka_elapsed, "responses/s");
    record(&path, "peak RSS", (peak / 1024) as f64, "MiB");
    println!(
        "  Kafka path ({delivered} responses on feedback.responses.v1 → consumer, batched transactions): produced in {:.1} s; all counted after {:.1} s: {:.0} responses/s end to end",
        produced.as_secs_f64(),
        kafka_elapsed.as_secs_f64(),
        rate
    );
    println!(
        "  memory: peak RSS during the topic path {} MiB (high-water mark {} MiB)",
        peak / 1024,
        rss_kib("VmHWM:") / 1024
    );

    // ---- path 3: the People Bank list and search API over a large bank ----
    people_bank(&suite, data.path(), bank, searches).await?;
    equality_releases(2_000);

    // ---- paths 4 and 5: attendance → claims, and a payment run ----
    payments::bench(&suite, attendances, run_claims).await?;

    // ---- path 9: the ICS dashboard ----
    ics::bench(&suite, data.path(), ics_responses, ics_queries).await?;
    ics::protection(protection_max);

    // ---- path 10: matching ----
    engagement::bench(&suite, data.path(), bank, past_attendances, shortlists).await?;
    println!(
        "  memory: high-water mark after all paths {} MiB",
        rss_kib("VmHWM:") / 1024
    );
    record(
        "all paths",
        "RSS high-water mark",
        (rss_kib("VmHWM:") / 1024) as f64,
        "MiB",
    );
    suite.stop().await;

    // ---- paths 6 to 8: feedback on PostgreSQL, and the themes model ----
    feedback::bench(pg_responses, dashboard_queries, comments).await?;
    if let Some(file) = json_file {
        let figures = FIGURES.lock().map(|f| f.clone()).unwrap_or_default();
        let doc = json!({ "command": command, "cores": cores, "figures": figures });
        std::fs::write(&file, serde_json::to_string_pretty(&doc)?)?;
        println!("  figures written to {}", file.display());
    }
    Ok(())
}

const GIVEN: [&str; 24] = [
    "Asha", "Ben", "Chloe", "Dev", "Ella", "Femi", "Grace", "Hamid", "Isla", "Jack", "Kiran",
    "Leah", "Mohammed", "Niamh", "Olu", "Priya", "Quentin", "Rosa", "Sam", "Tariq", "Uma", "Vic",
    "Wen", "Yusuf",
];
const FAMILY: [&str; 40] = [
    "Patel", "Okafor", "Smith", "Jones", "Williams", "Brown", "Taylor", "Davies", "Evans",
    "Thomas", "Khan", "Ali", "Wilson", "Roberts", "Johnson", "Lewis", "Walker", "Robinson", "Wood",
    "Thompson", "White", "Watson", "Jackson", "Wright", "Green", "Harris", "Cooper", "King", "Lee",
    "Martin", "Clarke", "James", "Morgan", "Hughes", "Edwards", "Hill", "Moore", "Clark",
    "Harrison", "Scott",
];
const LOCALITIES: [&str; 6] = ["North", "South", "East", "West", "Central", "Coastal"];

/// Times two years of monthly equality releases of a bank of `bank` partners (30 joining and 10
/// leaving a month, answers spread over every code), each protected against up to 24 earlier
/// releases: the work of a month's first look at the representation page.
fn equality_releases(bank: usize) {
    use alongside_people::equality_release::{codes, release, Published, Snapshot};
    let mut next = alongside_platform::protection::attacker::seeded(3);
    let codes = codes();
    let mut people = std::collections::BTreeMap::new();
    let mut kept: Vec<(Snapshot, Published)> = Vec::new();
    let mut times = Vec::new();
    let mut joined = 0;
    for month in 0..25 {
        for _ in 0..if month == 0 { bank } else { 30 } {
            let answers = codes
                .iter()
                .map(|c| c[next(c.len() as u64) as usize].to_string())
                .collect();
            people.insert(format!("p{joined}"), answers);
            joined += 1;
        }
        for _ in 0..10 {
            let keys: Vec<String> = people.keys().cloned().collect();
            people.remove(&keys[next(keys.len() as u64) as usize]);
        }
        let now = Snapshot(people.clone());
        let earlier: Vec<(Snapshot, Published)> = kept.iter().rev().take(24).cloned().collect();
        let started = Instant::now();
        let shown = release(&earlier, &now);
        times.push(started.elapsed());
        kept.push((now, shown));
    }
    let last = *times.last().unwrap_or(&Duration::ZERO);
    times.sort();
    let path = format!("equality release ({bank} partners, 25 months)");
    record(
        &path,
        "median",
        percentile(&times, 50.0).as_secs_f64() * 1e3,
        "ms",
    );
    record(
        &path,
        "slowest",
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        "ms",
    );
    println!(
        "  equality release ({bank} partners, 25 months, each against up to 24 earlier): median {:.0} ms, slowest {:.0} ms, the 25th month's {:.0} ms",
        percentile(&times, 50.0).as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        last.as_secs_f64() * 1e3
    );
}

/// Fills people's database with `bank` partners of one trust (straight into the table: the
/// registration path is not what is measured here), then times list and search calls through
/// the gateway's API as an engagement lead.
async fn people_bank(
    suite: &alongside_suite::Suite,
    data: &std::path::Path,
    bank: usize,
    searches: usize,
) -> anyhow::Result<()> {
    use sea_orm::EntityTrait;
    let settings = alongside_platform::config::DatabaseSettings {
        url: format!("sqlite://{}/people.db", data.display()).into(),
        max_connections: 1,
        migrate_on_start: false,
    };
    let db = alongside_platform::db::connect(&settings).await?;
    let seeded = Instant::now();
    let statuses = ["active", "active", "active", "resting", "induction", "left"];
    for chunk_start in (0..bank).step_by(1_000) {
        let rows: Vec<alongside_people::partner::ActiveModel> = (chunk_start
            ..(chunk_start + 1_000).min(bank))
            .map(|i| {
                use sea_orm::ActiveValue::Set;
                alongside_people::partner::ActiveModel {
                    id: Set(format!("ptn_bench{i:010}")),
                    tenant_id: Set("RZA".into()),
                    given_name: Set(GIVEN[i % GIVEN.len()].into()),
                    family_name: Set(format!(
                        "{}{}",
                        FAMILY[(i / GIVEN.len()) % FAMILY.len()],
                        if i % 7 == 0 { "-Hughes" } else { "" }
                    )),
                    email: Set(format!("partner{i}@bench.example.org")),
                    phone: Set(String::new()),
                    locality: Set(LOCALITIES[i % LOCALITIES.len()].into()),
                    status: Set(statuses[i % statuses.len()].into()),
                    registered_at: Set(format!(
                        "2026-{:02}-{:02}T10:00:00Z",
                        1 + i % 12,
                        1 + i % 28
                    )),
                    registered_by: Set("bench".into()),
                    ics_id: Set("QZX".into()),
                    shared_from: Set(String::new()),
                    shared_from_tenant: Set(String::new()),
                    search_text: Set(alongside_people::partner::search_text(
                        GIVEN[i % GIVEN.len()],
                        &format!(
                            "{}{}",
                            FAMILY[(i / GIVEN.len()) % FAMILY.len()],
                            if i % 7 == 0 { "-Hughes" } else { "" }
                        ),
                        LOCALITIES[i % LOCALITIES.len()],
                    )),
                }
            })
            .collect();
        alongside_people::partner::Entity::insert_many(rows)
            .exec_without_returning(&db)
            .await?;
    }
    let seeded = seeded.elapsed();
    db.close().await?;

    let state = suite.gateway_state().clone();
    alongside_gateway::seed::create_user(
        &state.db,
        "bench-lead@rza.test",
        "Bench lead",
        "bench-password-123",
        "RZA",
        Role::EngagementLead,
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let http = reqwest::Client::builder().cookie_store(true).build()?;
    let base = suite.url();
    http.post(format!("{base}/api/v1/session"))
        .json(&json!({ "email": "bench-lead@rza.test", "password": "bench-password-123" }))
        .send()
        .await?
        .error_for_status()?;
    let pages = bank / 25;
    let queries: Vec<(&str, String)> = (0..searches)
        .map(|i| match i % 5 {
            0 => (
                "search by family name",
                format!(
                    "search={}&page={}",
                    FAMILY[i % FAMILY.len()].to_lowercase(),
                    1 + i % 3
                ),
            ),
            1 => (
                "search by part of a name",
                format!("search={}", &GIVEN[i % GIVEN.len()][..3].to_lowercase()),
            ),
            2 => (
                "search by locality, newest first",
                format!(
                    "search={}&sort=-registered_at",
                    LOCALITIES[i % LOCALITIES.len()]
                ),
            ),
            3 => (
                "page through everyone",
                format!("page={}", 1 + (i * 7919) % pages.max(1)),
            ),
            _ => (
                "filter by status",
                format!("status=resting&page={}", 1 + i % 40),
            ),
        })
        .collect();
    let mut all = Vec::with_capacity(searches);
    let mut by_kind: std::collections::BTreeMap<&str, Vec<Duration>> = Default::default();
    let started = Instant::now();
    for (kind, query) in &queries {
        let t = Instant::now();
        let response = http
            .get(format!("{base}/api/v1/partners?{query}&page_size=25"))
            .send()
            .await?;
        anyhow::ensure!(response.status() == 200, "{query}: {}", response.status());
        let body: Value = response.json().await?;
        anyhow::ensure!(
            body["page"]["total"].as_u64().unwrap_or(0) > 0,
            "{query} found nobody"
        );
        let took = t.elapsed();
        all.push(took);
        by_kind.entry(kind).or_default().push(took);
    }
    let elapsed = started.elapsed();
    all.sort();
    let path = format!("People Bank list and search ({bank} partners)");
    let rate = record_rate(&path, searches, elapsed, "calls/s");
    let lat = record_latencies(&path, &all);
    println!(
        "  People Bank ({bank} partners seeded in {:.1} s; {searches} calls of GET /api/v1/partners, 25 a page, one after another): {:.0} calls/s; p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        seeded.as_secs_f64(),
        rate,
        lat.p50,
        lat.p95,
        lat.p99,
        lat.max,
    );
    for (kind, mut took) in by_kind {
        took.sort();
        println!(
            "    {kind}: p50 {:.1} ms, p95 {:.1} ms",
            percentile(&took, 50.0).as_secs_f64() * 1e3,
            percentile(&took, 95.0).as_secs_f64() * 1e3,
        );
    }
    Ok(())
}

/// Waits until feedback's analytics stream has republished every changed month (no marks
/// left), up to five minutes; returns how long that took.
pub(crate) async fn settle(data: &std::path::Path) -> anyhow::Result<Duration> {
    use sea_orm::ConnectionTrait;
    let settings = alongside_platform::config::DatabaseSettings {
        url: format!("sqlite://{}/feedback.db", data.display()).into(),
        max_connections: 1,
        migrate_on_start: false,
    };
    let db = alongside_platform::db::connect(&settings).await?;
    let started = Instant::now();
    loop {
        let left = db
            .query_one(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM insight_changes",
            ))
            .await?
            .map(|r| r.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0);
        if left == 0 {
            return Ok(started.elapsed());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "the analytics stream still has {left} months to republish after five minutes"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
