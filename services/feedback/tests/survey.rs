//! The trust's survey over real gRPC, on SQLite and PostgreSQL: choosing its questions, answers
//! checked against them, counted once, kept when a question stops being asked, and one trust's
//! survey not another's.

use alongside_events::testing::TestService;
use alongside_platform::grpc::outgoing;
use alongside_platform::testing::backends;
use alongside_platform::Role;
use alongside_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use alongside_proto::feedback::v1::*;
use tonic::Code;

fn response(id: &str, answers: &[(&str, &str)]) -> FftResponse {
    FftResponse {
        response_id: id.into(),
        source: "web".into(),
        answer: FftAnswer::Good as i32,
        responded_on: "2026-11-02".into(),
        answers: answers
            .iter()
            .map(|(q, a)| (q.to_string(), a.to_string()))
            .collect(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trust_chooses_its_questions_and_their_answers_are_counted() {
    for backend in backends() {
        let svc = TestService::start("feedback", backend, alongside_feedback::start).await;
        let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
        let lead = svc.token("RZA", Role::EngagementLead);
        let analyst = svc.token("RZA", Role::Analyst);

        let fresh = client
            .get_survey(outgoing(GetSurveyRequest {}, &analyst))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(fresh.fft_question, alongside_proto::FFT_QUESTION);
        assert!(
            fresh.questions.iter().all(|q| q.standard && !q.asked),
            "nothing more is asked until the trust chooses"
        );

        let status = client
            .update_survey(outgoing(UpdateSurveyRequest::default(), &analyst))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "leads choose");
        let status = client
            .update_survey(outgoing(
                UpdateSurveyRequest {
                    standard: vec!["parking".into()],
                    own: vec![SurveyQuestion {
                        text: String::new(),
                        scale: "stars".into(),
                        ..Default::default()
                    }],
                },
                &lead,
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        for says in [
            "standard: \"parking\" is not a standard question",
            "own[0].text: is required",
            "own[0].scale: must be agreement or rating",
        ] {
            assert!(status.message().contains(says), "{says}: {status:?}");
        }

        let survey = client
            .update_survey(outgoing(
                UpdateSurveyRequest {
                    standard: vec!["booking".into()],
                    own: vec![SurveyQuestion {
                        text: "How was the waiting area?".into(),
                        scale: "rating".into(),
                        ..Default::default()
                    }],
                },
                &lead,
            ))
            .await
            .unwrap()
            .into_inner();
        let own = survey.questions.iter().find(|q| !q.standard).unwrap();
        assert_eq!((own.code.as_str(), own.asked), ("own_1", true));

        let mut batch: Vec<FftResponse> = (0..6)
            .map(|i| {
                response(
                    &format!("r{i}"),
                    &[
                        ("booking", if i < 4 { "yes_definitely" } else { "no" }),
                        ("own_1", "good"),
                    ],
                )
            })
            .collect();
        batch.push(response("bad1", &[("compassion", "yes_definitely")]));
        batch.push(response("bad2", &[("own_1", "yes_definitely")]));
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
        assert_eq!(sent.accepted, 6, "{backend:?}");
        let problems: Vec<(u32, &str, &str)> = sent
            .rejected
            .iter()
            .map(|e| (e.index, e.field.as_str(), e.reason.as_str()))
            .collect();
        assert_eq!(
            problems,
            [
                (
                    6,
                    "answers.compassion",
                    "is not asked by the trust's survey now"
                ),
                (
                    7,
                    "answers.own_1",
                    "must be one of very_good, good, neither, poor, very_poor, dont_know"
                ),
            ]
        );
        // Sent again: nothing counted twice.
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

        let booking_for = |token: String| {
            let mut client = client.clone();
            async move {
                client
                    .get_survey_results(outgoing(GetSurveyResultsRequest::default(), &token))
                    .await
                    .unwrap()
                    .into_inner()
                    .questions
                    .into_iter()
                    .find(|r| r.question.as_ref().unwrap().code == "booking")
                    .unwrap()
            }
        };
        // The lead, who reads the responses: the counts as they are.
        let booking = booking_for(lead.clone()).await;
        assert_eq!(booking.total, 6);
        assert_eq!(booking.answers[0].count, 4, "yes, definitely");
        assert!((booking.percent_positive.unwrap() - 400.0 / 6.0).abs() < 1e-9);
        // Analysts: 4 yes and 2 no are each 1 to 4, so both are hidden (and the share that
        // would give them back); the 6 who answered are shown.
        let booking = booking_for(analyst.clone()).await;
        assert_eq!((booking.total, booking.total_hidden), (6, false));
        let hidden: Vec<(&str, bool, u64)> = booking
            .answers
            .iter()
            .map(|a| (a.answer.as_str(), a.hidden, a.count))
            .collect();
        assert_eq!(
            hidden,
            [
                ("yes_definitely", true, 0),
                ("yes_somewhat", false, 0),
                ("no", true, 0),
                ("dont_know", false, 0)
            ],
            "{backend:?}"
        );
        assert_eq!(booking.percent_positive, None);

        // The trust stops asking its own question: its answers stay.
        client
            .update_survey(outgoing(
                UpdateSurveyRequest {
                    standard: vec!["booking".into()],
                    own: vec![],
                },
                &lead,
            ))
            .await
            .unwrap();
        let results = client
            .get_survey_results(outgoing(
                GetSurveyResultsRequest {
                    from_month: "2026-11".into(),
                    to_month: "2026-11".into(),
                },
                &analyst,
            ))
            .await
            .unwrap()
            .into_inner();
        let own = results
            .questions
            .iter()
            .find(|r| r.question.as_ref().unwrap().code == "own_1")
            .expect("a question no longer asked keeps its answers");
        assert!(!own.question.as_ref().unwrap().asked);
        assert_eq!(own.total, 6);

        // Another trust has its own survey, and none of these answers.
        let theirs = client
            .get_survey_results(outgoing(
                GetSurveyResultsRequest::default(),
                &svc.token("RZB", Role::Analyst),
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(theirs.questions.is_empty(), "{theirs:?}");
        let sent = client
            .submit_fft_responses(outgoing(
                SubmitFftResponsesRequest {
                    responses: vec![response("x", &[("booking", "yes_definitely")])],
                    dry_run: false,
                },
                &svc.token("RZB", Role::Analyst),
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(sent.accepted, 0, "RZB does not ask about booking");
    }
}
