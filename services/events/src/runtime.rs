//! How a domain service starts: database and migrations, topics, outbox relay, consumers and the
//! gRPC server, all stopped by one cancellation token. Also the `serve` / `migrate` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alongside_platform::config::{self, ServiceSettings};
use alongside_platform::{db, grpc};
use clap::{Parser, Subcommand};
use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::consumer::{Consumer, Handler};
use crate::outbox::{Outbox, OutboxRelay};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("gRPC listener: {0}")]
    Io(#[from] std::io::Error),
}

/// A service being assembled: storage is ready, the relay runs; add consumers, then serve.
pub struct ServiceRuntime {
    pub name: &'static str,
    pub settings: ServiceSettings,
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    /// What time and day it is for the service's rules (see `alongside_platform::clock`).
    pub clock: alongside_platform::SharedClock,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
}

/// How long a service waits for the release's migration job when it does not migrate itself.
pub const SCHEMA_WAIT: Duration = Duration::from_secs(600);

impl ServiceRuntime {
    /// Connects and migrates the database, creates topics if configured, starts the outbox relay.
    pub async fn prepare<M: MigratorTrait>(
        name: &'static str,
        settings: ServiceSettings,
        shutdown: CancellationToken,
    ) -> Result<Self, StartError> {
        let db = db::connect(&settings.database).await?;
        db::prepare_schema::<M>(&db, &settings.database, SCHEMA_WAIT).await?;
        if settings.kafka.create_topics {
            crate::kafka::create_topics_with_retry(&settings.kafka, Duration::from_secs(60))
                .await?;
        }
        let clock = settings.clock.clock();
        let outbox = Outbox::new(clock.clone());
        let producer = crate::kafka::producer(&settings.kafka, name)?;
        let mut tasks = JoinSet::new();
        tasks.spawn(
            OutboxRelay::new(name, db.clone(), producer, outbox.clone()).run(shutdown.clone()),
        );
        Ok(Self {
            name,
            settings,
            db,
            outbox,
            clock,
            shutdown,
            tasks,
        })
    }

    /// Consumes `topics` with `handler` in the consumer group named after the service.
    pub fn consume(&mut self, topics: &[&str], handler: Arc<dyn Handler>) {
        let consumer = Consumer::new(
            self.name,
            topics,
            self.db.clone(),
            handler,
            self.settings.kafka.clone(),
        );
        let shutdown = self.shutdown.clone();
        let name = self.name;
        self.tasks.spawn(async move {
            if let Err(err) = consumer.run(shutdown).await {
                tracing::error!(service = name, error = %err, "consumer could not start");
            }
        });
    }

    /// Runs a background task of the service until shutdown; it is given the shutdown token.
    pub fn spawn<F, Fut>(&mut self, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task(self.shutdown.clone()));
    }

    pub fn interceptor(&self) -> alongside_platform::auth::AuthInterceptor {
        grpc::interceptor(&self.settings.auth)
    }

    /// Binds the gRPC port and serves `service` with health and reflection.
    pub async fn serve<S: grpc::GrpcService>(mut self, service: S) -> Result<Running, StartError> {
        let listener = grpc::bind(self.settings.grpc.listen).await?;
        let grpc_addr = listener.local_addr()?;
        let shutdown = self.shutdown.clone();
        let name = self.name;
        self.tasks.spawn(async move {
            if let Err(err) = grpc::serve(listener, service, shutdown.cancelled_owned()).await {
                tracing::error!(service = name, error = %err, "gRPC server stopped");
            }
        });
        tracing::info!(service = name, %grpc_addr, "serving gRPC");
        if let Some(listen) = self.settings.metrics.listen {
            alongside_platform::metrics::spawn(listen, self.shutdown.clone().cancelled_owned())
                .await?;
        }
        Ok(Running {
            grpc_addr,
            shutdown: self.shutdown,
            tasks: self.tasks,
        })
    }
}

/// A started service.
pub struct Running {
    pub grpc_addr: SocketAddr,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
}

impl Running {
    /// Waits until every task has stopped (after the shutdown token is cancelled).
    pub async fn wait(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }

    /// Cancels and waits.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.wait().await;
    }
}

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// A TOML file layered over the embedded defaults (environment variables override both).
    #[arg(long, global = true, env = "ALONGSIDE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve,
    /// Apply database migrations and exit.
    Migrate {
        /// Wait (up to 2 minutes) for the database to accept connections.
        #[arg(long)]
        wait: bool,
    },
    /// Create every topic of the registry and its `.dlq` twin (partitions, replication and
    /// retention from the settings and the registry), leave existing ones alone, and exit.
    Topics,
    /// Check the configuration (embedded defaults, file, environment) and exit.
    CheckConfig,
    /// Publish every current figure again (a backfill for a new consumer or a lost topic): the
    /// service's months are marked, and its running replicas publish them within seconds.
    /// Safe to repeat. Only services that publish figures (feedback) have any.
    Republish,
    /// Produce again to TOPIC what waits on its dead-letter twin (TOPIC.dlq), after the cause
    /// is fixed, and say how many. Safe to repeat: the replay keeps its place, and consumers
    /// take an event once.
    ReplayDeadLetters {
        /// A topic of the registry, e.g. feedback.responses.v1.
        #[arg(long)]
        topic: String,
    },
}

/// A service's `republish` command: marks what it publishes and says what it marked.
pub type Republish = Box<
    dyn FnOnce(
        DatabaseConnection,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<String, sea_orm::DbErr>> + Send>,
    >,
>;

/// The `main` of a domain service binary: `serve`, `migrate [--wait]` and the operators'
/// commands.
pub fn main<M, F, Fut>(name: &'static str, default_port: u16, start: F) -> std::process::ExitCode
where
    M: MigratorTrait,
    F: FnOnce(ServiceSettings, CancellationToken) -> Fut,
    Fut: std::future::Future<Output = Result<Running, StartError>>,
{
    main_with::<M, F, Fut>(name, default_port, start, None)
}

/// As [`main`], for a service that publishes figures `republish` marks.
pub fn main_with<M, F, Fut>(
    name: &'static str,
    default_port: u16,
    start: F,
    republish: Option<Republish>,
) -> std::process::ExitCode
where
    M: MigratorTrait,
    F: FnOnce(ServiceSettings, CancellationToken) -> Fut,
    Fut: std::future::Future<Output = Result<Running, StartError>>,
{
    let cli = Cli::parse();
    if let Command::ReplayDeadLetters { topic } = &cli.command {
        if !crate::topics::REGISTRY.iter().any(|t| t.name == topic) {
            let names: Vec<&str> = crate::topics::REGISTRY.iter().map(|t| t.name).collect();
            eprintln!(
                "alongside-{name}: --topic {topic} is not a topic of the registry: one of {}",
                names.join(", ")
            );
            return std::process::ExitCode::from(2);
        }
    }
    if matches!(cli.command, Command::Republish) && republish.is_none() {
        eprintln!("alongside-{name}: this service publishes no figures to republish");
        return std::process::ExitCode::from(2);
    }
    let settings: ServiceSettings = match config::load(
        &config::service_defaults(name, default_port),
        cli.config.as_deref(),
    ) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("alongside-{name}: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("alongside-{name}: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result: Result<(), StartError> = runtime.block_on(async move {
        let _telemetry = alongside_platform::telemetry::init(name, &settings.telemetry);
        match cli.command {
            Command::Migrate { wait } => {
                let timeout = if wait {
                    Duration::from_secs(120)
                } else {
                    Duration::ZERO
                };
                let db = db::connect_with_wait(&settings.database, timeout).await?;
                db::migrate::<M>(&db).await?;
                tracing::info!(service = name, "migrations applied");
                Ok(())
            }
            Command::CheckConfig => {
                println!("alongside-{name}: configuration valid");
                Ok(())
            }
            Command::Republish => {
                let db = db::connect(&settings.database).await?;
                if let Some(republish) = republish {
                    println!("alongside-{name}: {}", republish(db).await?);
                }
                Ok(())
            }
            Command::ReplayDeadLetters { topic } => {
                let done = crate::replay::replay(&settings.kafka, &topic).await?;
                println!(
                    "alongside-{name}: {} messages replayed from {} to {topic}; {} from other topics left there",
                    done.replayed,
                    crate::topics::dlq(&topic),
                    done.skipped
                );
                Ok(())
            }
            Command::Topics => {
                crate::kafka::create_topics_with_retry(&settings.kafka, Duration::from_secs(120))
                    .await?;
                tracing::info!(topics = ?crate::topics::all_names(), "topics present");
                Ok(())
            }
            Command::Serve => {
                let shutdown = CancellationToken::new();
                let running = start(settings, shutdown.clone()).await?;
                alongside_platform::shutdown_signal().await;
                tracing::info!(service = name, "shutting down");
                running.stop().await;
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("alongside-{name}: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
