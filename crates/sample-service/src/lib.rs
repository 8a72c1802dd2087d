//! The team API that `service1` and `service2` serve.
//!
//! Small but real, so that it exercises a reverse proxy the way a team's service would:
//!
//! | route | what it does |
//! |---|---|
//! | `GET /` | the original identity body `{"service": "service1", "region": "us-east-1"}` |
//! | `GET /health` | liveness for load balancers and `healthcheck` |
//! | `GET /items?prefix=&limit=` | lists stored items (query strings) |
//! | `GET/PUT/DELETE /items/{id}` | one item (path parameters; PUT takes a JSON body) |
//! | `POST /echo` | streams the request body back as it arrives |
//! | `GET /stream?count=&interval_ms=` | NDJSON lines sent over time |
//! | `GET /headers` | the request as the service saw it (method, path, query, headers) |
//! | `GET /status/{code}` | answers with that status |
//! | `GET /delay?ms=` | answers after a pause |
//! | `GET /ws` | WebSocket echo |
//!
//! Every response carries `x-service-name`, `x-service-region` and `x-request-id` (the caller's, or
//! a new UUID); every refusal is a JSON body with that id ([`refusal`]). The server ([`server`])
//! keeps idle keep-alive connections longer than a load balancer does and drains with a deadline.

mod api;
pub mod refusal;
pub mod server;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use api::{router, Limits, ServiceInfo};
pub use server::{serve_with, ServeSettings};

#[derive(Parser)]
#[command(
    version = bootstrap::build_info::long_version(),
    about = "A team service of the multi-region API. Reads REGION (or AWS_REGION), PORT (default 8080), \
             KEEPALIVE_TIMEOUT (75s), HEADER_READ_TIMEOUT (10s) and DRAIN_TIMEOUT (25s)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Exit 0 when the local instance answers GET /health, non-zero otherwise.
    Healthcheck,
}

/// The whole binary: `service1` and `service2` call this with their name.
pub fn main(name: &'static str) -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Healthcheck) = cli.command {
        return bootstrap::healthcheck::run("/health");
    }
    bootstrap::logging::init();
    let result = (|| -> Result<(), String> {
        let region = bootstrap::env::region().map_err(|e| e.to_string())?;
        let port = bootstrap::env::port().map_err(|e| e.to_string())?;
        let bind = bootstrap::env::bind().map_err(|e| e.to_string())?;
        let settings = ServeSettings::from_env().map_err(|e| e.to_string())?;
        let rt = bootstrap::runtime::build().map_err(|e| e.to_string())?;
        rt.block_on(serve(
            ServiceInfo::new(name, region),
            std::net::SocketAddr::new(bind, port),
            settings,
        ))
        .map_err(|e| e.to_string())
    })();
    bootstrap::access_log::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "{name} cannot start");
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Listens on `addr` and serves until SIGTERM/SIGINT, then gives in-flight requests up to
/// `settings.drain_timeout` to finish (the one place the services handle shutdown).
pub async fn serve(
    info: ServiceInfo,
    addr: std::net::SocketAddr,
    settings: ServeSettings,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(
        service = %info.name,
        region = %info.region,
        %addr,
        keepalive_timeout = ?settings.keepalive_timeout,
        header_read_timeout = ?settings.header_read_timeout,
        drain_timeout = ?settings.drain_timeout,
        "listening"
    );
    serve_with(
        listener,
        router(info, Limits::default()),
        settings,
        bootstrap::shutdown::signal(),
    )
    .await;
    Ok(())
}
