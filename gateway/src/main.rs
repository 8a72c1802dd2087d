//! `gateway`: the external API binary. `gateway` (or `gateway serve`) runs it; `gateway healthcheck`
//! probes a running instance for container health checks. Configuration: see [`gateway::config`].

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    about = "The external API gateway. Needs REGION and SERVICE1_URL/SERVICE2_URL, or GATEWAY_CONFIG."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Exit 0 when the local instance answers GET /health on PORT, non-zero otherwise.
    Healthcheck,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Healthcheck) = cli.command {
        return bootstrap::healthcheck::run("/health");
    }
    bootstrap::logging::init();
    match serve() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "gateway stopped");
            eprintln!("gateway: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve() -> anyhow::Result<()> {
    let config = gateway::config::Config::from_env().context("invalid configuration")?;
    let rt = bootstrap::runtime::build()?;
    rt.block_on(async {
        let listeners = gateway::Listeners::bind(&config).await.with_context(|| {
            format!(
                "cannot listen on ports {} and {}",
                config.server.port, config.server.admin_port
            )
        })?;
        gateway::run(config, listeners, bootstrap::shutdown::signal()).await?;
        Ok(())
    })
}
