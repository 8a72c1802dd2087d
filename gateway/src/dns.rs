//! dns mode: follow a failover by re-resolving the upstream's hostname when its TTL runs out.
//!
//! Route 53 (or arc-local) answers the hostname with the active region's addresses. The follower
//! asks hickory's resolver (the system's name servers, or `[dns] server`), with its cache off so
//! every look is a real question, sleeps for the answer's TTL clamped to `[min_ttl, max_ttl]`,
//! and when the address set changes, points the upstream at a new [`Endpoint`] whose client can
//! only connect to the new addresses. The old endpoint's pool, with every connection to an address
//! that left the answer, is dropped once the requests using it finish. Traffic therefore moves
//! within TTL plus one lookup. A failed lookup keeps the last answer (static stability) and is
//! retried after `min_ttl`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::TokioResolver;

use crate::client::{self, Addresses};
use crate::config::{DnsConfig, UpstreamSettings};
use crate::metrics;
use crate::upstream::{Endpoint, Upstream};

/// Builds the resolver every dns-mode upstream shares.
pub fn resolver(cfg: &DnsConfig) -> Result<TokioResolver, String> {
    let mut builder = match cfg.server {
        Some(addr) => {
            let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
            for c in &mut ns.connections {
                c.port = addr.port();
            }
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![ns]),
                TokioRuntimeProvider::default(),
            )
        }
        None => TokioResolver::builder_tokio()
            .map_err(|e| format!("cannot read the system DNS configuration: {e}"))?,
    };
    let opts: &mut ResolverOpts = builder.options_mut();
    opts.cache_size = 0;
    opts.timeout = cfg.timeout;
    opts.attempts = 1;
    opts.ip_strategy = hickory_resolver::config::LookupIpStrategy::Ipv4thenIpv6;
    builder
        .build()
        .map_err(|e| format!("cannot build the DNS resolver: {e}"))
}

/// One lookup: the sorted address set and how long it may be used.
pub async fn lookup(
    resolver: &TokioResolver,
    host: &str,
    cfg: &DnsConfig,
) -> Result<(Vec<IpAddr>, Duration), String> {
    let answer = tokio::time::timeout(cfg.timeout, resolver.lookup_ip(host))
        .await
        .map_err(|_| format!("no answer for {host} within {:?}", cfg.timeout))?
        .map_err(|e| format!("lookup of {host} failed: {e}"))?;
    let mut addrs: Vec<IpAddr> = answer.iter().collect();
    addrs.sort();
    addrs.dedup();
    if addrs.is_empty() {
        return Err(format!("{host} has no addresses"));
    }
    let ttl = answer
        .valid_until()
        .saturating_duration_since(std::time::Instant::now())
        .clamp(cfg.min_ttl, cfg.max_ttl);
    Ok((addrs, ttl))
}

/// An address set as `dns` mode reports it: `127.0.1.2,127.0.1.3`.
pub fn describe(addrs: &[IpAddr]) -> String {
    addrs
        .iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Everything a follower needs to build endpoints for new answers.
pub struct Follower {
    pub route: Arc<str>,
    pub uri: http::Uri,
    pub host: String,
    pub settings: UpstreamSettings,
    pub clients: client::Template,
    pub resolver: TokioResolver,
    pub cfg: DnsConfig,
}

impl Follower {
    pub fn endpoint(&self, addrs: &[IpAddr]) -> Arc<Endpoint> {
        Arc::new(Endpoint::new(
            &self.uri,
            &self.settings,
            &self.clients,
            Addresses::Fixed(addrs.into()),
        ))
    }

    /// The first answer, looked up before the gateway serves. When DNS does not answer yet, the
    /// upstream starts on the system resolver, and the follower takes over at its first answer.
    pub async fn first(&self) -> (Arc<Endpoint>, Vec<IpAddr>, Duration) {
        match lookup(&self.resolver, &self.host, &self.cfg).await {
            Ok((addrs, ttl)) => (self.endpoint(&addrs), addrs, ttl),
            Err(e) => {
                tracing::warn!(route = %self.route, error = %e, "first lookup failed; using the system resolver until DNS answers");
                let ep = Endpoint::new(
                    &self.uri,
                    &self.settings,
                    &self.clients,
                    Addresses::system(),
                );
                (Arc::new(ep), Vec::new(), self.cfg.min_ttl)
            }
        }
    }

    /// Re-resolves forever, switching the upstream when the answer changes.
    pub async fn run(self, upstream: Arc<Upstream>, mut current: Vec<IpAddr>, mut wait: Duration) {
        loop {
            tokio::time::sleep(wait).await;
            match lookup(&self.resolver, &self.host, &self.cfg).await {
                Ok((addrs, ttl)) => {
                    upstream.observe(Ok(()));
                    if addrs != current {
                        tracing::info!(
                            route = %self.route, host = %self.host,
                            from = %describe(&current), to = %describe(&addrs),
                            "DNS answer changed; new requests go to the new addresses"
                        );
                        upstream.switch(self.endpoint(&addrs), describe(&addrs));
                        metrics::failover_switch(&self.route, "dns");
                        current = addrs;
                    }
                    wait = ttl;
                }
                Err(e) => {
                    if upstream.status().healthy {
                        tracing::warn!(route = %self.route, error = %e, "DNS lookup failed; keeping the last answer");
                    }
                    upstream.observe(Err(e));
                    metrics::follow_error(&self.route, "dns");
                    wait = self.cfg.min_ttl;
                }
            }
        }
    }
}
