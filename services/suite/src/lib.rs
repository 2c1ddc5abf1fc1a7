//! The embedded Alongside: the five services in one process, each with its own SQLite file and
//! its real gRPC server on loopback, talking over librdkafka's in-process mock Kafka cluster.

pub mod analyze;
mod demo;

use std::path::{Path, PathBuf};

use alongside_events::mock::MockBroker;
use alongside_events::runtime::{Running, StartError};
use alongside_gateway::config::GatewaySettings;
use alongside_gateway::Gateway;
use alongside_platform::config::{self, ServiceSettings};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

pub struct Options {
    pub port: u16,
    pub data_dir: PathBuf,
    pub demo: bool,
    /// What day every service runs on: the system's unless `today` is set.
    pub clock: config::ClockSettings,
    /// The gRPC ports, so integrators can configure clients once: people on this port,
    /// engagement, feedback and payments on the next three. Any free ports when `None`.
    pub grpc_base_port: Option<u16>,
    /// When feedback releases each month's figures.
    pub publication: config::PublicationSettings,
}

/// The services in the order of their ports from `Options::grpc_base_port`.
pub const SERVICES: [&str; 4] = ["people", "engagement", "feedback", "payments"];

#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("Kafka: {0}")]
    Broker(#[from] alongside_events::mock::MockError),
    #[error("{service}: {source}")]
    Service {
        service: &'static str,
        source: StartError,
    },
    #[error("gateway: {0}")]
    Gateway(#[from] alongside_gateway::GatewayError),
    #[error("demo data: {0}")]
    Demo(String),
    #[error("data folder: {0}")]
    Io(#[from] std::io::Error),
}

pub struct Suite {
    gateway: Gateway,
    services: Vec<Running>,
    shutdown: CancellationToken,
    data_dir: PathBuf,
    demo_users: Vec<(String, String)>,
    // Dropped last: every Kafka client must be closed before the broker goes.
    broker: MockBroker,
}

fn service_settings(
    name: &str,
    data_dir: &Path,
    brokers: &str,
    options: &Options,
    keys: &config::Keys,
) -> Result<ServiceSettings, config::ConfigError> {
    let mut settings = config::embedded_service_settings(
        name,
        &format!("sqlite://{}/{name}.db", data_dir.display()),
        brokers,
        keys,
    )?;
    settings.clock = options.clock.clone();
    settings.publication = options.publication.clone();
    if let Some(base) = options.grpc_base_port {
        let n = SERVICES.iter().position(|s| *s == name).unwrap_or(0) as u16;
        // Loopback only, as every embedded listener.
        settings.grpc.listen.set_port(base.saturating_add(n));
    }
    Ok(settings)
}

impl Suite {
    pub async fn start(options: Options) -> Result<Self, SuiteError> {
        options.clock.validate()?;
        std::fs::create_dir_all(&options.data_dir)?;
        let data_dir = std::fs::canonicalize(&options.data_dir)?;
        // Made at first start and kept with the data: sealed bank details open again next time.
        let keys = config::Keys::in_folder(&data_dir)?;
        let broker = MockBroker::start()?;
        broker.create_registry_topics(3)?;
        let brokers = broker.bootstrap_servers().to_string();
        let shutdown = CancellationToken::new();

        let people = alongside_people::start(
            service_settings("people", &data_dir, &brokers, &options, &keys)?,
            shutdown.clone(),
        )
        .await
        .map_err(|source| SuiteError::Service {
            service: "people",
            source,
        })?;
        let engagement = alongside_engagement::start(
            service_settings("engagement", &data_dir, &brokers, &options, &keys)?,
            shutdown.clone(),
        )
        .await
        .map_err(|source| SuiteError::Service {
            service: "engagement",
            source,
        })?;
        let feedback = alongside_feedback::start(
            service_settings("feedback", &data_dir, &brokers, &options, &keys)?,
            shutdown.clone(),
        )
        .await
        .map_err(|source| SuiteError::Service {
            service: "feedback",
            source,
        })?;
        let payments = alongside_payments::start(
            service_settings("payments", &data_dir, &brokers, &options, &keys)?,
            shutdown.clone(),
        )
        .await
        .map_err(|source| SuiteError::Service {
            service: "payments",
            source,
        })?;

        let mut gateway_settings: GatewaySettings =
            config::load_defaults_only(alongside_gateway::config::DEFAULTS)?;
        gateway_settings.http.listen = std::net::SocketAddr::from(([127, 0, 0, 1], options.port));
        gateway_settings.http.public_url = format!("http://127.0.0.1:{}", options.port);
        gateway_settings.database.url =
            SecretString::from(format!("sqlite://{}/gateway.db", data_dir.display()));
        gateway_settings.services.people = format!("http://{}", people.grpc_addr);
        gateway_settings.services.engagement = format!("http://{}", engagement.grpc_addr);
        gateway_settings.services.feedback = format!("http://{}", feedback.grpc_addr);
        gateway_settings.services.payments = format!("http://{}", payments.grpc_addr);
        gateway_settings.clock = options.clock.clone();
        gateway_settings.auth.internal_token_key = keys.internal_token.clone();
        config::Validate::validate(&gateway_settings)?;
        let gateway = Gateway::start(gateway_settings, shutdown.clone()).await?;

        let demo_users = if options.demo {
            demo::seed(&gateway.state).await.map_err(SuiteError::Demo)?
        } else {
            Vec::new()
        };
        Ok(Self {
            gateway,
            services: vec![people, engagement, feedback, payments],
            shutdown,
            data_dir,
            demo_users,
            broker,
        })
    }

    pub fn url(&self) -> String {
        self.gateway.url()
    }

    /// The gateway's state: its database and service clients (for tools and benchmarks).
    pub fn gateway_state(&self) -> &alongside_gateway::AppState {
        &self.gateway.state
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Each service's name and gRPC address, in the order of [`SERVICES`].
    pub fn grpc_addresses(&self) -> Vec<(&'static str, std::net::SocketAddr)> {
        SERVICES
            .iter()
            .zip(&self.services)
            .map(|(name, running)| (*name, running.grpc_addr))
            .collect()
    }

    pub fn kafka_bootstrap(&self) -> &str {
        self.broker.bootstrap_servers()
    }

    /// (email, who) of the demo accounts.
    pub fn demo_sign_ins(&self) -> &[(String, String)] {
        &self.demo_users
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.gateway.wait().await;
        for service in self.services {
            service.wait().await;
        }
        drop(self.broker);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_port_gives_each_service_its_own_on_loopback() {
        let keys = alongside_platform::testing::keys();
        let options = |base| Options {
            port: 0,
            data_dir: PathBuf::from("data"),
            demo: false,
            clock: Default::default(),
            grpc_base_port: base,
            publication: Default::default(),
        };
        let listen = |name, base| {
            service_settings(
                name,
                Path::new("data"),
                "127.0.0.1:9092",
                &options(base),
                &keys,
            )
            .unwrap()
            .grpc
            .listen
        };
        for (n, name) in SERVICES.iter().enumerate() {
            let fixed = listen(name, Some(7100));
            assert_eq!(fixed.port(), 7100 + n as u16, "{name}");
            assert!(fixed.ip().is_loopback(), "{name}: {fixed}");
            assert_eq!(listen(name, None).port(), 0, "{name}: any free port");
        }
    }
}
