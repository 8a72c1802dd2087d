//! Safety-rule evaluation: whether a batch of routing-control changes may be applied.
//!
//! - Assertion rules are judged on the state the whole batch would produce, and only when the batch
//!   changes one of their asserted controls (a rule already broken by an earlier override does not
//!   block unrelated changes).
//! - Gating rules: a batch that changes one of the target controls is allowed only while the gating
//!   controls, as they are before the batch, satisfy the rule config.
//! - A rule whose ARN or name is in `SafetyRulesToOverride` is skipped.
//! - Wait periods (`wait_period_ms`) are not enforced: arc-local applies changes at once.
//!
//! A blocked batch changes nothing; the caller reports every rule that blocked it.
//!
//! The rules are those of the catalog: the topology's and those created through the
//! recovery-control-config API, except rules being deleted.

use std::collections::BTreeMap;

use recovery::{ControlState, RuleConfig, RuleType, SafetyRule};

use crate::catalog::Catalog;

/// A safety rule that blocks a change, and why, in words for the ConflictException message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub rule_name: String,
    pub rule_arn: Option<String>,
    pub message: String,
}

/// Every rule that blocks going from `before` to `after`, in catalog (rule ARN) order; empty when
/// allowed.
pub fn violations(
    catalog: &Catalog,
    before: &BTreeMap<String, ControlState>,
    after: &BTreeMap<String, ControlState>,
    overrides: &[String],
) -> Vec<Violation> {
    let changed = |arn: &String| before.get(arn) != after.get(arn);
    let on = |states: &BTreeMap<String, ControlState>, arns: &[String]| {
        arns.iter()
            .filter(|a| states.get(*a).is_some_and(|s| s.is_on()))
            .count()
    };
    let mut found = Vec::new();
    for rule in catalog.live_rules().map(|(_, r)| &r.rule) {
        let overridden = overrides
            .iter()
            .any(|o| o == rule.name() || Some(o.as_str()) == rule.arn());
        if overridden {
            continue;
        }
        let title = match rule.arn() {
            Some(arn) => format!("Safety rule {} ({arn})", rule.name()),
            None => format!("Safety rule {}", rule.name()),
        };
        let how_to_force = format!(
            "to force the change, pass {} in SafetyRulesToOverride",
            rule.arn().unwrap_or(rule.name())
        );
        match rule {
            SafetyRule::Assertion {
                asserted_controls,
                rule_config,
                ..
            } => {
                if !asserted_controls.iter().any(changed) {
                    continue;
                }
                let total = asserted_controls.len();
                let left = on(after, asserted_controls);
                if !rule_config.holds(left, total) {
                    found.push(Violation {
                        rule_name: rule.name().to_owned(),
                        rule_arn: rule.arn().map(str::to_owned),
                        message: format!(
                            "{title} blocks this change: it asserts {} and the change leaves {left} On ({how_to_force})",
                            describe(rule_config, total)
                        ),
                    });
                }
            }
            SafetyRule::Gating {
                gating_controls,
                target_controls,
                rule_config,
                ..
            } => {
                let targets: Vec<&str> = target_controls
                    .iter()
                    .filter(|a| changed(a))
                    .map(|a| catalog.control_name(a))
                    .collect();
                if targets.is_empty() {
                    continue;
                }
                let total = gating_controls.len();
                let gate_on = on(before, gating_controls);
                if !rule_config.holds(gate_on, total) {
                    let gates: Vec<&str> = gating_controls
                        .iter()
                        .map(|a| catalog.control_name(a))
                        .collect();
                    found.push(Violation {
                        rule_name: rule.name().to_owned(),
                        rule_arn: rule.arn().map(str::to_owned),
                        message: format!(
                            "{title} blocks this change: it lets {} change only while its gating controls ({}) satisfy {}, and {gate_on} are On ({how_to_force})",
                            targets.join(", "),
                            gates.join(", "),
                            describe(rule_config, total)
                        ),
                    });
                }
            }
        }
    }
    found
}

/// "ATLEAST 1 of 2 controls On", "AND (all 2 controls On)", "NOT OR (...)", in the API's terms.
fn describe(config: &RuleConfig, total: usize) -> String {
    let plain = match config.kind {
        RuleType::Atleast => format!("ATLEAST {} of {total} controls On", config.threshold),
        RuleType::And => format!("AND (all {total} controls On)"),
        RuleType::Or => format!("OR (at least 1 of {total} controls On)"),
    };
    if config.inverted {
        format!("NOT {plain}")
    } else {
        plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Topology;
    use recovery::local;
    use ControlState::{Off, On};

    fn catalog(t: &Topology) -> Catalog {
        Catalog::from_topology(t)
    }

    fn arn(app: &str, role: &str) -> String {
        local::control_arn(app, &format!("{app}-{role}-rc"))
    }

    fn with(
        states: &BTreeMap<String, ControlState>,
        changes: &[(String, ControlState)],
    ) -> BTreeMap<String, ControlState> {
        let mut s = states.clone();
        for (a, v) in changes {
            s.insert(a.clone(), *v);
        }
        s
    }

    #[test]
    fn assertion_rule_judges_the_whole_batch() {
        let t = Topology::load(None).unwrap();
        let before = t.initial_states();
        // Turning the primary Off alone leaves 0 On: blocked, and the message says so.
        let after = with(&before, &[(arn("service1", "primary"), Off)]);
        let v = violations(&catalog(&t), &before, &after, &[]);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].rule_name, "service1-at-least-one-on");
        assert!(
            v[0].message.contains("service1-at-least-one-on (arn:aws:route53-recovery-control::000000000000:controlpanel/service1/safetyrule/service1-at-least-one-on)")
                && v[0].message.contains("ATLEAST 1 of 2 controls On and the change leaves 0"),
            "{}",
            v[0].message
        );
        // Secondary On and primary Off in one batch: allowed.
        let after = with(
            &before,
            &[
                (arn("service1", "primary"), Off),
                (arn("service1", "secondary"), On),
            ],
        );
        assert!(violations(&catalog(&t), &before, &after, &[]).is_empty());
        // Overriding by name or ARN skips the rule.
        let after = with(&before, &[(arn("service1", "primary"), Off)]);
        assert!(violations(
            &catalog(&t),
            &before,
            &after,
            &["service1-at-least-one-on".into()]
        )
        .is_empty());
        let rule_arn = v[0].rule_arn.clone().unwrap();
        assert!(violations(&catalog(&t), &before, &after, &[rule_arn]).is_empty());
    }

    #[test]
    fn a_broken_rule_does_not_block_unrelated_changes() {
        let t = Topology::load(None).unwrap();
        let before = with(&t.initial_states(), &[(arn("service1", "primary"), Off)]);
        let after = with(&before, &[(arn("service2", "secondary"), On)]);
        assert!(violations(&catalog(&t), &before, &after, &[]).is_empty());
    }

    #[test]
    fn gating_rule_uses_the_gate_before_the_batch() {
        let mut doc = local::default_document("127.0.0.1", 8600);
        let gate = arn("external-api", "primary");
        doc.apps
            .get_mut("service1")
            .unwrap()
            .safety_rules
            .push(SafetyRule::Gating {
                name: "gate".into(),
                arn: None,
                gating_controls: vec![gate.clone()],
                target_controls: vec![arn("service1", "secondary")],
                rule_config: RuleConfig {
                    kind: RuleType::Or,
                    threshold: 1,
                    inverted: false,
                },
                wait_period_ms: 0,
            });
        let t = Topology::from_document(doc, "test").unwrap();
        let open = t.initial_states();
        let after = with(&open, &[(arn("service1", "secondary"), On)]);
        assert!(violations(&catalog(&t), &open, &after, &[]).is_empty());

        let closed = with(&open, &[(gate.clone(), Off)]);
        let after = with(&closed, &[(arn("service1", "secondary"), On)]);
        let v = violations(&catalog(&t), &closed, &after, &[]);
        assert_eq!(v.len(), 1);
        assert!(
            v[0].message.starts_with("Safety rule gate blocks this change: it lets service1-secondary-rc change only while its gating controls (external-api-primary-rc) satisfy OR"),
            "{}",
            v[0].message
        );
        // Opening the gate in the same batch does not help: the gate is judged before the batch.
        let after = with(&closed, &[(gate, On), (arn("service1", "secondary"), On)]);
        assert_eq!(violations(&catalog(&t), &closed, &after, &[]).len(), 1);
        assert!(violations(&catalog(&t), &closed, &after, &["gate".into()]).is_empty());
    }

    #[test]
    fn descriptions() {
        let c = |kind, threshold, inverted| RuleConfig {
            kind,
            threshold,
            inverted,
        };
        assert_eq!(
            describe(&c(RuleType::Atleast, 2, false), 3),
            "ATLEAST 2 of 3 controls On"
        );
        assert_eq!(
            describe(&c(RuleType::And, 0, true), 2),
            "NOT AND (all 2 controls On)"
        );
    }
}
