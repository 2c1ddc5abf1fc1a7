//! What every Alongside service shares: configuration, telemetry, the gRPC server, the database,
//! the verified caller, identifiers and the error mapping.

pub mod audit;
pub mod auth;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod grpc;
pub mod ids;
pub mod involvement;
pub mod metrics;
pub mod money;
pub mod paging;
pub mod protection;
pub mod telemetry;
pub mod tenant;
#[cfg(feature = "test-support")]
pub mod testing;

pub use auth::{Caller, Role};
pub use clock::{Clock, SharedClock};
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

pub fn format_rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// The years a date may fall in. No involvement, feedback or payment happens outside them, and
/// refusing other years where dates come in keeps all later date arithmetic (sessions, working
/// days, tax years, calendar files, month ranges) far inside `time`'s range: year 0 or 9999 is
/// answered with a field error, never a panic.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2199;

/// What a date field must hold, said where one does not.
pub const DATE_FORM: &str = "must be a date in the form YYYY-MM-DD, in the years 1900 to 2199";

/// The month (YYYY-MM) `date` falls in.
pub fn month_of(date: time::Date) -> String {
    format!("{:04}-{:02}", date.year(), u8::from(date.month()))
}

/// `month` (YYYY-MM) moved by `by` months, or `None` when it is not a month or either month
/// falls outside [`YEARS`].
pub fn add_months(month: &str, by: i32) -> Option<String> {
    let (year, m) = month.split_once('-')?;
    let (year, m): (i32, i32) = (year.parse().ok()?, m.parse().ok()?);
    if month.len() != 7 || !(1..=12).contains(&m) || !YEARS.contains(&year) {
        return None;
    }
    let index = (year * 12 + m - 1).checked_add(by)?;
    let moved = index.div_euclid(12);
    YEARS
        .contains(&moved)
        .then(|| format!("{moved}-{:02}", index.rem_euclid(12) + 1))
}

/// The last day of a month (YYYY-MM), or `None` when it is not a month.
pub fn last_day_of_month(month: &str) -> Option<time::Date> {
    parse_date(&format!("{}-01", add_months(month, 1)?))?.previous_day()
}

/// Parses an ISO 8601 calendar date (YYYY-MM-DD) in [`YEARS`]: exactly ten characters, so a
/// date kept as text compares as dates do.
pub fn parse_date(value: &str) -> Option<time::Date> {
    if value.len() != 10 || !value.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    time::Date::parse(
        value,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
    .filter(|d| YEARS.contains(&d.year()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_move_across_years() {
        assert_eq!(add_months("2026-11", -23).as_deref(), Some("2024-12"));
        assert_eq!(add_months("2026-12", 1).as_deref(), Some("2027-01"));
        assert_eq!(add_months("2026-13", 0), None);
        assert_eq!(add_months("November", 0), None);
        assert_eq!(month_of(time::macros::date!(2026 - 03 - 31)), "2026-03");
        assert_eq!(
            last_day_of_month("2024-02")
                .map(|d| d.to_string())
                .as_deref(),
            Some("2024-02-29")
        );
    }

    #[test]
    fn dates_and_months_outside_the_years_are_refused() {
        for bad in [
            "0000-01-01",
            "9999-12-31",
            "1899-12-31",
            "2200-01-01",
            "+2026-01-01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert!(parse_date("1900-01-01").is_some() && parse_date("2199-12-31").is_some());
        assert_eq!(add_months("9999-12", 1), None);
        assert_eq!(add_months("2199-12", 1), None);
        assert_eq!(add_months("1900-01", -1), None);
        assert_eq!(add_months("2026-01", i32::MAX), None);
        assert_eq!(last_day_of_month("2199-12"), None);
        assert_eq!(add_months("2199-11", 1).as_deref(), Some("2199-12"));
    }
}
