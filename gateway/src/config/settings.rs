//! The settings tables: `[server]`, the per-route settings (`[defaults]` and each `[[route]]`) and
//! `[dns]`, each setting declared once with its default, range and environment variable.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::schema::settings;
use super::{invalid, ConfigError};

const MS: Duration = Duration::from_millis(1);
const HOUR: Duration = Duration::from_secs(3600);

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

settings! {
    /// How the gateway listens and protects itself from clients.
    pub struct ServerConfig / ServerFile {
        /// Address to bind both listeners to.
        bind: IpAddr = IpAddr::from([0, 0, 0, 0]), |_| true, "", env "BIND";
        port: u16 = bootstrap::env::DEFAULT_PORT, |v| *v != 0, "must be 1-65535", env "PORT";
        admin_port: u16 = super::DEFAULT_ADMIN_PORT, |v| *v != 0, "must be 1-65535", env "ADMIN_PORT";
        /// Proxies in front of the gateway whose X-Forwarded-* and Forwarded headers are believed.
        /// 0: the client connects directly, so incoming forwarding headers are replaced.
        trusted_proxy_hops: usize = 0, |v| *v <= 16, "must be 0-16", env "TRUSTED_PROXY_HOPS";
        /// A client must send a complete request head within this time, counted from its first
        /// byte (slowloris); a new connection must start its first request within it too.
        header_read_timeout: Duration = bootstrap::env::DEFAULT_HEADER_READ_TIMEOUT,
            |v| (ms(100)..=secs(300)).contains(v), "must be between 100ms and 300s",
            env "HEADER_READ_TIMEOUT";
        /// An idle keep-alive connection is closed after this long. Above an AWS ALB's idle
        /// timeout (60 s by default), so the load balancer, not the gateway, closes idle
        /// connections: a target that closes first makes the ALB send requests on dying
        /// connections (502s).
        keepalive_timeout: Duration = bootstrap::env::DEFAULT_KEEPALIVE_TIMEOUT,
            |v| (secs(1)..=HOUR).contains(v),
            "must be between 1s and 3600s (above the load balancer's idle timeout: 60s on an ALB by default)",
            env "KEEPALIVE_TIMEOUT";
        /// Largest request head accepted; larger heads get 431.
        max_header_bytes: usize = 16 * 1024, |v| (8192..=1024 * 1024).contains(v),
            "must be between 8192 and 1048576";
        /// Most header fields in a request; more get 431.
        max_headers: usize = 100, |v| (1..=1000).contains(v), "must be between 1 and 1000";
        /// Most client connections open at once; further clients wait in the listen backlog.
        max_connections: usize = 10_000, |v| (1..=1_000_000).contains(v),
            "must be between 1 and 1000000";
        /// On SIGTERM, in-flight requests get this long to finish before the process exits.
        drain_timeout: Duration = bootstrap::env::DEFAULT_DRAIN_TIMEOUT, |v| *v <= HOUR,
            "must be at most 1h", env "DRAIN_TIMEOUT";
        /// Threads serving the API, each with its own event loop and upstream connection pools
        /// ([`crate::worker`]). Default: the CPUs this process may use (affinity mask and cgroup
        /// quota), so a 1-vCPU task runs one. Same rule as the services' `WORKER_THREADS`.
        workers: usize = bootstrap::runtime::default_workers(),
            |v| bootstrap::runtime::WORKERS.contains(v), bootstrap::runtime::WORKERS_REASON,
            env "WORKER_THREADS";
    }
}

settings! {
    /// The limits and timeouts of one route's upstream, every one of them set. In the file, each
    /// is optional in a route and falls back to `[defaults]`, then to the default here.
    pub struct UpstreamSettings / RouteFile {
        /// TCP (and TLS) connect must finish within this. A host with several addresses has them
        /// tried in turn, each with an equal share (hyper-util's connector), before the next
        /// region. An intra-region hop connects in milliseconds; a second is a dead endpoint,
        /// and the request then has time left for the standby region.
        connect_timeout: Duration = secs(1), |v| (MS..=secs(60)).contains(v),
            "must be between 1ms and 60s";
        /// The upstream's response head must arrive within this after the request is sent.
        response_header_timeout: Duration = secs(30), |v| (MS..=HOUR).contains(v),
            "must be between 1ms and 1h";
        /// The whole exchange, body included, must finish within this.
        total_timeout: Duration = secs(60), |v| (MS..=secs(24 * 3600)).contains(v),
            "must be between 1ms and 24h";
        /// Largest request body forwarded; larger ones get 413.
        max_body_bytes: u64 = 10 * 1024 * 1024, |_| true, "";
        /// Retries of a request that never reached the upstream (failed connect).
        retries: u32 = 2, |v| *v <= 5, "must be 0-5";
        /// Pause before retry N is N times this: long enough for a listener that is restarting,
        /// short against any timeout. Retries still end at the response-header deadline.
        retry_backoff: Duration = ms(20), |v| *v <= secs(10), "must be at most 10s";
        /// Pooled connections idle longer than this are closed. Kept below the shortest common
        /// backend keep-alive (Node.js closes idle sockets after 5 s) so the gateway closes first.
        pool_idle_timeout: Duration = secs(4), |v| *v <= HOUR, "must be at most 1h";
        /// Idle connections kept per upstream endpoint, in each worker's pool.
        pool_max_idle: usize = 256, |v| *v <= 100_000, "must be at most 100000";
        /// A request that never reached the active region's endpoint (connect refused or timed
        /// out: nothing was written) goes to the next region's endpoint, any method.
        fallback: bool = true, |_| true, "";
        /// Also send an idempotent request (RFC 9110 section 9.2.2) with no body left to
        /// replay to the next region after its connection failed once written (reset, closed).
        /// The active region may have handled it: only for routes whose idempotent methods are.
        fallback_idempotent: bool = false, |_| true, "";
        /// Consecutive connect failures that eject an endpoint (0: never eject). While the
        /// active endpoint is ejected its requests go straight to the standby.
        eject_after: u32 = 3, |v| *v <= 1000, "must be 0-1000";
        /// Consecutive 5xx answers that eject an endpoint (0: never). Behind a load balancer a
        /// region whose targets are gone answers 502/503 instead of refusing connections (an AWS
        /// ALB with no healthy target): set this there. The 5xx answers themselves are returned.
        eject_after_5xx: u32 = 0, |v| *v <= 1000, "must be 0-1000";
        /// First ejection period; each failed `/health` probe doubles it, up to `eject_max`.
        eject_base: Duration = secs(1), |v| (ms(10)..=HOUR).contains(v),
            "must be between 10ms and 1h";
        /// Longest ejection period between two probes.
        eject_max: Duration = secs(10), |v| (ms(10)..=HOUR).contains(v),
            "must be between 10ms and 1h and at least eject_base";
        /// Bound on one `/health` probe of an ejected endpoint.
        probe_timeout: Duration = secs(1), |v| (MS..=secs(60)).contains(v),
            "must be between 1ms and 60s";
        /// The route's policies, run in this order before the upstream: names of
        /// `[policy.NAME]` tables ([`super::policy`]).
        policies: Vec<String> = Vec::new(), |_| true, "";
    }
}

settings! {
    /// How dns-mode upstreams resolve their hostname.
    pub struct DnsConfig / DnsFile {
        /// The DNS server to ask (`ip:port`); default: the system's (`/etc/resolv.conf`).
        server: Option<SocketAddr> = None, |_| true, "", env "DNS_SERVER";
        /// Answers are re-resolved when their TTL runs out, but never more often than this...
        min_ttl: Duration = secs(1), |v| (ms(100)..=HOUR).contains(v),
            "must be between 100ms and 1h";
        /// ...and at least this often, whatever the TTL says.
        max_ttl: Duration = secs(60), |v| *v <= secs(86400),
            "must be at least dns.min_ttl and at most 24h";
        /// Bound on one lookup; a failed lookup keeps the last answer and is retried after `min_ttl`.
        timeout: Duration = secs(2), |v| (ms(10)..=secs(60)).contains(v),
            "must be between 10ms and 60s";
    }
}

/// The checks that involve two `[server]` settings.
pub fn check_server(s: &ServerConfig) -> Result<(), ConfigError> {
    if s.admin_port == s.port {
        return Err(invalid(
            "server.admin_port",
            s.admin_port,
            "must differ from server.port: metrics are served on a separate port",
        ));
    }
    Ok(())
}

/// The checks that involve two `[dns]` settings.
pub fn check_dns(d: &DnsConfig) -> Result<(), ConfigError> {
    if d.max_ttl < d.min_ttl {
        return Err(invalid(
            "dns.max_ttl",
            format!("{:?}", d.max_ttl),
            "must be at least dns.min_ttl and at most 24h",
        ));
    }
    Ok(())
}

/// The checks that involve two route settings; `key` names the route (`route[0].`).
pub fn check_upstream(s: &UpstreamSettings, key: &str) -> Result<(), ConfigError> {
    if s.eject_max < s.eject_base {
        return Err(invalid(
            format!("{key}eject_max"),
            format!("{:?}", s.eject_max),
            "must be at least eject_base",
        ));
    }
    if s.total_timeout < s.response_header_timeout {
        return Err(invalid(
            format!("{key}total_timeout"),
            format!("{:?}", s.total_timeout),
            "must not be shorter than response_header_timeout",
        ));
    }
    Ok(())
}
