//! What `activate` and `deactivate` send: the request checked against the cluster document and
//! turned into the entries of one `UpdateRoutingControlStates` call, with `--override` names
//! resolved to rule ARNs (only rules of the app's own control panel).
//!
//! - activate: that region's routing control On and every other region's control of the app Off
//!   (the On entry first).
//! - deactivate: that region's routing control Off, nothing else.

use std::fmt;

use recovery::{AppEntry, ClusterDocument, ControlState, SafetyRule};

use crate::cmd::status::AppStatus;
use crate::suggest::{did_you_mean, join};

/// A request that does not fit the cluster document (exit status 2).
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
        "unknown safety rule {given:?} in --override: {app}'s control panel has no rule of that name or ARN in the cluster document ({known})"
    )]
    UnknownRule {
        app: String,
        given: String,
        known: String,
    },
    #[error(
        "safety rule {given:?} in --override is a rule of {owner}'s control panel, not {app}'s: an override passes only rules of the app being changed ({known})"
    )]
    ForeignRule {
        app: String,
        given: String,
        owner: String,
        known: String,
    },
    #[error(
        "--override {given:?} is not a safety rule of {app}'s control panel: a rule of that panel has an ARN starting {prefix} ({known})"
    )]
    ForeignArn {
        app: String,
        given: String,
        prefix: String,
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

/// What the command does to the named region's control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The region's control On, every other region's control of the app Off.
    Activate,
    /// The region's control Off, nothing else.
    Deactivate,
}

impl Action {
    /// The subcommand's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Activate => "activate",
            Action::Deactivate => "deactivate",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `activate` or `deactivate` will send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub action: Action,
    pub app: String,
    pub region: String,
    pub hostname: String,
    /// activate: the On entry first, then every other region's control Off; deactivate: the
    /// region's control Off.
    pub entries: Vec<Entry>,
    /// Safety rule ARNs to override, deduplicated, in the order given.
    pub overrides: Vec<String>,
}

impl Plan {
    /// The command line that makes this change, without `--override`: `failover [--cluster FILE]
    /// <action> <app> <region>`.
    pub fn command(&self, cluster_arg: Option<&str>) -> String {
        let mut command = "failover".to_owned();
        if let Some(c) = cluster_arg {
            command.push_str(&format!(" --cluster {c}"));
        }
        command.push_str(&format!(" {} {} {}", self.action, self.app, self.region));
        command
    }

    /// Whether `app`, as re-read from the cluster, shows the change: activate, the region active;
    /// deactivate, the region's control Off.
    pub fn applied(&self, app: &AppStatus) -> bool {
        match self.action {
            Action::Activate => app.active_region == self.region,
            Action::Deactivate => app.regions.get(&self.region) == Some(&Some(ControlState::Off)),
        }
    }

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
    action: Action,
    app: &str,
    region: &str,
    overrides: &[String],
) -> Result<Plan, InputError> {
    let entry = doc.apps.get(app).ok_or_else(|| InputError::UnknownApp {
        app: app.to_owned(),
        known: join(doc.apps.keys()),
        hint: did_you_mean(app, doc.apps.keys()),
    })?;
    let named = entry
        .regions
        .get(region)
        .ok_or_else(|| InputError::UnknownRegion {
            app: app.to_owned(),
            region: region.to_owned(),
            known: join(entry.regions.keys()),
            hint: did_you_mean(region, entry.regions.keys()),
        })?;
    let entry_of = |region: &str, e: &recovery::RegionEntry, state| Entry {
        region: region.to_owned(),
        control_name: e.routing_control_name.clone(),
        control_arn: e.routing_control_arn.clone(),
        state,
    };
    let entries = match action {
        Action::Activate => {
            if entry.regions.len() > MAX_ENTRIES {
                return Err(InputError::TooManyControls {
                    app: app.to_owned(),
                    count: entry.regions.len(),
                });
            }
            let mut entries = vec![entry_of(region, named, ControlState::On)];
            entries.extend(
                entry
                    .regions
                    .iter()
                    .filter(|(r, _)| r.as_str() != region)
                    .map(|(r, e)| entry_of(r, e, ControlState::Off)),
            );
            entries
        }
        Action::Deactivate => vec![entry_of(region, named, ControlState::Off)],
    };
    let mut resolved: Vec<String> = Vec::new();
    for given in overrides {
        let arn = resolve_override(doc, app, entry, given)?;
        if !resolved.contains(&arn) {
            resolved.push(arn);
        }
    }
    Ok(Plan {
        action,
        app: app.to_owned(),
        region: region.to_owned(),
        hostname: entry.hostname.clone(),
        entries,
        overrides: resolved,
    })
}

/// A rule of the app's control panel, by name or ARN, mapped to its ARN; or an ARN the document
/// does not list under the app's control panel (a rule added outside it), as given. Anything else,
/// another app's rule included, is refused: an override passes only the changed app's rules.
pub(super) fn resolve_override(
    doc: &ClusterDocument,
    app: &str,
    entry: &AppEntry,
    given: &str,
) -> Result<String, InputError> {
    let given = given.trim();
    let is = |r: &&SafetyRule| r.name() == given || r.arn() == Some(given);
    if let Some(rule) = entry.safety_rules.iter().find(is) {
        return rule
            .arn()
            .map(str::to_owned)
            .ok_or_else(|| InputError::RuleWithoutArn {
                given: given.to_owned(),
            });
    }
    let known = if entry.safety_rules.is_empty() {
        format!("{app}'s control panel lists no safety rules")
    } else {
        format!(
            "{app}'s rules: {}",
            join(entry.safety_rules.iter().map(SafetyRule::name))
        )
    };
    let owner = doc
        .apps
        .iter()
        .filter(|(name, _)| name.as_str() != app)
        .find(|(_, a)| {
            a.safety_rules.iter().any(|r| is(&r))
                || (given.starts_with("arn:") && given.starts_with(&rule_prefix(a)))
        })
        .map(|(name, _)| name.clone());
    match owner {
        Some(owner) => Err(InputError::ForeignRule {
            app: app.to_owned(),
            given: given.to_owned(),
            owner,
            known,
        }),
        None if given.starts_with(&rule_prefix(entry)) => Ok(given.to_owned()),
        None if given.starts_with("arn:") => Err(InputError::ForeignArn {
            app: app.to_owned(),
            given: given.to_owned(),
            prefix: rule_prefix(entry),
            known,
        }),
        None => Err(InputError::UnknownRule {
            app: app.to_owned(),
            given: given.to_owned(),
            known,
        }),
    }
}

/// How the ARNs of a control panel's safety rules begin (`<panel ARN>/safetyrule/`).
pub(super) fn rule_prefix(app: &AppEntry) -> String {
    format!("{}/safetyrule/", app.control_panel_arn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use recovery::local::default_document;

    fn doc() -> ClusterDocument {
        default_document("127.0.0.1", 8600)
    }

    /// The plan's entries as (control name, state).
    fn states(p: &Plan) -> Vec<(&str, ControlState)> {
        p.entries
            .iter()
            .map(|e| (e.control_name.as_str(), e.state))
            .collect()
    }

    #[test]
    fn plan_turns_the_region_on_first_and_the_others_off() {
        let p = plan(&doc(), Action::Activate, "service1", "us-west-2", &[]).unwrap();
        let states = states(&p);
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
        let e = plan(&doc(), Action::Activate, "servce1", "us-west-2", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown app \"servce1\" (apps: external-api, service1, service2); did you mean \"service1\"?"
        );
        let e = plan(&doc(), Action::Activate, "service1", "eu-west-1", &[]).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "unknown region \"eu-west-1\" for service1 (regions: us-east-1, us-west-2)"
            ),
            "{e}"
        );
        let e = plan(&doc(), Action::Activate, "zzz", "us-west-2", &[]).unwrap_err();
        assert!(!e.to_string().contains("did you mean"), "{e}");
    }

    #[test]
    fn overrides_map_names_to_arns_and_keep_arns_of_the_apps_panel() {
        let d = doc();
        let arn = d.apps["service1"].safety_rules[0].arn().unwrap().to_owned();
        let unlisted = format!(
            "{}/safetyrule/added-by-hand",
            d.apps["service1"].control_panel_arn
        );
        let p = plan(
            &d,
            Action::Activate,
            "service1",
            "us-west-2",
            &[
                "service1-at-least-one-on".into(),
                arn.clone(),
                unlisted.clone(),
            ],
        )
        .unwrap();
        assert_eq!(p.overrides, vec![arn, unlisted]);
    }

    #[test]
    fn overrides_outside_the_apps_panel_are_refused_listing_its_rules() {
        let d = doc();
        let service2_rule = d.apps["service2"].safety_rules[0].arn().unwrap().to_owned();
        for (given, expected) in [
            (
                "nope".to_owned(),
                "unknown safety rule \"nope\" in --override: service1's control panel has no rule of that name or ARN in the cluster document (service1's rules: service1-at-least-one-on)".to_owned(),
            ),
            (
                "service2-at-least-one-on".to_owned(),
                "safety rule \"service2-at-least-one-on\" in --override is a rule of service2's control panel, not service1's: an override passes only rules of the app being changed (service1's rules: service1-at-least-one-on)".to_owned(),
            ),
            (
                service2_rule.clone(),
                format!("safety rule \"{service2_rule}\" in --override is a rule of service2's control panel, not service1's"),
            ),
            (
                format!("{}/safetyrule/other", d.apps["service2"].control_panel_arn),
                "is a rule of service2's control panel, not service1's".to_owned(),
            ),
            (
                "arn:aws:route53-recovery-control::1:controlpanel/x/safetyrule/y".to_owned(),
                format!(
                    "--override \"arn:aws:route53-recovery-control::1:controlpanel/x/safetyrule/y\" is not a safety rule of service1's control panel: a rule of that panel has an ARN starting {}/safetyrule/ (service1's rules: service1-at-least-one-on)",
                    d.apps["service1"].control_panel_arn
                ),
            ),
        ] {
            for action in [Action::Activate, Action::Deactivate] {
                let e = plan(&d, action, "service1", "us-west-2", std::slice::from_ref(&given))
                    .unwrap_err()
                    .to_string();
                assert!(e.contains(&expected), "{given}: {e}");
            }
        }
    }

    #[test]
    fn deactivate_turns_only_the_region_off() {
        let p = plan(&doc(), Action::Deactivate, "service2", "us-east-1", &[]).unwrap();
        let states = states(&p);
        assert_eq!(states, vec![("service2-primary-rc", ControlState::Off)]);
        assert_eq!(
            p.command(Some("c.json")),
            "failover --cluster c.json deactivate service2 us-east-1"
        );
    }
}
