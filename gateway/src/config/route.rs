//! `[[route]]` tables (or the routes made from the apps the gateway is given, `app_routes`): a
//! prefix, where its requests go and how that follows a failover, and the route's settings merged
//! over `[defaults]`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde::Deserialize;

use super::arc::{ArcConfig, RegionalUrls};
use super::schema::{key_of, Resolver, Source, Table};
use super::settings::{self, RouteFile, UpstreamSettings};
use super::upstream_url::UpstreamUrl;
use super::{invalid, ConfigError};

/// How a route follows a failover (`failover` in a route; `GATEWAY_FAILOVER_MODE` for the routes
/// made from `<APP>_URL` variables and the cluster document).
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

/// A `[[route]]` table as written, or a route made from an app the gateway was given.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileRoute {
    pub(super) prefix: String,
    #[serde(default)]
    pub(super) upstream: Option<String>,
    #[serde(default)]
    pub(super) failover: FailoverMode,
    /// The app (cluster document key) an arc-mode route follows, or whose regional URLs a
    /// dns-mode route falls back to; default: the route's name.
    #[serde(default)]
    pub(super) arc_app: Option<String>,
    /// Region name to URL: where a request goes when the active endpoint cannot be reached
    /// (dns mode; wins over the cluster document's URLs).
    #[serde(default)]
    regional: Option<BTreeMap<String, String>>,
    #[serde(default = "yes")]
    strip_prefix: bool,
    #[serde(flatten)]
    settings: RouteFile,
    /// Where a route made from an app came from, field by field (`None`: the file).
    #[serde(skip)]
    origin: Option<Origin>,
}

/// Where each field of a route made from an app came from (an `<APP>_URL` or `<APP>_PREFIX`
/// variable, `GATEWAY_FAILOVER_MODE`, the cluster document, a default), for `gateway config`
/// and for errors, which name the variable.
#[derive(Clone, Debug)]
pub(super) struct Origin {
    /// The app the route serves (its prefix may be another name).
    pub app: String,
    pub prefix: Source,
    pub upstream: Source,
    pub failover: Source,
    pub arc_app: Source,
}

impl FileRoute {
    /// A route made from an app: `prefix` to `upstream` (or, in arc mode, to `arc_app`'s regional
    /// URLs), with `[defaults]` settings.
    pub(super) fn from_app(
        prefix: String,
        upstream: Option<String>,
        failover: FailoverMode,
        arc_app: Option<String>,
        origin: Origin,
    ) -> FileRoute {
        FileRoute {
            prefix,
            upstream,
            failover,
            arc_app,
            regional: None,
            strip_prefix: true,
            settings: RouteFile::default(),
            origin: Some(origin),
        }
    }

    /// The app whose cluster-document entry the route uses: `arc_app`, else the app it was made
    /// from, else its prefix's name.
    pub(super) fn app(&self) -> &str {
        match (&self.arc_app, &self.origin) {
            (Some(app), _) => app,
            (None, Some(origin)) => &origin.app,
            (None, None) => self.prefix.trim_start_matches('/'),
        }
    }

    /// Where `field` came from.
    fn source(&self, field: &str) -> Source {
        match (&self.origin, field) {
            (None, _) => Source::File,
            (Some(o), "prefix") => o.prefix.clone(),
            (Some(o), "upstream") => o.upstream.clone(),
            (Some(o), "failover") => o.failover.clone(),
            (Some(o), "arc_app") => o.arc_app.clone(),
            (Some(_), _) => Source::Default,
        }
    }

    /// How an error names `field` of route `i`: the variable it came from, else its key.
    fn key(&self, i: usize, field: &str) -> String {
        match self.source(field) {
            Source::Env(var) => var.into_owned(),
            source => key_of(&format!("route[{i}].{field}"), &source),
        }
    }
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
    let key = |field: &str| r.key(i, field);
    validate_prefix(&r.prefix).map_err(|reason| invalid(key("prefix"), &r.prefix, reason))?;
    table.push("prefix", format!("{:?}", r.prefix), r.source("prefix"));
    let name = match r.prefix.trim_start_matches('/') {
        "" => "root".to_owned(),
        n => n.to_owned(),
    };
    let mut regional = Vec::new();
    let target = match (r.failover, &r.upstream) {
        (FailoverMode::Dns, Some(url)) => {
            let parsed =
                UpstreamUrl::parse(url).map_err(|reason| invalid(key("upstream"), url, reason))?;
            table.push("upstream", format!("{url:?}"), r.source("upstream"));
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
            table.push("failover", "\"arc\"".into(), r.source("failover"));
            table.push("arc_app", format!("{app:?}"), r.source("arc_app"));
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
            table.push("arc_app", format!("{app:?}"), r.source("arc_app"));
        }
        if let Some(map) = &r.regional {
            let shown: Vec<String> = map.iter().map(|(k, v)| format!("{k} = {v:?}")).collect();
            table.push(
                "regional",
                format!("{{ {} }}", shown.join(", ")),
                r.source("regional"),
            );
        }
    }
    table.push(
        "strip_prefix",
        r.strip_prefix.to_string(),
        r.source("strip_prefix"),
    );
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
    let app = if r.origin.is_some() {
        r.app()
    } else {
        r.arc_app.as_deref().unwrap_or(name)
    };
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
