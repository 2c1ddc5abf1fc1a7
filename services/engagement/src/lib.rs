//! Engagement: opportunities for partners, who is assigned, and the time they give. Knows partners
//! only through its read model of `people.partners.v1`, and the trust's places through its read
//! model of `feedback.places.v1`.

mod api;
mod export;
mod forums;
pub mod impact;
mod partner_side;
mod partners;
pub mod report;
mod requests;
pub mod schema;
pub mod shortlist;
pub mod store;
pub mod tallies;
mod validate;

use std::sync::Arc;

use alongside_events::places::WithPlaces;
use alongside_events::runtime::{Running, ServiceRuntime, StartError};
use alongside_events::topics::{FEEDBACK_PLACES, PEOPLE_PARTNERS};
use alongside_platform::config::ServiceSettings;
use alongside_proto::engagement::v1::engagement_service_server::EngagementServiceServer;
use sea_orm_migration::prelude::*;
use tokio_util::sync::CancellationToken;

pub const SERVICE: &str = "engagement";
pub const DEFAULT_PORT: u16 = 50052;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(alongside_events::migration::m20261123_000001_outbox_inbox::Migration),
            Box::new(store::migration::Migration),
            Box::new(store::eligibility_migration::Migration),
            Box::new(store::contact_migration::Migration),
            Box::new(store::payment_fields_migration::Migration),
            Box::new(store::filled_migration::Migration),
            Box::new(shortlist::migration::Migration),
            Box::new(store::cancellation_migration::Migration),
            Box::new(impact::migration::Migration),
            Box::new(schema::migration::Migration),
            Box::new(schema::index_migration::Migration),
            Box::new(tallies::migration::Migration),
            Box::new(alongside_events::places::migration::Migration),
        ]
    }
}

/// Starts the service: storage, outbox relay, the partner read model consumer and the gRPC API.
pub async fn start(
    settings: ServiceSettings,
    shutdown: CancellationToken,
) -> Result<Running, StartError> {
    let mut runtime = ServiceRuntime::prepare::<Migrator>(SERVICE, settings, shutdown).await?;
    runtime.consume(
        &[PEOPLE_PARTNERS, FEEDBACK_PLACES],
        Arc::new(WithPlaces(partners::PartnerReadModel::new(
            runtime.clock.clone(),
        ))),
    );
    let api = api::EngagementApi::new(
        runtime.db.clone(),
        runtime.outbox.clone(),
        runtime.clock.clone(),
    );
    let service = EngagementServiceServer::with_interceptor(api, runtime.interceptor());
    runtime.serve(service).await
}
