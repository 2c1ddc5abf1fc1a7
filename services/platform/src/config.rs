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
        )
        .merge(
            Env::raw()
                .only(&["ALONGSIDE_BANK_DETAILS_KEY"])
                .map(|_| "auth.bank_details_key".into()),
        );
    let settings: T = figment
        .extract()
        .map_err(|e| ConfigError::Load(Box::new(e)))?;
    settings.validate()?;
    Ok(settings)
}

/// Loads `T` from the embedded defaults alone, ignoring files and the environment, for a process
/// that runs the services inside it (the embedded suite, tests). It fills in what the defaults
/// leave out (keys, addresses) and then validates.
pub fn load_defaults_only<T>(defaults: &str) -> Result<T, ConfigError>
where
    T: for<'de> Deserialize<'de>,
{
    Figment::from(Toml::string(defaults))
        .extract()
        .map_err(|e| ConfigError::Load(Box::new(e)))
}

/// The keys of a process that runs services inside it: made by it, never taken from the source.
#[derive(Clone)]
pub struct Keys {
    pub internal_token: SecretString,
    pub bank_details: SecretString,
}

impl Keys {
    /// Fresh random keys.
    pub fn random() -> Self {
        let key = || {
            SecretString::from(format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            ))
        };
        Self {
            internal_token: key(),
            bank_details: key(),
        }
    }

    /// The keys kept in `<data_dir>/keys/`, made at first start and read again afterwards (the
    /// bank details sealed under one must open next time). The folder and files are the owner's
    /// alone.
    pub fn in_folder(data_dir: &Path) -> std::io::Result<Self> {
        let dir = data_dir.join("keys");
        std::fs::create_dir_all(&dir)?;
        restrict(&dir, 0o700)?;
        let made = Self::random();
        let keep = |name: &str, fresh: &SecretString| -> std::io::Result<SecretString> {
            let file = dir.join(name);
            if !file.exists() {
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                std::io::Write::write_all(
                    &mut options.open(&file)?,
                    fresh.expose_secret().as_bytes(),
                )?;
            }
            restrict(&file, 0o600)?;
            Ok(SecretString::from(
                std::fs::read_to_string(&file)?.trim().to_string(),
            ))
        };
        Ok(Self {
            internal_token: keep("internal-token.key", &made.internal_token)?,
            bank_details: keep("bank-details.key", &made.bank_details)?,
        })
    }
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
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
    /// Republish every current figure at start-up: for a broker that keeps nothing between
    /// runs (the embedded run's). Elsewhere `republish` does it once, when asked.
    #[serde(default)]
    pub republish_on_start: bool,
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

/// Keys that once shipped in the source as development defaults: refused wherever they turn up.
const PUBLISHED_KEYS: &[&str] = &[
    "alongside-development-key-not-for-production-use",
    "alongside-development-bank-details-key-not-for-production",
];

fn no_key() -> SecretString {
    SecretString::from(String::new())
}

/// The keys of a process. None has a default: a deployment sets them from its Secret, and the
/// embedded run makes its own at first start ([`Keys::in_folder`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HMAC key for the internal caller token the gateway signs; at least 32 bytes.
    #[serde(default = "no_key")]
    pub internal_token_key: SecretString,
    pub token_ttl_seconds: u64,
    /// People only: seals partners' bank details (also read from `ALONGSIDE_BANK_DETAILS_KEY`).
    #[serde(default = "no_key")]
    pub bank_details_key: SecretString,
}

/// Checks a key: set, long enough, and not one published in the source.
pub fn check_key(key: &'static str, value: &SecretString) -> Result<(), ConfigError> {
    let value = value.expose_secret();
    let reason = if value.is_empty() {
        "must be set: at least 32 random bytes from your Secret (e.g. `openssl rand -base64 48`)"
    } else if value.len() < 32 {
        "must be at least 32 bytes (e.g. `openssl rand -base64 48`)"
    } else if PUBLISHED_KEYS.contains(&value) {
        "is a development key published in Alongside's source: make a new one (e.g. `openssl rand -base64 48`)"
    } else {
        return Ok(());
    };
    Err(ConfigError::Invalid {
        key,
        reason: reason.into(),
    })
}

impl AuthSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_key("auth.internal_token_key", &self.internal_token_key)?;
        if !self.bank_details_key.expose_secret().is_empty() {
            check_key("auth.bank_details_key", &self.bank_details_key)?;
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

/// When figures for readers who may not see the rows are released (feedback's FFT months): a
/// month is released `release_after_days` after it ends, and kept; a released month whose
/// counts change (late responses, a place merged) is released again as a revision, protected
/// against every earlier release of it, at most once every `revise_after_seconds`, and only
/// once no response for it has arrived for `settle_seconds` (an upload in many batches is
/// revised once, when it is done).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublicationSettings {
    pub release_after_days: u32,
    pub revise_after_seconds: u64,
    pub settle_seconds: u64,
}

impl Default for PublicationSettings {
    fn default() -> Self {
        Self {
            release_after_days: 5,
            revise_after_seconds: 24 * 60 * 60,
            settle_seconds: 60,
        }
    }
}

impl PublicationSettings {
    /// At once: a month released the day after it ends, a revision whenever counts change
    /// (tests).
    pub fn at_once() -> Self {
        Self {
            release_after_days: 0,
            revise_after_seconds: 0,
            settle_seconds: 0,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.release_after_days > 366 {
            return Err(ConfigError::Invalid {
                key: "publication.release_after_days",
                reason: format!("{} is more than a year", self.release_after_days),
            });
        }
        Ok(())
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
    #[serde(default)]
    pub publication: PublicationSettings,
}

impl Validate for ServiceSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        self.clock.validate()?;
        self.publication.validate()?;
        self.database.validate()?;
        self.kafka.validate()?;
        self.auth.validate()?;
        self.telemetry.validate()
    }
}

/// Settings of a service run inside another process (the embedded suite, tests): the embedded
/// defaults alone on a free loopback port, with `database_url`, `brokers` and the process's
/// `keys`. The process that owns the broker creates the topics, so the service does not.
pub fn embedded_service_settings(
    service: &str,
    database_url: &str,
    brokers: &str,
    keys: &Keys,
) -> Result<ServiceSettings, ConfigError> {
    let mut settings: ServiceSettings = load_defaults_only(&service_defaults(service, 0))?;
    settings.database.url = SecretString::from(database_url.to_string());
    settings.kafka.brokers = brokers.to_string();
    settings.kafka.create_topics = false;
    // The in-process broker starts empty each run: what data teams read is published again.
    settings.kafka.republish_on_start = true;
    settings.auth.internal_token_key = keys.internal_token.clone();
    // Only people seals bank details; no other service is given that key.
    if service == "people" {
        settings.auth.bank_details_key = keys.bank_details.clone();
    }
    settings.validate()?;
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
# No keys here: deployments set ALONGSIDE_AUTH__INTERNAL_TOKEN_KEY (and, for people,
# ALONGSIDE_BANK_DETAILS_KEY) from a Secret; the embedded run makes its own.
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

    const KEY: &str = "config-test-key-0123456789abcdefghij";

    #[test]
    fn environment_overrides_defaults_and_names_the_bad_key() {
        Jail::expect_with(|jail| {
            jail.set_env("ALONGSIDE_AUTH__INTERNAL_TOKEN_KEY", KEY);
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
        Jail::expect_with(|jail| {
            jail.set_env("ALONGSIDE_AUTH__INTERNAL_TOKEN_KEY", KEY);
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
            jail.set_env("ALONGSIDE_AUTH__INTERNAL_TOKEN_KEY", KEY);
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

    #[test]
    fn no_key_is_in_the_source_and_a_published_one_is_refused() {
        Jail::expect_with(|jail| {
            let err =
                load::<ServiceSettings>(&service_defaults("people", 50051), None).unwrap_err();
            assert!(err.to_string().contains("auth.internal_token_key"), "{err}");
            assert!(err.to_string().contains("must be set"), "{err}");
            jail.set_env(
                "ALONGSIDE_AUTH__INTERNAL_TOKEN_KEY",
                "alongside-development-key-not-for-production-use",
            );
            let err =
                load::<ServiceSettings>(&service_defaults("people", 50051), None).unwrap_err();
            assert!(err.to_string().contains("published"), "{err}");
            jail.set_env("ALONGSIDE_AUTH__INTERNAL_TOKEN_KEY", KEY);
            jail.set_env("ALONGSIDE_BANK_DETAILS_KEY", "too short");
            let err =
                load::<ServiceSettings>(&service_defaults("people", 50051), None).unwrap_err();
            assert!(err.to_string().contains("auth.bank_details_key"), "{err}");
            jail.set_env("ALONGSIDE_BANK_DETAILS_KEY", KEY);
            let settings: ServiceSettings =
                load(&service_defaults("people", 50051), None).expect("loads");
            assert_eq!(settings.auth.bank_details_key.expose_secret(), KEY);
            Ok(())
        });
    }

    #[test]
    fn the_embedded_runs_keys_are_made_once_and_kept_to_the_owner() {
        let dir = tempfile::tempdir().unwrap();
        let first = Keys::in_folder(dir.path()).unwrap();
        let again = Keys::in_folder(dir.path()).unwrap();
        assert_eq!(
            first.internal_token.expose_secret(),
            again.internal_token.expose_secret()
        );
        assert_ne!(
            first.internal_token.expose_secret(),
            first.bank_details.expose_secret()
        );
        assert!(check_key("auth.internal_token_key", &first.internal_token).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.path().join("keys")), 0o700);
            assert_eq!(mode(&dir.path().join("keys/internal-token.key")), 0o600);
            assert_eq!(mode(&dir.path().join("keys/bank-details.key")), 0o600);
        }
        let other = Keys::in_folder(tempfile::tempdir().unwrap().path()).unwrap();
        assert_ne!(
            first.internal_token.expose_secret(),
            other.internal_token.expose_secret()
        );
    }
}
