//! Database connection and migrations. One migration history per service runs on SQLite
//! (embedded) and PostgreSQL (production).

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, Statement};
use sea_orm_migration::MigratorTrait;
use secrecy::ExposeSecret;

use crate::config::DatabaseSettings;

/// Connects, creating the SQLite file (and its folder) if it does not exist yet.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    let mut url = settings.url.expose_secret().to_string();
    let sqlite = url.starts_with("sqlite:");
    if sqlite {
        if let Some(path) = sqlite_path(&url) {
            if let Some(parent) = std::path::Path::new(&path).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        DbErr::Custom(format!("creating {}: {e}", parent.display()))
                    })?;
                }
            }
        }
        if !url.contains("mode=") {
            url.push_str(if url.contains('?') {
                "&mode=rwc"
            } else {
                "?mode=rwc"
            });
        }
    }
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(if sqlite {
            1.max(settings.max_connections.min(4))
        } else {
            settings.max_connections
        })
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if sqlite {
        // On every pooled connection, not just the first: WAL lets readers work while the outbox
        // relay and consumers write; FULL syncs each commit, so a committed claim survives a power
        // cut even after its Kafka offset has moved on (a fraction of a millisecond here).
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    }
    Database::connect(options).await
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// How a database's schema compares with the migrations a binary carries.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Migrations of this binary not applied yet.
    pub pending: Vec<String>,
    /// Applied migrations this binary does not know: the database was migrated by a newer
    /// release (after a rollback, for instance).
    pub unknown: Vec<String>,
}

/// Compares the applied migrations with `M`'s, without changing anything.
pub async fn schema_status<M: MigratorTrait>(
    db: &DatabaseConnection,
) -> Result<SchemaStatus, DbErr> {
    let known: Vec<String> = M::migrations()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    let table = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations",
        ))
        .await;
    let applied: Vec<String> = match table {
        Ok(rows) => rows
            .iter()
            .map(|row| row.try_get::<String>("", "version"))
            .collect::<Result<_, _>>()?,
        // No migration table yet: nothing applied.
        Err(_) => Vec::new(),
    };
    Ok(SchemaStatus {
        pending: known
            .iter()
            .filter(|name| !applied.contains(name))
            .cloned()
            .collect(),
        unknown: applied
            .iter()
            .filter(|name| !known.contains(name))
            .cloned()
            .collect(),
    })
}

/// Applies every pending migration of `M`. A schema that is ahead of this binary (a newer
/// release migrated it, then was rolled back) is left as it is: migrations only add, so the
/// older code still works on it.
pub async fn migrate<M: MigratorTrait>(db: &DatabaseConnection) -> Result<(), DbErr> {
    let status = schema_status::<M>(db).await?;
    if !status.unknown.is_empty() {
        if status.pending.is_empty() {
            tracing::warn!(unknown = ?status.unknown, "the database schema is ahead of this release; nothing to apply");
            return Ok(());
        }
        return Err(DbErr::Custom(format!(
            "the database has migrations this release does not know ({}) and lacks some it does ({}); restore a backup or deploy the newer release",
            status.unknown.join(", "),
            status.pending.join(", ")
        )));
    }
    M::up(db, None).await
}

/// Makes the schema ready for serving: applies migrations when `migrate_on_start`, otherwise
/// waits (up to `timeout`) for the release's migration job to apply them.
pub async fn prepare_schema<M: MigratorTrait>(
    db: &DatabaseConnection,
    settings: &DatabaseSettings,
    timeout: Duration,
) -> Result<(), DbErr> {
    if settings.migrate_on_start {
        return migrate::<M>(db).await;
    }
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let status = schema_status::<M>(db).await?;
        if status.pending.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(DbErr::Custom(format!(
                "migrations not applied after {}s: {} (run `migrate`, or set database.migrate_on_start)",
                timeout.as_secs(),
                status.pending.join(", ")
            )));
        }
        tracing::info!(pending = ?status.pending, "waiting for the migration job");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Connects, retrying until `timeout` while the database is still starting (`migrate --wait`).
pub async fn connect_with_wait(
    settings: &DatabaseSettings,
    timeout: Duration,
) -> Result<DatabaseConnection, DbErr> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut delay = Duration::from_millis(200);
    loop {
        match connect(settings).await {
            Ok(db) => return Ok(db),
            Err(err) if tokio::time::Instant::now() + delay < deadline => {
                tracing::warn!(error = %err, "database not ready; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(err) => return Err(err),
        }
    }
}

/// Whether the database answers (for readiness).
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sqlite_file() {
        assert_eq!(
            sqlite_path("sqlite://data/people.db?mode=rwc").as_deref(),
            Some("data/people.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    struct WithAudit;
    impl MigratorTrait for WithAudit {
        fn migrations() -> Vec<Box<dyn sea_orm_migration::MigrationTrait>> {
            vec![Box::new(crate::audit::AuditMigration)]
        }
    }

    /// An older release: it knows none of the migrations.
    struct Older;
    impl MigratorTrait for Older {
        fn migrations() -> Vec<Box<dyn sea_orm_migration::MigrationTrait>> {
            Vec::new()
        }
    }

    #[tokio::test]
    async fn waits_for_the_migration_job_and_tolerates_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let settings = DatabaseSettings {
            url: format!("sqlite://{}/db.sqlite", dir.path().display()).into(),
            max_connections: 2,
            migrate_on_start: false,
        };
        let db = connect(&settings).await.unwrap();
        let status = schema_status::<WithAudit>(&db).await.unwrap();
        assert_eq!(
            status.pending,
            vec!["m20261123_000002_audit_log".to_string()]
        );
        assert!(status.unknown.is_empty());

        // Not migrating on start: the service refuses to serve on an old schema, naming what is missing.
        let err = prepare_schema::<WithAudit>(&db, &settings, Duration::ZERO)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("m20261123_000002_audit_log"),
            "{err}"
        );

        // The migration job applies it once; then the service starts.
        migrate::<WithAudit>(&db).await.unwrap();
        prepare_schema::<WithAudit>(&db, &settings, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(
            schema_status::<WithAudit>(&db).await.unwrap(),
            SchemaStatus::default()
        );

        // A rolled-back release finds the schema ahead of it and applies nothing.
        let status = schema_status::<Older>(&db).await.unwrap();
        assert_eq!(
            status.unknown,
            vec!["m20261123_000002_audit_log".to_string()]
        );
        migrate::<Older>(&db).await.unwrap();
        prepare_schema::<Older>(&db, &settings, Duration::ZERO)
            .await
            .unwrap();
    }
}
