//! Harness for system tests: a Tansu broker, fresh PostgreSQL databases, each service as its own
//! process, and an OTLP collector that records the spans the services export.

pub mod collector;

use secrecy::ExposeSecret;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use alongside_platform::testing::{Backend, TestDatabase};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;
use tokio::process::{Child, Command};

/// A free loopback port (bound and released; fine for a test harness on one machine).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Where cargo put the workspace's binaries (next to this test's own executable).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe.parent().expect("deps folder");
    if dir.ends_with("deps") {
        dir.parent().expect("profile folder").to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

async fn wait_for_port(addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// A Tansu broker on a loopback port, in memory, stopped when dropped.
pub struct Tansu {
    pub brokers: String,
    child: Child,
}

impl Tansu {
    pub async fn start() -> Self {
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(std::env::var("TANSU").unwrap_or_else(|_| "tansu".into()))
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url, "--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("tansu on PATH (make test installs it: cargo install tansu --locked --features dynostore)");
        let brokers = format!("127.0.0.1:{port}");
        assert!(
            wait_for_port(([127, 0, 0, 1], port).into(), Duration::from_secs(30)).await,
            "tansu did not open its port"
        );
        let tansu = Self { brokers, child };
        tansu.create_topics().await;
        tansu
    }

    /// Freezes the broker (SIGSTOP): connections stay open and nothing answers, as when a broker
    /// stalls or its network goes. Its in-memory data is kept, which a kill would lose.
    pub async fn freeze(&self) {
        self.signal("-STOP").await;
    }

    /// Lets a frozen broker carry on (SIGCONT).
    pub async fn thaw(&self) {
        self.signal("-CONT").await;
    }

    async fn signal(&self, signal: &str) {
        if let Some(pid) = self.child.id() {
            let status = Command::new("kill")
                .args([signal, &pid.to_string()])
                .status()
                .await
                .expect("kill runs");
            assert!(status.success(), "kill {signal} tansu");
        }
    }

    /// Tansu does not create topics on first use: create the registry's, as ops would.
    async fn create_topics(&self) {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .create()
            .expect("admin client");
        let names = alongside_events::topics::all_names();
        let topics: Vec<NewTopic> = names
            .iter()
            .map(|n| NewTopic::new(n, 3, TopicReplication::Fixed(1)))
            .collect();
        let results = admin
            .create_topics(
                &topics,
                &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
            )
            .await
            .expect("create topics");
        for result in results {
            if let Err((topic, code)) = result {
                assert_eq!(
                    code,
                    rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists,
                    "creating {topic}"
                );
            }
        }
    }
}

/// One service binary running as its own process.
pub struct ServiceProcess {
    pub name: &'static str,
    pub addr: SocketAddr,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl ServiceProcess {
    /// Spawns `alongside-<name> serve` with `env`, listening on a fresh port.
    pub async fn spawn(name: &'static str, env: Vec<(String, String)>) -> Self {
        let port = free_port();
        let mut process = Self {
            name,
            addr: ([127, 0, 0, 1], port).into(),
            env,
            child: None,
        };
        process.start().await;
        process
    }

    fn listen_key(&self) -> &'static str {
        if self.name == "gateway" {
            "ALONGSIDE_HTTP__LISTEN"
        } else {
            "ALONGSIDE_GRPC__LISTEN"
        }
    }

    /// Runs one of the binary's operators' commands (`republish`, `replay-dead-letters ...`)
    /// with the service's own settings: its exit status and what it printed.
    pub async fn command(&self, args: &[&str]) -> std::process::Output {
        Command::new(bin_dir().join(format!("alongside-{}", self.name)))
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .await
            .expect("the service's binary runs")
    }

    pub async fn start(&mut self) {
        let binary = bin_dir().join(format!("alongside-{}", self.name));
        let log = std::fs::File::create(std::env::temp_dir().join(format!(
            "alongside-system-{}-{}.log",
            self.name,
            self.addr.port()
        )))
        .expect("log file");
        // On the tests' day (ALONGSIDE_TEST_TODAY), like the services of the in-process tests.
        let today = alongside_platform::testing::clock_settings().today;
        let child = Command::new(&binary)
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(today.map(|day| ("ALONGSIDE_CLOCK__TODAY", day)))
            .env(self.listen_key(), self.addr.to_string())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} (build it first: cargo build --workspace --bins): {e}",
                    binary.display()
                )
            });
        self.child = Some(child);
        assert!(
            wait_for_port(self.addr, Duration::from_secs(60)).await,
            "{} did not start listening",
            self.name
        );
    }

    /// Stops the process as Kubernetes stops a pod: SIGTERM, then wait for it to exit.
    pub async fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                let _ = Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status()
                    .await;
            }
            if tokio::time::timeout(Duration::from_secs(30), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }

    /// Kills the process outright, as a crash would stop it.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The token key shared by the gateway and the services of a test, made for this test process.
pub fn internal_token_key() -> String {
    alongside_platform::testing::keys()
        .internal_token
        .expose_secret()
        .to_string()
}

/// The environment a domain service needs: its own fresh PostgreSQL database, the broker, the
/// shared token key (and for people the bank details key), and OTLP export to `collector`.
pub async fn service_env(
    name: &str,
    brokers: &str,
    collector: &str,
) -> (Vec<(String, String)>, TestDatabase) {
    let db = TestDatabase::create(Backend::Postgres, &format!("system_{name}")).await;
    let mut env = vec![
        ("DATABASE_URL".into(), db.url.clone()),
        ("ALONGSIDE_KAFKA__BROKERS".into(), brokers.into()),
        ("ALONGSIDE_KAFKA__CREATE_TOPICS".into(), "false".into()),
        (
            "ALONGSIDE_AUTH__INTERNAL_TOKEN_KEY".into(),
            internal_token_key(),
        ),
        ("ALONGSIDE_TELEMETRY__LOG_LEVEL".into(), "info".into()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), collector.into()),
        ("OTEL_BSP_SCHEDULE_DELAY".into(), "200".into()),
    ];
    if name == "feedback" {
        // The tests read months just written: released the day after they end, and settled
        // two seconds after their last response rather than a minute.
        env.push((
            "ALONGSIDE_PUBLICATION__RELEASE_AFTER_DAYS".into(),
            "0".into(),
        ));
        env.push(("ALONGSIDE_PUBLICATION__SETTLE_SECONDS".into(), "2".into()));
    }
    if name == "people" {
        let key = alongside_platform::testing::keys().bank_details;
        env.push((
            "ALONGSIDE_BANK_DETAILS_KEY".into(),
            key.expose_secret().to_string(),
        ));
    }
    (env, db)
}

/// Runs an `alongside-gateway` administration command against the gateway's database.
pub async fn gateway_command(
    gateway_env: &[(String, String)],
    args: &[&str],
    password: Option<&str>,
) -> std::process::ExitStatus {
    let mut command = Command::new(bin_dir().join("alongside-gateway"));
    command
        .args(args)
        .envs(gateway_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null());
    if let Some(password) = password {
        command.env("ALONGSIDE_USER_PASSWORD", password);
    }
    command.status().await.expect("alongside-gateway runs")
}

/// Runs `alongside-gateway create-tenant`.
pub async fn create_tenant(gateway_env: &[(String, String)], code: &str, icb: Option<&str>) {
    let mut args = vec!["create-tenant", "--ods-code", code, "--name", code];
    if let Some(icb) = icb {
        args.extend(["--icb", icb]);
    }
    let status = gateway_command(gateway_env, &args, None).await;
    assert!(status.success(), "create-tenant {code}");
}

/// Runs `alongside-gateway create-user` (the tenant must exist).
pub async fn create_user(
    gateway_env: &[(String, String)],
    email: &str,
    tenant: &str,
    role: &str,
    password: &str,
) {
    create_user_of(gateway_env, email, tenant, role, password, None).await;
}

/// Runs `alongside-gateway create-user` for the sign-in of RZA's partner `partner_id`.
pub async fn create_partner_user(gateway_env: &[(String, String)], email: &str, partner_id: &str) {
    let partner = Some(partner_id);
    create_user_of(
        gateway_env,
        email,
        "RZA",
        "partner",
        PARTNER_PASSWORD,
        partner,
    )
    .await;
}

async fn create_user_of(
    gateway_env: &[(String, String)],
    email: &str,
    tenant: &str,
    role: &str,
    password: &str,
    partner_id: Option<&str>,
) {
    let mut args = vec![
        "create-user",
        "--email",
        email,
        "--name",
        email,
        "--tenant",
        tenant,
        "--role",
        role,
    ];
    if let Some(id) = partner_id {
        args.extend(["--partner-id", id]);
    }
    let status = gateway_command(gateway_env, &args, Some(password)).await;
    assert!(status.success(), "create-user {email}");
}

/// The password of the partners' sign-ins the system tests make.
pub const PARTNER_PASSWORD: &str = "a-long-test-password";

/// Every `table.column` of the PostgreSQL database at `url` whose text (or bytes) holds one of
/// `needles`: every table of the public schema, every text, character and binary column.
pub async fn find_text(url: &str, needles: &[&str]) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let db = Database::connect(url).await.expect("test database");
    let backend = db.get_database_backend();
    let columns = db
        .query_all(Statement::from_string(
            backend,
            "SELECT table_name, column_name, data_type FROM information_schema.columns \
             WHERE table_schema = 'public' \
             AND data_type IN ('text', 'character varying', 'character', 'bytea', 'json', 'jsonb')",
        ))
        .await
        .expect("the columns");
    let mut found = Vec::new();
    for row in columns {
        let table: String = row.try_get("", "table_name").unwrap_or_default();
        let column: String = row.try_get("", "column_name").unwrap_or_default();
        let kind: String = row.try_get("", "data_type").unwrap_or_default();
        for needle in needles {
            let test = if kind == "bytea" {
                format!("position(convert_to($1, 'UTF8') in \"{column}\") > 0")
            } else {
                format!("\"{column}\"::text LIKE '%' || $1 || '%'")
            };
            let hit = db
                .query_one(Statement::from_sql_and_values(
                    backend,
                    format!("SELECT 1 AS hit FROM \"{table}\" WHERE {test} LIMIT 1"),
                    [(*needle).into()],
                ))
                .await
                .expect("searched");
            if hit.is_some() {
                found.push(format!("{table}.{column} holds {needle:?}"));
            }
        }
    }
    found
}

pub use alongside_events::testing::eventually;
