//! Abuse limits. Sign-in: after a number of failures for one account, or for one client address,
//! each further attempt waits a growing delay (1 s, 2 s, 4 s … up to a ceiling), answered with
//! 429 and `Retry-After` before any password is checked; the counts live in the gateway's
//! database, so every replica sees them. Public forms (the FFT form and personal links, `/join`,
//! invitations): a number of posts a minute per client address, kept in memory per replica.
//! Password hashing runs on blocking threads, a bounded number at once, never on the async
//! workers that serve every other request.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::request::Parts;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::ActiveValue::Set;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::error::AppError;
use crate::AppState;

/// The limits, in the gateway's configuration (`[limits]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Failed sign-ins to one account before each further attempt waits.
    pub account_failures: u32,
    /// Failed sign-ins from one client address (people may share one) before each waits.
    pub address_failures: u32,
    /// The longest wait, in seconds.
    pub max_delay_seconds: u32,
    /// Failures are forgotten after this many seconds without another.
    pub failure_window_seconds: u32,
    /// Posts a minute to the public forms from one client address.
    pub public_posts_per_minute: u32,
    /// The request header in which the ingress passes the client's address (its last value is
    /// used, the one the ingress appended); unset: the connection's own address.
    pub client_address_header: Option<String>,
    /// Password hashes worked out at once; 0: one a CPU.
    pub hashing_threads: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            account_failures: 5,
            address_failures: 20,
            max_delay_seconds: 900,
            failure_window_seconds: 900,
            public_posts_per_minute: 30,
            client_address_header: None,
            hashing_threads: 0,
        }
    }
}

impl LimitSettings {
    pub fn validate(&self) -> Result<(), alongside_platform::config::ConfigError> {
        let invalid = |key, reason: &str| {
            Err(alongside_platform::config::ConfigError::Invalid {
                key,
                reason: reason.into(),
            })
        };
        if self.account_failures == 0 || self.address_failures == 0 {
            return invalid(
                "limits.account_failures",
                "account_failures and address_failures must be at least 1",
            );
        }
        if self.public_posts_per_minute == 0 {
            return invalid("limits.public_posts_per_minute", "must be at least 1");
        }
        if self.max_delay_seconds == 0 || self.failure_window_seconds == 0 {
            return invalid(
                "limits.max_delay_seconds",
                "max_delay_seconds and failure_window_seconds must be at least 1",
            );
        }
        Ok(())
    }
}

/// What a gateway process keeps for the limits.
pub struct Limits {
    pub settings: LimitSettings,
    public: DefaultKeyedRateLimiter<IpAddr>,
    hashing: Semaphore,
}

impl Limits {
    pub fn new(settings: LimitSettings) -> Self {
        let per_minute =
            NonZeroU32::new(settings.public_posts_per_minute).unwrap_or(NonZeroU32::MIN);
        let threads = match settings.hashing_threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n as usize,
        };
        Self {
            public: RateLimiter::keyed(Quota::per_minute(per_minute)),
            hashing: Semaphore::new(threads),
            settings,
        }
    }

    /// Runs `work` (a password hash or check) on a blocking thread, a bounded number at once.
    pub async fn hash<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AppError::Internal(format!("password hashing: {e}")))
    }

    /// Forgets addresses that have been quiet for a while (call now and then).
    pub fn tidy(&self) {
        self.public.retain_recent();
    }
}

/// The client's address: the configured header's last value, else the connection's.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(client_address(parts, &state.limits.settings))
    }
}

fn client_address(parts: &Parts, settings: &LimitSettings) -> ClientAddress {
    let from_header = settings.client_address_header.as_deref().and_then(|name| {
        parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    });
    let connected = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    ClientAddress(
        from_header
            .or(connected)
            .unwrap_or(IpAddr::from([0, 0, 0, 0])),
    )
}

/// Middleware for the public forms: their posts are limited per client address.
pub async fn public_posts(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != http::Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let address = client_address(&parts, &state.limits.settings).0;
    if let Err(not_until) = state.limits.public.check_key(&address) {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let err = AppError::TooManyRequests {
            retry_after: wait.as_secs().max(1),
        };
        return axum::response::IntoResponse::into_response(err);
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Failed sign-ins kept per account (a digest of its e-mail) and per client address.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sign_in_failures")]
pub struct Model {
    /// `account:<sha256 of the e-mail>` or `address:<ip>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub failures: i32,
    /// Unix seconds.
    pub last_failure_at: i64,
    pub blocked_until: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}
impl ActiveModelBehavior for ActiveModel {}

fn account_key(email: &str) -> String {
    format!(
        "account:{}",
        hex::encode(Sha256::digest(email.trim().to_ascii_lowercase().as_bytes()))
    )
}

fn address_key(address: IpAddr) -> String {
    format!("address:{address}")
}

fn now() -> i64 {
    // Delays are real seconds, whatever day the clock is set to.
    use alongside_platform::clock::{Clock, SystemClock};
    SystemClock.now().unix_timestamp()
}

/// Refuses a sign-in attempt while the account or the address must wait.
pub async fn before_sign_in(
    db: &DatabaseConnection,
    email: &str,
    address: ClientAddress,
) -> Result<(), AppError> {
    let keys = [account_key(email), address_key(address.0)];
    let held = Entity::find()
        .filter(Column::Key.is_in(keys))
        .all(db)
        .await?;
    let now = now();
    match held.iter().map(|h| h.blocked_until).max() {
        Some(until) if until > now => Err(AppError::TooManyRequests {
            retry_after: (until - now) as u64,
        }),
        _ => Ok(()),
    }
}

/// The wait after the `failures`th failure, when `allowed` come free.
pub fn delay(failures: i64, allowed: u32, max_seconds: u32) -> i64 {
    let over = failures - i64::from(allowed);
    if over < 0 {
        0
    } else {
        (1i64 << over.min(30)).min(i64::from(max_seconds))
    }
}

/// Counts a failed sign-in against the account and the address.
pub async fn failed(
    db: &DatabaseConnection,
    settings: &LimitSettings,
    email: &str,
    address: ClientAddress,
) -> Result<(), AppError> {
    let now = now();
    for (key, allowed) in [
        (account_key(email), settings.account_failures),
        (address_key(address.0), settings.address_failures),
    ] {
        let held = Entity::find_by_id(key.clone()).one(db).await?;
        let failures = match held {
            Some(h) if now - h.last_failure_at <= i64::from(settings.failure_window_seconds) => {
                i64::from(h.failures) + 1
            }
            _ => 1,
        };
        let row = ActiveModel {
            key: Set(key),
            failures: Set(failures.min(i64::from(i32::MAX)) as i32),
            last_failure_at: Set(now),
            blocked_until: Set(now + delay(failures, allowed, settings.max_delay_seconds)),
        };
        Entity::insert(row)
            .on_conflict(
                OnConflict::column(Column::Key)
                    .update_columns([
                        Column::Failures,
                        Column::LastFailureAt,
                        Column::BlockedUntil,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// A successful sign-in clears the account's failures (the address's wear off by themselves, so
/// that signing in to one's own account does not clear guesses at others').
pub async fn succeeded(db: &DatabaseConnection, email: &str) -> Result<(), AppError> {
    Entity::delete_by_id(account_key(email)).exec(db).await?;
    Ok(())
}

pub mod migration {
    use sea_orm_migration::prelude::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261206_500004_sign_in_failures"
        }
    }

    #[derive(DeriveIden)]
    enum SignInFailures {
        Table,
        Key,
        Failures,
        LastFailureAt,
        BlockedUntil,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(SignInFailures::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(SignInFailures::Key)
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(
                            ColumnDef::new(SignInFailures::Failures)
                                .integer()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(SignInFailures::LastFailureAt)
                                .big_integer()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(SignInFailures::BlockedUntil)
                                .big_integer()
                                .not_null(),
                        )
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(SignInFailures::Table).to_owned())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_grows_after_the_allowed_failures_up_to_a_ceiling() {
        let waits: Vec<i64> = (1..=10).map(|n| delay(n, 5, 900)).collect();
        assert_eq!(waits, [0, 0, 0, 0, 1, 2, 4, 8, 16, 32]);
        assert_eq!(delay(40, 5, 900), 900);
        assert_eq!(delay(i64::MAX, 5, 900), 900);
    }

    #[test]
    fn the_client_address_is_the_ingress_header_s_last_value_when_configured() {
        let request = http::Request::builder()
            .header("x-forwarded-for", "203.0.113.9, 198.51.100.7")
            .body(())
            .unwrap();
        let (mut parts, _) = request.into_parts();
        parts
            .extensions
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 2], 5000))));
        let mut settings = LimitSettings::default();
        assert_eq!(
            client_address(&parts, &settings).0,
            IpAddr::from([10, 0, 0, 2])
        );
        settings.client_address_header = Some("x-forwarded-for".into());
        assert_eq!(
            client_address(&parts, &settings).0,
            IpAddr::from([198, 51, 100, 7])
        );
    }
}
