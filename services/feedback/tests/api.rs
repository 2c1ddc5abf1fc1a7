//! Feedback over real gRPC, on SQLite and PostgreSQL, with responses by batch and by Kafka.

use std::time::Duration;

use alongside_events::testing::{eventually, TestService};
use alongside_events::topics::FEEDBACK_RESPONSES;
use alongside_platform::grpc::outgoing;
use alongside_platform::testing::{backends, Backend};
use alongside_platform::Role;
use alongside_proto::feedback::events::v1::FftResponseReceived;
use alongside_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use alongside_proto::feedback::v1::*;
use tonic::Code;

mod common;

fn response(id: &str, answer: FftAnswer, on: &str) -> FftResponse {
    FftResponse {
        response_id: id.into(),
        source: "sms".into(),
        answer: answer as i32,
        responded_on: on.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_and_topic_responses_give_nhs_england_figures_counted_once() {
    for backend in backends() {
        let svc = TestService::start("feedback", backend, alongside_feedback::start).await;
        let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
        let analyst = svc.token("RZA", Role::Analyst);
        use FftAnswer::*;
        let october = [
            response("a1", VeryGood, "2026-10-02"),
            response("a2", VeryGood, "2026-10-03"),
            response("a3", Good, "2026-10-04"),
            response("a4", Neither, "2026-10-05"),
            response("a5", DontKnow, "2026-10-06"),
            response("a6", Poor, "2026-10-07"),
            response("a7", VeryPoor, "2026-10-08"),
            response("a8", Good, "2026-10-09"),
        ];
        let mut batch: Vec<FftResponse> = october.to_vec();
        batch.push(FftResponse {
            source: "fax".into(),
            ..response("bad1", Good, "2026-10-01")
        });
        batch.push(response("a1", VeryGood, "2026-10-02")); // the same response id again
                                                            // A dry run says what storing would do, and stores nothing.
        let preview = client
            .submit_fft_responses(outgoing(
                SubmitFftResponsesRequest {
                    responses: batch.clone(),
                    dry_run: true,
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (preview.accepted, preview.duplicates, preview.rejected.len()),
            (8, 1, 1)
        );
        let nothing = client
            .get_fft_summary(outgoing(GetFftSummaryRequest::default(), &analyst))
            .await
            .unwrap()
            .into_inner();
        assert!(
            nothing.months.is_empty(),
            "{backend:?}: a dry run stores nothing"
        );
        let result = client
            .submit_fft_responses(outgoing(
                SubmitFftResponsesRequest {
                    responses: batch.clone(),
                    dry_run: false,
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((result.accepted, result.duplicates), (8, 1), "{backend:?}");
        // Now held: a dry run of the same batch finds nothing new.
        let again = client
            .submit_fft_responses(outgoing(
                SubmitFftResponsesRequest {
                    responses: batch,
                    dry_run: true,
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((again.accepted, again.duplicates), (0, 9));
        assert_eq!(result.rejected.len(), 1);
        assert_eq!(
            (result.rejected[0].index, result.rejected[0].field.as_str()),
            (8, "source")
        );

        // The gateway registers each tenant it adds: only their responses on the topic count.
        let registered = client
            .register_tenant(outgoing(
                RegisterTenantRequest {},
                &svc.token_in_ics("RZA", "QZX", Role::Admin),
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (registered.code.as_str(), registered.icb.as_str()),
            ("RZA", "QZX")
        );
        let refused = client
            .register_tenant(outgoing(RegisterTenantRequest {}, &analyst))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        // A response for a code that is no tenant goes to the .dlq with the reason.
        svc.publish(
            FEEDBACK_RESPONSES,
            "RZQ:sms",
            "RZQ",
            &FftResponseReceived {
                response: Some(response("q1", Good, "2026-11-02")),
            },
        )
        .await;

        // Two November responses by Kafka, one delivered twice.
        let nov = FftResponseReceived {
            response: Some(response("k1", Good, "2026-11-02")),
        };
        let envelope = svc
            .publish(FEEDBACK_RESPONSES, "RZA:sms", "RZA", &nov)
            .await;
        svc.publish_raw(FEEDBACK_RESPONSES, "RZA:sms", &envelope.encode())
            .await;
        svc.publish(
            FEEDBACK_RESPONSES,
            "RZA:sms",
            "RZA",
            &FftResponseReceived {
                response: Some(response("k2", Poor, "2026-11-03")),
            },
        )
        .await;

        let summary = eventually(Duration::from_secs(20), || {
            let mut client = client.clone();
            let request = outgoing(GetFftSummaryRequest::default(), &analyst);
            async move {
                let s = client.get_fft_summary(request).await.ok()?.into_inner();
                (s.months.iter().map(|m| m.total).sum::<u64>() >= 10).then_some(s)
            }
        })
        .await
        .expect("topic responses counted");
        assert_eq!(summary.months.len(), 2);
        let oct = &summary.months[0];
        assert_eq!(oct.month, "2026-10");
        assert_eq!(
            (
                oct.very_good,
                oct.good,
                oct.neither,
                oct.poor,
                oct.very_poor,
                oct.dont_know,
                oct.total
            ),
            (2, 2, 1, 1, 1, 1, 8)
        );
        // (2 + 2) / 8 and (1 + 1) / 8: "Don't know" and "Neither" are in the denominator.
        assert_eq!(oct.percent_positive, Some(50.0));
        assert_eq!(oct.percent_negative, Some(25.0));
        let nov = &summary.months[1];
        assert_eq!(
            (nov.month.as_str(), nov.total, nov.good, nov.poor),
            ("2026-11", 2, 1, 1),
            "{backend:?}: redelivery counted once"
        );

        let only_nov = client
            .get_fft_summary(outgoing(
                GetFftSummaryRequest {
                    from_month: "2026-11".into(),
                    to_month: String::new(),
                    target: Some(80.0),
                    ..Default::default()
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(only_nov.months.len(), 1);
        // November: 1 good of 2 responses, 50% positive, Wilson 95% interval 9.5% to 90.5%.
        let nov = &only_nov.months[0];
        assert!(
            (nov.positive_low_95.unwrap() - 9.45).abs() < 0.01,
            "{nov:?}"
        );
        assert!((nov.positive_high_95.unwrap() - 90.55).abs() < 0.01);
        let chart = only_nov.positive_chart.unwrap();
        assert_eq!(chart.points.len(), 1);
        assert_eq!(chart.points[0].value, 50.0);
        assert_eq!(
            chart.assurance, "none",
            "one point has no limits to assure against"
        );
        assert!(chart.warnings[0].contains("no limits"), "{backend:?}");

        let dead = alongside_events::testing::read_events(
            svc.brokers(),
            "feedback.responses.v1.dlq",
            1,
            Duration::from_secs(20),
        )
        .await;
        assert_eq!(dead.len(), 1, "{backend:?}");
        assert_eq!(dead[0].1.tenant().as_str(), "RZQ");
        let rzq = client
            .get_fft_summary(outgoing(
                GetFftSummaryRequest::default(),
                &svc.token("RZQ", Role::Analyst),
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(
            rzq.months.is_empty(),
            "nothing counted for a code that is no tenant"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chart_is_rebased_where_the_trust_says_the_process_changed() {
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    let analyst = svc.token("RZA", Role::Analyst);
    // 2024: 10 of 20 positive every month (50%); 2025: 19 and 20 of 20 by turns (95%, 100%).
    let mut responses = Vec::new();
    for year in [2024, 2025] {
        for month in 1..=12 {
            let positive = if year == 2024 { 10 } else { 19 + month % 2 };
            for k in 0..20 {
                let answer = if k < positive {
                    FftAnswer::Good
                } else {
                    FftAnswer::Poor
                };
                let on = format!("{year}-{month:02}-{:02}", k + 1);
                responses.push(response(&format!("r{year}-{month}-{k}"), answer, &on));
            }
        }
    }
    client
        .submit_fft_responses(outgoing(
            SubmitFftResponsesRequest {
                responses,
                dry_run: false,
            },
            &analyst,
        ))
        .await
        .unwrap();
    let chart = |rebase: &[&str]| GetFftSummaryRequest {
        rebase_months: rebase.iter().map(|m| m.to_string()).collect(),
        target: Some(80.0),
        ..Default::default()
    };
    let whole = client
        .get_fft_summary(outgoing(chart(&[]), &analyst))
        .await
        .unwrap()
        .into_inner()
        .positive_chart
        .unwrap();
    assert_eq!(whole.points.len(), 24);
    assert!(
        (whole.points[0].mean - 73.75).abs() < 1e-9,
        "one mean over both years: {whole:?}"
    );
    let rebased = client
        .get_fft_summary(outgoing(chart(&["2025-01"]), &analyst))
        .await
        .unwrap()
        .into_inner()
        .positive_chart
        .unwrap();
    assert_eq!(rebased.points[11].mean, 50.0, "the first year's own mean");
    assert!(
        (rebased.points[12].mean - 97.5).abs() < 1e-9,
        "limits start again in 2025-01: {rebased:?}"
    );
    // 2025's limits: 97.5 ± 2.66 × 5, so its lower limit (84.2) is above the target.
    assert_eq!(rebased.assurance, "pass");
    assert_eq!(
        whole.assurance, "hit_or_miss",
        "two years together straddle it"
    );
    assert_eq!(rebased.target, Some(80.0));

    for (rebase, says) in [
        ("2023-06", "2023-06 is not a month on the chart"),
        ("2024-01", "first month charted"),
        ("June", "not a month in the form YYYY-MM"),
    ] {
        let status = client
            .get_fft_summary(outgoing(chart(&[rebase]), &analyst))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().contains("rebase_months") && status.message().contains(says),
            "{rebase}: {status:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusts_see_their_own_figures_and_bad_requests_are_named() {
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    let rza = svc.token("RZA", Role::Analyst);
    let rzb = svc.token("RZB", Role::Analyst);
    client
        .submit_fft_responses(outgoing(
            SubmitFftResponsesRequest {
                dry_run: false,
                responses: vec![response("x", FftAnswer::Good, "2026-11-01")],
            },
            &rza,
        ))
        .await
        .unwrap();
    let theirs = client
        .get_fft_summary(outgoing(GetFftSummaryRequest::default(), &rzb))
        .await
        .unwrap()
        .into_inner();
    assert!(
        theirs.months.is_empty(),
        "another trust's responses are not counted"
    );

    let status = client
        .get_fft_summary(outgoing(
            GetFftSummaryRequest {
                from_month: "November".into(),
                to_month: String::new(),
                ..Default::default()
            },
            &rza,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("from_month"));
    let status = client
        .get_fft_summary(outgoing(
            GetFftSummaryRequest {
                target: Some(120.0),
                ..Default::default()
            },
            &rza,
        ))
        .await
        .unwrap_err();
    assert!(status.message().contains("target"), "{status:?}");

    let status = client
        .submit_fft_responses(outgoing(SubmitFftResponsesRequest::default(), &rza))
        .await
        .unwrap_err();
    assert!(status.message().contains("responses"));

    let partner = svc.token("RZA", Role::Partner);
    let status = client
        .get_fft_summary(outgoing(GetFftSummaryRequest::default(), &partner))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

/// The public web form reaches feedback as a public caller: one web response at a time, no dry
/// runs, and nothing to read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_form_sends_one_web_response_and_reads_nothing() {
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    let public = svc.token("RZA", Role::Public);
    let web = |id: &str| FftResponse {
        source: "web".into(),
        worked_well: "Kind reception staff".into(),
        ..response(id, FftAnswer::Good, "2026-11-20")
    };
    let send = |responses: Vec<FftResponse>, dry_run: bool| SubmitFftResponsesRequest {
        responses,
        dry_run,
    };
    let ok = client
        .submit_fft_responses(outgoing(send(vec![web("w1")], false), &public))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.accepted, 1);
    for (request, why) in [
        (send(vec![web("w2"), web("w3")], false), "two at once"),
        (send(vec![web("w4")], true), "a dry run"),
        (
            send(vec![response("w5", FftAnswer::Good, "2026-11-20")], false),
            "another source",
        ),
    ] {
        let refused = client
            .submit_fft_responses(outgoing(request, &public))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{why}");
    }
    let read = client
        .get_fft_summary(outgoing(GetFftSummaryRequest::default(), &public))
        .await
        .unwrap_err();
    assert_eq!(read.code(), Code::PermissionDenied);
    let analyst = svc.token("RZA", Role::Analyst);
    let summary = client
        .get_fft_summary(outgoing(GetFftSummaryRequest::default(), &analyst))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        summary.months[0].total, 1,
        "only the one web response was stored"
    );
}

fn prom(id: &str, instrument: &str, episode: &str, on: &str, items: Vec<u32>) -> PromResponse {
    PromResponse {
        response_id: id.into(),
        instrument: instrument.into(),
        episode_id: episode.into(),
        completed_on: on.into(),
        items,
        pathway: "msk".into(),
        source: "paper".into(),
    }
}

/// MSK-HQ change between each episode's first and latest questionnaire, SURE's decisional
/// conflict, bad rows named, a response id counted once, and figures of few patients withheld.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proms_are_scored_paired_and_summarised() {
    for backend in backends() {
        let svc = TestService::start("feedback", backend, alongside_feedback::start).await;
        common::list_places(&svc, "RZA", &[("pathway", "msk")]).await;
        let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
        let analyst = svc.token("RZA", Role::Analyst);
        let mut batch = Vec::new();
        // Five episodes: 20 → 30 (+10) four times, 40 → 38 (-2) once.
        for e in 0..5 {
            let (first, latest) = if e < 4 { (20, 30) } else { (40, 38) };
            let spread = |total: u32| {
                let mut items = vec![total / 14; 14];
                for item in items.iter_mut().take((total % 14) as usize) {
                    *item += 1;
                }
                items
            };
            batch.push(prom(
                &format!("m{e}a"),
                "msk_hq",
                &format!("EP-{e}"),
                "2026-09-01",
                spread(first),
            ));
            batch.push(prom(
                &format!("m{e}b"),
                "msk_hq",
                &format!("EP-{e}"),
                "2026-11-01",
                spread(latest),
            ));
        }
        for (k, items) in [
            [1, 1, 1, 1],
            [1, 0, 1, 1],
            [1, 1, 1, 1],
            [0, 0, 1, 1],
            [1, 1, 1, 1],
        ]
        .iter()
        .enumerate()
        {
            batch.push(prom(
                &format!("s{k}"),
                "sure",
                &format!("EP-{k}"),
                "2026-10-01",
                items.to_vec(),
            ));
        }
        batch.push(prom(
            "bad1",
            "msk_hq",
            "943 476 5919",
            "2026-10-01",
            vec![4; 14],
        ));
        batch.push(prom("bad2", "msk_hq", "EP-9", "2026-10-01", vec![4; 13]));
        batch.push(prom("m0a", "msk_hq", "EP-0", "2026-09-01", vec![1; 14])); // sent again
        let preview = client
            .submit_prom_responses(outgoing(
                SubmitPromResponsesRequest {
                    responses: batch.clone(),
                    dry_run: true,
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (preview.accepted, preview.duplicates, preview.rejected.len()),
            (15, 1, 2),
            "{backend:?}: a dry run counts the repeat within the batch"
        );
        let result = client
            .submit_prom_responses(outgoing(
                SubmitPromResponsesRequest {
                    responses: batch.clone(),
                    dry_run: false,
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((result.accepted, result.duplicates), (15, 1), "{backend:?}");
        let again = client
            .submit_prom_responses(outgoing(
                SubmitPromResponsesRequest {
                    responses: batch,
                    dry_run: true,
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (again.accepted, again.duplicates),
            (0, 16),
            "{backend:?}: a dry run after storing finds every one held"
        );
        let fields: Vec<(u32, &str)> = result
            .rejected
            .iter()
            .map(|e| (e.index, e.field.as_str()))
            .collect();
        assert_eq!(fields, [(15, "episode_id"), (16, "items")]);
        assert!(result.rejected[0].reason.contains("NHS number"));

        let summary = client
            .get_prom_summary(outgoing(GetPromSummaryRequest::default(), &analyst))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (summary.msk_hq_responses, summary.msk_hq_episodes_paired),
            (Some(10), Some(5))
        );
        assert_eq!(summary.msk_hq_threshold, 6, "the default");
        assert!(
            (summary.msk_hq_mean_change.unwrap() - 7.6).abs() < 1e-9,
            "{summary:?}"
        );
        assert_eq!(summary.msk_hq_improved, Some(0.8));
        assert_eq!(summary.msk_hq_worsened, Some(0.0));
        assert_eq!(summary.sure_responses, Some(5));
        assert_eq!(summary.sure_conflict, Some(0.4));
        assert_eq!(summary.pathways, ["msk"]);
        assert!(!summary.msk_hq_withheld && !summary.sure_withheld);

        let narrow = client
            .get_prom_summary(outgoing(
                GetPromSummaryRequest {
                    to: "2026-09-30".into(),
                    msk_hq_threshold: 12,
                    ..Default::default()
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (narrow.msk_hq_responses, narrow.msk_hq_episodes_paired),
            (Some(5), Some(0))
        );
        let few = client
            .get_prom_summary(outgoing(
                GetPromSummaryRequest {
                    from: "2026-10-01".into(),
                    to: "2026-10-31".into(),
                    ..Default::default()
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        // No MSK-HQ in October; the five SURE in it are enough to show.
        assert_eq!(few.msk_hq_responses, Some(0));
        assert!(few.sure_conflict.is_some());
        let elsewhere = client
            .get_prom_summary(outgoing(
                GetPromSummaryRequest::default(),
                &svc.token("RZB", Role::Analyst),
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            elsewhere.msk_hq_responses,
            Some(0),
            "{backend:?}: another trust sees none"
        );
        let public = client
            .submit_prom_responses(outgoing(
                SubmitPromResponsesRequest::default(),
                &svc.token("RZA", Role::Public),
            ))
            .await
            .unwrap_err();
        assert_eq!(public.code(), Code::PermissionDenied);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prom_figures_of_few_patients_are_withheld() {
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    common::list_places(&svc, "RZA", &[("pathway", "msk")]).await;
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    let analyst = svc.token("RZA", Role::Analyst);
    let batch = vec![
        prom("a", "msk_hq", "EP-1", "2026-09-01", vec![1; 14]),
        prom("b", "msk_hq", "EP-1", "2026-11-01", vec![3; 14]),
        prom("c", "sure", "EP-1", "2026-10-01", vec![1, 0, 1, 1]),
    ];
    client
        .submit_prom_responses(outgoing(
            SubmitPromResponsesRequest {
                responses: batch,
                dry_run: false,
            },
            &analyst,
        ))
        .await
        .unwrap();
    let summary = client
        .get_prom_summary(outgoing(GetPromSummaryRequest::default(), &analyst))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (summary.msk_hq_responses, summary.msk_hq_episodes_paired),
        (None, None),
        "one questionnaire a month, and one follow-up: hidden whole, their numbers too"
    );
    assert!(
        summary.msk_hq_withheld
            && summary.msk_hq_mean_change.is_none()
            && summary.msk_hq_mean_total.is_none()
    );
    assert!(summary.sure_withheld && summary.sure_conflict.is_none());

    // Five more in October: the three months hold 7, but September's and November's one
    // each are hidden on the stream, so the period's figures are hidden too (they less
    // October's would give those two back), from everyone: nobody reads the questionnaires.
    let october: Vec<PromResponse> = (2..7)
        .map(|e| {
            prom(
                &format!("o{e}"),
                "msk_hq",
                &format!("EP-{e}"),
                "2026-10-01",
                vec![2; 14],
            )
        })
        .collect();
    client
        .submit_prom_responses(outgoing(
            SubmitPromResponsesRequest {
                responses: october,
                dry_run: false,
            },
            &analyst,
        ))
        .await
        .unwrap();
    let summary_for = |token: String, from: &str, to: &str| {
        let mut client = client.clone();
        let request = GetPromSummaryRequest {
            from: from.into(),
            to: to.into(),
            ..Default::default()
        };
        async move {
            client
                .get_prom_summary(outgoing(request, &token))
                .await
                .unwrap()
                .into_inner()
        }
    };
    let analysts = summary_for(analyst.clone(), "", "").await;
    assert_eq!(analysts.msk_hq_responses, None);
    assert_eq!(analysts.msk_hq_mean_total, None, "a small month within");
    let lead = svc.token("RZA", Role::EngagementLead);
    let leads = summary_for(lead, "", "").await;
    assert_eq!(leads.msk_hq_mean_total, None);
    // Periods are whole months: mid-October is all October.
    let october = summary_for(analyst.clone(), "2026-10-15", "2026-10-20").await;
    assert_eq!(october.msk_hq_responses, Some(5));
    assert_eq!(october.msk_hq_mean_total, Some(28.0));
}

/// The places the tagged responses name.
const PLACES: [(&str, &str); 8] = [
    ("site", "Site A"),
    ("site", "Site B"),
    ("site", "Site C"),
    ("site", "Site D"),
    ("site", "Site E"),
    ("locality", "North"),
    ("pathway", "MSK"),
    ("pathway", "Stroke"),
];

fn tagged(id: &str, answer: FftAnswer, site: &str, pathway: &str) -> FftResponse {
    FftResponse {
        site: site.into(),
        pathway: pathway.into(),
        locality: "North".into(),
        ..response(id, answer, "2026-10-05")
    }
}

/// Breakdowns by place and by who answered, from the rollups, with NHS England's suppression.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breakdowns_by_place_and_by_who_answered_are_suppressed_as_published() {
    for backend in backends() {
        let svc = TestService::start("feedback", backend, alongside_feedback::start).await;
        common::list_places(&svc, "RZA", &PLACES).await;
        let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
        let analyst = svc.token("RZA", Role::Analyst);
        let mut batch = Vec::new();
        // Site A: 10 responses, 8 positive. Site B: 6, 3 positive. Site C: 2 (primary).
        for i in 0..10 {
            let answer = if i < 8 {
                FftAnswer::VeryGood
            } else {
                FftAnswer::Poor
            };
            batch.push(tagged(&format!("a{i}"), answer, "Site A", "MSK"));
        }
        for i in 0..6 {
            let answer = if i < 3 {
                FftAnswer::Good
            } else {
                FftAnswer::Neither
            };
            batch.push(tagged(&format!("b{i}"), answer, "Site B", "Stroke"));
        }
        for i in 0..2 {
            batch.push(tagged(&format!("c{i}"), FftAnswer::Good, "Site C", "MSK"));
        }
        for i in 0..7 {
            let mut r = response(&format!("e{i}"), FftAnswer::Good, "2026-10-06");
            r.respondent = Some(Respondent {
                consent: true,
                age_band: if i < 5 { "65_74" } else { "under_16" }.into(),
                sex: "female".into(),
                ethnic_group: String::new(),
                imd_decile: 2,
            });
            batch.push(r);
        }
        let sent = client
            .submit_fft_responses(outgoing(
                SubmitFftResponsesRequest {
                    responses: batch.clone(),
                    dry_run: false,
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(sent.accepted, 25, "{backend:?}: {:?}", sent.rejected);
        // Sent again: the rollups do not count anything twice.
        client
            .submit_fft_responses(outgoing(
                SubmitFftResponsesRequest {
                    responses: batch,
                    dry_run: false,
                },
                &analyst,
            ))
            .await
            .unwrap();

        let by_site = client
            .get_fft_breakdown(outgoing(
                GetFftBreakdownRequest {
                    by: "site".into(),
                    ..Default::default()
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        let row = |value: &str| {
            by_site
                .rows
                .iter()
                .find(|r| r.value == value)
                .unwrap()
                .clone()
        };
        assert_eq!(by_site.all.as_ref().unwrap().total, Some(25));
        let a = row("Site A");
        assert_eq!(
            (a.total, a.very_good, a.poor),
            (Some(10), Some(8), Some(2)),
            "{backend:?}"
        );
        assert_eq!(a.percent_positive, Some(80.0));
        let c = row("Site C");
        assert_eq!((c.total, c.suppression.as_str()), (Some(2), "primary"));
        assert_eq!(
            (c.good, c.percent_positive),
            (None, None),
            "1 to 4 responses are hidden"
        );
        // Site C is rank 1 and primary; the next smallest (Site B, 6) is hidden too.
        let b = row("Site B");
        assert_eq!((b.suppression.as_str(), b.good), ("secondary", None));
        assert_eq!(
            b.percent_positive,
            Some(50.0),
            "secondary hides counts, not percentages"
        );
        assert_eq!(
            row("").total,
            Some(7),
            "responses without a site are a row of their own"
        );
        let places = client
            .list_fft_places(outgoing(ListFftPlacesRequest {}, &analyst))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(places.sites, ["Site A", "Site B", "Site C"]);
        assert_eq!(places.pathways, ["MSK", "Stroke"]);

        let msk = client
            .get_fft_summary(outgoing(
                GetFftSummaryRequest {
                    filter: Some(FftFilter {
                        pathway: "MSK".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(msk.months.iter().map(|m| m.total).sum::<u64>(), 12);

        let by_age = client
            .get_fft_breakdown(outgoing(
                GetFftBreakdownRequest {
                    by: "age_band".into(),
                    ..Default::default()
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        let ages: Vec<(String, u64, String)> = by_age
            .rows
            .iter()
            .map(|r| {
                (
                    r.value.clone(),
                    r.total.unwrap_or_default(),
                    r.suppression.clone(),
                )
            })
            .collect();
        assert_eq!(
            ages,
            [
                ("65_74".to_string(), 5, "secondary".to_string()),
                ("under_16".to_string(), 2, "primary".to_string())
            ],
            "only responses given with consent are in the equity view"
        );
        let refused = client
            .get_fft_breakdown(outgoing(
                GetFftBreakdownRequest {
                    by: "ethnic_group".into(),
                    filter: Some(FftFilter {
                        site: "Site A".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                &analyst,
            ))
            .await
            .unwrap_err();
        assert!(
            refused.message().contains("by period only"),
            "{}",
            refused.message()
        );
        let bad = client
            .get_fft_breakdown(outgoing(
                GetFftBreakdownRequest {
                    by: "ward".into(),
                    from_month: "Oct".into(),
                    ..Default::default()
                },
                &analyst,
            ))
            .await
            .unwrap_err();
        assert!(bad.message().contains("by") && bad.message().contains("from_month"));

        let theirs = client
            .get_fft_breakdown(outgoing(
                GetFftBreakdownRequest {
                    by: "site".into(),
                    ..Default::default()
                },
                &svc.token("RZB", Role::Analyst),
            ))
            .await
            .unwrap()
            .into_inner();
        let their_places = client
            .list_fft_places(outgoing(
                ListFftPlacesRequest {},
                &svc.token("RZB", Role::Analyst),
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(
            theirs.rows.is_empty() && their_places.sites.is_empty(),
            "another trust sees none"
        );
    }
}

/// Batches stored at once share rollup rows; none is refused (a deadlock would abort one on
/// PostgreSQL) and every response is counted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_stored_at_once_are_all_counted() {
    for backend in backends() {
        let svc = TestService::start("feedback", backend, alongside_feedback::start).await;
        common::list_places(&svc, "RZA", &PLACES).await;
        let client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
        let analyst = svc.token("RZA", Role::Analyst);
        let answers = [FftAnswer::VeryGood, FftAnswer::Good, FftAnswer::Poor];
        let sites = ["Site A", "Site B", "Site C", "Site D", "Site E"];
        let calls = (0..4).map(|b| {
            let mut client = client.clone();
            // Each batch lists the shared places in its own order.
            let batch: Vec<FftResponse> = (0..600)
                .map(|i| {
                    let k = (i * (b + 1) * 7) % 600;
                    FftResponse {
                        responded_on: format!("2026-{:02}-10", 1 + k % 9),
                        ..tagged(
                            &format!("b{b}-{i}"),
                            answers[k % 3],
                            sites[k % 5],
                            ["MSK", "Stroke"][k % 2],
                        )
                    }
                })
                .collect();
            let request = outgoing(
                SubmitFftResponsesRequest {
                    responses: batch,
                    dry_run: false,
                },
                &analyst,
            );
            async move { client.submit_fft_responses(request).await }
        });
        let results = futures::future::join_all(calls).await;
        for result in results {
            let result = result.unwrap_or_else(|e| panic!("{backend:?}: a batch refused: {e}"));
            assert_eq!(result.into_inner().accepted, 600, "{backend:?}");
        }
        let summary = client
            .clone()
            .get_fft_summary(outgoing(GetFftSummaryRequest::default(), &analyst))
            .await
            .unwrap()
            .into_inner();
        let total: u64 = summary.months.iter().map(|m| m.total).sum();
        assert_eq!(total, 2_400, "{backend:?}: every response counted once");
        let by_site = client
            .clone()
            .get_fft_breakdown(outgoing(
                GetFftBreakdownRequest {
                    by: "site".into(),
                    ..Default::default()
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        let sum: u64 = by_site.rows.iter().filter_map(|r| r.total).sum();
        assert_eq!(sum, 2_400, "{backend:?}: the cube agrees");
    }
}
