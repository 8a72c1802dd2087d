//! The client-facing HTTP/1.1 server: accept loop, per-connection protections, graceful drain.
//!
//! Protections: a complete request head must arrive within `header_read_timeout` (slowloris); a
//! head larger than `max_header_bytes` or with more than `max_headers` fields is answered 431 by
//! hyper; at most `max_connections` connections are served at once (the rest wait in the backlog);
//! accepted sockets get `TCP_NODELAY`; requests framed by both `Content-Length` and
//! `Transfer-Encoding` are marked for refusal ([`crate::framing`]). Upgrades (WebSocket) are
//! enabled so the proxy can relay them. Each worker thread ([`crate::worker`]) runs one [`serve`]
//! loop on the shared listener.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::config::ServerConfig;
use crate::framing::{Ambiguous, FramingWatch, Tracker, Verdicts};
use crate::metrics;

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and gives in-flight
/// requests up to `drain_timeout` to finish. Idle keep-alive connections are closed at once.
/// `slots` holds the `max_connections` permits, shared by every worker serving the listener.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    cfg: ServerConfig,
    slots: Arc<Semaphore>,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).http1_only();
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(cfg.header_read_timeout)
        .max_buf_size(cfg.max_header_bytes)
        .max_headers(cfg.max_headers)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);

    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit.expect("semaphore is never closed"),
            () = &mut shutdown => break,
        };
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
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let app = app.clone();
        let verdicts = Arc::new(Verdicts::default());
        let io = FramingWatch::new(
            stream,
            Tracker::new(cfg.max_header_bytes, cfg.max_headers, verdicts.clone()),
        );
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            if verdicts.next_is_ambiguous() {
                req.extensions_mut().insert(Ambiguous);
            }
            app.clone().oneshot(req)
        });
        let conn = http
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let conn = graceful.watch(conn);
        metrics::connections_open(1.0);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            metrics::connections_open(-1.0);
            drop(permit);
        });
    }

    drop(listener);
    tracing::info!(deadline = ?cfg.drain_timeout, "draining in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("drained"),
        () = tokio::time::sleep(cfg.drain_timeout) => {
            tracing::warn!("drain deadline passed with requests still in flight");
        }
    }
}
