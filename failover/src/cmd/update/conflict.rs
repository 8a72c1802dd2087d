//! When a safety rule blocks a change (ConflictException): which rule of the app's control panel it
//! was, from the service's message and the cluster document, how to override it deliberately, and
//! how that is printed (text and the `conflict` object of `--json`).

use std::fmt::Write as _;

use recovery::{ClusterDocument, RuleConfig, RuleType, SafetyRule};
use serde_json::json;

use super::plan::{resolve_override, Plan};

/// A routing control named by a safety rule, described for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlRef {
    pub arn: String,
    /// `app/region (control-name)` when the document knows the control.
    pub label: Option<String>,
}

/// A safety rule, described for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleView {
    pub name: String,
    pub arn: Option<String>,
    pub kind: &'static str,
    /// e.g. `ATLEAST 1`, `AND`, `NOT OR`.
    pub config: String,
    /// What the rule demands, in words.
    pub meaning: String,
    pub wait_period_ms: u64,
    /// `(role, controls)`: `asserted` for assertion rules; `gating` and `target` for gating rules.
    pub controls: Vec<(&'static str, Vec<ControlRef>)>,
}

/// Why a change was blocked, and how to override it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictExplanation {
    /// The service's message (it names the rule).
    pub message: String,
    /// The rules the message names (found in the document), or, when it names none the document
    /// knows, every rule of the app's control panel as candidates.
    pub rules: Vec<RuleView>,
    /// Whether `rules` are the rules the message names (true) or only candidates (false).
    pub identified: bool,
    /// The ARN to pass to `--override`, when known (from the document, else from the message).
    pub override_arn: Option<String>,
}

/// Works out which rule of the app's control panel blocked `plan` from the service's conflict
/// message and the document. Only what `--override` accepts for the app is offered.
pub fn explain(doc: &ClusterDocument, plan: &Plan, message: &str) -> ConflictExplanation {
    let app = doc.apps.get(&plan.app);
    let app_rules: &[SafetyRule] = app.map(|a| a.safety_rules.as_slice()).unwrap_or_default();
    let mut named: Vec<&SafetyRule> = Vec::new();
    for rule in app_rules {
        let by_arn = rule.arn().is_some_and(|arn| message.contains(arn));
        if (by_arn || mentions(message, rule.name())) && !named.contains(&rule) {
            named.push(rule);
        }
    }
    let arn_in_message = arns_in(message).into_iter().find(|a| {
        doc.control(a).is_none()
            && app.is_some_and(|entry| resolve_override(doc, &plan.app, entry, a).is_ok())
    });
    let identified = !named.is_empty();
    let rules: Vec<&SafetyRule> = if identified {
        named
    } else {
        app_rules.iter().collect()
    };
    let override_arn = if identified && rules.len() == 1 {
        rules[0].arn().map(str::to_owned).or(arn_in_message)
    } else {
        arn_in_message
    };
    ConflictExplanation {
        message: message.to_owned(),
        rules: rules.into_iter().map(|r| view(doc, r)).collect(),
        identified,
        override_arn,
    }
}

/// Describes a rule with its controls labelled from the document.
fn view(doc: &ClusterDocument, rule: &SafetyRule) -> RuleView {
    let refs = |arns: &[String]| -> Vec<ControlRef> {
        arns.iter()
            .map(|arn| ControlRef {
                arn: arn.clone(),
                label: doc.control(arn).map(|(app, region)| {
                    let name = &doc.apps[app].regions[region].routing_control_name;
                    format!("{app}/{region} ({name})")
                }),
            })
            .collect()
    };
    let (kind, rule_config, wait_period_ms, meaning, controls) = match rule {
        SafetyRule::Assertion {
            asserted_controls,
            rule_config,
            wait_period_ms,
            ..
        } => (
            "assertion",
            rule_config,
            wait_period_ms,
            format!(
                "after every change, {} of the asserted controls must be On",
                demand(rule_config, asserted_controls.len())
            ),
            vec![("asserted", refs(asserted_controls))],
        ),
        SafetyRule::Gating {
            gating_controls,
            target_controls,
            rule_config,
            wait_period_ms,
            ..
        } => (
            "gating",
            rule_config,
            wait_period_ms,
            format!(
                "the target controls may change only while {} of the gating controls are On",
                demand(rule_config, gating_controls.len())
            ),
            vec![
                ("gating", refs(gating_controls)),
                ("target", refs(target_controls)),
            ],
        ),
    };
    RuleView {
        name: rule.name().to_owned(),
        arn: rule.arn().map(str::to_owned),
        kind,
        config: config_text(rule_config),
        meaning,
        wait_period_ms: *wait_period_ms,
        controls,
    }
}

fn config_text(c: &RuleConfig) -> String {
    let base = match c.kind {
        RuleType::Atleast => format!("ATLEAST {}", c.threshold),
        RuleType::And => "AND".to_owned(),
        RuleType::Or => "OR".to_owned(),
    };
    if c.inverted {
        format!("NOT {base} (inverted)")
    } else {
        base
    }
}

/// "at least 1", "all 2", "at least one"; inverted: "fewer than 1", "not all", "none".
fn demand(c: &RuleConfig, total: usize) -> String {
    match (c.kind, c.inverted) {
        (RuleType::Atleast, false) => format!("at least {}", c.threshold),
        (RuleType::Atleast, true) => format!("fewer than {}", c.threshold),
        (RuleType::And, false) => format!("all {total}"),
        (RuleType::And, true) => format!("not all {total}"),
        (RuleType::Or, false) => "at least one".to_owned(),
        (RuleType::Or, true) => "none".to_owned(),
    }
}

/// Whether `message` names `name` as a whole word (rule names often share prefixes).
fn mentions(message: &str, name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    message.match_indices(name).any(|(i, _)| {
        let before = message[..i].chars().next_back();
        let after = message[i + name.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// ARN-looking words of a message.
fn arns_in(message: &str) -> Vec<String> {
    message
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '(' | ')' | '[' | ']' | ','))
        .map(|w| w.trim_end_matches(['.', ';', ':']))
        .filter(|w| w.starts_with("arn:") && w.len() > 4)
        .map(str::to_owned)
        .collect()
}
fn rule_text(out: &mut String, rule: &RuleView) {
    let _ = writeln!(
        out,
        "  {} ({})",
        rule.name,
        rule.arn
            .as_deref()
            .unwrap_or("no ARN in the cluster document")
    );
    let _ = writeln!(
        out,
        "    {} rule, {}: {}",
        rule.kind, rule.config, rule.meaning
    );
    if rule.wait_period_ms > 0 {
        let _ = writeln!(out, "    wait period {} ms", rule.wait_period_ms);
    }
    for (role, controls) in &rule.controls {
        for (i, c) in controls.iter().enumerate() {
            let head = if i == 0 {
                format!("{role}:")
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "    {head:<10} {}  {}",
                c.label
                    .as_deref()
                    .unwrap_or("(not in the cluster document)"),
                c.arn
            );
        }
    }
}

/// The command that repeats the blocked change overriding the rule: `command` (without
/// `--override`), the overrides already given, and the rule's ARN (`<rule-arn>` when unknown).
fn retry_command(x: &ConflictExplanation, plan: &Plan, command: &str) -> String {
    let mut retry = command.to_owned();
    for o in &plan.overrides {
        let _ = write!(retry, " --override {o}");
    }
    let arn = x.override_arn.as_deref().unwrap_or("<rule-arn>");
    let _ = write!(retry, " --override {arn}");
    retry
}

/// Why the update was blocked and how to override deliberately. `command` is the command line
/// to repeat, without `--override`.
pub fn text(x: &ConflictExplanation, plan: &Plan, command: &str) -> String {
    let mut out = format!(
        "blocked by a safety rule (ConflictException): {}\n",
        x.message
    );
    out.push_str("nothing changed: UpdateRoutingControlStates applies all its entries or none.\n");
    if x.identified {
        out.push_str(if x.rules.len() == 1 {
            "the rule, from the cluster document:\n"
        } else {
            "the rules, from the cluster document:\n"
        });
    } else if x.rules.is_empty() {
        out.push_str(
            "the cluster document lists no safety rules for this app; the message above names the rule.\n",
        );
    } else {
        out.push_str(
            "the message names no rule of the cluster document; the app's control panel has these rules:\n",
        );
    }
    for rule in &x.rules {
        rule_text(&mut out, rule);
    }
    let retry = retry_command(x, plan, command);
    out.push_str(
        "to override it deliberately, for this one call only (the rule is there to stop changes like this one: check the states above first):\n",
    );
    let _ = writeln!(out, "  {retry}");
    if x.override_arn.is_none() {
        out.push_str("  (<rule-arn>: the ARN of the rule the message names, from the ARC console or `terraform output`)\n");
    }
    out
}

/// The `conflict` object of `--json`: the explanation and the command that overrides the rule.
pub fn json(x: &ConflictExplanation, plan: &Plan, command: &str) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = x
        .rules
        .iter()
        .map(|rule| {
            json!({
                "name": rule.name,
                "arn": rule.arn,
                "kind": rule.kind,
                "config": rule.config,
                "meaning": rule.meaning,
            })
        })
        .collect();
    json!({
        "message": x.message,
        "rules": rules,
        "identified": x.identified,
        "override_arn": x.override_arn,
        "retry": retry_command(x, plan, command),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::update::plan::{plan, Action};
    use recovery::local::default_document;

    #[test]
    fn conflict_names_the_rule_by_name_or_arn() {
        let d = default_document("127.0.0.1", 8600);
        let p = plan(&d, Action::Activate, "service1", "us-west-2", &[]).unwrap();
        let arn = d.apps["service1"].safety_rules[0].arn().unwrap().to_owned();
        let x = explain(
            &d,
            &p,
            "Update violates safety rule service1-at-least-one-on.",
        );
        assert!(x.identified);
        assert_eq!(x.rules.len(), 1);
        assert_eq!(x.rules[0].config, "ATLEAST 1");
        assert_eq!(x.override_arn.as_deref(), Some(arn.as_str()));
        assert_eq!(
            x.rules[0].controls[0].1[0].label.as_deref(),
            Some("service1/us-east-1 (service1-primary-rc)")
        );

        let x = explain(&d, &p, &format!("blocked by {arn}"));
        assert!(x.identified && x.override_arn.as_deref() == Some(arn.as_str()));

        // A prefix of a rule name is not the rule; an unknown ARN of the app's panel in the
        // message is the hint.
        let unlisted = format!("{}/safetyrule/z", d.apps["service1"].control_panel_arn);
        let x = explain(
            &d,
            &p,
            &format!("blocked by service1-at-least-one-on-extra {unlisted}."),
        );
        assert!(!x.identified);
        assert_eq!(x.rules.len(), 1, "candidates: the app's rules");
        assert_eq!(x.override_arn.as_deref(), Some(unlisted.as_str()));

        // Another app's rule, or an ARN outside the app's panel, is never offered.
        let x = explain(
            &d,
            &p,
            "blocked by service2-at-least-one-on arn:aws:x::1:controlpanel/p/safetyrule/z.",
        );
        assert!(!x.identified);
        assert_eq!(x.rules[0].name, "service1-at-least-one-on");
        assert_eq!(x.override_arn, None);
    }
}
