//! `failover activate <app> <region>`: that region's routing control On and every other region's
//! control of the app Off, in one `UpdateRoutingControlStates` call (the On entry first), so the
//! change is applied together or not at all.
//!
//! This module validates the request against the cluster document ([`plan`]), resolves
//! `--override` names to rule ARNs, and, when a safety rule blocks the change, works out which
//! rule it was and how to override it deliberately ([`explain_conflict`]).

use recovery::{AppEntry, ClusterDocument, ControlState, RuleConfig, RuleType, SafetyRule};

/// A request that does not fit the cluster document. Exit status 2.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    #[error("unknown app {app:?} (apps: {known}){hint}")]
    UnknownApp {
        app: String,
        known: String,
        hint: String,
    },
    #[error("unknown region {region:?} for {app} (regions: {known}){hint}")]
    UnknownRegion {
        app: String,
        region: String,
        known: String,
        hint: String,
    },
    #[error(
        "unknown safety rule {given:?} in --override: not an ARN, and {app} has no rule of that name in the cluster document ({known})"
    )]
    UnknownRule {
        app: String,
        given: String,
        known: String,
    },
    #[error("--override {given:?}: the cluster document gives rule {given} no ARN; pass the rule's ARN instead")]
    RuleWithoutArn { given: String },
    #[error("{app} has {count} routing controls, more than one UpdateRoutingControlStates call takes (10)")]
    TooManyControls { app: String, count: usize },
}

/// One entry of the update call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub region: String,
    pub control_name: String,
    pub control_arn: String,
    pub state: ControlState,
}

/// What `activate` will send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub app: String,
    pub region: String,
    pub hostname: String,
    /// The On entry first, then every other region's control Off.
    pub entries: Vec<Entry>,
    /// Safety rule ARNs to override, deduplicated, in the order given.
    pub overrides: Vec<String>,
}

impl Plan {
    /// The `(arn, state)` pairs for [`recovery::ArcClient::update`].
    pub fn update_entries(&self) -> Vec<(String, ControlState)> {
        self.entries
            .iter()
            .map(|e| (e.control_arn.clone(), e.state))
            .collect()
    }
}

/// The most entries one `UpdateRoutingControlStates` call accepts.
pub const MAX_ENTRIES: usize = 10;

/// Validates `app`, `region` and the overrides against the document and builds the update.
pub fn plan(
    doc: &ClusterDocument,
    app: &str,
    region: &str,
    overrides: &[String],
) -> Result<Plan, InputError> {
    let entry = doc.apps.get(app).ok_or_else(|| InputError::UnknownApp {
        app: app.to_owned(),
        known: join(doc.apps.keys()),
        hint: did_you_mean(app, doc.apps.keys()),
    })?;
    let on = entry
        .regions
        .get(region)
        .ok_or_else(|| InputError::UnknownRegion {
            app: app.to_owned(),
            region: region.to_owned(),
            known: join(entry.regions.keys()),
            hint: did_you_mean(region, entry.regions.keys()),
        })?;
    if entry.regions.len() > MAX_ENTRIES {
        return Err(InputError::TooManyControls {
            app: app.to_owned(),
            count: entry.regions.len(),
        });
    }
    let mut entries = vec![Entry {
        region: region.to_owned(),
        control_name: on.routing_control_name.clone(),
        control_arn: on.routing_control_arn.clone(),
        state: ControlState::On,
    }];
    entries.extend(
        entry
            .regions
            .iter()
            .filter(|(r, _)| r.as_str() != region)
            .map(|(r, e)| Entry {
                region: r.clone(),
                control_name: e.routing_control_name.clone(),
                control_arn: e.routing_control_arn.clone(),
                state: ControlState::Off,
            }),
    );
    let mut resolved: Vec<String> = Vec::new();
    for given in overrides {
        let arn = resolve_override(doc, app, entry, given)?;
        if !resolved.contains(&arn) {
            resolved.push(arn);
        }
    }
    Ok(Plan {
        app: app.to_owned(),
        region: region.to_owned(),
        hostname: entry.hostname.clone(),
        entries,
        overrides: resolved,
    })
}

/// An ARN as given, or a rule name of the app (then of any app) mapped to its ARN.
fn resolve_override(
    doc: &ClusterDocument,
    app: &str,
    entry: &AppEntry,
    given: &str,
) -> Result<String, InputError> {
    let given = given.trim();
    if given.starts_with("arn:") {
        return Ok(given.to_owned());
    }
    let rule = entry
        .safety_rules
        .iter()
        .chain(doc.apps.values().flat_map(|a| a.safety_rules.iter()))
        .find(|r| r.name() == given);
    match rule {
        Some(rule) => rule
            .arn()
            .map(str::to_owned)
            .ok_or_else(|| InputError::RuleWithoutArn {
                given: given.to_owned(),
            }),
        None => Err(InputError::UnknownRule {
            app: app.to_owned(),
            given: given.to_owned(),
            known: if entry.safety_rules.is_empty() {
                "it lists no safety rules".to_owned()
            } else {
                format!(
                    "rules: {}",
                    join(entry.safety_rules.iter().map(SafetyRule::name))
                )
            },
        }),
    }
}

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

/// Works out which rule blocked `plan` from the service's conflict message and the document.
pub fn explain_conflict(doc: &ClusterDocument, plan: &Plan, message: &str) -> ConflictExplanation {
    let app_rules: &[SafetyRule] = doc
        .apps
        .get(&plan.app)
        .map(|a| a.safety_rules.as_slice())
        .unwrap_or_default();
    let all_rules = app_rules
        .iter()
        .chain(doc.apps.values().flat_map(|a| a.safety_rules.iter()));
    let mut named: Vec<&SafetyRule> = Vec::new();
    for rule in all_rules {
        let by_arn = rule.arn().is_some_and(|arn| message.contains(arn));
        if (by_arn || mentions(message, rule.name())) && !named.contains(&rule) {
            named.push(rule);
        }
    }
    let arn_in_message = arns_in(message)
        .into_iter()
        .find(|a| doc.control(a).is_none());
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
pub fn view(doc: &ClusterDocument, rule: &SafetyRule) -> RuleView {
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
    match rule {
        SafetyRule::Assertion {
            name,
            arn,
            asserted_controls,
            rule_config,
            wait_period_ms,
        } => RuleView {
            name: name.clone(),
            arn: arn.clone(),
            kind: "assertion",
            config: config_text(rule_config),
            meaning: format!(
                "after every change, {} of the asserted controls must be On",
                demand(rule_config, asserted_controls.len())
            ),
            wait_period_ms: *wait_period_ms,
            controls: vec![("asserted", refs(asserted_controls))],
        },
        SafetyRule::Gating {
            name,
            arn,
            gating_controls,
            target_controls,
            rule_config,
            wait_period_ms,
        } => RuleView {
            name: name.clone(),
            arn: arn.clone(),
            kind: "gating",
            config: config_text(rule_config),
            meaning: format!(
                "the target controls may change only while {} of the gating controls are On",
                demand(rule_config, gating_controls.len())
            ),
            wait_period_ms: *wait_period_ms,
            controls: vec![
                ("gating", refs(gating_controls)),
                ("target", refs(target_controls)),
            ],
        },
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

fn join<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    items
        .into_iter()
        .map(|s| s.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `; did you mean "x"?` for the closest known value within a small edit distance.
fn did_you_mean<I, S>(given: &str, known: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let best = known
        .into_iter()
        .map(|k| (distance(given, k.as_ref()), k.as_ref().to_owned()))
        .min();
    match best {
        Some((d, k)) if d > 0 && d <= 2.max(given.len() / 4) => format!("; did you mean {k:?}?"),
        _ => String::new(),
    }
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use recovery::local::default_document;

    fn doc() -> ClusterDocument {
        default_document("127.0.0.1", 8600)
    }

    #[test]
    fn plan_turns_the_region_on_first_and_the_others_off() {
        let p = plan(&doc(), "service1", "us-west-2", &[]).unwrap();
        let states: Vec<(&str, ControlState)> = p
            .entries
            .iter()
            .map(|e| (e.control_name.as_str(), e.state))
            .collect();
        assert_eq!(
            states,
            vec![
                ("service1-secondary-rc", ControlState::On),
                ("service1-primary-rc", ControlState::Off)
            ]
        );
        assert!(p.overrides.is_empty());
    }

    #[test]
    fn bad_app_and_region_name_the_value_and_suggest() {
        let e = plan(&doc(), "servce1", "us-west-2", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown app \"servce1\" (apps: external-api, service1, service2); did you mean \"service1\"?"
        );
        let e = plan(&doc(), "service1", "eu-west-1", &[]).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "unknown region \"eu-west-1\" for service1 (regions: us-east-1, us-west-2)"
            ),
            "{e}"
        );
        let e = plan(&doc(), "zzz", "us-west-2", &[]).unwrap_err();
        assert!(!e.to_string().contains("did you mean"), "{e}");
    }

    #[test]
    fn overrides_map_names_to_arns_and_keep_arns() {
        let d = doc();
        let arn = d.apps["service1"].safety_rules[0].arn().unwrap().to_owned();
        let p = plan(
            &d,
            "service1",
            "us-west-2",
            &[
                "service1-at-least-one-on".into(),
                arn.clone(),
                "arn:aws:route53-recovery-control::1:controlpanel/x/safetyrule/y".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            p.overrides,
            vec![
                arn,
                "arn:aws:route53-recovery-control::1:controlpanel/x/safetyrule/y".to_owned()
            ]
        );
        let e = plan(&d, "service1", "us-west-2", &["nope".into()]).unwrap_err();
        assert!(
            e.to_string().contains("\"nope\"")
                && e.to_string().contains("service1-at-least-one-on"),
            "{e}"
        );
    }

    #[test]
    fn conflict_names_the_rule_by_name_or_arn() {
        let d = doc();
        let p = plan(&d, "service1", "us-west-2", &[]).unwrap();
        let arn = d.apps["service1"].safety_rules[0].arn().unwrap().to_owned();
        let x = explain_conflict(
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

        let x = explain_conflict(&d, &p, &format!("blocked by {arn}"));
        assert!(x.identified && x.override_arn.as_deref() == Some(arn.as_str()));

        // A prefix of a rule name is not the rule; an unknown ARN in the message is the hint.
        let x = explain_conflict(
            &d,
            &p,
            "blocked by service1-at-least-one-on-extra arn:aws:x::1:controlpanel/p/safetyrule/z.",
        );
        assert!(!x.identified);
        assert_eq!(x.rules.len(), 1, "candidates: the app's rules");
        assert_eq!(
            x.override_arn.as_deref(),
            Some("arn:aws:x::1:controlpanel/p/safetyrule/z")
        );
    }

    #[test]
    fn edit_distance() {
        assert_eq!(distance("servce1", "service1"), 1);
        assert_eq!(distance("", "ab"), 2);
        assert_eq!(distance("us-west-2", "us-west-2"), 0);
    }
}
