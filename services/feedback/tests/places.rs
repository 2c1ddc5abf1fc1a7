//! A trust's places as reference data: only listed codes are taken in, on every path; lists are
//! kept by administrators with a preview, history, retiring and merging; and the values held
//! from before the lists are set aside by the migration until an administrator maps them.

use std::time::Duration;

use alongside_events::testing::{
    eventually, read_dead_letters, read_events, read_records, TestService,
};
use alongside_events::topics::{FEEDBACK_INSIGHTS, FEEDBACK_PLACES, FEEDBACK_RESPONSES};
use alongside_platform::grpc::outgoing;
use alongside_platform::testing::{backends, Backend};
use alongside_platform::Role;
use alongside_proto::feedback::events::v1::{FftInsight, FftResponseReceived, PlaceChanged};
use alongside_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use alongside_proto::feedback::v1::*;
use sea_orm::ConnectionTrait;
use sea_orm_migration::MigratorTrait;
use tonic::transport::Channel;
use tonic::Code;

fn response(id: &str, site: &str, pathway: &str) -> FftResponse {
    FftResponse {
        response_id: id.into(),
        source: "sms".into(),
        answer: FftAnswer::Good as i32,
        responded_on: "2026-10-05".into(),
        site: site.into(),
        pathway: pathway.into(),
        ..Default::default()
    }
}

fn input(kind: &str, code: &str, name: &str) -> PlaceInput {
    PlaceInput {
        kind: kind.into(),
        code: code.into(),
        name: name.into(),
    }
}

async fn submit(
    client: &mut FeedbackServiceClient<Channel>,
    token: &str,
    responses: Vec<FftResponse>,
) -> SubmitFftResponsesResponse {
    client
        .submit_fft_responses(outgoing(
            SubmitFftResponsesRequest {
                responses,
                dry_run: false,
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner()
}

async fn by_site(client: &mut FeedbackServiceClient<Channel>, token: &str) -> Vec<(String, u64)> {
    let breakdown = client
        .get_fft_breakdown(outgoing(
            GetFftBreakdownRequest {
                by: "site".into(),
                ..Default::default()
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner();
    breakdown
        .rows
        .into_iter()
        .map(|r| (r.value, r.total.unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_listed_places_are_taken_in_and_lists_are_kept_with_their_history() {
    for backend in backends() {
        let svc = TestService::start("feedback", backend, alongside_feedback::start).await;
        let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
        let (admin, analyst) = (
            svc.token("RZA", Role::Admin),
            svc.token("RZA", Role::Analyst),
        );

        // Nothing listed: a place typed into a response is refused by field, and nothing stored.
        let typed = submit(
            &mut client,
            &analyst,
            vec![response("r1", "jo@example.org", ""), response("r2", "", "")],
        )
        .await;
        assert_eq!(
            typed.accepted, 1,
            "{backend:?}: the response without a place"
        );
        assert_eq!(
            (typed.rejected[0].index, typed.rejected[0].field.as_str()),
            (0, "site")
        );
        assert!(typed.rejected[0]
            .reason
            .contains("not one of the trust's sites"));

        // A CSV import with a bad row saves nothing and names the row and the field.
        let rows = vec![
            input("site", "RGT01", "Riverside Hospital"),
            input("site", "RGT02", "Hillside Clinic"),
            input("pathway", "MSK", "Musculoskeletal"),
            input("ward", "W1", ""),
            input("site", "rgt01", "again"),
            input("team", "943 476 5919", ""),
        ];
        let refused = client
            .save_places(outgoing(
                SavePlacesRequest {
                    places: rows.clone(),
                    dry_run: false,
                },
                &admin,
            ))
            .await
            .unwrap()
            .into_inner();
        let problems: Vec<(u32, &str)> = refused
            .rejected
            .iter()
            .map(|r| (r.index, r.field.as_str()))
            .collect();
        assert_eq!(problems, [(3, "kind"), (4, "code"), (5, "code")]);
        assert!(!refused.saved && refused.outcomes.is_empty());
        let listed = |client: &mut FeedbackServiceClient<Channel>, retired: bool| {
            let mut client = client.clone();
            let token = analyst.clone();
            async move {
                client
                    .list_places(outgoing(
                        ListPlacesRequest {
                            kind: String::new(),
                            include_retired: retired,
                        },
                        &token,
                    ))
                    .await
                    .unwrap()
                    .into_inner()
                    .places
                    .into_iter()
                    .map(|p| (p.kind, p.code, p.status))
                    .collect::<Vec<_>>()
            }
        };
        assert!(listed(&mut client, true).await.is_empty());

        // The preview says what would happen; saving does it; saving again changes nothing.
        let good: Vec<PlaceInput> = rows[..3].to_vec();
        let preview = client
            .save_places(outgoing(
                SavePlacesRequest {
                    places: good.clone(),
                    dry_run: true,
                },
                &admin,
            ))
            .await
            .unwrap()
            .into_inner();
        let outcomes: Vec<&str> = preview
            .outcomes
            .iter()
            .map(|o| o.outcome.as_str())
            .collect();
        assert_eq!((outcomes, preview.saved), (vec!["added"; 3], false));
        assert!(
            listed(&mut client, true).await.is_empty(),
            "a preview saves nothing"
        );
        let mut renamed = good.clone();
        for _ in 0..2 {
            client
                .save_places(outgoing(
                    SavePlacesRequest {
                        places: good.clone(),
                        dry_run: false,
                    },
                    &admin,
                ))
                .await
                .unwrap();
        }
        renamed[1].name = "Hillside Community Clinic".into();
        let again = client
            .save_places(outgoing(
                SavePlacesRequest {
                    places: renamed,
                    dry_run: false,
                },
                &admin,
            ))
            .await
            .unwrap()
            .into_inner();
        let outcomes: Vec<&str> = again.outcomes.iter().map(|o| o.outcome.as_str()).collect();
        assert_eq!(outcomes, ["unchanged", "renamed", "unchanged"]);

        // Listed codes are taken, case aside, and stored as listed.
        let taken = submit(
            &mut client,
            &analyst,
            vec![
                response("r3", "rgt01", "msk"),
                response("r4", "RGT02", ""),
                response("r5", "RGT02", "MSK"),
            ],
        )
        .await;
        assert_eq!(
            (taken.accepted, taken.rejected.len()),
            (3, 0),
            "{backend:?}"
        );
        assert_eq!(
            by_site(&mut client, &analyst).await,
            [
                ("".to_string(), 1),
                ("RGT01".to_string(), 1),
                ("RGT02".to_string(), 2)
            ]
        );

        // Only administrators keep the lists; another trust sees none of them.
        for role in [Role::Analyst, Role::EngagementLead, Role::Staff] {
            let denied = client
                .save_places(outgoing(
                    SavePlacesRequest {
                        places: good.clone(),
                        dry_run: false,
                    },
                    &svc.token("RZA", role),
                ))
                .await
                .unwrap_err();
            assert_eq!(denied.code(), Code::PermissionDenied, "{role:?}");
        }
        let theirs = client
            .list_places(outgoing(
                ListPlacesRequest::default(),
                &svc.token("RZB", Role::Admin),
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(theirs.places.is_empty());

        // Retired: refused from then on, its figures kept; brought back, taken again.
        let retire = |retired: bool| RetirePlaceRequest {
            kind: "site".into(),
            code: "RGT01".into(),
            retired,
        };
        client
            .retire_place(outgoing(retire(true), &admin))
            .await
            .unwrap();
        let late = submit(&mut client, &analyst, vec![response("r6", "RGT01", "")]).await;
        assert!(
            late.rejected[0].reason.contains("retired"),
            "{:?}",
            late.rejected
        );
        assert_eq!(by_site(&mut client, &analyst).await.len(), 3);
        client
            .retire_place(outgoing(retire(false), &admin))
            .await
            .unwrap();

        // Merged: its responses count as the other's, and its code is still taken as the other.
        let merged = client
            .merge_place(outgoing(
                MergePlaceRequest {
                    kind: "site".into(),
                    code: "RGT02".into(),
                    into: "RGT01".into(),
                },
                &admin,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (merged.status.as_str(), merged.merged_into.as_str()),
            ("merged", "RGT01")
        );
        let old_code = submit(&mut client, &analyst, vec![response("r7", "RGT02", "")]).await;
        assert_eq!(old_code.accepted, 1);
        assert_eq!(
            by_site(&mut client, &analyst).await,
            [("".to_string(), 1), ("RGT01".to_string(), 4)]
        );
        let bad_merge = client
            .merge_place(outgoing(
                MergePlaceRequest {
                    kind: "site".into(),
                    code: "RGT01".into(),
                    into: "RGT01".into(),
                },
                &admin,
            ))
            .await
            .unwrap_err();
        let fields: Vec<String> = alongside_platform::error::field_errors(&bad_merge)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["into"]);
        assert_eq!(
            listed(&mut client, false).await,
            [
                ("site".into(), "RGT01".into(), "active".into()),
                ("pathway".into(), "MSK".into(), "active".into())
            ]
        );

        // Every change is in the history, newest first, with who made it.
        let history = client
            .list_place_history(outgoing(ListPlaceHistoryRequest::default(), &analyst))
            .await
            .unwrap()
            .into_inner();
        let actions: Vec<(&str, &str)> = history
            .changes
            .iter()
            .map(|c| (c.code.as_str(), c.action.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("RGT01", "merged_from"),
                ("RGT02", "merged"),
                ("RGT01", "restored"),
                ("RGT01", "retired"),
                ("RGT02", "renamed"),
                ("MSK", "added"),
                ("RGT02", "added"),
                ("RGT01", "added"),
            ]
        );
        assert!(history.changes.iter().all(|c| c.by == "usr_test_admin"));
        assert!(
            history.changes[0].detail.contains("2 responses"),
            "{:?}",
            history.changes[0]
        );
    }
}

/// On the topic, a response naming a place the trust does not list goes to the `.dlq` with the
/// reason, and what reaches the analytics stream carries listed codes only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_topic_refuses_unlisted_places_and_the_stream_carries_listed_codes_only() {
    let svc = TestService::start(
        "feedback",
        alongside_platform::testing::Backend::Sqlite,
        alongside_feedback::start,
    )
    .await;
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    let admin = svc.token("RZA", Role::Admin);
    client
        .register_tenant(outgoing(RegisterTenantRequest {}, &admin))
        .await
        .unwrap();
    client
        .save_places(outgoing(
            SavePlacesRequest {
                places: vec![input("site", "RGT01", ""), input("pathway", "MSK", "")],
                dry_run: false,
            },
            &admin,
        ))
        .await
        .unwrap();
    let typed = "Jo Bloggs 07700 900123";
    for (id, site) in [("t1", typed), ("t2", "RGT01")] {
        svc.publish(
            FEEDBACK_RESPONSES,
            &format!("RZA/sms/{id}"),
            "RZA",
            &FftResponseReceived {
                response: Some(response(id, site, "MSK")),
            },
        )
        .await;
    }
    let reasons = read_dead_letters(
        svc.brokers(),
        FEEDBACK_RESPONSES,
        1,
        Duration::from_secs(30),
    )
    .await;
    let reason = reasons.first().cloned().unwrap_or_default();
    assert!(
        reason.contains("site: is not one of the trust's sites"),
        "{reason}"
    );
    let analyst = svc.token("RZA", Role::Analyst);
    eventually(Duration::from_secs(30), || {
        let mut client = client.clone();
        let analyst = analyst.clone();
        async move { (by_site(&mut client, &analyst).await == [("RGT01".to_string(), 1)]).then_some(()) }
    })
    .await
    .expect("the listed response is counted");
    let events = read_events(svc.brokers(), FEEDBACK_INSIGHTS, 3, Duration::from_secs(30)).await;
    let fft: Vec<FftInsight> = events
        .iter()
        .filter(|(_, e)| e.inner.event_type.ends_with("FftInsight"))
        .map(|(_, e)| e.payload().unwrap())
        .collect();
    assert!(!fft.is_empty());
    for (key, event) in &events {
        let key = String::from_utf8_lossy(key.as_deref().unwrap_or_default());
        assert!(!key.contains("Bloggs") && !key.contains("07700"), "{key}");
        assert!(!format!("{:?}", event.inner).contains("Bloggs"));
    }
    assert!(fft.iter().all(|f| ["", "RGT01"].contains(&f.site.as_str())));
}

/// Values responses carried before the lists existed: the migration sets them aside (counted
/// as not known, never published), an administrator maps each to a listed place or leaves it
/// not known, and the figures follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn places_held_before_the_lists_are_set_aside_until_an_administrator_maps_them() {
    for backend in backends() {
        // As the release before places left a database: its stream keys and places unlisted.
        let before = alongside_feedback::Migrator::migrations()
            .iter()
            .position(|m| m.name() == "m20261207_600010_insight_keys")
            .expect("the stream keys' migration");
        let svc = TestService::start_prepared(
            "feedback",
            backend,
            |url| async move {
                // As the service connects: SQLite creates its file on first use.
                let url = if url.starts_with("sqlite:") {
                    format!("{url}?mode=rwc")
                } else {
                    url
                };
                let db = sea_orm::Database::connect(url).await.unwrap();
                alongside_feedback::Migrator::up(&db, Some(before as u32))
                    .await
                    .unwrap();
                for (i, site) in ["Riverside", "Riverside", "riverside ", "jo@example.org"]
                    .iter()
                    .enumerate()
                {
                    db.execute_unprepared(&format!(
                        "INSERT INTO fft_responses (id, tenant_id, source, response_id, answer, \
                         responded_on, month, received_at, worked_well, could_improve, site, \
                         locality, pathway, team, age_band, sex, ethnic_group, imd_decile) \
                         VALUES ('fft_{i}', 'RZA', 'sms', 'old{i}', 'good', '2026-09-0{d}', \
                         '2026-09', '2026-09-30T00:00:00Z', '', '', '{site}', '', '', '', '', \
                         '', '', 0)",
                        d = i + 1
                    ))
                    .await
                    .unwrap();
                }
                db.execute_unprepared(
                    "INSERT INTO fft_cube (tenant_id, month, site, locality, pathway, team, \
                     source, answer, n) SELECT tenant_id, month, site, locality, pathway, team, \
                     source, answer, COUNT(*) FROM fft_responses GROUP BY tenant_id, month, \
                     site, locality, pathway, team, source, answer",
                )
                .await
                .unwrap();
                db.execute_unprepared(
                    "INSERT INTO fft_monthly (tenant_id, month, source, answer, n) \
                     VALUES ('RZA', '2026-09', 'sms', 'good', 4)",
                )
                .await
                .unwrap();
            },
            alongside_feedback::start,
        )
        .await;
        let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
        let (admin, analyst) = (
            svc.token("RZA", Role::Admin),
            svc.token("RZA", Role::Analyst),
        );
        assert_eq!(
            by_site(&mut client, &analyst).await,
            [("".to_string(), 4)],
            "{backend:?}: nothing typed is a site until mapped"
        );
        let reader = client.clone();
        let held = |token: String| {
            let mut client = reader.clone();
            async move {
                client
                    .list_held_places(outgoing(ListHeldPlacesRequest {}, &token))
                    .await
                    .map(|r| {
                        r.into_inner()
                            .held
                            .into_iter()
                            .map(|h| (h.value, h.responses))
                            .collect::<Vec<_>>()
                    })
            }
        };
        assert_eq!(
            held(admin.clone()).await.unwrap(),
            [
                ("Riverside".to_string(), 2),
                ("jo@example.org".to_string(), 1),
                ("riverside ".to_string(), 1)
            ]
        );
        let denied = held(analyst.clone()).await.unwrap_err();
        assert_eq!(
            denied.code(),
            Code::PermissionDenied,
            "analysts never see them"
        );

        client
            .save_places(outgoing(
                SavePlacesRequest {
                    places: vec![input("site", "RGT01", "Riverside Hospital")],
                    dry_run: false,
                },
                &admin,
            ))
            .await
            .unwrap();
        let map = |value: &str, code: &str| MapHeldPlaceRequest {
            kind: "site".into(),
            value: value.into(),
            code: code.into(),
        };
        let unlisted = client
            .map_held_place(outgoing(map("Riverside", "Riverside"), &admin))
            .await
            .unwrap_err();
        assert_eq!(unlisted.code(), Code::InvalidArgument);
        for (value, code, n) in [
            ("Riverside", "rgt01", 2),
            ("riverside ", "RGT01", 1),
            ("jo@example.org", "", 1),
        ] {
            let mapped = client
                .map_held_place(outgoing(map(value, code), &admin))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(mapped.responses, n);
        }
        assert!(held(admin.clone()).await.unwrap().is_empty());
        assert_eq!(
            by_site(&mut client, &analyst).await,
            [("".to_string(), 1), ("RGT01".to_string(), 3)],
            "{backend:?}"
        );
        // The stream forgets the keys typed places made: each ends with a tombstone.
        let withdrawn = eventually(Duration::from_secs(30), || async {
            let records =
                read_records(svc.brokers(), FEEDBACK_INSIGHTS, Duration::from_secs(2)).await;
            let mut last = std::collections::BTreeMap::new();
            for (key, value) in records {
                last.insert(key, value.is_some());
            }
            let typed: Vec<&String> = last
                .keys()
                .filter(|k| k.contains("jo@") || k.contains("iverside"))
                .collect();
            let current = last.get("RZA/fft/2026-09/RGT01/") == Some(&true);
            (current && typed.len() == 6 && typed.iter().all(|k| !last[*k])).then_some(typed.len())
        })
        .await;
        assert_eq!(
            withdrawn,
            Some(6),
            "{backend:?}: three typed sites, each with its pathway, withdrawn"
        );
        let history = client
            .list_place_history(outgoing(ListPlaceHistoryRequest::default(), &admin))
            .await
            .unwrap()
            .into_inner();
        assert!(
            history
                .changes
                .iter()
                .all(|c| !format!("{c:?}").contains("jo@")
                    && !format!("{c:?}").contains("riverside ")),
            "the history never repeats a held value"
        );
    }
}

/// Every place on `feedback.places.v1` as its latest message says it stands: key → (code,
/// name, status, merged into).
async fn announced(
    svc: &TestService,
    want: usize,
) -> std::collections::BTreeMap<String, (String, String, String, String)> {
    let events = read_events(
        svc.brokers(),
        FEEDBACK_PLACES,
        want,
        Duration::from_secs(20),
    )
    .await;
    events
        .into_iter()
        .map(|(key, e)| {
            let p: PlaceChanged = e.payload().unwrap();
            assert_eq!(e.tenant().as_str(), p.tenant);
            (
                String::from_utf8(key.unwrap()).unwrap(),
                (p.code, p.name, p.status, p.merged_into),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_to_a_place_is_announced_to_the_other_services_as_it_now_stands() {
    let svc = TestService::start("feedback", Backend::Sqlite, alongside_feedback::start).await;
    let mut client = FeedbackServiceClient::connect(svc.url()).await.unwrap();
    let admin = svc.token("RZA", Role::Admin);
    let save = |places: Vec<PlaceInput>| SavePlacesRequest {
        places,
        dry_run: false,
    };
    let three = vec![
        input("pathway", "MSK", "Musculoskeletal"),
        input("pathway", "Physio", "Physiotherapy"),
        input("pathway", "Pain", "Pain"),
    ];
    client
        .save_places(outgoing(save(three.clone()), &admin))
        .await
        .unwrap();
    // Saved again unchanged: nothing more is announced.
    client
        .save_places(outgoing(save(three), &admin))
        .await
        .unwrap();
    client
        .save_places(outgoing(
            save(vec![input("pathway", "Pain", "Pain management")]),
            &admin,
        ))
        .await
        .unwrap();
    client
        .merge_place(outgoing(
            MergePlaceRequest {
                kind: "pathway".into(),
                code: "physio".into(),
                into: "MSK".into(),
            },
            &admin,
        ))
        .await
        .unwrap();
    client
        .retire_place(outgoing(
            RetirePlaceRequest {
                kind: "pathway".into(),
                code: "Pain".into(),
                retired: true,
            },
            &admin,
        ))
        .await
        .unwrap();
    // Three added, one renamed, one merged, one retired.
    let now = announced(&svc, 6).await;
    let place = |code: &str, name: &str, status: &str, into: &str| {
        (code.into(), name.into(), status.into(), into.into())
    };
    assert_eq!(
        now.into_iter().collect::<Vec<_>>(),
        [
            (
                "RZA/pathway/msk".to_string(),
                place("MSK", "Musculoskeletal", "active", "")
            ),
            (
                "RZA/pathway/pain".to_string(),
                place("Pain", "Pain management", "retired", "")
            ),
            (
                "RZA/pathway/physio".to_string(),
                place("Physio", "Physiotherapy", "merged", "MSK")
            ),
        ]
    );
    assert_eq!(
        read_events(svc.brokers(), FEEDBACK_PLACES, 7, Duration::from_secs(3))
            .await
            .len(),
        6,
        "an unchanged place is not announced again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn places_listed_before_the_topic_existed_are_announced_at_start() {
    let before = alongside_feedback::Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261207_700001_places_announced")
        .expect("the announcing migration");
    let svc = TestService::start_prepared(
        "feedback",
        Backend::Sqlite,
        |url| async move {
            let db = sea_orm::Database::connect(format!("{url}?mode=rwc"))
                .await
                .unwrap();
            alongside_feedback::Migrator::up(&db, Some(before as u32))
                .await
                .unwrap();
            db.execute_unprepared(
                "INSERT INTO places (tenant_id, kind, code_key, code, name, status, merged_into, \
                 changed_at) VALUES ('RZA', 'site', 'rgt01', 'RGT01', 'Riverside', 'active', '', \
                 '2026-11-01T00:00:00Z')",
            )
            .await
            .unwrap();
        },
        alongside_feedback::start,
    )
    .await;
    let now = announced(&svc, 1).await;
    assert_eq!(
        now.into_iter().collect::<Vec<_>>(),
        [(
            "RZA/site/rgt01".to_string(),
            (
                "RGT01".into(),
                "Riverside".into(),
                "active".into(),
                String::new()
            )
        )]
    );
}
