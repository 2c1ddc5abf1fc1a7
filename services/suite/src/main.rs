use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Alongside, embedded: all services in one process with SQLite and an in-process Kafka broker.
#[derive(Parser)]
#[command(name = "alongside", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// HTTP port of the portal.
    #[arg(long, default_value_t = 8080, env = "ALONGSIDE_PORT")]
    port: u16,
    /// Where the SQLite databases live; kept between runs.
    #[arg(long, default_value = "data", env = "ALONGSIDE_DATA_DIR")]
    data_dir: PathBuf,
    /// Start without demo data.
    #[arg(long)]
    no_demo: bool,
    /// Run as if today were this day (YYYY-MM-DD) in England, the clock moving on from there;
    /// the demo data is built around it. For demonstrations and tests.
    #[arg(long, env = "ALONGSIDE_CLOCK__TODAY", value_name = "YYYY-MM-DD")]
    today: Option<String>,
    /// gRPC ports from this one: people, engagement, feedback and payments in turn (any free
    /// ports when not given).
    #[arg(long, env = "ALONGSIDE_GRPC_BASE_PORT", value_name = "PORT")]
    grpc_base_port: Option<u16>,
    /// Days after a month ends that its FFT figures are released to readers of figures (dashboards,
    /// exports, the analytics stream); the month is not shown before.
    #[arg(
        long,
        env = "ALONGSIDE_PUBLICATION__RELEASE_AFTER_DAYS",
        value_name = "DAYS",
        default_value_t = alongside_platform::config::PublicationSettings::default().release_after_days
    )]
    release_after_days: u32,
}

#[derive(Subcommand)]
enum Command {
    /// Analyses for analysts: CSV in, JSON on stdout (without this, `alongside` runs the suite).
    Analyze {
        #[command(subcommand)]
        analysis: alongside_suite::analyze::Analysis,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Analyze { analysis }) = &cli.command {
        match alongside_suite::analyze::run(analysis) {
            Ok(json) => {
                use std::io::Write;
                // A reader that stops early (`| head`) is not an error.
                return match writeln!(std::io::stdout().lock(), "{json:#}") {
                    Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                    _ => Ok(()),
                };
            }
            Err(message) => {
                eprintln!("alongside analyze: {message}");
                std::process::exit(2);
            }
        }
    }
    let _telemetry = alongside_platform::telemetry::init(
        "alongside",
        &alongside_platform::config::TelemetrySettings {
            log_format: "pretty".into(),
            log_level: "warn".into(),
        },
    );
    let started = std::time::Instant::now();
    let suite = alongside_suite::Suite::start(alongside_suite::Options {
        port: cli.port,
        data_dir: cli.data_dir,
        demo: !cli.no_demo,
        clock: alongside_platform::config::ClockSettings { today: cli.today },
        grpc_base_port: cli.grpc_base_port,
        publication: alongside_platform::config::PublicationSettings {
            release_after_days: cli.release_after_days,
            ..Default::default()
        },
    })
    .await?;
    println!();
    println!("Alongside is running: {}", suite.url());
    println!(
        "  started in {:.1} s; data in {}",
        started.elapsed().as_secs_f64(),
        suite.data_dir().display()
    );
    println!(
        "  Kafka bootstrap (in-process broker): {}",
        suite.kafka_bootstrap()
    );
    println!("  gRPC (with reflection, v1 and v1alpha):");
    for (name, addr) in suite.grpc_addresses() {
        println!("    {name:<12} {addr}");
    }
    println!(
        "  Sign in with any of these (password: {}):",
        alongside_gateway::seed::DEMO_PASSWORD
    );
    for (email, name) in suite.demo_sign_ins() {
        println!("    {email:<32} {name}");
    }
    println!("  Press Ctrl-C to stop.");
    alongside_platform::shutdown_signal().await;
    println!("Stopping…");
    suite.stop().await;
    Ok(())
}
