//! What `activate` and `deactivate` print: the dry run, the heading, the state before and after,
//! the call's line and what happens next (text), or one object (`--json`).

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

use super::conflict::{self, ConflictExplanation};
use super::plan::{Action, Plan};
use super::AppRead;
use crate::cmd::status::render::{app_json, app_line, role};
use crate::cmd::status::AppStatus;
use crate::table::columns;

fn entries_text(plan: &Plan) -> String {
    plan.entries
        .iter()
        .map(|e| format!("{} {}", e.control_name, e.state))
        .collect::<Vec<_>>()
        .join(", ")
}

fn overrides_text(plan: &Plan) -> String {
    if plan.overrides.is_empty() {
        "none".into()
    } else {
        plan.overrides.join(", ")
    }
}

/// `activate --dry-run`, `deactivate --dry-run`: the entries that would be sent.
pub fn dry_run(plan: &Plan) -> String {
    let mut out = format!(
        "dry run: {} {} in {} would send one UpdateRoutingControlStates call (nothing sent):\n",
        plan.action, plan.app, plan.region
    );
    let rows: Vec<Vec<String>> = plan
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            vec![
                format!("  {}.", i + 1),
                e.control_name.clone(),
                e.region.clone(),
                e.state.to_string(),
                e.control_arn.clone(),
            ]
        })
        .collect();
    out.push_str(&columns(&rows));
    let _ = writeln!(out, "  safety rules overridden: {}", overrides_text(plan));
    out
}

/// The first line of `activate` and `deactivate`.
pub fn heading(plan: &Plan) -> String {
    format!(
        "{} {} in {} ({})",
        plan.action, plan.app, plan.region, plan.hostname
    )
}

/// The `before:`/`after:` line.
pub fn state_line(label: &str, app: &AppRead) -> String {
    match app {
        Ok(app) => format!("{label:<7} {}", app_line(app)),
        Err(e) => format!("{label:<7} unknown: {e}"),
    }
}

/// The `sent:` line: the call, its entries, overrides, how long it took and how it ended.
pub fn sent_line(plan: &Plan, took: Duration, result: &str) -> String {
    format!(
        "{:<7} UpdateRoutingControlStates [{}] overriding {}: {result} in {}",
        "sent:",
        entries_text(plan),
        overrides_text(plan),
        millis(took)
    )
}

fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// After a successful update whose re-read does not show it applied yet.
pub fn not_yet_applied(plan: &Plan) -> String {
    let what = match plan.action {
        Action::Activate => format!("{} active in {}", plan.app, plan.region),
        Action::Deactivate => format!("{}'s {} control Off", plan.app, plan.region),
    };
    format!("warning: the cluster's answer does not show {what} yet; run `failover status` again")
}

/// After a successful update: what happens next. `after` is the app as re-read, when known.
pub fn done(plan: &Plan, after: Option<&AppStatus>) -> String {
    const PICK_UP: &str = "as resolvers pick up the change (record TTL plus caches)";
    match (plan.action, after) {
        (Action::Activate, _) => format!(
            "done: Route 53 answers {} from {} {PICK_UP}",
            plan.hostname, plan.region
        ),
        (Action::Deactivate, Some(app)) => format!(
            "done: {}'s {} control is Off; Route 53 answers {} from {} ({}) {PICK_UP}",
            plan.app,
            plan.region,
            plan.hostname,
            app.active_region,
            role(app, &app.active_region)
        ),
        (Action::Deactivate, None) => format!(
            "done: {}'s {} control is Off; `failover status` shows where Route 53 answers {} from",
            plan.app, plan.region, plan.hostname
        ),
    }
}

/// How an `activate` or `deactivate` call ended, for `--json`.
pub struct UpdateReport<'a> {
    pub plan: &'a Plan,
    /// `dry_run`, `ok`, `blocked` or `failed`.
    pub result: &'static str,
    /// How long the update call took; `None` for a dry run.
    pub took: Option<Duration>,
    /// The app before and after the call, as read from the cluster (or why it is not known);
    /// `None` when not read.
    pub before: Option<&'a AppRead<'a>>,
    pub after: Option<&'a AppRead<'a>>,
    /// The explanation of a block and the command without `--override`.
    pub conflict: Option<(&'a ConflictExplanation, &'a str)>,
    /// Why the call failed, with its causes.
    pub error: Option<String>,
}

impl<'a> UpdateReport<'a> {
    /// A report of `result` with nothing else known yet.
    pub fn new(plan: &'a Plan, result: &'static str) -> UpdateReport<'a> {
        UpdateReport {
            plan,
            result,
            took: None,
            before: None,
            after: None,
            conflict: None,
            error: None,
        }
    }
}

fn read_json(read: Option<&AppRead>) -> serde_json::Value {
    match read {
        None => serde_json::Value::Null,
        Some(Ok(app)) => serde_json::to_value(app_json(app)).unwrap_or_default(),
        Some(Err(e)) => json!({ "error": e.to_string() }),
    }
}

/// `activate --json`, `deactivate --json`: one object with the plan, the result and the app's
/// state before and after.
pub fn json(r: &UpdateReport) -> String {
    let plan = r.plan;
    let entries: Vec<serde_json::Value> = plan
        .entries
        .iter()
        .map(|e| {
            json!({
                "region": e.region,
                "routing_control_name": e.control_name,
                "routing_control_arn": e.control_arn,
                "state": e.state.as_str(),
            })
        })
        .collect();
    let conflict = r
        .conflict
        .map(|(x, command)| conflict::json(x, plan, command));
    serde_json::to_string_pretty(&json!({
        "action": plan.action.as_str(),
        "app": plan.app,
        "region": plan.region,
        "hostname": plan.hostname,
        "entries": entries,
        "overrides": plan.overrides,
        "result": r.result,
        "took_ms": r.took.map(|d| d.as_millis() as u64),
        "before": read_json(r.before),
        "after": read_json(r.after),
        "conflict": conflict,
        "error": r.error,
    }))
    .unwrap_or_default()
}
