//! The four kinds of resources as the config API sees them: where each lives in the catalog, what
//! messages call it, and the JSON shape it is answered with; and [`View`], the catalog at one
//! moment (lifecycle statuses depend on the time), with the lookups every operation shares.

use std::collections::BTreeMap;

use recovery::{RuleConfig, RuleType, SafetyRule};
use serde_json::{json, Value};

use super::protocol::ConfigError;
use super::Settings;
use crate::catalog::{Catalog, Cluster, Control, HasLife, Life, Panel, Rule, Status};

/// A kind of resource the API describes, lists, creates, updates and deletes.
pub trait Resource: HasLife + Clone + Sized + 'static {
    /// What messages call it: "Cluster", "Control panel".
    const WHAT: &'static str;
    fn all(catalog: &Catalog) -> &BTreeMap<String, Self>;
    fn all_mut(catalog: &mut Catalog) -> &mut BTreeMap<String, Self>;
    /// The resource's shape (`Cluster`, `ControlPanel`, ...).
    fn shape(&self, arn: &str, status: Status, view: &View<'_>) -> Value;
    /// The member that holds the shape in Create/Describe/Update answers.
    fn answer_key(&self) -> &'static str;
    /// The answer of Create, Describe and Update.
    fn answer(&self, arn: &str, status: Status, view: &View<'_>) -> Value {
        json!({ self.answer_key(): self.shape(arn, status, view) })
    }
    /// One item of its List answer.
    fn list_item(&self, arn: &str, status: Status, view: &View<'_>) -> Value {
        self.shape(arn, status, view)
    }
}

impl Resource for Cluster {
    const WHAT: &'static str = "Cluster";
    fn all(catalog: &Catalog) -> &BTreeMap<String, Self> {
        &catalog.clusters
    }
    fn all_mut(catalog: &mut Catalog) -> &mut BTreeMap<String, Self> {
        &mut catalog.clusters
    }
    fn answer_key(&self) -> &'static str {
        "Cluster"
    }
    fn shape(&self, arn: &str, status: Status, view: &View<'_>) -> Value {
        let endpoints: Vec<Value> = view
            .settings
            .endpoints
            .iter()
            .map(|e| json!({"Endpoint": e.url, "Region": e.region}))
            .collect();
        json!({
            "ClusterArn": arn,
            "ClusterEndpoints": endpoints,
            "Name": self.name,
            "Status": status.as_str(),
            "Owner": self.owner,
            "NetworkType": self.network_type,
        })
    }
}

impl Resource for Panel {
    const WHAT: &'static str = "Control panel";
    fn all(catalog: &Catalog) -> &BTreeMap<String, Self> {
        &catalog.panels
    }
    fn all_mut(catalog: &mut Catalog) -> &mut BTreeMap<String, Self> {
        &mut catalog.panels
    }
    fn answer_key(&self) -> &'static str {
        "ControlPanel"
    }
    fn shape(&self, arn: &str, status: Status, view: &View<'_>) -> Value {
        json!({
            "ClusterArn": self.cluster_arn,
            "ControlPanelArn": arn,
            "DefaultControlPanel": self.default,
            "Name": self.name,
            "RoutingControlCount": view.catalog.panel_control_count(arn),
            "Status": status.as_str(),
            "Owner": self.owner,
        })
    }
}

impl Resource for Control {
    const WHAT: &'static str = "Routing control";
    fn all(catalog: &Catalog) -> &BTreeMap<String, Self> {
        &catalog.controls
    }
    fn all_mut(catalog: &mut Catalog) -> &mut BTreeMap<String, Self> {
        &mut catalog.controls
    }
    fn answer_key(&self) -> &'static str {
        "RoutingControl"
    }
    fn shape(&self, arn: &str, status: Status, _view: &View<'_>) -> Value {
        json!({
            "ControlPanelArn": self.panel_arn,
            "Name": self.name,
            "RoutingControlArn": arn,
            "Status": status.as_str(),
            "Owner": self.owner,
        })
    }
}

impl Resource for Rule {
    const WHAT: &'static str = "Safety rule";
    fn all(catalog: &Catalog) -> &BTreeMap<String, Self> {
        &catalog.rules
    }
    fn all_mut(catalog: &mut Catalog) -> &mut BTreeMap<String, Self> {
        &mut catalog.rules
    }
    fn answer_key(&self) -> &'static str {
        match self.rule {
            SafetyRule::Assertion { .. } => "AssertionRule",
            SafetyRule::Gating { .. } => "GatingRule",
        }
    }
    fn list_item(&self, arn: &str, status: Status, view: &View<'_>) -> Value {
        let key = match self.rule {
            SafetyRule::Assertion { .. } => "ASSERTION",
            SafetyRule::Gating { .. } => "GATING",
        };
        json!({ key: self.shape(arn, status, view) })
    }
    fn shape(&self, arn: &str, status: Status, _view: &View<'_>) -> Value {
        let config = |c: &RuleConfig| {
            json!({
                "Inverted": c.inverted,
                "Threshold": c.threshold,
                "Type": match c.kind {
                    RuleType::Atleast => "ATLEAST",
                    RuleType::And => "AND",
                    RuleType::Or => "OR",
                },
            })
        };
        let mut shape = json!({
            "ControlPanelArn": self.panel_arn,
            "Name": self.rule.name(),
            "SafetyRuleArn": arn,
            "Status": status.as_str(),
            "Owner": self.owner,
        });
        let members = match &self.rule {
            SafetyRule::Assertion {
                asserted_controls,
                rule_config,
                wait_period_ms,
                ..
            } => json!({
                "AssertedControls": asserted_controls,
                "RuleConfig": config(rule_config),
                "WaitPeriodMs": wait_period_ms,
            }),
            SafetyRule::Gating {
                gating_controls,
                target_controls,
                rule_config,
                wait_period_ms,
                ..
            } => json!({
                "GatingControls": gating_controls,
                "RuleConfig": config(rule_config),
                "TargetControls": target_controls,
                "WaitPeriodMs": wait_period_ms,
            }),
        };
        if let (Some(shape), Value::Object(members)) = (shape.as_object_mut(), members) {
            shape.extend(members);
        }
        shape
    }
}

/// The catalog at one moment, and what every cluster answers.
pub struct View<'a> {
    pub catalog: &'a Catalog,
    pub settings: &'a Settings,
    pub now: u64,
    pub delay: u64,
}

impl<'a> View<'a> {
    /// A resource's status now; `None` once a deleted one is gone.
    pub fn status(&self, life: &Life) -> Option<Status> {
        life.status(self.now, self.delay)
    }

    /// A resource that is not gone, or ResourceNotFoundException.
    pub fn find<T: Resource>(&self, arn: &str) -> Result<(&'a T, Status), ConfigError> {
        T::all(self.catalog)
            .get(arn)
            .and_then(|x| self.status(x.life()).map(|s| (x, s)))
            .ok_or_else(|| ConfigError::NotFound(format!("{} {arn} not found", T::WHAT)))
    }

    /// The answer of Describe.
    pub fn describe<T: Resource>(&self, arn: &str) -> Result<Value, ConfigError> {
        let (x, status) = self.find::<T>(arn)?;
        Ok(x.answer(arn, status, self))
    }

    /// Any resource that is not gone.
    pub fn find_any(&self, arn: &str) -> Result<(), ConfigError> {
        let c = self.catalog;
        let life = (c.clusters.get(arn).map(HasLife::life))
            .or_else(|| c.panels.get(arn).map(HasLife::life))
            .or_else(|| c.controls.get(arn).map(HasLife::life))
            .or_else(|| c.rules.get(arn).map(HasLife::life));
        life.and_then(|l| self.status(l))
            .map(|_| ())
            .ok_or_else(|| ConfigError::NotFound(format!("Resource {arn} not found")))
    }
}

/// Refuses changes to what the topology defines.
pub fn writable(life: &Life, what: &str, arn: &str, source: &str) -> Result<(), ConfigError> {
    if life.is_topology() {
        return Err(ConfigError::Validation(format!(
            "{what} {arn} is defined by arc-local's topology ({source}) and cannot be changed or deleted through this API; change the topology file instead"
        )));
    }
    Ok(())
}

/// Refuses to act on a resource that is being deleted.
pub fn not_deleting(status: Status, what: &str, arn: &str) -> Result<(), ConfigError> {
    if status == Status::PendingDeletion {
        return Err(ConfigError::Conflict(format!(
            "{what} {arn} is being deleted (PENDING_DELETION)"
        )));
    }
    Ok(())
}
