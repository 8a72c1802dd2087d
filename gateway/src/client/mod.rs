//! The HTTP client the gateway uses to reach one upstream endpoint: HTTP/1.1 connections made
//! with hyper's `client::conn::http1` over a rustls connector, kept in a per-worker pool
//! ([`pool`]).
//!
//! - TLS: rustls with the bundled Mozilla roots (`webpki-roots`), because images are built
//!   `FROM scratch` and have no CA store. Plain `http://` upstreams work too (compose, tests).
//! - TCP: `TCP_NODELAY` (a proxy must not add Nagle delay), keep-alive probes, connect timeout
//!   (hyper-util's `HttpConnector`, which tries a host's addresses in turn).
//! - Pool: idle connections are not used after `pool_idle_timeout`, below common backend
//!   keep-alives, so the gateway rarely sends on a connection the backend is closing.
//! - Workers: each worker thread gets its own client per upstream ([`Template::build`]), so a
//!   pooled connection is only ever used by the thread whose runtime drives it.
//! - Early answers: an upstream may answer before it has read the whole request body (a 413 for
//!   an upload it refuses) and close; the rest of the body then meets a reset. [`KeepReading`]
//!   treats a write to a peer that has gone as written, so hyper goes on reading and the answer
//!   the upstream did send reaches the client (nginx relays it too) instead of a 502.
//! - Retries: a request that a pooled connection never wrote because the connection had closed
//!   meanwhile is sent on the next one (hyper hands it back; bounded by [`MAX_UNSENT`]). A
//!   request no connection took comes back to the caller with the error ([`Failed`]), so
//!   [`crate::proxy`] can retry a failed connect or send it to another region without a copy.
//!
//! Requests carry their target in origin form (`/path?query`); the endpoint's scheme and
//! authority are the client's own.

mod connect;
mod pool;
#[cfg(test)]
mod tests;

pub use connect::{Addresses, Connector, KeepReading, WriteTolerant};
pub use pool::{Pool, PooledBody};

use std::sync::Arc;

use http::{Request, Response, StatusCode, Uri};
use tower::ServiceExt as _;

use crate::body::{BoxError, RequestBody};
use crate::config::UpstreamSettings;
use pool::{Lease, Sender};

/// How many pooled connections a request may find closed before it is written, one after the
/// other, before the client stops looking (each is dropped from the pool as it is found).
pub const MAX_UNSENT: usize = 16;

/// What every upstream client is built from: the shared TLS configuration, and how many worker
/// threads need a client (a connection pool) of their own ([`crate::worker`]).
#[derive(Clone)]
pub struct Template {
    pub tls: Arc<rustls::ClientConfig>,
    pub workers: usize,
}

impl Template {
    pub fn new(workers: usize) -> Template {
        Template {
            tls: tls_config(),
            workers: workers.max(1),
        }
    }

    /// One client per worker for an upstream with these settings, connecting to `addresses`
    /// for `origin` (the endpoint's scheme and authority).
    pub fn build(
        &self,
        settings: &UpstreamSettings,
        addresses: Addresses,
        origin: &Uri,
    ) -> Box<[HttpClient]> {
        (0..self.workers)
            .map(|_| {
                HttpClient::new(
                    settings,
                    self.tls.clone(),
                    addresses.clone(),
                    origin.clone(),
                )
            })
            .collect()
    }
}

/// The TLS configuration shared by every upstream: safe defaults, bundled roots, HTTP/1.1 by ALPN.
pub fn tls_config() -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection: refused, timed out, unresolvable, or the TLS handshake failed. The
    /// upstream never saw the request.
    #[error("cannot connect to the upstream")]
    Connect(#[source] BoxError),
    /// The exchange on a connection failed (the request may have been written).
    #[error("the upstream exchange failed")]
    Exchange(#[source] hyper::Error),
}

impl ClientError {
    pub fn is_connect(&self) -> bool {
        matches!(self, ClientError::Connect(_))
    }
}

/// A request that got no response: why, and the request itself when no connection took it (a
/// failed connect), so it can be sent again unchanged.
pub struct Failed {
    pub error: ClientError,
    pub request: Option<Request<RequestBody>>,
}

/// One worker's client to one endpoint: how to connect, and the idle connections.
pub struct HttpClient {
    connector: Connector,
    /// The endpoint's scheme and authority: what the connector connects to.
    origin: Uri,
    pool: Arc<Pool>,
}

impl HttpClient {
    /// A client with the upstream's timeouts and pool settings, connecting to `addresses` for
    /// `origin`.
    pub fn new(
        settings: &UpstreamSettings,
        tls: Arc<rustls::ClientConfig>,
        addresses: Addresses,
        origin: Uri,
    ) -> HttpClient {
        HttpClient {
            connector: connect::connector(settings, &tls, addresses),
            origin,
            pool: Pool::new(settings.pool_max_idle, settings.pool_idle_timeout),
        }
    }

    /// Sends `req` (its URI in origin form) on a pooled connection, or a new one.
    pub async fn request(
        &self,
        mut req: Request<RequestBody>,
    ) -> Result<Response<PooledBody>, Failed> {
        let mut unsent = 0;
        loop {
            // After MAX_UNSENT pooled connections that had closed, a fresh one.
            let pooled = (unsent < MAX_UNSENT)
                .then(|| self.pool.checkout())
                .flatten();
            let reused = pooled.is_some();
            let mut sender = match pooled {
                Some(sender) => sender,
                None => match self.connect().await {
                    Ok(sender) => sender,
                    Err(error) => {
                        return Err(Failed {
                            error,
                            request: Some(req),
                        })
                    }
                },
            };
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    // An upgraded connection belongs to the tunnel, not the pool.
                    let lease = (resp.status() != StatusCode::SWITCHING_PROTOCOLS)
                        .then(|| Lease::new(sender, self.pool.clone()));
                    return Ok(resp.map(|body| PooledBody::new(body, lease)));
                }
                Err(mut e) => match e.take_message() {
                    // A pooled connection that had closed before writing it: the next one.
                    Some(back) if reused => {
                        tracing::debug!(error = %e.error(), "pooled upstream connection had closed; trying another");
                        unsent += 1;
                        req = back;
                    }
                    _ => {
                        return Err(Failed {
                            error: ClientError::Exchange(e.into_error()),
                            request: None,
                        })
                    }
                },
            }
        }
    }

    /// A new connection to the endpoint, its driver spawned on this worker's runtime.
    async fn connect(&self) -> Result<Sender, ClientError> {
        let io = self
            .connector
            .clone()
            .oneshot(self.origin.clone())
            .await
            .map_err(ClientError::Connect)?;
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .handshake(io)
            .await
            .map_err(|e| ClientError::Connect(e.into()))?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }

    /// How many of this client's connections are idle in its pool.
    #[cfg(test)]
    pub fn idle(&self) -> usize {
        self.pool.idle()
    }
}
