//! `[[route]]` tables (or `SERVICE1_URL` / `SERVICE2_URL`): a prefix, where its requests go and
//! how that follows a failover, and the route's settings merged over `[defaults]`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use http::uri::{Authority, Scheme};
use http::HeaderValue;
use serde::Deserialize;

use super::arc::RegionalUrls;
use super::schema::{Resolver, Source, Table};
use super::settings::{self, RouteFile, UpstreamSettings};
use super::{invalid, ArcConfig, ConfigError};

/// How a route follows a failover (`failover` in a route; `GATEWAY_FAILOVER_MODE` for the routes
/// made from `SERVICE1_URL` / `SERVICE2_URL`).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FailoverMode {
    /// Re-resolve the upstream's hostname by TTL (Route 53 answers with the active region).
    #[default]
    Dns,
    /// Read the app's routing controls in the ARC cluster.
    Arc,
}

impl FailoverMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailoverMode::Dns => "dns",
            FailoverMode::Arc => "arc",
        }
    }
}

/// A `[[route]]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileRoute {
    prefix: String,
    #[serde(default)]
    upstream: Option<String>,
    #[serde(default)]
    pub(super) failover: FailoverMode,
    /// The app (cluster document key) an arc-mode route follows, or whose regional URLs a
    /// dns-mode route falls back to; default: the route's name.
    #[serde(default)]
    arc_app: Option<String>,
    /// Region name to URL: where a request goes when the active endpoint cannot be reached
    /// (dns mode; wins over the cluster document's URLs).
    #[serde(default)]
    regional: Option<BTreeMap<String, String>>,
    #[serde(default = "yes")]
    strip_prefix: bool,
    #[serde(flatten)]
    settings: RouteFile,
    /// The environment variable a route came from, to name it in errors.
    #[serde(skip)]
    from_env: Option<&'static str>,
}

fn yes() -> bool {
    true
}

/// One route: requests under `prefix` go to its target.
#[derive(Clone, Debug)]
pub struct RouteConfig {
    /// Name used in metrics and logs: the prefix without its leading slash (`root` for `/`).
    pub name: String,
    pub prefix: String,
    pub target: RouteTarget,
    pub strip_prefix: bool,
    pub settings: UpstreamSettings,
    /// The app's regional endpoints, in fallback order (empty: no regional fallback).
    pub regional: Vec<(String, UpstreamUrl)>,
}

/// Where a route's requests go, and how that follows a failover. Each variant carries what its
/// follower needs, checked here, so building the upstream cannot fail on a missing fact.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // made once per route at start-up
pub enum RouteTarget {
    /// A URL whose host is an IP address: nothing to follow.
    Static(UpstreamUrl),
    /// dns mode: one URL whose hostname Route 53 (or arc-local) answers; re-resolved by TTL.
    Dns { url: UpstreamUrl, host: String },
    /// arc mode: the app's regional URLs from the cluster document, chosen by its routing controls.
    Arc {
        app: String,
        entry: recovery::AppEntry,
        regions: RegionalUrls,
        arc: Arc<ArcConfig>,
    },
}

/// An upstream URL, checked: http or https, a host, no query, fragment or credentials.
#[derive(Clone, Debug, PartialEq)]
pub struct UpstreamUrl {
    pub scheme: Scheme,
    pub authority: Authority,
    /// The path requests are appended to (`/` or empty for none).
    pub base_path: String,
    /// The `Host` field the upstream expects: its own authority (RFC 9110 section 7.2).
    pub host_header: HeaderValue,
}

impl UpstreamUrl {
    /// Parses and checks an upstream URL; the reason names what is wrong.
    pub fn parse(url: &str) -> Result<UpstreamUrl, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| e.to_string())?;
        let scheme = match uri.scheme_str() {
            Some("http") => Scheme::HTTP,
            Some("https") => Scheme::HTTPS,
            _ => return Err("must be an http:// or https:// URL".into()),
        };
        let Some(authority) = uri
            .authority()
            .filter(|_| uri.host().is_some_and(|h| !h.is_empty()))
        else {
            return Err("must name a host".into());
        };
        if uri.query().is_some() || url.contains('#') {
            return Err("must not have a query or fragment".into());
        }
        if authority.as_str().contains('@') {
            return Err("must not carry credentials".into());
        }
        let host_header = HeaderValue::from_str(authority.as_str())
            .map_err(|_| "the host is not a valid Host field".to_owned())?;
        Ok(UpstreamUrl {
            scheme,
            authority: authority.clone(),
            base_path: uri.path().to_owned(),
            host_header,
        })
    }

    /// The host without IPv6 brackets.
    pub fn host(&self) -> &str {
        self.authority.host().trim_matches(|c| c == '[' || c == ']')
    }

    /// The port requests go to: the URL's, else the scheme's (RFC 9110 section 4.2).
    pub fn port(&self) -> u16 {
        self.authority
            .port_u16()
            .unwrap_or(if self.scheme == Scheme::HTTPS {
                443
            } else {
                80
            })
    }

    /// `scheme://authority`, for logs and metrics.
    pub fn label(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }
}

/// The file's routes, or when it has none, the routes `SERVICE1_URL` / `SERVICE2_URL` make
/// (every route in arc mode when `GATEWAY_FAILOVER_MODE=arc`, URLs then optional).
pub(super) fn file_or_env_routes(
    file_routes: Vec<FileRoute>,
    env: fn(&str) -> Option<String>,
) -> Result<Vec<FileRoute>, ConfigError> {
    if !file_routes.is_empty() {
        return Ok(file_routes);
    }
    let mode = match env("GATEWAY_FAILOVER_MODE").as_deref() {
        None | Some("dns") => FailoverMode::Dns,
        Some("arc") => FailoverMode::Arc,
        Some(other) => {
            return Err(invalid(
                "GATEWAY_FAILOVER_MODE",
                other,
                "must be dns or arc",
            ))
        }
    };
    let mut routes = Vec::new();
    for (prefix, var) in [("/service1", "SERVICE1_URL"), ("/service2", "SERVICE2_URL")] {
        let url = env(var);
        if url.is_some() || mode == FailoverMode::Arc {
            routes.push(FileRoute {
                prefix: prefix.into(),
                upstream: url,
                failover: mode,
                arc_app: None,
                regional: None,
                strip_prefix: true,
                settings: RouteFile::default(),
                from_env: Some(var),
            });
        }
    }
    if routes.is_empty() {
        return Err(ConfigError::NoRoutes);
    }
    Ok(routes)
}

/// Checks every route and merges its settings over `[defaults]`.
pub(super) fn resolve_all(
    routes: Vec<FileRoute>,
    defaults: &RouteFile,
    arc: Option<&Arc<ArcConfig>>,
    effective: &mut Vec<Table>,
    warnings: &mut Vec<String>,
) -> Result<Vec<RouteConfig>, ConfigError> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(routes.len());
    for (i, r) in routes.into_iter().enumerate() {
        let mut table = Table::new("[[route]]");
        let route = resolve(i, r, defaults, arc, &mut table, warnings)?;
        if !seen.insert(route.prefix.clone()) {
            return Err(invalid(
                format!("route[{i}].prefix"),
                &route.prefix,
                "another route has the same prefix",
            ));
        }
        out.push(route);
        effective.push(table);
    }
    Ok(out)
}

fn resolve(
    i: usize,
    r: FileRoute,
    defaults: &RouteFile,
    arc: Option<&Arc<ArcConfig>>,
    table: &mut Table,
    warnings: &mut Vec<String>,
) -> Result<RouteConfig, ConfigError> {
    let source = r.from_env.map_or(Source::File, Source::Env);
    let key = |field: &str| match r.from_env {
        Some(var) if field == "upstream" => var.to_owned(),
        _ => format!("route[{i}].{field}"),
    };
    validate_prefix(&r.prefix).map_err(|reason| invalid(key("prefix"), &r.prefix, reason))?;
    table.push("prefix", format!("{:?}", r.prefix), source.clone());
    let name = match r.prefix.trim_start_matches('/') {
        "" => "root".to_owned(),
        n => n.to_owned(),
    };
    let mut regional = Vec::new();
    let target = match (r.failover, &r.upstream) {
        (FailoverMode::Dns, Some(url)) => {
            let parsed =
                UpstreamUrl::parse(url).map_err(|reason| invalid(key("upstream"), url, reason))?;
            table.push("upstream", format!("{url:?}"), source.clone());
            let host = parsed.host().to_owned();
            if host.parse::<std::net::IpAddr>().is_ok() {
                RouteTarget::Static(parsed)
            } else {
                RouteTarget::Dns { url: parsed, host }
            }
        }
        (FailoverMode::Dns, None) => {
            return Err(invalid(
                key("upstream"),
                "",
                "is required unless failover = \"arc\"",
            ));
        }
        (FailoverMode::Arc, _) => {
            let app = r.arc_app.clone().unwrap_or_else(|| name.clone());
            let Some(arc) = arc else {
                // arc::load requires the cluster document whenever a route is in arc mode.
                return Err(invalid(
                    key("failover"),
                    "arc",
                    "arc mode needs the cluster document: set ARC_CLUSTER_FILE or ARC_CLUSTER_JSON, or [arc] cluster_file",
                ));
            };
            table.push("failover", "\"arc\"".into(), source.clone());
            table.push("arc_app", format!("{app:?}"), source.clone());
            if r.regional.is_some() {
                return Err(invalid(
                    key("regional"),
                    "",
                    "is for dns mode: in arc mode the cluster document has the regional URLs",
                ));
            }
            let (entry, regions) = arc.app(&app, &key("arc_app"))?;
            regional = regions.iter().cloned().collect();
            RouteTarget::Arc {
                app,
                entry,
                regions,
                arc: arc.clone(),
            }
        }
    };
    if r.failover == FailoverMode::Dns {
        regional = dns_regional(&r, &name, arc, &key, warnings)?;
        if let Some(app) = &r.arc_app {
            table.push("arc_app", format!("{app:?}"), source.clone());
        }
        if let Some(map) = &r.regional {
            let shown: Vec<String> = map.iter().map(|(k, v)| format!("{k} = {v:?}")).collect();
            table.push(
                "regional",
                format!("{{ {} }}", shown.join(", ")),
                source.clone(),
            );
        }
    }
    table.push("strip_prefix", r.strip_prefix.to_string(), source);
    let prefix = format!("route[{i}].");
    let settings = r.settings.resolve(
        Some(defaults),
        &mut Resolver {
            env: &|_| None,
            table,
            prefix: &prefix,
        },
    )?;
    settings::check_upstream(&settings, &prefix)?;
    Ok(RouteConfig {
        name,
        prefix: r.prefix,
        target,
        strip_prefix: r.strip_prefix,
        settings,
        regional,
    })
}

/// A dns-mode route's regional endpoints: its `regional` table, else its app's URLs in the
/// cluster document when one was given (primary first), else none. An app the document lacks
/// is an error when `arc_app` named it, a warning otherwise.
fn dns_regional(
    r: &FileRoute,
    name: &str,
    arc: Option<&Arc<ArcConfig>>,
    key: &dyn Fn(&str) -> String,
    warnings: &mut Vec<String>,
) -> Result<Vec<(String, UpstreamUrl)>, ConfigError> {
    if let Some(map) = &r.regional {
        let mut out = Vec::with_capacity(map.len());
        for (region, url) in map {
            let k = format!("{}.{region}", key("regional"));
            bootstrap::env::validate_region(region)
                .map_err(|reason| invalid(&k, region, reason))?;
            let parsed = UpstreamUrl::parse(url).map_err(|reason| invalid(&k, url, reason))?;
            out.push((region.clone(), parsed));
        }
        return Ok(out);
    }
    let Some(arc) = arc else {
        if r.arc_app.is_some() {
            return Err(invalid(
                key("arc_app"),
                r.arc_app.as_deref().unwrap_or(""),
                "needs the cluster document: set ARC_CLUSTER_FILE or ARC_CLUSTER_JSON, or [arc] cluster_file",
            ));
        }
        return Ok(Vec::new());
    };
    let app = r.arc_app.as_deref().unwrap_or(name);
    if arc.cluster.app(app).is_err() && r.arc_app.is_none() {
        warnings.push(format!(
            "{}: the cluster document has no app {app:?}: no regional fallback for this route",
            key("prefix")
        ));
        return Ok(Vec::new());
    }
    let (_, regions) = arc.app(app, &key("arc_app"))?;
    Ok(regions.iter().cloned().collect())
}

/// A prefix is an absolute, already-normalised path of one or more segments, without a trailing slash.
pub(super) fn validate_prefix(prefix: &str) -> Result<(), String> {
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
