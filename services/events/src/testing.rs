//! Test support for services: settings for a fresh database and an in-process broker, caller
//! tokens, and a reader of what a service published.

use std::time::Duration;

use alongside_platform::auth::{Caller, Role, TokenSigner};
use alongside_platform::config::{self, ServiceSettings};
use alongside_platform::testing::TestDatabase;
use alongside_platform::{OdsCode, SharedClock};
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::Message;

use crate::envelope::Envelope;
use crate::mock::MockBroker;

/// Settings for a service under test: its own database, the given broker, a free port. Only the
/// embedded defaults: tests must not pick up the developer's ALONGSIDE_* environment.
/// The clock is on the day `ALONGSIDE_TEST_TODAY` names, when it is set.
pub fn settings(service: &str, db: &TestDatabase, brokers: &str) -> ServiceSettings {
    let mut settings = config::embedded_service_settings(
        service,
        &db.url,
        brokers,
        &alongside_platform::testing::keys(),
    )
    .expect("embedded defaults are valid");
    settings.clock = alongside_platform::testing::clock_settings();
    // Tests read the months they have just written: released at once, revised on change.
    settings.publication = config::PublicationSettings::at_once();
    settings
}

/// A broker with the registry's topics, for one test.
pub fn broker() -> MockBroker {
    let broker = MockBroker::start().expect("mock Kafka cluster");
    broker.create_registry_topics(2).expect("topics");
    broker
}

/// An internal token as the gateway would sign it.
pub fn token(settings: &ServiceSettings, tenant: &str, role: Role) -> String {
    token_for(
        settings,
        tenant,
        role,
        &format!("usr_test_{}", role.as_str()),
    )
}

/// An internal token for a given subject (a partner's own id, for a partner).
pub fn token_for(settings: &ServiceSettings, tenant: &str, role: Role, subject: &str) -> String {
    TokenSigner::new(&settings.auth).sign(&Caller {
        subject: subject.to_string(),
        tenant: OdsCode::parse(tenant).expect("tenant"),
        role,
        ics: None,
    })
}

/// An internal token of a user whose trust belongs to the ICS `ics`.
pub fn token_in_ics(settings: &ServiceSettings, tenant: &str, ics: &str, role: Role) -> String {
    TokenSigner::new(&settings.auth).sign(&Caller {
        subject: format!("usr_test_{}_{tenant}", role.as_str()),
        tenant: OdsCode::parse(tenant).expect("tenant"),
        role,
        ics: Some(OdsCode::parse(ics).expect("ics")),
    })
}

/// A consumer of its own group reading `topic` from its beginning.
fn reader(brokers: &str, topic: &str) -> StreamConsumer {
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set(
            "group.id",
            format!("test-reader-{}", uuid::Uuid::now_v7().simple()),
        )
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("test consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

/// Every record on `topic` until none arrives for `idle`: (key, value), a tombstone's value
/// `None`.
pub async fn read_records(
    brokers: &str,
    topic: &str,
    idle: Duration,
) -> Vec<(String, Option<Vec<u8>>)> {
    let consumer = reader(brokers, topic);
    let mut out = Vec::new();
    while let Ok(Ok(message)) = tokio::time::timeout(idle, consumer.recv()).await {
        let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        out.push((key, message.payload().map(<[u8]>::to_vec)));
    }
    out
}

/// The reasons (`dlq.error` headers) of the first `want` messages on `topic`'s `.dlq` twin.
pub async fn read_dead_letters(
    brokers: &str,
    topic: &str,
    want: usize,
    timeout: Duration,
) -> Vec<String> {
    read_headers(brokers, &crate::topics::dlq(topic), want, timeout)
        .await
        .into_iter()
        .map(|headers| headers.get("dlq.error").cloned().unwrap_or_default())
        .collect()
}

/// The Kafka headers of the first `want` messages on `topic`, read from its beginning (fewer when
/// `timeout` passes first).
pub async fn read_headers(
    brokers: &str,
    topic: &str,
    want: usize,
    timeout: Duration,
) -> Vec<std::collections::HashMap<String, String>> {
    use rdkafka::message::Headers;
    let consumer = reader(brokers, topic);
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while out.len() < want {
        let Ok(Ok(message)) = tokio::time::timeout_at(deadline, consumer.recv()).await else {
            break;
        };
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| {
                        let value = h.value.map(String::from_utf8_lossy).unwrap_or_default();
                        (h.key.to_string(), value.into_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(headers);
    }
    out
}

/// Reads `topic` from the beginning until `want` envelopes arrive or `timeout` passes.
pub async fn read_events(
    brokers: &str,
    topic: &str,
    want: usize,
    timeout: Duration,
) -> Vec<(Option<Vec<u8>>, Envelope)> {
    let consumer = reader(brokers, topic);
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while out.len() < want {
        let Ok(Ok(message)) = tokio::time::timeout_at(deadline, consumer.recv()).await else {
            break;
        };
        if let Some(payload) = message.payload() {
            if let Ok(envelope) = Envelope::decode(payload) {
                out.push((message.key().map(<[u8]>::to_vec), envelope));
            }
        }
    }
    out
}

/// A service started for one test on a fresh database and its own in-process broker; stopped
/// when dropped.
pub struct TestService {
    pub settings: ServiceSettings,
    pub addr: std::net::SocketAddr,
    /// Never destroyed: the service's Kafka clients close (blocking) when the test runtime drops
    /// them, and would wait for a broker that is gone.
    pub broker: &'static MockBroker,
    clock: SharedClock,
    shutdown: tokio_util::sync::CancellationToken,
    /// The service's tasks, ended on drop before the test's runtime goes.
    stopped: Option<tokio::task::JoinHandle<()>>,
    _db: TestDatabase,
}

impl TestService {
    pub async fn start<F, Fut>(
        service: &str,
        backend: alongside_platform::testing::Backend,
        start: F,
    ) -> Self
    where
        F: FnOnce(ServiceSettings, tokio_util::sync::CancellationToken) -> Fut,
        Fut: std::future::Future<
            Output = Result<crate::runtime::Running, crate::runtime::StartError>,
        >,
    {
        Self::start_prepared(service, backend, |_| async {}, start).await
    }

    /// Starts the service on a database `prepare` has first been given (its URL): data as an
    /// earlier version left it, say, for a migration to find.
    pub async fn start_prepared<P, PFut, F, Fut>(
        service: &str,
        backend: alongside_platform::testing::Backend,
        prepare: P,
        start: F,
    ) -> Self
    where
        P: FnOnce(String) -> PFut,
        PFut: std::future::Future<Output = ()>,
        F: FnOnce(ServiceSettings, tokio_util::sync::CancellationToken) -> Fut,
        Fut: std::future::Future<
            Output = Result<crate::runtime::Running, crate::runtime::StartError>,
        >,
    {
        // Logs go to the test output (shown for failing tests); RUST_LOG selects them.
        std::mem::forget(alongside_platform::telemetry::init(
            "test",
            &alongside_platform::config::TelemetrySettings {
                log_format: "pretty".into(),
                log_level: "off".into(),
            },
        ));
        let db = TestDatabase::create(backend, service).await;
        prepare(db.url.clone()).await;
        let broker: &'static MockBroker = Box::leak(Box::new(broker()));
        let settings = settings(service, &db, broker.bootstrap_servers());
        let shutdown = tokio_util::sync::CancellationToken::new();
        let running = start(settings.clone(), shutdown.clone())
            .await
            .expect("service starts");
        let addr = running.grpc_addr;
        let stopped = Some(tokio::spawn(running.wait()));
        Self {
            clock: settings.clock.clock(),
            settings,
            addr,
            broker,
            shutdown,
            stopped,
            _db: db,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn token(&self, tenant: &str, role: Role) -> String {
        token(&self.settings, tenant, role)
    }

    pub fn token_for(&self, tenant: &str, role: Role, subject: &str) -> String {
        token_for(&self.settings, tenant, role, subject)
    }

    pub fn token_in_ics(&self, tenant: &str, ics: &str, role: Role) -> String {
        token_in_ics(&self.settings, tenant, ics, role)
    }

    pub fn brokers(&self) -> &str {
        self.broker.bootstrap_servers()
    }

    /// Publishes `event` for `tenant` as its producing service would; returns its envelope.
    pub async fn publish<E: alongside_proto::EventName>(
        &self,
        topic: &str,
        key: &str,
        tenant: &str,
        event: &E,
    ) -> Envelope {
        let envelope = Envelope::new(
            &OdsCode::parse(tenant).expect("tenant"),
            event,
            self.clock.now(),
        );
        self.publish_raw(topic, key, &envelope.encode()).await;
        envelope
    }

    /// Lists `codes` as active places of `kind` for `tenant`, as feedback announces them on
    /// `feedback.places.v1`, and waits until the service has read them.
    pub async fn places_listed(&self, tenant: &str, kind: &str, codes: &[&str]) {
        for code in codes {
            let changed = alongside_proto::feedback::events::v1::PlaceChanged {
                tenant: tenant.into(),
                kind: kind.into(),
                code: code.to_string(),
                name: code.to_string(),
                status: "active".into(),
                merged_into: String::new(),
                changed_at: self.clock.now_rfc3339(),
            };
            let key = crate::places::key(tenant, kind, code);
            self.publish(crate::topics::FEEDBACK_PLACES, &key, tenant, &changed)
                .await;
        }
        let db = sea_orm::Database::connect(self._db.url.as_str())
            .await
            .expect("the service's database");
        let tenant = OdsCode::parse(tenant).expect("tenant");
        let read = eventually(Duration::from_secs(30), || async {
            let listed = crate::places::Listed::load(&db, &tenant, kind).await.ok()?;
            codes.iter().all(|c| listed.is_active(c)).then_some(())
        })
        .await;
        assert!(read.is_some(), "{kind} {codes:?} never reached the service");
    }

    /// Publishes raw bytes (a duplicate, or a poison message).
    pub async fn publish_raw(&self, topic: &str, key: &str, payload: &[u8]) {
        let producer: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", self.brokers())
            .create()
            .expect("test producer");
        producer
            .send(
                rdkafka::producer::FutureRecord::to(topic)
                    .key(key)
                    .payload(payload),
                Duration::from_secs(10),
            )
            .await
            .expect("published");
    }
}

impl Drop for TestService {
    /// Stops the service and waits (20 s at most) for its tasks to end while the runtime still
    /// runs: its Kafka consumers then leave their group on their own path, rather than being
    /// torn down with the runtime (where closing one mid-rebalance can block for ever).
    fn drop(&mut self) {
        self.shutdown.cancel();
        let (Some(stopped), Ok(runtime)) =
            (self.stopped.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        if runtime.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            return;
        }
        tokio::task::block_in_place(|| {
            runtime.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(20), stopped).await;
            })
        });
    }
}

/// Retries `check` until it returns `Some` or `timeout` passes (for effects that arrive by Kafka).
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
