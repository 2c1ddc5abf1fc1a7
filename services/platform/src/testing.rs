//! Test support: a fresh database per test, on SQLite or PostgreSQL.

use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;

use crate::config::DatabaseSettings;

/// Where tests find PostgreSQL; a fresh database is created on it for each test.
pub fn postgres_admin_url() -> String {
    std::env::var("ALONGSIDE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backends integration tests run on: both, unless `ALONGSIDE_TEST_BACKENDS` narrows them.
pub fn backends() -> Vec<Backend> {
    match std::env::var("ALONGSIDE_TEST_BACKENDS").as_deref() {
        Ok("sqlite") => vec![Backend::Sqlite],
        Ok("postgres") => vec![Backend::Postgres],
        _ => vec![Backend::Sqlite, Backend::Postgres],
    }
}

/// A database that exists for one test. SQLite files live in a temporary folder; PostgreSQL
/// databases are created fresh, named after the test, and dropped afterwards.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile_dir::TempDir>,
    postgres_name: Option<String>,
}

mod tempfile_dir {
    pub struct TempDir(pub std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TestDatabase {
    pub async fn create(backend: Backend, label: &str) -> Self {
        let unique = uuid::Uuid::now_v7().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("alongside-test-{label}-{unique}"));
                std::fs::create_dir_all(&dir).expect("temporary folder");
                let url = format!("sqlite://{}/test.db", dir.display());
                Self {
                    url,
                    _dir: Some(tempfile_dir::TempDir(dir)),
                    postgres_name: None,
                }
            }
            Backend::Postgres => {
                let name = format!(
                    "alongside_{}_{}",
                    label.replace('-', "_"),
                    &unique[unique.len() - 12..]
                );
                let admin = Database::connect(postgres_admin_url())
                    .await
                    .expect("PostgreSQL for tests (see README)");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                let base = postgres_admin_url();
                let url = match base.rfind('/') {
                    Some(i) => format!("{}/{name}", &base[..i]),
                    None => format!("{base}/{name}"),
                };
                Self {
                    url,
                    _dir: None,
                    postgres_name: Some(name),
                }
            }
        }
    }

    pub fn settings(&self) -> DatabaseSettings {
        DatabaseSettings {
            url: SecretString::from(self.url.clone()),
            max_connections: 4,
            migrate_on_start: true,
        }
    }
}

impl Drop for TestDatabase {
    /// Drops a PostgreSQL test database (forcing off the service's pooled connections), on a
    /// thread of its own because `drop` cannot await.
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(postgres_admin_url()).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        });
        let _ = dropper.join();
    }
}

/// The variable that moves every test "on" another day: `ALONGSIDE_TEST_TODAY=2028-02-29`.
pub const TODAY_VARIABLE: &str = "ALONGSIDE_TEST_TODAY";

/// The clock settings of services under test: on the day `ALONGSIDE_TEST_TODAY` names, or the
/// system's.
pub fn clock_settings() -> crate::config::ClockSettings {
    crate::config::ClockSettings {
        today: std::env::var(TODAY_VARIABLE)
            .ok()
            .filter(|v| !v.trim().is_empty()),
    }
}

/// The tests' own clock, on the same day as the services under test.
pub fn clock() -> crate::SharedClock {
    let settings = clock_settings();
    settings
        .validate()
        .unwrap_or_else(|e| panic!("{TODAY_VARIABLE}: {e}"));
    settings.clock()
}

/// The keys of this test process: random, made once, never in the source.
pub fn keys() -> crate::config::Keys {
    static KEYS: std::sync::OnceLock<crate::config::Keys> = std::sync::OnceLock::new();
    KEYS.get_or_init(crate::config::Keys::random).clone()
}

/// The services gRPC reflection lists at `url`, sorted, asked in both versions: v1alpha (as
/// Python's and older clients ask) and v1 (grpcurl, current clients).
pub async fn reflected_services(url: &str) -> (Vec<String>, Vec<String>) {
    use tonic_reflection::pb::{v1, v1alpha};
    let channel = tonic::transport::Channel::from_shared(url.to_string())
        .expect("a gRPC address")
        .connect()
        .await
        .expect("the port answers");
    let mut alpha = v1alpha::server_reflection_client::ServerReflectionClient::new(channel.clone())
        .server_reflection_info(tokio_stream::iter([v1alpha::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(
                v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
            ),
        }]))
        .await
        .expect("reflection v1alpha")
        .into_inner();
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(old)) =
        alpha
            .message()
            .await
            .ok()
            .flatten()
            .and_then(|r| r.message_response)
    else {
        panic!("{url}: no list of services from reflection v1alpha")
    };
    let mut current = v1::server_reflection_client::ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
        }]))
        .await
        .expect("reflection v1")
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(new)) = current
        .message()
        .await
        .ok()
        .flatten()
        .and_then(|r| r.message_response)
    else {
        panic!("{url}: no list of services from reflection v1")
    };
    let sorted = |list: Vec<String>| {
        let mut list = list;
        list.sort();
        list
    };
    (
        sorted(old.service.into_iter().map(|s| s.name).collect()),
        sorted(new.service.into_iter().map(|s| s.name).collect()),
    )
}
