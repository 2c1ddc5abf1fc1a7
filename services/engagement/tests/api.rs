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
            starts_on: "2026-12-03".into(),
            places: 2,
            required_role: String::new(),
            pathway: "pain".into(),
            cost_centre: "CC-4410".into(),
            remuneration: String::new(),
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
                },
                &h.lead,
            ))
            .await
            .expect("recorded")
            .into_inner();
        assert_eq!(attendance.activity_date, "2026-12-03");

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
        for (id, valid_until) in [(renewed, "2027-06-30"), (lapsing, "2026-11-30")] {
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
                            valid_until: valid_until.into(),
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
            starts_on: "2026-12-03".into(),
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
            "partner's eligibility as governance_partner ends on 2026-11-30, before this opportunity on 2026-12-03"
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
        let eligible_until = [
            ("fresh", "2027-06-30"),
            ("busy", "2027-06-30"),
            ("once", ""),
            ("quiet", "2027-06-30"),
            ("lapsing", "2026-11-30"),
            ("assigned", "2027-06-30"),
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
            ..Default::default()
        };
        let mut sessions = Vec::new();
        for (request, who) in [
            (past("June forum", "2026-06-10", ""), vec!["busy", "once"]),
            (past("September forum", "2026-09-10", ""), vec!["busy"]),
            (
                past("Listening event", "2026-10-01", "expenses_only"),
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
                    starts_on: "2026-12-10".into(),
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
        // Wait until the consent withdrawal has reached engagement.
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
                (!list.entries.iter().any(|e| e.partner_id.ends_with("quiet"))).then_some(list)
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
        assert_eq!(list.entries[2].last_paid_on, "2026-09-10");
        assert!(list.entries[0]
            .reasons
            .iter()
            .any(|r| r.contains("eligible as forum_member on 2026-12-10")));
        assert!(list.entries[0]
            .reasons
            .iter()
            .any(|r| r.contains("no paid sessions from 2025-12 to 2026-11")));
        assert!(list.entries[2]
            .reasons
            .iter()
            .any(|r| r.contains("2 paid sessions") && r.contains("2026-09-10")));
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
            ..Default::default()
        };
        let past = h
            .client
            .create_opportunity(outgoing(
                create("Last spring's forum", "2026-04-01", 5),
                &h.lead,
            ))
            .await
            .unwrap()
            .into_inner();
        let future = h
            .client
            .create_opportunity(outgoing(
                create("Next year's forum", "2030-01-15", 2),
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
            .create_opportunity(outgoing(create("Reading group", "2030-02-01", 5), &h.lead))
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
                changed_on: "2099-01-01".into(),
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
