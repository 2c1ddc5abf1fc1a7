//! Comments over real gRPC, on SQLite and PostgreSQL: labelled by the themes model as they
//! arrive, read only by staff, corrected, counted, and a trust's model retrained with its
//! corrections in the background.

use std::time::Duration;

use alongside_events::testing::{eventually, TestService};
use alongside_platform::grpc::outgoing;
use alongside_platform::testing::{backends, Backend};
use alongside_platform::Role;
use alongside_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use alongside_proto::feedback::v1::*;
use tonic::Code;

mod common;

fn with_comments(
    id: &str,
    answer: FftAnswer,
    worked_well: &str,
    could_improve: &str,
) -> FftResponse {
    FftResponse {
        response_id: id.into(),
        source: "web".into(),
        answer: answer as i32,
        responded_on: "2026-11-02".into(),
        worked_well: worked_well.into(),
        could_improve: could_improve.into(),
        ..Default::default()
    }
}

fn batch() -> Vec<FftResponse> {
    vec![
        FftResponse {
            pathway: "Maternity".into(),
            ..with_comments(
                "r1",
                FftAnswer::VeryGood,
                "The nurses were so kind and caring, thank you all",
                "",
            )
        },
        with_comments(
            "r2",
            FftAnswer::Poor,
            "",
            "Waited over four hours for the ambulance to arrive",
        ),
        with_comments(
            "r3",
            FftAnswer::Good,
            "Lovely food and a clean ward",
            "The car park is far too expensive",
        ),
        with_comments("r4", FftAnswer::Good, "", ""),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_are_labelled_on_arrival_read_by_staff_and_counted_for_analysts() {
    for backend in backends() {
        let svc = TestService::start("feedback", backend, alongside_feedback::start).await;
        common::list_places(&svc, "RZA", &[("pathway", "Maternity")]).await;
        let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
        let staff = svc.token("RZA", Role::Staff);
        let analyst = svc.token("RZA", Role::Analyst);
        for _ in 0..2 {
            client
                .submit_fft_responses(outgoing(
                    SubmitFftResponsesRequest {
                        responses: batch(),
                        dry_run: false,
                    },
                    &staff,
                ))
                .await
                .unwrap();
        }
        let list = client
            .list_comments(outgoing(ListCommentsRequest::default(), &staff))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            list.total, 4,
            "{backend:?}: four comments, the batch sent twice counted once"
        );
        let of = |text: &str| {
            list.comments
                .iter()
                .find(|c| c.text.starts_with(text))
                .unwrap()
        };
        let kind = of("The nurses");
        assert_eq!(kind.question, "worked_well");
        assert!(
            kind.categories.contains(&"staff_manner".to_string()),
            "{kind:?}"
        );
        assert_eq!(kind.sentiment, 1);
        assert_eq!(kind.labelled_by, "model");
        assert!(of("Waited").categories.contains(&"timeliness".to_string()));
        assert_eq!(of("Waited").question, "could_improve");

        let waits = client
            .list_comments(outgoing(
                ListCommentsRequest {
                    category: "timeliness".into(),
                    ..Default::default()
                },
                &staff,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(waits.total, 1);
        let access = client
            .list_comments(outgoing(
                ListCommentsRequest {
                    major: "Access to medical care & support".into(),
                    ..Default::default()
                },
                &staff,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(access.comments.iter().any(|c| c.text.starts_with("Waited")));

        // Analysts count; they do not read. Nor do administrators: comments are case notes.
        for token in [&analyst, &svc.token("RZA", Role::Admin)] {
            let denied = client
                .list_comments(outgoing(ListCommentsRequest::default(), token))
                .await
                .unwrap_err();
            assert_eq!(denied.code(), Code::PermissionDenied);
            let denied = client
                .list_complaints(outgoing(ListComplaintsRequest::default(), token))
                .await
                .unwrap_err();
            assert_eq!(denied.code(), Code::PermissionDenied);
        }
        // Staff, who read the comments, count them as they are.
        let summary = client
            .get_theme_summary(outgoing(GetThemeSummaryRequest::default(), &staff))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(summary.comments, 4);
        let staff_manner = summary
            .categories
            .iter()
            .find(|c| c.code == "staff_manner")
            .unwrap();
        assert_eq!((staff_manner.comments, staff_manner.positive), (1, 1));
        assert_eq!(summary.categories.len(), 33, "every category, with zeros");
        assert_eq!(summary.sentiment.iter().sum::<u64>(), 4);
        // One pathway's comments only: an MDT's themes.
        let maternity = client
            .get_theme_summary(outgoing(
                GetThemeSummaryRequest {
                    pathway: "Maternity".into(),
                    ..Default::default()
                },
                &staff,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(maternity.comments, 1, "{backend:?}");
        let kind_staff = maternity
            .categories
            .iter()
            .find(|c| c.code == "staff_manner")
            .unwrap();
        assert_eq!(kind_staff.comments, 1);
        let counted: Vec<&str> = maternity
            .categories
            .iter()
            .filter(|c| c.comments > 0)
            .map(|c| c.code.as_str())
            .collect();
        assert_eq!(
            counted, kind.categories,
            "exactly the themes of the one Maternity comment"
        );
        assert!(
            summary.categories.iter().filter(|c| c.comments > 0).count() > counted.len(),
            "the other comments' themes are the trust's, not Maternity's"
        );

        // Analysts and administrators, who do not read comments, are not told what a month
        // of 1 to 4 comments was about, nor their sentiment: only how many there were.
        for token in [&analyst, &svc.token("RZA", Role::Admin)] {
            let figures = client
                .get_theme_summary(outgoing(GetThemeSummaryRequest::default(), token))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(figures.comments, 4);
            assert!(figures.sentiment_hidden && figures.sentiment.iter().all(|&n| n == 0));
            let told: Vec<&ThemeCount> = figures
                .categories
                .iter()
                .filter(|c| c.comments > 0 || c.positive + c.neutral + c.negative > 0)
                .collect();
            assert!(told.is_empty(), "{told:?}");
            let staff_manner = figures
                .categories
                .iter()
                .find(|c| c.code == "staff_manner")
                .unwrap();
            assert!(staff_manner.hidden && staff_manner.sentiment_hidden);
            let never_mentioned = figures
                .categories
                .iter()
                .find(|c| c.code == "labelling_not_possible")
                .unwrap();
            assert!(!never_mentioned.hidden, "none is not a small number");
        }

        // Another trust reads nothing and changes nothing.
        let other = svc.token("RZB", Role::Staff);
        let theirs = client
            .list_comments(outgoing(ListCommentsRequest::default(), &other))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(theirs.total, 0);
        let missing = client
            .correct_comment(outgoing(
                CorrectCommentRequest {
                    id: kind.id.clone(),
                    categories: vec!["staff_manner".into()],
                    sentiment: 5,
                },
                &other,
            ))
            .await
            .unwrap_err();
        assert_eq!(missing.code(), Code::NotFound, "{backend:?}");
        let missing = client
            .get_comment(outgoing(
                GetCommentRequest {
                    id: kind.id.clone(),
                },
                &other,
            ))
            .await
            .unwrap_err();
        assert_eq!(missing.code(), Code::NotFound);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrections_are_checked_kept_and_counted() {
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    let staff = svc.token("RZA", Role::Staff);
    client
        .submit_fft_responses(outgoing(
            SubmitFftResponsesRequest {
                responses: batch(),
                dry_run: false,
            },
            &staff,
        ))
        .await
        .unwrap();
    let list = client
        .list_comments(outgoing(
            ListCommentsRequest {
                sort: "oldest".into(),
                ..Default::default()
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner();
    let parking = list
        .comments
        .iter()
        .find(|c| c.text.contains("car park"))
        .unwrap();
    let correct = |categories: &[&str], sentiment: u32| CorrectCommentRequest {
        id: parking.id.clone(),
        categories: categories.iter().map(|c| c.to_string()).collect(),
        sentiment,
    };
    for (request, field) in [
        (
            correct(&["parking", "no_such_theme"], 4),
            "no_such_theme is not a category",
        ),
        (correct(&[], 4), "choose at least one"),
        (
            correct(&["parking", "not_assigned"], 4),
            "cannot be given with other categories",
        ),
        (correct(&["parking"], 0), "choose a sentiment"),
        (
            correct(&["parking", "parking"], 4),
            "parking is given twice",
        ),
    ] {
        let status = client
            .correct_comment(outgoing(request, &staff))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains(field), "{}", status.message());
    }
    let corrected = client
        .correct_comment(outgoing(correct(&["parking", "funding"], 5), &staff))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(corrected.categories, ["parking", "funding"]);
    assert_eq!(
        (corrected.sentiment, corrected.labelled_by.as_str()),
        (5, "staff")
    );
    assert!(
        !corrected.model_categories.is_empty(),
        "what the model said is kept"
    );
    assert!(!corrected.corrected_at.is_empty());
    let summary = client
        .get_theme_summary(outgoing(GetThemeSummaryRequest::default(), &staff))
        .await
        .unwrap()
        .into_inner();
    let funding = summary
        .categories
        .iter()
        .find(|c| c.code == "funding")
        .unwrap();
    assert_eq!(
        (funding.comments, funding.negative),
        (1, 1),
        "counts follow the correction"
    );
    assert_eq!(summary.corrected, 1);
    let staff_only = client
        .list_comments(outgoing(
            ListCommentsRequest {
                labelled_by: "staff".into(),
                ..Default::default()
            },
            &staff,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(staff_only.total, 1);
    let bad = client
        .list_comments(outgoing(
            ListCommentsRequest {
                category: "wards".into(),
                page_size: 500,
                ..Default::default()
            },
            &staff,
        ))
        .await
        .unwrap_err();
    assert!(
        bad.message().contains("category") && bad.message().contains("page_size"),
        "{}",
        bad.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trust_retrains_with_its_corrections_and_its_comments_are_relabelled() {
    for backend in backends() {
        let svc = TestService::start("feedback", backend, alongside_feedback::start).await;
        common::list_places(&svc, "RZA", &[("pathway", "Maternity")]).await;
        let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
        let lead = svc.token("RZA", Role::EngagementLead);
        let staff = svc.token("RZA", Role::Staff);
        client
            .submit_fft_responses(outgoing(
                SubmitFftResponsesRequest {
                    responses: batch(),
                    dry_run: false,
                },
                &staff,
            ))
            .await
            .unwrap();
        let refused = client
            .retrain_themes(outgoing(RetrainThemesRequest {}, &lead))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::AlreadyExists);
        assert!(
            refused.message().contains("no corrections"),
            "{}",
            refused.message()
        );
        let denied = client
            .retrain_themes(outgoing(RetrainThemesRequest {}, &staff))
            .await
            .unwrap_err();
        assert_eq!(
            denied.code(),
            Code::PermissionDenied,
            "staff correct; leads retrain"
        );

        let before = client
            .get_theme_model(outgoing(GetThemeModelRequest {}, &staff))
            .await
            .unwrap()
            .into_inner();
        assert!(before.version.starts_with("shipped-"));
        assert!(before.micro_f1 > 0.7 && before.micro_f1 == before.shipped_micro_f1);
        assert_eq!((before.labelled, before.to_label), (4, 0));

        let list = client
            .list_comments(outgoing(ListCommentsRequest::default(), &staff))
            .await
            .unwrap()
            .into_inner();
        let parking = list
            .comments
            .iter()
            .find(|c| c.text.contains("car park"))
            .unwrap();
        client
            .correct_comment(outgoing(
                CorrectCommentRequest {
                    id: parking.id.clone(),
                    categories: vec!["parking".into()],
                    sentiment: 5,
                },
                &staff,
            ))
            .await
            .unwrap();
        let queued = client
            .retrain_themes(outgoing(RetrainThemesRequest {}, &lead))
            .await
            .unwrap()
            .into_inner();
        let job = queued.training.unwrap();
        assert!(
            matches!(job.status.as_str(), "queued" | "running"),
            "{job:?}"
        );
        let again = client
            .retrain_themes(outgoing(RetrainThemesRequest {}, &lead))
            .await;
        if let Err(status) = again {
            assert!(
                status.message().contains("already under way"),
                "{}",
                status.message()
            );
        }

        // Training takes seconds; wait for it and for the relabelling, however slow the machine.
        let done = eventually(Duration::from_secs(600), || {
            let mut client = client.clone();
            let staff = staff.clone();
            async move {
                let status = client
                    .get_theme_model(outgoing(GetThemeModelRequest {}, &staff))
                    .await
                    .ok()?
                    .into_inner();
                let finished = status.training.as_ref().is_some_and(|t| {
                    // Done, and the comments (labelled as they arrived) all relabelled since.
                    t.status == "failed"
                        || (t.status == "done" && status.to_label == 0 && status.labelled > 0)
                });
                finished.then_some(status)
            }
        })
        .await
        .expect("the retraining finishes and every comment is relabelled");
        let training = done.training.clone().unwrap();
        assert_eq!(training.status, "done", "{backend:?}: {training:?}");
        assert_eq!((training.done, training.corrections), (training.total, 1));
        assert_eq!(done.version, training.id);
        assert!(done
            .description
            .contains("1 of this trust's corrected comments"));
        assert!(
            done.micro_f1 > 0.6,
            "evaluated on the public test split: {done:?}"
        );
        assert_eq!(
            (done.labelled, done.corrections),
            (3, 1),
            "three relabelled, one corrected"
        );
        let kept = client
            .get_comment(outgoing(
                GetCommentRequest {
                    id: parking.id.clone(),
                },
                &staff,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (kept.categories, kept.labelled_by.as_str()),
            (vec!["parking".to_string()], "staff")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysts_see_a_theme_only_where_no_month_of_it_had_one_to_four() {
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    let staff = svc.token("RZA", Role::Staff);
    let analyst = svc.token("RZA", Role::Analyst);
    // October: six comments about kind nurses; November: two.
    client
        .submit_fft_responses(outgoing(
            SubmitFftResponsesRequest {
                responses: kind_nurses(&[("2026-10", 6), ("2026-11", 2)]),
                dry_run: false,
            },
            &staff,
        ))
        .await
        .unwrap();
    let theme = |from: &str, to: &str, token: String| {
        let mut client = client.clone();
        let request = GetThemeSummaryRequest {
            from_month: from.into(),
            to_month: to.into(),
            ..Default::default()
        };
        async move {
            let summary = client
                .get_theme_summary(outgoing(request, &token))
                .await
                .unwrap()
                .into_inner();
            let kind = summary
                .categories
                .into_iter()
                .find(|c| c.code == "staff_manner")
                .unwrap();
            (summary.comments, kind.hidden, kind.comments)
        }
    };
    assert_eq!(
        theme("2026-10", "2026-10", analyst.clone()).await,
        (6, false, 6),
        "six in October: shown"
    );
    // Any period holding November hides it, so October–November less October says nothing.
    assert_eq!(
        theme("2026-10", "2026-11", analyst.clone()).await,
        (8, true, 0)
    );
    assert_eq!(
        theme("2026-11", "2026-11", analyst.clone()).await,
        (2, true, 0)
    );
    assert_eq!(
        theme("2026-10", "2026-11", staff.clone()).await,
        (8, false, 8),
        "staff, who read the comments, count them all"
    );
}

/// `n` comments about kind nurses in each of the months given.
fn kind_nurses(months: &[(&str, usize)]) -> Vec<FftResponse> {
    let mut responses = Vec::new();
    for (month, n) in months {
        for i in 0..*n {
            responses.push(FftResponse {
                responded_on: format!("{month}-0{}", i + 1),
                ..with_comments(
                    &format!("{month}-{i}"),
                    FftAnswer::VeryGood,
                    "The nurses were so kind and caring, thank you all",
                    "",
                )
            });
        }
    }
    responses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ics_reads_its_trusts_themes_added_up_by_feedback_hidden_when_any_trusts_is() {
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    // RZA: six in October; RZB: five in October and two in November.
    for (trust, months) in [
        ("RZA", vec![("2026-10", 6)]),
        ("RZB", vec![("2026-10", 5), ("2026-11", 2)]),
    ] {
        client
            .submit_fft_responses(outgoing(
                SubmitFftResponsesRequest {
                    responses: kind_nurses(&months),
                    dry_run: false,
                },
                &svc.token(trust, Role::Staff),
            ))
            .await
            .unwrap();
    }
    let ics = svc.token_in_ics("RZA", "QZX", Role::IcsAnalyst);
    let ask = |from: &str, to: &str, token: &str| {
        let mut client = client.clone();
        let request = GetThemeSummaryRequest {
            from_month: from.into(),
            to_month: to.into(),
            pathway: String::new(),
            trusts: vec!["RZA".into(), "RZB".into()],
        };
        let token = token.to_string();
        async move { client.get_theme_summary(outgoing(request, &token)).await }
    };
    let kind = |s: &ThemeSummary| {
        let c = s
            .categories
            .iter()
            .find(|c| c.code == "staff_manner")
            .unwrap();
        (s.comments, c.hidden, c.comments)
    };
    let october = ask("2026-10", "2026-10", &ics).await.unwrap().into_inner();
    assert_eq!(
        kind(&october),
        (11, false, 11),
        "both trusts' Octobers added up"
    );
    let each: Vec<(String, (u64, bool, u64))> = october
        .trusts
        .iter()
        .map(|t| (t.trust.clone(), kind(t.summary.as_ref().unwrap())))
        .collect();
    assert_eq!(
        each,
        [
            ("RZA".to_string(), (6, false, 6)),
            ("RZB".to_string(), (5, false, 5))
        ]
    );
    // RZB's November had two: hidden for RZB, so for the sum too, though RZA's is shown.
    let autumn = ask("2026-10", "2026-11", &ics).await.unwrap().into_inner();
    assert_eq!(kind(&autumn), (13, true, 0));
    let each: Vec<(bool, u64)> = autumn
        .trusts
        .iter()
        .map(|t| {
            let (_, hidden, n) = kind(t.summary.as_ref().unwrap());
            (hidden, n)
        })
        .collect();
    assert_eq!(each, [(false, 6), (true, 0)]);
    // A trust's analyst names no other trusts.
    let refused = ask("2026-10", "2026-10", &svc.token("RZA", Role::Analyst))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("trusts"),
        "{}",
        refused.message()
    );
}
