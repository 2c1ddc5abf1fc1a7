//! The outbox and inbox on SQLite and PostgreSQL: statements of many rows stay within each
//! database's limit of parameters, and the inbox says which events are new.

use alongside_events::{inbox, outbox, Outbox};
use alongside_platform::testing::{backends, TestDatabase};
use alongside_platform::OdsCode;
use alongside_proto::payments::events::v1::PaymentIssued;
use sea_orm::{EntityTrait, PaginatorTrait, TransactionTrait};
use sea_orm_migration::prelude::*;

struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(
            alongside_events::migration::m20261123_000001_outbox_inbox::Migration,
        )]
    }
}

#[tokio::test]
async fn thousands_of_events_go_into_the_outbox_in_one_transaction() {
    for backend in backends() {
        let database = TestDatabase::create(backend, "outbox").await;
        let db = alongside_platform::db::connect(&database.settings())
            .await
            .unwrap();
        alongside_platform::db::migrate::<Migrator>(&db)
            .await
            .unwrap();
        let tenant = OdsCode::parse("RZA").unwrap();
        // More rows than one statement may carry on SQLite (32,766 parameters, 7 a row).
        let events: Vec<(&str, &str, &OdsCode, PaymentIssued)> = (0..12_000)
            .map(|i| {
                (
                    "payments.claims.v1",
                    "ptn_x",
                    &tenant,
                    PaymentIssued {
                        run_id: "run_1".into(),
                        partner_id: format!("ptn_{i}"),
                        amount_pence: 7_500,
                        claim_ids: vec![format!("clm_{i}")],
                        paid_at: "2026-12-01T10:00:00Z".into(),
                    },
                )
            })
            .collect();
        let txn = db.begin().await.unwrap();
        Outbox::new(alongside_platform::clock::system())
            .enqueue_many(&txn, &events)
            .await
            .unwrap();
        txn.commit().await.unwrap();
        let held = outbox::Entity::find().count(&db).await.unwrap();
        assert_eq!(held, 12_000, "{backend:?}");
        assert_eq!(Outbox::depth(&db).await.unwrap(), 12_000);
    }
}

#[tokio::test]
async fn the_inbox_says_which_events_are_new_each_once() {
    for backend in backends() {
        let database = TestDatabase::create(backend, "inbox").await;
        let db = alongside_platform::db::connect(&database.settings())
            .await
            .unwrap();
        alongside_platform::db::migrate::<Migrator>(&db)
            .await
            .unwrap();
        let txn = db.begin().await.unwrap();
        assert_eq!(
            inbox::claim_many(&txn, "payments", &["e1", "e2", "e1"])
                .await
                .unwrap(),
            ["e1", "e2"]
        );
        txn.commit().await.unwrap();
        let txn = db.begin().await.unwrap();
        assert_eq!(
            inbox::claim_many(&txn, "payments", &["e2", "e3"])
                .await
                .unwrap(),
            ["e3"],
            "{backend:?}: e2 was processed before"
        );
        // Another consumer has its own inbox.
        assert_eq!(
            inbox::claim_many(&txn, "engagement", &["e2"])
                .await
                .unwrap(),
            ["e2"]
        );
        txn.commit().await.unwrap();
        let many: Vec<String> = (0..20_000).map(|i| format!("m{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let txn = db.begin().await.unwrap();
        let fresh = inbox::claim_many(&txn, "payments", &refs).await.unwrap();
        assert_eq!(
            fresh.len(),
            20_000,
            "{backend:?}: more than one statement's worth"
        );
        txn.commit().await.unwrap();
    }
}
