//! For any sequence of duplicated, reordered and replayed attendance events, with payment runs
//! confirmed part-way through, each attendance is paid exactly once, what stands for it is the
//! price of its latest revision, and the ledger balances to zero.
//!
//! Events go through the in-process broker in the generated order (one key, so one partition
//! keeps it) and are applied by the service's own consumer, in whatever batches it forms.

use std::collections::HashMap;
use std::time::Duration;

use alongside_events::testing::{eventually, TestService};
use alongside_events::topics::ENGAGEMENT_ACTIVITIES;
use alongside_events::Envelope;
use alongside_platform::grpc::outgoing;
use alongside_platform::testing::Backend;
use alongside_platform::{OdsCode, Role};
use alongside_proto::common::v1::PageRequest;
use alongside_proto::engagement::events::v1::{AttendanceCorrected, AttendanceRecorded};
use alongside_proto::payments::v1::payments_service_client::PaymentsServiceClient;
use alongside_proto::payments::v1::*;
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use tonic::transport::Channel;

const MINUTES: [u32; 6] = [0, 60, 180, 240, 241, 480];

/// The default card: £75 up to 4 hours, £150 beyond, nothing for no attendance.
fn price(minutes: u32) -> i64 {
    match minutes {
        0 => 0,
        1..=240 => 7_500,
        _ => 15_000,
    }
}

#[derive(Clone, Debug)]
struct Attendance {
    partner: usize,
    /// Minutes at revisions 1, 2, ...
    revisions: Vec<u32>,
}

#[derive(Clone, Debug)]
struct Plan {
    attendances: Vec<Attendance>,
    /// Extra deliveries: (attendance, revision, true for the same envelope again, false for the
    /// same attendance under a new event id).
    extras: Vec<(usize, usize, bool)>,
    seed: u64,
    /// Where in the shuffled sequence finance approve, run and confirm payments (percent).
    pay_at: usize,
}

fn plan() -> impl Strategy<Value = Plan> {
    let attendance = (
        0..2usize,
        prop::collection::vec(prop::sample::select(&MINUTES[1..]), 1..2),
    )
        .prop_flat_map(|(partner, first)| {
            prop::collection::vec(prop::sample::select(&MINUTES[..]), 0..3).prop_map(move |later| {
                let mut revisions = first.clone();
                revisions.extend(later);
                Attendance { partner, revisions }
            })
        });
    (
        prop::collection::vec(attendance, 1..5),
        prop::collection::vec((0..5usize, 0..3usize, any::<bool>()), 0..8),
        any::<u64>(),
        0..=100usize,
    )
        .prop_map(|(attendances, extras, seed, pay_at)| Plan {
            attendances,
            extras,
            seed,
            pay_at,
        })
}

fn state(i: usize, a: &Attendance, revision: usize) -> AttendanceRecorded {
    AttendanceRecorded {
        attendance_id: format!("att_prop{i}"),
        opportunity_id: "opp_prop".into(),
        partner_id: format!("ptn_prop{}", a.partner),
        minutes: a.revisions[revision],
        activity_kind: "forum_meeting".into(),
        involvement_level: 4,
        activity_date: "2026-11-20".into(),
        pathway: String::new(),
        cost_centre: String::new(),
        expenses_only: false,
        revision: revision as u32 + 1,
    }
}

fn envelope(a: AttendanceRecorded) -> Envelope {
    let tenant = OdsCode::parse("RZA").unwrap();
    let now = alongside_platform::testing::clock().now();
    if a.revision == 1 {
        Envelope::new(&tenant, &a, now)
    } else {
        Envelope::new(
            &tenant,
            &AttendanceCorrected {
                attendance: Some(a),
                corrected_at: "2026-11-21T09:00:00Z".into(),
            },
            now,
        )
    }
}

struct Run {
    svc: TestService,
    client: PaymentsServiceClient<Channel>,
    finance: String,
    markers: usize,
}

impl Run {
    /// Publishes a fresh attendance after everything else and waits for its claim: the
    /// partition's order means all before it has been applied.
    async fn settle(&mut self) {
        self.markers += 1;
        let marker = format!("att_marker{}", self.markers);
        let event = AttendanceRecorded {
            attendance_id: marker.clone(),
            partner_id: "ptn_marker".into(),
            ..state(
                0,
                &Attendance {
                    partner: 0,
                    revisions: vec![60],
                },
                0,
            )
        };
        self.svc
            .publish_raw(ENGAGEMENT_ACTIVITIES, "opp_prop", &envelope(event).encode())
            .await;
        let (client, finance) = (self.client.clone(), self.finance.clone());
        eventually(Duration::from_secs(30), || {
            let mut client = client.clone();
            let finance = finance.clone();
            let marker = marker.clone();
            async move {
                let claims = all_claims(&mut client, &finance).await;
                claims
                    .iter()
                    .any(|c| c.attendance_id == marker)
                    .then_some(())
            }
        })
        .await
        .expect("the consumer reaches the marker");
    }

    /// Finance approve everything waiting, then run and confirm a payment.
    async fn pay(&mut self) {
        let waiting: Vec<String> = all_claims(&mut self.client, &self.finance)
            .await
            .into_iter()
            .filter(|c| c.status == "awaiting_approval")
            .map(|c| c.id)
            .collect();
        if !waiting.is_empty() {
            self.client
                .decide_claims(outgoing(
                    DecideClaimsRequest {
                        claim_ids: waiting,
                        decision: "approve".into(),
                        reason: String::new(),
                    },
                    &self.finance,
                ))
                .await
                .expect("approved");
        }
        let run = self
            .client
            .create_payment_run(outgoing(
                CreatePaymentRunRequest {
                    up_to: "2026-12-31".into(),
                },
                &self.finance,
            ))
            .await;
        if let Ok(run) = run {
            self.client
                .confirm_payment_run(outgoing(
                    PaymentRunAction {
                        id: run.into_inner().id,
                    },
                    &self.finance,
                ))
                .await
                .expect("confirmed");
        }
    }
}

async fn all_claims(client: &mut PaymentsServiceClient<Channel>, token: &str) -> Vec<Claim> {
    let mut out = Vec::new();
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
                token,
            ))
            .await
            .expect("listed")
            .into_inner();
        let done = listed.claims.len() < 200;
        out.extend(listed.claims);
        if done {
            break;
        }
    }
    out
}

async fn check(plan: Plan) -> Result<(), TestCaseError> {
    let svc = TestService::start("payments", Backend::Sqlite, alongside_payments::start).await;
    let client = PaymentsServiceClient::connect(svc.url()).await.unwrap();
    let finance = svc.token("RZA", Role::Finance);
    let mut run = Run {
        svc,
        client,
        finance,
        markers: 0,
    };

    // Every revision once, then the extras, all shuffled.
    let mut deliveries: Vec<Vec<u8>> = Vec::new();
    let mut sent: HashMap<(usize, usize), Vec<u8>> = HashMap::new();
    for (i, a) in plan.attendances.iter().enumerate() {
        for r in 0..a.revisions.len() {
            let bytes = envelope(state(i, a, r)).encode();
            sent.insert((i, r), bytes.clone());
            deliveries.push(bytes);
        }
    }
    for (i, r, same) in &plan.extras {
        let i = i % plan.attendances.len();
        let a = &plan.attendances[i];
        let r = r % a.revisions.len();
        deliveries.push(if *same {
            sent[&(i, r)].clone()
        } else {
            envelope(state(i, a, r)).encode()
        });
    }
    deliveries.shuffle(&mut rand::rngs::StdRng::seed_from_u64(plan.seed));
    let split = deliveries.len() * plan.pay_at / 100;
    for bytes in &deliveries[..split] {
        run.svc
            .publish_raw(ENGAGEMENT_ACTIVITIES, "opp_prop", bytes)
            .await;
    }
    run.settle().await;
    run.pay().await;
    for bytes in &deliveries[split..] {
        run.svc
            .publish_raw(ENGAGEMENT_ACTIVITIES, "opp_prop", bytes)
            .await;
    }
    run.settle().await;
    run.pay().await;

    let claims = all_claims(&mut run.client, &run.finance).await;
    for (i, a) in plan.attendances.iter().enumerate() {
        let id = format!("att_prop{i}");
        let mains: Vec<&Claim> = claims
            .iter()
            .filter(|c| c.kind == "attendance" && c.attendance_id == id)
            .collect();
        prop_assert_eq!(mains.len(), 1, "one claim for {}", id);
        let standing: i64 = claims
            .iter()
            .filter(|c| c.attendance_id == id)
            .filter(|c| {
                ["awaiting_approval", "approved", "in_run", "paid"].contains(&c.status.as_str())
            })
            .map(|c| c.involvement_pence)
            .sum();
        let latest = *a.revisions.last().unwrap();
        prop_assert_eq!(
            standing,
            price(latest),
            "{} ends at its latest revision ({} minutes)",
            id,
            latest
        );
    }
    // Paid once: what left the bank for each partner is what their paid claims add up to.
    for partner in ["ptn_prop0", "ptn_prop1", "ptn_marker"] {
        let paid: i64 = claims
            .iter()
            .filter(|c| c.partner_id == partner && c.status == "paid")
            .map(|c| c.amount.map(|m| m.pence).unwrap_or(0))
            .sum();
        let account = run
            .client
            .get_partner_account(outgoing(
                GetPartnerAccountRequest {
                    partner_id: partner.into(),
                    page: None,
                },
                &run.finance,
            ))
            .await
            .unwrap()
            .into_inner();
        prop_assert_eq!(account.paid_pence, paid, "{} paid once", partner);
    }
    let ledger = run
        .client
        .check_ledger(outgoing(CheckLedgerRequest {}, &run.finance))
        .await
        .unwrap()
        .into_inner();
    prop_assert!(ledger.balanced, "{:?}", ledger);
    prop_assert_eq!(ledger.sum_pence, 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        // Each case starts a service: shrinking stays short.
        max_shrink_iters: 16,
        ..ProptestConfig::default()
    })]

    #[test]
    fn each_attendance_is_paid_exactly_once_and_the_ledger_balances(plan in plan()) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(check(plan))?;
    }
}
