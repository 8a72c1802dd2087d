//! `[arc]`: how arc-mode routes watch their routing controls, and the cluster document that says
//! which control panel, controls and regional URLs each app has.

use std::path::Path;
use std::time::Duration;

use super::schema::{key_of, settings, Resolver, Source, Table};
use super::upstream_url::UpstreamUrl;
use super::{invalid, ConfigError};

settings! {
    /// `[arc]` as declared: every key with its default and environment variable.
    pub struct ArcSettings / ArcFile {
        /// The cluster document (`failover` and Terraform write it). `ARC_CLUSTER_JSON` (the
        /// document itself) wins over both.
        cluster_file: Option<String> = None, |_| true, "", env "ARC_CLUSTER_FILE";
        /// A CA to trust besides the bundled roots, for cluster endpoints behind a private CA.
        ca_file: Option<String> = None, |_| true, "", env "ARC_CA_FILE";
        /// How often each app's control panel is read. A switch takes at most this long (plus one call).
        poll_interval: Duration = Duration::from_secs(1),
            |v| (Duration::from_millis(50)..=Duration::from_secs(300)).contains(v),
            "must be between 50ms and 300s", env "ARC_POLL_INTERVAL";
        /// Bound on one call to one cluster endpoint; the next endpoint is tried after it.
        call_timeout: Duration = Duration::from_secs(1),
            |v| (Duration::from_millis(10)..=Duration::from_secs(30)).contains(v),
            "must be between 10ms and 30s";
    }
}

/// An app's two regions and their URLs: where its requests can go.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionalUrls {
    pub primary: (String, UpstreamUrl),
    pub secondary: (String, UpstreamUrl),
}

impl RegionalUrls {
    /// Primary first.
    pub fn iter(&self) -> impl Iterator<Item = &(String, UpstreamUrl)> {
        [&self.primary, &self.secondary].into_iter()
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
    /// A CA to trust besides the bundled roots (`[arc] ca_file`, env `ARC_CA_FILE`).
    pub extra_ca: Option<recovery::tls::ExtraCa>,
}

impl ArcConfig {
    /// An app's entry and its two regions' URLs, checked; `key` names the setting that chose
    /// the app.
    pub fn app(
        &self,
        app: &str,
        key: &str,
    ) -> Result<(recovery::AppEntry, RegionalUrls), ConfigError> {
        let entry = self
            .cluster
            .app(app)
            .map_err(|reason| invalid(key, app, reason))?
            .clone();
        let url_of = |region: &str| -> Result<(String, UpstreamUrl), ConfigError> {
            let key = format!("cluster apps.{app}.regions.{region}.url");
            let Some(e) = entry.regions.get(region) else {
                return Err(invalid(
                    key,
                    "",
                    "the region has no entry in the cluster document",
                ));
            };
            let url = UpstreamUrl::parse(&e.url).map_err(|reason| invalid(key, &e.url, reason))?;
            Ok((region.to_owned(), url))
        };
        let regions = RegionalUrls {
            primary: url_of(&entry.primary_region)?,
            secondary: url_of(&entry.secondary_region)?,
        };
        Ok((entry, regions))
    }
}

/// Loads `[arc]` and the cluster document when a route is in arc mode (`needed`), or when the
/// document is given anyway: dns-mode routes then take their regional URLs from it (regional
/// fallback). Otherwise the table and the `ARC_*` variables do nothing, and a warning says so.
pub(super) fn load(
    file: Option<ArcFile>,
    env: fn(&str) -> Option<String>,
    needed: bool,
    effective: &mut Vec<Table>,
    warnings: &mut Vec<String>,
) -> Result<Option<std::sync::Arc<ArcConfig>>, ConfigError> {
    let document = env("ARC_CLUSTER_JSON").is_some()
        || env("ARC_CLUSTER_FILE").is_some()
        || file.as_ref().is_some_and(|f| f.cluster_file.is_some());
    if !needed {
        let idle: &[&str] = if document {
            &["ARC_POLL_INTERVAL", "ARC_CA_FILE"]
        } else {
            &[
                "ARC_CLUSTER_FILE",
                "ARC_CLUSTER_JSON",
                "ARC_POLL_INTERVAL",
                "ARC_CA_FILE",
            ]
        };
        let given: Vec<&str> = idle.iter().copied().filter(|v| env(v).is_some()).collect();
        if file.is_some() && !document {
            warnings.push("[arc] has no effect: no route has failover = \"arc\"".into());
        }
        if !given.is_empty() {
            warnings.push(format!(
                "{} {} no effect: no route has failover = \"arc\"",
                given.join(", "),
                if given.len() == 1 { "has" } else { "have" }
            ));
        }
        if !document {
            return Ok(None);
        }
    }
    let mut table = Table::new("[arc]");
    let settings = file.unwrap_or_default().resolve(
        None,
        &mut Resolver {
            env: &env,
            table: &mut table,
            prefix: "arc.",
        },
    )?;
    let cluster = if let Some(json) = env("ARC_CLUSTER_JSON") {
        recovery::ClusterDocument::parse(&json)
            .map_err(|e| invalid("ARC_CLUSTER_JSON", "(inline document)", e.to_string()))?
    } else {
        let Some(path) = &settings.cluster_file else {
            return Err(invalid(
                "ARC_CLUSTER_FILE",
                "",
                "arc mode needs the cluster document: set ARC_CLUSTER_FILE or ARC_CLUSTER_JSON, or [arc] cluster_file",
            ));
        };
        recovery::ClusterDocument::load(Path::new(path))
            .map_err(|e| invalid(source_key(&table, "cluster_file"), path, e.to_string()))?
    };
    let extra_ca = match &settings.ca_file {
        Some(path) => Some(
            recovery::tls::ExtraCa::from_file(path)
                .map_err(|e| invalid(source_key(&table, "ca_file"), path, e.to_string()))?,
        ),
        None => None,
    };
    effective.push(table);
    Ok(Some(std::sync::Arc::new(ArcConfig {
        cluster,
        poll_interval: settings.poll_interval,
        call_timeout: settings.call_timeout,
        extra_ca,
    })))
}

/// How errors name an `[arc]` key: with the variable when the environment set it.
fn source_key(table: &Table, key: &str) -> String {
    let source = table
        .entries
        .iter()
        .find(|e| e.key == key)
        .map_or(Source::Default, |e| e.source.clone());
    key_of(&format!("arc.{key}"), &source)
}
