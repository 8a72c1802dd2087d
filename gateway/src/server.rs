//! The client-facing HTTP/1.1 server: accept loop, per-connection protections, graceful drain.
//!
//! Each accepted socket is wrapped twice before hyper's HTTP/1.1 server sees it:
//! [`bootstrap::conn::Watched`] keeps its deadlines (a new connection's first byte and every
//! request head within `header_read_timeout`, idle keep-alive within `keepalive_timeout`, as
//! nginx's `client_header_timeout` and `keepalive_timeout`), and [`FramingWatch`] reads the raw
//! heads (requests framed by both `Content-Length` and `Transfer-Encoding` are marked for refusal;
//! heads over `max_header_bytes` / `max_headers` or that hyper could not parse are answered 431 or
//! 400 with the JSON error body). hyper's own limits sit at or above the gateway's
//! ([`framing::hard_limits`]) and its header timer is off: the deadlines above replace it.
//!
//! hyper's HTTP/1.1 builder is used directly rather than hyper-util's auto builder: the auto
//! builder first reads bytes to pick a protocol, with no timer, so a silent connection was held
//! forever. At most `max_connections` connections are served at once (the rest wait in the
//! backlog); accepted sockets get `TCP_NODELAY`; upgrades (WebSocket) are enabled so the proxy can
//! relay them. A connection whose framing the gateway stopped following is closed after its
//! current exchange (`Connection: close`). Each worker thread ([`crate::worker`]) runs one
//! [`serve`] loop on the shared listener.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bootstrap::conn::{self, Deadlines, Drain, GuardedBody};
use http::{header, HeaderValue, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::config::ServerConfig;
use crate::framing::{self, Ambiguous, FramingWatch, Tracker, Verdicts};
use crate::metrics;

/// Serves `handler` (the request pipeline, [`crate::pipeline::handle`]) on `listener` until `shutdown` resolves, then stops accepting and gives in-flight
/// requests up to `drain_timeout` to finish. Idle keep-alive connections are closed at once.
/// `slots` holds the `max_connections` permits, shared by every worker serving the listener.
/// `region` names this gateway in answers written before a request reaches the router.
pub async fn serve<H, F>(
    listener: TcpListener,
    handler: H,
    cfg: ServerConfig,
    region: HeaderValue,
    slots: Arc<Semaphore>,
    shutdown: impl Future<Output = ()>,
) where
    H: Fn(hyper::Request<Incoming>, SocketAddr) -> F + Clone + Send + 'static,
    F: Future<Output = axum::response::Response> + Send + 'static,
{
    let (hard_buf, hard_headers) = framing::hard_limits(cfg.max_header_bytes, cfg.max_headers);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.header_read_timeout(None)
        .max_buf_size(hard_buf)
        .max_headers(hard_headers)
        .keep_alive(true);
    let deadlines = Deadlines {
        header_read: cfg.header_read_timeout,
        keepalive: cfg.keepalive_timeout,
    };
    let drain = Drain::new();
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
        let handler = handler.clone();
        let verdicts = Arc::new(Verdicts::default());
        let (watched, exchanges) = conn::watch(stream, deadlines);
        let io = FramingWatch::new(
            watched,
            Tracker::new(cfg.max_header_bytes, cfg.max_headers, verdicts.clone()),
            region.clone(),
        );
        let ex = exchanges.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            let guard = ex.start();
            if verdicts.next_is_ambiguous() {
                req.extensions_mut().insert(Ambiguous);
            }
            let verdicts = verdicts.clone();
            // Boxed once here: the pipeline future is large, and moving it by value into the
            // async block and then into hyper's dispatcher copied it twice per request.
            let call = Box::pin(handler(req, peer));
            async move {
                let mut resp = call.await;
                if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
                    guard.upgraded();
                } else if verdicts.untracked() {
                    // The framing guard lost track of this connection (an upgrade that did not
                    // happen, CONNECT, a chunk line it could not read): no further request on it.
                    resp.headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                }
                Ok::<_, std::convert::Infallible>(resp.map(|b| GuardedBody::new(b, guard)))
            }
        });
        let conn = http
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        let mut drain_watch = drain.watcher();
        metrics::connections_open(1.0);
        tokio::spawn(async move {
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                () = drain_watch.signaled() => {
                    // Finish the exchange in progress (if any), then close.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            if let Some(phase) = exchanges.timed_out() {
                tracing::debug!(%peer, phase = phase.as_str(), "client connection timed out");
                metrics::client_timeout(phase);
            }
            metrics::connections_open(-1.0);
            drop(drain_watch);
            drop(permit);
        });
    }

    drop(listener);
    tracing::info!(deadline = ?cfg.drain_timeout, "draining in-flight requests");
    if drain.drain(cfg.drain_timeout).await {
        tracing::info!("drained");
    } else {
        tracing::warn!("drain deadline passed with requests still in flight");
    }
}
