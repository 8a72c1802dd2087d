//! Changing and deleting what the API created: the Update operations (a cluster's network type,
//! a control panel's or routing control's name, a safety rule's name and wait period), the Delete
//! operations with the refusals AWS gives (anything still in the way is a ConflictException),
//! and TagResource / UntagResource.

use recovery::SafetyRule;

use super::create::NETWORK_TYPES;
use super::edit::{in_the_way, live_arns, Changed, Edit};
use super::input::{finish, Input};
use super::protocol::ConfigError;
use super::safety_rule;
use crate::catalog::{Cluster, Control, Panel, Rule};
use crate::wire::Checks;

/// UpdateCluster: the network type.
pub fn cluster(edit: &mut Edit<'_>, body: &Input<'_>) -> Changed {
    let mut checks = Checks::default();
    let arn = body.arn("ClusterArn", true, &mut checks)?;
    let network = body.choice("NetworkType", true, NETWORK_TYPES, &mut checks)?;
    finish(checks)?;
    edit.update::<Cluster>(arn.expect("checked"), |c| {
        c.network_type = network.expect("checked").to_owned();
        Ok(())
    })
}

/// UpdateControlPanel: the name.
pub fn panel(edit: &mut Edit<'_>, body: &Input<'_>) -> Changed {
    let mut checks = Checks::default();
    let arn = body.arn("ControlPanelArn", true, &mut checks)?;
    let name = body.name("ControlPanelName", true, &mut checks)?;
    finish(checks)?;
    edit.update::<Panel>(arn.expect("checked"), |p| {
        p.name = name.expect("checked");
        Ok(())
    })
}

/// UpdateRoutingControl: the name.
pub fn control(edit: &mut Edit<'_>, body: &Input<'_>) -> Changed {
    let mut checks = Checks::default();
    let arn = body.arn("RoutingControlArn", true, &mut checks)?;
    let name = body.name("RoutingControlName", true, &mut checks)?;
    finish(checks)?;
    edit.update::<Control>(arn.expect("checked"), |c| {
        c.name = name.expect("checked");
        Ok(())
    })
}

/// UpdateSafetyRule: the name and wait period, through the update object of the rule's kind.
pub fn rule(edit: &mut Edit<'_>, body: &Input<'_>) -> Changed {
    let mut checks = Checks::default();
    let (update, is_gating) =
        safety_rule::variant(body, "AssertionRuleUpdate", "GatingRuleUpdate")?;
    let arn = update.arn("SafetyRuleArn", true, &mut checks)?;
    // The model requires Name and WaitPeriodMs; a missing one is left as it is.
    let name = update.name("Name", false, &mut checks)?;
    let wait = update.int("WaitPeriodMs", false, &mut checks)?;
    safety_rule::check_wait(&update, wait, &mut checks);
    finish(checks)?;
    let arn = arn.expect("checked");
    let refused = arn.clone();
    edit.update::<Rule>(arn, |r| {
        let (n, w, actual_gating) = match &mut r.rule {
            SafetyRule::Assertion {
                name,
                wait_period_ms,
                ..
            } => (name, wait_period_ms, false),
            SafetyRule::Gating {
                name,
                wait_period_ms,
                ..
            } => (name, wait_period_ms, true),
        };
        if actual_gating != is_gating {
            let (is, with) = if actual_gating {
                ("a gating rule", "GatingRuleUpdate")
            } else {
                ("an assertion rule", "AssertionRuleUpdate")
            };
            return Err(ConfigError::Validation(format!(
                "Safety rule {refused} is {is}: update it with {with}"
            )));
        }
        if let Some(name) = name {
            *n = name;
        }
        if let Some(wait) = wait {
            *w = wait as u64;
        }
        Ok(())
    })
}

/// DeleteCluster: refused while it has control panels besides its default one, or routing
/// controls; its default control panel goes with it.
pub fn delete_cluster(edit: &mut Edit<'_>, arn: String) -> Changed {
    let panels: Vec<String> = live_arns(&edit.catalog.panels, |p: &Panel| p.cluster_arn == arn)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let deleted = edit.delete::<Cluster>(arn.clone(), |catalog, _| {
        let others: Vec<&str> = panels
            .iter()
            .map(String::as_str)
            .filter(|p| !catalog.panels[*p].default)
            .collect();
        in_the_way("Cluster", &arn, "still has control panels", &others)?;
        let controls = live_arns(&catalog.controls, |c: &Control| {
            panels.contains(&c.panel_arn)
        });
        in_the_way("Cluster", &arn, "still has routing controls", &controls)
    })?;
    for panel in &panels {
        edit.mark_deleted::<Panel>(panel);
    }
    Ok(deleted)
}

/// DeleteControlPanel: refused for a cluster's default control panel, and while it has routing
/// controls or safety rules.
pub fn delete_panel(edit: &mut Edit<'_>, arn: String) -> Changed {
    let what = "Control panel";
    edit.delete::<Panel>(arn.clone(), |catalog, p| {
        if p.default {
            return Err(ConfigError::Validation(format!(
                "{what} {arn} is the default control panel of cluster {}: it is deleted with the cluster",
                p.cluster_arn
            )));
        }
        let controls = live_arns(&catalog.controls, |c: &Control| c.panel_arn == arn);
        in_the_way(what, &arn, "still has routing controls", &controls)?;
        let rules = live_arns(&catalog.rules, |r: &Rule| r.panel_arn == arn);
        in_the_way(what, &arn, "still has safety rules", &rules)
    })
}

/// DeleteRoutingControl: refused while a safety rule names it.
pub fn delete_control(edit: &mut Edit<'_>, arn: String) -> Changed {
    edit.delete::<Control>(arn.clone(), |catalog, _| {
        let rules = live_arns(&catalog.rules, |r: &Rule| r.controls().any(|c| *c == arn));
        in_the_way("Routing control", &arn, "is used by safety rules", &rules)
    })
}

/// TagResource: adds tags (or replaces their values) on any resource.
pub fn tag(edit: &mut Edit<'_>, arn: String, body: &Input<'_>) -> Changed {
    let mut checks = Checks::default();
    let tags = body.tags("Tags", &mut checks)?;
    if tags.is_none() {
        checks.fail("Tags", None, "Member must not be null");
    }
    finish(checks)?;
    edit.view().find_any(&arn)?;
    edit.set_tags(&arn, tags);
    Ok((serde_json::json!({}), arn))
}

/// UntagResource: removes the `TagKeys` of the query.
pub fn untag(edit: &mut Edit<'_>, arn: String, query: &[(String, String)]) -> Changed {
    let keys: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "TagKeys")
        .map(|(_, v)| v.as_str())
        .collect();
    if keys.is_empty() {
        return Err(ConfigError::Validation(
            "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null".into(),
        ));
    }
    edit.view().find_any(&arn)?;
    if let Some(tags) = edit.catalog.tags.get_mut(&arn) {
        for k in keys {
            tags.remove(k);
        }
        if tags.is_empty() {
            edit.catalog.tags.remove(&arn);
        }
    }
    Ok((serde_json::json!({}), arn))
}
