//! Payments (DOMAIN.md §5): partners paid fairly, on time and exactly once. Confirmed attendance
//! becomes a claim priced by the trust's rate card and the partner's own choice; partners claim
//! expenses with receipts and mileage; finance approve, run payments and confirm them; every
//! change is a balanced ledger journal. Money is integer pence.
//!
//! Pure rules: `rate_card`, `pricing`, `mileage`, `ledger` journals, `benefits`, `receipt`.
//! Storage: `claim`, `ledger`, `store`. Events in: `claims_from_attendance`, `partners`.
//! The gRPC API: `api`.

mod api;
pub mod benefits;
pub mod claim;
mod claims_from_attendance;
pub mod controls;
pub mod ledger;
pub mod mileage;
mod partners;
pub mod pricing;
pub mod rate_card;
pub mod receipt;
pub mod spend;
pub mod store;

use std::sync::Arc;

use alongside_events::places::WithPlaces;
use alongside_events::runtime::{Running, ServiceRuntime, StartError};
use alongside_events::topics::{ENGAGEMENT_ACTIVITIES, FEEDBACK_PLACES, PEOPLE_PARTNERS};
use alongside_platform::config::ServiceSettings;
use alongside_proto::payments::v1::payments_service_server::PaymentsServiceServer;
use sea_orm_migration::prelude::*;
use tokio_util::sync::CancellationToken;

pub use claims_from_attendance::PaymentsEvents;

pub const SERVICE: &str = "payments";
pub const DEFAULT_PORT: u16 = 50054;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(alongside_events::migration::m20261123_000001_outbox_inbox::Migration),
            Box::new(alongside_platform::audit::AuditMigration),
            Box::new(claim::migration::Migration),
            Box::new(claim::expand_migration::Migration),
            Box::new(store::migration::Migration),
            Box::new(controls::migration::Migration),
            Box::new(alongside_events::places::migration::Migration),
        ]
    }
}

/// Starts the service: storage, outbox relay, the consumer of attendance and partners, and the
/// gRPC API.
pub async fn start(
    settings: ServiceSettings,
    shutdown: CancellationToken,
) -> Result<Running, StartError> {
    let mut runtime = ServiceRuntime::prepare::<Migrator>(SERVICE, settings, shutdown).await?;
    runtime.consume(
        &[ENGAGEMENT_ACTIVITIES, PEOPLE_PARTNERS, FEEDBACK_PLACES],
        Arc::new(WithPlaces(PaymentsEvents::new(
            runtime.outbox.clone(),
            runtime.clock.clone(),
        ))),
    );
    let api = api::PaymentsApi::new(
        runtime.db.clone(),
        runtime.outbox.clone(),
        runtime.clock.clone(),
    );
    // Expense claims carry their receipts (up to 5 MB each, several a claim).
    let service = tonic::service::interceptor::InterceptedService::new(
        PaymentsServiceServer::new(api).max_decoding_message_size(64 * 1024 * 1024),
        runtime.interceptor(),
    );
    runtime.serve(service).await
}
