//! An ICS's trusts side by side: suppressed as siblings under the ICS, so that neither the ICS
//! total nor the shown trusts give away a hidden trust; ICS analysts only.

use alongside_events::testing::TestService;
use alongside_platform::grpc::outgoing;
use alongside_platform::testing::Backend;
use alongside_platform::Role;
use alongside_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use alongside_proto::feedback::v1::*;
use tonic::transport::Channel;
use tonic::Code;

mod common;

async fn send(
    client: &mut FeedbackServiceClient<Channel>,
    token: &str,
    prefix: &str,
    answers: &[(FftAnswer, usize)],
    month: &str,
    pathway: &str,
) {
    let mut responses = Vec::new();
    for (answer, n) in answers {
        for i in 0..*n {
            responses.push(FftResponse {
                response_id: format!("{prefix}-{month}-{}-{i}", *answer as i32),
                source: "web".into(),
                answer: *answer as i32,
                responded_on: format!("{month}-10"),
                pathway: pathway.into(),
                ..Default::default()
            });
        }
    }
    let sent = client
        .submit_fft_responses(outgoing(
            SubmitFftResponsesRequest {
                responses,
                dry_run: false,
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(sent.rejected.is_empty(), "{:?}", sent.rejected);
}

fn request(trusts: &[&str]) -> CompareTrustsRequest {
    CompareTrustsRequest {
        from_month: "2026-09".into(),
        to_month: "2026-10".into(),
        trusts: trusts.iter().map(|t| t.to_string()).collect(),
        chart_months: 12,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusts_are_compared_with_small_numbers_hidden_among_them() {
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    for trust in ["RZA", "RZB", "RZC"] {
        common::list_places(&svc, trust, &[("pathway", "MSK"), ("pathway", "Pain")]).await;
    }
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    let (a, b, c) = (
        svc.token("RZA", Role::Analyst),
        svc.token("RZB", Role::Analyst),
        svc.token("RZC", Role::Analyst),
    );
    // RZA: 40 in September and 40 in October, half MSK, half Pain; 3 in August.
    for month in ["2026-09", "2026-10"] {
        for pathway in ["MSK", "Pain"] {
            let answers = [
                (FftAnswer::VeryGood, 15),
                (FftAnswer::Good, 3),
                (FftAnswer::Poor, 2),
            ];
            send(
                &mut client,
                &a,
                &format!("a{pathway}"),
                &answers,
                month,
                pathway,
            )
            .await;
        }
    }
    send(
        &mut client,
        &a,
        "a",
        &[(FftAnswer::Good, 3)],
        "2026-08",
        "MSK",
    )
    .await;
    // RZB: 3 MSK responses in October and 30 Pain; RZC: 12 Pain and 10 MSK.
    send(
        &mut client,
        &b,
        "b",
        &[(FftAnswer::VeryPoor, 3)],
        "2026-10",
        "MSK",
    )
    .await;
    send(
        &mut client,
        &b,
        "b",
        &[(FftAnswer::Good, 30)],
        "2026-10",
        "Pain",
    )
    .await;
    send(
        &mut client,
        &c,
        "c",
        &[(FftAnswer::Good, 10), (FftAnswer::Neither, 2)],
        "2026-10",
        "Pain",
    )
    .await;
    send(
        &mut client,
        &c,
        "c",
        &[(FftAnswer::VeryGood, 10)],
        "2026-10",
        "MSK",
    )
    .await;

    let ics = svc.token("QZX", Role::IcsAnalyst);
    let got = client
        .compare_trusts(outgoing(request(&["RZA", "RZB", "RZC"]), &ics))
        .await
        .unwrap()
        .into_inner();
    let total = got.ics.clone().unwrap();
    assert_eq!(
        total.total,
        Some(135),
        "the period only: August is outside it"
    );
    assert_eq!(total.suppression, "none");
    assert_eq!(total.percent_positive, Some(122.0 * 100.0 / 135.0));
    let low = total.positive_low_95.unwrap();
    let high = total.positive_high_95.unwrap();
    assert!(
        low < 90.0 && 90.0 < high && high - low < 20.0,
        "{low}..{high}"
    );
    let rows: Vec<(&str, Option<u64>)> = got
        .trusts
        .iter()
        .map(|r| (r.value.as_str(), r.total))
        .collect();
    // RZB's 3 MSK responses were all "very poor", and RZB had no other: with RZB's and RZC's
    // totals shown, the ICS's MSK figures would pin those 3 on RZB's MSK. So both are hidden
    // (the standard: a small figure may be 0 or at least 5, whatever is combined).
    assert_eq!(rows, [("RZA", Some(80)), ("RZB", None), ("RZC", None)]);

    // RZB's 3 MSK responses are hidden, and so is another MSK figure: else the ICS's MSK
    // figures less the others would give them away.
    let cell = |by: &str, value: &str, trust: &str| {
        got.cells
            .iter()
            .find(|c| c.by == by && c.value == value && c.trust == trust)
            .and_then(|c| c.row.clone())
            .unwrap_or_else(|| panic!("{by} {value} {trust}"))
    };
    let small = cell("pathway", "MSK", "RZB");
    assert_eq!(small.total, None, "1 to 4 responses are hidden whole");
    assert_eq!(small.suppression, "primary");
    assert!(small.very_poor.is_none() && small.percent_positive.is_none());
    assert!(
        small.positive_low_95.is_none(),
        "no interval of what is hidden"
    );
    let msk: Vec<_> = ["", "RZA", "RZC"]
        .iter()
        .map(|t| cell("pathway", "MSK", t))
        .filter(|r| r.suppression == "secondary")
        .collect();
    assert!(!msk.is_empty(), "a second MSK figure is hidden");
    for r in &msk {
        assert!(
            r.good.is_none() && r.percent_positive.is_none() && r.total.is_none(),
            "hidden whole: {r:?}"
        );
    }
    // The ICS's own figures by pathway stay shown: 20 + 20 + 3 + 10 MSK responses.
    assert_eq!(cell("pathway", "MSK", "").total, Some(53));
    assert_eq!(cell("pathway", "MSK", "").suppression, "none");
    let sources: Vec<&str> = got
        .cells
        .iter()
        .filter(|c| c.by == "source" && c.trust.is_empty())
        .map(|c| c.value.as_str())
        .collect();
    assert_eq!(sources, ["web"]);

    // The ICS first, then each trust; RZA's August (3 responses) is not drawn.
    let charts: Vec<&str> = got.charts.iter().map(|s| s.trust.as_str()).collect();
    assert_eq!(charts, ["", "RZA", "RZB", "RZC"]);
    let rza = got.charts[1].positive_chart.as_ref().unwrap();
    let periods: Vec<&str> = rza.points.iter().map(|p| p.period.as_str()).collect();
    assert!(!periods.contains(&"2026-08"), "{periods:?}");
    assert!(rza
        .warnings
        .iter()
        .any(|w| w.contains("neither drawn nor counted in the limits")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_ics_analysts_compare_and_bad_requests_say_what_is_wrong() {
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    for role in [
        Role::Analyst,
        Role::EngagementLead,
        Role::Partner,
        Role::Finance,
    ] {
        let token = svc.token("RZA", role);
        let status = client
            .compare_trusts(outgoing(request(&["RZA", "RZB"]), &token))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{role:?}");
    }
    let ics = svc.token("QZX", Role::IcsAnalyst);
    let mut bad = request(&["RZA", "RZA", "not a code"]);
    bad.from_month = "2026-13".into();
    bad.chart_months = 61;
    let status = client
        .compare_trusts(outgoing(bad, &ics))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let message = status.message();
    for expected in [
        "from_month",
        "RZA is named twice",
        "\"not a code\" is not an ODS code",
        "chart_months",
    ] {
        assert!(message.contains(expected), "{expected} in {message}");
    }
    let status = client
        .compare_trusts(outgoing(request(&[]), &ics))
        .await
        .unwrap_err();
    assert!(status.message().contains("name 1 to 50 member trusts"));

    // An ICS analyst reads a member trust's aggregates, never what it holds one by one.
    let member = svc.token("RZA", Role::IcsAnalyst);
    client
        .get_fft_summary(outgoing(GetFftSummaryRequest::default(), &member))
        .await
        .unwrap();
    let status = client
        .list_comments(outgoing(ListCommentsRequest::default(), &member))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = client
        .submit_prom_responses(outgoing(SubmitPromResponsesRequest::default(), &member))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}
