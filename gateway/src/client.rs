//! The HTTP client the gateway uses to reach one upstream: hyper-util's pooled client over a
//! rustls connector.
//!
//! - TLS: rustls with the bundled Mozilla roots (`webpki-roots`), because images are built
//!   `FROM scratch` and have no CA store. Plain `http://` upstreams work too (compose, tests).
//! - TCP: `TCP_NODELAY` (a proxy must not add Nagle delay), keep-alive probes, connect timeout.
//! - Pool: idle connections close after `pool_idle_timeout`, below common backend keep-alives, so
//!   the gateway rarely sends on a connection the backend is closing.
//! - Workers: each worker thread gets its own client per upstream ([`Template::build`]), so a
//!   pooled connection is only ever used by the thread whose runtime drives it.
//! - Early answers: an upstream may answer before it has read the whole request body (a 413 for
//!   an upload it refuses) and close; the rest of the body then meets a reset. [`KeepReading`]
//!   treats a write to a peer that has gone as written, so hyper goes on reading and the answer
//!   the upstream did send reaches the client (nginx relays it too) instead of a 502.
//! - Retries: hyper-util resends a request that was never written because the pooled connection it
//!   picked had been closed (`retry_canceled_requests`, bounded by the idle connections in the
//!   pool). Connect failures are retried by [`crate::proxy`] with a bounded count.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::body::RequestBody;
use crate::config::UpstreamSettings;

/// The client type for one upstream endpoint.
pub type HttpClient = Client<KeepReading<HttpsConnector<HttpConnector<Addresses>>>, RequestBody>;

/// Where a client's connections go: the system resolver (`getaddrinfo`), or a fixed address set.
///
/// In dns mode each answer gets its own client with a fixed set: a client's pool can then only
/// hold connections to addresses of that answer, and dropping the client drains them. (A stock
/// pool is keyed by hostname and would keep using addresses that left the answer.)
#[derive(Clone)]
pub enum Addresses {
    System(GaiResolver),
    Fixed(Arc<[IpAddr]>),
}

impl Addresses {
    pub fn system() -> Addresses {
        Addresses::System(GaiResolver::new())
    }
}

impl tower::Service<Name> for Addresses {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        match self {
            // The connector sets the port from the URI on every address.
            Addresses::Fixed(ips) => {
                let addrs: Vec<SocketAddr> = ips.iter().map(|ip| SocketAddr::new(*ip, 0)).collect();
                Box::pin(std::future::ready(Ok(addrs.into_iter())))
            }
            Addresses::System(gai) => {
                let fut = gai.call(name);
                Box::pin(async move { Ok(fut.await?.collect::<Vec<_>>().into_iter()) })
            }
        }
    }
}

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

    /// One client per worker for an upstream with these settings, connecting to `addresses`.
    pub fn build(&self, settings: &UpstreamSettings, addresses: Addresses) -> Box<[HttpClient]> {
        (0..self.workers)
            .map(|_| build(settings, self.tls.clone(), addresses.clone()))
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

/// Builds a client with the upstream's timeouts and pool settings, connecting to `addresses`.
pub fn build(
    settings: &UpstreamSettings,
    tls: Arc<rustls::ClientConfig>,
    addresses: Addresses,
) -> HttpClient {
    let mut http = HttpConnector::new_with_resolver(addresses);
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(settings.connect_timeout));
    http.set_keepalive(Some(Duration::from_secs(30)));
    let https = HttpsConnectorBuilder::new()
        .with_tls_config((*tls).clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .pool_idle_timeout(settings.pool_idle_timeout)
        .pool_max_idle_per_host(settings.pool_max_idle)
        .retry_canceled_requests(true)
        .set_host(false)
        .build(KeepReading(https))
}

/// A connector whose connections keep reading after the peer stopped accepting writes.
#[derive(Clone)]
pub struct KeepReading<C>(C);

impl<C> tower::Service<http::Uri> for KeepReading<C>
where
    C: tower::Service<http::Uri>,
    C::Future: Send + 'static,
{
    type Response = WriteTolerant<C::Response>;
    type Error = C::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, C::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let connecting = self.0.call(uri);
        Box::pin(async move {
            Ok(WriteTolerant {
                inner: connecting.await?,
                peer_gone: false,
            })
        })
    }
}

/// An upstream connection that, once a write finds the peer gone (reset, broken pipe), discards
/// further writes and lets reads go on: whatever the upstream answered before it closed is still
/// in the socket's receive queue. If it answered nothing, the read fails and the request is a 502
/// as before. A connection whose peer has gone cannot be reused: its reads fail, so hyper's pool
/// drops it.
pub struct WriteTolerant<T> {
    inner: T,
    peer_gone: bool,
}

fn is_peer_gone(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), BrokenPipe | ConnectionReset | ConnectionAborted)
}

impl<T> WriteTolerant<T> {
    fn tolerate<R>(
        &mut self,
        res: Poll<std::io::Result<R>>,
        written: R,
    ) -> Poll<std::io::Result<R>> {
        match res {
            Poll::Ready(Err(e)) if is_peer_gone(&e) => {
                tracing::debug!(error = %e, "upstream stopped reading the request; reading its answer");
                self.peer_gone = true;
                Poll::Ready(Ok(written))
            }
            other => other,
        }
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for WriteTolerant<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for WriteTolerant<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.peer_gone {
            return Poll::Ready(Ok(buf.len()));
        }
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.tolerate(res, buf.len())
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let total = bufs.iter().map(|b| b.len()).sum();
        if self.peer_gone {
            return Poll::Ready(Ok(total));
        }
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.tolerate(res, total)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.peer_gone {
            return Poll::Ready(Ok(()));
        }
        let res = Pin::new(&mut self.inner).poll_flush(cx);
        self.tolerate(res, ())
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.peer_gone {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<T: hyper_util::client::legacy::connect::Connection>
    hyper_util::client::legacy::connect::Connection for WriteTolerant<T>
{
    fn connected(&self) -> hyper_util::client::legacy::connect::Connected {
        self.inner.connected()
    }
}
