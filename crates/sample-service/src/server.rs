//! The services' HTTP/1.1 server: accept loop, per-connection deadlines, drain with a deadline.
//!
//! - Accepted sockets get `TCP_NODELAY`; upgrades are on (the WebSocket route).
//! - Each connection is watched by [`bootstrap::conn`]: a new connection that sends nothing is
//!   closed after `header_read_timeout`, an idle keep-alive connection after `keepalive_timeout`
//!   (which must outlast the load balancer's idle timeout, 60 s on an ALB), and a request head must
//!   be complete within `header_read_timeout` of its first byte. No deadline applies while a
//!   request is being served, nor after a 101. The end of a response starts the keep-alive clock
//!   even if the client sends nothing more (`bootstrap::conn` wakes the parked reader).
//! - When `shutdown` resolves, the listener closes, idle connections close at once, busy ones after
//!   their current response; whatever is still running after `drain_timeout` is dropped. WebSocket
//!   sessions (upgraded connections) are not waited for: they end with the process.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use axum::Router;
use bootstrap::conn::{self, Deadlines, Drain, GuardedBody};
use bootstrap::env::EnvError;
use hyper::body::Incoming;
use hyper::StatusCode;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// The server's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeSettings {
    /// A new connection's first request, and each request head from its first byte
    /// (`HEADER_READ_TIMEOUT`, 10 s).
    pub header_read_timeout: Duration,
    /// How long an idle keep-alive connection stays open after a response (`KEEPALIVE_TIMEOUT`,
    /// 75 s: longer than an ALB's default idle timeout of 60 s).
    pub keepalive_timeout: Duration,
    /// How long in-flight requests get after SIGTERM (`DRAIN_TIMEOUT`, 25 s; ECS kills at 30 s).
    pub drain_timeout: Duration,
}

impl Default for ServeSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: bootstrap::env::DEFAULT_HEADER_READ_TIMEOUT,
            keepalive_timeout: bootstrap::env::DEFAULT_KEEPALIVE_TIMEOUT,
            drain_timeout: bootstrap::env::DEFAULT_DRAIN_TIMEOUT,
        }
    }
}

impl ServeSettings {
    /// `HEADER_READ_TIMEOUT`, `KEEPALIVE_TIMEOUT` and `DRAIN_TIMEOUT` (humantime: `75s`, `500ms`),
    /// each defaulting as above.
    pub fn from_env() -> Result<Self, EnvError> {
        Ok(Self {
            header_read_timeout: bootstrap::env::header_read_timeout()?,
            keepalive_timeout: bootstrap::env::keepalive_timeout()?,
            drain_timeout: bootstrap::env::drain_timeout()?,
        })
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains for at most
/// `settings.drain_timeout`. Returns whether every connection finished within it; the ones that
/// did not are closed.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    settings: ServeSettings,
    shutdown: impl Future<Output = ()>,
) -> bool {
    let deadlines = Deadlines {
        header_read: settings.header_read_timeout,
        keepalive: settings.keepalive_timeout,
    };
    let mut http = hyper::server::conn::http1::Builder::new();
    // The deadlines are the watched socket's: hyper's own header timer would also cut idle
    // keep-alive connections at header_read_timeout.
    http.keep_alive(true).header_read_timeout(None);
    let drain = Drain::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);

    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning; the listener stays open.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let (io, exchanges) = conn::watch(stream, deadlines);
        let service = {
            let app = app.clone();
            let exchanges = exchanges.clone();
            hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let guard = exchanges.start();
                let response = app.clone().oneshot(req);
                async move {
                    let resp = response.await?;
                    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
                        guard.upgraded();
                    }
                    Ok::<_, Infallible>(resp.map(|body| GuardedBody::new(body, guard)))
                }
            })
        };
        let conn = http
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        let mut draining = drain.watcher();
        connections.spawn(async move {
            tokio::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                () = draining.signaled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            match (exchanges.timed_out(), result) {
                (Some(phase), _) => {
                    tracing::debug!(%peer, phase = phase.as_str(), "connection closed by its deadline");
                }
                (None, Err(e)) => tracing::debug!(%peer, error = %e, "connection ended with an error"),
                (None, Ok(())) => {}
            }
            drop(draining);
        });
    }

    drop(listener);
    tracing::info!(deadline = ?settings.drain_timeout, "draining in-flight requests");
    let drained = drain.drain(settings.drain_timeout).await;
    if drained {
        tracing::info!("drained");
    } else {
        while connections.try_join_next().is_some() {}
        tracing::warn!(
            connections = connections.len(),
            "drain deadline passed with requests still in flight: closing them"
        );
    }
    connections.shutdown().await;
    drained
}
