//! Every text and JSON the command prints, in one place. The other modules compute; this one
//! renders. Functions return strings (no trailing newline unless they are several lines) so tests
//! and callers decide where they go.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::json;

use crate::activate::{Action, ConflictExplanation, Plan, RuleView};
use crate::probe::{Change, Options, Outcome, Round, Stop, Summary};
use crate::status::{AppStatus, Status, Warning};

// ---------------------------------------------------------------------------------------------
// status

/// Printed after an unreachable-cluster error when no document was given.
pub const DEFAULT_UNREACHABLE_HINT: &str = "hint: no --cluster given, so this is arc-local's default topology at 127.0.0.1:8600-8604: is arc-local running? For a real cluster, pass --cluster FILE.";

fn state_text(s: Option<recovery::ControlState>) -> &'static str {
    match s {
        Some(s) => s.as_str(),
        None => "?",
    }
}

fn role(app: &AppStatus, region: &str) -> &'static str {
    if region == app.primary_region {
        "primary"
    } else if region == app.secondary_region {
        "secondary"
    } else {
        "other"
    }
}

/// A warning in words.
pub fn warning_text(app: &AppStatus, w: &Warning) -> String {
    let all = if app.regions.len() == 2 {
        "both"
    } else {
        "all"
    };
    match w {
        Warning::NoneOn => {
            format!(
                "{all} Off: no healthy record: Route 53 answers PRIMARY ({})",
                app.primary_region
            )
        }
        Warning::AllOn => format!(
            "{all} On: Route 53 answers PRIMARY ({}) and no region stands by",
            app.primary_region
        ),
        Warning::Missing(regions) => format!(
            "not listed by the cluster: {} (check the cluster document)",
            regions.join(", ")
        ),
    }
}

fn warning_code(w: &Warning) -> &'static str {
    match w {
        Warning::NoneOn => "none_on",
        Warning::AllOn => "all_on",
        Warning::Missing(_) => "missing_controls",
    }
}

/// Lays out rows as left-aligned columns two spaces apart (the last column unpadded).
fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The status table: per app, each region's control, the active region and warnings (`!`).
pub fn status_table(status: &Status, cluster: &str) -> String {
    let mut regions: Vec<&str> = Vec::new();
    for app in status.apps.values() {
        for r in app.regions.keys() {
            if !regions.contains(&r.as_str()) {
                regions.push(r);
            }
        }
    }
    regions.sort_unstable();
    let mut header = vec!["APP".to_owned()];
    header.extend(regions.iter().map(|r| (*r).to_owned()));
    header.extend(["ACTIVE".to_owned(), "HOSTNAME".to_owned(), String::new()]);
    let mut rows = vec![header];
    let mut warnings = 0;
    for app in status.apps.values() {
        let mut row = vec![app.name.clone()];
        row.extend(regions.iter().map(|r| match app.regions.get(*r) {
            Some(s) => state_text(*s).to_owned(),
            None => "-".to_owned(),
        }));
        row.push(format!(
            "{} ({})",
            app.active_region,
            role(app, &app.active_region)
        ));
        row.push(app.hostname.clone());
        let notes: Vec<String> = app
            .warnings
            .iter()
            .map(|w| format!("! {}", warning_text(app, w)))
            .collect();
        warnings += notes.len();
        row.push(notes.join("; "));
        rows.push(row);
    }
    let mut out = format!("cluster {cluster}\n");
    out.push_str(&columns(&rows));
    if warnings > 0 {
        out.push_str(
            "! marks a state to look at: Route 53 fails over only from a clean one-On state.\n",
        );
    }
    out
}

#[derive(Serialize)]
struct AppJson<'a> {
    active_region: &'a str,
    regions: std::collections::BTreeMap<&'a str, Option<&'static str>>,
    hostname: &'a str,
    primary_region: &'a str,
    secondary_region: &'a str,
    warnings: Vec<serde_json::Value>,
}

/// `status --json`: `{"apps": {"<app>": {"active_region", "regions": {"<region>": "On"|"Off"|null},
/// "hostname", "primary_region", "secondary_region", "warnings": [{"kind", "message"}]}}}`.
pub fn status_json(status: &Status) -> String {
    let apps: std::collections::BTreeMap<&str, AppJson> = status
        .apps
        .values()
        .map(|app| (app.name.as_str(), app_json(app)))
        .collect();
    serde_json::to_string_pretty(&json!({ "apps": apps })).unwrap_or_default()
}

/// One app of `status --json`.
fn app_json(app: &AppStatus) -> AppJson<'_> {
    AppJson {
        active_region: &app.active_region,
        regions: app
            .regions
            .iter()
            .map(|(r, s)| (r.as_str(), s.map(|s| s.as_str())))
            .collect(),
        hostname: &app.hostname,
        primary_region: &app.primary_region,
        secondary_region: &app.secondary_region,
        warnings: app
            .warnings
            .iter()
            .map(|w| json!({"kind": warning_code(w), "message": warning_text(app, w)}))
            .collect(),
    }
}

/// One app's states on one line: `us-east-1 On, us-west-2 Off; Route 53 answers us-east-1 (primary)`.
pub fn app_line(app: &AppStatus) -> String {
    let states: Vec<String> = app
        .regions
        .iter()
        .map(|(r, s)| format!("{r} {}", state_text(*s)))
        .collect();
    let mut line = format!(
        "{}; Route 53 answers {} ({})",
        states.join(", "),
        app.active_region,
        role(app, &app.active_region)
    );
    for w in &app.warnings {
        let _ = write!(line, "  ! {}", warning_text(app, w));
    }
    line
}

// ---------------------------------------------------------------------------------------------
// activate and deactivate

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
pub fn state_line(label: &str, app: Result<&AppStatus, String>) -> String {
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
pub fn conflict(x: &ConflictExplanation, plan: &Plan, command: &str) -> String {
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

/// How an `activate` or `deactivate` call ended, for `--json`.
pub struct UpdateReport<'a> {
    pub plan: &'a Plan,
    /// `dry_run`, `ok`, `blocked` or `failed`.
    pub result: &'static str,
    /// How long the update call took; `None` for a dry run.
    pub took: Option<Duration>,
    /// The app before and after the call, as read from the cluster (or why it is not known);
    /// `None` when not read.
    pub before: Option<Result<&'a AppStatus, String>>,
    pub after: Option<Result<&'a AppStatus, String>>,
    /// The explanation of a block and the command without `--override`.
    pub conflict: Option<(&'a ConflictExplanation, &'a str)>,
    /// Why the call failed.
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

fn read_json(read: &Option<Result<&AppStatus, String>>) -> serde_json::Value {
    match read {
        None => serde_json::Value::Null,
        Some(Ok(app)) => serde_json::to_value(app_json(app)).unwrap_or_default(),
        Some(Err(e)) => json!({ "error": e }),
    }
}

/// `activate --json`, `deactivate --json`: one object with the plan, the result and the app's
/// state before and after.
pub fn update_json(r: &UpdateReport) -> String {
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
    let conflict = r.conflict.map(|(x, command)| {
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
    });
    serde_json::to_string_pretty(&json!({
        "action": plan.action.as_str(),
        "app": plan.app,
        "region": plan.region,
        "hostname": plan.hostname,
        "entries": entries,
        "overrides": plan.overrides,
        "result": r.result,
        "took_ms": r.took.map(|d| d.as_millis() as u64),
        "before": read_json(&r.before),
        "after": read_json(&r.after),
        "conflict": conflict,
        "error": r.error,
    }))
    .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// probe

/// A timestamp as probe lines show it: RFC 3339, UTC, milliseconds.
pub fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// The line printed before the first round.
pub fn probe_heading(opts: &Options) -> String {
    let until = match opts.stop {
        Stop::Rounds(n) => format!("for {n} round{}", if n == 1 { "" } else { "s" }),
        Stop::After(d) => format!("for {}", humantime::format_duration(d)),
        Stop::Signal => "until Ctrl-C".to_owned(),
    };
    format!(
        "probing {} every {} {until} (/, /service1, /service2; regions shown as gateway>service; * marks a change)",
        opts.base,
        humantime::format_duration(opts.interval)
    )
}

fn region_or_unknown(r: &Option<String>) -> &str {
    r.as_deref().unwrap_or("?")
}

fn outcome_text(path: &str, o: &Outcome) -> String {
    let failed = if o.failed() { " FAILED" } else { "" };
    match o {
        Outcome::Answered {
            status,
            gateway_region,
            service_region,
        } => {
            let regions = if path == "/" {
                region_or_unknown(gateway_region).to_owned()
            } else {
                format!(
                    "{}>{}",
                    region_or_unknown(gateway_region),
                    region_or_unknown(service_region)
                )
            };
            format!("{path}: {status} {regions}{failed}")
        }
        Outcome::Failed { reason } if reason == "timeout" => format!("{path}: timeout{failed}"),
        Outcome::Failed { reason } => format!("{path}: error{failed} ({reason})"),
    }
}

fn change_text(c: &Change) -> String {
    match c {
        Change::Switched { app, from, to } => format!("{app}: {from} -> {to}"),
        Change::Status { path, from, to } => format!("{path}: {from} -> {to}"),
    }
}

/// One line per round: `*` when something changed, the time, each target, failures, changes.
pub fn probe_line(round: &Round) -> String {
    let mark = if round.changes.is_empty() { ' ' } else { '*' };
    let targets: Vec<String> = round
        .outcomes
        .iter()
        .map(|(t, o)| outcome_text(t.path, o))
        .collect();
    let mut line = format!("{mark} {}  {}", timestamp(round.time), targets.join("  "));
    if round.failed_so_far > 0 {
        let _ = write!(line, "  [{} failed so far]", round.failed_so_far);
    }
    if !round.changes.is_empty() {
        let changes: Vec<String> = round.changes.iter().map(change_text).collect();
        let _ = write!(line, "  | {}", changes.join("; "));
    }
    line
}

/// The end-of-run summary: counts, then per app when it switched.
pub fn probe_summary(s: &Summary) -> String {
    let per_target: Vec<String> = s
        .failed_by_target
        .iter()
        .map(|(p, n)| format!("{p}: {n}"))
        .collect();
    let mut out = format!(
        "summary: {} round{}, {} requests, {} failed ({}){}\n",
        s.rounds,
        if s.rounds == 1 { "" } else { "s" },
        s.requests,
        s.failed,
        per_target.join(", "),
        if s.interrupted {
            ", stopped by signal"
        } else {
            ""
        }
    );
    out.push_str("switches:\n");
    let width = s.apps.iter().map(|a| a.app.len()).max().unwrap_or(0);
    for app in &s.apps {
        match (&app.first_region, app.switches.as_slice()) {
            (None, _) => {
                let _ = writeln!(
                    out,
                    "  {:<width$}  none (never answered successfully)",
                    app.app
                );
            }
            (Some(r), []) => {
                let _ = writeln!(out, "  {:<width$}  none ({r} throughout)", app.app);
            }
            (Some(_), switches) => {
                for (i, sw) in switches.iter().enumerate() {
                    let name = if i == 0 { app.app } else { "" };
                    let _ = writeln!(
                        out,
                        "  {name:<width$}  {}  {} -> {}",
                        timestamp(sw.time),
                        sw.from,
                        sw.to
                    );
                }
            }
        }
    }
    out
}

/// `probe --json`: one object per round.
pub fn probe_round_json(round: &Round) -> String {
    let targets: Vec<serde_json::Value> = round
        .outcomes
        .iter()
        .map(|(t, o)| match o {
            Outcome::Answered {
                status,
                gateway_region,
                service_region,
            } => json!({
                "path": t.path, "status": status, "failed": o.failed(),
                "gateway_region": gateway_region, "service_region": service_region, "error": null,
            }),
            Outcome::Failed { reason } => json!({
                "path": t.path, "status": null, "failed": true,
                "gateway_region": null, "service_region": null, "error": reason,
            }),
        })
        .collect();
    let changes: Vec<serde_json::Value> = round
        .changes
        .iter()
        .map(|c| match c {
            Change::Switched { app, from, to } => {
                json!({"kind": "switched", "app": app, "from": from, "to": to})
            }
            Change::Status { path, from, to } => {
                json!({"kind": "status", "path": path, "from": from, "to": to})
            }
        })
        .collect();
    json!({
        "round": round.number,
        "time": timestamp(round.time),
        "targets": targets,
        "changes": changes,
        "failed_so_far": round.failed_so_far,
    })
    .to_string()
}

/// `probe --json`: the summary object, last.
pub fn probe_summary_json(s: &Summary) -> String {
    let apps: serde_json::Map<String, serde_json::Value> = s
        .apps
        .iter()
        .map(|a| {
            let switches: Vec<serde_json::Value> = a
                .switches
                .iter()
                .map(|sw| json!({"time": timestamp(sw.time), "from": sw.from, "to": sw.to}))
                .collect();
            (
                a.app.to_owned(),
                json!({"first_region": a.first_region, "switches": switches}),
            )
        })
        .collect();
    let failed_by_target: serde_json::Map<String, serde_json::Value> = s
        .failed_by_target
        .iter()
        .map(|(p, n)| ((*p).to_owned(), json!(n)))
        .collect();
    json!({"summary": {
        "rounds": s.rounds,
        "requests": s.requests,
        "failed": s.failed,
        "failed_by_target": failed_by_target,
        "apps": apps,
        "interrupted": s.interrupted,
    }})
    .to_string()
}
