//! The gateway's settings: where it listens, where the services are, its own database.

use std::net::SocketAddr;

use alongside_platform::config::{
    AuthSettings, ClockSettings, ConfigError, DatabaseSettings, MetricsSettings, TelemetrySettings,
    Validate,
};
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub listen: SocketAddr,
    /// The address people use; an `https://` URL makes session cookies `Secure`.
    pub public_url: String,
    /// The `dist/nhsuk` folder of the installed `nhsuk-frontend` npm package.
    pub assets_dir: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceUrls {
    pub people: String,
    pub engagement: String,
    pub feedback: String,
    pub payments: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    pub ttl_minutes: i64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySettings {
    pub http: HttpSettings,
    pub services: ServiceUrls,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub session: SessionSettings,
    pub telemetry: TelemetrySettings,
    #[serde(default)]
    pub metrics: MetricsSettings,
    #[serde(default)]
    pub clock: ClockSettings,
    #[serde(default)]
    pub limits: crate::throttle::LimitSettings,
}

impl GatewaySettings {
    /// The public URL without a trailing slash, for links sent out of the portal.
    pub fn public_base(&self) -> &str {
        self.http.public_url.trim_end_matches('/')
    }

    pub fn secure_cookies(&self) -> bool {
        self.http.public_url.starts_with("https://")
    }
}

impl Validate for GatewaySettings {
    fn validate(&self) -> Result<(), ConfigError> {
        self.clock.validate()?;
        self.limits.validate()?;
        self.database.validate()?;
        self.auth.validate()?;
        self.telemetry.validate()?;
        for (key, url) in [
            ("services.people", &self.services.people),
            ("services.engagement", &self.services.engagement),
            ("services.feedback", &self.services.feedback),
            ("services.payments", &self.services.payments),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("must be an http:// or https:// URL, got {url:?}"),
                });
            }
        }
        if !(self.http.public_url.starts_with("http://")
            || self.http.public_url.starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                key: "http.public_url",
                reason: "must be an http:// or https:// URL".into(),
            });
        }
        if self.session.ttl_minutes < 5 {
            return Err(ConfigError::Invalid {
                key: "session.ttl_minutes",
                reason: "must be at least 5".into(),
            });
        }
        Ok(())
    }
}

pub const DEFAULTS: &str = r#"
[http]
listen = "127.0.0.1:8080"
public_url = "http://127.0.0.1:8080"
assets_dir = "services/gateway/web/node_modules/nhsuk-frontend/dist/nhsuk"

[services]
people = "http://127.0.0.1:50051"
engagement = "http://127.0.0.1:50052"
feedback = "http://127.0.0.1:50053"
payments = "http://127.0.0.1:50054"

[database]
url = "sqlite://data/gateway.db"
max_connections = 8
migrate_on_start = true

[auth]
# No key here: deployments set ALONGSIDE_AUTH__INTERNAL_TOKEN_KEY from a Secret; the embedded
# run makes its own.
token_ttl_seconds = 300

[session]
ttl_minutes = 480

[telemetry]
log_format = "json"
log_level = "info"
"#;
