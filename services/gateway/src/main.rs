use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    version,
    about = "Alongside gateway: portal, staff pages, dashboards and JSON API"
)]
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
    /// Add an organisation: an ICB (ODS code starting with Q), or a trust of an ICB already added
    /// (`--icb`). Running it again for the same code renames it.
    CreateTenant {
        #[arg(long)]
        ods_code: String,
        #[arg(long)]
        name: String,
        /// For a trust: the ODS code of its ICB.
        #[arg(long)]
        icb: Option<String>,
    },
    /// Create a user (the password is read from ALONGSIDE_USER_PASSWORD, never from the command line).
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// ODS code of the user's organisation.
        #[arg(long)]
        tenant: String,
        /// partner, staff, engagement_lead, finance, analyst, ics_analyst or admin.
        #[arg(long)]
        role: String,
        /// For partners: their People Bank id.
        #[arg(long)]
        partner_id: Option<String>,
    },
    /// Check the configuration (embedded defaults, file, environment) and exit.
    CheckConfig,
    /// Check that services answer (exit 1 naming each that does not): `--grpc` URLs must report
    /// SERVING on gRPC health, `--http` URLs must answer GET with 2xx. Used by `helm test`.
    Probe {
        #[arg(long)]
        grpc: Vec<String>,
        #[arg(long)]
        http: Vec<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Probe { grpc, http } = &cli.command {
        // Needs no settings: it runs in a test pod with nothing but the URLs.
        anyhow::ensure!(
            !(grpc.is_empty() && http.is_empty()),
            "name at least one --grpc or --http URL"
        );
        let failures = alongside_gateway::probe::all(grpc, http).await;
        for failure in &failures {
            eprintln!("{failure}");
        }
        anyhow::ensure!(
            failures.is_empty(),
            "{} of {} targets failed",
            failures.len(),
            grpc.len() + http.len()
        );
        println!("all {} targets answer", grpc.len() + http.len());
        return Ok(());
    }
    let settings: alongside_gateway::config::GatewaySettings = alongside_platform::config::load(
        alongside_gateway::config::DEFAULTS,
        cli.config.as_deref(),
    )?;
    let _telemetry = alongside_platform::telemetry::init("gateway", &settings.telemetry);
    match cli.command {
        Command::Migrate { wait } => {
            let timeout = std::time::Duration::from_secs(if wait { 120 } else { 0 });
            let db = alongside_platform::db::connect_with_wait(&settings.database, timeout).await?;
            alongside_platform::db::migrate::<alongside_gateway::store::Migrator>(&db).await?;
        }
        Command::CreateTenant {
            ods_code,
            name,
            icb,
        } => {
            let db = alongside_platform::db::connect(&settings.database).await?;
            alongside_platform::db::migrate::<alongside_gateway::store::Migrator>(&db).await?;
            alongside_gateway::seed::create_tenant(&db, &ods_code, &name, icb.as_deref())
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            println!("tenant {} saved", ods_code.to_ascii_uppercase());
            // The services learn of it now if they answer, else when the gateway next starts.
            let clients = alongside_gateway::clients::Clients::new(
                &settings.services,
                alongside_platform::auth::TokenSigner::new(&settings.auth),
            )?;
            match alongside_gateway::seed::register_tenants(&db, &clients).await {
                Ok(_) => println!("registered with the services"),
                Err(err) => println!(
                    "not yet registered with the services ({err}): the gateway registers it when it starts"
                ),
            }
        }
        Command::CreateUser {
            email,
            name,
            tenant,
            role,
            partner_id,
        } => {
            let password = std::env::var("ALONGSIDE_USER_PASSWORD").map_err(|_| {
                anyhow::anyhow!("set ALONGSIDE_USER_PASSWORD to the new user's password")
            })?;
            anyhow::ensure!(
                password.len() >= 12,
                "the password must be at least 12 characters"
            );
            let role = alongside_platform::Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("unknown role {role:?}"))?;
            let tenant = alongside_platform::OdsCode::parse(&tenant)?;
            let db = alongside_platform::db::connect(&settings.database).await?;
            alongside_platform::db::migrate::<alongside_gateway::store::Migrator>(&db).await?;
            anyhow::ensure!(
                alongside_gateway::seed::tenant_exists(&db, tenant.as_str())
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
                "no tenant {tenant}: add it first with `alongside-gateway create-tenant`"
            );
            alongside_gateway::seed::create_user(
                &db,
                &email,
                &name,
                &password,
                tenant.as_str(),
                role,
                partner_id,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("user {email} created");
        }
        Command::Probe { .. } => unreachable!("handled before settings load"),
        Command::CheckConfig => println!("alongside-gateway: configuration valid"),
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
