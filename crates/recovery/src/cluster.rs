//! The cluster document: endpoints, and per app its path prefix on the external API, hostname,
//! control panel and, per region, the routing control and regional URL. It is the one list of
//! apps the gateway, `failover` and arc-local read. Format and field meanings: docs/cluster.md.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::SafetyRule;

/// The document version this code reads and writes.
pub const VERSION: u32 = 1;

/// The app that is the external API itself (the gateway). Every other app is one the gateway
/// routes, under its [`AppEntry::prefix`].
pub const GATEWAY_APP: &str = "external-api";

/// A document that cannot be read or used. Messages name the field and the bad value.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    // The I/O error is part of the message, not a separate cause, so chained printing shows it once.
    #[error("cannot read cluster document {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("cluster document{path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterDocument {
    pub version: u32,
    pub cluster_arn: String,
    pub endpoints: Vec<Endpoint>,
    pub apps: BTreeMap<String, AppEntry>,
}

/// One of the cluster's regional data-plane endpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub region: String,
    pub url: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppEntry {
    /// The app's path prefix on the external API (`/orders` routes `/orders/**`). Optional:
    /// [`AppEntry::prefix_of`] defaults it to `/<name>`. The gateway's own app has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    pub hostname: String,
    pub control_panel_arn: String,
    pub control_panel_name: String,
    pub primary_region: String,
    pub secondary_region: String,
    pub regions: BTreeMap<String, RegionEntry>,
    /// The panel's safety rules. Optional: when absent, tools know only what the API tells them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub safety_rules: Vec<SafetyRule>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionEntry {
    pub routing_control_arn: String,
    pub routing_control_name: String,
    pub url: String,
    /// The app's ECS service and load-balancer target groups in this region, for capacity checks
    /// and the `scale` step. Optional: absent where there is no ECS (compose, the loopback drill).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecs: Option<EcsService>,
}

/// An app's ECS service in one region and the ELBv2 target groups its tasks register with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcsService {
    /// The ECS cluster's name or ARN.
    pub cluster: String,
    /// The service's name or ARN.
    pub service: String,
    /// ARNs of the target groups whose healthy targets count as serving capacity.
    #[serde(default)]
    pub target_group_arns: Vec<String>,
    /// The fewest tasks an evacuation into this region scales the service to, whatever the
    /// region being left ran (or when it cannot be read). Optional; at least 1 when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_tasks: Option<u32>,
}

impl ClusterDocument {
    /// Reads and validates a document from a file.
    pub fn load(path: &Path) -> Result<ClusterDocument, DocumentError> {
        let text = std::fs::read_to_string(path).map_err(|error| DocumentError::Read {
            path: path.display().to_string(),
            error,
        })?;
        Self::parse(&text).map_err(|e| match e {
            DocumentError::Invalid { message, .. } => DocumentError::Invalid {
                path: format!(" {}", path.display()),
                message,
            },
            other => other,
        })
    }

    /// Parses and validates a document. Accepts the raw JSON object, or a JSON string holding it
    /// (what `terraform output -json cluster_document` prints).
    pub fn parse(text: &str) -> Result<ClusterDocument, DocumentError> {
        let invalid = |message: String| DocumentError::Invalid {
            path: String::new(),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let value = match value {
            serde_json::Value::String(inner) => {
                serde_json::from_str(&inner).map_err(|e| invalid(e.to_string()))?
            }
            v => v,
        };
        let doc: ClusterDocument =
            serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        doc.validate().map_err(invalid)?;
        Ok(doc)
    }

    /// Checks what serde cannot: references between fields, and value shapes.
    pub fn validate(&self) -> Result<(), String> {
        if self.version != VERSION {
            return Err(format!(
                "version = {}: this tool reads version {VERSION}",
                self.version
            ));
        }
        if self.endpoints.is_empty() {
            return Err("endpoints = []: at least one cluster endpoint is needed".into());
        }
        for (i, e) in self.endpoints.iter().enumerate() {
            if !(e.url.starts_with("https://") || e.url.starts_with("http://")) {
                return Err(format!(
                    "endpoints[{i}].url = {:?}: must be an http(s) URL",
                    e.url
                ));
            }
            if e.region.is_empty() {
                return Err(format!("endpoints[{i}].region is empty"));
            }
        }
        if self.apps.is_empty() {
            return Err("apps = {}: at least one app is needed".into());
        }
        let mut arns = std::collections::HashSet::new();
        for (name, app) in &self.apps {
            for (field, region) in [
                ("primary_region", &app.primary_region),
                ("secondary_region", &app.secondary_region),
            ] {
                if !app.regions.contains_key(region) {
                    return Err(format!(
                        "apps.{name}.{field} = {region:?}: not a key of apps.{name}.regions"
                    ));
                }
            }
            if app.primary_region == app.secondary_region {
                return Err(format!(
                    "apps.{name}.secondary_region = {:?}: must differ from primary_region",
                    app.secondary_region
                ));
            }
            if let Some(prefix) = &app.prefix {
                check_prefix(prefix)
                    .map_err(|reason| format!("apps.{name}.prefix = {prefix:?}: {reason}"))?;
                if name == GATEWAY_APP {
                    return Err(format!(
                        "apps.{name}.prefix = {prefix:?}: {GATEWAY_APP} is the external API itself; it has no prefix"
                    ));
                }
            }
            if app.hostname.is_empty() || app.hostname.contains('/') {
                return Err(format!(
                    "apps.{name}.hostname = {:?}: must be a DNS name",
                    app.hostname
                ));
            }
            for (region, entry) in &app.regions {
                if !entry.routing_control_arn.starts_with("arn:") {
                    return Err(format!(
                        "apps.{name}.regions.{region}.routing_control_arn = {:?}: must be an ARN",
                        entry.routing_control_arn
                    ));
                }
                if !arns.insert(entry.routing_control_arn.as_str()) {
                    return Err(format!(
                        "apps.{name}.regions.{region}.routing_control_arn = {:?}: used twice",
                        entry.routing_control_arn
                    ));
                }
                if !(entry.url.starts_with("https://") || entry.url.starts_with("http://")) {
                    return Err(format!(
                        "apps.{name}.regions.{region}.url = {:?}: must be an http(s) URL",
                        entry.url
                    ));
                }
                if let Some(ecs) = &entry.ecs {
                    for (field, value) in [("cluster", &ecs.cluster), ("service", &ecs.service)] {
                        if value.trim().is_empty() {
                            return Err(format!(
                                "apps.{name}.regions.{region}.ecs.{field} is empty: name the ECS {field}"
                            ));
                        }
                    }
                    if ecs.min_tasks == Some(0) {
                        return Err(format!(
                            "apps.{name}.regions.{region}.ecs.min_tasks = 0: give at least 1, or leave it out"
                        ));
                    }
                    for (i, tg) in ecs.target_group_arns.iter().enumerate() {
                        if !tg.starts_with("arn:") || !tg.contains(":targetgroup/") {
                            return Err(format!(
                                "apps.{name}.regions.{region}.ecs.target_group_arns[{i}] = {tg:?}: must be a target group ARN"
                            ));
                        }
                    }
                }
            }
        }
        let mut prefixes = BTreeMap::new();
        for (name, prefix, _) in self.routed_apps() {
            if let Some(other) = prefixes.insert(prefix.clone(), name) {
                return Err(format!(
                    "apps.{name}.prefix: {prefix:?} is also the prefix of app {other}"
                ));
            }
        }
        Ok(())
    }

    /// Every app the external API routes (all but [`GATEWAY_APP`]), with its path prefix, by name.
    pub fn routed_apps(&self) -> impl Iterator<Item = (&str, String, &AppEntry)> {
        self.apps
            .iter()
            .filter(|(name, _)| name.as_str() != GATEWAY_APP)
            .map(|(name, app)| (name.as_str(), app.prefix_of(name), app))
    }

    /// The app names, comma-separated, for messages that list what the document has.
    pub fn app_names(&self) -> String {
        self.apps.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    pub fn app(&self, name: &str) -> Result<&AppEntry, String> {
        self.apps.get(name).ok_or_else(|| {
            format!(
                "no app {name:?} in the cluster document (apps: {})",
                self.app_names()
            )
        })
    }

    /// The app and region a routing control belongs to.
    pub fn control(&self, arn: &str) -> Option<(&str, &str)> {
        self.apps.iter().find_map(|(name, app)| {
            app.regions
                .iter()
                .find(|(_, r)| r.routing_control_arn == arn)
                .map(|(region, _)| (name.as_str(), region.as_str()))
        })
    }

    /// Whether the endpoints are a local emulator's (plain HTTP): no AWS credentials are needed.
    pub fn is_local(&self) -> bool {
        self.endpoints.iter().all(|e| e.url.starts_with("http://"))
    }
}

impl AppEntry {
    /// The app's path prefix on the external API: its `prefix`, else `/<name>`.
    pub fn prefix_of(&self, name: &str) -> String {
        self.prefix.clone().unwrap_or_else(|| format!("/{name}"))
    }

    pub fn region(&self, region: &str) -> Result<&RegionEntry, String> {
        self.regions.get(region).ok_or_else(|| {
            format!(
                "no region {region:?} for this app (regions: {})",
                self.regions.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }
}

/// The shape of a prefix: an absolute path of non-empty segments without a trailing slash, with
/// no query, fragment or whitespace. The gateway checks the rest (reserved paths, characters).
fn check_prefix(prefix: &str) -> Result<(), &'static str> {
    let shaped = prefix.len() > 1
        && prefix.starts_with('/')
        && !prefix.ends_with('/')
        && !prefix.contains("//")
        && !prefix.contains(['?', '#'])
        && !prefix.contains(char::is_whitespace);
    if shaped {
        Ok(())
    } else {
        Err("must be a path such as \"/orders\": a leading '/', no trailing '/', no query")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const EXAMPLE: &str = r#"{
      "version": 1,
      "cluster_arn": "arn:aws:route53-recovery-control::123456789012:cluster/abc",
      "endpoints": [{"region": "us-east-1", "url": "https://host-a.route53-recovery-cluster.us-east-1.amazonaws.com/v1"}],
      "apps": {"service1": {
        "hostname": "service1.example.com",
        "control_panel_arn": "arn:aws:route53-recovery-control::123456789012:controlpanel/p1",
        "control_panel_name": "service1",
        "primary_region": "us-east-1",
        "secondary_region": "us-west-2",
        "regions": {
          "us-east-1": {"routing_control_arn": "arn:aws:route53-recovery-control::123456789012:controlpanel/p1/routingcontrol/a", "routing_control_name": "service1-primary-rc", "url": "https://service1.us-east-1.example.com"},
          "us-west-2": {"routing_control_arn": "arn:aws:route53-recovery-control::123456789012:controlpanel/p1/routingcontrol/b", "routing_control_name": "service1-secondary-rc", "url": "https://service1.us-west-2.example.com"}
        }}}
    }"#;

    #[test]
    fn parses_the_documented_shape_and_terraforms_string_form() {
        let doc = ClusterDocument::parse(EXAMPLE).unwrap();
        assert_eq!(doc.apps["service1"].primary_region, "us-east-1");
        assert_eq!(
            doc.control(
                "arn:aws:route53-recovery-control::123456789012:controlpanel/p1/routingcontrol/b"
            ),
            Some(("service1", "us-west-2"))
        );
        assert!(!doc.is_local());
        let as_string = serde_json::to_string(&EXAMPLE).unwrap();
        assert_eq!(ClusterDocument::parse(&as_string).unwrap(), doc);
    }

    #[test]
    fn an_ecs_block_is_optional_and_read() {
        let doc = ClusterDocument::parse(&EXAMPLE.replace(
            r#""url": "https://service1.us-west-2.example.com""#,
            r#""url": "https://service1.us-west-2.example.com", "ecs": {"cluster": "prod", "service": "service1", "target_group_arns": ["arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/service1/0123"]}"#,
        ))
        .unwrap();
        let ecs = doc.apps["service1"].regions["us-west-2"]
            .ecs
            .as_ref()
            .unwrap();
        assert_eq!(
            (ecs.cluster.as_str(), ecs.service.as_str()),
            ("prod", "service1")
        );
        assert_eq!(ecs.min_tasks, None);
        assert_eq!(doc.apps["service1"].regions["us-east-1"].ecs, None);
        let with_floor = ClusterDocument::parse(&EXAMPLE.replace(
            r#""url": "https://service1.us-west-2.example.com""#,
            r#""url": "https://service1.us-west-2.example.com", "ecs": {"cluster": "prod", "service": "service1", "min_tasks": 3}"#,
        ))
        .unwrap();
        assert_eq!(
            with_floor.apps["service1"].regions["us-west-2"]
                .ecs
                .as_ref()
                .unwrap()
                .min_tasks,
            Some(3)
        );
        let back = serde_json::to_string(&doc).unwrap();
        assert_eq!(ClusterDocument::parse(&back).unwrap(), doc);
        assert_eq!(
            back.matches("\"ecs\"").count(),
            1,
            "absent blocks are not written"
        );
    }

    #[test]
    fn an_apps_prefix_defaults_to_its_name_and_is_checked() {
        let doc = ClusterDocument::parse(EXAMPLE).unwrap();
        let routed: Vec<_> = doc.routed_apps().map(|(n, p, _)| (n, p)).collect();
        assert_eq!(routed, [("service1", "/service1".to_owned())]);
        assert!(
            !serde_json::to_string(&doc).unwrap().contains("prefix"),
            "an absent prefix is not written"
        );
        let with = |prefix: &str| {
            EXAMPLE.replace(
                r#""hostname": "service1.example.com""#,
                &format!(r#""prefix": {prefix:?}, "hostname": "service1.example.com""#),
            )
        };
        let doc = ClusterDocument::parse(&with("/api/orders")).unwrap();
        assert_eq!(doc.apps["service1"].prefix_of("service1"), "/api/orders");
        let back = serde_json::to_string(&doc).unwrap();
        assert_eq!(ClusterDocument::parse(&back).unwrap(), doc);
        for bad in [
            "orders",
            "/",
            "/orders/",
            "/a//b",
            "/orders?x=1",
            "/my orders",
        ] {
            let e = ClusterDocument::parse(&with(bad)).unwrap_err().to_string();
            assert!(
                e.contains(&format!("apps.service1.prefix = {bad:?}")),
                "{bad}: {e}"
            );
        }
        // The gateway's own app has no prefix; two apps cannot share one.
        let mut doc = ClusterDocument::parse(EXAMPLE).unwrap();
        let mut other = doc.apps["service1"].clone();
        for (region, entry) in other.regions.iter_mut() {
            entry.routing_control_arn = format!("{}-2", entry.routing_control_arn);
            entry.url = format!("https://orders.{region}.example.com");
        }
        other.prefix = Some("/service1".into());
        doc.apps.insert("orders".into(), other.clone());
        let e = doc.validate().unwrap_err();
        assert!(
            e.contains("apps.service1.prefix") && e.contains("app orders"),
            "{e}"
        );
        doc.apps.remove("orders");
        doc.apps.insert(GATEWAY_APP.into(), other);
        let e = doc.validate().unwrap_err();
        assert!(e.starts_with("apps.external-api.prefix"), "{e}");
    }

    #[test]
    fn errors_name_the_field() {
        let bad = EXAMPLE.replace(
            "\"secondary_region\": \"us-west-2\"",
            "\"secondary_region\": \"eu-west-1\"",
        );
        let e = ClusterDocument::parse(&bad).unwrap_err().to_string();
        assert!(
            e.contains("apps.service1.secondary_region") && e.contains("eu-west-1"),
            "{e}"
        );
        let bad = EXAMPLE.replace(
            r#""url": "https://service1.us-west-2.example.com""#,
            r#""url": "https://service1.us-west-2.example.com", "ecs": {"cluster": "c", "service": "s", "target_group_arns": ["tg-1"]}"#,
        );
        let e = ClusterDocument::parse(&bad).unwrap_err().to_string();
        assert!(
            e.contains("apps.service1.regions.us-west-2.ecs.target_group_arns[0] = \"tg-1\""),
            "{e}"
        );
        let bad = EXAMPLE.replace(
            r#""url": "https://service1.us-west-2.example.com""#,
            r#""url": "https://service1.us-west-2.example.com", "ecs": {"cluster": "c", "service": "s", "min_tasks": 0}"#,
        );
        let e = ClusterDocument::parse(&bad).unwrap_err().to_string();
        assert!(
            e.contains("apps.service1.regions.us-west-2.ecs.min_tasks = 0"),
            "{e}"
        );
        let bad = EXAMPLE.replace("\"version\": 1", "\"version\": 1, \"extra\": true");
        assert!(ClusterDocument::parse(&bad)
            .unwrap_err()
            .to_string()
            .contains("extra"));
    }
}
