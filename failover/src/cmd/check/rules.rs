//! Whether a control panel's safety rules, as the cluster document lists them, would let
//! `activate <app> <region>` through on the cluster's current states: assertion rules are
//! evaluated on the states the change would produce, gating rules on the current states of their
//! gating controls (ARC's own semantics; arc-local enforces the same).

use std::collections::BTreeMap;

use recovery::{AppEntry, ControlState, SafetyRule};

/// One rule's verdict on the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub rule: String,
    pub passes: bool,
    /// What the rule saw: `1 of 2 asserted controls On after the change`.
    pub reading: String,
}

/// The entries `activate` sends for `app` to `region`: that control On, the app's others Off.
pub fn activate_entries(app: &AppEntry, region: &str) -> Vec<(String, ControlState)> {
    app.regions
        .iter()
        .map(|(r, e)| {
            let state = if r == region {
                ControlState::On
            } else {
                ControlState::Off
            };
            (e.routing_control_arn.clone(), state)
        })
        .collect()
}

/// The verdict of each of `app`'s rules on `change` applied to `states` (routing-control ARN to
/// state; a control missing from it counts as Off).
pub fn evaluate(
    app: &AppEntry,
    states: &BTreeMap<String, ControlState>,
    change: &[(String, ControlState)],
) -> Vec<Verdict> {
    let mut after = states.clone();
    for (arn, state) in change {
        after.insert(arn.clone(), *state);
    }
    let on = |map: &BTreeMap<String, ControlState>, arns: &[String]| {
        arns.iter()
            .filter(|a| map.get(*a).is_some_and(|s| s.is_on()))
            .count()
    };
    let changed: Vec<&String> = change
        .iter()
        .filter(|(arn, state)| states.get(arn) != Some(state))
        .map(|(arn, _)| arn)
        .collect();
    app.safety_rules
        .iter()
        .filter_map(|rule| match rule {
            SafetyRule::Assertion {
                name,
                asserted_controls,
                rule_config,
                ..
            } => {
                let n = on(&after, asserted_controls);
                Some(Verdict {
                    rule: name.clone(),
                    passes: rule_config.holds(n, asserted_controls.len()),
                    reading: format!(
                        "{n} of {} asserted controls On after the change",
                        asserted_controls.len()
                    ),
                })
            }
            SafetyRule::Gating {
                name,
                gating_controls,
                target_controls,
                rule_config,
                ..
            } => {
                if !changed.iter().any(|a| target_controls.contains(a)) {
                    return None;
                }
                let n = on(states, gating_controls);
                Some(Verdict {
                    rule: name.clone(),
                    passes: rule_config.holds(n, gating_controls.len()),
                    reading: format!("{n} of {} gating controls On", gating_controls.len()),
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use recovery::local::default_document;
    use recovery::{RuleConfig, RuleType};

    #[test]
    fn the_default_rule_passes_activate_and_a_gate_can_block_it() {
        let doc = default_document("127.0.0.1", 8600);
        let app = &doc.apps["service1"];
        let east = app.regions["us-east-1"].routing_control_arn.clone();
        let west = app.regions["us-west-2"].routing_control_arn.clone();
        let states = BTreeMap::from([
            (east.clone(), ControlState::On),
            (west.clone(), ControlState::Off),
        ]);
        let change = activate_entries(app, "us-west-2");
        assert_eq!(
            change,
            vec![
                (east.clone(), ControlState::Off),
                (west.clone(), ControlState::On)
            ]
        );
        let v = evaluate(app, &states, &change);
        assert_eq!(v.len(), 1);
        assert!(v[0].passes, "{v:?}");
        assert_eq!(v[0].reading, "1 of 2 asserted controls On after the change");

        // A gate on an Off control: moving to us-west-2 is blocked.
        let mut gated = app.clone();
        gated.safety_rules = vec![SafetyRule::Gating {
            name: "change-window".into(),
            arn: None,
            gating_controls: vec![
                "arn:aws:route53-recovery-control::0:controlpanel/x/routingcontrol/window".into(),
            ],
            target_controls: vec![east.clone(), west.clone()],
            rule_config: RuleConfig {
                kind: RuleType::Atleast,
                threshold: 1,
                inverted: false,
            },
            wait_period_ms: 0,
        }];
        let v = evaluate(&gated, &states, &change);
        assert_eq!(
            v,
            vec![Verdict {
                rule: "change-window".into(),
                passes: false,
                reading: "0 of 1 gating controls On".into()
            }]
        );
        // Nothing changes (already active there): the gate is not consulted.
        assert!(evaluate(&gated, &states, &activate_entries(app, "us-east-1")).is_empty());
    }
}
