//! Test support for services: settings for a fresh database and an in-process broker, caller
//! tokens, and a reader of what a service published.

use std::time::Duration;

use alongside_platform::auth::{Caller, Role, TokenSigner};
use alongside_platform::config::{self, ServiceSettings};
use alongside_platform::testing::TestDatabase;
use alongside_platform::OdsCode;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::Message;

use crate::envelope::Envelope;
use crate::mock::MockBroker;

/// Settings for a service under test: its own database, the given broker, a free port.
pub fn settings(service: &str, db: &TestDatabase, brokers: &str) -> ServiceSettings {
    let mut settings: ServiceSettings =
        figment_free_load(&config::service_defaults(service, 0)).expect("embedded defaults are valid");
    settings.database = db.settings();
    settings.kafka.brokers = brokers.to_string();
    settings
}

fn figment_free_load(defaults: &str) -> Result<ServiceSettings, config::ConfigError> {
    // Tests must not pick up the developer's ALONGSIDE_* environment; load defaults alone.
    config::load_defaults_only(defaults)
}

/// A broker with the registry's topics, for one test.
pub fn broker() -> MockBroker {
    let broker = MockBroker::start().expect("mock Kafka cluster");
    broker.create_registry_topics(2).expect("topics");
    broker
}

/// An internal token as the gateway would sign it.
pub fn token(settings: &ServiceSettings, tenant: &str, role: Role) -> String {
    TokenSigner::new(&settings.auth).sign(&Caller {
        subject: format!("usr_test_{}", role.as_str()),
        tenant: OdsCode::parse(tenant).expect("tenant"),
        role,
    })
}

/// Reads `topic` from the beginning until `want` envelopes arrive or `timeout` passes.
pub async fn read_events(brokers: &str, topic: &str, want: usize, timeout: Duration) -> Vec<(Option<Vec<u8>>, Envelope)> {
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("test-reader-{}", uuid::Uuid::now_v7().simple()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("test consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while out.len() < want {
        let Ok(Ok(message)) = tokio::time::timeout_at(deadline, consumer.recv()).await else { break };
        if let Some(payload) = message.payload() {
            if let Ok(envelope) = Envelope::decode(payload) {
                out.push((message.key().map(<[u8]>::to_vec), envelope));
            }
        }
    }
    out
}
