//! Payments: claims for involvement payments, created from confirmed attendance exactly once and
//! priced by the tenant's rate card. Money is integer pence.

mod api;
pub mod claim;
mod claims_from_attendance;
pub mod rate_card;

use std::sync::Arc;

use alongside_events::runtime::{Running, ServiceRuntime, StartError};
use alongside_events::topics::ENGAGEMENT_ACTIVITIES;
use alongside_platform::config::ServiceSettings;
use alongside_proto::payments::v1::payments_service_server::PaymentsServiceServer;
use sea_orm_migration::prelude::*;
use tokio_util::sync::CancellationToken;

pub const SERVICE: &str = "payments";
pub const DEFAULT_PORT: u16 = 50054;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(alongside_events::migration::m20261123_000001_outbox_inbox::Migration),
            Box::new(alongside_platform::audit::AuditMigration),
            Box::new(claim::migration::Migration),
        ]
    }
}

/// Starts the service: storage, outbox relay, the attendance consumer and the gRPC API.
pub async fn start(
    settings: ServiceSettings,
    shutdown: CancellationToken,
) -> Result<Running, StartError> {
    let mut runtime = ServiceRuntime::prepare::<Migrator>(SERVICE, settings, shutdown).await?;
    runtime.consume(
        &[ENGAGEMENT_ACTIVITIES],
        Arc::new(claims_from_attendance::ClaimsFromAttendance::new(
            runtime.outbox.clone(),
        )),
    );
    let api = api::PaymentsApi::new(runtime.db.clone());
    let service = PaymentsServiceServer::with_interceptor(api, runtime.interceptor());
    runtime.serve(service).await
}
