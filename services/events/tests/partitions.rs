//! Keys land on the partitions Java's Kafka clients choose: murmur2 of the key bytes, made
//! positive, modulo the partition count (Kafka's `BuiltInPartitioner.partitionForKey`), so a
//! data team's Kafka Streams joins and their own producers agree with where Alongside puts a key.

use std::time::Duration;

use alongside_events::mock::MockBroker;
use alongside_events::topics::FEEDBACK_INSIGHTS;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::FutureRecord;
use rdkafka::Message;

/// Kafka's `Utils.murmur2`, as Java computes it.
fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        for (i, b) in rest.iter().enumerate().rev() {
            h ^= u32::from(*b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition a Java producer chooses for `key` among `partitions`.
fn java_partition(key: &str, partitions: i32) -> i32 {
    (murmur2(key.as_bytes()) & 0x7fff_ffff) % partitions
}

#[test]
fn murmur2_is_kafkas() {
    // Kafka's own cases (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java).
    for (key, hash) in [
        ("21", -973_932_308),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        (
            "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        ("abc", 479_470_107),
    ] {
        assert_eq!(murmur2(key.as_bytes()), hash, "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_lands_where_a_java_client_would_put_it() {
    const PARTITIONS: i32 = 6;
    let broker = MockBroker::start().unwrap();
    broker.create_registry_topics(PARTITIONS).unwrap();
    let settings = broker.client_settings(PARTITIONS);
    let producer = alongside_events::kafka::producer(&settings, "partition-test").unwrap();
    let keys: Vec<String> = (0..60)
        .map(|i| format!("RZA/fft/2026-{:02}/Site {i}/", i % 12 + 1))
        .chain(["RZA/spc/fft-positive".to_string(), "ptn_01".to_string()])
        .collect();
    for key in &keys {
        producer
            .send(
                FutureRecord::to(FEEDBACK_INSIGHTS).key(key).payload("x"),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .set("group.id", "partition-test-reader")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[FEEDBACK_INSIGHTS]).unwrap();
    let mut seen = 0;
    let mut partitions_used = std::collections::BTreeSet::new();
    while seen < keys.len() {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("every message read back")
            .unwrap();
        let key = std::str::from_utf8(message.key().unwrap()).unwrap();
        assert_eq!(
            message.partition(),
            java_partition(key, PARTITIONS),
            "{key} is where Java would put it"
        );
        partitions_used.insert(message.partition());
        seen += 1;
    }
    assert!(
        partitions_used.len() > 1,
        "keys spread: {partitions_used:?}"
    );
}
