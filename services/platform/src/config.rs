//! Layered configuration: embedded defaults → optional file → `ALONGSIDE_<SECTION>__<KEY>`
//! environment variables (plus `DATABASE_URL`), validated at start with errors that name the key.

use std::net::SocketAddr;
use std::path::Path;

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration key `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
}

/// Checks that go beyond types: each failure names the key to fix.
pub trait Validate {
    fn validate(&self) -> Result<(), ConfigError>;
}

/// Loads `T` from the embedded `defaults` (TOML), then `file` if given, then the environment.
pub fn load<T>(defaults: &str, file: Option<&Path>) -> Result<T, ConfigError>
where
    T: for<'de> Deserialize<'de> + Validate,
{
    let mut figment = Figment::from(Toml::string(defaults));
    if let Some(file) = file {
        if !file.exists() {
            return Err(ConfigError::Invalid {
                key: "--config",
                reason: format!("file {} does not exist", file.display()),
            });
        }
        figment = figment.merge(Toml::file(file));
    }
    figment = figment
        // Only SECTION__KEY variables: others with the prefix (ALONGSIDE_CONFIG, a CLI's own) are not config keys.
        .merge(
            Env::prefixed("ALONGSIDE_")
                .filter(|key| key.as_str().contains("__"))
                .split("__"),
        )
        .merge(
            Env::raw()
                .only(&["DATABASE_URL"])
                .map(|_| "database.url".into()),
        );
    let settings: T = figment
        .extract()
        .map_err(|e| ConfigError::Load(Box::new(e)))?;
    settings.validate()?;
    Ok(settings)
}

/// Loads `T` from the embedded defaults alone, ignoring files and the environment (for tests).
pub fn load_defaults_only<T>(defaults: &str) -> Result<T, ConfigError>
where
    T: for<'de> Deserialize<'de> + Validate,
{
    let settings: T = Figment::from(Toml::string(defaults))
        .extract()
        .map_err(|e| ConfigError::Load(Box::new(e)))?;
    settings.validate()?;
    Ok(settings)
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`.
    pub url: SecretString,
    pub max_connections: u32,
    /// Apply pending migrations when the service starts (the embedded run). Where a migration
    /// job applies them once per release (Kubernetes), `false`: the service waits for the schema.
    pub migrate_on_start: bool,
}

impl DatabaseSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.url.expose_secret();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid {
                key: "database.url",
                reason: "must start with sqlite:, postgres:// or postgresql://".into(),
            });
        }
        if self.max_connections == 0 {
            return Err(ConfigError::Invalid {
                key: "database.max_connections",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// Comma-separated bootstrap servers.
    pub brokers: String,
    /// plaintext, ssl, sasl_plaintext or sasl_ssl.
    pub security_protocol: String,
    pub sasl_mechanism: Option<String>,
    pub sasl_username: Option<String>,
    pub sasl_password: Option<SecretString>,
    /// Partitions for topics this process creates at start-up.
    pub partitions: i32,
    pub replication_factor: i32,
    /// Create the registry's topics at start-up (off where ops provision them).
    pub create_topics: bool,
    /// PEM file of the CA that signs the brokers' certificates (for `ssl`/`sasl_ssl`), when it is
    /// not in the system's store.
    pub ssl_ca_location: Option<String>,
}

impl KafkaSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.brokers.trim().is_empty() {
            return Err(ConfigError::Invalid {
                key: "kafka.brokers",
                reason: "must name at least one broker".into(),
            });
        }
        if !["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"]
            .contains(&self.security_protocol.as_str())
        {
            return Err(ConfigError::Invalid {
                key: "kafka.security_protocol",
                reason: "must be plaintext, ssl, sasl_plaintext or sasl_ssl".into(),
            });
        }
        if self.security_protocol.starts_with("sasl_") {
            match self.sasl_mechanism.as_deref() {
                Some("PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512") => {}
                _ => {
                    return Err(ConfigError::Invalid {
                        key: "kafka.sasl_mechanism",
                        reason:
                            "with a sasl_ protocol, must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
                                .into(),
                    })
                }
            }
            if self.sasl_username.as_deref().unwrap_or("").is_empty() {
                return Err(ConfigError::Invalid {
                    key: "kafka.sasl_username",
                    reason: "must be set with a sasl_ protocol".into(),
                });
            }
        }
        if self.partitions < 1 {
            return Err(ConfigError::Invalid {
                key: "kafka.partitions",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HMAC key for the internal caller token the gateway signs; at least 32 bytes.
    pub internal_token_key: SecretString,
    pub token_ttl_seconds: u64,
}

impl AuthSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.internal_token_key.expose_secret().len() < 32 {
            return Err(ConfigError::Invalid {
                key: "auth.internal_token_key",
                reason: "must be at least 32 bytes".into(),
            });
        }
        if self.token_ttl_seconds == 0 {
            return Err(ConfigError::Invalid {
                key: "auth.token_ttl_seconds",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `json` (default, for log shippers) or `pretty`.
    pub log_format: String,
    /// An `EnvFilter` directive; `RUST_LOG` overrides it.
    pub log_level: String,
}

impl TelemetrySettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !["json", "pretty"].contains(&self.log_format.as_str()) {
            return Err(ConfigError::Invalid {
                key: "telemetry.log_format",
                reason: "must be json or pretty".into(),
            });
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcSettings {
    pub listen: SocketAddr,
}

/// Where Prometheus scrapes `/metrics`; no endpoint when `listen` is not set (the embedded run).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    pub listen: Option<SocketAddr>,
}

/// What day the process runs on: the system's, unless `today` moves it — for tests and
/// demonstrations, never a deployment (the service says so in its log when it is set).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSettings {
    /// YYYY-MM-DD: the process starts on this day in England and moves on from it.
    pub today: Option<String>,
}

impl ClockSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.day().map(|_| ())
    }

    fn day(&self) -> Result<Option<time::Date>, ConfigError> {
        self.today
            .as_deref()
            .map(|today| {
                crate::parse_date(today.trim()).ok_or_else(|| ConfigError::Invalid {
                    key: "clock.today",
                    reason: format!("{today:?} is not a date (YYYY-MM-DD)"),
                })
            })
            .transpose()
    }

    /// The process's clock: the system's, or one moved to `today`.
    pub fn clock(&self) -> crate::SharedClock {
        let day = self.day().ok().flatten();
        if let Some(day) = day {
            tracing::warn!(today = %day, "clock.today is set: running on another day than the system's (tests and demonstrations only)");
        }
        crate::clock::on(day)
    }
}

/// The settings of a domain service (people, engagement, feedback, payments).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    pub grpc: GrpcSettings,
    pub database: DatabaseSettings,
    pub kafka: KafkaSettings,
    pub auth: AuthSettings,
    pub telemetry: TelemetrySettings,
    #[serde(default)]
    pub metrics: MetricsSettings,
    #[serde(default)]
    pub clock: ClockSettings,
}

impl Validate for ServiceSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        self.clock.validate()?;
        self.database.validate()?;
        self.kafka.validate()?;
        self.auth.validate()?;
        self.telemetry.validate()
    }
}

/// Settings of a service run inside another process (the embedded suite, tests): the embedded
/// defaults alone on a free port, with `database_url` and `brokers`. The process that owns the
/// broker creates the topics, so the service does not.
pub fn embedded_service_settings(
    service: &str,
    database_url: &str,
    brokers: &str,
) -> Result<ServiceSettings, ConfigError> {
    let mut settings: ServiceSettings = load_defaults_only(&service_defaults(service, 0))?;
    settings.database.url = SecretString::from(database_url.to_string());
    settings.kafka.brokers = brokers.to_string();
    settings.kafka.create_topics = false;
    Ok(settings)
}

/// Embedded defaults of a domain service; `{service}` and `{port}` are filled in per service.
pub fn service_defaults(service: &str, port: u16) -> String {
    format!(
        r#"
[grpc]
listen = "127.0.0.1:{port}"

[database]
url = "sqlite://data/{service}.db"
max_connections = 8
migrate_on_start = true

[kafka]
brokers = "127.0.0.1:9092"
security_protocol = "plaintext"
partitions = 3
replication_factor = 1
create_topics = true

[auth]
# Development key only: deployments set ALONGSIDE_AUTH__INTERNAL_TOKEN_KEY from a Secret.
internal_token_key = "alongside-development-key-not-for-production-use"
token_ttl_seconds = 300

[telemetry]
log_format = "json"
log_level = "info"
"#
    )
}

#[cfg(test)]
// figment's Jail closures must return figment's own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn environment_overrides_defaults_and_names_the_bad_key() {
        Jail::expect_with(|jail| {
            jail.set_env("ALONGSIDE_GRPC__LISTEN", "0.0.0.0:7000");
            jail.set_env("DATABASE_URL", "postgres://postgres@127.0.0.1/people");
            let settings: ServiceSettings =
                load(&service_defaults("people", 50051), None).expect("loads");
            assert_eq!(settings.grpc.listen.port(), 7000);
            assert_eq!(
                settings.database.url.expose_secret(),
                "postgres://postgres@127.0.0.1/people"
            );

            jail.set_env("ALONGSIDE_CONFIG", "not a config key");
            jail.set_env("ALONGSIDE_KAFKA__PARTITIONS", "many");
            let err =
                load::<ServiceSettings>(&service_defaults("people", 50051), None).unwrap_err();
            assert!(
                err.to_string().to_lowercase().contains("kafka.partitions"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn the_example_deployment_files_are_valid() {
        // In a Jail, so other tests' environment variables cannot leak in.
        Jail::expect_with(|_| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config");
            for service in ["people", "engagement", "feedback", "payments"] {
                let file = dir.join(format!("{service}.example.toml"));
                let settings: ServiceSettings =
                    load(&service_defaults(service, 0), Some(&file)).expect("example loads");
                assert!(
                    !settings.kafka.create_topics,
                    "{service}: ops provision topics"
                );
            }
            Ok(())
        });
    }

    #[test]
    fn validation_names_the_key() {
        Jail::expect_with(|jail| {
            jail.set_env("ALONGSIDE_AUTH__INTERNAL_TOKEN_KEY", "short");
            let err =
                load::<ServiceSettings>(&service_defaults("people", 50051), None).unwrap_err();
            assert!(err.to_string().contains("auth.internal_token_key"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_in_a_file_are_rejected() {
        Jail::expect_with(|jail| {
            jail.create_file("people.toml", "[database]\nurll = \"sqlite://x.db\"\n")?;
            let err = load::<ServiceSettings>(
                &service_defaults("people", 50051),
                Some(Path::new("people.toml")),
            )
            .unwrap_err();
            assert!(err.to_string().contains("urll"), "{err}");
            Ok(())
        });
    }
}
