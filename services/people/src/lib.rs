//! The People Bank: partners' records. Personal data stays here; other services learn of partners
//! only from `people.partners.v1`, which never carries contact details.

mod api;
pub mod consent;
pub mod equality;
pub mod equality_release;
pub mod history;
pub mod partner;
pub mod pipeline;
pub mod profile;
pub mod roles;
pub mod sealed;
pub mod support;
mod validate;

use alongside_events::runtime::{Running, ServiceRuntime, StartError};
use alongside_platform::config::ServiceSettings;
use alongside_proto::people::v1::people_service_server::PeopleServiceServer;
use sea_orm_migration::prelude::*;
use tokio_util::sync::CancellationToken;

pub const SERVICE: &str = "people";
pub const DEFAULT_PORT: u16 = 50051;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(alongside_events::migration::m20261123_000001_outbox_inbox::Migration),
            Box::new(alongside_platform::audit::AuditMigration),
            Box::new(partner::migration::Migration),
            Box::new(history::migration::Migration),
            Box::new(roles::migration::Migration),
            Box::new(partner::search_migration::Migration),
            Box::new(profile::migration::Migration),
            Box::new(consent::migration::Migration),
            Box::new(support::migration::Migration),
            Box::new(equality::migration::Migration),
            Box::new(partner::ics_migration::Migration),
            Box::new(profile::address_migration::Migration),
            Box::new(equality::population_migration::Migration),
            Box::new(profile::benefits_migration::Migration),
            Box::new(partner::shared_from_migration::Migration),
            Box::new(equality_release::migration::Migration),
        ]
    }
}

/// Starts the service: storage, outbox relay and the gRPC API.
pub async fn start(
    settings: ServiceSettings,
    shutdown: CancellationToken,
) -> Result<Running, StartError> {
    // People alone holds bank details, and does not start without the key that seals them
    // (`auth.bank_details_key`, or ALONGSIDE_BANK_DETAILS_KEY).
    alongside_platform::config::check_key(
        "auth.bank_details_key",
        &settings.auth.bank_details_key,
    )?;
    let sealer = sealed::Sealer::new(&settings.auth.bank_details_key).map_err(|e| {
        alongside_platform::config::ConfigError::Invalid {
            key: sealed::KEY_VARIABLE,
            reason: e.to_string(),
        }
    })?;
    let runtime = ServiceRuntime::prepare::<Migrator>(SERVICE, settings, shutdown).await?;
    let api = api::PeopleApi::new(
        runtime.db.clone(),
        runtime.outbox.clone(),
        sealer,
        runtime.clock.clone(),
    );
    let service = PeopleServiceServer::with_interceptor(api, runtime.interceptor());
    runtime.serve(service).await
}
