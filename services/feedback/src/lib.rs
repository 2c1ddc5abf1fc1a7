//! Feedback: patient-experience analytics: the Friends and Family Test with SPC and suppression,
//! PROMs, the free-text comments' themes and sentiment, and complaints with their learning. Responses arrive by gRPC batch or on
//! `feedback.responses.v1`; a response id is counted once.

mod api;
pub mod comments;
mod comments_api;
pub mod compare;
pub mod complaints;
pub mod fft;
mod ingest;
pub mod insights;
pub mod involvement;
mod place_admin;
pub mod places;
pub mod prom_release;
mod prom_store;
pub mod proms;
pub mod protection;
pub mod release;
pub mod response;
pub mod rollup;
pub mod spc;
pub mod stream_keys;
pub mod suppression;
pub mod survey;
pub mod tenants;
pub mod themes;
mod trust_view;

use std::sync::Arc;

use alongside_events::runtime::{Running, ServiceRuntime, StartError};
use alongside_events::topics::{ENGAGEMENT_ACTIVITIES, FEEDBACK_RESPONSES};
use alongside_platform::config::ServiceSettings;
use alongside_proto::feedback::v1::feedback_service_server::FeedbackServiceServer;
use sea_orm_migration::prelude::*;
use tokio_util::sync::CancellationToken;

pub const SERVICE: &str = "feedback";
pub const DEFAULT_PORT: u16 = 50053;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(alongside_events::migration::m20261123_000001_outbox_inbox::Migration),
            Box::new(response::migration::Migration),
            Box::new(response::comments_migration::Migration),
            Box::new(prom_store::migration::Migration),
            Box::new(alongside_platform::audit::AuditMigration),
            Box::new(comments::migration::Migration),
            Box::new(themes::migration::Migration),
            Box::new(rollup::migration::Migration),
            Box::new(complaints::migration::Migration),
            Box::new(survey::migration::Migration),
            Box::new(insights::migration::Migration),
            Box::new(comments::pathway_migration::Migration),
            Box::new(involvement::migration::Migration),
            Box::new(tenants::migration::Migration),
            Box::new(stream_keys::migration::Migration),
            Box::new(places::migration::Migration),
            Box::new(places::announce_migration::Migration),
            Box::new(release::migration::Migration),
        ]
    }
}

/// What feedback reads: responses, and engagement's attendance for the stream's involvement.
struct FeedbackEvents {
    responses: ingest::ResponsesFromTopic,
}

#[async_trait::async_trait]
impl alongside_events::Handler for FeedbackEvents {
    async fn handle(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        event: &alongside_events::Envelope,
    ) -> Result<(), alongside_events::HandlerError> {
        self.handle_batch(txn, std::slice::from_ref(event)).await
    }

    async fn handle_batch(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        events: &[alongside_events::Envelope],
    ) -> Result<(), alongside_events::HandlerError> {
        // Engagement's other events (opportunities, assignments) are not involvement time.
        let (engagement, responses): (Vec<_>, Vec<_>) = events
            .iter()
            .partition(|e| e.event_type().starts_with("alongside.engagement."));
        let attendance: Vec<_> = engagement
            .into_iter()
            .filter(|e| involvement::is_attendance(e))
            .collect();
        involvement::store(txn, &attendance).await?;
        if responses.len() == events.len() {
            return self.responses.handle_batch(txn, events).await;
        }
        let responses: Vec<_> = responses.into_iter().cloned().collect();
        self.responses.handle_batch(txn, &responses).await
    }
}

/// The `republish` command: marks every month with figures, for the running service to publish
/// again.
pub fn republish() -> alongside_events::runtime::Republish {
    Box::new(|db| {
        Box::pin(async move {
            let (trusts, months) = insights::mark_all(&db).await?;
            Ok(format!(
                "{months} months of {trusts} trusts marked; the running service publishes them \
                 again within seconds"
            ))
        })
    })
}

/// Starts the service: storage, outbox relay (the analytics stream), the responses consumer and
/// the gRPC API.
pub async fn start(
    settings: ServiceSettings,
    shutdown: CancellationToken,
) -> Result<Running, StartError> {
    let mut runtime = ServiceRuntime::prepare::<Migrator>(SERVICE, settings, shutdown).await?;
    let models = themes::ThemeModels::new(runtime.db.clone(), runtime.clock.clone());
    runtime.consume(
        &[FEEDBACK_RESPONSES, ENGAGEMENT_ACTIVITIES],
        Arc::new(FeedbackEvents {
            responses: ingest::ResponsesFromTopic {
                models: models.clone(),
                clock: runtime.clock.clone(),
            },
        }),
    );
    let (db, m) = (runtime.db.clone(), models.clone());
    runtime.spawn(move |shutdown| themes::run_trainer(db, m, shutdown));
    let (db, m) = (runtime.db.clone(), models.clone());
    runtime.spawn(move |shutdown| themes::run_labeller(db, m, shutdown));
    if runtime.settings.kafka.republish_on_start {
        let (trusts, months) = insights::mark_all(&runtime.db).await?;
        tracing::info!(trusts, months, "current figures to be published again");
    }
    let (db, outbox) = (runtime.db.clone(), runtime.outbox.clone());
    let publication = release::Publication {
        settings: runtime.settings.publication.clone(),
        clock: runtime.clock.clone(),
    };
    runtime.spawn(move |shutdown| insights::run_publisher(db, outbox, publication, shutdown));
    let announced = places::announce_earlier(&runtime.db, &runtime.outbox).await?;
    if announced > 0 {
        tracing::info!(
            places = announced,
            "places listed earlier announced to the other services"
        );
    }
    let api = api::FeedbackApi::new(
        runtime.db.clone(),
        runtime.outbox.clone(),
        models,
        runtime.clock.clone(),
        runtime.settings.publication.clone(),
    );
    let service = FeedbackServiceServer::with_interceptor(api, runtime.interceptor());
    runtime.serve(service).await
}
