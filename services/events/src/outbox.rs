//! The transactional outbox: a service writes its state change and the event in one transaction;
//! the relay publishes with an idempotent producer and marks rows sent. A broker outage delays
//! events; it never loses them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use alongside_platform::clock::{Clock, SystemClock};
use alongside_platform::{OdsCode, SharedClock};
use alongside_proto::EventName;
use futures::future::join_all;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait, QueryOrder, QuerySelect};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::envelope::Envelope;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub event_id: String,
    pub topic: String,
    pub partition_key: String,
    pub payload: Vec<u8>,
    /// JSON object of Kafka headers (the W3C trace context of the request that caused the event).
    pub headers: String,
    pub created_at: String,
    pub sent_at: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Writes events into the outbox inside the caller's transaction, and wakes the relay after commit.
/// Events are stamped by the service's clock; the outbox's own bookkeeping by the system's.
#[derive(Clone)]
pub struct Outbox {
    wake: Arc<Notify>,
    clock: SharedClock,
}

impl Outbox {
    pub fn new(clock: SharedClock) -> Self {
        Self {
            wake: Arc::default(),
            clock,
        }
    }

    /// Adds `event` for `tenant` to the outbox, in the transaction `txn` of the state change.
    pub async fn enqueue<E: EventName>(
        &self,
        txn: &impl ConnectionTrait,
        topic: &str,
        key: &str,
        tenant: &OdsCode,
        event: &E,
    ) -> Result<String, DbErr> {
        let envelope = Envelope::new(tenant, event, self.clock.now());
        let mut headers = alongside_platform::telemetry::current_context_headers();
        headers.insert("event_type".into(), E::EVENT_TYPE.into());
        headers.insert("tenant_id".into(), tenant.to_string());
        let row = ActiveModel {
            event_id: Set(envelope.event_id().to_string()),
            topic: Set(topic.to_string()),
            partition_key: Set(key.to_string()),
            payload: Set(envelope.encode()),
            headers: Set(serde_json::to_string(&headers).unwrap_or_else(|_| "{}".into())),
            created_at: Set(SystemClock.now_rfc3339()),
            sent_at: Set(None),
            ..Default::default()
        };
        Entity::insert(row).exec_without_returning(txn).await?;
        Ok(envelope.event_id().to_string())
    }

    /// Adds several events in one statement: (topic, key, tenant, event) each.
    pub async fn enqueue_many<E: EventName>(
        &self,
        txn: &impl ConnectionTrait,
        events: &[(&str, &str, &OdsCode, E)],
    ) -> Result<(), DbErr> {
        if events.is_empty() {
            return Ok(());
        }
        let mut headers = alongside_platform::telemetry::current_context_headers();
        headers.insert("event_type".into(), E::EVENT_TYPE.into());
        let created_at = SystemClock.now_rfc3339();
        let occurred_at = self.clock.now();
        let rows = events.iter().map(|(topic, key, tenant, event)| {
            let envelope = Envelope::new(tenant, event, occurred_at);
            let mut headers = headers.clone();
            headers.insert("tenant_id".into(), tenant.to_string());
            ActiveModel {
                event_id: Set(envelope.event_id().to_string()),
                topic: Set((*topic).to_owned()),
                partition_key: Set((*key).to_owned()),
                payload: Set(envelope.encode()),
                headers: Set(serde_json::to_string(&headers).unwrap_or_else(|_| "{}".into())),
                created_at: Set(created_at.clone()),
                sent_at: Set(None),
                ..Default::default()
            }
        });
        // Bounded statements: SQLite takes at most 32,766 parameters in one, PostgreSQL 65,535.
        let rows: Vec<ActiveModel> = rows.collect();
        for chunk in rows.chunks(1_000) {
            Entity::insert_many(chunk.to_vec())
                .exec_without_returning(txn)
                .await?;
        }
        Ok(())
    }

    /// Adds tombstones (a key with no value), so a compacted topic forgets each key: (topic,
    /// key, tenant) each. Stored as a row with an empty payload, which no event ever has.
    pub async fn tombstones(
        &self,
        txn: &impl ConnectionTrait,
        keys: &[(&str, &str, &OdsCode)],
    ) -> Result<(), DbErr> {
        let created_at = SystemClock.now_rfc3339();
        let mut headers = alongside_platform::telemetry::current_context_headers();
        headers.insert("event_type".into(), "tombstone".into());
        let rows: Vec<ActiveModel> = keys
            .iter()
            .map(|(topic, key, tenant)| {
                let mut headers = headers.clone();
                headers.insert("tenant_id".into(), tenant.to_string());
                ActiveModel {
                    event_id: Set(uuid::Uuid::now_v7().to_string()),
                    topic: Set((*topic).to_owned()),
                    partition_key: Set((*key).to_owned()),
                    payload: Set(Vec::new()),
                    headers: Set(serde_json::to_string(&headers).unwrap_or_else(|_| "{}".into())),
                    created_at: Set(created_at.clone()),
                    sent_at: Set(None),
                    ..Default::default()
                }
            })
            .collect();
        for chunk in rows.chunks(1_000) {
            Entity::insert_many(chunk.to_vec())
                .exec_without_returning(txn)
                .await?;
        }
        Ok(())
    }

    /// Tells the relay there is something to send; call after the transaction commits.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Rows not yet published (for readiness and metrics).
    pub async fn depth(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
        Entity::find()
            .filter(Column::SentAt.is_null())
            .count(db)
            .await
    }
}

/// Publishes outbox rows in order and marks them sent.
pub struct OutboxRelay {
    service: &'static str,
    db: DatabaseConnection,
    producer: FutureProducer,
    outbox: Outbox,
    batch_size: u64,
}

impl OutboxRelay {
    pub fn new(
        service: &'static str,
        db: DatabaseConnection,
        producer: FutureProducer,
        outbox: Outbox,
    ) -> Self {
        Self {
            service,
            db,
            producer,
            outbox,
            batch_size: 500,
        }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(200);
        loop {
            match self.publish_batch().await {
                Ok(sent) if sent as u64 == self.batch_size => continue,
                Ok(_) => {
                    // A whole pass published everything that was waiting.
                    self.set_pending(0);
                    backoff = Duration::from_millis(200);
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = self.outbox.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
                Err(err) => {
                    if let Ok(pending) = Entity::find()
                        .filter(Column::SentAt.is_null())
                        .count(&self.db)
                        .await
                    {
                        self.set_pending(pending);
                    }
                    tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "outbox relay: publishing delayed");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    fn set_pending(&self, pending: u64) {
        alongside_platform::metrics::global()
            .outbox_pending
            .get_or_create(&alongside_platform::metrics::ServiceLabels {
                service: self.service.to_string(),
            })
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }

    /// Publishes one batch; returns how many rows it marked sent.
    pub async fn publish_batch(&self) -> Result<usize, RelayError> {
        let rows = Entity::find()
            .filter(Column::SentAt.is_null())
            .order_by_asc(Column::Id)
            .limit(self.batch_size)
            .all(&self.db)
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let deliveries = rows.iter().map(|row| {
            let header_map: HashMap<String, String> =
                serde_json::from_str(&row.headers).unwrap_or_default();
            let mut headers = OwnedHeaders::new();
            for (key, value) in &header_map {
                headers = headers.insert(Header {
                    key,
                    value: Some(value.as_str()),
                });
            }
            let mut record = FutureRecord::<String, Vec<u8>>::to(&row.topic)
                .key(&row.partition_key)
                .headers(headers);
            // An empty payload is a tombstone: the key with no value.
            if !row.payload.is_empty() {
                record = record.payload(&row.payload);
            }
            self.producer.send(record, Duration::from_secs(30))
        });
        let results = join_all(deliveries).await;
        let mut sent = Vec::new();
        let mut first_error = None;
        for (row, result) in rows.iter().zip(results) {
            match result {
                Ok(_) => sent.push(row.id),
                Err((err, _)) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        if !sent.is_empty() {
            Entity::update_many()
                .col_expr(Column::SentAt, Expr::value(SystemClock.now_rfc3339()))
                .filter(Column::Id.is_in(sent.clone()))
                .exec(&self.db)
                .await?;
        }
        alongside_platform::metrics::global()
            .outbox_published
            .get_or_create(&alongside_platform::metrics::ServiceLabels {
                service: self.service.to_string(),
            })
            .inc_by(sent.len() as u64);
        match first_error {
            Some(err) => Err(RelayError::Kafka(err)),
            None => Ok(sent.len()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
}
