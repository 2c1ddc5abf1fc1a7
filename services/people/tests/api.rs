//! The people service over real gRPC, on SQLite and PostgreSQL, with an in-process Kafka broker.

use std::time::Duration;

use alongside_events::testing::{self, TestService};
use alongside_platform::error::field_errors;
use alongside_platform::grpc::outgoing;
use alongside_platform::testing::{backends, Backend};
use alongside_platform::Role;
use alongside_proto::people::events::v1::{
    PartnerEligibilityChanged, PartnerErased, PartnerRegistered, PartnerStatusChanged,
};
use alongside_proto::people::v1::people_service_client::PeopleServiceClient;
use alongside_proto::people::v1::*;
use tonic::transport::Channel;
use tonic::Code;

struct Harness {
    svc: TestService,
    client: PeopleServiceClient<Channel>,
}

impl Harness {
    async fn start(backend: Backend) -> Self {
        let svc = TestService::start("people", backend, alongside_people::start).await;
        let client = PeopleServiceClient::connect(svc.url())
            .await
            .expect("connect");
        Self { svc, client }
    }

    fn token(&self, tenant: &str, role: Role) -> String {
        self.svc.token(tenant, role)
    }
}

fn asha() -> RegisterPartnerRequest {
    RegisterPartnerRequest {
        given_name: "Asha".into(),
        family_name: "Patel".into(),
        email: "asha.patel@example.org".into(),
        phone: "01632 960 001".into(),
        locality: "North Locality".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_list_and_publish_without_contact_details() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let lead = h.token("RZA", Role::EngagementLead);

        let partner = h
            .client
            .register_partner(outgoing(asha(), &lead))
            .await
            .expect("registers")
            .into_inner();
        assert!(partner.id.starts_with("ptn_"), "{backend:?}");
        assert_eq!(partner.tenant_id, "RZA");
        assert_eq!(partner.status, "active");

        let got = h
            .client
            .get_partner(outgoing(
                GetPartnerRequest {
                    id: partner.id.clone(),
                },
                &lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got, partner);

        let listed = h
            .client
            .list_partners(outgoing(
                ListPartnersRequest {
                    search: "pat".into(),
                    ..Default::default()
                },
                &lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.partners, vec![partner.clone()]);
        assert_eq!(listed.page.unwrap().total, 1);
        // The full name matches, in any case; LIKE's wildcards are only characters.
        for (search, found) in [("ASHA PATEL", 1), ("north locality", 1), ("%", 0), ("_", 0)] {
            let listed = h
                .client
                .list_partners(outgoing(
                    ListPartnersRequest {
                        search: search.into(),
                        ..Default::default()
                    },
                    &lead,
                ))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(listed.partners.len(), found, "{backend:?}: {search:?}");
        }

        let events = testing::read_events(
            h.svc.brokers(),
            "people.partners.v1",
            1,
            Duration::from_secs(20),
        )
        .await;
        assert_eq!(events.len(), 1, "{backend:?}: one PartnerRegistered");
        let (key, envelope) = &events[0];
        assert_eq!(
            key.as_deref(),
            Some(partner.id.as_bytes()),
            "keyed by partner id"
        );
        assert_eq!(envelope.tenant().as_str(), "RZA");
        let event: PartnerRegistered = envelope.payload().unwrap();
        assert_eq!(event.partner_id, partner.id);
        assert_eq!(event.locality, "North Locality");
        let raw = String::from_utf8_lossy(&envelope.inner.payload).to_string();
        assert!(
            !raw.contains("asha.patel@example.org")
                && !raw.contains("01632")
                && !raw.contains("Patel"),
            "no personal details in the event"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_field_by_field_and_nothing_is_stored() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let lead = h.token("RZA", Role::EngagementLead);
        let bad = RegisterPartnerRequest {
            given_name: " ".into(),
            email: "asha-at-example".into(),
            ..asha()
        };
        let status = h
            .client
            .register_partner(outgoing(bad, &lead))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let fields: Vec<String> = field_errors(&status).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["given_name", "email"]);

        h.client
            .register_partner(outgoing(asha(), &lead))
            .await
            .unwrap();
        let again = h
            .client
            .register_partner(outgoing(asha(), &lead))
            .await
            .unwrap_err();
        assert_eq!(
            field_errors(&again)[0].field,
            "email",
            "{backend:?}: duplicate email named"
        );

        let listed = h
            .client
            .list_partners(outgoing(ListPartnersRequest::default(), &lead))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.partners.len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trust_never_sees_another_trusts_partners() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let rza = h.token("RZA", Role::EngagementLead);
        let rzb = h.token("RZB", Role::EngagementLead);
        let partner = h
            .client
            .register_partner(outgoing(asha(), &rza))
            .await
            .unwrap()
            .into_inner();

        let status = h
            .client
            .get_partner(outgoing(
                GetPartnerRequest {
                    id: partner.id.clone(),
                },
                &rzb,
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{backend:?}");
        let listed = h
            .client
            .list_partners(outgoing(ListPartnersRequest::default(), &rzb))
            .await
            .unwrap()
            .into_inner();
        assert!(listed.partners.is_empty());
        assert_eq!(listed.page.unwrap().total, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_need_a_valid_token_and_a_role_that_may_see_personal_data() {
    let mut h = Harness::start(Backend::Sqlite).await;
    let status = h
        .client
        .list_partners(ListPartnersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    let status = h
        .client
        .list_partners(outgoing(ListPartnersRequest::default(), "not-a-token"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    for role in [Role::Analyst, Role::IcsAnalyst, Role::Finance] {
        let token = h.token("RZA", role);
        let status = h
            .client
            .list_partners(outgoing(ListPartnersRequest::default(), &token))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::PermissionDenied,
            "{role:?} must not list partners"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_sort_and_reject_unknown_sorts() {
    let mut h = Harness::start(Backend::Sqlite).await;
    let lead = h.token("RZA", Role::EngagementLead);
    for (i, family) in ["Cole", "Adams", "Baker"].iter().enumerate() {
        let r = RegisterPartnerRequest {
            family_name: family.to_string(),
            email: format!("p{i}@example.org"),
            ..asha()
        };
        h.client.register_partner(outgoing(r, &lead)).await.unwrap();
    }
    let page = |n, sort: &str| ListPartnersRequest {
        page: Some(alongside_proto::common::v1::PageRequest {
            page: n,
            page_size: 2,
        }),
        sort: sort.into(),
        ..Default::default()
    };
    let first = h
        .client
        .list_partners(outgoing(page(1, "name"), &lead))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = first
        .partners
        .iter()
        .map(|p| p.family_name.as_str())
        .collect();
    assert_eq!(names, ["Adams", "Baker"]);
    assert_eq!(first.page.unwrap().total, 3);
    let second = h
        .client
        .list_partners(outgoing(page(2, "name"), &lead))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.partners[0].family_name, "Cole");
    let desc = h
        .client
        .list_partners(outgoing(page(1, "-name"), &lead))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(desc.partners[0].family_name, "Cole");
    let status = h
        .client
        .list_partners(outgoing(page(1, "email"), &lead))
        .await
        .unwrap_err();
    assert_eq!(field_errors(&status)[0].field, "sort");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_are_served_without_a_token() {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let h = Harness::start(Backend::Sqlite).await;
    let channel = Channel::from_shared(h.svc.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let status = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: "alongside.people.v1.PeopleService".into(),
        })
        .await
        .expect("health answers")
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    // Reflection, v1 and v1alpha alike, lists what this port serves and nothing else, and
    // describes its methods (what grpcurl and Python's reflection client ask).
    let served = [
        "alongside.people.v1.PeopleService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ];
    let (v1alpha, v1) = alongside_platform::testing::reflected_services(&h.svc.url()).await;
    assert_eq!(v1alpha, served);
    assert_eq!(v1, served);
    let mut responses = ServerReflectionClient::new(channel.clone())
        .server_reflection_info(tokio_stream::iter([ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "alongside.people.v1.PeopleService".into(),
            )),
        }]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::FileDescriptorResponse(files)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected the service's file")
    };
    let methods: Vec<String> = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| {
            <prost_types::FileDescriptorProto as prost::Message>::decode(bytes.as_slice()).unwrap()
        })
        .flat_map(|file| file.service)
        .filter(|s| s.name() == "PeopleService")
        .flat_map(|s| s.method)
        .map(|m| m.name().to_string())
        .collect();
    assert!(
        methods.iter().any(|m| m == "RegisterPartner"),
        "{methods:?}"
    );
}

/// Moves `id` to `status` with a reason, as `token` would.
async fn change(
    h: &mut Harness,
    token: &str,
    id: &str,
    status: &str,
) -> Result<Partner, tonic::Status> {
    h.client
        .change_status(outgoing(
            ChangeStatusRequest {
                id: id.into(),
                status: status.into(),
                reason: format!("moved to {status} after the panel"),
            },
            token,
        ))
        .await
        .map(|r| r.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_onboarding_pipeline_keeps_its_history_and_refuses_shortcuts() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let lead = h.token("RZA", Role::EngagementLead);
        let partner = h
            .client
            .register_partner(outgoing(asha(), &lead))
            .await
            .unwrap()
            .into_inner();

        // Active → resting → active → left → interest → ... → active again.
        for status in ["resting", "active", "left", "interest", "application"] {
            let moved = change(&mut h, &lead, &partner.id, status).await.unwrap();
            assert_eq!(moved.status, status, "{backend:?}");
        }
        // Skipping the conversation, checks and induction is refused, saying what is possible.
        let refused = change(&mut h, &lead, &partner.id, "active")
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        let errors = field_errors(&refused);
        assert_eq!(errors[0].field, "status");
        assert_eq!(
            errors[0].reason,
            "a partner cannot move from application to active; from application they can move to conversation or left"
        );
        // No reason, no move; an unknown status is named.
        let no_reason = h
            .client
            .change_status(outgoing(
                ChangeStatusRequest {
                    id: partner.id.clone(),
                    status: "conversation".into(),
                    reason: "  ".into(),
                },
                &lead,
            ))
            .await
            .unwrap_err();
        assert_eq!(field_errors(&no_reason)[0].field, "reason");
        let unknown = change(&mut h, &lead, &partner.id, "promoted")
            .await
            .unwrap_err();
        assert!(field_errors(&unknown)[0]
            .reason
            .starts_with("must be one of"));

        let history = h
            .client
            .list_status_history(outgoing(
                ListStatusHistoryRequest {
                    id: partner.id.clone(),
                },
                &lead,
            ))
            .await
            .unwrap()
            .into_inner();
        let moves: Vec<(String, String)> = history
            .changes
            .iter()
            .map(|c| (c.from_status.clone(), c.to_status.clone()))
            .collect();
        let expected: Vec<(String, String)> = [
            ("", "active"),
            ("active", "resting"),
            ("resting", "active"),
            ("active", "left"),
            ("left", "interest"),
            ("interest", "application"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(
            moves, expected,
            "{backend:?}: every move, in order, refusals not recorded"
        );
        assert_eq!(
            history.changes[1].reason,
            "moved to resting after the panel"
        );
        assert_eq!(history.changes[1].changed_by, "usr_test_engagement_lead");
        assert_eq!(history.next_statuses, ["conversation", "left"]);

        // Only leads move partners; another trust cannot even find them.
        let staff = h.token("RZA", Role::Staff);
        let denied = change(&mut h, &staff, &partner.id, "conversation")
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        let other = h.token("RZB", Role::EngagementLead);
        let hidden = change(&mut h, &other, &partner.id, "conversation")
            .await
            .unwrap_err();
        assert_eq!(hidden.code(), Code::NotFound);

        // Engagement learns each move from the topic, without the reasons.
        let events = testing::read_events(
            h.svc.brokers(),
            "people.partners.v1",
            6,
            Duration::from_secs(20),
        )
        .await;
        let changed: Vec<String> = events
            .iter()
            .filter(|(_, e)| e.is::<PartnerStatusChanged>())
            .map(|(_, e)| e.payload::<PartnerStatusChanged>().unwrap().to_status)
            .collect();
        assert_eq!(
            changed,
            ["resting", "active", "left", "interest", "application"]
        );
        assert!(events
            .iter()
            .all(|(_, e)| !String::from_utf8_lossy(&e.inner.payload).contains("panel")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_downloads_their_data_and_a_lead_erases_them() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let lead = h.token("RZA", Role::EngagementLead);
        let partner = h
            .client
            .register_partner(outgoing(asha(), &lead))
            .await
            .unwrap()
            .into_inner();
        change(&mut h, &lead, &partner.id, "resting").await.unwrap();

        // The partner downloads everything held about them, including who looked.
        let own = h.svc.token_for("RZA", Role::Partner, &partner.id);
        let export = h
            .client
            .export_partner_data(outgoing(
                ExportPartnerDataRequest {
                    id: partner.id.clone(),
                },
                &own,
            ))
            .await
            .unwrap()
            .into_inner();
        let record = export.partner.unwrap();
        assert_eq!(record.email, "asha.patel@example.org");
        assert_eq!(export.status_history.len(), 2);
        let actions: Vec<&str> = export
            .access_log
            .iter()
            .map(|a| a.action.as_str())
            .collect();
        assert_eq!(actions, ["create", "update"], "{backend:?}");
        // Not someone else's.
        let nosy = h.svc.token_for("RZA", Role::Partner, "ptn_someone_else");
        let refused = h
            .client
            .export_partner_data(outgoing(
                ExportPartnerDataRequest {
                    id: partner.id.clone(),
                },
                &nosy,
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::NotFound);

        // Erasure: staff may not; a lead may, once.
        let staff = h.token("RZA", Role::Staff);
        let erase = |token: &str| {
            outgoing(
                ErasePartnerRequest {
                    id: partner.id.clone(),
                    reason: "asked to be forgotten".into(),
                },
                token,
            )
        };
        assert_eq!(
            h.client
                .erase_partner(erase(&staff))
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
        let erased = h
            .client
            .erase_partner(erase(&lead))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(erased.status, "erased");
        assert_eq!(
            (
                erased.given_name.as_str(),
                erased.family_name.as_str(),
                erased.phone.as_str()
            ),
            ("", "", "")
        );
        let again = h.client.erase_partner(erase(&lead)).await.unwrap_err();
        assert_eq!(field_errors(&again)[0].field, "id");

        // Nothing personal is left: not the record, not the reasons in its history.
        let got = h
            .client
            .get_partner(outgoing(
                GetPartnerRequest {
                    id: partner.id.clone(),
                },
                &lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(
            !format!("{got:?}").contains("Asha") && !format!("{got:?}").contains("example.org")
        );
        let history = h
            .client
            .list_status_history(outgoing(
                ListStatusHistoryRequest {
                    id: partner.id.clone(),
                },
                &lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(history.changes[..2].iter().all(|c| c.reason == "(erased)"));
        assert_eq!(history.changes.last().unwrap().to_status, "erased");
        assert!(history.next_statuses.is_empty());
        let refused = change(&mut h, &lead, &partner.id, "active")
            .await
            .unwrap_err();
        assert!(field_errors(&refused)[0].reason.contains("erased"));

        // Lists leave erased records out unless asked, and the same person can register again.
        let list = |status: &str| {
            outgoing(
                ListPartnersRequest {
                    status: status.into(),
                    ..Default::default()
                },
                &lead,
            )
        };
        let listed = h.client.list_partners(list("")).await.unwrap().into_inner();
        assert_eq!(listed.page.unwrap().total, 0, "{backend:?}");
        let listed = h
            .client
            .list_partners(list("erased"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.partners.len(), 1);
        h.client
            .register_partner(outgoing(asha(), &lead))
            .await
            .expect("the address is free again");

        // Every other service is told.
        let events = testing::read_events(
            h.svc.brokers(),
            "people.partners.v1",
            4,
            Duration::from_secs(20),
        )
        .await;
        let erased_event = events
            .iter()
            .find(|(_, e)| e.is::<PartnerErased>())
            .expect("PartnerErased published");
        let event: PartnerErased = erased_event.1.payload().unwrap();
        assert_eq!(event.partner_id, partner.id);
    }
}

fn days_from_today(days: i64) -> String {
    (alongside_platform::testing::clock().today() + time::Duration::days(days)).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_need_their_training_in_date_and_eligibility_is_published() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let lead = h.token("RZA", Role::EngagementLead);
        let partner = h
            .client
            .register_partner(outgoing(asha(), &lead))
            .await
            .unwrap()
            .into_inner();
        let grant = |role: &str| {
            outgoing(
                RoleRequest {
                    partner_id: partner.id.clone(),
                    role: role.into(),
                },
                &lead,
            )
        };
        let roles = h
            .client
            .grant_role(grant("governance_partner"))
            .await
            .unwrap()
            .into_inner();
        let governance = &roles.roles[0];
        assert!(!governance.eligible, "{backend:?}");
        assert_eq!(
            governance.missing,
            [
                "induction (none on record)",
                "confidentiality (none on record)",
                "shared_decision_making (none on record)"
            ]
        );
        let again = h
            .client
            .grant_role(grant("governance_partner"))
            .await
            .unwrap_err();
        assert_eq!(
            field_errors(&again)[0].reason,
            "the partner already holds this role"
        );
        let unknown = h.client.grant_role(grant("chair")).await.unwrap_err();
        assert!(field_errors(&unknown)[0]
            .reason
            .starts_with("must be one of forum_member"));

        let record = |kind: &str, completed: String, expires: String| {
            outgoing(
                RecordTrainingRequest {
                    partner_id: partner.id.clone(),
                    kind: kind.into(),
                    completed_on: completed,
                    expires_on: expires,
                    certificate_number: String::new(),
                },
                &lead,
            )
        };
        h.client
            .record_training(record("induction", days_from_today(-30), String::new()))
            .await
            .unwrap();
        h.client
            .record_training(record(
                "shared_decision_making",
                days_from_today(-30),
                String::new(),
            ))
            .await
            .unwrap();
        // Confidentiality done 11 months ago: a year's validity, so it lapses within 60 days.
        let roles = h
            .client
            .record_training(record(
                "confidentiality",
                days_from_today(-335),
                String::new(),
            ))
            .await
            .unwrap()
            .into_inner();
        let governance = &roles.roles[0];
        assert!(governance.eligible, "{backend:?}: {governance:?}");
        // A year's validity is a calendar year: 365 days, or 366 across a 29 February.
        let done = alongside_platform::parse_date(&days_from_today(-335)).unwrap();
        let lapses = done.replace_year(done.year() + 1).unwrap_or_else(|_| {
            time::Date::from_calendar_date(done.year() + 1, time::Month::February, 28).unwrap()
        });
        assert_eq!(governance.valid_until, lapses.to_string());
        // Dates out of order are refused, by field.
        let bad = h
            .client
            .record_training(record(
                "safeguarding",
                days_from_today(-10),
                days_from_today(-20),
            ))
            .await
            .unwrap_err();
        assert_eq!(field_errors(&bad)[0].field, "expires_on");

        let expiring = h
            .client
            .list_expiring_training(outgoing(ListExpiringTrainingRequest::default(), &lead))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(expiring.items.len(), 1, "{backend:?}");
        assert_eq!(
            (
                expiring.items[0].kind.as_str(),
                expiring.items[0].family_name.as_str()
            ),
            ("confidentiality", "Patel")
        );
        // Renewed: no longer expiring, and valid for another year.
        let roles = h
            .client
            .record_training(record("confidentiality", days_from_today(0), String::new()))
            .await
            .unwrap()
            .into_inner();
        assert!(roles.roles[0].valid_until > days_from_today(360));
        let expiring = h
            .client
            .list_expiring_training(outgoing(ListExpiringTrainingRequest::default(), &lead))
            .await
            .unwrap()
            .into_inner();
        assert!(
            expiring.items.is_empty(),
            "{backend:?}: the renewal supersedes"
        );

        // Staff may read but not grant; another trust finds nothing.
        let staff = h.token("RZA", Role::Staff);
        let denied = h
            .client
            .grant_role(outgoing(
                RoleRequest {
                    partner_id: partner.id.clone(),
                    role: "trainer".into(),
                },
                &staff,
            ))
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        let other = h.token("RZB", Role::EngagementLead);
        let hidden = h
            .client
            .get_partner_roles(outgoing(
                GetPartnerRequest {
                    id: partner.id.clone(),
                },
                &other,
            ))
            .await
            .unwrap_err();
        assert_eq!(hidden.code(), Code::NotFound);

        // The last eligibility event names the role and how long it holds.
        let events = testing::read_events(
            h.svc.brokers(),
            "people.partners.v1",
            6,
            Duration::from_secs(20),
        )
        .await;
        let last: PartnerEligibilityChanged = events
            .iter()
            .rev()
            .find(|(_, e)| e.is::<PartnerEligibilityChanged>())
            .unwrap()
            .1
            .payload()
            .unwrap();
        assert_eq!(last.roles.len(), 1);
        assert_eq!(last.roles[0].role, "governance_partner");
        assert_eq!(last.roles[0].valid_until, roles.roles[0].valid_until);
    }
}

fn profile_change() -> UpdateProfileRequest {
    UpdateProfileRequest {
        partner_id: String::new(),
        contact_method: "text".into(),
        accessibility_needs: "Step-free access; papers a week ahead".into(),
        lived_experience: vec!["COPD".into(), "Carer for a parent with dementia".into()],
        skills: vec!["Chairing".into()],
        availability: vec!["weekday_daytime".into(), "weekend".into()],
        availability_note: "Not school holidays".into(),
        payment_preference: "reduced".into(),
        reduced_amount_pence: 5_000,
        receives_benefits: true,
        adjustments: vec!["large_print".into()],
        address: String::new(),
        postcode: String::new(),
        benefits: vec!["esa".into()],
    }
}

/// Payment terms reach payments as an event whenever the payment section changes, and only then;
/// finance learn who they pay by name, and bank details only when they ask, each reveal audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_terms_are_published_and_finance_sees_its_payees() {
    use alongside_proto::people::events::v1::PartnerPaymentTermsChanged;
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let lead = h.token("RZA", Role::EngagementLead);
        let finance = h.token("RZA", Role::Finance);
        let id = h
            .client
            .register_partner(outgoing(asha(), &lead))
            .await
            .unwrap()
            .into_inner()
            .id;
        let own = h.svc.token_for("RZA", Role::Partner, &id);
        let change = |r: UpdateProfileRequest| UpdateProfileRequest {
            partner_id: id.clone(),
            ..r
        };

        let refused = h
            .client
            .update_profile(outgoing(
                change(UpdateProfileRequest {
                    benefits: vec!["esa".into(), "lottery".into()],
                    ..profile_change()
                }),
                &own,
            ))
            .await
            .unwrap_err();
        assert_eq!(field_errors(&refused)[0].field, "benefits", "{backend:?}");

        let saved = h
            .client
            .update_profile(outgoing(change(profile_change()), &own))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(saved.payment.unwrap().benefits, ["esa"]);
        // Another change that leaves the payment section alone publishes no terms.
        h.client
            .update_profile(outgoing(
                change(UpdateProfileRequest {
                    skills: vec!["Listening".into()],
                    ..profile_change()
                }),
                &own,
            ))
            .await
            .unwrap();
        // Which benefits is kept only while they say they receive any.
        let stopped = h
            .client
            .update_profile(outgoing(
                change(UpdateProfileRequest {
                    receives_benefits: false,
                    payment_preference: "paid".into(),
                    ..profile_change()
                }),
                &own,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(stopped.payment.unwrap().benefits.is_empty());

        let events = testing::read_events(
            h.svc.brokers(),
            "people.partners.v1",
            3,
            Duration::from_secs(20),
        )
        .await;
        let terms: Vec<PartnerPaymentTermsChanged> = events
            .iter()
            .filter(|(_, e)| e.is::<PartnerPaymentTermsChanged>())
            .map(|(_, e)| e.payload().unwrap())
            .collect();
        assert_eq!(terms.len(), 2, "{backend:?}: one per change of terms");
        assert_eq!(
            (terms[0].preference.as_str(), terms[0].reduced_amount_pence),
            ("reduced", 5_000)
        );
        assert!(terms[0].receives_benefits);
        assert_eq!(terms[0].benefits, ["esa"]);
        assert_eq!(terms[1].preference, "paid");
        assert!(!terms[1].receives_benefits && terms[1].benefits.is_empty());

        // Names for finance; bank details only when asked and held.
        let payees = |include: bool, ids: Vec<String>| {
            outgoing(
                GetPayeesRequest {
                    partner_ids: ids,
                    include_bank_details: include,
                },
                &finance,
            )
        };
        let named = h
            .client
            .get_payees(payees(true, vec![id.clone(), "ptn_unknown".into()]))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(named.payees.len(), 1, "unknown ids are left out");
        assert_eq!(named.payees[0].name, "Asha Patel");
        assert!(named.payees[0].bank_details.is_none(), "none held yet");
        assert!(!named.payees[0].bank_details_held);
        h.client
            .set_bank_details(outgoing(
                SetBankDetailsRequest {
                    partner_id: id.clone(),
                    account_name: "A PATEL".into(),
                    sort_code: "30-99-50".into(),
                    account_number: "12345678".into(),
                },
                &own,
            ))
            .await
            .unwrap();
        let names_only = h
            .client
            .get_payees(payees(false, vec![id.clone()]))
            .await
            .unwrap()
            .into_inner();
        assert!(names_only.payees[0].bank_details.is_none());
        assert!(
            names_only.payees[0].bank_details_held,
            "held, without revealing them"
        );
        let with_bank = h
            .client
            .get_payees(payees(true, vec![id.clone()]))
            .await
            .unwrap()
            .into_inner();
        let bank = with_bank.payees[0].bank_details.clone().unwrap();
        assert_eq!(
            (bank.sort_code.as_str(), bank.account_number.as_str()),
            ("309950", "12345678")
        );
        let too_many = h
            .client
            .get_payees(payees(false, vec![id.clone(); 1_001]))
            .await
            .unwrap_err();
        assert_eq!(too_many.code(), Code::InvalidArgument);

        // The partner's own access log shows finance revealing their details.
        let export = h
            .client
            .export_partner_data(outgoing(ExportPartnerDataRequest { id: id.clone() }, &own))
            .await
            .unwrap()
            .into_inner();
        let reveals = export
            .access_log
            .iter()
            .filter(|a| a.action == "reveal" && a.actor_role == "finance")
            .count();
        assert_eq!(reveals, 1, "{backend:?}: one audited reveal");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_keeps_their_profile_and_their_bank_details_stay_sealed() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let lead = h.token("RZA", Role::EngagementLead);
        let partner = h
            .client
            .register_partner(outgoing(asha(), &lead))
            .await
            .unwrap()
            .into_inner();
        let id = partner.id.clone();
        let own = h.svc.token_for("RZA", Role::Partner, &id);
        let get = |token: &str| outgoing(GetPartnerRequest { id: id.clone() }, token);

        // Before anything is said: contact by email, paid at the rate card.
        let blank = h.client.get_profile(get(&own)).await.unwrap().into_inner();
        assert_eq!(blank.contact_method, "email");
        assert_eq!(blank.payment.unwrap().preference, "paid");
        assert!(blank.updated_at.is_empty());

        // The partner fills it in; bad values are named field by field and nothing changes.
        let bad = UpdateProfileRequest {
            partner_id: id.clone(),
            contact_method: "pigeon".into(),
            reduced_amount_pence: 0,
            ..profile_change()
        };
        let refused = h
            .client
            .update_profile(outgoing(bad, &own))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        let fields: Vec<String> = field_errors(&refused)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["contact_method", "reduced_amount_pence"],
            "{backend:?}"
        );
        // Letters need somewhere to go, and a postcode with the shape of one.
        let by_post = h
            .client
            .update_profile(outgoing(
                UpdateProfileRequest {
                    partner_id: id.clone(),
                    contact_method: "post".into(),
                    postcode: "LS1".into(),
                    adjustments: vec!["telepathy".into()],
                    ..profile_change()
                },
                &own,
            ))
            .await
            .unwrap_err();
        let fields: Vec<String> = field_errors(&by_post)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["adjustments", "postcode", "address"]);
        let change = UpdateProfileRequest {
            partner_id: id.clone(),
            ..profile_change()
        };
        let saved = h
            .client
            .update_profile(outgoing(change.clone(), &own))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(saved.lived_experience.len(), 2);
        assert_eq!(saved.availability, ["weekday_daytime", "weekend"]);
        assert_eq!(saved.adjustments, ["large_print"]);
        assert!(!saved.updated_at.is_empty());

        // Bank details: checked, sealed at rest, shown masked.
        let bank = |token: &str, account: &str| {
            outgoing(
                SetBankDetailsRequest {
                    partner_id: id.clone(),
                    account_name: "A Patel".into(),
                    sort_code: "30-99-50".into(),
                    account_number: account.into(),
                },
                token,
            )
        };
        let short = h
            .client
            .set_bank_details(bank(&own, "1234"))
            .await
            .unwrap_err();
        assert_eq!(field_errors(&short)[0].field, "account_number");
        let with_bank = h
            .client
            .set_bank_details(bank(&own, "12345678"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            with_bank.payment.unwrap().bank_details_masked,
            "Sort code ••-••-50, account ••••5678"
        );
        let db = alongside_platform::db::connect(&h.svc.settings.database)
            .await
            .unwrap();
        use sea_orm::EntityTrait;
        let stored = alongside_people::profile::Entity::find_by_id(id.clone())
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert!(stored.bank_sealed.starts_with("v1:"), "{backend:?}");
        for plain in ["12345678", "309950", "A Patel"] {
            assert!(!stored.bank_sealed.contains(plain));
            assert!(!stored.bank_masked.contains(plain));
        }
        // Saving the profile again leaves the bank details alone.
        let again = h
            .client
            .update_profile(outgoing(change, &own))
            .await
            .unwrap()
            .into_inner();
        assert!(!again.payment.unwrap().bank_details_masked.is_empty());

        // Each role sees its part.
        let staff = h.token("RZA", Role::Staff);
        let seen = h
            .client
            .get_profile(get(&staff))
            .await
            .unwrap()
            .into_inner();
        assert!(
            seen.payment.is_none(),
            "staff do not see payment or benefits"
        );
        assert_eq!(
            seen.accessibility_needs,
            "Step-free access; papers a week ahead"
        );
        let finance = h.token("RZA", Role::Finance);
        let seen = h
            .client
            .get_profile(get(&finance))
            .await
            .unwrap()
            .into_inner();
        assert!(seen.about_withheld && seen.lived_experience.is_empty());
        assert!(seen.accessibility_needs.is_empty());
        assert!(seen.payment.unwrap().receives_benefits);

        // Only finance sees the details in full; the partner, finance alone may change them.
        let full = h
            .client
            .reveal_bank_details(get(&finance))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (
                full.account_name.as_str(),
                full.sort_code.as_str(),
                full.account_number.as_str()
            ),
            ("A Patel", "309950", "12345678")
        );
        for token in [&own, &lead, &staff] {
            let refused = h.client.reveal_bank_details(get(token)).await.unwrap_err();
            assert_eq!(refused.code(), Code::PermissionDenied);
        }
        let refused = h
            .client
            .set_bank_details(bank(&lead, "87654321"))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        h.client
            .set_bank_details(bank(&finance, "87654321"))
            .await
            .unwrap();
        // Payments hears who changed them (for its segregation of duties), never what they are.
        let changes: Vec<alongside_proto::people::events::v1::PartnerBankDetailsChanged> =
            testing::read_events(
                h.svc.brokers(),
                "people.partners.v1",
                4,
                Duration::from_secs(20),
            )
            .await
            .into_iter()
            .filter(|(_, e)| {
                e.is::<alongside_proto::people::events::v1::PartnerBankDetailsChanged>()
            })
            .map(|(_, e)| e.payload().unwrap())
            .collect();
        let by: Vec<&str> = changes.iter().map(|c| c.changed_by.as_str()).collect();
        assert_eq!(by, [id.as_str(), "usr_test_finance"], "{backend:?}");
        assert!(changes.iter().all(|c| c.partner_id == id));
        let refused = h
            .client
            .update_profile(outgoing(
                UpdateProfileRequest {
                    partner_id: id.clone(),
                    ..profile_change()
                },
                &staff,
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);

        // Not another partner's, not another trust's: "not found", with nothing disclosed.
        let nosy = h.svc.token_for("RZA", Role::Partner, "ptn_someone_else");
        let other_trust = h.token("RXX", Role::EngagementLead);
        let other_finance = h.token("RXX", Role::Finance);
        for token in [&nosy, &other_trust, &other_finance] {
            let refused = h.client.get_profile(get(token)).await.unwrap_err();
            assert_eq!(refused.code(), Code::NotFound, "{backend:?}");
        }
        assert_eq!(
            h.client
                .reveal_bank_details(get(&other_finance))
                .await
                .unwrap_err()
                .code(),
            Code::NotFound
        );

        // The partner's download carries the profile, masked, and every look at the details.
        let export = h
            .client
            .export_partner_data(outgoing(ExportPartnerDataRequest { id: id.clone() }, &own))
            .await
            .unwrap()
            .into_inner();
        let profile = export.profile.unwrap();
        assert_eq!(profile.skills, ["Chairing"]);
        assert_eq!(
            profile.payment.unwrap().bank_details_masked,
            "Sort code ••-••-50, account ••••4321"
        );
        let looks: Vec<&str> = export
            .access_log
            .iter()
            .map(|a| a.action.as_str())
            .collect();
        assert!(looks.contains(&"reveal"), "{looks:?}");

        // Erasure takes the whole profile, bank details included.
        h.client
            .erase_partner(outgoing(
                ErasePartnerRequest {
                    id: id.clone(),
                    reason: "asked to be forgotten".into(),
                },
                &lead,
            ))
            .await
            .unwrap();
        assert!(alongside_people::profile::Entity::find_by_id(id.clone())
            .one(&db)
            .await
            .unwrap()
            .is_none());
        let gone = h.client.get_profile(get(&lead)).await.unwrap_err();
        assert_eq!(gone.code(), Code::InvalidArgument);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_express_interest_and_consent_is_kept_per_purpose() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let public = h.token("RZA", Role::Public);
        let lead = h.token("RZA", Role::EngagementLead);
        let interest = || ExpressInterestRequest {
            given_name: "Grace".into(),
            family_name: "Hopper".into(),
            email: "Grace.Hopper@example.org".into(),
            phone: "".into(),
            locality: "East".into(),
            interests: "Improving how the breathing clinic books appointments".into(),
            consent_to_contact: true,
            notice_version: "2026-11".into(),
        };

        // Every problem at once, registration fields and the form's own.
        let refused = h
            .client
            .express_interest(outgoing(
                ExpressInterestRequest {
                    email: "not an email".into(),
                    consent_to_contact: false,
                    ..interest()
                },
                &public,
            ))
            .await
            .unwrap_err();
        let fields: Vec<String> = field_errors(&refused)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["email", "consent_to_contact"], "{backend:?}");

        h.client
            .express_interest(outgoing(interest(), &public))
            .await
            .unwrap();
        // The same address again: the same answer, and still one record.
        h.client
            .express_interest(outgoing(interest(), &public))
            .await
            .unwrap();
        let listed = h
            .client
            .list_partners(outgoing(
                ListPartnersRequest {
                    status: "interest".into(),
                    ..Default::default()
                },
                &lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.partners.len(), 1, "{backend:?}");
        let grace = &listed.partners[0];
        assert_eq!(grace.email, "grace.hopper@example.org");
        let history = h
            .client
            .list_status_history(outgoing(
                ListStatusHistoryRequest {
                    id: grace.id.clone(),
                },
                &lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(history.changes[0].to_status, "interest");
        assert!(history.changes[0].reason.contains("breathing clinic"));
        assert_eq!(history.next_statuses, ["application", "left"]);

        // The public role does nothing else; no other role may use the public form.
        let refused = h
            .client
            .list_partners(outgoing(ListPartnersRequest::default(), &public))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        let refused = h
            .client
            .express_interest(outgoing(interest(), &lead))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);

        // Consent to contact came with the form; the partner adds and withdraws others.
        let own = h.svc.token_for("RZA", Role::Partner, &grace.id);
        let get = |token: &str| {
            outgoing(
                GetPartnerRequest {
                    id: grace.id.clone(),
                },
                token,
            )
        };
        let consents = h
            .client
            .list_consents(get(&own))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(consents.current.len(), 1);
        assert_eq!(
            (
                consents.current[0].purpose.as_str(),
                consents.current[0].granted
            ),
            ("contact", true)
        );
        assert_eq!(consents.current[0].recorded_by_role, "public");
        let record = |purpose: &str, granted: bool, token: &str| {
            outgoing(
                RecordConsentRequest {
                    partner_id: grace.id.clone(),
                    purpose: purpose.into(),
                    granted,
                    notice_version: "2026-11".into(),
                },
                token,
            )
        };
        h.client
            .record_consent(record("sharing", true, &own))
            .await
            .unwrap();
        let now = h
            .client
            .record_consent(record("contact", false, &own))
            .await
            .unwrap()
            .into_inner();
        let current: Vec<(&str, bool)> = now
            .current
            .iter()
            .map(|c| (c.purpose.as_str(), c.granted))
            .collect();
        assert_eq!(current, [("contact", false), ("sharing", true)]);
        assert_eq!(
            now.history.len(),
            3,
            "withdrawal adds a record; nothing is overwritten"
        );
        // Every service hears of it: the registration, then the two consent changes.
        let events = testing::read_events(
            h.svc.brokers(),
            "people.partners.v1",
            3,
            Duration::from_secs(20),
        )
        .await;
        let consents: Vec<(String, bool)> = events
            .iter()
            .filter(|(_, e)| e.is::<alongside_proto::people::events::v1::PartnerConsentChanged>())
            .map(|(_, e)| {
                let c: alongside_proto::people::events::v1::PartnerConsentChanged =
                    e.payload().unwrap();
                (c.purpose, c.granted)
            })
            .collect();
        assert_eq!(
            consents,
            [
                ("sharing".to_string(), true),
                ("contact".to_string(), false)
            ],
            "{backend:?}"
        );
        let refused = h
            .client
            .record_consent(record("marketing", true, &own))
            .await
            .unwrap_err();
        assert_eq!(field_errors(&refused)[0].field, "purpose");

        // Staff read consents but do not record them; others' partners and trusts see nothing.
        let staff = h.token("RZA", Role::Staff);
        h.client.list_consents(get(&staff)).await.unwrap();
        let refused = h
            .client
            .record_consent(record("contact", true, &staff))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        let nosy = h.svc.token_for("RZA", Role::Partner, "ptn_someone_else");
        let other_trust = h.token("RXX", Role::EngagementLead);
        for token in [&nosy, &other_trust] {
            let refused = h.client.list_consents(get(token)).await.unwrap_err();
            assert_eq!(refused.code(), Code::NotFound);
        }
        let export = h
            .client
            .export_partner_data(outgoing(
                ExportPartnerDataRequest {
                    id: grace.id.clone(),
                },
                &own,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(export.consents.len(), 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_notes_are_for_the_supporter_and_the_leads_only() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let lead = h.token("RZA", Role::EngagementLead);
        let partner = h
            .client
            .register_partner(outgoing(asha(), &lead))
            .await
            .unwrap()
            .into_inner();
        let id = partner.id.clone();
        let get = |token: &str| outgoing(GetPartnerRequest { id: id.clone() }, token);
        let note = |token: &str, kind: &str, body: &str| {
            outgoing(
                AddSupportNoteRequest {
                    partner_id: id.clone(),
                    kind: kind.into(),
                    body: body.into(),
                },
                token,
            )
        };
        let supporter = h.svc.token_for("RZA", Role::Staff, "usr_supporter");
        let other_staff = h.svc.token_for("RZA", Role::Staff, "usr_someone");

        // Before anyone is named, staff may not read or write notes.
        let refused = h.client.get_support(get(&supporter)).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{backend:?}");
        let support = h
            .client
            .assign_supporter(outgoing(
                AssignSupporterRequest {
                    partner_id: id.clone(),
                    supporter_id: "usr_supporter".into(),
                    supporter_name: "Sam Supporter".into(),
                },
                &lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(support.supporter_name, "Sam Supporter");

        let bad = h
            .client
            .add_support_note(note(&supporter, "gossip", ""))
            .await
            .unwrap_err();
        let fields: Vec<String> = field_errors(&bad).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["kind", "body"]);
        h.client
            .add_support_note(note(
                &supporter,
                "debrief",
                "Found the MDT hard going; talked it through",
            ))
            .await
            .unwrap();
        let seen = h
            .client
            .add_support_note(note(&lead, "wellbeing", "Checked in a week later: better"))
            .await
            .unwrap()
            .into_inner();
        let kinds: Vec<&str> = seen.notes.iter().map(|n| n.kind.as_str()).collect();
        assert_eq!(kinds, ["wellbeing", "debrief"], "newest first");

        // Nobody else: other staff, the partner, finance, admin, another trust.
        let own = h.svc.token_for("RZA", Role::Partner, &id);
        for (token, code) in [
            (&other_staff, Code::PermissionDenied),
            (&own, Code::PermissionDenied),
            (&h.token("RZA", Role::Finance), Code::PermissionDenied),
            (&h.token("RZA", Role::Admin), Code::PermissionDenied),
            (&h.token("RXX", Role::EngagementLead), Code::NotFound),
        ] {
            let refused = h.client.get_support(get(token)).await.unwrap_err();
            assert_eq!(refused.code(), code, "{backend:?}");
            let refused = h
                .client
                .add_support_note(note(token, "debrief", "should not be stored"))
                .await
                .unwrap_err();
            assert_eq!(refused.code(), code);
        }
        let refused = h
            .client
            .assign_supporter(outgoing(
                AssignSupporterRequest {
                    partner_id: id.clone(),
                    supporter_id: "usr_someone".into(),
                    supporter_name: "Someone".into(),
                },
                &supporter,
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);

        // The partner's own download says notes are held; a lead's access answer carries them.
        let export = |token: &str| outgoing(ExportPartnerDataRequest { id: id.clone() }, token);
        let theirs = h
            .client
            .export_partner_data(export(&own))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (theirs.support_notes_held, theirs.support_notes.len()),
            (2, 0)
        );
        let leads = h
            .client
            .export_partner_data(export(&lead))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(leads.support_notes.len(), 2);
        let admins = h
            .client
            .export_partner_data(export(&h.token("RZA", Role::Admin)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (admins.support_notes_held, admins.support_notes.len()),
            (2, 0),
            "administrators manage the system, not case notes"
        );

        // Erasure takes the notes.
        h.client
            .erase_partner(outgoing(
                ErasePartnerRequest {
                    id: id.clone(),
                    reason: "asked to be forgotten".into(),
                },
                &lead,
            ))
            .await
            .unwrap();
        let db = alongside_platform::db::connect(&h.svc.settings.database)
            .await
            .unwrap();
        use sea_orm::{EntityTrait, PaginatorTrait};
        assert_eq!(
            alongside_people::support::note::Entity::find()
                .count(&db)
                .await
                .unwrap(),
            0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equality_answers_are_the_partners_own_and_shown_only_in_suppressed_totals() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let lead = h.token("RZA", Role::EngagementLead);
        let mut ids = Vec::new();
        for i in 0..7 {
            let p = h
                .client
                .register_partner(outgoing(
                    RegisterPartnerRequest {
                        email: format!("partner{i}@example.org"),
                        ..asha()
                    },
                    &lead,
                ))
                .await
                .unwrap()
                .into_inner();
            ids.push(p.id);
        }
        let answers = |id: &str, sex: &str| EqualityAnswers {
            partner_id: id.into(),
            age_band: "35_44".into(),
            sex: sex.into(),
            ethnic_group: "".into(),
            disability: "no".into(),
            carer: "prefer_not_to_say".into(),
            answered_at: String::new(),
        };
        let consent = |id: &str, granted: bool, token: &str| {
            outgoing(
                RecordConsentRequest {
                    partner_id: id.into(),
                    purpose: "equality".into(),
                    granted,
                    notice_version: "2026-11".into(),
                },
                token,
            )
        };

        // Without the equality consent nothing is kept.
        let own = h.svc.token_for("RZA", Role::Partner, &ids[0]);
        let refused = h
            .client
            .record_equality_answers(outgoing(answers(&ids[0], "female"), &own))
            .await
            .unwrap_err();
        assert_eq!(field_errors(&refused)[0].field, "consent", "{backend:?}");

        for (i, id) in ids.iter().enumerate() {
            let token = h.svc.token_for("RZA", Role::Partner, id);
            h.client
                .record_consent(consent(id, true, &token))
                .await
                .unwrap();
            let sex = match i {
                0..=4 => "female",
                5 => "male",
                _ => "prefer_not_to_say",
            };
            h.client
                .record_equality_answers(outgoing(answers(id, sex), &token))
                .await
                .unwrap();
        }
        let bad = h
            .client
            .record_equality_answers(outgoing(answers(&ids[0], "35_44"), &own))
            .await
            .unwrap_err();
        assert_eq!(field_errors(&bad)[0].field, "sex");

        // Their download carries their answers; a lead's access answer does not.
        let export = |token: &str| outgoing(ExportPartnerDataRequest { id: ids[0].clone() }, token);
        let theirs = h
            .client
            .export_partner_data(export(&own))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(theirs.equality.unwrap().sex, "female");
        assert!(theirs.roles.is_some());
        let leads = h
            .client
            .export_partner_data(export(&lead))
            .await
            .unwrap()
            .into_inner();
        assert!(leads.equality.is_none(), "{backend:?}");

        // One partner's answers: theirs alone, never a lead's or another partner's.
        let mine = h
            .client
            .get_equality_answers(outgoing(GetPartnerRequest { id: ids[0].clone() }, &own))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (mine.sex.as_str(), mine.ethnic_group.as_str()),
            ("female", "prefer_not_to_say")
        );
        let refused = h
            .client
            .get_equality_answers(outgoing(GetPartnerRequest { id: ids[0].clone() }, &lead))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        let other = h.svc.token_for("RZA", Role::Partner, &ids[1]);
        let refused = h
            .client
            .get_equality_answers(outgoing(GetPartnerRequest { id: ids[0].clone() }, &other))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::NotFound);

        // The totals: the lone "male" and lone "prefer not" are hidden, and the five female
        // with them: hidden alone, the two would be known to hold 2 between them, so neither
        // could be 5 (the standard).
        let analyst = h.token("RZA", Role::Analyst);
        let report = h
            .client
            .get_equality_report(outgoing(EqualityReportRequest {}, &analyst))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((report.active_partners, report.respondents), (7, 7));
        let first_taken = report.as_at.clone();
        assert_eq!(
            first_taken,
            alongside_platform::testing::clock().today().to_string()
        );
        let sex = report
            .questions
            .iter()
            .find(|q| q.question == "sex")
            .unwrap();
        let shown: Vec<(&str, Option<u64>)> = sex
            .counts
            .iter()
            .map(|c| (c.answer.as_str(), (!c.hidden).then_some(c.count)))
            .collect();
        assert_eq!(
            shown,
            [
                ("female", None),
                ("male", None),
                ("prefer_not_to_say", None)
            ],
            "{backend:?}"
        );
        assert_eq!((sex.total, sex.total_hidden), (7, false));

        // The population served, to compare with: set by a lead, checked, shown beside the bank.
        let population = |female: u32, male: u32| SetPopulationRequest {
            question: "sex".into(),
            shares: vec![
                PopulationShare {
                    answer: "female".into(),
                    permille: female,
                },
                PopulationShare {
                    answer: "male".into(),
                    permille: male,
                },
            ],
            source: "Census 2021, demo area".into(),
        };
        let bad = h
            .client
            .set_population(outgoing(population(600, 500), &lead))
            .await
            .unwrap_err();
        assert_eq!(field_errors(&bad)[0].field, "shares");
        let refused = h
            .client
            .set_population(outgoing(population(512, 488), &analyst))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        let compared = h
            .client
            .set_population(outgoing(population(512, 488), &lead))
            .await
            .unwrap()
            .into_inner();
        let sex = compared
            .questions
            .iter()
            .find(|q| q.question == "sex")
            .unwrap();
        assert_eq!(sex.population_source, "Census 2021, demo area");
        let shares: Vec<(&str, Option<u32>, Option<u32>)> = sex
            .counts
            .iter()
            .map(|c| (c.answer.as_str(), c.bank_permille, c.population_permille))
            .collect();
        assert_eq!(
            shares,
            [
                ("female", None, Some(512)),
                ("male", None, Some(488)),
                ("prefer_not_to_say", None, None)
            ],
            "{backend:?}: a hidden count has no share; the population's are shown"
        );
        // Another trust's totals hold none of these; staff and finance get no totals at all.
        let elsewhere = h
            .client
            .get_equality_report(outgoing(
                EqualityReportRequest {},
                &h.token("RXX", Role::EngagementLead),
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((elsewhere.active_partners, elsewhere.respondents), (0, 0));
        for role in [Role::Staff, Role::Finance, Role::Partner] {
            let refused = h
                .client
                .get_equality_report(outgoing(EqualityReportRequest {}, &h.token("RZA", role)))
                .await
                .unwrap_err();
            assert_eq!(refused.code(), Code::PermissionDenied);
        }

        // Withdrawing the consent deletes the answers.
        h.client
            .record_consent(consent(&ids[0], false, &own))
            .await
            .unwrap();
        let gone = h
            .client
            .get_equality_answers(outgoing(GetPartnerRequest { id: ids[0].clone() }, &own))
            .await
            .unwrap()
            .into_inner();
        assert!(gone.answered_at.is_empty() && gone.sex.is_empty());
        let report = h
            .client
            .get_equality_report(outgoing(EqualityReportRequest {}, &analyst))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (report.respondents, report.as_at.as_str()),
            (7, first_taken.as_str()),
            "{backend:?}: the month's release stands until the next month's"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_filter_by_role_locality_pathway_and_expiring_training() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        let lead = h.token("RZA", Role::EngagementLead);
        let mut ids = Vec::new();
        for (email, locality) in [
            ("one@example.org", "North Locality"),
            ("two@example.org", "south locality"),
            ("three@example.org", "South Locality"),
        ] {
            let p = h
                .client
                .register_partner(outgoing(
                    RegisterPartnerRequest {
                        email: email.into(),
                        locality: locality.into(),
                        ..asha()
                    },
                    &lead,
                ))
                .await
                .unwrap()
                .into_inner();
            ids.push(p.id);
        }
        h.client
            .grant_role(outgoing(
                RoleRequest {
                    partner_id: ids[0].clone(),
                    role: "trainer".into(),
                },
                &lead,
            ))
            .await
            .unwrap();
        h.client
            .update_profile(outgoing(
                UpdateProfileRequest {
                    partner_id: ids[1].clone(),
                    lived_experience: vec!["MSK pathway: knee replacement".into()],
                    ..profile_change()
                },
                &lead,
            ))
            .await
            .unwrap();
        // Confidentiality done 364 days ago: a year's validity ends tomorrow.
        h.client
            .record_training(outgoing(
                RecordTrainingRequest {
                    partner_id: ids[2].clone(),
                    kind: "confidentiality".into(),
                    completed_on: days_from_today(-364),
                    expires_on: String::new(),
                    certificate_number: String::new(),
                },
                &lead,
            ))
            .await
            .unwrap();
        let lister = h.client.clone();
        let list = |request: ListPartnersRequest| {
            let mut client = lister.clone();
            let token = lead.clone();
            async move {
                let listed = client
                    .list_partners(outgoing(request, &token))
                    .await?
                    .into_inner();
                Ok::<_, tonic::Status>(
                    listed
                        .partners
                        .into_iter()
                        .map(|p| p.email)
                        .collect::<Vec<_>>(),
                )
            }
        };
        let by = |f: fn(&mut ListPartnersRequest)| {
            let mut r = ListPartnersRequest::default();
            f(&mut r);
            r
        };
        assert_eq!(
            list(by(|r| r.role = "trainer".into())).await.unwrap(),
            ["one@example.org"],
            "{backend:?}"
        );
        let mut south = list(by(|r| r.locality = "SOUTH LOCALITY".into()))
            .await
            .unwrap();
        south.sort();
        assert_eq!(south, ["three@example.org", "two@example.org"]);
        assert_eq!(
            list(by(|r| r.pathway = "msk".into())).await.unwrap(),
            ["two@example.org"]
        );
        assert_eq!(
            list(by(|r| r.expiring_within_days = 60)).await.unwrap(),
            ["three@example.org"],
            "{backend:?}"
        );
        assert!(list(by(|r| {
            r.expiring_within_days = 60;
            r.role = "trainer".into();
        }))
        .await
        .unwrap()
        .is_empty());
        // A renewal means it no longer expires soon.
        h.client
            .record_training(outgoing(
                RecordTrainingRequest {
                    partner_id: ids[2].clone(),
                    kind: "confidentiality".into(),
                    completed_on: days_from_today(0),
                    expires_on: String::new(),
                    certificate_number: String::new(),
                },
                &lead,
            ))
            .await
            .unwrap();
        assert!(list(by(|r| r.expiring_within_days = 60))
            .await
            .unwrap()
            .is_empty());
        let bad = list(by(|r| {
            r.role = "juggler".into();
            r.expiring_within_days = 400;
        }))
        .await
        .unwrap_err();
        let fields: Vec<String> = field_errors(&bad).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["role", "expiring_within_days"]);

        // An export is audited as one.
        list(by(|r| r.export = true)).await.unwrap();
        let db = alongside_platform::db::connect(&h.svc.settings.database)
            .await
            .unwrap();
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let exports = alongside_platform::audit::Entity::find()
            .filter(alongside_platform::audit::Column::Action.eq("export"))
            .filter(alongside_platform::audit::Column::SubjectKind.eq("partner"))
            .count(&db)
            .await
            .unwrap();
        assert_eq!(exports, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_who_agrees_is_offered_across_their_ics_and_no_further() {
    for backend in backends() {
        let mut h = Harness::start(backend).await;
        // RZA and RZB are trusts of the ICS QZX; RXX belongs to another.
        let lead_a = h.svc.token_in_ics("RZA", "QZX", Role::EngagementLead);
        let lead_b = h.svc.token_in_ics("RZB", "QZX", Role::EngagementLead);
        let lead_x = h.svc.token_in_ics("RXX", "QYY", Role::EngagementLead);
        let shared_one = h
            .client
            .register_partner(outgoing(asha(), &lead_a))
            .await
            .unwrap()
            .into_inner();
        let quiet = h
            .client
            .register_partner(outgoing(
                RegisterPartnerRequest {
                    email: "quiet@example.org".into(),
                    given_name: "Quinn".into(),
                    ..asha()
                },
                &lead_a,
            ))
            .await
            .unwrap()
            .into_inner();
        h.client
            .update_profile(outgoing(
                UpdateProfileRequest {
                    partner_id: shared_one.id.clone(),
                    ..profile_change()
                },
                &lead_a,
            ))
            .await
            .unwrap();
        let lister = h.client.clone();
        let shared = |token: &str| {
            let mut client = lister.clone();
            let token = token.to_string();
            async move {
                client
                    .list_shared_partners(outgoing(ListSharedPartnersRequest::default(), &token))
                    .await
                    .map(|r| r.into_inner().partners)
            }
        };
        // Without the sharing consent, the other trust sees nothing.
        assert!(shared(&lead_b).await.unwrap().is_empty(), "{backend:?}");

        let own = h.svc.token_for("RZA", Role::Partner, &shared_one.id);
        let sharing = |granted: bool| {
            outgoing(
                RecordConsentRequest {
                    partner_id: shared_one.id.clone(),
                    purpose: "sharing".into(),
                    granted,
                    notice_version: "2026-11".into(),
                },
                &own,
            )
        };
        h.client.record_consent(sharing(true)).await.unwrap();
        let seen = shared(&lead_b).await.unwrap();
        assert_eq!(seen.len(), 1, "only the partner who agreed: {backend:?}");
        assert_eq!(
            (seen[0].id.as_str(), seen[0].tenant_id.as_str()),
            (shared_one.id.as_str(), "RZA")
        );
        assert!(
            seen[0].email.is_empty() && seen[0].phone.is_empty(),
            "contact details stay home"
        );
        assert!(
            shared(&lead_x).await.unwrap().is_empty(),
            "another ICS sees nothing"
        );
        assert!(
            shared(&lead_a).await.unwrap().is_empty(),
            "not offered to their own trust"
        );
        let no_ics = h.token("RZB", Role::EngagementLead);
        assert_eq!(
            shared(&no_ics).await.unwrap_err().code(),
            Code::InvalidArgument
        );

        // Added at RZB: their own record, details and profile carried over, no bank details.
        let adopt = |token: &str, id: &str| {
            outgoing(
                AdoptSharedPartnerRequest {
                    partner_id: id.to_string(),
                },
                token,
            )
        };
        let refused = h
            .client
            .adopt_shared_partner(adopt(&lead_b, &quiet.id))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::NotFound, "no consent, no record");
        let refused = h
            .client
            .adopt_shared_partner(adopt(&lead_x, &shared_one.id))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::NotFound);
        let at_b = h
            .client
            .adopt_shared_partner(adopt(&lead_b, &shared_one.id))
            .await
            .unwrap()
            .into_inner();
        assert_ne!(at_b.id, shared_one.id);
        assert_eq!(
            (
                at_b.tenant_id.as_str(),
                at_b.email.as_str(),
                at_b.status.as_str()
            ),
            ("RZB", "asha.patel@example.org", "active")
        );
        let profile = h
            .client
            .get_profile(outgoing(
                GetPartnerRequest {
                    id: at_b.id.clone(),
                },
                &lead_b,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(profile.skills, ["Chairing"]);
        let again = h
            .client
            .adopt_shared_partner(adopt(&lead_b, &shared_one.id))
            .await
            .unwrap_err();
        assert_eq!(again.code(), Code::AlreadyExists);
        // The first trust's partner can read who took their record across.
        let export = h
            .client
            .export_partner_data(outgoing(
                ExportPartnerDataRequest {
                    id: shared_one.id.clone(),
                },
                &own,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(export.access_log.iter().any(|a| a.action == "share"));

        assert_eq!(at_b.joined_from, "RZA", "the copy says where it came from");

        // Withdrawn: no longer offered, and withdrawn at the trust that added them too.
        h.client.record_consent(sharing(false)).await.unwrap();
        assert!(shared(&lead_b).await.unwrap().is_empty());
        let reader = h.client.clone();
        let current = |id: &str, token: &str| {
            let mut client = reader.clone();
            let request = outgoing(GetPartnerRequest { id: id.to_string() }, token);
            async move {
                client
                    .list_consents(request)
                    .await
                    .unwrap()
                    .into_inner()
                    .current
            }
        };
        let granted = |consents: &[Consent], purpose: &str| {
            consents
                .iter()
                .find(|c| c.purpose == purpose)
                .map(|c| c.granted)
        };
        assert_eq!(
            granted(&current(&at_b.id, &lead_b).await, "sharing"),
            Some(false),
            "{backend:?}: the withdrawal reaches the copy"
        );
        // And the other way: asking the second trust not to be contacted reaches the first.
        h.client
            .record_consent(outgoing(
                RecordConsentRequest {
                    partner_id: at_b.id.clone(),
                    purpose: "contact".into(),
                    granted: false,
                    notice_version: "2026-11".into(),
                },
                &lead_b,
            ))
            .await
            .unwrap();
        assert_eq!(
            granted(&current(&shared_one.id, &lead_a).await, "contact"),
            Some(false)
        );
        // A grant is the partner's to give trust by trust: it does not travel.
        h.client
            .record_consent(outgoing(
                RecordConsentRequest {
                    partner_id: at_b.id.clone(),
                    purpose: "contact".into(),
                    granted: true,
                    notice_version: "2026-11".into(),
                },
                &lead_b,
            ))
            .await
            .unwrap();
        assert_eq!(
            granted(&current(&shared_one.id, &lead_a).await, "contact"),
            Some(false)
        );
        // Staff cannot look across the ICS.
        let staff_b = h.svc.token_in_ics("RZB", "QZX", Role::Staff);
        assert_eq!(
            shared(&staff_b).await.unwrap_err().code(),
            Code::PermissionDenied
        );
    }
}

type Call = Box<
    dyn Fn(
        String,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), tonic::Status>> + Send>,
    >,
>;

/// Every call of the service, with the roles that may make it: each is tried by every role (a
/// partner on their own record) and by every role of another trust, which must learn nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_is_open_to_its_roles_only_and_to_no_other_trust() {
    use Role::*;
    let mut h = Harness::start(Backend::Sqlite).await;
    let lead = h.token("RZA", EngagementLead);
    let register = |email: &str| RegisterPartnerRequest {
        email: email.into(),
        ..asha()
    };
    let target = h
        .client
        .register_partner(outgoing(register("target@example.org"), &lead))
        .await
        .unwrap()
        .into_inner()
        .id;
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
    let id = || target.clone();
    let get = GetPartnerRequest { id: id() };
    let calls: Vec<(&str, Vec<Role>, Call)> = vec![
        (
            "RegisterPartner",
            vec![EngagementLead, Admin],
            call!(register_partner, register("new@example.org")),
        ),
        (
            "GetPartner",
            vec![EngagementLead, Staff, Admin],
            call!(get_partner, get.clone()),
        ),
        (
            "ListPartners",
            vec![EngagementLead, Staff, Admin],
            call!(list_partners, ListPartnersRequest::default()),
        ),
        (
            "ChangeStatus",
            vec![EngagementLead, Admin],
            call!(
                change_status,
                ChangeStatusRequest {
                    id: id(),
                    status: "resting".into(),
                    reason: "a break".into()
                }
            ),
        ),
        (
            "ListStatusHistory",
            vec![EngagementLead, Staff, Admin],
            call!(list_status_history, ListStatusHistoryRequest { id: id() }),
        ),
        (
            "ExportPartnerData",
            vec![EngagementLead, Admin, Partner],
            call!(export_partner_data, ExportPartnerDataRequest { id: id() }),
        ),
        (
            "GetPartnerRoles",
            vec![EngagementLead, Staff, Admin],
            call!(get_partner_roles, get.clone()),
        ),
        (
            "GrantRole",
            vec![EngagementLead, Admin],
            call!(
                grant_role,
                RoleRequest {
                    partner_id: id(),
                    role: "trainer".into()
                }
            ),
        ),
        (
            "RevokeRole",
            vec![EngagementLead, Admin],
            call!(
                revoke_role,
                RoleRequest {
                    partner_id: id(),
                    role: "trainer".into()
                }
            ),
        ),
        (
            "RecordTraining",
            vec![EngagementLead, Admin],
            call!(
                record_training,
                RecordTrainingRequest {
                    partner_id: id(),
                    kind: "induction".into(),
                    completed_on: days_from_today(-1),
                    ..Default::default()
                }
            ),
        ),
        (
            "ListExpiringTraining",
            vec![EngagementLead, Staff, Admin],
            call!(
                list_expiring_training,
                ListExpiringTrainingRequest::default()
            ),
        ),
        (
            "GetProfile",
            vec![Partner, EngagementLead, Staff, Admin, Finance],
            call!(get_profile, get.clone()),
        ),
        (
            "UpdateProfile",
            vec![Partner, EngagementLead, Admin],
            call!(
                update_profile,
                UpdateProfileRequest {
                    partner_id: id(),
                    ..profile_change()
                }
            ),
        ),
        (
            "SetBankDetails",
            vec![Partner, Finance],
            call!(
                set_bank_details,
                SetBankDetailsRequest {
                    partner_id: id(),
                    account_name: "A Patel".into(),
                    sort_code: "309950".into(),
                    account_number: "12345678".into()
                }
            ),
        ),
        (
            "RevealBankDetails",
            vec![Finance],
            call!(reveal_bank_details, get.clone()),
        ),
        (
            "GetPayees",
            vec![Finance],
            call!(
                get_payees,
                GetPayeesRequest {
                    partner_ids: vec![id()],
                    include_bank_details: true
                }
            ),
        ),
        (
            "ExpressInterest",
            vec![Public],
            call!(
                express_interest,
                ExpressInterestRequest {
                    given_name: "Ivy".into(),
                    family_name: "Interest".into(),
                    email: "ivy@example.org".into(),
                    locality: "East".into(),
                    consent_to_contact: true,
                    notice_version: "2026-11".into(),
                    ..Default::default()
                }
            ),
        ),
        (
            "RecordConsent",
            vec![Partner, EngagementLead, Admin],
            call!(
                record_consent,
                RecordConsentRequest {
                    partner_id: id(),
                    purpose: "contact".into(),
                    granted: true,
                    notice_version: "2026-11".into()
                }
            ),
        ),
        (
            "ListConsents",
            vec![Partner, EngagementLead, Staff, Admin],
            call!(list_consents, get.clone()),
        ),
        (
            "AssignSupporter",
            vec![EngagementLead],
            call!(
                assign_supporter,
                AssignSupporterRequest {
                    partner_id: id(),
                    supporter_id: "usr_lead".into(),
                    supporter_name: "A Lead".into()
                }
            ),
        ),
        // Staff pass the role check, but only the named supporter gets in: still refused here.
        (
            "AddSupportNote",
            vec![EngagementLead],
            call!(
                add_support_note,
                AddSupportNoteRequest {
                    partner_id: id(),
                    kind: "debrief".into(),
                    body: "went well".into()
                }
            ),
        ),
        (
            "GetSupport",
            vec![EngagementLead],
            call!(get_support, get.clone()),
        ),
        (
            "RecordEqualityAnswers",
            vec![Partner],
            call!(
                record_equality_answers,
                EqualityAnswers {
                    partner_id: id(),
                    ..Default::default()
                }
            ),
        ),
        (
            "GetEqualityAnswers",
            vec![Partner],
            call!(get_equality_answers, get.clone()),
        ),
        (
            "GetEqualityReport",
            vec![EngagementLead, Admin, Analyst, IcsAnalyst],
            call!(get_equality_report, EqualityReportRequest {}),
        ),
        (
            "SetPopulation",
            vec![EngagementLead, Admin],
            call!(
                set_population,
                SetPopulationRequest {
                    question: "sex".into(),
                    shares: vec![
                        PopulationShare {
                            answer: "female".into(),
                            permille: 510
                        },
                        PopulationShare {
                            answer: "male".into(),
                            permille: 490
                        },
                    ],
                    source: "Census 2021".into()
                }
            ),
        ),
        (
            "ListSharedPartners",
            vec![EngagementLead],
            call!(list_shared_partners, ListSharedPartnersRequest::default()),
        ),
        (
            "AdoptSharedPartner",
            vec![EngagementLead],
            call!(
                adopt_shared_partner,
                AdoptSharedPartnerRequest { partner_id: id() }
            ),
        ),
    ];
    let roles: Vec<Role> = Role::ALL.into_iter().chain([Public]).collect();
    let refused =
        |r: &Result<(), tonic::Status>| matches!(r, Err(s) if s.code() == Code::PermissionDenied);
    for (name, allowed, call) in &calls {
        for role in &roles {
            let token = if *role == Partner {
                h.svc.token_for("RZA", Partner, &target)
            } else {
                h.token("RZA", *role)
            };
            let result = call(token).await;
            assert_eq!(
                !refused(&result),
                allowed.contains(role),
                "{name} by {role:?}: {result:?}"
            );
            // Another trust: refused or "not found"; lists answer, but without this trust's data.
            let elsewhere = if *role == Partner {
                h.svc.token_for("RXX", Partner, &target)
            } else {
                h.token("RXX", *role)
            };
            match call(elsewhere).await {
                Err(s) => assert!(
                    matches!(
                        s.code(),
                        Code::PermissionDenied | Code::NotFound | Code::InvalidArgument
                    ),
                    "{name} by another trust's {role:?}: {s:?}"
                ),
                Ok(()) => assert!(
                    [
                        "RegisterPartner",
                        "ListPartners",
                        "ListExpiringTraining",
                        "ExpressInterest",
                        "GetEqualityReport",
                        // Sets the other trust's own figures: nothing of this trust's.
                        "SetPopulation",
                        // Answers with the other trust's payees among those asked: none.
                        "GetPayees",
                    ]
                    .contains(name),
                    "{name} answered another trust's {role:?}"
                ),
            }
        }
    }
    // What those answering calls gave the other trust: nothing of this trust's.
    let other_lead = h.token("RXX", EngagementLead);
    let listed = h
        .client
        .list_partners(outgoing(ListPartnersRequest::default(), &other_lead))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.partners.iter().all(|p| p.tenant_id == "RXX"));
    assert!(!listed.partners.iter().any(|p| p.id == target));
    let payees = h
        .client
        .get_payees(outgoing(
            GetPayeesRequest {
                partner_ids: vec![target.clone()],
                include_bank_details: true,
            },
            &h.token("RXX", Finance),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        payees.payees.is_empty(),
        "another trust's finance learns nothing"
    );

    // Erasure last: it ends the record the others work on.
    let erase = call!(
        erase_partner,
        ErasePartnerRequest {
            id: id(),
            reason: "asked".into()
        }
    );
    for role in &roles {
        let token = if *role == Partner {
            h.svc.token_for("RZA", Partner, &target)
        } else {
            h.token("RZA", *role)
        };
        if ![EngagementLead, Admin].contains(role) {
            assert!(refused(&erase(token).await), "ErasePartner by {role:?}");
        }
    }
    let elsewhere = erase(h.token("RXX", EngagementLead)).await.unwrap_err();
    assert_eq!(elsewhere.code(), Code::NotFound);
    erase(lead.clone()).await.unwrap();
}
