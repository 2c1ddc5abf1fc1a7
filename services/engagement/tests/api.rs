//! Engagement over real gRPC, on SQLite and PostgreSQL, fed partners through Kafka.

use std::time::Duration;

use alongside_events::testing::{eventually, read_events, TestService};
use alongside_events::topics::{ENGAGEMENT_ACTIVITIES, PEOPLE_PARTNERS};
use alongside_platform::error::field_errors;
use alongside_platform::grpc::outgoing;
use alongside_platform::testing::{backends, Backend};
use alongside_platform::Role;
use alongside_proto::engagement::events::v1::AttendanceRecorded;
use alongside_proto::engagement::v1::engagement_service_client::EngagementServiceClient;
use alongside_proto::engagement::v1::*;
use alongside_proto::people::events::v1::{
    PartnerConsentChanged, PartnerEligibilityChanged, PartnerErased, PartnerRegistered,
    PartnerStatusChanged, RoleEligibility,
};
use tonic::transport::Channel;
use tonic::Code;

/// Today, as the service sees it (`ALONGSIDE_TEST_TODAY` moves both): attendance is recorded
/// for sessions held by today.
fn today() -> String {
    alongside_platform::testing::clock().today().to_string()
}

struct Harness {
    svc: TestService,
    client: EngagementServiceClient<Channel>,
    lead: String,
}

impl Harness {
    async fn start(backend: Backend) -> Self {
        let svc = TestService::start("engagement", backend, alongside_engagement::start).await;
        let client = EngagementServiceClient::connect(svc.url())
            .await
            .expect("connect");
        let lead = svc.token("RZA", Role::EngagementLead);
        // Opportunities name only the trust's listed pathways (feedback keeps the lists).
        svc.places_listed("RZA", "pathway", &["pain"]).await;
        Self { svc, client, lead }
    }

    async fn partner_registered(&self, tenant: &str, partner_id: &str) {
        let event = PartnerRegistered {
            partner_id: partner_id.into(),
            locality: "North".into(),
            status: "active".into(),
            registered_at: "2026-11-01T10:00:00Z".into(),
        };
        self.svc
            .publish(PEOPLE_PARTNERS, partner_id, tenant, &event)
            .await;
    }

    async fn opportunity(&mut self) -> Opportunity {
        let request = CreateOpportunityRequest {
            title: "Pain pathway redesign".into(),
            kind: "pathway_redesign".into(),
            involvement_level: 4,
            starts_on: today(),
            places: 2,
            expected_minutes: 300,
            required_role: String::new(),
            pathway: "pain".into(),
            cost_centre: "CC-4410".into(),
            remuneration: String::new(),
            ..Default::default()
        };
        self.client
            .create_opportunity(outgoing(request, &self.lead))
            .await
            .expect("created")
            .into_inner()
    }

    /// Assigns once the partner has reached the read model through Kafka.
    async fn assign_when_known(&mut self, opportunity_id: &str, partner_id: &str) -> Assignment {
        let request = AssignPartnerRequest {
            opportunity_id: opportunity_id.into(),
            partner_id: partner_id.into(),
            ..Default::default()
        };
        let (client, lead) = (self.client.clone(), self.lead.clone());
        eventually(Duration::from_secs(20), || {
            let mut client = client.clone();
            let request = outgoing(request.clone(), &lead);
            async move {
                client
                    .assign_partner(request)
                    .await
                    .ok()
                    .map(|r| r.into_inner())
            }
        })
        .await
        .expect("partner reaches the read model and is assigned")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_from_kafka_is_assigned_and_attendance_is_published() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        h.partner_registered("RZA", "ptn_0000000000000000000000000000000a")
            .await;
        let opportunity = h.opportunity().await;
        assert!(opportunity.id.starts_with("opp_"));
        assert_eq!(opportunity.status, "published");

        let assignment = h
            .assign_when_known(&opportunity.id, "ptn_0000000000000000000000000000000a")
            .await;
        let attendance = h
            .client
            .record_attendance(outgoing(
                RecordAttendanceRequest {
                    assignment_id: assignment.id.clone(),
                    minutes: 180,
                    ..Default::default()
                },
                &h.lead,
            ))
            .await
            .expect("recorded")
            .into_inner();
        assert_eq!(attendance.activity_date, today());

        let listed = h
            .client
            .list_assignments(outgoing(
                ListAssignmentsRequest {
                    opportunity_id: opportunity.id.clone(),
                },
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.assignments[0].attended_minutes, Some(180));

        let again = h
            .client
            .record_attendance(outgoing(
                RecordAttendanceRequest {
                    assignment_id: assignment.id.clone(),
                    minutes: 60,
                    ..Default::default()
                },
                &h.lead,
            ))
            .await
            .unwrap_err();
        assert_eq!(
            field_errors(&again)[0].field,
            "assignment_id",
            "{backend:?}: attendance recorded once"
        );

        let events = read_events(
            h.svc.brokers(),
            ENGAGEMENT_ACTIVITIES,
            3,
            Duration::from_secs(20),
        )
        .await;
        let recorded: Vec<AttendanceRecorded> = events
            .iter()
            .filter(|(_, e)| e.is::<AttendanceRecorded>())
            .map(|(_, e)| e.payload().unwrap())
            .collect();
        assert_eq!(recorded.len(), 1, "{backend:?}");
        assert_eq!(recorded[0].attendance_id, attendance.id);
        assert_eq!(recorded[0].minutes, 180);
        assert_eq!(recorded[0].activity_kind, "pathway_redesign");
        assert_eq!(recorded[0].involvement_level, 4);
        assert_eq!(
            (
                recorded[0].pathway.as_str(),
                recorded[0].cost_centre.as_str()
            ),
            ("pain", "CC-4410")
        );
        assert!(!recorded[0].expenses_only);
        assert_eq!(recorded[0].revision, 1);
        assert!(
            events
                .iter()
                .all(|(key, _)| key.as_deref() == Some(opportunity.id.as_bytes())),
            "keyed by opportunity id"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_trusts_partner_cannot_be_assigned_and_its_opportunities_are_invisible() {
    let mut h = Harness::start(Backend::Sqlite).await;
    h.partner_registered("RZB", "ptn_0000000000000000000000000000000b")
        .await;
    // A partner of this trust registered after the other: once it is known, the other must be too.
    h.partner_registered("RZA", "ptn_0000000000000000000000000000000c")
        .await;
    let opportunity = h.opportunity().await;
    h.assign_when_known(&opportunity.id, "ptn_0000000000000000000000000000000c")
        .await;

    let status = h
        .client
        .assign_partner(outgoing(
            AssignPartnerRequest {
                opportunity_id: opportunity.id.clone(),
                partner_id: "ptn_0000000000000000000000000000000b".into(),
                ..Default::default()
            },
            &h.lead,
        ))
        .await
        .unwrap_err();
    assert_eq!(field_errors(&status)[0].field, "partner_id");

    let rzb = h.svc.token("RZB", Role::EngagementLead);
    let status = h
        .client
        .get_opportunity(outgoing(
            GetOpportunityRequest {
                id: opportunity.id.clone(),
            },
            &rzb,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let listed = h
        .client
        .list_opportunities(outgoing(ListOpportunitiesRequest::default(), &rzb))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.opportunities.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_goes_to_the_dead_letter_topic_and_the_consumer_moves_on() {
    let mut h = Harness::start(Backend::Sqlite).await;
    h.svc
        .publish_raw(PEOPLE_PARTNERS, "ptn_bad", b"this is not an envelope")
        .await;
    let first = PartnerRegistered {
        partner_id: "ptn_0000000000000000000000000000000d".into(),
        locality: "North".into(),
        status: "active".into(),
        registered_at: String::new(),
    };
    let envelope = h
        .svc
        .publish(PEOPLE_PARTNERS, &first.partner_id, "RZA", &first)
        .await;
    // The same event again, byte for byte, as a redelivery would bring it.
    h.svc
        .publish_raw(PEOPLE_PARTNERS, &first.partner_id, &envelope.encode())
        .await;

    let opportunity = h.opportunity().await;
    h.assign_when_known(&opportunity.id, &first.partner_id)
        .await;

    let dead = eventually(Duration::from_secs(20), || async {
        let consumer_view = read_raw(h.svc.brokers(), "people.partners.v1.dlq").await;
        (!consumer_view.is_empty()).then_some(consumer_view)
    })
    .await
    .expect("poison message dead-lettered");
    assert_eq!(dead[0].0, b"this is not an envelope");
    assert!(dead[0]
        .1
        .iter()
        .any(|(k, v)| k == "dlq.original.topic" && v == PEOPLE_PARTNERS));
    assert!(dead[0]
        .1
        .iter()
        .any(|(k, v)| k == "dlq.error" && v.contains("not an event envelope")));
}

/// Reads raw messages with their headers (dead letters are not envelopes).
async fn read_raw(brokers: &str, topic: &str) -> Vec<(Vec<u8>, Vec<(String, String)>)> {
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::message::{Headers, Message};
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("dlq-reader-{}", uuid::Uuid::now_v7()))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut out = Vec::new();
    while let Ok(Ok(m)) = tokio::time::timeout(Duration::from_secs(3), consumer.recv()).await {
        let headers = m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_string(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push((m.payload().unwrap_or_default().to_vec(), headers));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_opportunities_are_refused_by_field() {
    let mut h = Harness::start(Backend::Sqlite).await;
    let bad = CreateOpportunityRequest {
        title: "".into(),
        kind: "party".into(),
        involvement_level: 9,
        starts_on: "soon".into(),
        places: 1,
        required_role: String::new(),
        ..Default::default()
    };
    let status = h
        .client
        .create_opportunity(outgoing(bad, &h.lead))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields: Vec<String> = field_errors(&status).into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["title", "kind", "involvement_level", "starts_on"]);
    let listed = h
        .client
        .list_opportunities(outgoing(ListOpportunitiesRequest::default(), &h.lead))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.opportunities.is_empty());

    let partner = h.svc.token("RZA", Role::Partner);
    let status = h
        .client
        .create_opportunity(outgoing(CreateOpportunityRequest::default(), &partner))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resting_or_erased_partner_cannot_be_assigned() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let (resting, erased, active) = (
            "ptn_00000000000000000000000000000r01",
            "ptn_00000000000000000000000000000e01",
            "ptn_00000000000000000000000000000a01",
        );
        for id in [resting, erased, active] {
            h.partner_registered("RZA", id).await;
        }
        h.svc
            .publish(
                PEOPLE_PARTNERS,
                resting,
                "RZA",
                &PartnerStatusChanged {
                    partner_id: resting.into(),
                    from_status: "active".into(),
                    to_status: "resting".into(),
                    changed_at: "2026-11-02T10:00:00Z".into(),
                },
            )
            .await;
        h.svc
            .publish(
                PEOPLE_PARTNERS,
                erased,
                "RZA",
                &PartnerErased {
                    partner_id: erased.into(),
                    erased_at: "2026-11-02T11:00:00Z".into(),
                },
            )
            .await;
        // Each partner's events share a key, so they apply in order: wait for the last of each.
        let db = alongside_platform::db::connect(&h.svc.settings.database)
            .await
            .unwrap();
        for (id, status) in [(resting, "resting"), (erased, "erased"), (active, "active")] {
            let applied = eventually(Duration::from_secs(20), || {
                let db = db.clone();
                async move {
                    use sea_orm::EntityTrait;
                    let row = alongside_engagement::store::known_partner::Entity::find_by_id(id)
                        .one(&db)
                        .await
                        .ok()??;
                    (row.status == status).then_some(())
                }
            })
            .await;
            assert!(
                applied.is_some(),
                "{backend:?}: {id} is {status} in the read model"
            );
        }
        let opportunity = h.opportunity().await;
        h.assign_when_known(&opportunity.id, active).await;
        for (id, status) in [(resting, "resting"), (erased, "erased")] {
            let refused = h
                .client
                .assign_partner(outgoing(
                    AssignPartnerRequest {
                        opportunity_id: opportunity.id.clone(),
                        partner_id: id.into(),
                        ..Default::default()
                    },
                    &h.lead,
                ))
                .await
                .unwrap_err();
            let errors = field_errors(&refused);
            assert_eq!(errors[0].field, "partner_id", "{backend:?}");
            assert_eq!(errors[0].reason, format!("partner is {status}, not active"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_bound_opportunity_takes_only_partners_eligible_on_the_day() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let (renewed, lapsing, untrained) = (
            "ptn_0000000000000000000000000000g001",
            "ptn_0000000000000000000000000000g002",
            "ptn_0000000000000000000000000000g003",
        );
        // The session is ten days away; one partner's role lapses three days before it.
        let (session, lapses) = (days_from_today(10), days_from_today(7));
        for (id, valid_until) in [(renewed, days_from_today(200)), (lapsing, lapses.clone())] {
            h.partner_registered("RZA", id).await;
            h.svc
                .publish(
                    PEOPLE_PARTNERS,
                    id,
                    "RZA",
                    &PartnerEligibilityChanged {
                        partner_id: id.into(),
                        roles: vec![RoleEligibility {
                            role: "governance_partner".into(),
                            valid_until,
                        }],
                        changed_at: "2026-11-20T09:00:00Z".into(),
                    },
                )
                .await;
        }
        h.partner_registered("RZA", untrained).await;
        let db = alongside_platform::db::connect(&h.svc.settings.database)
            .await
            .unwrap();
        let known = eventually(Duration::from_secs(20), || {
            let db = db.clone();
            async move {
                use sea_orm::{EntityTrait, PaginatorTrait};
                let eligible = alongside_engagement::store::eligibility::Entity::find()
                    .count(&db)
                    .await
                    .ok()?;
                let partners = alongside_engagement::store::known_partner::Entity::find()
                    .count(&db)
                    .await
                    .ok()?;
                (eligible == 2 && partners == 3).then_some(())
            }
        })
        .await;
        assert!(
            known.is_some(),
            "{backend:?}: the read model has the three partners"
        );

        let request = CreateOpportunityRequest {
            title: "Rheumatology MDT".into(),
            kind: "mdt_seat".into(),
            involvement_level: 4,
            starts_on: session.clone(),
            places: 3,
            required_role: "governance_partner".into(),
            ..Default::default()
        };
        let mdt = h
            .client
            .create_opportunity(outgoing(request, &h.lead))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(mdt.required_role, "governance_partner");
        let assign = |partner: &str| {
            outgoing(
                AssignPartnerRequest {
                    opportunity_id: mdt.id.clone(),
                    partner_id: partner.into(),
                    ..Default::default()
                },
                &h.lead,
            )
        };
        h.client
            .assign_partner(assign(renewed))
            .await
            .expect("eligible on the day");
        let lapsed = h.client.assign_partner(assign(lapsing)).await.unwrap_err();
        assert_eq!(
            field_errors(&lapsed)[0].reason,
            format!("partner's eligibility as governance_partner ends on {lapses}, before this opportunity on {session}")
        );
        let untrained_refusal = h
            .client
            .assign_partner(assign(untrained))
            .await
            .unwrap_err();
        assert!(field_errors(&untrained_refusal)[0]
            .reason
            .starts_with("partner is not eligible as governance_partner"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_who_withdrew_consent_to_contact_is_offered_nothing() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let id = "ptn_00000000000000000000000000000c01";
        h.partner_registered("RZA", id).await;
        let consent = |granted: bool| PartnerConsentChanged {
            partner_id: id.into(),
            purpose: "contact".into(),
            granted,
            changed_at: "2026-11-25T10:00:00Z".into(),
        };
        h.svc
            .publish(PEOPLE_PARTNERS, id, "RZA", &consent(false))
            .await;
        let db = alongside_platform::db::connect(&h.svc.settings.database)
            .await
            .unwrap();
        let contactable = |want: bool| {
            let db = db.clone();
            async move {
                eventually(Duration::from_secs(20), || {
                    let db = db.clone();
                    async move {
                        use sea_orm::EntityTrait;
                        let row =
                            alongside_engagement::store::known_partner::Entity::find_by_id(id)
                                .one(&db)
                                .await
                                .ok()??;
                        (row.contactable == want).then_some(())
                    }
                })
                .await
                .is_some()
            }
        };
        assert!(contactable(false).await, "{backend:?}: withdrawal applied");
        let opportunity = h.opportunity().await;
        let assign = || {
            outgoing(
                AssignPartnerRequest {
                    opportunity_id: opportunity.id.clone(),
                    partner_id: id.into(),
                    ..Default::default()
                },
                &h.lead,
            )
        };
        let refused = h.client.assign_partner(assign()).await.unwrap_err();
        assert_eq!(
            field_errors(&refused)[0].reason,
            "this partner has withdrawn consent to be contacted about opportunities"
        );
        // Consent given again: offered again. Other purposes change nothing here.
        h.svc
            .publish(PEOPLE_PARTNERS, id, "RZA", &consent(true))
            .await;
        assert!(contactable(true).await);
        h.client.assign_partner(assign()).await.unwrap();
    }
}

/// A correction is never a silent edit: it says why, moves the revision on, and is published as
/// the whole attendance at the new revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attendance_is_corrected_with_a_reason_and_a_correcting_event() {
    use alongside_proto::engagement::events::v1::AttendanceCorrected;
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let partner = "ptn_0000000000000000000000000000000c";
        h.partner_registered("RZA", partner).await;
        let opportunity = h.opportunity().await;
        let assignment = h.assign_when_known(&opportunity.id, partner).await;
        let attendance = h
            .client
            .record_attendance(outgoing(
                RecordAttendanceRequest {
                    assignment_id: assignment.id.clone(),
                    minutes: 180,
                    ..Default::default()
                },
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        let correct = |minutes: u32, reason: &str, token: &str| {
            outgoing(
                CorrectAttendanceRequest {
                    attendance_id: attendance.id.clone(),
                    minutes,
                    reason: reason.into(),
                    ..Default::default()
                },
                token,
            )
        };
        let no_reason = h
            .client
            .correct_attendance(correct(300, "", &h.lead))
            .await
            .unwrap_err();
        assert_eq!(field_errors(&no_reason)[0].field, "reason");
        let same = h
            .client
            .correct_attendance(correct(180, "checked", &h.lead))
            .await
            .unwrap_err();
        assert_eq!(field_errors(&same)[0].field, "minutes", "{backend:?}");
        let partner_token = h.svc.token_for("RZA", Role::Partner, partner);
        let refused = h
            .client
            .correct_attendance(correct(300, "stayed on", &partner_token))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        let elsewhere = h
            .client
            .correct_attendance(correct(
                300,
                "stayed on",
                &h.svc.token("RZB", Role::EngagementLead),
            ))
            .await
            .unwrap_err();
        assert_eq!(
            elsewhere.code(),
            Code::NotFound,
            "another trust's attendance"
        );

        let corrected = h
            .client
            .correct_attendance(correct(300, "Stayed for the afternoon session", &h.lead))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((corrected.minutes, corrected.revision), (300, 2));
        let none = h
            .client
            .correct_attendance(correct(0, "Recorded against the wrong partner", &h.lead))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((none.minutes, none.revision), (0, 3));
        let listed = h
            .client
            .list_assignments(outgoing(
                ListAssignmentsRequest {
                    opportunity_id: opportunity.id.clone(),
                },
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.assignments[0].attendance_id, attendance.id);
        assert_eq!(listed.assignments[0].attended_minutes, Some(0));

        let events = read_events(
            h.svc.brokers(),
            ENGAGEMENT_ACTIVITIES,
            5,
            Duration::from_secs(20),
        )
        .await;
        let corrections: Vec<AttendanceCorrected> = events
            .iter()
            .filter(|(_, e)| e.is::<AttendanceCorrected>())
            .map(|(_, e)| e.payload().unwrap())
            .collect();
        assert_eq!(
            corrections.len(),
            2,
            "{backend:?}: one event per correction"
        );
        let last = corrections[1].attendance.clone().unwrap();
        assert_eq!((last.minutes, last.revision), (0, 3));
        assert_eq!(last.attendance_id, attendance.id);
        assert_eq!(last.pathway, "pain");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_place_goes_to_one_partner_however_many_ask_at_once() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let partners: Vec<String> = (0..8).map(|i| format!("ptn_last_place_{i}")).collect();
        for p in &partners {
            h.partner_registered("RZA", p).await;
        }
        let opportunity = h.opportunity().await;
        // Every partner known to engagement first: each assigned to a larger opportunity.
        let probe = h
            .client
            .create_opportunity(outgoing(
                CreateOpportunityRequest {
                    title: "Forum".into(),
                    kind: "forum_meeting".into(),
                    involvement_level: 3,
                    starts_on: opportunity.starts_on.clone(),
                    places: 10,
                    ..Default::default()
                },
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        for p in &partners {
            h.assign_when_known(&probe.id, p).await;
        }
        // One of the two places taken; then seven leads ask for the last at once.
        h.assign_when_known(&opportunity.id, &partners[0]).await;
        let calls: Vec<_> = partners[1..]
            .iter()
            .map(|p| {
                let mut client = h.client.clone();
                let request = outgoing(
                    AssignPartnerRequest {
                        opportunity_id: opportunity.id.clone(),
                        partner_id: p.clone(),
                        ..Default::default()
                    },
                    &h.lead,
                );
                tokio::spawn(async move { client.assign_partner(request).await })
            })
            .collect();
        let mut results = Vec::new();
        for call in calls {
            results.push(call.await.unwrap());
        }
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "{backend:?}: {results:?}");
        for refused in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(refused.code(), Code::InvalidArgument, "{backend:?}");
            assert!(
                refused.message().contains("all 2 places are filled"),
                "{refused:?}"
            );
        }
        let listed = h
            .client
            .list_assignments(outgoing(
                ListAssignmentsRequest {
                    opportunity_id: opportunity.id.clone(),
                },
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.assignments.len(), 2, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shortlist_shares_paid_work_fairly_and_says_why() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let id = |n: &str| format!("ptn_short_{n}");
        // The forum meets in four days; the paid work before it is counted over the twelve
        // months before its month.
        let target_on = days_from_today(4);
        let target_month = &target_on[..7];
        let month = |by: i32| alongside_platform::add_months(target_month, by).unwrap();
        let (in_date, lapsed) = (days_from_today(200), days_from_today(-1));
        let eligible_until = [
            ("fresh", in_date.as_str()),
            ("busy", in_date.as_str()),
            ("once", ""),
            ("quiet", in_date.as_str()),
            ("lapsing", lapsed.as_str()),
            ("assigned", in_date.as_str()),
        ];
        for (n, until) in eligible_until {
            h.partner_registered("RZA", &id(n)).await;
            h.svc
                .publish(
                    PEOPLE_PARTNERS,
                    &id(n),
                    "RZA",
                    &PartnerEligibilityChanged {
                        partner_id: id(n),
                        roles: vec![RoleEligibility {
                            role: "forum_member".into(),
                            valid_until: until.into(),
                        }],
                        changed_at: "2026-11-20T09:00:00Z".into(),
                    },
                )
                .await;
        }
        h.partner_registered("RZA", &id("untrained")).await;
        h.svc
            .publish(
                PEOPLE_PARTNERS,
                &id("quiet"),
                "RZA",
                &PartnerConsentChanged {
                    partner_id: id("quiet"),
                    purpose: "contact".into(),
                    granted: false,
                    changed_at: "2026-11-25T10:00:00Z".into(),
                },
            )
            .await;
        // Paid sessions earlier in the year: two for busy, one for once; an expenses-only one
        // for fresh, which is not paid work.
        let past = |title: &str, starts_on: &str, remuneration: &str| CreateOpportunityRequest {
            title: title.into(),
            kind: "forum_meeting".into(),
            involvement_level: 3,
            starts_on: starts_on.into(),
            places: 5,
            remuneration: remuneration.into(),
            held: true,
            ..Default::default()
        };
        let mut sessions = Vec::new();
        let (half_a_year_ago, a_season_ago) =
            (format!("{}-10", month(-6)), format!("{}-10", month(-3)));
        for (request, who) in [
            (
                past("June forum", &half_a_year_ago, ""),
                vec!["busy", "once"],
            ),
            (past("September forum", &a_season_ago, ""), vec!["busy"]),
            (
                past(
                    "Listening event",
                    &format!("{}-01", month(-2)),
                    "expenses_only",
                ),
                vec!["fresh"],
            ),
        ] {
            let o = h
                .client
                .create_opportunity(outgoing(request, &h.lead))
                .await
                .unwrap()
                .into_inner();
            for w in who {
                sessions.push(h.assign_when_known(&o.id, &id(w)).await);
            }
        }
        for a in &sessions {
            h.client
                .record_attendance(outgoing(
                    RecordAttendanceRequest {
                        assignment_id: a.id.clone(),
                        minutes: 120,
                        ..Default::default()
                    },
                    &h.lead,
                ))
                .await
                .unwrap();
        }
        let target = h
            .client
            .create_opportunity(outgoing(
                CreateOpportunityRequest {
                    title: "December forum".into(),
                    kind: "forum_meeting".into(),
                    involvement_level: 3,
                    starts_on: target_on.clone(),
                    places: 5,
                    required_role: "forum_member".into(),
                    ..Default::default()
                },
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        h.assign_when_known(&target.id, &id("assigned")).await;
        // Wait until the consent withdrawal has reached engagement: the list and its counts
        // are read at once, on two connections, so each must show it.
        let ask = ShortlistRequest {
            opportunity_id: target.id.clone(),
            limit: 0,
        };
        let (client, lead) = (h.client.clone(), h.lead.clone());
        let list = eventually(Duration::from_secs(20), || {
            let mut client = client.clone();
            let request = outgoing(ask.clone(), &lead);
            async move {
                let list = client.shortlist_partners(request).await.ok()?.into_inner();
                let counted = list
                    .excluded
                    .iter()
                    .any(|x| x.reason.contains("not to be contacted"));
                (counted && !list.entries.iter().any(|e| e.partner_id.ends_with("quiet")))
                    .then_some(list)
            }
        })
        .await
        .expect("a shortlist");
        let order: Vec<&str> = list
            .entries
            .iter()
            .map(|e| e.partner_id.trim_start_matches("ptn_short_"))
            .collect();
        assert_eq!(order, ["fresh", "once", "busy"], "{backend:?}: {list:?}");
        assert_eq!(
            list.entries
                .iter()
                .map(|e| e.paid_sessions)
                .collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert_eq!(list.entries[2].last_paid_on, a_season_ago);
        assert!(list.entries[0]
            .reasons
            .iter()
            .any(|r| r.contains(&format!("eligible as forum_member on {target_on}"))));
        let window = format!("no paid sessions from {} to {}", month(-12), month(-1));
        assert!(list.entries[0].reasons.iter().any(|r| r.contains(&window)));
        assert!(list.entries[2]
            .reasons
            .iter()
            .any(|r| r.contains("2 paid sessions") && r.contains(&a_season_ago)));
        assert_eq!((list.considered, list.eligible), (7, 3));
        let why: Vec<(&str, u64)> = list
            .excluded
            .iter()
            .map(|x| (x.reason.as_str(), x.partners))
            .collect();
        assert!(
            why.contains(&("asked not to be contacted about opportunities", 1)),
            "{why:?}"
        );
        assert!(why.contains(&("already on this opportunity", 1)), "{why:?}");
        assert!(
            why.iter()
                .any(|(r, n)| r.starts_with("not eligible as forum_member") && *n == 2),
            "lapsing and untrained: {why:?}"
        );

        // A correction to no attendance takes the paid session away.
        let busy_june = h
            .client
            .list_assignments(outgoing(
                ListAssignmentsRequest {
                    opportunity_id: sessions[0].opportunity_id.clone(),
                },
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner()
            .assignments
            .into_iter()
            .find(|a| a.partner_id == id("busy"))
            .unwrap();
        h.client
            .correct_attendance(outgoing(
                CorrectAttendanceRequest {
                    attendance_id: busy_june.attendance_id.clone(),
                    minutes: 0,
                    reason: "Sent apologies; recorded by mistake".into(),
                    ..Default::default()
                },
                &h.lead,
            ))
            .await
            .unwrap();
        let again = h
            .client
            .shortlist_partners(outgoing(
                ShortlistRequest {
                    opportunity_id: target.id.clone(),
                    limit: 2,
                },
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again.entries.len(), 2, "the limit");
        assert_eq!(again.entries[1].paid_sessions, 1);
        // A list filled by partners without paid sessions gives the same first and counts.
        let one = h
            .client
            .shortlist_partners(outgoing(
                ShortlistRequest {
                    opportunity_id: target.id.clone(),
                    limit: 1,
                },
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(one.entries.len(), 1);
        assert_eq!(one.entries[0].partner_id, id("fresh"));
        assert_eq!((one.considered, one.eligible), (7, 3), "{backend:?}");

        // Leads only; a bad limit is refused by name.
        let staff = h.svc.token("RZA", Role::Staff);
        let refused = h
            .client
            .shortlist_partners(outgoing(ask.clone(), &staff))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        let bad = h
            .client
            .shortlist_partners(outgoing(
                ShortlistRequest {
                    opportunity_id: target.id.clone(),
                    limit: 101,
                },
                &h.lead,
            ))
            .await
            .unwrap_err();
        assert_eq!(field_errors(&bad)[0].field, "limit");
        let other = h.svc.token("RZB", Role::EngagementLead);
        let hidden = h
            .client
            .shortlist_partners(outgoing(ask.clone(), &other))
            .await
            .unwrap_err();
        assert_eq!(hidden.code(), Code::NotFound, "another trust's opportunity");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_or_erasure_frees_future_places_and_keeps_the_past() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let (leaver, erased, waiting) = ("ptn_free_leaver", "ptn_free_erased", "ptn_free_waiting");
        for id in [leaver, erased, waiting] {
            h.partner_registered("RZA", id).await;
        }
        let create = |title: &str, starts_on: &str, places: u32| CreateOpportunityRequest {
            title: title.into(),
            kind: "forum_meeting".into(),
            involvement_level: 3,
            starts_on: starts_on.into(),
            places,
            held: starts_on < today().as_str(),
            ..Default::default()
        };
        let past = h
            .client
            .create_opportunity(outgoing(
                create("Last spring's forum", &days_from_today(-200), 5),
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        let future = h
            .client
            .create_opportunity(outgoing(
                create("Next year's forum", &days_from_today(300), 2),
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        let attended = h.assign_when_known(&past.id, leaver).await;
        h.client
            .record_attendance(outgoing(
                RecordAttendanceRequest {
                    assignment_id: attended.id.clone(),
                    minutes: 90,
                    ..Default::default()
                },
                &h.lead,
            ))
            .await
            .unwrap();
        h.assign_when_known(&future.id, leaver).await;
        h.assign_when_known(&future.id, erased).await;
        // Full: the third partner (known to engagement, on another list) waits.
        let other = h
            .client
            .create_opportunity(outgoing(
                create("Reading group", &days_from_today(330), 5),
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        h.assign_when_known(&other.id, waiting).await;
        let full = h
            .client
            .assign_partner(outgoing(
                AssignPartnerRequest {
                    opportunity_id: future.id.clone(),
                    partner_id: waiting.into(),
                    ..Default::default()
                },
                &h.lead,
            ))
            .await
            .unwrap_err();
        assert!(
            full.message().contains("all 2 places are filled"),
            "{full:?}"
        );

        h.svc
            .publish(
                PEOPLE_PARTNERS,
                leaver,
                "RZA",
                &PartnerStatusChanged {
                    partner_id: leaver.into(),
                    from_status: "active".into(),
                    to_status: "left".into(),
                    changed_at: "2026-11-30T10:00:00Z".into(),
                },
            )
            .await;
        h.svc
            .publish(
                PEOPLE_PARTNERS,
                erased,
                "RZA",
                &PartnerErased {
                    partner_id: erased.into(),
                    erased_at: "2026-11-30T11:00:00Z".into(),
                },
            )
            .await;
        let listed = |opportunity_id: String| {
            let mut client = h.client.clone();
            let request = outgoing(ListAssignmentsRequest { opportunity_id }, &h.lead);
            async move {
                client
                    .list_assignments(request)
                    .await
                    .unwrap()
                    .into_inner()
                    .assignments
            }
        };
        let freed = eventually(Duration::from_secs(20), || {
            let future_id = future.id.clone();
            let listed = &listed;
            async move { listed(future_id).await.is_empty().then_some(()) }
        })
        .await;
        assert!(freed.is_some(), "{backend:?}: both future places are freed");
        // The past stays, attendance and all; the freed place can be taken again.
        let kept = listed(past.id.clone()).await;
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].attended_minutes, Some(90));
        h.assign_when_known(&future.id, waiting).await;
        let db = alongside_platform::db::connect(&h.svc.settings.database)
            .await
            .unwrap();
        use sea_orm::EntityTrait;
        let cancelled = alongside_engagement::store::cancellation::Entity::find()
            .all(&db)
            .await
            .unwrap();
        let mut reasons: Vec<&str> = cancelled.iter().map(|c| c.reason.as_str()).collect();
        reasons.sort();
        assert_eq!(
            reasons,
            ["the partner left the People Bank", "the partner was erased"],
            "{backend:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_impact_log_says_what_partners_raised_and_what_changed() {
    let mut h = Harness::start(Backend::Sqlite).await;
    let forum = h.opportunity().await;
    let entry = |raised: &str, changed_on: &str, pathway: &str| RecordImpactRequest {
        raised: raised.into(),
        changed: "Letters now say which entrance to use and where to park".into(),
        evidence: "New letter template approved by the pathway board".into(),
        changed_on: changed_on.into(),
        pathway: pathway.into(),
        opportunity_ids: vec![forum.id.clone()],
        themes: vec!["appointment_arrangements".into()],
    };
    let first = h
        .client
        .record_impact(outgoing(
            entry("Appointment letters were confusing", "2026-10-01", "pain"),
            &h.lead,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(first.id.starts_with("imp_"));
    assert_eq!(first.opportunity_ids, std::slice::from_ref(&forum.id));
    h.client
        .record_impact(outgoing(
            entry("Waiting room chairs too low", "2026-11-12", "msk"),
            &h.lead,
        ))
        .await
        .unwrap();

    // Newest change first; by pathway; by date.
    let all = h
        .client
        .list_impact(outgoing(ListImpactRequest::default(), &h.lead))
        .await
        .unwrap()
        .into_inner();
    let raised: Vec<&str> = all.entries.iter().map(|e| e.raised.as_str()).collect();
    assert_eq!(
        raised,
        [
            "Waiting room chairs too low",
            "Appointment letters were confusing"
        ]
    );
    let pain = h
        .client
        .list_impact(outgoing(
            ListImpactRequest {
                pathway: "pain".into(),
                ..Default::default()
            },
            &h.lead,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pain.entries.len(), 1);
    let analyst = h.svc.token("RZA", Role::Analyst);
    let read = h
        .client
        .list_impact(outgoing(
            ListImpactRequest {
                from: "2026-11-01".into(),
                ..Default::default()
            },
            &analyst,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.entries.len(), 1, "analysts read it; from a date");

    // Bad input, by field; nothing stored.
    let bad = h
        .client
        .record_impact(outgoing(
            RecordImpactRequest {
                raised: " ".into(),
                changed: "x".repeat(2_001),
                changed_on: days_from_today(1),
                opportunity_ids: vec!["opp_elsewhere".into()],
                themes: vec!["not_a_theme".into()],
                ..Default::default()
            },
            &h.lead,
        ))
        .await
        .unwrap_err();
    let fields: Vec<String> = field_errors(&bad).into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        [
            "raised",
            "changed",
            "changed_on",
            "themes",
            "opportunity_ids"
        ]
    );
    // Only organisers write it; another trust sees none of it.
    let refused = h
        .client
        .record_impact(outgoing(entry("x", "2026-10-01", ""), &analyst))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let other = h.svc.token("RZB", Role::EngagementLead);
    let theirs = h
        .client
        .list_impact(outgoing(ListImpactRequest::default(), &other))
        .await
        .unwrap()
        .into_inner();
    assert!(theirs.entries.is_empty());
    let linked = h
        .client
        .record_impact(outgoing(entry("x", "2026-10-01", ""), &other))
        .await
        .unwrap_err();
    assert_eq!(
        field_errors(&linked)[0].field,
        "opportunity_ids",
        "not their opportunity"
    );
}

fn days_from_today(days: i64) -> String {
    (alongside_platform::testing::clock().today() + time::Duration::days(days)).to_string()
}

fn refused_fields(status: &tonic::Status) -> Vec<String> {
    field_errors(status).into_iter().map(|e| e.field).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_becomes_an_opportunity_offered_accepted_attended_and_reported() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let id = |n: u32| format!("ptn_{n:032x}");
        for n in 1..=4 {
            h.partner_registered("RZA", &id(n)).await;
        }
        let staff = h.svc.token("RZA", Role::Staff);
        // A team asks; a bad request is refused by field.
        let bad = h
            .client
            .create_staff_request(outgoing(CreateStaffRequestRequest::default(), &staff))
            .await
            .unwrap_err();
        assert_eq!(refused_fields(&bad), ["title", "team", "description"]);
        let asked = h
            .client
            .create_staff_request(outgoing(
                CreateStaffRequestRequest {
                    title: "Pain clinic letters".into(),
                    team: "Pain outpatients".into(),
                    pathway: "pain".into(),
                    description: "Read our letters and say what is unclear".into(),
                    kind: "improvement_group".into(),
                    places: 2,
                    ..Default::default()
                },
                &staff,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(asked.status, "open");
        // Staff may ask but not turn requests into opportunities.
        let denied = h
            .client
            .create_opportunity(outgoing(CreateOpportunityRequest::default(), &staff))
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);

        // Published sessions are today or later.
        let weekly = |starts_on: String| CreateOpportunityRequest {
            title: "Pain clinic letters group".into(),
            kind: "improvement_group".into(),
            involvement_level: 3,
            starts_on,
            places: 2,
            pathway: "pain".into(),
            expected_minutes: 90,
            repeat: "weekly".into(),
            session_count: 3,
            request_id: asked.id.clone(),
            ..Default::default()
        };
        let past = h
            .client
            .create_opportunity(outgoing(weekly(days_from_today(-7)), &h.lead))
            .await
            .unwrap_err();
        assert_eq!(refused_fields(&past), ["starts_on"]);
        let o = h
            .client
            .create_opportunity(outgoing(weekly(today()), &h.lead))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(o.status, "published");
        assert_eq!(o.request_id, asked.id);
        let dates: Vec<_> = o.sessions.iter().map(|s| s.on.clone()).collect();
        assert_eq!(dates, [today(), days_from_today(7), days_from_today(14)]);
        let listed = h
            .client
            .list_staff_requests(outgoing(ListStaffRequestsRequest::default(), &staff))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.requests[0].status, "converted");
        assert_eq!(listed.requests[0].opportunity_id, o.id);
        // The same request cannot be answered twice.
        let again = h
            .client
            .create_opportunity(outgoing(weekly(today()), &h.lead))
            .await
            .unwrap_err();
        assert_eq!(refused_fields(&again), ["request_id"]);

        // Partner 3 declares a conflict with pain; partner 2 is interested; partner 4 can do
        // only the day after the sessions' weekday. The shortlist leaves 3 and 4 out, saying
        // why, and puts 2 first.
        let weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let session_day = alongside_platform::testing::clock().today().weekday();
        let other_day = weekdays[(session_day.number_days_from_monday() as usize + 1) % 7];
        let partner = |n: u32| h.svc.token_for("RZA", Role::Partner, &id(n));
        let mut c = h.client.clone();
        let set = |_partner: u32, days: Vec<&str>, conflicts: Vec<&str>| Preferences {
            days: days.into_iter().map(String::from).collect(),
            conflicts: conflicts.into_iter().map(String::from).collect(),
            ..Default::default()
        };
        eventually(Duration::from_secs(20), || {
            let mut c = c.clone();
            let request = outgoing(set(3, vec![], vec!["Pain"]), &partner(3));
            async move { c.set_preferences(request).await.ok() }
        })
        .await
        .expect("partner known");
        eventually(Duration::from_secs(20), || {
            let mut c = c.clone();
            let request = outgoing(set(4, vec![other_day], vec![]), &partner(4));
            async move { c.set_preferences(request).await.ok() }
        })
        .await
        .expect("partner known");
        let bad_days = c
            .set_preferences(outgoing(set(4, vec!["someday"], vec![]), &partner(4)))
            .await
            .unwrap_err();
        assert_eq!(refused_fields(&bad_days), ["days"]);
        // A partner sees and sets only their own.
        let theirs = c
            .get_preferences(outgoing(
                GetPreferencesRequest { partner_id: id(3) },
                &partner(4),
            ))
            .await
            .unwrap_err();
        assert_eq!(theirs.code(), Code::PermissionDenied);
        eventually(Duration::from_secs(20), || {
            let mut c = c.clone();
            let request = outgoing(
                ExpressInterestRequest {
                    opportunity_id: o.id.clone(),
                    interested: true,
                    note: "I have had many of these letters".into(),
                },
                &partner(2),
            );
            async move { c.express_interest(request).await.ok() }
        })
        .await
        .expect("interest recorded");
        let open_to_3 = c
            .list_open_opportunities(outgoing(
                ListOpenOpportunitiesRequest::default(),
                &partner(3),
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(
            open_to_3.opportunities.is_empty(),
            "a declared conflict hides it"
        );
        let open_to_2 = c
            .list_open_opportunities(outgoing(
                ListOpenOpportunitiesRequest::default(),
                &partner(2),
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(open_to_2.opportunities.len(), 1);
        assert!(open_to_2.opportunities[0].interested);

        let list = c
            .shortlist_partners(outgoing(
                ShortlistRequest {
                    opportunity_id: o.id.clone(),
                    limit: 10,
                },
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        let ranked: Vec<_> = list.entries.iter().map(|e| e.partner_id.clone()).collect();
        assert_eq!(ranked, [id(2), id(1)], "{list:?}");
        assert!(list.entries[0]
            .reasons
            .iter()
            .any(|r| r.contains("interested")));
        let excluded: Vec<_> = list
            .excluded
            .iter()
            .map(|x| (x.reason.clone(), x.partners))
            .collect();
        assert!(
            excluded.contains(&(
                "declared a conflict of interest with the pain pathway".into(),
                1
            )),
            "{excluded:?}"
        );
        assert!(
            excluded
                .iter()
                .any(|(r, n)| r.starts_with("not available on") && *n == 1),
            "{excluded:?}"
        );
        let conflicted = c
            .assign_partner(outgoing(
                AssignPartnerRequest {
                    opportunity_id: o.id.clone(),
                    partner_id: id(3),
                    offer: true,
                },
                &h.lead,
            ))
            .await
            .unwrap_err();
        assert!(
            conflicted.message().contains("conflict of interest"),
            "{conflicted:?}"
        );

        // Offers hold places until answered; a decline frees one; only the partner answers.
        let offer = |n: u32| AssignPartnerRequest {
            opportunity_id: o.id.clone(),
            partner_id: id(n),
            offer: true,
        };
        let to_2 = c
            .assign_partner(outgoing(offer(2), &h.lead))
            .await
            .unwrap()
            .into_inner();
        let to_1 = c
            .assign_partner(outgoing(offer(1), &h.lead))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(to_2.status, "offered");
        let full = c
            .assign_partner(outgoing(offer(4), &h.lead))
            .await
            .unwrap_err();
        assert!(full.message().contains("all 2 places are filled"));
        let not_theirs = c
            .respond_to_offer(outgoing(
                RespondToOfferRequest {
                    assignment_id: to_2.id.clone(),
                    accept: true,
                    ..Default::default()
                },
                &partner(1),
            ))
            .await
            .unwrap_err();
        assert_eq!(not_theirs.code(), Code::NotFound);
        let early = c
            .record_attendance(outgoing(
                RecordAttendanceRequest {
                    assignment_id: to_2.id.clone(),
                    minutes: 90,
                    ..Default::default()
                },
                &h.lead,
            ))
            .await
            .unwrap_err();
        assert!(early.message().contains("not accepted"), "{early:?}");
        let accepted = c
            .respond_to_offer(outgoing(
                RespondToOfferRequest {
                    assignment_id: to_2.id.clone(),
                    accept: true,
                    ..Default::default()
                },
                &partner(2),
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(accepted.status, "accepted");
        c.respond_to_offer(outgoing(
            RespondToOfferRequest {
                assignment_id: to_1.id.clone(),
                accept: false,
                reason: "Away that month".into(),
            },
            &partner(1),
        ))
        .await
        .unwrap();
        let now = c
            .get_opportunity(outgoing(
                GetOpportunityRequest { id: o.id.clone() },
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((now.filled, now.status.as_str()), (1, "published"));
        let mine = c
            .list_my_assignments(outgoing(ListMyAssignmentsRequest {}, &partner(2)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(mine.assignments.len(), 1);
        assert_eq!(
            mine.assignments[0]
                .opportunity
                .as_ref()
                .unwrap()
                .sessions
                .len(),
            3
        );

        // Attendance per session: minutes within the session (90) plus 60; apologies carry
        // none; a session to come cannot be recorded; each session once.
        let record = |session: &str, minutes: u32, outcome: &str| RecordAttendanceRequest {
            assignment_id: to_2.id.clone(),
            minutes,
            session_id: session.to_string(),
            outcome: outcome.to_string(),
        };
        let too_long = c
            .record_attendance(outgoing(record(&o.sessions[0].id, 151, ""), &h.lead))
            .await
            .unwrap_err();
        assert!(
            field_errors(&too_long)[0].reason.contains("at most 150"),
            "{too_long:?}"
        );
        let apologies_with_minutes = c
            .record_attendance(outgoing(
                record(&o.sessions[0].id, 30, "apologies"),
                &h.lead,
            ))
            .await
            .unwrap_err();
        assert_eq!(refused_fields(&apologies_with_minutes), ["minutes"]);
        let future = c
            .record_attendance(outgoing(record(&o.sessions[1].id, 90, ""), &h.lead))
            .await
            .unwrap_err();
        assert!(
            future.message().contains("has not happened yet"),
            "{future:?}"
        );
        let attended = c
            .record_attendance(outgoing(record(&o.sessions[0].id, 120, ""), &h.lead))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (attended.outcome.as_str(), attended.session_id.as_str()),
            ("attended", o.sessions[0].id.as_str())
        );
        let twice = c
            .record_attendance(outgoing(record(&o.sessions[0].id, 120, ""), &h.lead))
            .await
            .unwrap_err();
        assert!(twice.message().contains("already recorded"), "{twice:?}");

        // The report: 2 hours by one partner, of improvement work on the pain pathway, as the
        // lead reads it; one partner is hidden from the trust's analysts, whole.
        let report_for = |token: String| {
            let mut c = c.clone();
            async move {
                c.engagement_report(outgoing(
                    EngagementReportRequest {
                        from: days_from_today(-30),
                        to: today(),
                        ..Default::default()
                    },
                    &token,
                ))
                .await
                .unwrap()
                .into_inner()
            }
        };
        let report = report_for(h.lead.clone()).await;
        assert_eq!(
            (
                report.sessions,
                report.minutes,
                report.partners,
                report.paid_sessions
            ),
            (1, 120, 1, 1)
        );
        assert_eq!(report.by_kind[0].key, "improvement_group");
        assert_eq!(report.by_pathway[0].key, "pain");
        assert_eq!(report.paid_sessions_histogram, [1, 0, 0, 0, 0]);
        assert_eq!(report.unfilled.len(), 1, "one of two places taken");
        let analysts = report_for(h.svc.token("RZA", Role::Analyst)).await;
        assert!(analysts.total_hidden && analysts.paid_hidden && analysts.fairness_hidden);
        assert_eq!(
            (analysts.sessions, analysts.minutes, analysts.partners),
            (0, 0, 0)
        );
        assert!(analysts.by_kind.iter().all(|r| r.hidden && r.sessions == 0));
        assert!(analysts
            .by_pathway
            .iter()
            .all(|r| r.hidden && r.minutes == 0));
        assert!(analysts.paid_sessions_histogram.is_empty() && analysts.most_paid_sessions == 0);
        assert!(
            analysts.from.ends_with("-01"),
            "whole months: {}",
            analysts.from
        );
        let other_trust = report_for(h.svc.token("RZB", Role::Analyst)).await;
        assert_eq!(other_trust.sessions, 0, "another trust sees none of it");

        // Cancelling needs a reason and frees the places not attended; it cannot be completed
        // before its last session.
        let early_complete = c
            .complete_opportunity(outgoing(
                OpportunityAction {
                    id: o.id.clone(),
                    ..Default::default()
                },
                &h.lead,
            ))
            .await
            .unwrap_err();
        assert!(
            early_complete.message().contains(&days_from_today(14)),
            "{early_complete:?}"
        );
        let no_reason = c
            .cancel_opportunity(outgoing(
                OpportunityAction {
                    id: o.id.clone(),
                    ..Default::default()
                },
                &h.lead,
            ))
            .await
            .unwrap_err();
        assert_eq!(refused_fields(&no_reason), ["reason"]);
        let cancelled = c
            .cancel_opportunity(outgoing(
                OpportunityAction {
                    id: o.id.clone(),
                    reason: "The letters are being redone nationally".into(),
                },
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(cancelled.status, "cancelled");
        // Partner 2 attended a session: their place stays, with its history.
        assert_eq!(cancelled.filled, 1);
        let events = read_events(
            h.svc.brokers(),
            ENGAGEMENT_ACTIVITIES,
            4,
            Duration::from_secs(20),
        )
        .await;
        let cancelled_events: Vec<alongside_proto::engagement::events::v1::OpportunityCancelled> =
            events
                .iter()
                .filter(|(_, e)| {
                    e.is::<alongside_proto::engagement::events::v1::OpportunityCancelled>()
                })
                .map(|(_, e)| e.payload().unwrap())
                .collect();
        assert_eq!(cancelled_events.len(), 1, "{backend:?}");
        // The partner who declined held no place; the one who attended keeps theirs.
        assert_eq!(cancelled_events[0].cancelled_assignments, 0);

        // A draft may have past dates; publishing it then says what to change.
        let draft = c
            .create_opportunity(outgoing(
                CreateOpportunityRequest {
                    draft: true,
                    request_id: String::new(),
                    ..weekly(days_from_today(-3))
                },
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(draft.status, "draft");
        let stale = c
            .publish_opportunity(outgoing(
                OpportunityAction {
                    id: draft.id.clone(),
                    ..Default::default()
                },
                &h.lead,
            ))
            .await
            .unwrap_err();
        assert!(stale.message().contains("before today"), "{stale:?}");
        let offer_draft = c
            .assign_partner(outgoing(
                AssignPartnerRequest {
                    opportunity_id: draft.id.clone(),
                    partner_id: id(1),
                    offer: true,
                },
                &h.lead,
            ))
            .await
            .unwrap_err();
        assert!(offer_draft.message().contains("draft"), "{offer_draft:?}");

        // A forum: members, a meeting with agenda, minutes only once it has been held, actions.
        let forum = c
            .create_forum(outgoing(
                CreateForumRequest {
                    name: "Pain forum".into(),
                    pathway: "pain".into(),
                    ..Default::default()
                },
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        c.set_forum_member(outgoing(
            SetForumMemberRequest {
                forum_id: forum.id.clone(),
                partner_id: id(1),
                role: "chair".into(),
            },
            &h.lead,
        ))
        .await
        .unwrap();
        let early_minutes = c
            .save_forum_meeting(outgoing(
                SaveForumMeetingRequest {
                    forum_id: forum.id.clone(),
                    held_on: days_from_today(5),
                    minutes: "We met".into(),
                    ..Default::default()
                },
                &staff,
            ))
            .await
            .unwrap_err();
        assert_eq!(refused_fields(&early_minutes), ["minutes"]);
        let meeting = c
            .save_forum_meeting(outgoing(
                SaveForumMeetingRequest {
                    forum_id: forum.id.clone(),
                    held_on: days_from_today(5),
                    focus: "Waiting times".into(),
                    agenda: "1. Waiting times".into(),
                    ..Default::default()
                },
                &staff,
            ))
            .await
            .unwrap()
            .into_inner();
        let action = c
            .save_forum_action(outgoing(
                SaveForumActionRequest {
                    forum_id: forum.id.clone(),
                    meeting_id: meeting.id.clone(),
                    action: "Bring the waiting list letter".into(),
                    owner: "Service manager".into(),
                    due_on: days_from_today(30),
                    ..Default::default()
                },
                &staff,
            ))
            .await
            .unwrap()
            .into_inner();
        c.save_forum_action(outgoing(
            SaveForumActionRequest {
                id: action.id.clone(),
                forum_id: forum.id.clone(),
                status: "done".into(),
                ..Default::default()
            },
            &staff,
        ))
        .await
        .unwrap();
        let detail = c
            .get_forum(outgoing(
                GetForumRequest {
                    id: forum.id.clone(),
                },
                &staff,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(detail.members.len(), 1);
        assert_eq!(detail.meetings[0].focus, "Waiting times");
        assert_eq!(
            (
                detail.actions[0].status.as_str(),
                detail.actions[0].done_on.as_str()
            ),
            ("done", today().as_str())
        );
        assert_eq!(detail.forum.unwrap().next_meeting_on, days_from_today(5));
        let elsewhere = c
            .get_forum(outgoing(
                GetForumRequest {
                    id: forum.id.clone(),
                },
                &h.svc.token("RZB", Role::EngagementLead),
            ))
            .await
            .unwrap_err();
        assert_eq!(elsewhere.code(), Code::NotFound);
    }
}

/// Every endpoint refuses roles that may not call it, and another trust's records are not found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_checks_the_role_and_the_trust() {
    let backend = backends().into_iter().next().expect("a backend");
    let mut h = Harness::start(backend).await;
    let o = h.opportunity().await;
    let c = h.client.clone();
    let as_role = |role: Role| h.svc.token("RZA", role);
    let other = h.svc.token("RZB", Role::EngagementLead);
    macro_rules! call {
        ($method:ident, $request:expr, $token:expr) => {{
            let mut c = c.clone();
            c.$method(outgoing($request, &$token)).await.map(|_| ())
        }};
    }
    macro_rules! denied {
        ($method:ident, $request:expr, [$($role:expr),*]) => {{
            $(
                let refused = call!($method, $request, as_role($role)).unwrap_err();
                assert_eq!(refused.code(), Code::PermissionDenied, "{} as {:?}", stringify!($method), $role);
            )*
        }};
    }
    use Role::*;
    let action = || OpportunityAction {
        id: o.id.clone(),
        reason: "x".into(),
    };
    denied!(
        create_opportunity,
        CreateOpportunityRequest::default(),
        [Staff, Analyst, Partner, Finance]
    );
    denied!(
        get_opportunity,
        GetOpportunityRequest { id: o.id.clone() },
        [Analyst, Partner, Finance]
    );
    denied!(
        list_opportunities,
        ListOpportunitiesRequest::default(),
        [Analyst, Partner, Finance]
    );
    denied!(
        assign_partner,
        AssignPartnerRequest::default(),
        [Staff, Analyst, Partner, Finance]
    );
    denied!(
        list_assignments,
        ListAssignmentsRequest::default(),
        [Analyst, Partner, Finance]
    );
    denied!(
        record_attendance,
        RecordAttendanceRequest::default(),
        [Analyst, Partner, Finance]
    );
    denied!(
        correct_attendance,
        CorrectAttendanceRequest::default(),
        [Analyst, Partner, Finance]
    );
    denied!(
        shortlist_partners,
        ShortlistRequest::default(),
        [Staff, Analyst, Partner, Finance]
    );
    denied!(
        record_impact,
        RecordImpactRequest::default(),
        [Analyst, Partner, Finance]
    );
    denied!(
        list_impact,
        ListImpactRequest::default(),
        [Partner, Finance]
    );
    denied!(
        publish_opportunity,
        action(),
        [Staff, Analyst, Partner, Finance]
    );
    denied!(
        complete_opportunity,
        action(),
        [Staff, Analyst, Partner, Finance]
    );
    denied!(
        cancel_opportunity,
        action(),
        [Staff, Analyst, Partner, Finance]
    );
    denied!(
        create_staff_request,
        CreateStaffRequestRequest::default(),
        [Analyst, Partner, Finance]
    );
    denied!(
        list_staff_requests,
        ListStaffRequestsRequest::default(),
        [Analyst, Partner, Finance]
    );
    denied!(
        decline_staff_request,
        DeclineStaffRequestRequest::default(),
        [Staff, Analyst, Partner, Finance]
    );
    denied!(
        list_open_opportunities,
        ListOpenOpportunitiesRequest::default(),
        [EngagementLead, Staff, Analyst, Finance]
    );
    denied!(
        express_interest,
        ExpressInterestRequest::default(),
        [EngagementLead, Staff, Analyst, Finance]
    );
    denied!(
        respond_to_offer,
        RespondToOfferRequest::default(),
        [EngagementLead, Staff, Analyst, Finance]
    );
    denied!(
        list_my_assignments,
        ListMyAssignmentsRequest {},
        [EngagementLead, Staff, Analyst, Finance]
    );
    denied!(
        get_preferences,
        GetPreferencesRequest::default(),
        [Staff, Analyst, Finance]
    );
    denied!(
        set_preferences,
        Preferences::default(),
        [Staff, Analyst, Finance]
    );
    denied!(
        create_forum,
        CreateForumRequest::default(),
        [Staff, Analyst, Partner, Finance]
    );
    denied!(
        list_forums,
        ListForumsRequest {},
        [Analyst, Partner, Finance]
    );
    denied!(
        get_forum,
        GetForumRequest::default(),
        [Analyst, Partner, Finance]
    );
    denied!(
        set_forum_member,
        SetForumMemberRequest::default(),
        [Staff, Analyst, Partner, Finance]
    );
    denied!(
        save_forum_meeting,
        SaveForumMeetingRequest::default(),
        [Analyst, Partner, Finance]
    );
    denied!(
        save_forum_action,
        SaveForumActionRequest::default(),
        [Analyst, Partner, Finance]
    );
    denied!(
        engagement_report,
        EngagementReportRequest::default(),
        [Staff, Partner, Finance]
    );
    denied!(
        export_partner_data,
        ExportPartnerDataRequest::default(),
        [Staff, Analyst, Finance, IcsAnalyst]
    );

    // Another trust's lead finds none of this trust's records.
    let forum = call!(
        create_forum,
        CreateForumRequest {
            name: "Forum".into(),
            ..Default::default()
        },
        h.lead.clone()
    );
    assert!(forum.is_ok());
    let asked = {
        let mut c = c.clone();
        c.create_staff_request(outgoing(
            CreateStaffRequestRequest {
                title: "t".into(),
                team: "t".into(),
                description: "d".into(),
                ..Default::default()
            },
            &h.lead,
        ))
        .await
        .unwrap()
        .into_inner()
    };
    for refused in [
        call!(
            get_opportunity,
            GetOpportunityRequest { id: o.id.clone() },
            other.clone()
        ),
        call!(publish_opportunity, action(), other.clone()),
        call!(cancel_opportunity, action(), other.clone()),
        call!(
            list_assignments,
            ListAssignmentsRequest {
                opportunity_id: o.id.clone()
            },
            other.clone()
        ),
        call!(
            shortlist_partners,
            ShortlistRequest {
                opportunity_id: o.id.clone(),
                limit: 5
            },
            other.clone()
        ),
        call!(
            assign_partner,
            AssignPartnerRequest {
                opportunity_id: o.id.clone(),
                ..Default::default()
            },
            other.clone()
        ),
        call!(
            decline_staff_request,
            DeclineStaffRequestRequest {
                id: asked.id.clone(),
                reason: "no".into()
            },
            other.clone()
        ),
    ] {
        assert_eq!(refused.unwrap_err().code(), Code::NotFound);
    }
    let theirs = {
        let mut c = c.clone();
        c.list_staff_requests(outgoing(ListStaffRequestsRequest::default(), &other))
            .await
            .unwrap()
            .into_inner()
    };
    assert!(theirs.requests.is_empty());
    let forums = {
        let mut c = c.clone();
        c.list_forums(outgoing(ListForumsRequest {}, &other))
            .await
            .unwrap()
            .into_inner()
    };
    assert!(forums.forums.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_reads_all_engagement_holds_of_them_and_erasure_takes_what_they_wrote() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let id = "ptn_00000000000000000000000000000e01";
        h.partner_registered("RZA", id).await;
        let own = h.svc.token_for("RZA", Role::Partner, id);
        let o = h.opportunity().await;
        let offered = {
            let request = AssignPartnerRequest {
                opportunity_id: o.id.clone(),
                partner_id: id.into(),
                offer: true,
            };
            let (client, lead) = (h.client.clone(), h.lead.clone());
            eventually(Duration::from_secs(20), || {
                let mut client = client.clone();
                let request = outgoing(request.clone(), &lead);
                async move { client.assign_partner(request).await.ok() }
            })
            .await
            .expect("partner known")
            .into_inner()
        };
        h.client
            .respond_to_offer(outgoing(
                RespondToOfferRequest {
                    assignment_id: offered.id.clone(),
                    accept: false,
                    reason: "My knee operation is that week".into(),
                },
                &own,
            ))
            .await
            .unwrap();
        let other = h.opportunity().await;
        h.client
            .express_interest(outgoing(
                ExpressInterestRequest {
                    opportunity_id: other.id.clone(),
                    interested: true,
                    note: "I went to the pain clinic for years".into(),
                },
                &own,
            ))
            .await
            .unwrap();
        h.client
            .set_preferences(outgoing(
                Preferences {
                    days: vec!["tue".into()],
                    ..Default::default()
                },
                &own,
            ))
            .await
            .unwrap();

        let export = |token: &str| {
            outgoing(
                ExportPartnerDataRequest {
                    partner_id: id.into(),
                },
                token,
            )
        };
        let mine = h
            .client
            .export_partner_data(export(&own))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(mine.partner_id, id);
        assert_eq!(mine.opportunities.len(), 1, "{backend:?}");
        let declined = mine.opportunities[0].assignment.as_ref().unwrap();
        assert_eq!(
            (declined.status.as_str(), declined.decline_reason.as_str()),
            ("declined", "My knee operation is that week")
        );
        assert_eq!(
            mine.opportunities[0].opportunity.as_ref().unwrap().title,
            o.title
        );
        assert_eq!(mine.interest.len(), 1);
        assert_eq!(mine.interest[0].note, "I went to the pain clinic for years");
        assert_eq!(mine.preferences.as_ref().unwrap().days, ["tue"]);
        let leads = h.client.export_partner_data(export(&h.lead)).await.unwrap();
        assert_eq!(leads.into_inner().interest.len(), 1);
        let someone_else = h.svc.token_for("RZA", Role::Partner, "ptn_someone_else");
        let refused = h
            .client
            .export_partner_data(export(&someone_else))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        let elsewhere = h.svc.token("RZB", Role::EngagementLead);
        let refused = h
            .client
            .export_partner_data(export(&elsewhere))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::NotFound);

        // Erased: what they wrote and their preferences go; their place in what is still to come
        // is given up, kept as a cancellation under the pseudonymous id.
        h.svc
            .publish(
                PEOPLE_PARTNERS,
                id,
                "RZA",
                &PartnerErased {
                    partner_id: id.into(),
                    erased_at: "2026-12-06T12:00:00Z".into(),
                },
            )
            .await;
        let (client, lead) = (h.client.clone(), h.lead.clone());
        let after = eventually(Duration::from_secs(20), || {
            let mut client = client.clone();
            let request = export(&lead);
            async move {
                let e = client.export_partner_data(request).await.ok()?.into_inner();
                e.interest.is_empty().then_some(e)
            }
        })
        .await
        .expect("the erasure reaches engagement");
        assert!(
            after.opportunities.iter().all(|p| p
                .assignment
                .as_ref()
                .unwrap()
                .decline_reason
                .is_empty()),
            "{backend:?}: {after:?}"
        );
        assert!(after
            .cancellations
            .iter()
            .any(|c| c.opportunity_id == o.id && c.reason == "the partner was erased"));
        assert!(after.preferences.unwrap().days.is_empty());
    }
}
