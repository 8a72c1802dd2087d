//! The plan file (TOML): what a region switch does, step by step, checked against the cluster
//! document before anything runs. Every error names the key (`step[2].to`) and the bad value.
//!
//! ```toml
//! name = "move the services to us-west-2"
//! probe_url = "https://externalapi.example.com"   # optional: what verify and the report's probe request
//!
//! [[step]]
//! kind = "gate"                 # health, build, controls, capacity (default: all four)
//! apps = ["service1", "service2"]
//! to = "us-west-2"
//! checks = ["health", "build", "capacity"]
//!
//! [[step]]
//! kind = "scale"                # the target's ECS desired count and autoscaling minimum to
//! apps = ["service1", "service2"]   # share x the source region's running tasks, then wait
//! to = "us-west-2"
//! share = 1.0
//! timeout = "10m"
//!
//! [[step]]
//! kind = "approve"              # show what follows and wait for a person (--yes: automation)
//! message = "Move the services to us-west-2?"
//! timeout = "15m"
//!
//! [[step]]
//! kind = "activate"             # one UpdateRoutingControlStates call per app
//! apps = ["service1", "service2"]
//! to = "us-west-2"
//! parallel = true               # the apps at once (default: one after another)
//!
//! [[step]]
//! kind = "verify"               # every hop of each app answers from `to` through probe_url
//! apps = ["service1", "service2"]
//! to = "us-west-2"
//! timeout = "60s"
//! ```

use std::time::Duration;

use recovery::ClusterDocument;
use serde::{Deserialize, Serialize};

/// A plan that cannot run: its message names the key and the value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("cannot read plan file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("plan file {path}: {message}")]
    Invalid { path: String, message: String },
}

/// The readiness checks a gate can run.
pub const CHECKS: [&str; 4] = ["health", "build", "controls", "capacity"];

/// The file as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_url: Option<String>,
    #[serde(default)]
    pub step: Vec<StepFile>,
}

/// One `[[step]]` as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepFile {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A checked plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub name: String,
    pub probe_url: Option<String>,
    pub steps: Vec<Step>,
}

/// A checked step.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// `step[i]` or the name given.
    pub name: String,
    pub action: Action,
    /// The apps it acts on (none for approve).
    pub apps: Vec<String>,
    /// Whether the apps go at once.
    pub parallel: bool,
}

/// What a step does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Gate {
        to: String,
        checks: Vec<String>,
    },
    Scale {
        to: String,
        share: f64,
        timeout: Duration,
    },
    Approve {
        message: String,
        timeout: Duration,
    },
    Activate {
        to: String,
    },
    Verify {
        to: String,
        timeout: Duration,
    },
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Gate { .. } => "gate",
            Action::Scale { .. } => "scale",
            Action::Approve { .. } => "approve",
            Action::Activate { .. } => "activate",
            Action::Verify { .. } => "verify",
        }
    }

    /// The region the step acts towards (none for approve).
    pub fn to(&self) -> Option<&str> {
        match self {
            Action::Gate { to, .. }
            | Action::Scale { to, .. }
            | Action::Activate { to }
            | Action::Verify { to, .. } => Some(to),
            Action::Approve { .. } => None,
        }
    }
}

const KINDS: &str = "gate, scale, approve, activate, verify";

/// Reads and checks a plan file against `doc`.
pub fn load(path: &str, doc: &ClusterDocument) -> Result<Plan, PlanError> {
    let text = std::fs::read_to_string(path).map_err(|e| PlanError::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    parse(&text, doc).map_err(|message| PlanError::Invalid {
        path: path.to_owned(),
        message,
    })
}

/// Parses and checks plan text against `doc`.
pub fn parse(text: &str, doc: &ClusterDocument) -> Result<Plan, String> {
    let file: PlanFile = toml::from_str(text).map_err(|e| e.to_string().trim().to_owned())?;
    check(&file, doc)
}

fn duration(
    key: &str,
    value: Option<&str>,
    default: Duration,
    max: Duration,
) -> Result<Duration, String> {
    let Some(v) = value else { return Ok(default) };
    let d = humantime::parse_duration(v)
        .map_err(|e| format!("{key} = {v:?}: not a duration like 30s or 10m ({e})"))?;
    if d.is_zero() || d > max {
        return Err(format!(
            "{key} = {v:?}: out of range (more than 0, at most {})",
            humantime::format_duration(max)
        ));
    }
    Ok(d)
}

/// Checks a parsed file: known kinds, apps and regions of the document, the keys each kind takes.
pub fn check(file: &PlanFile, doc: &ClusterDocument) -> Result<Plan, String> {
    if file.step.is_empty() {
        return Err("no [[step]]: a plan needs at least one step".into());
    }
    if let Some(url) = &file.probe_url {
        crate::cmd::probe::Base::parse(url)
            .map_err(|e| format!("probe_url = {url:?}: {}", e.reason))?;
    }
    let mut steps = Vec::new();
    for (i, s) in file.step.iter().enumerate() {
        let key = |k: &str| format!("step[{i}].{k}");
        let refuse =
            |k: &str, why: &str| -> Result<(), String> { Err(format!("{}: {why}", key(k))) };
        let takes: &[&str] = match s.kind.as_str() {
            "gate" => &["apps", "to", "checks"],
            "scale" => &["apps", "to", "share", "timeout"],
            "approve" => &["message", "timeout"],
            "activate" => &["apps", "to", "parallel"],
            "verify" => &["apps", "to", "timeout"],
            other => {
                return Err(format!(
                    "{} = {other:?}: not a step kind ({KINDS})",
                    key("kind")
                ))
            }
        };
        let given = [
            ("apps", !s.apps.is_empty()),
            ("to", s.to.is_some()),
            ("checks", s.checks.is_some()),
            ("share", s.share.is_some()),
            ("timeout", s.timeout.is_some()),
            ("parallel", s.parallel.is_some()),
            ("message", s.message.is_some()),
        ];
        for (k, present) in given {
            if present && !takes.contains(&k) {
                refuse(
                    k,
                    &format!(
                        "{} steps take no {k} (they take: {})",
                        s.kind,
                        takes.join(", ")
                    ),
                )?;
            }
        }
        if takes.contains(&"apps") && s.apps.is_empty() {
            refuse(
                "apps",
                &format!("missing: {} steps name the apps they act on", s.kind),
            )?;
        }
        let mut seen = Vec::new();
        for (j, app) in s.apps.iter().enumerate() {
            if !doc.apps.contains_key(app) {
                return Err(format!(
                    "{}[{j}] = {app:?}: not an app of the cluster document (apps: {})",
                    key("apps"),
                    doc.apps.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            if seen.contains(&app) {
                return Err(format!("{}[{j}] = {app:?}: listed twice", key("apps")));
            }
            seen.push(app);
        }
        let to = if takes.contains(&"to") {
            let Some(to) = &s.to else {
                return Err(format!(
                    "{}: missing: the region the apps move to",
                    key("to")
                ));
            };
            for app in &s.apps {
                if !doc.apps[app].regions.contains_key(to) {
                    return Err(format!(
                        "{} = {to:?}: not a region of {app} (regions: {})",
                        key("to"),
                        doc.apps[app]
                            .regions
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            to.clone()
        } else {
            String::new()
        };
        let action = match s.kind.as_str() {
            "gate" => {
                let checks = s
                    .checks
                    .clone()
                    .unwrap_or_else(|| CHECKS.iter().map(|c| (*c).to_owned()).collect());
                if checks.is_empty() {
                    refuse("checks", "empty: leave it out for every check")?;
                }
                for (j, c) in checks.iter().enumerate() {
                    if !CHECKS.contains(&c.as_str()) {
                        return Err(format!(
                            "{}[{j}] = {c:?}: not a check ({})",
                            key("checks"),
                            CHECKS.join(", ")
                        ));
                    }
                }
                Action::Gate { to, checks }
            }
            "scale" => {
                let share = s.share.unwrap_or(1.0);
                if !(share > 0.0 && share <= 10.0) {
                    return Err(format!(
                        "{} = {share}: a share of the source region's running tasks, more than 0 and at most 10",
                        key("share")
                    ));
                }
                let timeout = duration(
                    &key("timeout"),
                    s.timeout.as_deref(),
                    Duration::from_secs(600),
                    Duration::from_secs(3 * 3600),
                )?;
                Action::Scale { to, share, timeout }
            }
            "approve" => Action::Approve {
                message: s.message.clone().unwrap_or_else(|| "Go ahead?".into()),
                timeout: duration(
                    &key("timeout"),
                    s.timeout.as_deref(),
                    Duration::from_secs(900),
                    Duration::from_secs(24 * 3600),
                )?,
            },
            "activate" => Action::Activate { to },
            "verify" => {
                let timeout = duration(
                    &key("timeout"),
                    s.timeout.as_deref(),
                    Duration::from_secs(60),
                    Duration::from_secs(3600),
                )?;
                Action::Verify { to, timeout }
            }
            _ => unreachable!("kinds are matched above"),
        };
        steps.push(Step {
            name: s
                .name
                .clone()
                .unwrap_or_else(|| format!("step[{i}] {}", s.kind)),
            action,
            apps: s.apps.clone(),
            parallel: s.parallel.unwrap_or(false),
        });
    }
    Ok(Plan {
        name: file.name.clone().unwrap_or_else(|| "plan".into()),
        probe_url: file.probe_url.clone(),
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use recovery::local::default_document;

    fn err(text: &str) -> String {
        parse(text, &default_document("127.0.0.1", 8600)).unwrap_err()
    }

    #[test]
    fn a_full_plan_parses_with_defaults() {
        let doc = default_document("127.0.0.1", 8600);
        let plan = parse(
            r#"
            name = "services west"
            probe_url = "http://127.0.0.1:8080"
            [[step]]
            kind = "gate"
            apps = ["service1", "service2"]
            to = "us-west-2"
            [[step]]
            kind = "scale"
            apps = ["service1"]
            to = "us-west-2"
            share = 0.5
            [[step]]
            kind = "approve"
            [[step]]
            kind = "activate"
            apps = ["service1", "service2"]
            to = "us-west-2"
            parallel = true
            [[step]]
            kind = "verify"
            name = "both services answer from us-west-2"
            apps = ["service1", "service2"]
            to = "us-west-2"
            timeout = "30s"
            "#,
            &doc,
        )
        .unwrap();
        assert_eq!(plan.name, "services west");
        assert_eq!(plan.steps.len(), 5);
        assert_eq!(
            plan.steps[0].action,
            Action::Gate {
                to: "us-west-2".into(),
                checks: CHECKS.iter().map(|c| (*c).to_owned()).collect()
            }
        );
        assert_eq!(
            plan.steps[1].action,
            Action::Scale {
                to: "us-west-2".into(),
                share: 0.5,
                timeout: Duration::from_secs(600)
            }
        );
        assert_eq!(plan.steps[1].name, "step[1] scale");
        assert!(plan.steps[3].parallel && !plan.steps[0].parallel);
        assert_eq!(plan.steps[4].name, "both services answer from us-west-2");
        assert_eq!(
            plan.steps[4].action,
            Action::Verify {
                to: "us-west-2".into(),
                timeout: Duration::from_secs(30)
            }
        );
    }

    #[test]
    fn errors_name_the_key_and_the_value() {
        let step = |body: &str| format!("[[step]]\n{body}\n");
        let cases = [
            ("", "no [[step]]: a plan needs at least one step"),
            (
                &step(r#"kind = "jump""#),
                r#"step[0].kind = "jump": not a step kind (gate, scale, approve, activate, verify)"#,
            ),
            (
                &step(r#"kind = "activate"
                    apps = ["service3"]
                    to = "us-west-2""#),
                r#"step[0].apps[0] = "service3": not an app of the cluster document (apps: external-api, service1, service2)"#,
            ),
            (
                &step(r#"kind = "activate"
                    apps = ["service1"]
                    to = "eu-west-9""#),
                r#"step[0].to = "eu-west-9": not a region of service1 (regions: us-east-1, us-west-2)"#,
            ),
            (
                &step(r#"kind = "activate"
                    apps = ["service1"]"#),
                "step[0].to: missing: the region the apps move to",
            ),
            (
                &step(r#"kind = "verify"
                    to = "us-west-2""#),
                "step[0].apps: missing: verify steps name the apps they act on",
            ),
            (
                &step(r#"kind = "approve"
                    to = "us-west-2""#),
                "step[0].to: approve steps take no to (they take: message, timeout)",
            ),
            (
                &step(r#"kind = "gate"
                    apps = ["service1"]
                    to = "us-west-2"
                    checks = ["health", "vibes"]"#),
                r#"step[0].checks[1] = "vibes": not a check (health, build, controls, capacity)"#,
            ),
            (
                &step(r#"kind = "scale"
                    apps = ["service1"]
                    to = "us-west-2"
                    share = 0.0"#),
                "step[0].share = 0: a share of the source region's running tasks, more than 0 and at most 10",
            ),
            (
                &step(r#"kind = "verify"
                    apps = ["service1"]
                    to = "us-west-2"
                    timeout = "soon""#),
                r#"step[0].timeout = "soon": not a duration like 30s or 10m"#,
            ),
            (
                &step(r#"kind = "activate"
                    apps = ["service1", "service1"]
                    to = "us-west-2""#),
                r#"step[0].apps[1] = "service1": listed twice"#,
            ),
            (
                &format!("probe_url = \"ftp://x\"\n{}", step(r#"kind = "approve""#)),
                r#"probe_url = "ftp://x": only http:// and https:// URLs can be probed"#,
            ),
        ];
        for (text, want) in cases {
            let e = err(text);
            assert!(e.starts_with(want), "{text}\n got: {e}\nwant: {want}");
        }
        // TOML's own errors name the key and the line.
        let e = err("[[step]]\nkind = \"approve\"\ncolour = \"blue\"\n");
        assert!(
            e.contains("unknown field `colour`") && e.contains("line 3"),
            "{e}"
        );
    }
}
