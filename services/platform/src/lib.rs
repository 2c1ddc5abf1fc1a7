//! What every Alongside service shares: configuration, telemetry, the gRPC server, the database,
//! the verified caller, identifiers and the error mapping.

pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod grpc;
pub mod ids;
pub mod metrics;
pub mod money;
pub mod paging;
pub mod telemetry;
pub mod tenant;
#[cfg(feature = "test-support")]
pub mod testing;

pub use auth::{Caller, Role};
pub use error::ServiceError;
pub use tenant::OdsCode;

/// Completes when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// Now, as RFC 3339 in UTC: the one timestamp format on every contract.
pub fn now_rfc3339() -> String {
    format_rfc3339(time::OffsetDateTime::now_utc())
}

pub fn format_rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// Parses an ISO 8601 calendar date (YYYY-MM-DD).
pub fn parse_date(value: &str) -> Option<time::Date> {
    time::Date::parse(
        value,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}
