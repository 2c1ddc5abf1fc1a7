//! Payments figures: (4) attendance events on `engagement.activities.v1` → the payments
//! consumer → claims, timed from the first send until payments holds a claim for each; (5) a
//! payment run over many approved claims, drafting and confirming each timed.

use alongside_platform::clock::{Clock, SystemClock};
use std::time::{Duration, Instant};

use alongside_events::envelope::Envelope;
use alongside_events::topics::ENGAGEMENT_ACTIVITIES;
use alongside_platform::{Caller, OdsCode, Role};
use alongside_proto::engagement::events::v1::AttendanceRecorded;
use alongside_proto::payments::v1 as payments;
use rdkafka::producer::FutureProducer;

/// Partners in the bench: each attendance goes to one of them.
const PARTNERS: usize = 10_000;

async fn claims_held(
    state: &alongside_gateway::AppState,
    finance: &Caller,
    status: &str,
) -> anyhow::Result<u64> {
    let request = payments::ListClaimsRequest {
        page: Some(alongside_proto::common::v1::PageRequest {
            page: 1,
            page_size: 1,
        }),
        status: status.into(),
        ..Default::default()
    };
    Ok(state
        .clients
        .payments()
        .list_claims(state.clients.request(finance, request))
        .await?
        .into_inner()
        .page
        .map_or(0, |p| p.total))
}

/// Sends attendances `from..to` and waits until payments holds `want` claims; the time taken.
async fn attend(
    suite: &alongside_suite::Suite,
    finance: &Caller,
    producer: &FutureProducer,
    from: usize,
    to: usize,
) -> anyhow::Result<Duration> {
    let state = suite.gateway_state();
    let tenant = OdsCode::parse("RZA")?;
    let before = claims_held(state, finance, "").await?;
    let started = Instant::now();
    let messages = (from..to).map(|i| {
        let event = AttendanceRecorded {
            attendance_id: format!("att_bench{i:09}"),
            opportunity_id: format!("opp_bench{:04}", i % 500),
            partner_id: format!("ptn_bench{:06}", i % PARTNERS),
            minutes: if i.is_multiple_of(3) { 420 } else { 180 },
            activity_kind: ["forum_meeting", "mdt_seat", "pathway_redesign"][i % 3].into(),
            involvement_level: 4,
            activity_date: super::day(i),
            pathway: ["rheumatology", "pain", "spinal", ""][i % 4].into(),
            cost_centre: format!("CC-44{:02}", i % 20),
            expenses_only: false,
            revision: 1,
        };
        (
            event.opportunity_id.clone(),
            Envelope::new(&tenant, &event, SystemClock.now()).encode(),
        )
    });
    let delivered = super::send_all(producer, ENGAGEMENT_ACTIVITIES, messages).await;
    anyhow::ensure!(
        delivered == to - from,
        "the broker accepted {delivered} of {} attendances",
        to - from
    );
    let want = before + delivered as u64;
    loop {
        if claims_held(state, finance, "").await? >= want {
            return Ok(started.elapsed());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1_800),
            "claims not made within 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn bench(
    suite: &alongside_suite::Suite,
    burst: usize,
    run_claims: usize,
) -> anyhow::Result<()> {
    let state = suite.gateway_state();
    let finance = Caller {
        subject: "usr_bench_finance".into(),
        tenant: OdsCode::parse("RZA")?,
        role: Role::Finance,
        ics: None,
    };
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", suite.kafka_bootstrap())
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .set("message.timeout.ms", "15000")
        .create()?;

    // (4) one burst, as engagement would publish it after a busy week of attendance.
    let took = attend(suite, &finance, &producer, 0, burst).await?;
    let rate = crate::record_rate(
        &format!("attendance → claims ({burst} events)"),
        burst,
        took,
        "attendances/s",
    );
    println!(
        "  Attendance → claims ({burst} AttendanceRecorded on engagement.activities.v1 → payments consumer, batched transactions): all {burst} claims made {:.2} s after the first send: {:.0} attendances/s end to end",
        took.as_secs_f64(),
        rate
    );

    // (5) more attendance, in bursts the in-process broker takes, up to `run_claims`.
    let mut made = burst;
    while made < run_claims {
        let next = (made + burst).min(run_claims);
        attend(suite, &finance, &producer, made, next).await?;
        made = next;
    }
    let approving = Instant::now();
    let mut approved = 0usize;
    loop {
        let request = payments::ListClaimsRequest {
            page: Some(alongside_proto::common::v1::PageRequest {
                page: 1,
                page_size: 200,
            }),
            status: "awaiting_approval".into(),
            sort: "created_at".into(),
            ..Default::default()
        };
        let waiting = state
            .clients
            .payments()
            .list_claims(state.clients.request(&finance, request))
            .await?
            .into_inner()
            .claims;
        if waiting.is_empty() {
            break;
        }
        let ids: Vec<String> = waiting.into_iter().map(|c| c.id).collect();
        let decided = state
            .clients
            .payments()
            .decide_claims(state.clients.request(
                &finance,
                payments::DecideClaimsRequest {
                    claim_ids: ids,
                    decision: "approve".into(),
                    reason: String::new(),
                },
            ))
            .await?
            .into_inner();
        approved += decided.decided.len();
    }
    let approving = approving.elapsed();
    let rate = crate::record_rate(
        &format!("approval ({approved} claims)"),
        approved,
        approving,
        "claims/s",
    );
    println!(
        "  Approval ({approved} claims, DecideClaims 200 a call after listing them): {:.1} s, {:.0} claims/s",
        approving.as_secs_f64(),
        rate
    );

    let drafting = Instant::now();
    let run = state
        .clients
        .payments()
        .create_payment_run(state.clients.request(
            &finance,
            payments::CreatePaymentRunRequest {
                up_to: "2030-12-31".into(),
            },
        ))
        .await?
        .into_inner();
    let drafted = drafting.elapsed();
    let confirming = Instant::now();
    let confirmed = state
        .clients
        .payments()
        .confirm_payment_run(
            state
                .clients
                .request(&finance, payments::PaymentRunAction { id: run.id.clone() }),
        )
        .await?
        .into_inner();
    let confirmed_in = confirming.elapsed();
    anyhow::ensure!(
        confirmed.claim_count as usize == approved,
        "the run holds {} of {approved} approved claims",
        confirmed.claim_count
    );
    let paid = claims_held(state, &finance, "paid").await?;
    let ledger = state
        .clients
        .payments()
        .check_ledger(
            state
                .clients
                .request(&finance, payments::CheckLedgerRequest {}),
        )
        .await?
        .into_inner();
    anyhow::ensure!(
        ledger.balanced,
        "the ledger does not balance: {:?}",
        ledger.unbalanced_journals.len()
    );
    let path = format!("payment run ({} claims)", confirmed.claim_count);
    crate::record(&path, "drafted", drafted.as_secs_f64(), "s");
    crate::record(&path, "in all", (drafted + confirmed_in).as_secs_f64(), "s");
    println!(
        "  Payment run ({} approved claims of {} partners, {}): drafted in {:.2} s, confirmed (claims paid, a ledger journal and a PaymentIssued event a partner) in {:.2} s: {:.2} s in all; {paid} claims paid, ledger balanced over {} entries",
        confirmed.claim_count,
        confirmed.partner_count,
        alongside_platform::money::Pence(confirmed.total.map_or(0, |m| m.pence)).display(),
        drafted.as_secs_f64(),
        confirmed_in.as_secs_f64(),
        (drafted + confirmed_in).as_secs_f64(),
        ledger.entries,
    );

    // (5b) spend over those claims: finance's as it is, an analyst's as protected months.
    let analyst = Caller {
        subject: "usr_bench_analyst".into(),
        role: Role::Analyst,
        ..finance.clone()
    };
    // Cost centres are typed, so readers of figures are not given them.
    let every: &[&str] = &["pathway", "kind", "cost_centre", "month"];
    let listed: &[&str] = &["pathway", "kind", "month"];
    for (who, caller, groups) in [
        ("finance", &finance, every),
        ("an analyst", &analyst, listed),
    ] {
        let mut took = Vec::new();
        let mut hidden = 0;
        let mut rows = 0;
        for i in 0..SPEND_CALLS {
            let request = payments::SpendReportRequest {
                group_by: groups[i % groups.len()].into(),
                basis: "committed".into(),
                ..Default::default()
            };
            let started = Instant::now();
            let report = state
                .clients
                .payments()
                .spend_report(state.clients.request(caller, request))
                .await?
                .into_inner();
            took.push(started.elapsed());
            rows = report.rows.len();
            hidden = report.rows.iter().filter(|r| r.suppressed).count();
        }
        took.sort();
        let lat = crate::record_latencies(&format!("spend for {who} ({paid} claims)"), &took);
        println!(
            "  Spend for {who} ({paid} claims over 600 days, SpendReport by {} in turn, {SPEND_CALLS} calls): p50 {:.1} ms, p95 {:.1} ms; the last {rows} rows, {hidden} hidden",
            groups.join(", "),
            lat.p50,
            lat.p95,
        );
    }
    Ok(())
}

/// How many spend reports each reader asks for.
const SPEND_CALLS: usize = 20;
