use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(version, about = "Alongside gateway: portal, staff pages, dashboards and JSON API")]
struct Cli {
    #[arg(long, global = true, env = "ALONGSIDE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP.
    Serve,
    /// Apply database migrations and exit.
    Migrate {
        #[arg(long)]
        wait: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings: alongside_gateway::config::GatewaySettings =
        alongside_platform::config::load(alongside_gateway::config::DEFAULTS, cli.config.as_deref())?;
    let _telemetry = alongside_platform::telemetry::init("gateway", &settings.telemetry);
    match cli.command {
        Command::Migrate { wait } => {
            let timeout = std::time::Duration::from_secs(if wait { 120 } else { 0 });
            let db = alongside_platform::db::connect_with_wait(&settings.database, timeout).await?;
            alongside_platform::db::migrate::<alongside_gateway::store::Migrator>(&db).await?;
        }
        Command::Serve => {
            let shutdown = tokio_util::sync::CancellationToken::new();
            let gateway = alongside_gateway::Gateway::start(settings, shutdown.clone()).await?;
            tracing::info!(url = %gateway.url(), "gateway serving");
            alongside_platform::shutdown_signal().await;
            shutdown.cancel();
            gateway.wait().await;
        }
    }
    Ok(())
}
