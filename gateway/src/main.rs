//! `gateway`: the external API binary. `gateway` (or `gateway serve`) runs it; `gateway healthcheck`
//! probes a running instance for container health checks; `gateway config` prints the effective
//! configuration with the source of each value; `gateway keys create|import` prints an API key's
//! entry for the key file. Configuration: see [`gateway::config`].

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's malloc: a proxy allocates and frees small buffers and header maps
/// for every request, and glibc's allocator took about a tenth of the gateway's CPU under load
/// (`perf` while `bench/gateway.sh` ran). Built with `no_thp`: with transparent huge pages its
/// arenas doubled the resident set (idle 16 MiB instead of 9) for no measurable speed.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Print the effective configuration (environment, GATEWAY_CONFIG file and defaults merged)
    /// as TOML, each value commented with where it came from; exit 1 if it is invalid.
    Config,
    /// API keys: make one, or take in an existing one, as a `[[key]]` entry of the key file.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new random key. The key is printed once, on stderr; the entry (its SHA-256 digest,
    /// never the key) on stdout: `gateway keys create --id ID --plan PLAN >> keys.toml`.
    Create(KeyArgs),
    /// Read an existing key (one moved from API Gateway, say) from stdin and print its entry.
    Import(KeyArgs),
}

#[derive(clap::Args)]
struct KeyArgs {
    /// The key's id, sent to the upstream in x-gateway-key-id (letters, digits, - _ .).
    #[arg(long)]
    id: String,
    /// A name for people.
    #[arg(long, default_value = "")]
    name: String,
    /// The usage plan ([plan.NAME] in the gateway's configuration).
    #[arg(long)]
    plan: Option<String>,
    /// Write the entry disabled (the key is refused until enabled).
    #[arg(long)]
    disabled: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Healthcheck) => return bootstrap::healthcheck::run("/health"),
        Some(Command::Config) => return print_config(),
        Some(Command::Keys { command }) => return keys(command),
        Some(Command::Serve) | None => {}
    }
    bootstrap::logging::init();
    let result = serve();
    bootstrap::access_log::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "gateway stopped");
            eprintln!("gateway: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_config() -> ExitCode {
    match gateway::config::Config::from_env() {
        Ok(config) => {
            print!("{}", config.to_toml());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gateway: invalid configuration: {e}");
            ExitCode::FAILURE
        }
    }
}

fn keys(command: KeysCommand) -> ExitCode {
    use gateway::policy::keys;
    let (key, args, created) = match command {
        KeysCommand::Create(args) => (keys::generate(), args, true),
        KeysCommand::Import(args) => {
            let mut line = String::new();
            if let Err(e) = std::io::stdin().read_line(&mut line) {
                eprintln!("gateway: cannot read the key from stdin: {e}");
                return ExitCode::FAILURE;
            }
            let key = line.trim().to_owned();
            if key.len() < 20 {
                eprintln!("gateway: the key on stdin is shorter than 20 characters (API Gateway's minimum)");
                return ExitCode::FAILURE;
            }
            (key, args, false)
        }
    };
    match keys::entry(
        &key,
        &args.id,
        &args.name,
        args.plan.as_deref(),
        !args.disabled,
    ) {
        Ok(entry) => {
            if created {
                eprintln!(
                    "API key for {} (shown once; only its digest is stored):\n{key}",
                    args.id
                );
            }
            print!("{entry}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve() -> anyhow::Result<()> {
    let config = gateway::config::Config::from_env().context("invalid configuration")?;
    // The main thread's runtime does the control work (signals, admin port, failover followers);
    // the API is served by the worker threads, each with a runtime of its own (gateway::worker).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
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
