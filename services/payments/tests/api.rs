//! Payments over real gRPC, on SQLite and PostgreSQL, fed attendance through Kafka.

use std::time::Duration;

use alongside_events::testing::{eventually, read_events, TestService};
use alongside_events::topics::{ENGAGEMENT_ACTIVITIES, PAYMENTS_CLAIMS};
use alongside_platform::grpc::outgoing;
use alongside_platform::testing::{backends, Backend};
use alongside_platform::Role;
use alongside_proto::engagement::events::v1::AttendanceRecorded;
use alongside_proto::payments::events::v1::ClaimCreated;
use alongside_proto::payments::v1::payments_service_client::PaymentsServiceClient;
use alongside_proto::payments::v1::*;
use tonic::transport::Channel;
use tonic::Code;

fn attended(attendance_id: &str, partner_id: &str, minutes: u32) -> AttendanceRecorded {
    AttendanceRecorded {
        attendance_id: attendance_id.into(),
        opportunity_id: "opp_1".into(),
        partner_id: partner_id.into(),
        minutes,
        activity_kind: "mdt_seat".into(),
        involvement_level: 4,
        activity_date: "2026-11-20".into(),
    }
}

async fn claims(client: &PaymentsServiceClient<Channel>, token: &str, want: usize) -> Vec<Claim> {
    let client = client.clone();
    eventually(Duration::from_secs(20), || {
        let mut client = client.clone();
        let request = outgoing(ListClaimsRequest::default(), token);
        async move {
            let claims = client.list_claims(request).await.ok()?.into_inner().claims;
            (claims.len() >= want).then_some(claims)
        }
    })
    .await
    .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_claim_per_attendance_whatever_is_redelivered() {
    for backend in backends() {
        let svc = TestService::start("payments", backend, alongside_payments::start).await;
        let client = PaymentsServiceClient::connect(svc.url()).await.unwrap();
        let finance = svc.token("RZA", Role::Finance);

        let envelope = svc
            .publish(
                ENGAGEMENT_ACTIVITIES,
                "opp_1",
                "RZA",
                &attended("att_1", "ptn_a", 180),
            )
            .await;
        // Redelivery: the same event again. Replay: the same attendance under a new event id.
        svc.publish_raw(ENGAGEMENT_ACTIVITIES, "opp_1", &envelope.encode())
            .await;
        svc.publish(
            ENGAGEMENT_ACTIVITIES,
            "opp_1",
            "RZA",
            &attended("att_1", "ptn_a", 180),
        )
        .await;
        // A full day, after them: once it is in, the earlier messages have all been processed.
        svc.publish(
            ENGAGEMENT_ACTIVITIES,
            "opp_1",
            "RZA",
            &attended("att_2", "ptn_b", 420),
        )
        .await;

        let found = claims(&client, &finance, 2).await;
        assert_eq!(
            found.len(),
            2,
            "{backend:?}: exactly one claim per attendance"
        );
        let half = found
            .iter()
            .find(|c| c.attendance_id == "att_1")
            .expect("att_1 claimed");
        let day = found
            .iter()
            .find(|c| c.attendance_id == "att_2")
            .expect("att_2 claimed");
        assert_eq!(
            (half.amount.unwrap().pence, half.rate_basis.as_str()),
            (7_500, "half_day")
        );
        assert_eq!(
            (day.amount.unwrap().pence, day.rate_basis.as_str()),
            (15_000, "day")
        );
        assert_eq!(half.status, "awaiting_approval");
        assert!(half.id.starts_with("clm_"));

        let events = read_events(svc.brokers(), PAYMENTS_CLAIMS, 2, Duration::from_secs(20)).await;
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
async fn trusts_and_partners_see_only_their_own_claims() {
    let svc = TestService::start("payments", Backend::Sqlite, alongside_payments::start).await;
    let mut client = PaymentsServiceClient::connect(svc.url()).await.unwrap();
    svc.publish(
        ENGAGEMENT_ACTIVITIES,
        "opp_1",
        "RZB",
        &attended("att_b", "ptn_other_trust", 60),
    )
    .await;
    svc.publish(
        ENGAGEMENT_ACTIVITIES,
        "opp_1",
        "RZA",
        &attended("att_x", "ptn_x", 60),
    )
    .await;
    svc.publish(
        ENGAGEMENT_ACTIVITIES,
        "opp_1",
        "RZA",
        &attended("att_y", "ptn_y", 60),
    )
    .await;
    let finance = svc.token("RZA", Role::Finance);
    let rza = claims(&client, &finance, 2).await;
    assert_eq!(rza.len(), 2);
    assert!(rza.iter().all(|c| c.tenant_id == "RZA"));

    let rzb_finance = svc.token("RZB", Role::Finance);
    let other = client
        .get_claim(outgoing(
            GetClaimRequest {
                id: rza[0].id.clone(),
            },
            &rzb_finance,
        ))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::NotFound);

    // A partner's token carries their partner id as subject.
    let partner_x = alongside_platform::auth::TokenSigner::new(&svc.settings.auth).sign(
        &alongside_platform::Caller {
            subject: "ptn_x".into(),
            tenant: alongside_platform::OdsCode::parse("RZA").unwrap(),
            role: Role::Partner,
            ics: None,
        },
    );
    let own = client
        .list_claims(outgoing(ListClaimsRequest::default(), &partner_x))
        .await
        .unwrap()
        .into_inner()
        .claims;
    assert_eq!(
        own.iter()
            .map(|c| c.partner_id.as_str())
            .collect::<Vec<_>>(),
        ["ptn_x"]
    );

    let analyst = svc.token("RZA", Role::Analyst);
    let status = client
        .list_claims(outgoing(ListClaimsRequest::default(), &analyst))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}
