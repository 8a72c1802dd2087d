//! dns mode: follow a failover by re-resolving the upstream's hostname when its TTL runs out.
//!
//! Route 53 (or arc-local) answers the hostname with the active region's addresses. The follower
//! asks a [`Resolve`] (hickory's resolver on the system's name servers or `[dns] server`, with its
//! cache off so every look is a real question), looks again after the answer's TTL clamped to
//! `[min_ttl, max_ttl]`, and when the address set changes, points the upstream at a new
//! [`Endpoint`] whose client can only connect to the new addresses. The old endpoint's pool, with
//! every connection to an address that left the answer, is dropped once the requests using it
//! finish. Traffic therefore moves within TTL plus one lookup. A failed lookup keeps the last
//! answer (static stability) and is retried after `min_ttl`.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::TokioResolver;

use super::follow::{Follow, FollowError, Looked};
use super::Endpoint;
use crate::client::{self, Addresses};
use crate::config::{DnsConfig, UpstreamSettings, UpstreamUrl};

/// Answers a hostname: its addresses and how long the answer may be used.
pub trait Resolve: Send + Sync + 'static {
    fn resolve(
        &self,
        host: &str,
    ) -> impl Future<Output = Result<(Vec<IpAddr>, Duration), FollowError>> + Send;
}

/// hickory's resolver, shared by every dns-mode upstream.
#[derive(Clone)]
pub struct Hickory {
    resolver: TokioResolver,
    timeout: Duration,
}

/// The resolver could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ResolverError {
    #[error("cannot read the system DNS configuration: {0}")]
    System(String),
    #[error("cannot build the DNS resolver: {0}")]
    Build(String),
}

impl Hickory {
    /// The resolver `[dns]` describes.
    pub fn new(cfg: &DnsConfig) -> Result<Hickory, ResolverError> {
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
            None => {
                TokioResolver::builder_tokio().map_err(|e| ResolverError::System(e.to_string()))?
            }
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.cache_size = 0;
        opts.timeout = cfg.timeout;
        opts.attempts = 1;
        opts.ip_strategy = hickory_resolver::config::LookupIpStrategy::Ipv4thenIpv6;
        let resolver = builder
            .build()
            .map_err(|e| ResolverError::Build(e.to_string()))?;
        Ok(Hickory {
            resolver,
            timeout: cfg.timeout,
        })
    }
}

impl Resolve for Hickory {
    async fn resolve(&self, host: &str) -> Result<(Vec<IpAddr>, Duration), FollowError> {
        let answer = tokio::time::timeout(self.timeout, self.resolver.lookup_ip(host))
            .await
            .map_err(|_| FollowError::DnsTimeout {
                host: host.to_owned(),
                timeout: self.timeout,
            })?
            .map_err(|e| classify(host, e))?;
        let ttl = answer
            .valid_until()
            .saturating_duration_since(std::time::Instant::now());
        Ok((answer.iter().collect(), ttl))
    }
}

/// A failed lookup as the follower reports it: the server answered (NXDOMAIN, no records, an
/// error code) or could not be asked.
fn classify(host: &str, e: NetError) -> FollowError {
    let code = match &e {
        NetError::Dns(DnsError::NoRecordsFound(n)) => n.response_code,
        NetError::Dns(DnsError::ResponseCode(code)) => *code,
        _ => {
            return FollowError::Dns {
                host: host.to_owned(),
                reason: e.to_string(),
            }
        }
    };
    let answer = match code {
        ResponseCode::NXDomain => "NXDOMAIN (no such name)".to_owned(),
        // arc-local answers SERVFAIL for A when the active region's host has no records; the
        // resolver then asks for AAAA, answered NOERROR with none: this is what comes back.
        ResponseCode::NoError => "no address records (from arc-local: the active region's host has no DNS records, e.g. a stopped container)".to_owned(),
        ResponseCode::ServFail => "SERVFAIL (it could not resolve the name; arc-local answers so when the active region's host has no DNS records, e.g. a stopped container)".to_owned(),
        other => format!("{other}"),
    };
    FollowError::DnsAnswered {
        host: host.to_owned(),
        answer,
    }
}

/// An address set as `dns` mode reports it: `127.0.1.2,127.0.1.3`.
pub fn describe(addrs: &[IpAddr]) -> String {
    addrs
        .iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Follows one upstream's hostname.
pub struct Follower<R> {
    pub route: Arc<str>,
    pub url: UpstreamUrl,
    pub host: String,
    pub settings: UpstreamSettings,
    pub clients: client::Template,
    pub resolver: R,
    pub min_ttl: Duration,
    pub max_ttl: Duration,
}

impl<R: Resolve> Follower<R> {
    fn endpoint_for(&self, addrs: &[IpAddr]) -> Arc<Endpoint> {
        Arc::new(Endpoint::new(
            &self.url,
            &self.settings,
            &self.clients,
            Addresses::Fixed(addrs.into()),
        ))
    }

    /// The first answer, looked up before the gateway serves: the endpoint to start with, the
    /// answer, and when to look next. When DNS does not answer yet, the upstream starts on the
    /// system resolver, and the follower takes over at its first answer.
    pub async fn first(&self) -> (Arc<Endpoint>, Result<Looked<Vec<IpAddr>>, FollowError>) {
        match self.look().await {
            Ok(looked) => (self.endpoint_for(&looked.answer), Ok(looked)),
            Err(e) => {
                tracing::warn!(route = %self.route, error = %e, "first lookup failed; using the system resolver until DNS answers");
                let ep = Endpoint::new(
                    &self.url,
                    &self.settings,
                    &self.clients,
                    Addresses::system(),
                );
                (Arc::new(ep), Err(e))
            }
        }
    }
}

impl<R: Resolve> Follow for Follower<R> {
    type Answer = Vec<IpAddr>;
    const MODE: &'static str = "dns";

    fn route(&self) -> &Arc<str> {
        &self.route
    }

    async fn look(&self) -> Result<Looked<Vec<IpAddr>>, FollowError> {
        let (mut addrs, ttl) = self.resolver.resolve(&self.host).await?;
        addrs.sort();
        addrs.dedup();
        if addrs.is_empty() {
            return Err(FollowError::NoAddresses {
                host: self.host.clone(),
            });
        }
        Ok(Looked {
            answer: addrs,
            next: ttl.clamp(self.min_ttl, self.max_ttl),
        })
    }

    fn retry_after(&self) -> Duration {
        self.min_ttl
    }

    fn endpoint(&self, answer: &Vec<IpAddr>) -> Option<Arc<Endpoint>> {
        Some(self.endpoint_for(answer))
    }

    fn describe(answer: &Vec<IpAddr>) -> String {
        describe(answer)
    }
}

#[cfg(test)]
mod tests {
    //! Paused time: every duration below is virtual, so the whole module runs in milliseconds.

    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;
    use crate::upstream::{follow, FollowMode, Upstream};

    /// Answers from a script, one per look; records when each look happened.
    type Answers = VecDeque<Result<(Vec<IpAddr>, Duration), ()>>;

    #[derive(Clone, Default)]
    struct Script(Arc<Mutex<(Answers, Vec<tokio::time::Instant>)>>);

    impl Script {
        fn push(&self, r: Result<(&[&str], u64), ()>) {
            let r = r.map(|(a, ttl)| {
                (
                    a.iter().map(|a| a.parse().unwrap()).collect(),
                    Duration::from_secs(ttl),
                )
            });
            self.0.lock().unwrap().0.push_back(r);
        }
        fn looks(&self) -> Vec<tokio::time::Instant> {
            self.0.lock().unwrap().1.clone()
        }
    }

    impl Resolve for Script {
        async fn resolve(&self, host: &str) -> Result<(Vec<IpAddr>, Duration), FollowError> {
            let mut s = self.0.lock().unwrap();
            s.1.push(tokio::time::Instant::now());
            match s.0.pop_front() {
                Some(Ok(a)) => Ok(a),
                _ => Err(FollowError::Dns {
                    host: host.to_owned(),
                    reason: "SERVFAIL".into(),
                }),
            }
        }
    }

    fn follower(script: &Script) -> Follower<Script> {
        Follower {
            route: Arc::from("service1"),
            url: UpstreamUrl::parse("http://service1.example.com:8080").unwrap(),
            host: "service1.example.com".into(),
            settings: UpstreamSettings::default(),
            clients: client::Template::new(1),
            resolver: script.clone(),
            min_ttl: Duration::from_secs(1),
            max_ttl: Duration::from_secs(60),
        }
    }

    /// Starts a follower the way the gateway does; returns its upstream.
    async fn start(script: &Script) -> Arc<Upstream> {
        let f = follower(script);
        let (ep, first) = f.first().await;
        let upstream = Arc::new(Upstream::new(
            UpstreamSettings::default(),
            "test".into(),
            ep,
            FollowMode::Dns,
            String::new(),
            crate::upstream::Regions::default(),
        ));
        let (current, wait) = match first {
            Ok(l) => (Some(l.answer), l.next),
            Err(_) => (None, f.min_ttl),
        };
        tokio::spawn(follow::run(f, upstream.clone(), current, wait));
        upstream
    }

    #[tokio::test(start_paused = true)]
    async fn ttl_is_clamped_to_min_and_max() {
        let s = Script::default();
        s.push(Ok((&["10.0.0.1"], 0)));
        s.push(Ok((&["10.0.0.1"], 3600)));
        s.push(Ok((&["10.0.0.1"], 5)));
        let t0 = tokio::time::Instant::now();
        let _up = start(&s).await;
        tokio::time::sleep(Duration::from_secs(62)).await;
        let looks: Vec<u64> = s.looks().iter().map(|t| (*t - t0).as_secs()).collect();
        // TTL 0 -> min_ttl (1 s); TTL 3600 -> max_ttl (60 s).
        assert_eq!(looks, vec![0, 1, 61]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_changed_answer_switches_and_a_failure_keeps_the_last_one() {
        let s = Script::default();
        s.push(Ok((&["10.0.0.1"], 5)));
        s.push(Err(()));
        s.push(Ok((&["10.0.0.2", "10.0.0.3", "10.0.0.2"], 5)));
        let up = start(&s).await;
        assert_eq!(up.status().target, "");
        let first = up.endpoint();
        tokio::time::sleep(Duration::from_millis(5500)).await;
        // The failed look at 5 s: unhealthy, same endpoint, retried after min_ttl.
        let st = up.status();
        assert!(!st.healthy);
        assert!(st.error.unwrap().contains("SERVFAIL"));
        assert!(Arc::ptr_eq(&first, &up.endpoint()));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let st = up.status();
        assert!(st.healthy);
        assert_eq!(st.target, "10.0.0.2,10.0.0.3");
        assert!(st.last_switch.is_some());
        assert!(!Arc::ptr_eq(&first, &up.endpoint()));
        let looks = s.looks();
        assert_eq!(
            (looks[2] - looks[1]),
            Duration::from_secs(1),
            "retry after min_ttl"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_same_answer_does_not_switch() {
        let s = Script::default();
        s.push(Ok((&["10.0.0.1"], 2)));
        s.push(Ok((&["10.0.0.1"], 2)));
        let up = start(&s).await;
        let first = up.endpoint();
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(Arc::ptr_eq(&first, &up.endpoint()));
        assert!(up.status().last_switch.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn no_first_answer_starts_on_the_system_resolver_and_takes_the_next() {
        let s = Script::default();
        s.push(Err(()));
        s.push(Ok((&["10.0.0.9"], 30)));
        let up = start(&s).await;
        let first = up.endpoint();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(!Arc::ptr_eq(&first, &up.endpoint()));
        assert_eq!(up.status().target, "10.0.0.9");
    }
}
