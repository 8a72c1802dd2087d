//! Gateway configuration: a TOML file (path in `GATEWAY_CONFIG`) or, with no `[[route]]` in it, the
//! apps the gateway is given (`app_routes`: the cluster document's, and an `<APP>_URL` variable
//! each, such as `SERVICE1_URL` or `ORDERS_URL`). Every setting is declared once ([`schema`]: type, default, range, environment
//! variable); values come from the environment, then the file, then (for routes) `[defaults]`,
//! then the default. Everything is validated at start-up; an error names the key, where its value
//! came from and the value (`server.port (from PORT) = "80a": ...`). `gateway config` prints the
//! effective configuration with the source of each value.
//!
//! ```toml
//! region = "us-east-1"         # env REGION (or AWS_REGION) wins over the file
//!
//! [server]
//! port = 8080                  # env PORT
//! admin_port = 9090            # env ADMIN_PORT
//! trusted_proxy_hops = 1       # env TRUSTED_PROXY_HOPS; 1 behind an ALB
//! header_read_timeout = "10s"  # env HEADER_READ_TIMEOUT; a request head (and a new connection's first byte)
//! keepalive_timeout = "75s"    # env KEEPALIVE_TIMEOUT; idle keep-alive, above the ALB's 60 s idle timeout
//! max_header_bytes = 16384
//! max_headers = 100
//! max_connections = 10000
//! drain_timeout = "25s"        # env DRAIN_TIMEOUT
//! workers = 2                  # env WORKER_THREADS; default: the CPUs this process may use
//!
//! [defaults]                   # applies to every route unless the route says otherwise
//! connect_timeout = "1s"
//! response_header_timeout = "30s"
//! total_timeout = "60s"
//! max_body_bytes = 10485760
//! retries = 2
//! retry_backoff = "20ms"       # pause before retry N is N times this
//! pool_idle_timeout = "4s"
//! pool_max_idle = 256
//! fallback = true              # a request that never reached the active region goes to the next
//! fallback_idempotent = false  # idempotent requests too, after their connection broke
//! eject_after = 3              # consecutive connect failures that eject an endpoint
//! eject_after_5xx = 0          # consecutive 5xx answers that eject it (0: never)
//! eject_base = "1s"            # first wait before a /health probe; doubles up to eject_max
//! eject_max = "10s"
//! probe_timeout = "1s"
//!
//! [[route]]
//! prefix = "/service1"
//! upstream = "https://service1.example.com"
//! strip_prefix = true          # /service1/items/7 -> /items/7
//! regional = { us-east-1 = "https://service1-us-east-1.example.com", us-west-2 = "https://service1-us-west-2.example.com" }
//! ```

mod app_routes;
#[cfg(test)]
mod app_tests;
mod arc;
mod policy;
mod print;
mod route;
pub mod schema;
mod settings;
#[cfg(test)]
mod tests;
mod upstream_url;

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

pub use arc::{ArcConfig, RegionalUrls};
pub use policy::{
    KeySource, LimitMode, LimitsConfig, Period, Plan, PolicyConfig, PolicySpec, QuotaSpec, Rate,
    Secret,
};
pub use route::{FailoverMode, RouteConfig, RouteTarget};
pub use schema::{Source, Table};
pub use settings::{DnsConfig, ServerConfig, UpstreamSettings};
pub use upstream_url::UpstreamUrl;

use schema::{key_of, Resolver};

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
    #[error("no routes: set an <APP>_URL per app (SERVICE1_URL routes /service1, ORDERS_URL routes /orders), or ARC_CLUSTER_FILE to a cluster document, or GATEWAY_CONFIG to a file with [[route]] tables")]
    NoRoutes,
    #[error(transparent)]
    Env(#[from] bootstrap::env::EnvError),
}

pub(crate) fn invalid(
    key: impl Into<String>,
    value: impl ToString,
    reason: impl Into<String>,
) -> ConfigError {
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
    /// Set when any route follows ARC routing controls, or the cluster document was given (it
    /// then gives dns-mode routes their regional URLs).
    pub arc: Option<Arc<ArcConfig>>,
    /// Policies, usage plans, the key set's source and where limits live.
    pub policy: PolicyConfig,
    /// Every value and where it came from, table by table (`gateway config` prints it).
    pub effective: Vec<Table>,
    /// Settings that were given but do nothing (logged at start-up, printed by `gateway config`).
    pub warnings: Vec<String>,
}

/// The file as written: every table optional, unknown keys refused.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default, deserialize_with = "schema::opt")]
    region: Option<String>,
    #[serde(default)]
    server: settings::ServerFile,
    #[serde(default)]
    defaults: settings::RouteFile,
    #[serde(default, rename = "route")]
    routes: Vec<route::FileRoute>,
    #[serde(default)]
    dns: Option<settings::DnsFile>,
    #[serde(default)]
    arc: Option<arc::ArcFile>,
    #[serde(default)]
    policy: std::collections::BTreeMap<String, policy::PolicyFile>,
    #[serde(default)]
    plan: std::collections::BTreeMap<String, policy::PlanFile>,
    #[serde(default)]
    api_keys: Option<policy::ApiKeysFile>,
    #[serde(default)]
    limits: Option<policy::LimitsFile>,
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
        let names: Vec<String> = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .collect();
        Self::load_with_names(
            Sources {
                file,
                env: bootstrap::env::var,
            },
            &names,
        )
    }

    /// Builds and validates a configuration from a file's text (if any) and environment variables,
    /// with no `<APP>_URL` variables (see [`Config::load_with_names`]).
    pub fn load(src: Sources) -> Result<Config, ConfigError> {
        Self::load_with_names(src, &[])
    }

    /// [`Config::load`], with `names`, the environment's variable names: each `<APP>_URL` among
    /// them (read through `src.env`) is an app to route.
    pub fn load_with_names(src: Sources, names: &[String]) -> Result<Config, ConfigError> {
        let env = src.env;
        let file = match &src.file {
            Some((path, text)) => {
                toml::from_str::<FileConfig>(text).map_err(|e| ConfigError::Parse {
                    path: path.clone(),
                    message: e.to_string(),
                })?
            }
            None => FileConfig::default(),
        };
        let mut effective = Vec::new();
        let mut warnings = Vec::new();

        let mut top = Table::new("");
        let region = region(file.region, env, &mut top)?;
        effective.push(top);

        let mut table = Table::new("[server]");
        let server = file.server.resolve(
            None,
            &mut Resolver {
                env: &env,
                table: &mut table,
                prefix: "server.",
            },
        )?;
        settings::check_server(&server)?;
        effective.push(table);

        // The file's routes, or when it has none, the apps the gateway is given.
        let mode = app_routes::mode(env)?;
        let from_file = !file.routes.is_empty();
        let needed = if from_file {
            file.routes.iter().any(|r| r.failover == FailoverMode::Arc)
        } else {
            mode.0 == FailoverMode::Arc
        };
        let arc = arc::load(file.arc, env, needed, &mut effective, &mut warnings)?;
        let doc = arc.as_deref().map(|a| &a.cluster);
        let routes = if from_file {
            app_routes::unrouted(&file.routes, names, env, doc, &mut warnings);
            file.routes
        } else {
            app_routes::routes(names, env, mode, doc, &mut warnings)?
        };
        let routes = route::resolve_all(
            routes,
            &file.defaults,
            arc.as_ref(),
            &mut effective,
            &mut warnings,
        )?;

        let uses_dns = routes
            .iter()
            .any(|r| matches!(r.target, RouteTarget::Dns { .. }));
        if !uses_dns && (file.dns.is_some() || env("DNS_SERVER").is_some()) {
            warnings.push(
                "[dns] / DNS_SERVER has no effect: no route has an upstream URL with a host name"
                    .into(),
            );
        }
        let mut table = Table::new("[dns]");
        let dns = file.dns.unwrap_or_default().resolve(
            None,
            &mut Resolver {
                env: &env,
                table: &mut table,
                prefix: "dns.",
            },
        )?;
        settings::check_dns(&dns)?;
        effective.push(table);

        let policy = policy::load(
            policy::PolicyTables {
                policy: file.policy,
                plan: file.plan,
                api_keys: file.api_keys,
                limits: file.limits,
            },
            env,
            &routes,
            &mut effective,
            &mut warnings,
        )?;

        Ok(Config {
            region,
            server,
            routes,
            dns,
            arc,
            policy,
            effective,
            warnings,
        })
    }

    /// The effective configuration as TOML, each value commented with its source (like `nginx -T`).
    /// It parses back into the same configuration.
    pub fn to_toml(&self) -> String {
        print::render(&self.effective, &self.warnings)
    }
}

/// `region`: env `REGION`, then `AWS_REGION`, then the file. Required.
fn region(
    file: Option<String>,
    env: fn(&str) -> Option<String>,
    top: &mut Table,
) -> Result<String, ConfigError> {
    let (region, source) = match (env("REGION"), env("AWS_REGION"), file) {
        (Some(r), _, _) => (r, Source::env("REGION")),
        (None, Some(r), _) => (r, Source::env("AWS_REGION")),
        (None, None, Some(r)) => (r, Source::File),
        (None, None, None) => return Err(bootstrap::env::EnvError::MissingRegion.into()),
    };
    bootstrap::env::validate_region(&region)
        .map_err(|reason| invalid(key_of("region", &source), &region, reason))?;
    top.push("region", format!("{region:?}"), source);
    Ok(region)
}
