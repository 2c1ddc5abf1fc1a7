//! Payments over real gRPC, on SQLite and PostgreSQL, fed attendance and partners through Kafka.

use std::time::Duration;

use alongside_events::testing::{eventually, read_events, TestService};
use alongside_events::topics::{
    ENGAGEMENT_ACTIVITIES, FEEDBACK_PLACES, PAYMENTS_CLAIMS, PEOPLE_PARTNERS,
};
use alongside_platform::error::field_errors;
use alongside_platform::grpc::outgoing;
use alongside_platform::testing::{backends, Backend};
use alongside_platform::Role;
use alongside_proto::common::v1::PageRequest;
use alongside_proto::engagement::events::v1::{AttendanceCorrected, AttendanceRecorded};
use alongside_proto::payments::events::v1::{ClaimCreated, PaymentIssued, PaymentRunCompleted};
use alongside_proto::payments::v1::payments_service_client::PaymentsServiceClient;
use alongside_proto::payments::v1::*;
use alongside_proto::people::events::v1::{
    PartnerBankDetailsChanged, PartnerPaymentTermsChanged, PartnerRegistered,
};
use tonic::transport::Channel;
use tonic::Code;

struct Harness {
    svc: TestService,
    client: PaymentsServiceClient<Channel>,
    finance: String,
}

impl Harness {
    async fn start(backend: Backend) -> Self {
        let svc = TestService::start("payments", backend, alongside_payments::start).await;
        let client = PaymentsServiceClient::connect(svc.url()).await.unwrap();
        let finance = svc.token("RZA", Role::Finance);
        Self {
            svc,
            client,
            finance,
        }
    }

    async fn attend(&self, a: AttendanceRecorded) {
        self.svc
            .publish(ENGAGEMENT_ACTIVITIES, "opp_1", "RZA", &a)
            .await;
    }

    async fn correct(&self, a: AttendanceRecorded) {
        let event = AttendanceCorrected {
            attendance: Some(a),
            corrected_at: "2026-11-21T10:00:00Z".into(),
        };
        self.svc
            .publish(ENGAGEMENT_ACTIVITIES, "opp_1", "RZA", &event)
            .await;
    }

    async fn registered(&self, tenant: &str, partner: &str) {
        let event = PartnerRegistered {
            partner_id: partner.into(),
            locality: "North".into(),
            status: "active".into(),
            registered_at: "2026-11-01T10:00:00Z".into(),
        };
        self.svc
            .publish(PEOPLE_PARTNERS, partner, tenant, &event)
            .await;
    }

    /// Publishes the partner's terms and waits until payments holds them.
    async fn terms(&self, partner: &str, preference: &str, reduced: i64, benefits: &[&str]) {
        let event = PartnerPaymentTermsChanged {
            partner_id: partner.into(),
            preference: preference.into(),
            reduced_amount_pence: reduced,
            receives_benefits: !benefits.is_empty(),
            benefits: benefits.iter().map(|b| b.to_string()).collect(),
            changed_at: "2026-11-02T10:00:00Z".into(),
        };
        self.svc
            .publish(PEOPLE_PARTNERS, partner, "RZA", &event)
            .await;
        let (client, finance) = (self.client.clone(), self.finance.clone());
        eventually(Duration::from_secs(20), || {
            let mut client = client.clone();
            let request = outgoing(
                GetPartnerAccountRequest {
                    partner_id: partner.into(),
                    page: None,
                },
                &finance,
            );
            let preference = preference.to_string();
            async move {
                let account = client.get_partner_account(request).await.ok()?.into_inner();
                (account.payment_preference == preference).then_some(())
            }
        })
        .await
        .expect("terms reach payments");
    }

    /// Every claim `token` sees, once there are at least `want`.
    async fn claims(&self, token: &str, want: usize) -> Vec<Claim> {
        let client = self.client.clone();
        eventually(Duration::from_secs(20), || {
            let mut client = client.clone();
            let request = outgoing(
                ListClaimsRequest {
                    page: Some(PageRequest {
                        page: 1,
                        page_size: 200,
                    }),
                    sort: "created_at".into(),
                    ..Default::default()
                },
                token,
            );
            async move {
                let claims = client.list_claims(request).await.ok()?.into_inner().claims;
                (claims.len() >= want).then_some(claims)
            }
        })
        .await
        .unwrap_or_default()
    }

    async fn claim_where(&self, check: impl Fn(&Claim) -> bool) -> Claim {
        let client = self.client.clone();
        let finance = self.finance.clone();
        eventually(Duration::from_secs(20), || {
            let mut client = client.clone();
            let request = outgoing(
                ListClaimsRequest {
                    page: Some(PageRequest {
                        page: 1,
                        page_size: 200,
                    }),
                    ..Default::default()
                },
                &finance,
            );
            let check = &check;
            async move {
                let claims = client.list_claims(request).await.ok()?.into_inner().claims;
                claims.into_iter().find(check)
            }
        })
        .await
        .expect("the claim arrives")
    }

    /// The spend report by pathway, as `token`'s holder reads it.
    async fn spend_by_pathway(&self, token: String) -> SpendReportResponse {
        self.client
            .clone()
            .spend_report(outgoing(
                SpendReportRequest {
                    group_by: "pathway".into(),
                    ..Default::default()
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    async fn decide(&self, ids: &[String], decision: &str, reason: &str) -> DecideClaimsResponse {
        self.client
            .clone()
            .decide_claims(outgoing(
                DecideClaimsRequest {
                    claim_ids: ids.to_vec(),
                    decision: decision.into(),
                    reason: reason.into(),
                },
                &self.finance,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    async fn ledger(&self) -> LedgerCheck {
        self.client
            .clone()
            .check_ledger(outgoing(CheckLedgerRequest {}, &self.finance))
            .await
            .unwrap()
            .into_inner()
    }
}

fn attended(attendance_id: &str, partner_id: &str, minutes: u32) -> AttendanceRecorded {
    AttendanceRecorded {
        attendance_id: attendance_id.into(),
        opportunity_id: "opp_1".into(),
        partner_id: partner_id.into(),
        minutes,
        activity_kind: "mdt_seat".into(),
        involvement_level: 4,
        activity_date: "2026-11-20".into(),
        pathway: "rheumatology".into(),
        cost_centre: "CC-4410".into(),
        expenses_only: false,
        revision: 1,
    }
}

fn pence(c: &Claim) -> i64 {
    c.amount.map(|m| m.pence).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_claim_per_attendance_whatever_is_redelivered() {
    for backend in backends() {
        let h = Harness::start(backend).await;
        let envelope = h
            .svc
            .publish(
                ENGAGEMENT_ACTIVITIES,
                "opp_1",
                "RZA",
                &attended("att_1", "ptn_a", 180),
            )
            .await;
        // Redelivery: the same event again. Replay: the same attendance under a new event id.
        h.svc
            .publish_raw(ENGAGEMENT_ACTIVITIES, "opp_1", &envelope.encode())
            .await;
        h.attend(attended("att_1", "ptn_a", 180)).await;
        // A full day, after them: once it is in, the earlier messages have all been processed.
        h.attend(attended("att_2", "ptn_b", 420)).await;

        let found = h.claims(&h.finance, 2).await;
        assert_eq!(found.len(), 2, "{backend:?}: one claim per attendance");
        let half = found.iter().find(|c| c.attendance_id == "att_1").unwrap();
        let day = found.iter().find(|c| c.attendance_id == "att_2").unwrap();
        assert_eq!((pence(half), half.rate_basis.as_str()), (7_500, "half_day"));
        assert_eq!((pence(day), day.rate_basis.as_str()), (15_000, "day"));
        assert_eq!(half.status, "awaiting_approval");
        assert_eq!(half.kind, "attendance");
        assert_eq!(
            (half.pathway.as_str(), half.cost_centre.as_str()),
            ("rheumatology", "CC-4410")
        );
        assert!(half.id.starts_with("clm_"));
        let ledger = h.ledger().await;
        assert!(ledger.balanced, "{backend:?}: {ledger:?}");
        assert_eq!(ledger.journals, 2, "one journal per claim made");

        let events =
            read_events(h.svc.brokers(), PAYMENTS_CLAIMS, 2, Duration::from_secs(20)).await;
        let created: Vec<ClaimCreated> = events.iter().map(|(_, e)| e.payload().unwrap()).collect();
        assert_eq!(created.len(), 2, "{backend:?}: one ClaimCreated per claim");
        assert!(
            events
                .iter()
                .any(|(key, _)| key.as_deref() == Some(b"ptn_a".as_slice())),
            "keyed by partner id"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrections_reprice_a_waiting_claim_and_adjust_an_approved_one() {
    for backend in backends() {
        let h = Harness::start(backend).await;
        h.attend(attended("att_c", "ptn_c", 180)).await;
        let first = h.claim_where(|c| c.attendance_id == "att_c").await;
        assert_eq!(pence(&first), 7_500);

        // Still awaiting approval: repriced in place, with a correcting journal.
        h.correct(AttendanceRecorded {
            revision: 2,
            ..attended("att_c", "ptn_c", 300)
        })
        .await;
        let repriced = h
            .claim_where(|c| c.attendance_id == "att_c" && pence(c) == 15_000)
            .await;
        assert_eq!(repriced.id, first.id, "{backend:?}: the same claim");
        let detail = h
            .client
            .clone()
            .get_claim(outgoing(
                GetClaimRequest {
                    id: first.id.clone(),
                },
                &h.finance,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            detail
                .history
                .iter()
                .map(|e| e.what.as_str())
                .collect::<Vec<_>>(),
            ["created", "corrected"]
        );
        assert_eq!(
            detail
                .ledger
                .iter()
                .filter(|e| e.kind == "correction")
                .count(),
            2
        );

        // A stale revision arriving late changes nothing.
        h.correct(AttendanceRecorded {
            revision: 1,
            ..attended("att_c", "ptn_c", 60)
        })
        .await;
        let decided = h
            .decide(std::slice::from_ref(&first.id), "approve", "")
            .await;
        assert_eq!(decided.decided.len(), 1, "{decided:?}");
        assert_eq!(pence(&decided.decided[0]), 15_000, "{backend:?}");

        // Approved: the claim stands and an adjustment claim carries the difference.
        h.correct(AttendanceRecorded {
            revision: 3,
            ..attended("att_c", "ptn_c", 120)
        })
        .await;
        let adjustment = h.claim_where(|c| c.kind == "adjustment").await;
        assert_eq!(pence(&adjustment), -7_500);
        assert_eq!(adjustment.adjusts_claim_id, first.id);
        assert_eq!(adjustment.attendance_id, "att_c");
        assert_eq!(adjustment.status, "awaiting_approval");
        let all = h.claims(&h.finance, 2).await;
        assert_eq!(all.len(), 2, "{backend:?}: no second attendance claim");

        // Corrected to none before approval: withdrawn, and the journal reverses it.
        h.attend(attended("att_z", "ptn_c", 60)).await;
        h.claim_where(|c| c.attendance_id == "att_z").await;
        h.correct(AttendanceRecorded {
            revision: 2,
            ..attended("att_z", "ptn_c", 0)
        })
        .await;
        let withdrawn = h
            .claim_where(|c| c.attendance_id == "att_z" && c.status == "withdrawn")
            .await;
        assert_eq!(pence(&withdrawn), 0);
        assert!(h.ledger().await.balanced, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_partners_choice_is_honoured() {
    for backend in backends() {
        let h = Harness::start(backend).await;
        for p in ["ptn_declines", "ptn_reduced"] {
            h.registered("RZA", p).await;
        }
        h.terms("ptn_declines", "declined", 0, &[]).await;
        h.terms("ptn_reduced", "reduced", 5_000, &[]).await;
        h.attend(attended("att_d", "ptn_declines", 480)).await;
        h.attend(attended("att_r", "ptn_reduced", 480)).await;
        h.attend(AttendanceRecorded {
            expenses_only: true,
            ..attended("att_e", "ptn_paid", 480)
        })
        .await;
        let claims = h.claims(&h.finance, 3).await;
        let of = |a: &str| {
            claims
                .iter()
                .find(|c| c.attendance_id == a)
                .unwrap()
                .clone()
        };
        let declined = of("att_d");
        assert_eq!(
            (
                pence(&declined),
                declined.status.as_str(),
                declined.rate_basis.as_str()
            ),
            (0, "no_payment", "declined"),
            "{backend:?}"
        );
        let reduced = of("att_r");
        assert_eq!(
            (pence(&reduced), reduced.status.as_str()),
            (5_000, "awaiting_approval")
        );
        assert_eq!(reduced.payment_preference, "reduced");
        let only = of("att_e");
        assert_eq!(
            (pence(&only), only.rate_basis.as_str()),
            (0, "expenses_only")
        );
        // Nothing to pay is nothing to approve.
        let refused = h
            .decide(std::slice::from_ref(&declined.id), "approve", "")
            .await;
        assert!(refused.decided.is_empty());
        assert!(refused.refused[0].reason.contains("not awaiting approval"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terms_that_arrive_late_reprice_what_is_not_yet_approved() {
    for backend in backends() {
        let h = Harness::start(backend).await;
        h.registered("RZA", "ptn_late").await;
        // Two attendances claimed before the partner's terms reach payments: priced as paid.
        h.attend(attended("att_1", "ptn_late", 480)).await;
        h.attend(attended("att_2", "ptn_late", 480)).await;
        let claims = h.claims(&h.finance, 2).await;
        assert!(claims.iter().all(|c| pence(c) == 15_000), "{backend:?}");
        let first = claims.iter().find(|c| c.attendance_id == "att_1").unwrap();
        let decided = h
            .decide(std::slice::from_ref(&first.id), "approve", "")
            .await;
        assert_eq!(decided.decided.len(), 1);

        // They decline payment: the claim still waiting is repriced, the approved one stands.
        h.terms("ptn_late", "declined", 0, &[]).await;
        let waiting = h
            .claim_where(|c| c.attendance_id == "att_2" && c.status == "no_payment")
            .await;
        assert_eq!(
            (
                pence(&waiting),
                waiting.rate_basis.as_str(),
                waiting.payment_preference.as_str()
            ),
            (0, "declined", "declined"),
            "{backend:?}"
        );
        let approved = h.claim_where(|c| c.attendance_id == "att_1").await;
        assert_eq!(
            (pence(&approved), approved.status.as_str()),
            (15_000, "approved")
        );

        // Then a reduced amount: the declined claim is priced at it again.
        h.terms("ptn_late", "reduced", 4_000, &[]).await;
        let reduced = h
            .claim_where(|c| c.attendance_id == "att_2" && c.status == "awaiting_approval")
            .await;
        assert_eq!(pence(&reduced), 4_000);
        let check = h.ledger().await;
        assert!(check.balanced, "{backend:?}: {check:?}");
    }
}

/// A JPEG's first bytes, enough for the receipt check.
fn jpeg() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend_from_slice(b"receipt photo");
    bytes
}

/// Today, as the services under test see it (`ALONGSIDE_TEST_TODAY` moves both).
fn today() -> String {
    alongside_platform::testing::clock().today().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expense_claims_carry_receipts_and_mileage_at_hmrc_rates() {
    for backend in backends() {
        let h = Harness::start(backend).await;
        h.registered("RZA", "ptn_e").await;
        h.terms("ptn_e", "paid", 0, &[]).await;
        let own = h.svc.token_for("RZA", Role::Partner, "ptn_e");
        let mut client = h.client.clone();

        let bad = SubmitExpenseClaimRequest {
            items: vec![
                ExpenseItemInput {
                    kind: "parking".into(),
                    amount_pence: 650,
                    spent_on: today(),
                    ..Default::default()
                },
                ExpenseItemInput {
                    kind: "mileage".into(),
                    miles_tenths: 0,
                    vehicle: "bicycle".into(),
                    passengers: 1,
                    spent_on: "2099-01-01".into(),
                    ..Default::default()
                },
                ExpenseItemInput {
                    kind: "travel".into(),
                    amount_pence: 420,
                    spent_on: today(),
                    receipt: Some(ReceiptUpload {
                        filename: "ticket.png".into(),
                        content_type: "image/png".into(),
                        content: b"MZ not an image".to_vec(),
                    }),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let refused = client
            .submit_expense_claim(outgoing(bad, &own))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        let fields: Vec<String> = field_errors(&refused)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "items[0].receipt",
                "items[1].spent_on",
                "items[1].miles_tenths",
                "items[1].passengers",
                "items[2].receipt"
            ],
            "{backend:?}"
        );
        assert!(h.claims(&h.finance, 0).await.is_empty(), "nothing stored");

        let good = SubmitExpenseClaimRequest {
            description: "Forum meeting, 20 November".into(),
            items: vec![
                ExpenseItemInput {
                    kind: "parking".into(),
                    amount_pence: 650,
                    spent_on: today(),
                    receipt: Some(ReceiptUpload {
                        filename: "C:\\photos\\parking.jpg".into(),
                        content_type: "image/jpeg".into(),
                        content: jpeg(),
                    }),
                    ..Default::default()
                },
                ExpenseItemInput {
                    kind: "mileage".into(),
                    miles_tenths: 125,
                    passengers: 1,
                    vehicle: "car".into(),
                    spent_on: today(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let made = client
            .submit_expense_claim(outgoing(good, &own))
            .await
            .unwrap()
            .into_inner();
        let claim = made.claim.clone().unwrap();
        // £6.50 parking, 12.5 miles at 45p with a passenger at 5p: £6.25.
        assert_eq!(
            (pence(&claim), claim.kind.as_str()),
            (1_275, "expenses"),
            "{backend:?}"
        );
        assert_eq!(claim.attendance_id, "", "expenses pay for no attendance");
        assert_eq!(made.items[1].amount_pence, 625);
        assert_eq!(
            made.items[1].working,
            "12.5 miles at 45p; 1 passenger at 5p a mile"
        );
        assert_eq!(made.receipts.len(), 1);
        assert_eq!(made.receipts[0].filename, "parking.jpg");
        let receipt = client
            .get_receipt(outgoing(
                GetReceiptRequest {
                    claim_id: claim.id.clone(),
                    receipt_id: made.receipts[0].id.clone(),
                },
                &h.finance,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(receipt.content, jpeg());

        // Staff claim for a partner who does not use the portal, and see what they entered.
        let staff = h.svc.token("RZA", Role::Staff);
        let for_them = client
            .submit_expense_claim(outgoing(
                SubmitExpenseClaimRequest {
                    partner_id: "ptn_e".into(),
                    items: vec![ExpenseItemInput {
                        kind: "mileage".into(),
                        miles_tenths: 40,
                        vehicle: "bicycle".into(),
                        spent_on: today(),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                &staff,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            pence(for_them.claim.as_ref().unwrap()),
            80,
            "4 miles at 20p"
        );
        assert_eq!(
            h.claims(&staff, 1).await.len(),
            1,
            "staff see the claim they entered"
        );
        let unknown = client
            .submit_expense_claim(outgoing(
                SubmitExpenseClaimRequest {
                    partner_id: "ptn_nobody".into(),
                    items: vec![],
                    ..Default::default()
                },
                &staff,
            ))
            .await
            .unwrap_err();
        assert_eq!(field_errors(&unknown)[0].field, "partner_id");

        // Another partner and another trust see nothing of it.
        let other = h.svc.token_for("RZA", Role::Partner, "ptn_other");
        assert!(h.claims(&other, 0).await.is_empty());
        let hidden = client
            .get_claim(outgoing(
                GetClaimRequest {
                    id: claim.id.clone(),
                },
                &h.svc.token("RZB", Role::Finance),
            ))
            .await
            .unwrap_err();
        assert_eq!(hidden.code(), Code::NotFound);
        let ledger = h.ledger().await;
        assert!(ledger.balanced);
        assert!(ledger
            .accounts
            .iter()
            .any(|a| a.account == "expenses_expense" && a.balance_pence == 1_355));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_approves_runs_and_pays_each_claim_exactly_once() {
    for backend in backends() {
        let h = Harness::start(backend).await;
        let mut client = h.client.clone();
        h.registered("RZA", "ptn_p").await;
        h.registered("RZA", "ptn_q").await;
        h.attend(attended("att_p1", "ptn_p", 180)).await;
        h.attend(attended("att_p2", "ptn_p", 480)).await;
        h.attend(attended("att_q1", "ptn_q", 180)).await;
        let claims = h.claims(&h.finance, 3).await;
        let id = |a: &str| {
            claims
                .iter()
                .find(|c| c.attendance_id == a)
                .unwrap()
                .id
                .clone()
        };

        let no_reason = client
            .decide_claims(outgoing(
                DecideClaimsRequest {
                    claim_ids: vec![id("att_q1")],
                    decision: "reject".into(),
                    reason: " ".into(),
                },
                &h.finance,
            ))
            .await
            .unwrap_err();
        assert_eq!(field_errors(&no_reason)[0].field, "reason");
        let rejected = h
            .decide(
                &[id("att_q1")],
                "reject",
                "Attendance was not confirmed by the chair",
            )
            .await;
        assert_eq!(rejected.decided[0].status, "rejected");
        let approved = h
            .decide(&[id("att_p1"), id("att_p2"), id("att_q1")], "approve", "")
            .await;
        assert_eq!(approved.decided.len(), 2, "{backend:?}");
        assert_eq!(approved.refused.len(), 1, "a rejected claim stays rejected");
        // The partner sees why.
        let mine = h
            .claims(&h.svc.token_for("RZA", Role::Partner, "ptn_q"), 1)
            .await;
        assert_eq!(
            mine[0].decision_reason,
            "Attendance was not confirmed by the chair"
        );

        let run = client
            .create_payment_run(outgoing(
                CreatePaymentRunRequest {
                    up_to: "2026-11-30".into(),
                },
                &h.finance,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (run.status.as_str(), run.claim_count, run.partner_count),
            ("draft", 2, 1)
        );
        assert_eq!(run.total.unwrap().pence, 22_500);
        assert_eq!(run.reference, "ALONGSIDE RZA 0001");
        let second = client
            .create_payment_run(outgoing(
                CreatePaymentRunRequest {
                    up_to: "2026-11-30".into(),
                },
                &h.finance,
            ))
            .await
            .unwrap_err();
        assert!(second.message().contains("draft run is open"), "{second:?}");
        // Cancelled: the claims are approved again, free for the next run.
        client
            .cancel_payment_run(outgoing(
                PaymentRunAction { id: run.id.clone() },
                &h.finance,
            ))
            .await
            .unwrap();
        let again = client
            .create_payment_run(outgoing(
                CreatePaymentRunRequest {
                    up_to: "2026-11-30".into(),
                },
                &h.finance,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again.claim_count, 2);
        let detail = client
            .get_payment_run(outgoing(
                GetPaymentRunRequest {
                    id: again.id.clone(),
                    page: None,
                },
                &h.finance,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(detail.lines.len(), 1);
        assert_eq!(
            (
                detail.lines[0].partner_id.as_str(),
                detail.lines[0].total_pence
            ),
            ("ptn_p", 22_500)
        );
        // Not paid until confirmed.
        let own = h.svc.token_for("RZA", Role::Partner, "ptn_p");
        let early = client
            .get_remittance(outgoing(
                GetRemittanceRequest {
                    run_id: again.id.clone(),
                    partner_id: String::new(),
                },
                &own,
            ))
            .await
            .unwrap_err();
        assert_eq!(early.code(), Code::NotFound);
        let confirmed = client
            .confirm_payment_run(outgoing(
                PaymentRunAction {
                    id: again.id.clone(),
                },
                &h.finance,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(confirmed.status, "confirmed");
        let twice = client
            .confirm_payment_run(outgoing(
                PaymentRunAction {
                    id: again.id.clone(),
                },
                &h.finance,
            ))
            .await
            .unwrap_err();
        assert_eq!(
            twice.code(),
            Code::AlreadyExists,
            "{backend:?}: paid once only"
        );
        let nothing_left = client
            .create_payment_run(outgoing(
                CreatePaymentRunRequest {
                    up_to: "2026-11-30".into(),
                },
                &h.finance,
            ))
            .await
            .unwrap_err();
        assert_eq!(field_errors(&nothing_left)[0].field, "up_to");

        let remittance = client
            .get_remittance(outgoing(
                GetRemittanceRequest {
                    run_id: again.id.clone(),
                    partner_id: String::new(),
                },
                &own,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (remittance.total_pence, remittance.claims.len()),
            (22_500, 2)
        );
        assert!(remittance.claims.iter().all(|c| c.status == "paid"));
        let account = client
            .get_partner_account(outgoing(
                GetPartnerAccountRequest {
                    partner_id: String::new(),
                    page: None,
                },
                &own,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (
                account.paid_pence,
                account.payable_pence,
                account.awaiting_approval_pence
            ),
            (22_500, 0, 0)
        );
        assert_eq!(account.remittances.len(), 1);
        let statement = client
            .get_annual_statement(outgoing(
                GetAnnualStatementRequest {
                    partner_id: String::new(),
                    tax_year: 0,
                },
                &own,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (statement.involvement_pence, statement.claims.len()),
            (22_500, 2)
        );
        assert!(statement
            .notes
            .iter()
            .any(|n| n.contains("trading allowance")));
        let ledger = h.ledger().await;
        assert!(ledger.balanced, "{backend:?}: {ledger:?}");
        let bank = ledger
            .accounts
            .iter()
            .find(|a| a.account == "bank")
            .unwrap();
        assert_eq!(bank.balance_pence, -22_500);

        let events = read_events(
            h.svc.brokers(),
            PAYMENTS_CLAIMS,
            13,
            Duration::from_secs(20),
        )
        .await;
        let completed: Vec<PaymentRunCompleted> = events
            .iter()
            .filter(|(_, e)| e.is::<PaymentRunCompleted>())
            .map(|(_, e)| e.payload().unwrap())
            .collect();
        assert_eq!(completed.len(), 1);
        let issued: Vec<PaymentIssued> = events
            .iter()
            .filter(|(_, e)| e.is::<PaymentIssued>())
            .map(|(_, e)| e.payload().unwrap())
            .collect();
        assert_eq!(issued.len(), 1);
        assert_eq!(
            (issued[0].amount_pence, issued[0].claim_ids.len()),
            (22_500, 2)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_decides_a_claim_they_entered() {
    let h = Harness::start(Backend::Sqlite).await;
    h.registered("RZA", "ptn_f").await;
    h.terms("ptn_f", "paid", 0, &[]).await;
    let mut client = h.client.clone();
    let made = client
        .submit_expense_claim(outgoing(
            SubmitExpenseClaimRequest {
                partner_id: "ptn_f".into(),
                items: vec![ExpenseItemInput {
                    kind: "mileage".into(),
                    miles_tenths: 100,
                    vehicle: "car".into(),
                    spent_on: today(),
                    ..Default::default()
                }],
                ..Default::default()
            },
            &h.finance,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!made.can_decide);
    assert!(made
        .cannot_decide_because
        .contains("you entered this claim"));
    let id = made.claim.unwrap().id;
    let own = h.decide(std::slice::from_ref(&id), "approve", "").await;
    assert!(own.decided.is_empty());
    let colleague = h.svc.token_for("RZA", Role::Finance, "usr_colleague");
    let decided = client
        .decide_claims(outgoing(
            DecideClaimsRequest {
                claim_ids: vec![id],
                decision: "approve".into(),
                reason: String::new(),
            },
            &colleague,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decided.decided.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoever_changed_bank_details_neither_approves_nor_pays_that_partner() {
    for backend in backends() {
        let h = Harness::start(backend).await;
        let mut client = h.client.clone();
        // Two finance officers; the first changed one partner's bank details.
        let (first, second) = (
            h.svc.token_for("RZA", Role::Finance, "usr_first"),
            h.svc.token_for("RZA", Role::Finance, "usr_second"),
        );
        for partner in ["ptn_sod_changed", "ptn_sod_other"] {
            h.registered("RZA", partner).await;
            h.terms(partner, "paid", 0, &[]).await;
        }
        let changed = PartnerBankDetailsChanged {
            partner_id: "ptn_sod_changed".into(),
            changed_by: "usr_first".into(),
            changed_at: format!("{}T09:00:00Z", today()),
        };
        h.svc
            .publish(PEOPLE_PARTNERS, "ptn_sod_changed", "RZA", &changed)
            .await;
        h.attend(attended("att_sod_1", "ptn_sod_changed", 180))
            .await;
        h.attend(attended("att_sod_2", "ptn_sod_other", 180)).await;
        let theirs = h.claim_where(|c| c.attendance_id == "att_sod_1").await;
        let others = h.claim_where(|c| c.attendance_id == "att_sod_2").await;
        let decide = |token: &str, ids: Vec<String>| {
            outgoing(
                DecideClaimsRequest {
                    claim_ids: ids,
                    decision: "approve".into(),
                    reason: String::new(),
                },
                token,
            )
        };

        // The claim page says why before anyone tries; trying changes nothing.
        let detail = eventually(Duration::from_secs(20), || {
            let mut client = client.clone();
            let request = outgoing(
                GetClaimRequest {
                    id: theirs.id.clone(),
                },
                &first,
            );
            async move {
                let d = client.get_claim(request).await.ok()?.into_inner();
                (!d.can_decide).then_some(d)
            }
        })
        .await
        .expect("the bank details change reaches payments");
        let why = format!("you changed this partner's bank details on {}", today());
        assert!(
            detail.cannot_decide_because.starts_with(&why),
            "{backend:?}: {detail:?}"
        );
        let tried = client
            .decide_claims(decide(&first, vec![theirs.id.clone(), others.id.clone()]))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            tried.decided.len(),
            1,
            "{backend:?}: the other partner's claim"
        );
        assert_eq!(tried.refused.len(), 1);
        assert_eq!(tried.refused[0].claim_id, theirs.id);
        assert!(tried.refused[0].reason.starts_with(&why));
        let colleague = client
            .decide_claims(decide(&second, vec![theirs.id.clone()]))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(colleague.decided.len(), 1, "another officer approves");

        // A run paying that partner: the first officer may draft it, not confirm it.
        let run = client
            .create_payment_run(outgoing(CreatePaymentRunRequest { up_to: today() }, &first))
            .await
            .unwrap()
            .into_inner();
        let refused = client
            .confirm_payment_run(outgoing(PaymentRunAction { id: run.id.clone() }, &first))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        assert!(
            refused.message().contains("ptn_sod_changed")
                && refused
                    .message()
                    .contains("another member of finance must confirm it"),
            "{}",
            refused.message()
        );

        // The trust asks for a second officer on every run: only admins set that, and then
        // the officer who drafted a run cannot confirm it either.
        let lift = client
            .set_payment_controls(outgoing(
                PaymentControls {
                    separate_confirmer: true,
                    ..Default::default()
                },
                &second,
            ))
            .await
            .unwrap_err();
        assert_eq!(
            lift.code(),
            Code::PermissionDenied,
            "finance set no controls"
        );
        let admin = h.svc.token("RZA", Role::Admin);
        let set = client
            .set_payment_controls(outgoing(
                PaymentControls {
                    separate_confirmer: true,
                    ..Default::default()
                },
                &admin,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(set.separate_confirmer);
        assert_eq!(set.updated_by, "usr_test_admin");
        client
            .cancel_payment_run(outgoing(PaymentRunAction { id: run.id.clone() }, &first))
            .await
            .unwrap();
        let own = client
            .create_payment_run(outgoing(
                CreatePaymentRunRequest { up_to: today() },
                &second,
            ))
            .await
            .unwrap()
            .into_inner();
        let refused = client
            .confirm_payment_run(outgoing(PaymentRunAction { id: own.id.clone() }, &second))
            .await
            .unwrap_err();
        assert!(
            refused.message().contains("you drafted this run"),
            "{}",
            refused.message()
        );
        let third = h.svc.token_for("RZA", Role::Finance, "usr_third");
        let paid = client
            .confirm_payment_run(outgoing(PaymentRunAction { id: own.id }, &third))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(paid.status, "confirmed");
        assert_eq!(paid.partner_count, 2, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_on_benefits_are_warned_and_never_blocked() {
    for backend in backends() {
        let h = Harness::start(backend).await;
        h.registered("RZA", "ptn_b").await;
        h.terms("ptn_b", "paid", 0, &["esa"]).await;
        h.attend(attended("att_b", "ptn_b", 180)).await;
        let claim = h.claim_where(|c| c.attendance_id == "att_b").await;
        let detail = h
            .client
            .clone()
            .get_claim(outgoing(
                GetClaimRequest {
                    id: claim.id.clone(),
                },
                &h.finance,
            ))
            .await
            .unwrap()
            .into_inner();
        // £75 in the week: over the ESA permitted work lower limit of £20.
        assert_eq!(
            detail.warnings.len(),
            1,
            "{backend:?}: {:?}",
            detail.warnings
        );
        assert_eq!(detail.warnings[0].level, "over");
        assert_eq!(detail.warnings[0].period_start, "2026-11-16");
        assert!(detail.warnings[0].message.contains("warning only"));
        let own = h.svc.token_for("RZA", Role::Partner, "ptn_b");
        let theirs = h
            .client
            .clone()
            .list_benefit_warnings(outgoing(
                ListBenefitWarningsRequest {
                    partner_id: String::new(),
                    on: "2026-11-20".into(),
                },
                &own,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(theirs.warnings.len(), 1);
        // The warning never blocks.
        assert_eq!(h.decide(&[claim.id], "approve", "").await.decided.len(), 1);
        // A trust's own limit from its date.
        let limits = h
            .client
            .clone()
            .set_benefit_limit(outgoing(
                SetBenefitLimitRequest {
                    benefit: "esa".into(),
                    label: "ESA permitted work lower limit".into(),
                    period: "week".into(),
                    amount_pence: 10_000,
                    effective_from: "2026-04-06".into(),
                    warn_at_percent: 0,
                },
                &h.finance,
            ))
            .await
            .unwrap()
            .into_inner();
        let lower = limits
            .in_force
            .iter()
            .find(|l| l.label == "ESA permitted work lower limit")
            .unwrap();
        assert_eq!((lower.amount_pence, lower.warn_at_percent), (10_000, 80));
        let after = h
            .client
            .clone()
            .list_benefit_warnings(outgoing(
                ListBenefitWarningsRequest {
                    partner_id: String::new(),
                    on: "2026-11-20".into(),
                },
                &h.finance,
            ))
            .await
            .unwrap()
            .into_inner();
        // £75 of £100 is under 80%: no warning now.
        assert!(
            after.warnings.is_empty(),
            "{backend:?}: {:?}",
            after.warnings
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_card_prices_from_its_date_and_never_reprices_a_claim() {
    for backend in backends() {
        let h = Harness::start(backend).await;
        let mut client = h.client.clone();
        h.attend(AttendanceRecorded {
            activity_date: "2026-11-20".into(),
            ..attended("att_before", "ptn_r", 180)
        })
        .await;
        h.claim_where(|c| c.attendance_id == "att_before").await;
        let card = CreateRateCardRequest {
            effective_from: "2026-11-01".into(),
            note: "Hourly from November".into(),
            rules: vec![
                RateRule {
                    basis: "hour".into(),
                    amount_pence: 2_000,
                    ..Default::default()
                },
                RateRule {
                    kind: String::new(),
                    involvement_level: 1,
                    basis: "expenses_only".into(),
                    ..Default::default()
                },
            ],
            mileage: None,
        };
        let made = client
            .create_rate_card(outgoing(card.clone(), &h.finance))
            .await
            .unwrap()
            .into_inner();
        assert!(made.id.starts_with("rcd_"));
        let clash = client
            .create_rate_card(outgoing(card, &h.finance))
            .await
            .unwrap_err();
        assert_eq!(
            field_errors(&clash)[0].field,
            "effective_from",
            "{backend:?}"
        );
        let refused = client
            .create_rate_card(outgoing(
                CreateRateCardRequest {
                    effective_from: "2027-01-01".into(),
                    ..Default::default()
                },
                &h.svc.token("RZA", Role::EngagementLead),
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);

        h.attend(AttendanceRecorded {
            activity_date: "2026-11-21".into(),
            ..attended("att_after", "ptn_r", 90)
        })
        .await;
        h.attend(AttendanceRecorded {
            activity_date: "2026-11-21".into(),
            involvement_level: 1,
            ..attended("att_level1", "ptn_r", 90)
        })
        .await;
        let after = h.claim_where(|c| c.attendance_id == "att_after").await;
        assert_eq!(
            (pence(&after), after.rate_basis.as_str()),
            (3_000, "hour"),
            "{backend:?}"
        );
        let level1 = h.claim_where(|c| c.attendance_id == "att_level1").await;
        assert_eq!(level1.status, "no_payment");
        // The claim made before keeps its price, and a correction uses the card that priced it.
        let before = h.claim_where(|c| c.attendance_id == "att_before").await;
        assert_eq!(pence(&before), 7_500);
        h.correct(AttendanceRecorded {
            revision: 2,
            activity_date: "2026-11-20".into(),
            ..attended("att_before", "ptn_r", 200)
        })
        .await;
        let corrected = h
            .claim_where(|c| c.attendance_id == "att_before" && c.minutes == 200)
            .await;
        assert_eq!(
            (pence(&corrected), corrected.rate_basis.as_str()),
            (7_500, "half_day"),
            "{backend:?}"
        );
        let cards = client
            .list_rate_cards(outgoing(
                ListRateCardsRequest {},
                &h.svc.token_for("RZA", Role::Partner, "ptn_r"),
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(cards.cards.len(), 2);
        assert!(cards.cards[0].in_force && !cards.cards[0].built_in);
        assert!(cards.cards[1].built_in);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spend_is_reported_by_pathway_with_small_numbers_hidden_from_analysts() {
    let h = Harness::start(Backend::Sqlite).await;
    for i in 0..6 {
        h.attend(AttendanceRecorded {
            pathway: "pain".into(),
            ..attended(&format!("att_pain{i}"), &format!("ptn_{i}"), 480)
        })
        .await;
    }
    for i in 0..2 {
        h.attend(AttendanceRecorded {
            pathway: "spinal".into(),
            ..attended(&format!("att_spinal{i}"), &format!("ptn_s{i}"), 180)
        })
        .await;
    }
    let claims = h.claims(&h.finance, 8).await;
    let ids: Vec<String> = claims.iter().map(|c| c.id.clone()).collect();
    h.decide(&ids, "approve", "").await;
    let report = |token: String| h.spend_by_pathway(token);
    let finance = report(h.finance.clone()).await;
    assert_eq!(finance.rows.len(), 2);
    assert_eq!(finance.rows[0].key, "pain");
    assert_eq!(finance.rows[0].total_pence, 90_000);
    assert_eq!(finance.rows[1].total_pence, 15_000);
    assert_eq!(finance.total.unwrap().total_pence, 105_000);
    let analyst = report(h.svc.token("RZA", Role::Analyst)).await;
    // Two partners on spinal work: hidden, and pain with it, so the total reveals neither.
    assert!(analyst
        .rows
        .iter()
        .all(|r| r.suppressed && r.total_pence == 0));
    assert_eq!(analyst.total.unwrap().total_pence, 105_000);
    // A trust that paid two partners: its total is theirs, so analysts see it hidden too.
    for i in 0..2 {
        h.svc
            .publish(
                ENGAGEMENT_ACTIVITIES,
                "opp_b",
                "RZB",
                &attended(&format!("att_rzb{i}"), &format!("ptn_b{i}"), 480),
            )
            .await;
    }
    let rzb_finance = h.svc.token("RZB", Role::Finance);
    let rzb_claims = h.claims(&rzb_finance, 2).await;
    let mut client = h.client.clone();
    client
        .decide_claims(outgoing(
            DecideClaimsRequest {
                claim_ids: rzb_claims.iter().map(|c| c.id.clone()).collect(),
                decision: "approve".into(),
                reason: String::new(),
            },
            &rzb_finance,
        ))
        .await
        .unwrap();
    let small = report(h.svc.token("RZB", Role::IcsAnalyst)).await;
    let small_total = small.total.unwrap();
    assert!(
        small_total.suppressed && small_total.total_pence == 0,
        "{small_total:?}"
    );
    let theirs = report(rzb_finance).await;
    assert_eq!(
        theirs.total.unwrap().total_pence,
        30_000,
        "finance see their own"
    );
    let monthly = h
        .client
        .clone()
        .spend_report(outgoing(SpendReportRequest::default(), &h.finance))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(monthly.rows[0].key, "2026-11");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_of_figures_see_spend_by_the_trusts_listed_pathways_only() {
    use alongside_proto::feedback::events::v1::PlaceChanged;
    let h = Harness::start(Backend::Sqlite).await;
    // Staff typed "pain" for six partners' work and a clinic's name for six others'.
    for (pathway, who) in [("pain", "p"), ("Mrs Smith's clinic", "s")] {
        for i in 0..6 {
            h.attend(AttendanceRecorded {
                pathway: pathway.into(),
                ..attended(&format!("att_{who}{i}"), &format!("ptn_{who}{i}"), 480)
            })
            .await;
        }
    }
    let claims = h.claims(&h.finance, 12).await;
    let ids: Vec<String> = claims.iter().map(|c| c.id.clone()).collect();
    h.decide(&ids, "approve", "").await;
    let place = |code: &str, status: &str, into: &str, at: &str| PlaceChanged {
        tenant: "RZA".into(),
        kind: "pathway".into(),
        code: code.into(),
        name: code.into(),
        status: status.into(),
        merged_into: into.into(),
        changed_at: at.into(),
    };
    let h = &h;
    let report = |token: String| async move {
        h.spend_by_pathway(token)
            .await
            .rows
            .into_iter()
            .map(|r| (r.key, r.suppressed, r.total_pence))
            .collect::<Vec<_>>()
    };
    let analyst = h.svc.token("RZA", Role::Analyst);
    assert_eq!(
        report(analyst.clone()).await,
        [(String::new(), false, 180_000)],
        "nothing listed: all together, under no pathway"
    );
    // Feedback lists Pain: the analysts' figures follow, once payments has read it.
    h.svc
        .publish(
            FEEDBACK_PLACES,
            "RZA/pathway/pain",
            "RZA",
            &place("Pain", "active", "", "2026-11-01T00:00:00Z"),
        )
        .await;
    let listed = vec![
        (String::new(), false, 90_000),
        ("Pain".to_string(), false, 90_000),
    ];
    let seen = eventually(Duration::from_secs(20), || {
        let (report, listed) = (report(analyst.clone()), listed.clone());
        async move { (report.await == listed).then_some(()) }
    })
    .await;
    assert!(seen.is_some(), "{:?}", report(analyst.clone()).await);
    // Pain merged into MSK: published as MSK.
    for (key, p) in [
        (
            "RZA/pathway/msk",
            place("MSK", "active", "", "2026-11-02T00:00:00Z"),
        ),
        (
            "RZA/pathway/pain",
            place("Pain", "merged", "MSK", "2026-11-02T00:00:00Z"),
        ),
    ] {
        h.svc.publish(FEEDBACK_PLACES, key, "RZA", &p).await;
    }
    let merged = vec![
        (String::new(), false, 90_000),
        ("MSK".to_string(), false, 90_000),
    ];
    let seen = eventually(Duration::from_secs(20), || {
        let (report, merged) = (report(analyst.clone()), merged.clone());
        async move { (report.await == merged).then_some(()) }
    })
    .await;
    assert!(seen.is_some(), "{:?}", report(analyst.clone()).await);
    // Finance, who read the claims, see pathways as typed.
    let finance: Vec<String> = report(h.finance.clone())
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(finance, ["Mrs Smith's clinic", "pain"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_icss_spend_counts_a_partner_paid_by_two_trusts_once() {
    let h = Harness::start(Backend::Sqlite).await;
    // Five partners of each trust, and one who works for both.
    for (trust, who) in [("RZA", "a"), ("RZB", "b")] {
        let partners = (0..5)
            .map(|i| format!("ptn_{who}{i}"))
            .chain(["ptn_both".to_string()]);
        for (i, partner) in partners.enumerate() {
            let a = attended(&format!("att_{who}{i}"), &partner, 480);
            h.svc
                .publish(ENGAGEMENT_ACTIVITIES, "opp_1", trust, &a)
                .await;
        }
        let finance = h.svc.token(trust, Role::Finance);
        let ids: Vec<String> = h
            .claims(&finance, 6)
            .await
            .into_iter()
            .map(|c| c.id)
            .collect();
        h.client
            .clone()
            .decide_claims(outgoing(
                DecideClaimsRequest {
                    claim_ids: ids,
                    decision: "approve".into(),
                    reason: String::new(),
                },
                &finance,
            ))
            .await
            .unwrap();
    }
    let ics = h
        .client
        .clone()
        .spend_report(outgoing(
            SpendReportRequest {
                trusts: vec!["RZA".into(), "RZB".into()],
                ..Default::default()
            },
            &h.svc.token_in_ics("RZA", "QZX", Role::IcsAnalyst),
        ))
        .await
        .unwrap()
        .into_inner();
    let partners: Vec<u64> = ics
        .trusts
        .iter()
        .map(|t| t.total.as_ref().unwrap().partner_count)
        .collect();
    assert_eq!(partners, [6, 6]);
    let total = ics.total.unwrap();
    assert!(!total.suppressed);
    assert_eq!((total.partner_count, total.claim_count), (11, 12));
}

/// Every call with the roles that may make it; another trust learns nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_is_open_to_its_roles_only_and_to_no_other_trust() {
    use Role::*;
    let h = Harness::start(Backend::Sqlite).await;
    h.registered("RZA", "ptn_t").await;
    h.terms("ptn_t", "paid", 0, &[]).await;
    h.attend(attended("att_t", "ptn_t", 180)).await;
    let claim = h.claim_where(|c| c.attendance_id == "att_t").await;
    type Call = Box<
        dyn Fn(
            String,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<(), tonic::Status>> + Send>,
        >,
    >;
    let client = h.client.clone();
    macro_rules! call {
        ($method:ident, $request:expr) => {{
            let client = client.clone();
            let request = $request;
            Box::new(move |token: String| {
                let mut client = client.clone();
                let request = request.clone();
                Box::pin(async move { client.$method(outgoing(request, &token)).await.map(|_| ()) })
                    as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>
            }) as Call
        }};
    }
    let all = vec![
        Partner,
        Staff,
        EngagementLead,
        Finance,
        Analyst,
        IcsAnalyst,
        Admin,
    ];
    let calls: Vec<(&str, Vec<Role>, Call)> = vec![
        (
            "ListClaims",
            vec![Finance, EngagementLead, Partner, Staff],
            call!(list_claims, ListClaimsRequest::default()),
        ),
        (
            "GetClaim",
            vec![Finance, EngagementLead, Partner, Staff],
            call!(
                get_claim,
                GetClaimRequest {
                    id: claim.id.clone()
                }
            ),
        ),
        (
            "SubmitExpenseClaim",
            vec![Partner, Staff, EngagementLead, Finance],
            call!(
                submit_expense_claim,
                SubmitExpenseClaimRequest {
                    partner_id: "ptn_t".into(),
                    ..Default::default()
                }
            ),
        ),
        (
            "GetReceipt",
            vec![Finance, EngagementLead, Partner, Staff],
            call!(
                get_receipt,
                GetReceiptRequest {
                    claim_id: claim.id.clone(),
                    receipt_id: "rct_x".into()
                }
            ),
        ),
        (
            "DecideClaims",
            vec![Finance],
            call!(
                decide_claims,
                DecideClaimsRequest {
                    claim_ids: vec!["clm_x".into()],
                    decision: "approve".into(),
                    reason: String::new()
                }
            ),
        ),
        (
            "ListRateCards",
            all.clone(),
            call!(list_rate_cards, ListRateCardsRequest {}),
        ),
        (
            "CreateRateCard",
            vec![Finance, Admin],
            call!(create_rate_card, CreateRateCardRequest::default()),
        ),
        (
            "CreatePaymentRun",
            vec![Finance],
            call!(
                create_payment_run,
                CreatePaymentRunRequest {
                    up_to: "2000-01-01".into()
                }
            ),
        ),
        (
            "ListPaymentRuns",
            vec![Finance],
            call!(list_payment_runs, ListPaymentRunsRequest::default()),
        ),
        (
            "GetPaymentRun",
            vec![Finance],
            call!(
                get_payment_run,
                GetPaymentRunRequest {
                    id: "run_x".into(),
                    page: None
                }
            ),
        ),
        (
            "ConfirmPaymentRun",
            vec![Finance],
            call!(confirm_payment_run, PaymentRunAction { id: "run_x".into() }),
        ),
        (
            "CancelPaymentRun",
            vec![Finance],
            call!(cancel_payment_run, PaymentRunAction { id: "run_x".into() }),
        ),
        (
            "GetRemittance",
            vec![Finance, Partner],
            call!(
                get_remittance,
                GetRemittanceRequest {
                    run_id: "run_x".into(),
                    partner_id: "ptn_t".into()
                }
            ),
        ),
        (
            "SetPaymentRoute",
            vec![Finance],
            call!(
                set_payment_route,
                SetPaymentRouteRequest {
                    partner_id: "ptn_t".into(),
                    payment_route: "payroll".into()
                }
            ),
        ),
        (
            "GetPartnerAccount",
            vec![Finance, EngagementLead, Partner],
            call!(
                get_partner_account,
                GetPartnerAccountRequest {
                    partner_id: "ptn_t".into(),
                    page: None
                }
            ),
        ),
        (
            "GetAnnualStatement",
            vec![Finance, Partner],
            call!(
                get_annual_statement,
                GetAnnualStatementRequest {
                    partner_id: "ptn_t".into(),
                    tax_year: 2026
                }
            ),
        ),
        (
            "CheckLedger",
            vec![Finance, Admin],
            call!(check_ledger, CheckLedgerRequest {}),
        ),
        (
            "ListBenefitLimits",
            all.clone(),
            call!(list_benefit_limits, ListBenefitLimitsRequest {}),
        ),
        (
            "SetBenefitLimit",
            vec![Finance, Admin],
            call!(set_benefit_limit, SetBenefitLimitRequest::default()),
        ),
        (
            "ListBenefitWarnings",
            vec![Finance, EngagementLead, Partner],
            call!(list_benefit_warnings, ListBenefitWarningsRequest::default()),
        ),
        (
            "SpendReport",
            vec![Finance, EngagementLead, Admin, Analyst, IcsAnalyst],
            call!(spend_report, SpendReportRequest::default()),
        ),
        (
            "GetPaymentControls",
            vec![Finance, Admin],
            call!(get_payment_controls, GetPaymentControlsRequest {}),
        ),
        (
            "SetPaymentControls",
            vec![Admin],
            call!(set_payment_controls, PaymentControls::default()),
        ),
    ];
    let refused =
        |r: &Result<(), tonic::Status>| matches!(r, Err(s) if s.code() == Code::PermissionDenied);
    for (name, allowed, call) in &calls {
        for role in &all {
            let token = if *role == Partner {
                h.svc.token_for("RZA", Partner, "ptn_t")
            } else {
                h.token_of(*role)
            };
            let result = call(token).await;
            assert_eq!(
                !refused(&result),
                allowed.contains(role),
                "{name} by {role:?}: {result:?}"
            );
        }
    }
    // Another trust's every role: nothing of this trust's, whatever it may call.
    for role in &all {
        let token = if *role == Partner {
            h.svc.token_for("RZB", Partner, "ptn_t")
        } else {
            h.svc.token("RZB", *role)
        };
        let mut client = h.client.clone();
        if let Ok(listed) = client
            .list_claims(outgoing(ListClaimsRequest::default(), &token))
            .await
        {
            assert!(
                listed.into_inner().claims.is_empty(),
                "{role:?} of another trust"
            );
        }
        let got = client
            .get_claim(outgoing(
                GetClaimRequest {
                    id: claim.id.clone(),
                },
                &token,
            ))
            .await;
        assert!(
            matches!(got, Err(s) if matches!(s.code(), Code::NotFound | Code::PermissionDenied)),
            "{role:?}"
        );
        if let Ok(account) = client
            .get_partner_account(outgoing(
                GetPartnerAccountRequest {
                    partner_id: "ptn_t".into(),
                    page: None,
                },
                &token,
            ))
            .await
        {
            let account = account.into_inner();
            assert!(
                account.entries.is_empty() && account.awaiting_approval_pence == 0,
                "{role:?}"
            );
        }
        if let Ok(spend) = client
            .spend_report(outgoing(SpendReportRequest::default(), &token))
            .await
        {
            assert!(spend.into_inner().rows.is_empty(), "{role:?}");
        }
    }
    let decided = client
        .clone()
        .decide_claims(outgoing(
            DecideClaimsRequest {
                claim_ids: vec![claim.id.clone()],
                decision: "approve".into(),
                reason: String::new(),
            },
            &h.svc.token("RZB", Finance),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        decided.decided.is_empty(),
        "another trust's finance approves nothing here"
    );
}

impl Harness {
    fn token_of(&self, role: Role) -> String {
        self.svc.token("RZA", role)
    }
}
