//! How a client reaches its endpoint: the addresses it connects to, TCP and TLS settings, and
//! connections that keep reading after the peer stopped accepting writes ([`KeepReading`]).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::config::UpstreamSettings;

/// How connections to an endpoint are made: TCP (or TLS over it) to the endpoint's addresses.
pub type Connector = KeepReading<HttpsConnector<HttpConnector<Addresses>>>;

/// The connector for an upstream with these settings: `TCP_NODELAY`, keep-alive probes, the
/// connect timeout (shared by a host's addresses, tried in turn), TLS or plain by the URL's scheme.
pub fn connector(
    settings: &UpstreamSettings,
    tls: &rustls::ClientConfig,
    addresses: Addresses,
) -> Connector {
    let mut http = HttpConnector::new_with_resolver(addresses);
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(settings.connect_timeout));
    http.set_keepalive(Some(Duration::from_secs(30)));
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls.clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    KeepReading(https)
}

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
/// as before. A connection whose peer has gone cannot be reused: its reads fail, so the pool
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
