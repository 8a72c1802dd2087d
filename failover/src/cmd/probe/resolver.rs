//! How the probe finds a host's addresses: the system resolver, or one DNS server given with
//! `--dns-server` / `--probe-dns` (arc-local's, `127.0.0.1:8653`, so that on one machine the
//! external API's hostname fails over as Route 53 answers it). IP literals never reach either.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::TokioResolver;
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};

/// The probe's resolver.
#[derive(Clone)]
pub enum Resolver {
    System(GaiResolver),
    /// One DNS server, asked directly (its answers cached for their TTL).
    Server(Arc<TokioResolver>),
}

/// A `--dns-server` value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("DNS server {0}: cannot set up a resolver: {1}")]
pub struct ResolverError(SocketAddr, String);

impl Resolver {
    /// The system resolver, or `server` when given.
    pub fn new(server: Option<SocketAddr>) -> Result<Resolver, ResolverError> {
        let Some(addr) = server else {
            return Ok(Resolver::System(GaiResolver::new()));
        };
        let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
        for c in &mut ns.connections {
            c.port = addr.port();
        }
        let resolver = TokioResolver::builder_with_config(
            ResolverConfig::from_name_servers(vec![ns]),
            TokioRuntimeProvider::default(),
        )
        .build()
        .map_err(|e| ResolverError(addr, e.to_string()))?;
        Ok(Resolver::Server(Arc::new(resolver)))
    }
}

type Addrs = std::vec::IntoIter<SocketAddr>;

impl tower_service::Service<Name> for Resolver {
    type Response = Addrs;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Addrs, std::io::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), std::io::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        match self {
            Resolver::System(gai) => {
                let lookup = gai.call(name);
                Box::pin(async move { Ok(lookup.await?.collect::<Vec<_>>().into_iter()) })
            }
            Resolver::Server(r) => {
                let r = r.clone();
                Box::pin(async move {
                    let found = r
                        .lookup_ip(name.as_str())
                        .await
                        .map_err(|e| std::io::Error::other(format!("{name}: {e}")))?;
                    Ok(found
                        .iter()
                        .map(|ip| SocketAddr::new(ip, 0))
                        .collect::<Vec<_>>()
                        .into_iter())
                })
            }
        }
    }
}
