//! Replaying a dead-letter topic: what came from the topic goes back to it as first produced,
//! once; a second replay finds nothing new; what arrives later is replayed next time.

use std::time::Duration;

use alongside_events::mock::MockBroker;
use alongside_events::replay::{replay, Replayed};
use alongside_events::topics::{dlq, FEEDBACK_RESPONSES, PAYMENTS_CLAIMS};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

/// A dead letter as a consumer writes it: the original key, value and headers, and where it
/// came from and why.
async fn dead_letter(producer: &FutureProducer, origin: &str, key: &str, value: &str) {
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "dlq.original.topic",
            value: Some(origin),
        })
        .insert(Header {
            key: "dlq.error",
            value: Some("site: is not one of the trust's sites"),
        })
        .insert(Header {
            key: "event_type",
            value: Some("alongside.feedback.events.v1.FftResponseReceived"),
        });
    producer
        .send(
            FutureRecord::to(&dlq(FEEDBACK_RESPONSES))
                .key(key)
                .payload(value)
                .headers(headers),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_puts_back_what_came_from_the_topic_once() {
    let broker = MockBroker::start().unwrap();
    broker.create_registry_topics(2).unwrap();
    let settings = broker.client_settings(2);
    let producer = alongside_events::kafka::producer(&settings, "test").unwrap();
    dead_letter(&producer, FEEDBACK_RESPONSES, "RZA:kiosk", "first").await;
    dead_letter(&producer, FEEDBACK_RESPONSES, "RZA:sms", "second").await;
    dead_letter(&producer, PAYMENTS_CLAIMS, "ptn_1", "elsewhere").await;

    let done = replay(&settings, FEEDBACK_RESPONSES).await.unwrap();
    assert_eq!(
        done,
        Replayed {
            replayed: 2,
            skipped: 1
        }
    );
    let again = replay(&settings, FEEDBACK_RESPONSES).await.unwrap();
    assert_eq!(again, Replayed::default(), "nothing new: nothing replayed");

    dead_letter(&producer, FEEDBACK_RESPONSES, "RZB:web", "third").await;
    let later = replay(&settings, FEEDBACK_RESPONSES).await.unwrap();
    assert_eq!(later.replayed, 1, "only what arrived since");

    // On the topic: each once, as first produced, without the dead-letter headers.
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::Message;
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .set("group.id", "replay-test-reader")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[FEEDBACK_RESPONSES]).unwrap();
    let mut seen = Vec::new();
    while let Ok(Ok(message)) = tokio::time::timeout(Duration::from_secs(5), consumer.recv()).await
    {
        let headers: Vec<String> = message
            .headers()
            .map(|h| h.iter().map(|h| h.key.to_string()).collect())
            .unwrap_or_default();
        assert_eq!(headers, ["event_type"], "its own headers only");
        seen.push((
            String::from_utf8_lossy(message.key().unwrap()).into_owned(),
            String::from_utf8_lossy(message.payload().unwrap()).into_owned(),
        ));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("RZA:kiosk".to_string(), "first".to_string()),
            ("RZA:sms".to_string(), "second".to_string()),
            ("RZB:web".to_string(), "third".to_string()),
        ]
    );
}
