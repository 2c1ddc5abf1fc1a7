//! The analytics stream: responses stored by batch are republished as suppressed figures per
//! unit and month on feedback.insights.v1, with nothing of the comments or of who answered.

use std::collections::BTreeMap;
use std::time::Duration;

use alongside_events::testing::{read_events, TestService};
use alongside_events::topics::FEEDBACK_INSIGHTS;
use alongside_platform::grpc::outgoing;
use alongside_platform::testing::Backend;
use alongside_platform::Role;
use alongside_proto::feedback::events::v1::{FftInsight, PromInsight, SpcInsight, ThemeInsight};
use alongside_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use alongside_proto::feedback::v1::*;

mod common;

/// The trust's places the responses name.
const PLACES: [(&str, &str); 3] = [
    ("site", "Riverside"),
    ("pathway", "MSK"),
    ("pathway", "Pain"),
];

fn response(id: &str, answer: FftAnswer, site: &str, pathway: &str) -> FftResponse {
    FftResponse {
        response_id: id.into(),
        source: "sms".into(),
        answer: answer as i32,
        responded_on: "2026-11-03".into(),
        site: site.into(),
        pathway: pathway.into(),
        could_improve: "Dr Jones at Ward 9 was rude to me".into(),
        respondent: Some(Respondent {
            consent: true,
            age_band: "65_74".into(),
            sex: "female".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_responses_are_republished_as_suppressed_figures() {
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    common::list_places(&svc, "RZA", &PLACES).await;
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    let analyst = svc.token("RZA", Role::Analyst);
    let mut batch = Vec::new();
    for i in 0..20 {
        let answer = if i < 18 {
            FftAnswer::VeryGood
        } else {
            FftAnswer::Poor
        };
        batch.push(response(&format!("m{i}"), answer, "Riverside", "MSK"));
    }
    for i in 0..3 {
        batch.push(response(
            &format!("p{i}"),
            FftAnswer::Good,
            "Riverside",
            "Pain",
        ));
    }
    let sent = client
        .submit_fft_responses(outgoing(
            SubmitFftResponsesRequest {
                responses: batch,
                dry_run: false,
            },
            &analyst,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sent.accepted, 23);

    // The trust, its site, and the site's two pathways; the month's themes; the SPC chart.
    let events = read_events(svc.brokers(), FEEDBACK_INSIGHTS, 6, Duration::from_secs(30)).await;
    assert_eq!(events.len(), 6, "{events:?}");
    let mut by_key: BTreeMap<String, FftInsight> = BTreeMap::new();
    let mut charts = Vec::new();
    let mut themes = Vec::new();
    for (key, envelope) in &events {
        assert_eq!(envelope.tenant().as_str(), "RZA");
        let payload = &envelope.inner.payload;
        let text = String::from_utf8_lossy(payload);
        for private in ["Jones", "rude", "65_74", "female"] {
            assert!(!text.contains(private), "{private} is not on the stream");
        }
        let key = String::from_utf8(key.clone().expect("every figure has a key")).unwrap();
        if envelope.inner.event_type == "alongside.feedback.events.v1.SpcInsight" {
            assert_eq!(key, "RZA/spc/fft-positive");
            charts.push(envelope.payload::<SpcInsight>().unwrap());
        } else if envelope.inner.event_type == "alongside.feedback.events.v1.ThemeInsight" {
            assert_eq!(key, "RZA/themes/2026-11");
            themes.push(envelope.payload::<ThemeInsight>().unwrap());
        } else {
            by_key.insert(key, envelope.payload().unwrap());
        }
    }
    // Each response's comment counted by theme, with no text: 23 comments, the same one.
    let month = &themes[0];
    assert_eq!(month.comments, 23);
    assert!(!month.themes.is_empty());
    for t in &month.themes {
        assert!(
            t.comments.is_some_and(|n| n >= 5),
            "{t:?}: a theme of 1 to 4 comments is not listed"
        );
    }
    assert!(
        month.themes.iter().any(|t| t.comments == Some(23)),
        "{month:?}"
    );

    // One month: 18 very good and 3 good of 23, one point, too few for limits.
    let chart = &charts[0];
    assert_eq!(chart.points.len(), 1);
    assert_eq!(chart.points[0].month, "2026-11");
    assert!((chart.points[0].value - 21.0 * 100.0 / 23.0).abs() < 1e-9);
    assert!(chart.points[0].upl.is_none());
    assert!(!chart.warnings.is_empty(), "too few points, and it says so");
    let trust = &by_key["RZA/fft/2026-11//"];
    assert_eq!((trust.level.as_str(), trust.total), ("trust", Some(23)));
    assert_eq!(trust.counts.as_ref().unwrap().very_good, 18);
    let pain = &by_key["RZA/fft/2026-11/Riverside/Pain"];
    assert_eq!(
        (pain.total, pain.suppression.as_str(), pain.percent_positive),
        (None, "primary", None),
        "three responses are hidden whole"
    );
    let msk = &by_key["RZA/fft/2026-11/Riverside/MSK"];
    assert_eq!(msk.suppression, "secondary", "beside a hidden sibling");
    assert!(msk.counts.is_none());
    assert_eq!(
        msk.percent_positive, None,
        "hidden too: the site's 21 positive less MSK's 18 would say all three Pain were positive"
    );

    // Sent again: nothing new is stored, so nothing is republished.
    client
        .submit_fft_responses(outgoing(
            SubmitFftResponsesRequest {
                responses: vec![response("m0", FftAnswer::VeryGood, "Riverside", "MSK")],
                dry_run: false,
            },
            &analyst,
        ))
        .await
        .unwrap();
    let again = read_events(svc.brokers(), FEEDBACK_INSIGHTS, 7, Duration::from_secs(3)).await;
    assert_eq!(again.len(), 6, "no figure changed");

    // A backfill (`alongside-feedback republish`, or the embedded run's start): the trust's one
    // month marked, and every current figure published again, the same.
    let db = alongside_platform::db::connect(&svc.settings.database)
        .await
        .unwrap();
    let marked = alongside_feedback::insights::mark_all(&db).await.unwrap();
    assert_eq!(marked, (1, 1), "one trust, one month");
    let backfilled = read_events(
        svc.brokers(),
        FEEDBACK_INSIGHTS,
        12,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(backfilled.len(), 12, "each of the six figures once more");
    let republished: BTreeMap<String, FftInsight> = backfilled[6..]
        .iter()
        .filter(|(_, e)| e.inner.event_type == "alongside.feedback.events.v1.FftInsight")
        .map(|(k, e)| {
            let key = String::from_utf8(k.clone().unwrap()).unwrap();
            (key, e.payload().unwrap())
        })
        .collect();
    assert_eq!(republished, by_key, "the same figures");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcome_measures_are_republished_with_small_numbers_withheld() {
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    common::list_places(&svc, "RZA", &PLACES).await;
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    let analyst = svc.token("RZA", Role::Analyst);
    let mut responses: Vec<PromResponse> = (0..6)
        .map(|i| PromResponse {
            response_id: format!("msk-{i}"),
            instrument: "msk_hq".into(),
            episode_id: format!("EP-{i}"),
            completed_on: "2026-10-05".into(),
            items: vec![2 + (i % 3); 14],
            pathway: "MSK".into(),
            source: "paper".into(),
        })
        .collect();
    responses.extend((0..2).map(|i| PromResponse {
        response_id: format!("sure-{i}"),
        instrument: "sure".into(),
        episode_id: format!("EP-{i}"),
        completed_on: "2026-10-05".into(),
        items: vec![1, 1, 0, 1],
        pathway: "MSK".into(),
        source: "paper".into(),
    }));
    let sent = client
        .submit_prom_responses(outgoing(
            SubmitPromResponsesRequest {
                responses,
                dry_run: false,
            },
            &analyst,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sent.accepted, 8, "{:?}", sent.rejected);
    let events = read_events(svc.brokers(), FEEDBACK_INSIGHTS, 2, Duration::from_secs(30)).await;
    let (key, envelope) = events
        .iter()
        .find(|(_, e)| e.inner.event_type == "alongside.feedback.events.v1.PromInsight")
        .expect("the month's outcome measures");
    assert_eq!(key.as_deref(), Some(&b"RZA/proms/2026-10"[..]));
    let p: PromInsight = envelope.payload().unwrap();
    assert_eq!(
        (p.msk_hq_responses, p.sure_responses),
        (Some(6), None),
        "two SURE: hidden, their number too"
    );
    // Totals of 28, 42 and 56, twice each.
    assert_eq!(p.msk_hq_mean_total, Some(42.0));
    assert_eq!(p.sure_conflict, None, "two patients: hidden");
    let text = String::from_utf8_lossy(&envelope.inner.payload);
    assert!(!text.contains("EP-"), "no episode reference on the stream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_time_is_republished_by_month_with_corrections_and_no_partner_named() {
    use alongside_events::topics::ENGAGEMENT_ACTIVITIES;
    use alongside_proto::engagement::events::v1::{
        AttendanceCorrected, AttendanceRecorded, PartnerAssigned,
    };
    use alongside_proto::feedback::events::v1::InvolvementInsight;
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    // The trust lists msk; "pain", as engagement's staff typed it, is not a listed pathway.
    common::list_places(&svc, "RZA", &[("pathway", "msk")]).await;
    let attended = |n: u32, minutes: u32, pathway: &str, expenses_only: bool| AttendanceRecorded {
        attendance_id: format!("att_{n:032x}"),
        opportunity_id: "opp_1".into(),
        partner_id: format!("ptn_{:032x}", n % 6),
        minutes,
        activity_kind: "forum_meeting".into(),
        involvement_level: 4,
        activity_date: "2026-10-14".into(),
        pathway: pathway.into(),
        cost_centre: String::new(),
        expenses_only,
        revision: 1,
    };
    // Six partners, eight sessions: two pain sessions by two partners, expenses only.
    for n in 0..8 {
        let pathway = if n < 6 { "msk" } else { "pain" };
        svc.publish(
            ENGAGEMENT_ACTIVITIES,
            "opp_1",
            "RZA",
            &attended(n, 120, pathway, n >= 6),
        )
        .await;
    }
    // Not attendance: ignored, not dead-lettered.
    let assigned = PartnerAssigned {
        assignment_id: "asg_1".into(),
        opportunity_id: "opp_1".into(),
        partner_id: "ptn_1".into(),
    };
    svc.publish(ENGAGEMENT_ACTIVITIES, "opp_1", "RZA", &assigned)
        .await;
    // A correction: the first session was 60 minutes, not 120; an older revision after it
    // changes nothing.
    let mut corrected = attended(0, 60, "msk", false);
    corrected.revision = 2;
    svc.publish(
        ENGAGEMENT_ACTIVITIES,
        "opp_1",
        "RZA",
        &AttendanceCorrected {
            attendance: Some(corrected),
            corrected_at: "2026-10-20T10:00:00Z".into(),
        },
    )
    .await;
    svc.publish(
        ENGAGEMENT_ACTIVITIES,
        "opp_1",
        "RZA",
        &attended(0, 120, "msk", false),
    )
    .await;

    let latest = alongside_events::testing::eventually(Duration::from_secs(30), || async {
        // Everything on the topic so far (it is read to its end): the latest figure counts.
        let events = read_events(
            svc.brokers(),
            FEEDBACK_INSIGHTS,
            usize::MAX,
            Duration::from_secs(3),
        )
        .await;
        let last = events
            .iter()
            .rfind(|(k, _)| k.as_deref() == Some(&b"RZA/involvement/2026-10"[..]))
            .map(|(_, e)| e.payload::<InvolvementInsight>().unwrap())?;
        (last.minutes == Some(7 * 120 + 60)).then_some(last)
    })
    .await
    .expect("the month's involvement, with the correction applied");
    // The month's total is 6 partners: shown. The two expenses-only sessions are two partners'
    // (hidden), and so paid ones with them, else 8 less 6 would give them back.
    assert_eq!(
        (
            latest.sessions,
            latest.minutes,
            latest.paid_sessions,
            latest.expenses_only_sessions
        ),
        (Some(8), Some(7 * 120 + 60), None, None)
    );
    assert_eq!(latest.partners, Some(6));
    assert!(
        latest.by_pathway.iter().all(|f| f.key != "pain"),
        "a pathway the trust does not list is never a key"
    );
    let pain = latest.by_pathway.iter().find(|f| f.key.is_empty()).unwrap();
    assert_eq!(
        (pain.sessions, pain.minutes, pain.partners),
        (None, None, None),
        "two partners, counted as not known: hidden whole"
    );
    let msk = latest.by_pathway.iter().find(|f| f.key == "msk").unwrap();
    assert_eq!(
        (msk.sessions, msk.minutes, msk.partners),
        (None, None, None),
        "msk hidden too: the month's 8 less msk's 6 would give the 2 away"
    );
    let kinds: Vec<(Option<u64>, Option<u64>)> = latest
        .by_kind
        .iter()
        .map(|f| (f.sessions, f.partners))
        .collect();
    assert_eq!(
        kinds,
        [(Some(8), Some(6))],
        "one kind of work: nothing to hide"
    );
    let events = read_events(
        svc.brokers(),
        FEEDBACK_INSIGHTS,
        usize::MAX,
        Duration::from_secs(3),
    )
    .await;
    assert!(!events.is_empty());
    for (_, e) in &events {
        assert!(
            !String::from_utf8_lossy(&e.inner.payload).contains("ptn_"),
            "no partner id on the stream"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_of_a_few_comments_says_how_many_and_not_what_about() {
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    common::list_places(&svc, "RZA", &PLACES).await;
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    let analyst = svc.token("RZA", Role::Analyst);
    let few: Vec<FftResponse> = (0..2)
        .map(|i| FftResponse {
            responded_on: "2026-10-14".into(),
            ..response(&format!("f{i}"), FftAnswer::Poor, "Riverside", "MSK")
        })
        .collect();
    client
        .submit_fft_responses(outgoing(
            SubmitFftResponsesRequest {
                responses: few,
                dry_run: false,
            },
            &analyst,
        ))
        .await
        .unwrap();
    let events = read_events(svc.brokers(), FEEDBACK_INSIGHTS, 5, Duration::from_secs(30)).await;
    let themes: Vec<ThemeInsight> = events
        .iter()
        .filter(|(_, e)| e.inner.event_type == "alongside.feedback.events.v1.ThemeInsight")
        .map(|(_, e)| e.payload().unwrap())
        .collect();
    assert_eq!(themes.len(), 1, "{events:?}");
    assert_eq!(themes[0].comments, 2);
    assert!(themes[0].themes.is_empty(), "{:?}", themes[0]);
}

/// The latest message of each FFT key among `events`.
fn latest_figures(
    events: &[(Option<Vec<u8>>, alongside_events::Envelope)],
) -> BTreeMap<String, FftInsight> {
    events
        .iter()
        .filter(|(_, e)| e.inner.event_type == "alongside.feedback.events.v1.FftInsight")
        .map(|(k, e)| {
            let key = String::from_utf8(k.clone().unwrap()).unwrap();
            (key, e.payload().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_is_published_once_released_and_a_late_response_is_not_given_away() {
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    common::list_places(
        &svc,
        "RZA",
        &[
            ("site", "Riverside"),
            ("site", "Hilltop"),
            ("pathway", "MSK"),
        ],
    )
    .await;
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    let analyst = svc.token("RZA", Role::Analyst);
    let this_month = alongside_platform::testing::clock_settings()
        .clock()
        .today()
        .to_string()[..7]
        .to_string();
    let at = |id: String, site: &str, on: &str| FftResponse {
        responded_on: on.into(),
        could_improve: String::new(),
        ..response(&id, FftAnswer::VeryGood, site, "MSK")
    };
    let mut batch: Vec<FftResponse> = (0..20)
        .map(|i| at(format!("r{i}"), "Riverside", "2026-11-03"))
        .collect();
    batch.extend((0..10).map(|i| at(format!("h{i}"), "Hilltop", "2026-11-04")));
    // The open month: stored, counted for the trust's own pages, not yet released.
    batch.extend((0..12).map(|i| at(format!("now{i}"), "Riverside", &format!("{this_month}-01"))));
    let send = |responses: Vec<FftResponse>| {
        let mut client = client.clone();
        let analyst = analyst.clone();
        async move {
            client
                .submit_fft_responses(outgoing(
                    SubmitFftResponsesRequest {
                        responses,
                        dry_run: false,
                    },
                    &analyst,
                ))
                .await
                .unwrap()
                .into_inner()
        }
    };
    assert_eq!(send(batch).await.accepted, 42);
    // November: the trust, two sites, each site's pathway (themes and the chart besides).
    let events = read_events(svc.brokers(), FEEDBACK_INSIGHTS, 6, Duration::from_secs(30)).await;
    let first = latest_figures(&events);
    assert_eq!(first.len(), 5, "{first:#?}");
    assert!(
        first.keys().all(|k| k.starts_with("RZA/fft/2026-11/")),
        "the open month is not published before its release: {:?}",
        first.keys()
    );
    assert_eq!(first["RZA/fft/2026-11//"].total, Some(30));
    assert_eq!(first["RZA/fft/2026-11/Riverside/"].total, Some(20));
    assert_eq!(first["RZA/fft/2026-11/Hilltop/"].total, Some(10));

    // One late response at Riverside: shown as 21 beside the 20 shown before, it would be read
    // off exactly. The revision hides what would give it away; no figure shown in both
    // releases differs by 1 to 4.
    assert_eq!(
        send(vec![at("late".into(), "Riverside", "2026-11-20")])
            .await
            .accepted,
        1
    );
    let events = read_events(
        svc.brokers(),
        FEEDBACK_INSIGHTS,
        12,
        Duration::from_secs(30),
    )
    .await;
    let revised = latest_figures(&events);
    for key in [
        "RZA/fft/2026-11//",
        "RZA/fft/2026-11/Riverside/",
        "RZA/fft/2026-11/Riverside/MSK",
    ] {
        assert_eq!(revised[key].total, None, "{key}: {:?}", revised[key]);
        assert_ne!(revised[key].suppression, "none", "{key}");
    }
    for (key, figure) in &revised {
        if let (Some(now), Some(then)) = (figure.total, first.get(key).and_then(|f| f.total)) {
            assert!(
                !(1..5).contains(&now.abs_diff(then)),
                "{key}: {then} then {now}"
            );
        }
    }
    assert!(revised.keys().all(|k| !k.contains(&this_month)));

    // The trust's dashboard reads the same release, and says what it runs to.
    let view = client
        .get_protected_breakdown(outgoing(
            ProtectedBreakdownRequest {
                from_month: "2026-11".into(),
                to_month: this_month.clone(),
                by: "site".into(),
                ..Default::default()
            },
            &analyst,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(view.all.as_ref().unwrap().total, None, "{view:?}");
    for row in &view.rows {
        let key = format!("RZA/fft/2026-11/{}/", row.value);
        assert_eq!(row.total, revised[&key].total, "{key}");
    }
    assert!(
        view.released_to.as_str() < this_month.as_str(),
        "{}",
        view.released_to
    );
    assert!(view.next_release_on > view.released_to);
}
