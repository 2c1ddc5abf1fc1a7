//! The one consumer loop: at-least-once delivery, exactly-once effect.
//!
//! Each event's effect and its `processed_events` row commit in one transaction; the offset is
//! stored only after that commit. Retryable errors back off without advancing; poison messages go
//! to the topic's `.dlq` twin and the consumer moves on.

use std::sync::Arc;
use std::time::Duration;

use alongside_platform::config::KafkaSettings;
use async_trait::async_trait;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::envelope::Envelope;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth trying again (database or dependency unavailable): the offset does not advance.
    #[error("retryable: {0}")]
    Retryable(String),
    /// Will never succeed: the message goes to the dead-letter topic.
    #[error("poison: {0}")]
    Poison(String),
}

impl From<DbErr> for HandlerError {
    fn from(err: DbErr) -> Self {
        HandlerError::Retryable(err.to_string())
    }
}

/// What a service does with one event, inside the transaction that also records it as processed.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Envelope)
        -> Result<(), HandlerError>;

    /// Applies several events, in the order given, in one transaction. The default applies them
    /// one by one; a handler may do it set-wise for speed. Any error rolls the whole batch back,
    /// and the consumer then applies the events one at a time, so a poison event is dead-lettered
    /// alone.
    async fn handle_batch(
        &self,
        txn: &DatabaseTransaction,
        events: &[Envelope],
    ) -> Result<(), HandlerError> {
        for event in events {
            self.handle(txn, event).await?;
        }
        Ok(())
    }
}

/// At most this many messages already fetched are applied in one transaction.
const BATCH_SIZE: usize = 500;

/// What happened to one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    Duplicate,
    DeadLettered,
    /// Shutdown arrived while retrying: the offset must not be stored.
    Interrupted,
}

/// Publishes librdkafka's per-partition consumer lag as a metric.
struct LagContext {
    group: String,
}

impl rdkafka::client::ClientContext for LagContext {
    fn stats(&self, statistics: rdkafka::Statistics) {
        let lag = &alongside_platform::metrics::global().consumer_lag;
        for (topic, stats) in statistics.topics {
            for (partition, stats) in stats.partitions {
                // -1: librdkafka's internal partition, or a lag not known yet.
                if partition >= 0 && stats.consumer_lag >= 0 {
                    lag.get_or_create(&alongside_platform::metrics::LagLabels {
                        group: self.group.clone(),
                        topic: topic.clone(),
                        partition,
                    })
                    .set(stats.consumer_lag);
                }
            }
        }
    }
}

impl rdkafka::consumer::ConsumerContext for LagContext {}

/// How long stopping waits for the consumer to commit and leave its group.
const CLOSE_DEADLINE: Duration = Duration::from_secs(5);

/// Owns the librdkafka consumer and closes it off the async workers with a deadline, however the
/// loop ends (shutdown, an error, or its task dropped with the runtime). Closing commits the
/// stored offsets and leaves the group; librdkafka can block in it indefinitely while a rebalance
/// is under way, so past the deadline the close is left to finish on its own thread and shutdown
/// goes on. Offsets not committed then are redelivered, which the inbox makes a no-op.
struct Closing(Option<StreamConsumer<LagContext>>);

impl std::ops::Deref for Closing {
    type Target = StreamConsumer<LagContext>;

    fn deref(&self) -> &Self::Target {
        self.0
            .as_ref()
            .expect("the consumer is only taken when closing")
    }
}

impl Drop for Closing {
    fn drop(&mut self) {
        let Some(consumer) = self.0.take() else {
            return;
        };
        let group = consumer.context().group.clone();
        let (done, closed) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("kafka-close".into())
            .spawn(move || {
                let _ = consumer.commit_consumer_state(CommitMode::Sync);
                consumer.unsubscribe();
                drop(consumer);
                let _ = done.send(());
            });
        if spawned.is_ok() && closed.recv_timeout(CLOSE_DEADLINE).is_err() {
            tracing::warn!(%group, deadline_s = CLOSE_DEADLINE.as_secs(), "consumer did not close in time; left to close on its own");
        }
    }
}

pub struct Consumer {
    /// The consumer group, and the `consumer` column of `processed_events`: the service's name.
    group: String,
    topics: Vec<String>,
    db: DatabaseConnection,
    handler: Arc<dyn Handler>,
    settings: KafkaSettings,
}

impl Consumer {
    pub fn new(
        group: &str,
        topics: &[&str],
        db: DatabaseConnection,
        handler: Arc<dyn Handler>,
        settings: KafkaSettings,
    ) -> Self {
        Self {
            group: group.to_string(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            db,
            handler,
            settings,
        }
    }

    pub async fn run(self, shutdown: CancellationToken) -> Result<(), rdkafka::error::KafkaError> {
        let consumer: StreamConsumer<LagContext> =
            crate::kafka::client_config(&self.settings, &self.group)
                .set("group.id", &self.group)
                .set("enable.auto.commit", "true")
                .set("auto.commit.interval.ms", "1000")
                // Offsets are stored by hand, only after the effect has committed.
                .set("enable.auto.offset.store", "false")
                .set("auto.offset.reset", "earliest")
                .set("session.timeout.ms", "10000")
                // Also bounds how long a rebalance waits for a member that died without leaving.
                .set("max.poll.interval.ms", "30000")
                // Statistics carry each partition's lag, exported as alongside_consumer_lag.
                .set("statistics.interval.ms", "15000")
                .create_with_context(LagContext {
                    group: self.group.clone(),
                })?;
        let consumer = Closing(Some(consumer));
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
        let dlq_producer = crate::kafka::producer(&self.settings, &format!("{}-dlq", self.group))?;
        tracing::info!(group = %self.group, topics = ?self.topics, "consumer started");

        'poll: loop {
            let message = tokio::select! {
                _ = shutdown.cancelled() => break,
                message = consumer.recv() => message,
            };
            let message = match message {
                Ok(message) => message,
                Err(err) => {
                    tracing::warn!(error = %err, group = %self.group, "consumer error; continuing");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            // What has already been fetched joins it, up to a batch: one transaction for all.
            let mut batch = vec![message];
            while batch.len() < BATCH_SIZE {
                match futures::FutureExt::now_or_never(consumer.recv()) {
                    Some(Ok(message)) => batch.push(message),
                    Some(Err(err)) => {
                        tracing::warn!(error = %err, group = %self.group, "consumer error; continuing");
                        break;
                    }
                    None => break,
                }
            }
            let mut outcomes = self.process_batch(&batch).await;
            for (i, message) in batch.iter().enumerate() {
                let outcome = match outcomes.get_mut(i).and_then(Option::take) {
                    Some(outcome) => outcome,
                    None => self.process(message, &dlq_producer, &shutdown).await,
                };
                let counted = match outcome {
                    Outcome::Interrupted => break 'poll,
                    Outcome::Applied => "applied",
                    Outcome::Duplicate => "duplicate",
                    Outcome::DeadLettered => "dead_lettered",
                };
                alongside_platform::metrics::global().consumed(
                    &self.group,
                    message.topic(),
                    counted,
                );
                if let Err(err) = consumer.store_offset_from_message(message) {
                    tracing::warn!(error = %err, "storing offset failed; the message may be redelivered (a no-op)");
                }
            }
        }
        drop(consumer);
        tracing::info!(group = %self.group, "consumer stopped");
        Ok(())
    }

    /// Applies a batch of several messages in one transaction. Each outcome is `None` when the
    /// batch could not be applied whole (a bad message, an error): those messages are then
    /// processed one by one, which retries or dead-letters each on its own.
    async fn process_batch(&self, batch: &[BorrowedMessage<'_>]) -> Vec<Option<Outcome>> {
        if batch.len() < 2 {
            return vec![None; batch.len()];
        }
        let span = tracing::info_span!(
            "kafka.consume",
            otel.name = %format!("{} process", batch[0].topic()),
            otel.kind = "consumer",
            messaging.system = "kafka",
            messaging.consumer.group.name = %self.group,
            messaging.batch.message_count = batch.len(),
        );
        alongside_platform::telemetry::set_parent(&span, parent_context(&batch[0]));
        let envelopes: Option<Vec<Envelope>> = batch
            .iter()
            .map(|m| Envelope::decode(m.payload().unwrap_or_default()).ok())
            .collect();
        let Some(envelopes) = envelopes else {
            return vec![None; batch.len()];
        };
        match self.apply_batch(&envelopes).instrument(span).await {
            Ok(fresh) => envelopes
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    // The first of two copies in one batch is the one applied.
                    let first =
                        envelopes.iter().position(|o| o.event_id() == e.event_id()) == Some(i);
                    Some(if first && fresh.contains(e.event_id()) {
                        Outcome::Applied
                    } else {
                        Outcome::Duplicate
                    })
                })
                .collect(),
            Err(err) => {
                tracing::debug!(error = %err, size = batch.len(), "batch applied one event at a time instead");
                vec![None; batch.len()]
            }
        }
    }

    /// Applies the events this consumer has not processed yet, in one transaction; returns their ids.
    async fn apply_batch(
        &self,
        envelopes: &[Envelope],
    ) -> Result<std::collections::HashSet<String>, HandlerError> {
        let txn = self.db.begin().await?;
        let ids: Vec<&str> = envelopes.iter().map(Envelope::event_id).collect();
        let fresh = crate::inbox::claim_many(&txn, &self.group, &ids).await?;
        let fresh: std::collections::HashSet<String> = fresh.into_iter().collect();
        let mut seen = std::collections::HashSet::new();
        let todo: Vec<Envelope> = envelopes
            .iter()
            .filter(|e| fresh.contains(e.event_id()) && seen.insert(e.event_id().to_string()))
            .cloned()
            .collect();
        if !todo.is_empty() {
            self.handler.handle_batch(&txn, &todo).await?;
        }
        txn.commit().await?;
        Ok(fresh)
    }

    async fn process(
        &self,
        message: &BorrowedMessage<'_>,
        dlq: &FutureProducer,
        shutdown: &CancellationToken,
    ) -> Outcome {
        let span = tracing::info_span!(
            "kafka.consume",
            otel.name = %format!("{} process", message.topic()),
            otel.kind = "consumer",
            messaging.system = "kafka",
            messaging.destination.name = %message.topic(),
            messaging.consumer.group.name = %self.group,
            messaging.kafka.partition = message.partition(),
            messaging.kafka.offset = message.offset(),
        );
        alongside_platform::telemetry::set_parent(&span, parent_context(message));
        async {
            let envelope = match Envelope::decode(message.payload().unwrap_or_default()) {
                Ok(envelope) => envelope,
                Err(err) => return self.dead_letter(message, dlq, &err.to_string(), shutdown).await,
            };
            let mut backoff = Duration::from_millis(100);
            loop {
                match self.apply(&envelope).await {
                    Ok(true) => return Outcome::Applied,
                    Ok(false) => return Outcome::Duplicate,
                    Err(HandlerError::Poison(reason)) => return self.dead_letter(message, dlq, &reason, shutdown).await,
                    Err(HandlerError::Retryable(reason)) => {
                        tracing::warn!(%reason, event_id = envelope.event_id(), retry_in_ms = backoff.as_millis() as u64, "event delayed");
                        tokio::select! {
                            _ = shutdown.cancelled() => return Outcome::Interrupted,
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Applies the event once: returns false if this consumer had already processed it.
    async fn apply(&self, envelope: &Envelope) -> Result<bool, HandlerError> {
        let txn = self.db.begin().await?;
        if !crate::inbox::claim(&txn, &self.group, envelope.event_id()).await? {
            txn.rollback().await?;
            return Ok(false);
        }
        self.handler.handle(&txn, envelope).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Sends a poison message to the `.dlq` twin with where it came from and why; retries until
    /// the dead-letter topic has it, so nothing is dropped.
    async fn dead_letter(
        &self,
        message: &BorrowedMessage<'_>,
        dlq: &FutureProducer,
        reason: &str,
        shutdown: &CancellationToken,
    ) -> Outcome {
        tracing::error!(topic = message.topic(), partition = message.partition(), offset = message.offset(), %reason, "poison message to dead-letter topic");
        let topic = crate::topics::dlq(message.topic());
        let partition = message.partition().to_string();
        let offset = message.offset().to_string();
        let mut backoff = Duration::from_millis(200);
        loop {
            let mut headers = OwnedHeaders::new()
                .insert(Header {
                    key: "dlq.original.topic",
                    value: Some(message.topic()),
                })
                .insert(Header {
                    key: "dlq.original.partition",
                    value: Some(partition.as_str()),
                })
                .insert(Header {
                    key: "dlq.original.offset",
                    value: Some(offset.as_str()),
                })
                .insert(Header {
                    key: "dlq.consumer.group",
                    value: Some(self.group.as_str()),
                })
                .insert(Header {
                    key: "dlq.error",
                    value: Some(reason),
                });
            if let Some(original) = message.headers() {
                for header in original.iter() {
                    headers = headers.insert(Header {
                        key: header.key,
                        value: header.value,
                    });
                }
            }
            let mut record = FutureRecord::<[u8], [u8]>::to(&topic).headers(headers);
            if let Some(key) = message.key() {
                record = record.key(key);
            }
            if let Some(payload) = message.payload() {
                record = record.payload(payload);
            }
            match dlq.send(record, Duration::from_secs(30)).await {
                Ok(_) => return Outcome::DeadLettered,
                Err((err, _)) => {
                    tracing::warn!(error = %err, "dead-letter topic unavailable; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return Outcome::Interrupted,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
}

fn parent_context(message: &BorrowedMessage<'_>) -> alongside_platform::telemetry::Context {
    let pairs: Vec<(&str, &str)> = message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .filter_map(|h| Some((h.key, std::str::from_utf8(h.value?).ok()?)))
                .collect()
        })
        .unwrap_or_default();
    alongside_platform::telemetry::context_from_pairs(pairs)
}
