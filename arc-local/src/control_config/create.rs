//! The Create operations: CreateCluster (with its default control panel), CreateControlPanel,
//! CreateRoutingControl (in the cluster's default control panel when none is named) and
//! CreateSafetyRule (assertion or gating). Each checks its request, then creates the resource
//! PENDING, or answers again what an earlier request with the same ClientToken created.

use recovery::SafetyRule;

use super::edit::{short_id, Changed, Edit};
use super::input::{finish, Input};
use super::protocol::ConfigError;
use super::safety_rule;
use crate::catalog::{Cluster, Control, Panel, Rule, DEFAULT_PANEL_NAME};
use crate::wire::Checks;

/// The model's `NetworkType` values.
pub const NETWORK_TYPES: &[&str] = &["IPV4", "DUALSTACK"];

/// CreateCluster.
pub fn cluster(edit: &mut Edit<'_>, body: &Input<'_>) -> Changed {
    let mut checks = Checks::default();
    let token = body.client_token(&mut checks)?;
    let name = body.name("ClusterName", true, &mut checks)?;
    let tags = body.tags("Tags", &mut checks)?;
    let network = body.choice("NetworkType", false, NETWORK_TYPES, &mut checks)?;
    finish(checks)?;
    let name = name.expect("checked");
    let same = |c: &Cluster| c.name == name;
    edit.create(token.as_deref(), tags, same, |edit, life| {
        let arn = edit.new_arn("cluster");
        let owner = edit.settings.account.clone();
        // Every cluster comes with a default control panel.
        let panel_arn = edit.new_arn("controlpanel");
        edit.catalog.panels.insert(
            panel_arn,
            Panel {
                name: DEFAULT_PANEL_NAME.into(),
                cluster_arn: arn.clone(),
                owner: owner.clone(),
                default: true,
                life: crate::catalog::Life::api(edit.now, None),
            },
        );
        let cluster = Cluster {
            name: name.clone(),
            owner,
            network_type: network.unwrap_or("IPV4").to_owned(),
            life,
        };
        (arn, cluster)
    })
}

/// CreateControlPanel.
pub fn panel(edit: &mut Edit<'_>, body: &Input<'_>) -> Changed {
    let mut checks = Checks::default();
    let token = body.client_token(&mut checks)?;
    let cluster = body.arn("ClusterArn", true, &mut checks)?;
    let name = body.name("ControlPanelName", true, &mut checks)?;
    let tags = body.tags("Tags", &mut checks)?;
    finish(checks)?;
    let (cluster, name) = (cluster.expect("checked"), name.expect("checked"));
    edit.live_cluster(&cluster)?;
    let same = |p: &Panel| p.name == name && p.cluster_arn == cluster;
    edit.create(token.as_deref(), tags, same, |edit, life| {
        let panel = Panel {
            name: name.clone(),
            cluster_arn: cluster.clone(),
            owner: edit.settings.account.clone(),
            default: false,
            life,
        };
        (edit.new_arn("controlpanel"), panel)
    })
}

/// CreateRoutingControl.
pub fn control(edit: &mut Edit<'_>, body: &Input<'_>) -> Changed {
    let mut checks = Checks::default();
    let token = body.client_token(&mut checks)?;
    let cluster = body.arn("ClusterArn", true, &mut checks)?;
    let panel = body.arn("ControlPanelArn", false, &mut checks)?;
    let name = body.name("RoutingControlName", true, &mut checks)?;
    finish(checks)?;
    let (cluster, name) = (cluster.expect("checked"), name.expect("checked"));
    edit.live_cluster(&cluster)?;
    let panel = match panel {
        Some(panel) => {
            let p = edit.live_panel(&panel)?;
            if p.cluster_arn != cluster {
                return Err(ConfigError::Validation(format!(
                    "Control panel {panel} belongs to cluster {}, not {cluster}",
                    p.cluster_arn
                )));
            }
            panel
        }
        None => edit
            .catalog
            .default_panel(&cluster)
            .map(str::to_owned)
            .ok_or_else(|| {
                ConfigError::Validation(format!(
                    "Cluster {cluster} has no default control panel (it comes from arc-local's topology): pass ControlPanelArn"
                ))
            })?,
    };
    let same = |c: &Control| c.name == name && c.panel_arn == panel;
    edit.create(token.as_deref(), None, same, |edit, life| {
        let control = Control {
            name: name.clone(),
            panel_arn: panel.clone(),
            owner: edit.settings.account.clone(),
            app: None,
            region: None,
            life,
        };
        (format!("{panel}/routingcontrol/{}", short_id()), control)
    })
}

/// CreateSafetyRule: an `AssertionRule` or a `GatingRule`.
pub fn rule(edit: &mut Edit<'_>, body: &Input<'_>) -> Changed {
    let mut checks = Checks::default();
    let token = body.client_token(&mut checks)?;
    let tags = body.tags("Tags", &mut checks)?;
    let (rule, is_gating) = safety_rule::variant(body, "AssertionRule", "GatingRule")?;
    let panel = rule.arn("ControlPanelArn", true, &mut checks)?;
    let name = rule.name("Name", true, &mut checks)?;
    let wait = rule.int("WaitPeriodMs", true, &mut checks)?;
    let (first, second) = if is_gating {
        (
            rule.arn_list("GatingControls", &mut checks)?,
            rule.arn_list("TargetControls", &mut checks)?,
        )
    } else {
        (rule.arn_list("AssertedControls", &mut checks)?, None)
    };
    let config = safety_rule::rule_config(&rule, &mut checks)?;
    safety_rule::check_wait(&rule, wait, &mut checks);
    finish(checks)?;
    let (panel, name, wait) = (
        panel.expect("checked"),
        name.expect("checked"),
        wait.expect("checked") as u64,
    );
    let (config, first) = (config.expect("checked"), first.expect("checked"));
    let owner = edit.live_panel(&panel)?.owner.clone();
    let lists: Vec<(&str, &[String])> = if is_gating {
        let second = second.as_deref().expect("checked");
        vec![("GatingControls", &first), ("TargetControls", second)]
    } else {
        vec![("AssertedControls", &first)]
    };
    for (member, arns) in lists {
        safety_rule::check_controls(edit.catalog, &rule.path(member), &panel, arns)?;
    }
    safety_rule::check_threshold(&rule, &config, first.len(), is_gating)?;
    let same = |r: &Rule| r.rule.name() == name && r.panel_arn == panel;
    edit.create(token.as_deref(), tags, same, |_, life| {
        let arn = format!("{panel}/safetyrule/{}", short_id());
        let rule = if is_gating {
            SafetyRule::Gating {
                name: name.clone(),
                arn: Some(arn.clone()),
                gating_controls: first,
                target_controls: second.expect("checked"),
                rule_config: config,
                wait_period_ms: wait,
            }
        } else {
            SafetyRule::Assertion {
                name: name.clone(),
                arn: Some(arn.clone()),
                asserted_controls: first,
                rule_config: config,
                wait_period_ms: wait,
            }
        };
        let rule = Rule {
            panel_arn: panel.clone(),
            owner,
            rule,
            life,
        };
        (arn, rule)
    })
}
