//! The topology arc-local serves: a cluster document (docs/cluster.md) from a file or the project's
//! default (the same document the gateway and `failover` read: a team adds its own app, with its
//! prefix on the external API, as one entry of `apps`), completed with a default safety rule for every app that has none, plus the lookups the
//! DNS server needs (app by hostname, regional hosts, active region). Its cluster, control panels,
//! routing controls and safety rules become the read-only part of the catalog (`catalog.rs`), which
//! the data plane and the safety rules read.
//!
//! The document's endpoint URLs are informational: arc-local always serves on its own ports, and
//! [`Topology::served_document`] gives the document with the endpoints it actually serves.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

use recovery::local::{self, ENDPOINT_REGIONS};
use recovery::{ClusterDocument, ControlState, DocumentError, Endpoint, RuleConfig, SafetyRule};

/// The account ARNs fall back to when a control panel ARN names none.
const FALLBACK_OWNER: &str = "000000000000";

/// A topology that cannot be served. Messages name the source, the field and the bad value.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("topology {source_name}: {message}")]
    Invalid {
        source_name: String,
        message: String,
    },
}

/// Where a regional URL points: an address as is, or a name to resolve with the system resolver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegionalHost {
    Ip(IpAddr),
    Name(String),
}

/// The served topology. Immutable once loaded.
#[derive(Debug)]
pub struct Topology {
    /// The document, with default safety rules filled in.
    doc: ClusterDocument,
    /// Where it came from (a file path, or "default"), for messages.
    source: String,
    /// Lower-case hostname without a trailing dot -> app name.
    by_host: HashMap<String, String>,
    /// (app, region) -> host of the regional URL.
    hosts: HashMap<(String, String), RegionalHost>,
}

impl Topology {
    /// Loads the document at `path`, or the default topology when there is none.
    pub fn load(path: Option<&Path>) -> Result<Topology, TopologyError> {
        match path {
            Some(path) => {
                let doc = ClusterDocument::load(path)?;
                Topology::from_document(doc, &path.display().to_string())
            }
            None => Topology::from_document(
                local::default_document("127.0.0.1", local::DEFAULT_API_PORT),
                "default",
            ),
        }
    }

    /// Builds a topology from a parsed document: checks what the emulator relies on and gives every
    /// app without safety rules the default assertion rule (at least one of its controls On).
    pub fn from_document(
        mut doc: ClusterDocument,
        source: &str,
    ) -> Result<Topology, TopologyError> {
        let invalid = |message: String| TopologyError::Invalid {
            source_name: source.to_owned(),
            message,
        };
        doc.validate().map_err(invalid)?;
        for (name, app) in doc.apps.iter_mut() {
            if app.safety_rules.is_empty() {
                app.safety_rules.push(default_rule(name, app));
            }
        }

        let mut by_arn = HashSet::new();
        let mut by_host = HashMap::new();
        let mut hosts = HashMap::new();
        for (app_name, app) in &doc.apps {
            let host = normalize_host(&app.hostname);
            if let Some(other) = by_host.insert(host.clone(), app_name.clone()) {
                return Err(invalid(format!(
                    "apps.{app_name}.hostname = {:?}: also the hostname of app {other}",
                    app.hostname
                )));
            }
            for (region, entry) in &app.regions {
                by_arn.insert(entry.routing_control_arn.clone());
                let regional = url_host(&entry.url).ok_or_else(|| {
                    invalid(format!(
                        "apps.{app_name}.regions.{region}.url = {:?}: no host in this URL",
                        entry.url
                    ))
                })?;
                hosts.insert((app_name.clone(), region.clone()), regional);
            }
        }
        let mut rule_ids = HashSet::new();
        for (app_name, app) in &doc.apps {
            for (i, rule) in app.safety_rules.iter().enumerate() {
                let at = format!("apps.{app_name}.safety_rules[{i}]");
                check_rule(rule, &by_arn, &at).map_err(|e| invalid(e.0))?;
                for id in std::iter::once(rule.name()).chain(rule.arn()) {
                    if !rule_ids.insert(id.to_owned()) {
                        return Err(invalid(format!(
                            "{at}: {id:?} names another safety rule too; rule names and ARNs must be unique"
                        )));
                    }
                }
            }
        }

        Ok(Topology {
            doc,
            source: source.to_owned(),
            by_host,
            hosts,
        })
    }

    /// Where the topology came from: a file path, or "default".
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The document as served (default safety rules included), as loaded.
    pub fn document(&self) -> &ClusterDocument {
        &self.doc
    }

    /// The document with the endpoints arc-local serves (see [`endpoint_urls`]).
    pub fn served_document(&self, endpoints: Vec<Endpoint>) -> ClusterDocument {
        let mut doc = self.doc.clone();
        doc.endpoints = endpoints;
        doc
    }

    /// The app whose failover record is `name` (any case, with or without a trailing dot).
    pub fn app_for_host(&self, name: &str) -> Option<&str> {
        self.by_host.get(&normalize_host(name)).map(String::as_str)
    }

    /// The host of an app's regional URL in `region`.
    pub fn regional_host(&self, app: &str, region: &str) -> Option<&RegionalHost> {
        self.hosts.get(&(app.to_owned(), region.to_owned()))
    }

    /// The state with no history: each app's primary-region control On, every other control Off.
    pub fn initial_states(&self) -> BTreeMap<String, ControlState> {
        self.doc
            .apps
            .values()
            .flat_map(|app| {
                app.regions.iter().map(|(region, entry)| {
                    let state = if *region == app.primary_region {
                        ControlState::On
                    } else {
                        ControlState::Off
                    };
                    (entry.routing_control_arn.clone(), state)
                })
            })
            .collect()
    }

    /// The region an app is active in under `states`, by the Route 53 failover rule.
    pub fn active_region<'a>(
        &'a self,
        app: &str,
        states: &BTreeMap<String, ControlState>,
    ) -> Option<&'a str> {
        let entry = self.doc.apps.get(app)?;
        Some(recovery::active_region(
            &entry.primary_region,
            &entry.secondary_region,
            |region| {
                entry
                    .regions
                    .get(region)
                    .and_then(|r| states.get(&r.routing_control_arn).copied())
            },
        ))
    }
}

/// The five emulated endpoints (us-east-1, us-west-2, eu-west-1, ap-northeast-1,
/// ap-southeast-2), `<scheme>://<host>:<port>` with `ports` in that order; an IPv6 host is
/// bracketed.
pub fn endpoint_urls(
    scheme: &str,
    host: &str,
    ports: impl IntoIterator<Item = u16>,
) -> Vec<Endpoint> {
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    ENDPOINT_REGIONS
        .iter()
        .zip(ports)
        .map(|(region, port)| Endpoint {
            region: (*region).to_owned(),
            url: format!("{scheme}://{host}:{port}"),
        })
        .collect()
}

/// The rule an app without safety rules gets: at least one of its controls On.
fn default_rule(app_name: &str, app: &recovery::AppEntry) -> SafetyRule {
    let name = format!("{app_name}-at-least-one-on");
    SafetyRule::Assertion {
        arn: Some(format!("{}/safetyrule/{name}", app.control_panel_arn)),
        name,
        asserted_controls: app
            .regions
            .values()
            .map(|r| r.routing_control_arn.clone())
            .collect(),
        rule_config: RuleConfig {
            kind: recovery::RuleType::Atleast,
            threshold: 1,
            inverted: false,
        },
        wait_period_ms: 5000,
    }
}

/// What is wrong with a rule of the document.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadRule(String);

/// A rule must name existing controls, and its threshold must be reachable.
fn check_rule(rule: &SafetyRule, by_arn: &HashSet<String>, at: &str) -> Result<(), BadRule> {
    if rule.name().is_empty() {
        return Err(BadRule(format!("{at}.name is empty")));
    }
    let lists: Vec<(&str, &Vec<String>)> = match rule {
        SafetyRule::Assertion {
            asserted_controls, ..
        } => vec![("asserted_controls", asserted_controls)],
        SafetyRule::Gating {
            gating_controls,
            target_controls,
            ..
        } => vec![
            ("gating_controls", gating_controls),
            ("target_controls", target_controls),
        ],
    };
    for (field, arns) in &lists {
        if arns.is_empty() {
            return Err(BadRule(format!("{at}.{field} is empty")));
        }
        for (j, arn) in arns.iter().enumerate() {
            if !by_arn.contains(arn) {
                return Err(BadRule(format!(
                    "{at}.{field}[{j}] = {arn:?}: not the ARN of a routing control in this document"
                )));
            }
        }
    }
    let (config, judged) = match rule {
        SafetyRule::Assertion {
            rule_config,
            asserted_controls,
            ..
        } => (rule_config, asserted_controls.len()),
        SafetyRule::Gating {
            rule_config,
            gating_controls,
            ..
        } => (rule_config, gating_controls.len()),
    };
    if config.kind == recovery::RuleType::Atleast
        && (config.threshold == 0 || config.threshold as usize > judged)
    {
        return Err(BadRule(format!(
            "{at}.rule_config.threshold = {}: an ATLEAST rule needs a threshold from 1 to the number of its controls ({judged})",
            config.threshold
        )));
    }
    Ok(())
}

/// The account ID in a control panel ARN (`arn:aws:route53-recovery-control::<account>:...`).
pub(crate) fn owner_of(panel_arn: &str) -> String {
    match panel_arn.split(':').nth(4) {
        Some(account) if account.len() >= 12 && !account.contains(char::is_whitespace) => {
            account.to_owned()
        }
        _ => FALLBACK_OWNER.to_owned(),
    }
}

/// Lower case, without a trailing dot.
pub fn normalize_host(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The host of an `http(s)://host[:port][/path]` URL.
fn url_host(url: &str) -> Option<RegionalHost> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split_once(']')?.0
    } else {
        authority.split(':').next()?
    };
    if host.is_empty() {
        return None;
    }
    Some(match host.parse::<IpAddr>() {
        Ok(ip) => RegionalHost::Ip(ip),
        Err(_) => RegionalHost::Name(normalize_host(host)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_topology_has_six_controls_and_rules() {
        let t = Topology::load(None).unwrap();
        assert_eq!(t.initial_states().len(), 6);
        assert_eq!(
            t.document()
                .apps
                .values()
                .map(|a| a.safety_rules.len())
                .sum::<usize>(),
            3
        );
        assert_eq!(t.app_for_host("Service1.Example.COM."), Some("service1"));
        assert_eq!(t.app_for_host("example.com"), None);
        let initial = t.initial_states();
        assert_eq!(
            initial.values().filter(|s| s.is_on()).count(),
            3,
            "one primary On per app"
        );
        assert_eq!(t.active_region("service1", &initial), Some("us-east-1"));
        assert_eq!(
            t.regional_host("service1", "us-west-2"),
            Some(&RegionalHost::Ip("127.0.2.2".parse().unwrap()))
        );
        assert_eq!(
            owner_of(&t.document().apps["service1"].control_panel_arn),
            "000000000000"
        );
    }

    #[test]
    fn apps_without_rules_get_the_default_rule() {
        let mut doc = local::default_document("127.0.0.1", 8600);
        for app in doc.apps.values_mut() {
            app.safety_rules.clear();
        }
        let t = Topology::from_document(doc, "test").unwrap();
        let names: Vec<&str> = t
            .document()
            .apps
            .values()
            .flat_map(|a| a.safety_rules.iter().map(|r| r.name()))
            .collect();
        assert_eq!(
            names,
            [
                "external-api-at-least-one-on",
                "service1-at-least-one-on",
                "service2-at-least-one-on"
            ]
        );
    }

    #[test]
    fn rules_must_name_known_controls() {
        let mut doc = local::default_document("127.0.0.1", 8600);
        if let SafetyRule::Assertion {
            asserted_controls, ..
        } = &mut doc.apps.get_mut("service1").unwrap().safety_rules[0]
        {
            asserted_controls.push("arn:aws:nope".into());
        }
        let e = Topology::from_document(doc, "t.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.json")
                && e.contains("apps.service1.safety_rules[0].asserted_controls[2]")
                && e.contains("arn:aws:nope"),
            "{e}"
        );
    }

    #[test]
    fn url_hosts() {
        assert_eq!(
            url_host("http://10.0.0.1:8080"),
            Some(RegionalHost::Ip("10.0.0.1".parse().unwrap()))
        );
        assert_eq!(
            url_host("https://[::1]:443/x"),
            Some(RegionalHost::Ip("::1".parse().unwrap()))
        );
        assert_eq!(
            url_host("https://Service1.US-East-1.example.com"),
            Some(RegionalHost::Name("service1.us-east-1.example.com".into()))
        );
        assert_eq!(url_host("http://:80"), None);
    }

    #[test]
    fn served_document_uses_our_ports() {
        let t = Topology::load(None).unwrap();
        let doc = t.served_document(endpoint_urls("http", "arc", 9000..));
        assert_eq!(doc.endpoints.len(), 5);
        assert_eq!(doc.endpoints[4].url, "http://arc:9004");
        assert!(!doc.apps["service1"].safety_rules.is_empty());
        let v6 = endpoint_urls("https", "::1", [1, 2, 3, 4, 5]);
        assert_eq!(v6[0].url, "https://[::1]:1");
        assert_eq!(v6[4].region, "ap-southeast-2");
    }

    #[test]
    fn a_teams_app_is_served_with_its_prefix_and_its_own_rule() {
        let mut doc = local::default_document("127.0.0.1", local::DEFAULT_API_PORT);
        let mut orders = doc.apps["service2"].clone();
        orders.prefix = Some("/api/orders".into());
        orders.hostname = "orders.example.com".into();
        orders.control_panel_name = "orders".into();
        orders.control_panel_arn = local::panel_arn("orders");
        orders.safety_rules.clear();
        for (region, entry) in orders.regions.iter_mut() {
            let role = if *region == orders.primary_region {
                "primary"
            } else {
                "secondary"
            };
            entry.routing_control_name = format!("orders-{role}-rc");
            entry.routing_control_arn = local::control_arn("orders", &entry.routing_control_name);
            entry.url = format!("http://orders-{region}:8080");
        }
        doc.apps.insert("orders".into(), orders);
        let t = Topology::from_document(doc, "test").unwrap();
        let served = t.served_document(endpoint_urls("http", "127.0.0.1", 9000..));
        assert_eq!(served.apps["orders"].prefix.as_deref(), Some("/api/orders"));
        assert_eq!(served.apps["orders"].safety_rules.len(), 1);
        assert_eq!(t.app_for_host("orders.example.com"), Some("orders"));
        let routed: Vec<String> = served.routed_apps().map(|(_, p, _)| p).collect();
        assert_eq!(routed, ["/api/orders", "/service1", "/service2"]);
    }
}
