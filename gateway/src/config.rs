//! Gateway configuration: a TOML file (path in `GATEWAY_CONFIG`) or, with no file, `SERVICE1_URL` and
//! `SERVICE2_URL`. Everything is validated at start-up; an error names the bad key and value.
//!
//! ```toml
//! [server]
//! port = 8080                  # env PORT wins over the file
//! admin_port = 9090            # env ADMIN_PORT wins over the file
//! trusted_proxy_hops = 1       # env TRUSTED_PROXY_HOPS; 1 behind an ALB
//! header_read_timeout = "10s"  # env HEADER_READ_TIMEOUT; a request head (and a new connection's first byte)
//! keepalive_timeout = "75s"    # env KEEPALIVE_TIMEOUT; idle keep-alive, above the ALB's 60 s idle timeout
//! max_header_bytes = 16384
//! max_headers = 100
//! max_connections = 10000
//! drain_timeout = "25s"
//! workers = 2                  # env WORKER_THREADS; default: the CPUs this process may use
//!
//! [defaults]                   # applies to every route unless the route says otherwise
//! connect_timeout = "2s"
//! response_header_timeout = "30s"
//! total_timeout = "60s"
//! max_body_bytes = 10485760
//! retries = 2
//! retry_backoff = "20ms"       # pause before retry N is N times this
//! pool_idle_timeout = "4s"
//! pool_max_idle = 256
//!
//! [[route]]
//! prefix = "/service1"
//! upstream = "https://service1.example.com"
//! strip_prefix = true          # /service1/items/7 -> /items/7
//! ```

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// Default port of the admin listener that serves `/metrics`.
pub const DEFAULT_ADMIN_PORT: u16 = 9090;

/// A configuration value that cannot be used, or a file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{key} = {value:?}: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
    #[error("cannot read GATEWAY_CONFIG file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("GATEWAY_CONFIG file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("no routes: set SERVICE1_URL and SERVICE2_URL, or GATEWAY_CONFIG to a file with [[route]] tables")]
    NoRoutes,
    #[error(transparent)]
    Env(#[from] bootstrap::env::EnvError),
}

fn invalid(key: impl Into<String>, value: impl ToString, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// The validated configuration the gateway runs with.
#[derive(Clone, Debug)]
pub struct Config {
    pub region: String,
    pub server: ServerConfig,
    pub routes: Vec<RouteConfig>,
    pub dns: DnsConfig,
    /// Set when any route follows ARC routing controls.
    pub arc: Option<ArcConfig>,
}

/// How dns-mode upstreams resolve their hostname.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// The DNS server to ask (`ip:port`); default: the system's (`/etc/resolv.conf`). Env `DNS_SERVER`.
    pub server: Option<std::net::SocketAddr>,
    /// Answers are re-resolved when their TTL runs out, but never more often than this...
    #[serde(with = "humantime_serde")]
    pub min_ttl: Duration,
    /// ...and at least this often, whatever the TTL says.
    #[serde(with = "humantime_serde")]
    pub max_ttl: Duration,
    /// Bound on one lookup; a failed lookup keeps the last answer and is retried after `min_ttl`.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            server: None,
            min_ttl: Duration::from_secs(1),
            max_ttl: Duration::from_secs(60),
            timeout: Duration::from_secs(2),
        }
    }
}

/// How arc-mode upstreams watch their routing controls.
#[derive(Clone, Debug)]
pub struct ArcConfig {
    pub cluster: recovery::ClusterDocument,
    /// How often each app's control panel is read. A switch takes at most this long (plus one call).
    pub poll_interval: Duration,
    /// Bound on one call to one cluster endpoint; the next endpoint is tried after it.
    pub call_timeout: Duration,
    /// A CA to trust besides the bundled roots, for cluster endpoints behind a private CA
    /// (`[arc] ca_file`, env `ARC_CA_FILE`).
    pub extra_ca: Option<recovery::tls::ExtraCa>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileArc {
    cluster_file: Option<String>,
    ca_file: Option<String>,
    #[serde(default, with = "humantime_serde")]
    poll_interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    call_timeout: Option<Duration>,
}

/// How the gateway listens and protects itself from clients.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to bind both listeners to.
    pub bind: IpAddr,
    pub port: u16,
    pub admin_port: u16,
    /// Proxies in front of the gateway whose X-Forwarded-* and Forwarded headers are believed.
    /// 0: the client connects directly, so incoming forwarding headers are replaced.
    pub trusted_proxy_hops: usize,
    /// A client must send a complete request head within this time, counted from its first byte
    /// (slowloris); a new connection must start its first request within it too. Env
    /// `HEADER_READ_TIMEOUT`.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// An idle keep-alive connection is closed after this long. Above an AWS ALB's idle timeout
    /// (60 s by default), so the load balancer, not the gateway, closes idle connections: a target
    /// that closes first makes the ALB send requests on dying connections (502s). Env
    /// `KEEPALIVE_TIMEOUT`.
    #[serde(with = "humantime_serde")]
    pub keepalive_timeout: Duration,
    /// Largest request head accepted; larger heads get 431.
    pub max_header_bytes: usize,
    /// Most header fields in a request; more get 431.
    pub max_headers: usize,
    /// Most client connections open at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// On SIGTERM, in-flight requests get this long to finish before the process exits.
    #[serde(with = "humantime_serde")]
    pub drain_timeout: Duration,
    /// Threads serving the API, each with its own event loop and upstream connection pools
    /// ([`crate::worker`]). Env `WORKER_THREADS` wins over the file. Default: the CPUs this
    /// process may use (affinity mask and cgroup quota), so a 1-vCPU task runs one.
    pub workers: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: IpAddr::from([0, 0, 0, 0]),
            port: bootstrap::env::DEFAULT_PORT,
            admin_port: DEFAULT_ADMIN_PORT,
            trusted_proxy_hops: 0,
            header_read_timeout: bootstrap::env::DEFAULT_HEADER_READ_TIMEOUT,
            keepalive_timeout: bootstrap::env::DEFAULT_KEEPALIVE_TIMEOUT,
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            max_connections: 10_000,
            drain_timeout: Duration::from_secs(25),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Per-route settings; each is optional in a route and falls back to `[defaults]`, then to built-in values.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSettings {
    #[serde(default, with = "humantime_serde")]
    pub connect_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub response_header_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub total_timeout: Option<Duration>,
    pub max_body_bytes: Option<u64>,
    pub retries: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    pub retry_backoff: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub pool_idle_timeout: Option<Duration>,
    pub pool_max_idle: Option<usize>,
}

impl RouteSettings {
    fn or(self, fallback: &RouteSettings) -> RouteSettings {
        RouteSettings {
            connect_timeout: self.connect_timeout.or(fallback.connect_timeout),
            response_header_timeout: self
                .response_header_timeout
                .or(fallback.response_header_timeout),
            total_timeout: self.total_timeout.or(fallback.total_timeout),
            max_body_bytes: self.max_body_bytes.or(fallback.max_body_bytes),
            retries: self.retries.or(fallback.retries),
            retry_backoff: self.retry_backoff.or(fallback.retry_backoff),
            pool_idle_timeout: self.pool_idle_timeout.or(fallback.pool_idle_timeout),
            pool_max_idle: self.pool_max_idle.or(fallback.pool_max_idle),
        }
    }
}

/// The limits and timeouts of one upstream, every one of them set.
#[derive(Clone, Debug, PartialEq)]
pub struct UpstreamSettings {
    /// TCP (and TLS) connect must finish within this.
    pub connect_timeout: Duration,
    /// The upstream's response head must arrive within this after the request is sent.
    pub response_header_timeout: Duration,
    /// The whole exchange, body included, must finish within this.
    pub total_timeout: Duration,
    /// Largest request body forwarded; larger ones get 413.
    pub max_body_bytes: u64,
    /// Retries of a request that never reached the upstream (failed connect).
    pub retries: u32,
    /// Pause before retry N is N times this: long enough for a listener that is restarting,
    /// short against any timeout. Retries still end at the response-header deadline.
    pub retry_backoff: Duration,
    /// Pooled connections idle longer than this are closed. Kept below the shortest common
    /// backend keep-alive (Node.js closes idle sockets after 5 s) so the gateway closes first.
    pub pool_idle_timeout: Duration,
    /// Idle connections kept per upstream address, in each worker's pool.
    pub pool_max_idle: usize,
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            response_header_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(60),
            max_body_bytes: 10 * 1024 * 1024,
            retries: 2,
            retry_backoff: Duration::from_millis(20),
            pool_idle_timeout: Duration::from_secs(4),
            pool_max_idle: 256,
        }
    }
}

/// One route: requests under `prefix` go to `upstream`.
#[derive(Clone, Debug)]
pub struct RouteConfig {
    /// Name used in metrics and logs: the prefix without its leading slash (`root` for `/`).
    pub name: String,
    pub prefix: String,
    pub target: RouteTarget,
    pub strip_prefix: bool,
    pub settings: UpstreamSettings,
}

/// Where a route's requests go, and how that follows a failover.
#[derive(Clone, Debug, PartialEq)]
pub enum RouteTarget {
    /// dns mode: one URL whose hostname Route 53 (or arc-local) answers; re-resolved by TTL.
    Url(http::Uri),
    /// arc mode: the app's regional URLs from the cluster document, chosen by its routing controls.
    Arc { app: String },
}

/// `failover` in a route.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum FailoverMode {
    #[default]
    Dns,
    Arc,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    region: Option<String>,
    #[serde(default)]
    server: Option<ServerConfig>,
    #[serde(default)]
    defaults: RouteSettings,
    #[serde(default, rename = "route")]
    routes: Vec<FileRoute>,
    #[serde(default)]
    dns: Option<DnsConfig>,
    #[serde(default)]
    arc: FileArc,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRoute {
    prefix: String,
    #[serde(default)]
    upstream: Option<String>,
    #[serde(default)]
    failover: FailoverMode,
    /// The app (cluster document key) an arc-mode route follows; default: the route's name.
    #[serde(default)]
    arc_app: Option<String>,
    #[serde(default = "yes")]
    strip_prefix: bool,
    #[serde(flatten)]
    settings: RouteSettings,
    /// The environment variable a route came from, to name it in errors.
    #[serde(skip)]
    from_env: Option<&'static str>,
}

fn yes() -> bool {
    true
}

/// Where configuration comes from: the environment, with the file it names.
pub struct Sources {
    pub file: Option<(String, String)>,
    pub env: fn(&str) -> Option<String>,
}

impl Config {
    /// Loads from the process environment and the file in `GATEWAY_CONFIG`.
    pub fn from_env() -> Result<Config, ConfigError> {
        let file = match bootstrap::env::var("GATEWAY_CONFIG") {
            Some(path) => {
                let text = std::fs::read_to_string(Path::new(&path)).map_err(|source| {
                    ConfigError::Read {
                        path: path.clone(),
                        source,
                    }
                })?;
                Some((path, text))
            }
            None => None,
        };
        Self::load(Sources {
            file,
            env: bootstrap::env::var,
        })
    }

    /// Builds and validates a configuration from a file's text (if any) and environment variables.
    pub fn load(src: Sources) -> Result<Config, ConfigError> {
        let env = src.env;
        let file = match &src.file {
            Some((path, text)) => {
                toml::from_str::<FileConfig>(text).map_err(|e| ConfigError::Parse {
                    path: path.clone(),
                    message: e.to_string(),
                })?
            }
            None => FileConfig {
                region: None,
                server: None,
                defaults: RouteSettings::default(),
                routes: Vec::new(),
                dns: None,
                arc: FileArc::default(),
            },
        };

        let region = match env("REGION").or_else(|| env("AWS_REGION")).or(file.region) {
            Some(r) => {
                bootstrap::env::validate_region(&r)
                    .map_err(|reason| invalid("REGION", &r, reason))?;
                r
            }
            None => return Err(bootstrap::env::EnvError::MissingRegion.into()),
        };

        let mut server = file.server.unwrap_or_default();
        if let Some(v) = env("PORT") {
            server.port = parse_env("PORT", &v)?;
        }
        if let Some(v) = env("ADMIN_PORT") {
            server.admin_port = parse_env("ADMIN_PORT", &v)?;
        }
        if let Some(v) = env("BIND") {
            server.bind = parse_env("BIND", &v)?;
        }
        if let Some(v) = env("TRUSTED_PROXY_HOPS") {
            server.trusted_proxy_hops = parse_env("TRUSTED_PROXY_HOPS", &v)?;
        }
        if let Some(v) = env("WORKER_THREADS") {
            server.workers = parse_env("WORKER_THREADS", &v)?;
        }
        if let Some(v) = env("HEADER_READ_TIMEOUT") {
            server.header_read_timeout = parse_env_duration("HEADER_READ_TIMEOUT", &v)?;
        }
        if let Some(v) = env("KEEPALIVE_TIMEOUT") {
            server.keepalive_timeout = parse_env_duration("KEEPALIVE_TIMEOUT", &v)?;
        }
        validate_server(&server)?;

        let mode = match env("GATEWAY_FAILOVER_MODE").as_deref() {
            None | Some("dns") => FailoverMode::Dns,
            Some("arc") => FailoverMode::Arc,
            Some(other) => {
                return Err(invalid(
                    "GATEWAY_FAILOVER_MODE",
                    other,
                    "must be dns or arc",
                ));
            }
        };
        let mut file_routes = file.routes;
        if file_routes.is_empty() {
            for (name, var) in [("/service1", "SERVICE1_URL"), ("/service2", "SERVICE2_URL")] {
                let url = env(var);
                if url.is_some() || mode == FailoverMode::Arc {
                    file_routes.push(FileRoute {
                        prefix: name.into(),
                        upstream: url,
                        failover: mode,
                        arc_app: None,
                        strip_prefix: true,
                        settings: RouteSettings::default(),
                        from_env: Some(var),
                    });
                }
            }
        }
        if file_routes.is_empty() {
            return Err(ConfigError::NoRoutes);
        }

        let mut seen = HashSet::new();
        let mut routes = Vec::with_capacity(file_routes.len());
        for (i, r) in file_routes.into_iter().enumerate() {
            let key = |field: &str| match (r.from_env, field) {
                (Some(var), "upstream") => var.to_owned(),
                _ => format!("route[{i}].{field}"),
            };
            validate_prefix(&r.prefix)
                .map_err(|reason| invalid(key("prefix"), &r.prefix, reason))?;
            if !seen.insert(r.prefix.clone()) {
                return Err(invalid(
                    key("prefix"),
                    &r.prefix,
                    "another route has the same prefix",
                ));
            }
            let name = match r.prefix.trim_start_matches('/') {
                "" => "root".to_owned(),
                n => n.to_owned(),
            };
            let target = match (r.failover, &r.upstream) {
                (FailoverMode::Dns, Some(url)) => RouteTarget::Url(
                    parse_upstream(url).map_err(|reason| invalid(key("upstream"), url, reason))?,
                ),
                (FailoverMode::Dns, None) => {
                    return Err(invalid(
                        key("upstream"),
                        "",
                        "is required unless failover = \"arc\"",
                    ));
                }
                (FailoverMode::Arc, _) => RouteTarget::Arc {
                    app: r.arc_app.clone().unwrap_or_else(|| name.clone()),
                },
            };
            let settings = resolve_settings(r.settings.or(&file.defaults))
                .map_err(|(field, value, reason)| invalid(key(field), value, reason))?;
            routes.push(RouteConfig {
                name,
                prefix: r.prefix,
                target,
                strip_prefix: r.strip_prefix,
                settings,
            });
        }
        let mut dns = file.dns.unwrap_or_default();
        if let Some(v) = env("DNS_SERVER") {
            dns.server = Some(parse_env("DNS_SERVER", &v)?);
        }
        validate_dns(&dns)?;

        let arc = if routes
            .iter()
            .any(|r| matches!(r.target, RouteTarget::Arc { .. }))
        {
            Some(load_arc(file.arc, env, &routes)?)
        } else {
            None
        };
        Ok(Config {
            region,
            server,
            routes,
            dns,
            arc,
        })
    }
}

fn parse_env<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|e: T::Err| invalid(name, value, e.to_string()))
}

fn parse_env_duration(name: &str, value: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(value.trim()).map_err(|e| {
        invalid(
            name,
            value,
            format!("{e} (expected a duration such as 75s)"),
        )
    })
}

fn validate_server(s: &ServerConfig) -> Result<(), ConfigError> {
    let check = |ok: bool, key: &str, value: String, reason: &str| {
        if ok {
            Ok(())
        } else {
            Err(invalid(format!("server.{key}"), value, reason))
        }
    };
    check(s.port != 0, "port", s.port.to_string(), "must be 1-65535")?;
    check(
        s.admin_port != 0,
        "admin_port",
        s.admin_port.to_string(),
        "must be 1-65535",
    )?;
    check(
        s.admin_port != s.port,
        "admin_port",
        s.admin_port.to_string(),
        "must differ from server.port: metrics are served on a separate port",
    )?;
    check(
        s.trusted_proxy_hops <= 16,
        "trusted_proxy_hops",
        s.trusted_proxy_hops.to_string(),
        "must be 0-16",
    )?;
    check(
        (Duration::from_millis(100)..=Duration::from_secs(300)).contains(&s.header_read_timeout),
        "header_read_timeout",
        format!("{:?}", s.header_read_timeout),
        "must be between 100ms and 300s",
    )?;
    check(
        (Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&s.keepalive_timeout),
        "keepalive_timeout",
        format!("{:?}", s.keepalive_timeout),
        "must be between 1s and 3600s (above the load balancer's idle timeout: 60s on an ALB by default)",
    )?;
    check(
        (8192..=1024 * 1024).contains(&s.max_header_bytes),
        "max_header_bytes",
        s.max_header_bytes.to_string(),
        "must be between 8192 and 1048576",
    )?;
    check(
        (1..=1000).contains(&s.max_headers),
        "max_headers",
        s.max_headers.to_string(),
        "must be between 1 and 1000",
    )?;
    check(
        (1..=1_000_000).contains(&s.max_connections),
        "max_connections",
        s.max_connections.to_string(),
        "must be between 1 and 1000000",
    )?;
    check(
        (1..=1024).contains(&s.workers),
        "workers",
        s.workers.to_string(),
        "must be between 1 and 1024",
    )?;
    check(
        s.drain_timeout <= Duration::from_secs(3600),
        "drain_timeout",
        format!("{:?}", s.drain_timeout),
        "must be at most 1h",
    )
}

fn validate_dns(d: &DnsConfig) -> Result<(), ConfigError> {
    let dur = |d: Duration| format!("{d:?}");
    if !(Duration::from_millis(100)..=Duration::from_secs(3600)).contains(&d.min_ttl) {
        return Err(invalid(
            "dns.min_ttl",
            dur(d.min_ttl),
            "must be between 100ms and 1h",
        ));
    }
    if d.max_ttl < d.min_ttl || d.max_ttl > Duration::from_secs(86400) {
        return Err(invalid(
            "dns.max_ttl",
            dur(d.max_ttl),
            "must be at least dns.min_ttl and at most 24h",
        ));
    }
    if !(Duration::from_millis(10)..=Duration::from_secs(60)).contains(&d.timeout) {
        return Err(invalid(
            "dns.timeout",
            dur(d.timeout),
            "must be between 10ms and 60s",
        ));
    }
    Ok(())
}

/// Loads the cluster document (file from `[arc] cluster_file` or `ARC_CLUSTER_FILE`, or inline
/// JSON from `ARC_CLUSTER_JSON`) and checks that every arc route's app is in it.
fn load_arc(
    file: FileArc,
    env: fn(&str) -> Option<String>,
    routes: &[RouteConfig],
) -> Result<ArcConfig, ConfigError> {
    let cluster = if let Some(json) = env("ARC_CLUSTER_JSON") {
        recovery::ClusterDocument::parse(&json)
            .map_err(|e| invalid("ARC_CLUSTER_JSON", "(inline document)", e.to_string()))?
    } else {
        let (key, path) = match (env("ARC_CLUSTER_FILE"), file.cluster_file) {
            (Some(p), _) => ("ARC_CLUSTER_FILE", p),
            (None, Some(p)) => ("arc.cluster_file", p),
            (None, None) => {
                return Err(invalid(
                    "ARC_CLUSTER_FILE",
                    "",
                    "arc mode needs the cluster document: set ARC_CLUSTER_FILE or ARC_CLUSTER_JSON, or [arc] cluster_file",
                ))
            }
        };
        recovery::ClusterDocument::load(Path::new(&path))
            .map_err(|e| invalid(key, &path, e.to_string()))?
    };
    let poll_interval = match env("ARC_POLL_INTERVAL") {
        Some(v) => humantime::parse_duration(&v)
            .map_err(|e| invalid("ARC_POLL_INTERVAL", &v, e.to_string()))?,
        None => file.poll_interval.unwrap_or(Duration::from_secs(1)),
    };
    if !(Duration::from_millis(50)..=Duration::from_secs(300)).contains(&poll_interval) {
        return Err(invalid(
            "arc.poll_interval",
            format!("{poll_interval:?}"),
            "must be between 50ms and 300s",
        ));
    }
    let call_timeout = file.call_timeout.unwrap_or(Duration::from_secs(1));
    if !(Duration::from_millis(10)..=Duration::from_secs(30)).contains(&call_timeout) {
        return Err(invalid(
            "arc.call_timeout",
            format!("{call_timeout:?}"),
            "must be between 10ms and 30s",
        ));
    }
    for (i, r) in routes.iter().enumerate() {
        if let RouteTarget::Arc { app } = &r.target {
            let entry = cluster
                .app(app)
                .map_err(|reason| invalid(format!("route[{i}].arc_app"), app, reason))?;
            for (region, e) in &entry.regions {
                parse_upstream(&e.url).map_err(|reason| {
                    invalid(
                        format!("cluster apps.{app}.regions.{region}.url"),
                        &e.url,
                        reason,
                    )
                })?;
            }
        }
    }
    let extra_ca = match (env("ARC_CA_FILE"), file.ca_file) {
        (Some(p), _) => Some(("ARC_CA_FILE", p)),
        (None, Some(p)) => Some(("arc.ca_file", p)),
        (None, None) => None,
    }
    .map(|(key, path)| {
        recovery::tls::ExtraCa::from_file(&path).map_err(|e| invalid(key, &path, e.to_string()))
    })
    .transpose()?;
    Ok(ArcConfig {
        cluster,
        poll_interval,
        call_timeout,
        extra_ca,
    })
}

/// A prefix is an absolute, already-normalised path of one or more segments, without a trailing slash.
fn validate_prefix(prefix: &str) -> Result<(), String> {
    if prefix == "/" {
        // A catch-all route: every path that no longer prefix claims, `/` included.
        return Ok(());
    }
    if !prefix.starts_with('/') || prefix.len() < 2 {
        return Err(
            "must start with '/', e.g. \"/service1\" (or be \"/\" to catch every path)".into(),
        );
    }
    if prefix.ends_with('/') {
        return Err("must not end with '/'".into());
    }
    if matches!(prefix, "/health" | "/ready") {
        return Err("is reserved for the gateway's own health endpoints".into());
    }
    for seg in prefix[1..].split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return Err("must not contain empty, '.' or '..' segments".into());
        }
        if !seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
        {
            return Err("segments may hold only letters, digits and - _ . ~".into());
        }
    }
    Ok(())
}

pub(crate) fn parse_upstream(url: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| e.to_string())?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err("must be an http:// or https:// URL".into()),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    if uri.query().is_some() || url.contains('#') {
        return Err("must not have a query or fragment".into());
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err("must not carry credentials".into());
    }
    Ok(uri)
}

fn resolve_settings(
    s: RouteSettings,
) -> Result<UpstreamSettings, (&'static str, String, &'static str)> {
    let d = UpstreamSettings::default();
    let out = UpstreamSettings {
        connect_timeout: s.connect_timeout.unwrap_or(d.connect_timeout),
        response_header_timeout: s
            .response_header_timeout
            .unwrap_or(d.response_header_timeout),
        total_timeout: s.total_timeout.unwrap_or(d.total_timeout),
        max_body_bytes: s.max_body_bytes.unwrap_or(d.max_body_bytes),
        retries: s.retries.unwrap_or(d.retries),
        retry_backoff: s.retry_backoff.unwrap_or(d.retry_backoff),
        pool_idle_timeout: s.pool_idle_timeout.unwrap_or(d.pool_idle_timeout),
        pool_max_idle: s.pool_max_idle.unwrap_or(d.pool_max_idle),
    };
    let hour = Duration::from_secs(3600);
    let ms = Duration::from_millis(1);
    let dur = |d: Duration| format!("{d:?}");
    if !(ms..=Duration::from_secs(60)).contains(&out.connect_timeout) {
        return Err((
            "connect_timeout",
            dur(out.connect_timeout),
            "must be between 1ms and 60s",
        ));
    }
    if !(ms..=hour).contains(&out.response_header_timeout) {
        return Err((
            "response_header_timeout",
            dur(out.response_header_timeout),
            "must be between 1ms and 1h",
        ));
    }
    if !(ms..=Duration::from_secs(24 * 3600)).contains(&out.total_timeout) {
        return Err((
            "total_timeout",
            dur(out.total_timeout),
            "must be between 1ms and 24h",
        ));
    }
    if out.total_timeout < out.response_header_timeout {
        return Err((
            "total_timeout",
            dur(out.total_timeout),
            "must not be shorter than response_header_timeout",
        ));
    }
    if out.retries > 5 {
        return Err(("retries", out.retries.to_string(), "must be 0-5"));
    }
    if out.retry_backoff > Duration::from_secs(10) {
        return Err((
            "retry_backoff",
            dur(out.retry_backoff),
            "must be at most 10s",
        ));
    }
    if out.pool_idle_timeout > hour {
        return Err((
            "pool_idle_timeout",
            dur(out.pool_idle_timeout),
            "must be at most 1h",
        ));
    }
    if out.pool_max_idle > 100_000 {
        return Err((
            "pool_max_idle",
            out.pool_max_idle.to_string(),
            "must be at most 100000",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(vars: &'static [(&'static str, &'static str)]) -> fn(&str) -> Option<String> {
        // A fn pointer cannot capture, so tests use a thread-local table.
        VARS.with(|v| *v.borrow_mut() = vars);
        |name| {
            VARS.with(|v| {
                v.borrow()
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            })
        }
    }
    thread_local! {
        static VARS: std::cell::RefCell<&'static [(&'static str, &'static str)]> = const { std::cell::RefCell::new(&[]) };
    }

    fn load(
        file: Option<&str>,
        vars: &'static [(&'static str, &'static str)],
    ) -> Result<Config, ConfigError> {
        Config::load(Sources {
            file: file.map(|t| ("gateway.toml".to_string(), t.to_string())),
            env: env_with(vars),
        })
    }

    #[test]
    fn env_urls_are_enough() {
        let c = load(
            None,
            &[
                ("REGION", "us-east-1"),
                ("SERVICE1_URL", "http://s1:8080"),
                ("SERVICE2_URL", "https://service2.example.com/base"),
            ],
        )
        .unwrap();
        assert_eq!(c.routes.len(), 2);
        assert_eq!(c.routes[0].prefix, "/service1");
        assert!(matches!(&c.routes[1].target, RouteTarget::Url(u) if u.path() == "/base"));
        assert!(c.routes[0].strip_prefix);
        assert_eq!(c.server.port, 8080);
        assert_eq!(c.routes[0].settings, UpstreamSettings::default());
    }

    #[test]
    fn aws_region_is_the_fallback() {
        let c = load(
            None,
            &[("AWS_REGION", "us-west-2"), ("SERVICE1_URL", "http://s1")],
        )
        .unwrap();
        assert_eq!(c.region, "us-west-2");
    }

    #[test]
    fn errors_name_key_and_value() {
        let e = load(
            None,
            &[("REGION", "us-east-1"), ("SERVICE1_URL", "ftp://x")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("SERVICE1_URL") && e.contains("ftp://x"), "{e}");
        let e = load(
            None,
            &[
                ("REGION", "us-east-1"),
                ("PORT", "80a"),
                ("SERVICE1_URL", "http://x"),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("PORT") && e.contains("80a"), "{e}");
        let e = load(
            Some("[[route]]\nprefix = \"/a/\"\nupstream = \"http://x\""),
            &[("REGION", "us-east-1")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("route[0].prefix") && e.contains("\"/a/\""),
            "{e}"
        );
        let e = load(
            Some("[defaults]\nretries = 9\n[[route]]\nprefix = \"/a\"\nupstream = \"http://x\""),
            &[("REGION", "us-east-1")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("route[0].retries") && e.contains('9'), "{e}");
        let e = load(
            Some("[[route]]\nprefix = \"/a\"\nupstream = \"http://x\"\nretry_backoff = \"1m\""),
            &[("REGION", "us-east-1")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("route[0].retry_backoff") && e.contains("60s"),
            "{e}"
        );
        let e = load(
            Some("[[route]]\nprefix = \"/a\"\nupstream = \"http://x\""),
            &[("REGION", "us-east-1"), ("WORKER_THREADS", "0")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("workers") && e.contains("\"0\""), "{e}");
        let e = load(
            Some("[server]\nmax_headers = 0\n[[route]]\nprefix = \"/a\"\nupstream = \"http://x\""),
            &[("REGION", "us-east-1")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("server.max_headers"), "{e}");
        let e = load(
            Some("[[route]]\nprefix = \"/a\"\nupstream = \"http://x\"\nbogus = 1"),
            &[("REGION", "us-east-1")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("bogus"), "{e}");
        let e = load(
            Some("[[route]]\nprefix = \"/a\"\nupstream = \"http://x\"\ntotal_timeout = \"soon\""),
            &[("REGION", "us-east-1")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("total_timeout") || e.contains("soon"), "{e}");
        assert!(matches!(
            load(None, &[("REGION", "us-east-1")]),
            Err(ConfigError::NoRoutes)
        ));
        assert!(matches!(
            load(None, &[("SERVICE1_URL", "http://x")]),
            Err(ConfigError::Env(_))
        ));
    }

    #[test]
    fn file_routes_defaults_and_overrides() {
        let text = r#"
            region = "eu-west-1"
            [server]
            trusted_proxy_hops = 1
            [defaults]
            connect_timeout = "500ms"
            [[route]]
            prefix = "/service1"
            upstream = "http://a:1"
            [[route]]
            prefix = "/service1/admin"
            upstream = "http://b:2"
            strip_prefix = false
            connect_timeout = "1s"
        "#;
        let c = load(Some(text), &[("TRUSTED_PROXY_HOPS", "2")]).unwrap();
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.server.trusted_proxy_hops, 2, "env wins over the file");
        assert_eq!(
            c.routes[0].settings.connect_timeout,
            Duration::from_millis(500)
        );
        assert_eq!(c.routes[1].settings.connect_timeout, Duration::from_secs(1));
        assert!(!c.routes[1].strip_prefix);
        assert_eq!(c.routes[1].name, "service1/admin");
        let dup = "[[route]]\nprefix = \"/a\"\nupstream = \"http://x\"\n[[route]]\nprefix = \"/a\"\nupstream = \"http://y\"";
        assert!(load(Some(dup), &[("REGION", "us-east-1")])
            .unwrap_err()
            .to_string()
            .contains("same prefix"));
    }

    #[test]
    fn prefixes() {
        assert!(validate_prefix("/service1").is_ok());
        assert!(validate_prefix("/a/b").is_ok());
        assert!(validate_prefix("/").is_ok(), "catch-all");
        for bad in [
            "", "a", "/a/", "/a//b", "/a/../b", "/health", "/a%2f", "/a b",
        ] {
            assert!(validate_prefix(bad).is_err(), "{bad}");
        }
    }
}
