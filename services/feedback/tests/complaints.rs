//! Complaints over real gRPC, on SQLite and PostgreSQL: recording and closing, who may read
//! them, another trust seeing nothing, and the learning report.

use alongside_events::testing::TestService;
use alongside_platform::grpc::outgoing;
use alongside_platform::testing::backends;
use alongside_platform::Role;
use alongside_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use alongside_proto::feedback::v1::*;
use tonic::Code;

mod common;

fn complaint(reference: &str, received_on: &str) -> Complaint {
    Complaint {
        reference: reference.into(),
        received_on: received_on.into(),
        channel: "letter".into(),
        pathway: "MSK".into(),
        categories: vec!["timeliness".into(), "kept_informed".into()],
        summary: "Waited 14 weeks for a first appointment and nobody said why".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complaints_are_recorded_closed_with_learning_and_reported() {
    for backend in backends() {
        let svc = TestService::start("feedback", backend, alongside_feedback::start).await;
        let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
        let lead = svc.token("RZA", Role::EngagementLead);
        let record = |c: Complaint| RecordComplaintRequest { complaint: Some(c) };

        // Only a listed place: reports count complaints by pathway.
        let unlisted = client
            .record_complaint(outgoing(
                record(Complaint {
                    pathway: "Dr Smith's list".into(),
                    ..complaint("C-100", "2026-10-01")
                }),
                &lead,
            ))
            .await
            .unwrap_err();
        let fields: Vec<String> = alongside_platform::error::field_errors(&unlisted)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["pathway"], "{backend:?}");
        common::list_places(&svc, "RZA", &[("pathway", "MSK"), ("pathway", "Pain")]).await;

        let a = client
            .record_complaint(outgoing(record(complaint("C-101", "2026-10-01")), &lead))
            .await
            .unwrap()
            .into_inner();
        assert!(a.id.starts_with("cpl_"), "{a:?}");
        assert_eq!(
            a.categories,
            ["timeliness", "kept_informed"],
            "in the framework's order"
        );
        let status = client
            .record_complaint(outgoing(record(complaint("C-101", "2026-10-02")), &lead))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{backend:?}");
        assert!(
            status
                .message()
                .contains("reference: C-101 is already recorded"),
            "{status:?}"
        );

        // Closed as upheld: the learning is needed, then kept.
        let mut closing = Complaint {
            acknowledged_on: "2026-10-02".into(),
            closed_on: "2026-10-21".into(),
            outcome: "upheld".into(),
            ..a.clone()
        };
        let status = client
            .update_complaint(outgoing(
                UpdateComplaintRequest {
                    complaint: Some(closing.clone()),
                },
                &lead,
            ))
            .await
            .unwrap_err();
        assert!(status.message().contains("learning"), "{status:?}");
        closing.learning = "Waiting-list letters now give the expected wait.".into();
        closing.actions = "MSK admin team to send the new letter from November.".into();
        let closed = client
            .update_complaint(outgoing(
                UpdateComplaintRequest {
                    complaint: Some(closing),
                },
                &lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(closed.outcome, "upheld");

        let mut b = complaint("C-102", "2026-10-16");
        b.pathway = "Pain".into();
        b.categories = vec!["staff_manner".into()];
        client
            .record_complaint(outgoing(record(b), &lead))
            .await
            .unwrap();

        let open = client
            .list_complaints(outgoing(
                ListComplaintsRequest {
                    status: "open".into(),
                    ..Default::default()
                },
                &lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(open.total, 1);
        assert_eq!(open.complaints[0].reference, "C-102");
        let by_theme = client
            .list_complaints(outgoing(
                ListComplaintsRequest {
                    category: "timeliness".into(),
                    ..Default::default()
                },
                &lead,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(by_theme.total, 1);
        assert_eq!(by_theme.complaints[0].reference, "C-101");

        // The analyst reads the report, not the complaints.
        let analyst = svc.token("RZA", Role::Analyst);
        let report = client
            .get_learning_report(outgoing(
                GetLearningReportRequest {
                    from_month: "2026-10".into(),
                    to_month: "2026-10".into(),
                    pathway: String::new(),
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((report.received, report.closed), (2, 1), "{backend:?}");
        assert_eq!(report.acknowledged_in_time, 1);
        assert_eq!(report.open_at_end, 1);
        assert_eq!(report.median_days_to_close, Some(20.0));
        assert_eq!(report.learning.len(), 1);
        assert_eq!(report.learning[0].closed_month, "2026-10");
        assert!(report.learning[0].learning.contains("expected wait"));
        let upheld = |code: &str| {
            report
                .themes
                .iter()
                .find(|t| t.category == code)
                .map(|t| (t.received, t.upheld))
        };
        assert_eq!(upheld("timeliness"), Some((1, 1)));
        assert_eq!(upheld("staff_manner"), Some((1, 0)));
        let pain = client
            .get_learning_report(outgoing(
                GetLearningReportRequest {
                    from_month: "2026-10".into(),
                    to_month: "2026-10".into(),
                    pathway: "Pain".into(),
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((pain.received, pain.closed), (1, 0), "one pathway's own");

        for status in [
            client
                .list_complaints(outgoing(ListComplaintsRequest::default(), &analyst))
                .await
                .unwrap_err(),
            client
                .get_complaint(outgoing(GetComplaintRequest { id: a.id.clone() }, &analyst))
                .await
                .unwrap_err(),
        ] {
            assert_eq!(
                status.code(),
                Code::PermissionDenied,
                "summaries are not for analysts"
            );
        }
        let partner = svc.token("RZA", Role::Partner);
        let status = client
            .get_learning_report(outgoing(
                GetLearningReportRequest {
                    from_month: "2026-10".into(),
                    to_month: "2026-10".into(),
                    pathway: String::new(),
                },
                &partner,
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);

        // Another trust sees nothing and changes nothing.
        let other = svc.token("RZB", Role::EngagementLead);
        let theirs = client
            .list_complaints(outgoing(ListComplaintsRequest::default(), &other))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(theirs.total, 0);
        let status = client
            .get_complaint(outgoing(GetComplaintRequest { id: a.id.clone() }, &other))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
        let status = client
            .update_complaint(outgoing(
                UpdateComplaintRequest {
                    complaint: Some(Complaint {
                        summary: "changed".into(),
                        ..a.clone()
                    }),
                },
                &other,
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
        let their_report = client
            .get_learning_report(outgoing(
                GetLearningReportRequest {
                    from_month: "2026-10".into(),
                    to_month: "2026-10".into(),
                    pathway: String::new(),
                },
                &svc.token("RZB", Role::Analyst),
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(their_report.received, 0);
        // The same reference may be used by another trust (whose places are its own: it lists
        // no MSK pathway).
        client
            .record_complaint(outgoing(
                record(Complaint {
                    pathway: String::new(),
                    ..complaint("C-101", "2026-10-03")
                }),
                &other,
            ))
            .await
            .unwrap();

        let status = client
            .get_learning_report(outgoing(
                GetLearningReportRequest {
                    from_month: "2026-11".into(),
                    to_month: "2026-10".into(),
                    pathway: String::new(),
                },
                &analyst,
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
    }
}
