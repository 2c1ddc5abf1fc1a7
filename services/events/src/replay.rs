//! Replaying a dead-letter topic after a fix: every message waiting on `<topic>.dlq` that came
//! from `<topic>` is produced again to it, as it was first produced (key, value and its own
//! headers; the `dlq.*` ones dropped), and the replay's place is kept in its own consumer group,
//! so running it again replays only what arrived since. Consumers take an event once (the
//! inbox), so a message replayed twice still has its effect once.

use std::time::Duration;

use alongside_platform::config::KafkaSettings;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset, TopicPartitionList};

/// What a replay did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Replayed {
    /// Produced again to the topic.
    pub replayed: u64,
    /// On the `.dlq` but from another topic (left where they are).
    pub skipped: u64,
}

/// The consumer group a replay of `topic` keeps its place in.
pub fn group(topic: &str) -> String {
    format!("alongside-replay-{topic}")
}

/// Replays what waits on `topic`'s `.dlq` (up to what it held when the replay began).
pub async fn replay(settings: &KafkaSettings, topic: &str) -> Result<Replayed, KafkaError> {
    let dlq = crate::topics::dlq(topic);
    let consumer: StreamConsumer = crate::kafka::client_config(settings, "alongside-replay")
        .set("group.id", group(topic))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    let producer = crate::kafka::producer(settings, "alongside-replay")?;
    let timeout = Duration::from_secs(10);
    // Where each partition ends now: what arrives later waits for the next replay.
    let metadata = consumer.fetch_metadata(Some(&dlq), timeout)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let mut remaining = Vec::new();
    let committed = consumer.committed_offsets(
        {
            let mut list = TopicPartitionList::new();
            for p in &partitions {
                list.add_partition(&dlq, *p);
            }
            list
        },
        timeout,
    )?;
    for p in &partitions {
        let (low, high) = consumer.fetch_watermarks(&dlq, *p, timeout)?;
        let from = match committed.find_partition(&dlq, *p).map(|e| e.offset()) {
            Some(Offset::Offset(at)) => at.max(low),
            _ => low,
        };
        if from < high {
            remaining.push((*p, from, high));
        }
    }
    let mut out = Replayed::default();
    if remaining.is_empty() {
        return Ok(out);
    }
    let mut assignment = TopicPartitionList::new();
    for (p, from, _) in &remaining {
        assignment.add_partition_offset(&dlq, *p, Offset::Offset(*from))?;
    }
    consumer.assign(&assignment)?;
    let mut ends: std::collections::HashMap<i32, i64> =
        remaining.iter().map(|(p, _, high)| (*p, *high)).collect();
    while !ends.is_empty() {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .map_err(|_| KafkaError::NoMessageReceived)??;
        let (partition, offset) = (message.partition(), message.offset());
        let Some(&end) = ends.get(&partition) else {
            continue;
        };
        if offset >= end {
            continue;
        }
        let mut origin = None;
        let mut headers = OwnedHeaders::new();
        if let Some(hs) = message.headers() {
            for h in hs.iter() {
                if h.key == "dlq.original.topic" {
                    origin = h.value.map(|v| String::from_utf8_lossy(v).into_owned());
                } else if !h.key.starts_with("dlq.") {
                    headers = headers.insert(Header {
                        key: h.key,
                        value: h.value,
                    });
                }
            }
        }
        if origin.as_deref() == Some(topic) {
            let mut record = FutureRecord::<[u8], [u8]>::to(topic).headers(headers);
            if let Some(key) = message.key() {
                record = record.key(key);
            }
            if let Some(payload) = message.payload() {
                record = record.payload(payload);
            }
            producer
                .send(record, Duration::from_secs(30))
                .await
                .map_err(|(e, _)| e)?;
            out.replayed += 1;
        } else {
            out.skipped += 1;
        }
        // Its place is kept only once it is on the topic again: an interrupted replay resumes.
        consumer.commit_message(&message, CommitMode::Sync)?;
        if offset + 1 >= end {
            ends.remove(&partition);
        }
    }
    Ok(out)
}
