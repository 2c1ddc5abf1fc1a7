//! Fault test (issue 5): payments is killed outright and the broker stalls at random points while
//! 10,000 attendances (some sent twice) flow through Tansu; afterwards every attendance has
//! exactly one claim and the ledger balances. The points come from a seed that is printed
//! (`ALONGSIDE_FAULT_SEED` replays one).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use alongside_events::envelope::Envelope;
use alongside_events::topics::ENGAGEMENT_ACTIVITIES;
use alongside_platform::auth::TokenSigner;
use alongside_platform::config::AuthSettings;
use alongside_platform::grpc::outgoing;
use alongside_platform::testing::{Backend, TestDatabase};
use alongside_platform::{Caller, OdsCode, Role};
use alongside_proto::common::v1::PageRequest;
use alongside_proto::engagement::events::v1::AttendanceRecorded;
use alongside_proto::payments::v1::payments_service_client::PaymentsServiceClient;
use alongside_proto::payments::v1::*;
use alongside_tests::{eventually, ServiceProcess, Tansu};
use rand::{Rng, SeedableRng};
use rdkafka::producer::{FutureProducer, FutureRecord};

const ATTENDANCES: usize = 10_000;
const CHUNK: usize = 250;

fn attendance(i: usize) -> AttendanceRecorded {
    AttendanceRecorded {
        attendance_id: format!("att_fault{i:06}"),
        opportunity_id: format!("opp_fault{:03}", i % 60),
        partner_id: format!("ptn_fault{:04}", i % 700),
        minutes: if i.is_multiple_of(4) { 420 } else { 150 },
        activity_kind: "forum_meeting".into(),
        involvement_level: 4,
        activity_date: "2026-11-20".into(),
        pathway: String::new(),
        cost_centre: String::new(),
        expenses_only: false,
        revision: 1,
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// SIGKILL mid-stream, started again a moment later.
    CrashPayments,
    /// SIGSTOP the broker for a few seconds, then SIGCONT.
    StallBroker,
}

async fn send(producer: &FutureProducer, bytes: &[u8], key: &str) {
    // Retried until the broker takes it: a stalled broker delays the producer too.
    loop {
        let record = FutureRecord::to(ENGAGEMENT_ACTIVITIES)
            .key(key)
            .payload(bytes);
        if producer.send(record, Duration::from_secs(30)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn count(
    client: &mut PaymentsServiceClient<tonic::transport::Channel>,
    token: &str,
) -> Option<u64> {
    let request = ListClaimsRequest {
        page: Some(PageRequest {
            page: 1,
            page_size: 1,
        }),
        ..Default::default()
    };
    client
        .list_claims(outgoing(request, token))
        .await
        .ok()?
        .into_inner()
        .page
        .map(|p| p.total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attendance_has_exactly_one_claim_after_crashes_and_broker_stalls() {
    let seed: u64 = std::env::var("ALONGSIDE_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("fault seed {seed} (ALONGSIDE_FAULT_SEED={seed} replays these faults)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let chunks = ATTENDANCES / CHUNK;
    // Two crashes and two stalls, each after a chunk chosen at random.
    let mut faults: Vec<(usize, Fault)> = Vec::new();
    for fault in [
        Fault::CrashPayments,
        Fault::CrashPayments,
        Fault::StallBroker,
        Fault::StallBroker,
    ] {
        faults.push((rng.gen_range(1..chunks), fault));
    }
    faults.sort_by_key(|(at, _)| *at);
    eprintln!("faults after chunks: {faults:?}");

    let tansu = Tansu::start().await;
    let db = TestDatabase::create(Backend::Postgres, "faults_payments").await;
    let env = vec![
        ("DATABASE_URL".to_string(), db.url.clone()),
        ("ALONGSIDE_KAFKA__BROKERS".into(), tansu.brokers.clone()),
        ("ALONGSIDE_KAFKA__CREATE_TOPICS".into(), "false".into()),
        (
            "ALONGSIDE_AUTH__INTERNAL_TOKEN_KEY".into(),
            alongside_tests::internal_token_key(),
        ),
        ("ALONGSIDE_TELEMETRY__LOG_LEVEL".into(), "info".into()),
    ];
    let mut payments = ServiceProcess::spawn("payments", env).await;
    let token = TokenSigner::new(&AuthSettings {
        internal_token_key: alongside_tests::internal_token_key().into(),
        token_ttl_seconds: 3_600,
        bank_details_key: String::new().into(),
    })
    .sign(&Caller {
        subject: "usr_fault_finance".into(),
        tenant: OdsCode::parse("RZA").unwrap(),
        role: Role::Finance,
        ics: None,
    });
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &tansu.brokers)
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", "30000")
        .create()
        .unwrap();
    let tenant = OdsCode::parse("RZA").unwrap();
    let clock = alongside_platform::testing::clock();
    let started = Instant::now();
    let mut sent: Vec<(Vec<u8>, String)> = Vec::new();
    for chunk in 0..chunks {
        let mut sends = Vec::new();
        for i in chunk * CHUNK..(chunk + 1) * CHUNK {
            let event = attendance(i);
            let bytes = Envelope::new(&tenant, &event, clock.now()).encode();
            sent.push((bytes, event.opportunity_id.clone()));
        }
        // Some of what was sent before, again: redeliveries.
        let again: Vec<usize> = (0..CHUNK / 10)
            .map(|_| rng.gen_range(0..sent.len()))
            .collect();
        for (bytes, key) in sent[chunk * CHUNK..]
            .iter()
            .chain(again.iter().map(|i| &sent[*i]))
        {
            sends.push(send(&producer, bytes, key));
        }
        futures::future::join_all(sends).await;
        for (_, fault) in faults.iter().filter(|(at, _)| *at == chunk) {
            match fault {
                Fault::CrashPayments => {
                    payments.kill().await;
                    // Started again once the broker has given up on the dead member (its session
                    // timeout is 10 s): Tansu 0.6 never hands the partitions to a member that
                    // joins while the dead one still counts, where Kafka would after its
                    // rebalance timeout.
                    tokio::time::sleep(Duration::from_millis(rng.gen_range(11_000..13_000))).await;
                    payments.start().await;
                }
                Fault::StallBroker => {
                    tansu.freeze().await;
                    tokio::time::sleep(Duration::from_millis(rng.gen_range(1_000..4_000))).await;
                    tansu.thaw().await;
                }
            }
            eprintln!("{fault:?} after chunk {chunk} ({:?} in)", started.elapsed());
        }
    }
    eprintln!("all sent after {:?}", started.elapsed());

    let mut client = PaymentsServiceClient::connect(payments.url())
        .await
        .unwrap();
    let all_made = eventually(Duration::from_secs(600), || {
        let mut client = client.clone();
        let token = token.clone();
        async move { (count(&mut client, &token).await? >= ATTENDANCES as u64).then_some(()) }
    })
    .await;
    let made = count(&mut client, &token).await;
    assert!(
        all_made.is_some(),
        "seed {seed}: {made:?} of {ATTENDANCES} claims after 10 minutes"
    );
    eprintln!("all claims made after {:?}", started.elapsed());
    // Whatever was still on its way lands before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut seen = HashSet::new();
    let mut total = 0;
    for page in 1.. {
        let listed = client
            .list_claims(outgoing(
                ListClaimsRequest {
                    page: Some(PageRequest {
                        page,
                        page_size: 200,
                    }),
                    sort: "created_at".into(),
                    ..Default::default()
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner();
        total += listed.claims.len();
        let done = listed.claims.len() < 200;
        seen.extend(listed.claims.into_iter().map(|c| c.attendance_id));
        if done {
            break;
        }
    }
    assert_eq!(
        total, ATTENDANCES,
        "seed {seed}: one claim per attendance, none twice"
    );
    assert_eq!(
        seen.len(),
        ATTENDANCES,
        "seed {seed}: every attendance claimed"
    );
    let ledger = client
        .check_ledger(outgoing(CheckLedgerRequest {}, &token))
        .await
        .unwrap()
        .into_inner();
    assert!(
        ledger.balanced,
        "seed {seed}: {:?}",
        ledger.unbalanced_journals
    );
    assert_eq!(
        ledger.journals as usize, ATTENDANCES,
        "one journal per claim made"
    );
    payments.terminate().await;
}
