//! The `healthcheck` subcommand: asks the local instance's health endpoint and reports by exit code.
//!
//! Container images are built `FROM scratch` with no shell or curl, so Docker's HEALTHCHECK and the
//! ECS task health check run `<binary> healthcheck` instead. It connects to 127.0.0.1 on the
//! instance's port, sends `GET <path>` and succeeds only on a 2xx answer within the timeout
//! (`HEALTHCHECK_TIMEOUT_MS`, default 2000).

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use http_body_util::Empty;
use hyper_util::rt::TokioIo;

/// Default time the whole check may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(2000);

/// Why a health check failed.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("cannot connect to {0}: {1}")]
    Connect(SocketAddr, std::io::Error),
    #[error("HTTP exchange with {0} failed: {1}")]
    Http(SocketAddr, hyper::Error),
    #[error("{0} answered {1}")]
    Status(SocketAddr, http::StatusCode),
    #[error("no answer from {0} within {1:?}")]
    Timeout(SocketAddr, Duration),
}

/// Probes `http://127.0.0.1:<port><path>`.
pub async fn probe(port: u16, path: &str, timeout: Duration) -> Result<(), HealthError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    tokio::time::timeout(timeout, async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| HealthError::Connect(addr, e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| HealthError::Http(addr, e))?;
        tokio::spawn(conn);
        let req = http::Request::get(path)
            .header(http::header::HOST, format!("127.0.0.1:{port}"))
            .header(http::header::USER_AGENT, "healthcheck")
            .body(Empty::<bytes::Bytes>::new())
            .expect("static request is valid");
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| HealthError::Http(addr, e))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(HealthError::Status(addr, resp.status()))
        }
    })
    .await
    .unwrap_or(Err(HealthError::Timeout(addr, timeout)))
}

/// Runs the subcommand: probes the port from `PORT` and turns the result into an exit code.
/// Builds its own small runtime so it works from any `main`.
pub fn run(path: &str) -> ExitCode {
    let result = (|| {
        let port = crate::env::port().map_err(|e| e.to_string())?;
        let timeout = crate::env::parse::<u64>("HEALTHCHECK_TIMEOUT_MS")
            .map_err(|e| e.to_string())?
            .map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(probe(port, path, timeout))
            .map_err(|e| e.to_string())
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("healthcheck failed: {e}");
            ExitCode::FAILURE
        }
    }
}
