//! Kafka clients configured from settings, and topic creation from the registry.

use std::time::Duration;

use alongside_platform::config::KafkaSettings;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::FutureProducer;
use rdkafka::ClientConfig;
use secrecy::ExposeSecret;

/// The common client configuration: brokers and security.
pub fn client_config(settings: &KafkaSettings, client_id: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.brokers)
        .set("client.id", client_id)
        .set("security.protocol", &settings.security_protocol);
    if let Some(mechanism) = &settings.sasl_mechanism {
        config.set("sasl.mechanism", mechanism);
    }
    if let Some(username) = &settings.sasl_username {
        config.set("sasl.username", username);
    }
    if let Some(password) = &settings.sasl_password {
        config.set("sasl.password", password.expose_secret());
    }
    if let Some(ca) = &settings.ssl_ca_location {
        config.set("ssl.ca.location", ca);
    }
    config
}

/// An idempotent producer: retries never duplicate or reorder within a partition. Keys go to
/// the partitions Java clients and Kafka Streams choose (murmur2 of the key, as Kafka's
/// default partitioner), so a data team's own producers and joins agree with ours.
pub fn producer(settings: &KafkaSettings, client_id: &str) -> Result<FutureProducer, KafkaError> {
    client_config(settings, client_id)
        .set("partitioner", "murmur2_random")
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "30000")
        .create()
}

/// Creates every registry topic and its `.dlq` twin; topics that exist already are left alone.
pub async fn create_topics(settings: &KafkaSettings) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> =
        client_config(settings, "alongside-admin").create()?;
    let specs = crate::topics::specs();
    let configs: Vec<_> = specs.iter().map(|spec| spec.configs()).collect();
    let topics: Vec<NewTopic> = specs
        .iter()
        .zip(&configs)
        .map(|(spec, configs)| {
            configs.iter().fold(
                NewTopic::new(
                    &spec.name,
                    settings.partitions,
                    TopicReplication::Fixed(settings.replication_factor),
                ),
                |topic, (key, value)| topic.set(key, value),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&topics, &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(KafkaError::AdminOp(code))
                    .inspect_err(|_| tracing::error!(%topic, ?code, "topic not created"))
            }
        }
    }
    Ok(())
}

/// Creates the topics, retrying while the broker is still starting.
pub async fn create_topics_with_retry(
    settings: &KafkaSettings,
    timeout: Duration,
) -> Result<(), KafkaError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match create_topics(settings).await {
            Ok(()) => return Ok(()),
            Err(err) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %err, "creating topics; broker not ready yet");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(err) => return Err(err),
        }
    }
}
