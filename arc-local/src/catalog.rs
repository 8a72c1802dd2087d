//! The ARC resources arc-local serves: clusters, control panels, routing controls and safety
//! rules, whether they come from the topology (read-only) or were created through the
//! recovery-control-config API (persisted in the state file).
//!
//! The data plane, the safety rules and the config API all read this one catalog; the topology
//! keeps what only DNS needs (hostnames, regional URLs). A catalog is immutable once published:
//! every config change builds a new one (see `state::Store::configure`).
//! Each resource has a lifecycle ([`crate::lifecycle`]).

use std::collections::BTreeMap;

use recovery::SafetyRule;
use serde::{Deserialize, Serialize};

pub use crate::lifecycle::{HasLife, Life, Origin, Status};
use crate::topology::Topology;

/// The name AWS gives the control panel every cluster is created with.
pub const DEFAULT_PANEL_NAME: &str = "DefaultControlPanel";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    pub name: String,
    pub owner: String,
    pub network_type: String,
    #[serde(flatten)]
    pub life: Life,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Panel {
    pub name: String,
    pub cluster_arn: String,
    pub owner: String,
    /// The panel a cluster is created with; routing controls created without a panel go there.
    #[serde(default)]
    pub default: bool,
    #[serde(flatten)]
    pub life: Life,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    pub name: String,
    pub panel_arn: String,
    pub owner: String,
    /// The app and region of a topology control; `None` for controls created through the API.
    #[serde(skip)]
    pub app: Option<String>,
    #[serde(skip)]
    pub region: Option<String>,
    #[serde(flatten)]
    pub life: Life,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub panel_arn: String,
    pub owner: String,
    /// The rule itself. Topology rules may have no ARN (`rule.arn()` is `None`); the catalog then
    /// lists them under `<panel ARN>/safetyrule/<name>`.
    pub rule: SafetyRule,
    #[serde(flatten)]
    pub life: Life,
}

impl Rule {
    /// Every routing control the rule names.
    pub fn controls(&self) -> impl Iterator<Item = &String> {
        let (a, b): (&[String], &[String]) = match &self.rule {
            SafetyRule::Assertion {
                asserted_controls, ..
            } => (asserted_controls, &[]),
            SafetyRule::Gating {
                gating_controls,
                target_controls,
                ..
            } => (gating_controls, target_controls),
        };
        a.iter().chain(b)
    }
}

crate::lifecycle::has_life!(Cluster, Panel, Control, Rule);

/// Every resource, keyed by ARN, and the tags of any of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalog {
    pub clusters: BTreeMap<String, Cluster>,
    pub panels: BTreeMap<String, Panel>,
    pub controls: BTreeMap<String, Control>,
    pub rules: BTreeMap<String, Rule>,
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
}

/// The part of the catalog the state file holds: what the API created, and every tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Persisted {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clusters: BTreeMap<String, Cluster>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub control_panels: BTreeMap<String, Panel>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routing_controls: BTreeMap<String, Control>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub safety_rules: BTreeMap<String, Rule>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
}

impl Persisted {
    pub fn is_empty(&self) -> bool {
        self == &Persisted::default()
    }
}

/// One routing control as the data plane answers it.
#[derive(Clone, Copy, Debug)]
pub struct ControlRef<'a> {
    pub arn: &'a str,
    pub control: &'a Control,
    pub panel_name: &'a str,
}

impl Catalog {
    /// The topology's cluster, control panels, routing controls and safety rules, read-only.
    pub fn from_topology(topology: &Topology) -> Catalog {
        let doc = topology.document();
        let mut catalog = Catalog::default();
        let cluster_owner = crate::topology::owner_of(&doc.cluster_arn);
        let cluster_name = doc
            .cluster_arn
            .rsplit_once(":cluster/")
            .map_or(doc.cluster_arn.as_str(), |(_, id)| id)
            .to_owned();
        catalog.clusters.insert(
            doc.cluster_arn.clone(),
            Cluster {
                name: cluster_name,
                owner: cluster_owner,
                network_type: "IPV4".into(),
                life: Life::topology(),
            },
        );
        for (app_name, app) in &doc.apps {
            let owner = crate::topology::owner_of(&app.control_panel_arn);
            catalog
                .panels
                .entry(app.control_panel_arn.clone())
                .or_insert_with(|| Panel {
                    name: app.control_panel_name.clone(),
                    cluster_arn: doc.cluster_arn.clone(),
                    owner: owner.clone(),
                    default: false,
                    life: Life::topology(),
                });
            for (region, entry) in &app.regions {
                catalog.controls.insert(
                    entry.routing_control_arn.clone(),
                    Control {
                        name: entry.routing_control_name.clone(),
                        panel_arn: app.control_panel_arn.clone(),
                        owner: owner.clone(),
                        app: Some(app_name.clone()),
                        region: Some(region.clone()),
                        life: Life::topology(),
                    },
                );
            }
            for rule in &app.safety_rules {
                let arn = rule.arn().map_or_else(
                    || format!("{}/safetyrule/{}", app.control_panel_arn, rule.name()),
                    str::to_owned,
                );
                catalog.rules.insert(
                    arn,
                    Rule {
                        panel_arn: app.control_panel_arn.clone(),
                        owner: owner.clone(),
                        rule: rule.clone(),
                        life: Life::topology(),
                    },
                );
            }
        }
        catalog
    }

    /// Adds what the state file holds. Entries whose ARN the topology already has, and entries
    /// whose parents or routing controls are missing, are left out; their ARNs are returned.
    pub fn merge(&mut self, persisted: Persisted) -> Vec<String> {
        fn add<T: HasLife>(
            map: &mut BTreeMap<String, T>,
            items: BTreeMap<String, T>,
            dropped: &mut Vec<String>,
        ) {
            for (arn, mut item) in items {
                match map.entry(arn) {
                    std::collections::btree_map::Entry::Occupied(e) => {
                        dropped.push(e.key().clone())
                    }
                    std::collections::btree_map::Entry::Vacant(e) => {
                        item.life_mut().origin = Origin::Api;
                        e.insert(item);
                    }
                }
            }
        }
        let mut dropped = Vec::new();
        add(&mut self.clusters, persisted.clusters, &mut dropped);
        add(&mut self.panels, persisted.control_panels, &mut dropped);
        add(&mut self.controls, persisted.routing_controls, &mut dropped);
        add(&mut self.rules, persisted.safety_rules, &mut dropped);
        self.tags = persisted.tags;
        dropped.extend(self.prune_dangling());
        dropped
    }

    /// Removes API resources whose cluster, control panel or routing controls are missing (a
    /// topology that changed between runs), and tags of unknown ARNs. Returns the removed ARNs.
    fn prune_dangling(&mut self) -> Vec<String> {
        let api = |life: &Life| !life.is_topology();
        let mut removed = remove_where(&mut self.panels, |p| {
            api(&p.life) && !self.clusters.contains_key(&p.cluster_arn)
        });
        removed.extend(remove_where(&mut self.controls, |c| {
            api(&c.life) && !self.panels.contains_key(&c.panel_arn)
        }));
        removed.extend(remove_where(&mut self.rules, |r| {
            api(&r.life)
                && (!self.panels.contains_key(&r.panel_arn)
                    || r.controls().any(|c| !self.controls.contains_key(c)))
        }));
        self.drop_unknown_tags();
        removed
    }

    /// Drops the tags of ARNs no resource has.
    fn drop_unknown_tags(&mut self) {
        let unknown: Vec<String> = self
            .tags
            .keys()
            .filter(|arn| !self.exists(arn))
            .cloned()
            .collect();
        for arn in unknown {
            self.tags.remove(&arn);
        }
    }

    /// Whether any resource (live or being deleted) has this ARN.
    pub fn exists(&self, arn: &str) -> bool {
        self.clusters.contains_key(arn)
            || self.panels.contains_key(arn)
            || self.controls.contains_key(arn)
            || self.rules.contains_key(arn)
    }

    /// What the state file keeps: the API's resources and every tag.
    pub fn persisted(&self) -> Persisted {
        fn api<T: Clone + HasLife>(map: &BTreeMap<String, T>) -> BTreeMap<String, T> {
            map.iter()
                .filter(|(_, v)| !v.life().is_topology())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }
        Persisted {
            clusters: api(&self.clusters),
            control_panels: api(&self.panels),
            routing_controls: api(&self.controls),
            safety_rules: api(&self.rules),
            tags: self.tags.clone(),
        }
    }

    /// Drops the resources whose deletion finished before `now_ms` (and their tags). Returns
    /// whether anything was dropped.
    pub fn purge(&mut self, now_ms: u64, delay_ms: u64) -> bool {
        let gone = |life: &Life| life.status(now_ms, delay_ms).is_none();
        let tags = self.tags.len();
        let dropped = [
            remove_where(&mut self.clusters, |x| gone(&x.life)),
            remove_where(&mut self.panels, |x| gone(&x.life)),
            remove_where(&mut self.controls, |x| gone(&x.life)),
            remove_where(&mut self.rules, |x| gone(&x.life)),
        ];
        self.drop_unknown_tags();
        dropped.iter().any(|d| !d.is_empty()) || self.tags.len() != tags
    }

    // ---- the data plane's view: live resources only ----

    /// A live routing control.
    pub fn control(&self, arn: &str) -> Option<ControlRef<'_>> {
        let (arn, control) = self.controls.get_key_value(arn)?;
        control.life.live().then(|| ControlRef {
            arn,
            control,
            panel_name: self.panel_name(&control.panel_arn),
        })
    }

    /// The name of a control panel (its ARN if unknown).
    pub fn panel_name<'a>(&'a self, arn: &'a str) -> &'a str {
        self.panels.get(arn).map_or(arn, |p| p.name.as_str())
    }

    /// The name of a routing control (its ARN if unknown), for messages.
    pub fn control_name<'a>(&'a self, arn: &'a str) -> &'a str {
        self.controls.get(arn).map_or(arn, |c| c.name.as_str())
    }

    /// Whether a live control panel has this ARN.
    pub fn has_panel(&self, arn: &str) -> bool {
        self.panels.get(arn).is_some_and(|p| p.life.live())
    }

    /// Every live routing control, ordered by control panel ARN then control ARN (the order of the
    /// data plane's ListRoutingControls).
    pub fn live_controls(&self) -> Vec<ControlRef<'_>> {
        let mut out: Vec<ControlRef<'_>> = self
            .controls
            .iter()
            .filter(|(_, c)| c.life.live())
            .map(|(arn, control)| ControlRef {
                arn,
                control,
                panel_name: self.panel_name(&control.panel_arn),
            })
            .collect();
        out.sort_by(|a, b| (&a.control.panel_arn, a.arn).cmp(&(&b.control.panel_arn, b.arn)));
        out
    }

    /// Every live safety rule, with the ARN it is listed under.
    pub fn live_rules(&self) -> impl Iterator<Item = (&str, &Rule)> {
        self.rules
            .iter()
            .filter(|(_, r)| r.life.live())
            .map(|(arn, r)| (arn.as_str(), r))
    }

    /// Live routing controls of a control panel.
    pub fn panel_control_count(&self, panel_arn: &str) -> usize {
        self.controls
            .values()
            .filter(|c| c.life.live() && c.panel_arn == panel_arn)
            .count()
    }

    /// The live default control panel of a cluster.
    pub fn default_panel(&self, cluster_arn: &str) -> Option<&str> {
        self.panels
            .iter()
            .find(|(_, p)| p.default && p.life.live() && p.cluster_arn == cluster_arn)
            .map(|(arn, _)| arn.as_str())
    }
}

/// Removes the entries of `map` that `gone` selects; returns their keys.
fn remove_where<T>(map: &mut BTreeMap<String, T>, gone: impl Fn(&T) -> bool) -> Vec<String> {
    let keys: Vec<String> = map
        .iter()
        .filter(|(_, x)| gone(x))
        .map(|(k, _)| k.clone())
        .collect();
    for k in &keys {
        map.remove(k);
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_topology_as_a_catalog() {
        let t = Topology::load(None).unwrap();
        let c = Catalog::from_topology(&t);
        assert_eq!(c.clusters.len(), 1);
        let (arn, cluster) = c.clusters.iter().next().unwrap();
        assert!(arn.ends_with(":cluster/arc-local"), "{arn}");
        assert_eq!(cluster.name, "arc-local");
        assert_eq!(c.panels.len(), 3);
        assert_eq!(c.live_controls().len(), 6);
        assert_eq!(c.live_rules().count(), 3);
        let first = c.live_controls()[0];
        assert_eq!(first.panel_name, "external-api");
        assert_eq!(first.control.app.as_deref(), Some("external-api"));
        assert!(
            c.persisted().is_empty(),
            "topology resources are not persisted"
        );
        assert_eq!(
            first.control.life.status(0, 1000),
            Some(Status::Deployed),
            "topology resources are always deployed"
        );
    }

    #[test]
    fn merge_keeps_api_resources_and_drops_dangling_ones() {
        let t = Topology::load(None).unwrap();
        let mut c = Catalog::from_topology(&t);
        let panel = "arn:aws:route53-recovery-control::000000000000:controlpanel/p1".to_owned();
        let mut persisted = Persisted::default();
        persisted.routing_controls.insert(
            format!("{panel}/routingcontrol/rc1"),
            Control {
                name: "rc1".into(),
                panel_arn: panel.clone(),
                owner: "000000000000".into(),
                app: None,
                region: None,
                life: Life::api(1, None),
            },
        );
        // The control's panel is missing: it is dropped.
        let dropped = c.merge(persisted.clone());
        assert_eq!(dropped, [format!("{panel}/routingcontrol/rc1")]);
        // With its panel (in the topology's cluster) it stays, and is persisted again.
        let cluster = c.clusters.keys().next().unwrap().clone();
        persisted.control_panels.insert(
            panel.clone(),
            Panel {
                name: "p1".into(),
                cluster_arn: cluster,
                owner: "000000000000".into(),
                default: false,
                life: Life::api(1, None),
            },
        );
        let mut c = Catalog::from_topology(&t);
        assert!(c.merge(persisted.clone()).is_empty());
        assert_eq!(c.live_controls().len(), 7);
        assert_eq!(c.persisted(), persisted);
        assert_eq!(c.panel_control_count(&panel), 1);
    }
}
