//! What `probe` prints: the heading, a line per round and the summary (text), or an object per
//! round and a summary object (`--json`).

use std::fmt::Write as _;
use std::time::SystemTime;

use serde_json::json;

use super::rounds::{Change, Round, Summary};
use super::{Options, Stop};
use crate::hops::{Answer, Route};

/// A timestamp as probe lines show it: RFC 3339, UTC, milliseconds.
pub(crate) fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// The line printed before the first round.
pub fn heading(opts: &Options) -> String {
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

fn outcome_text(route: &Route, a: &Answer) -> String {
    let path = route.path;
    let failed = if a.failed() { " FAILED" } else { "" };
    match (a.status, a.error.as_deref()) {
        (Some(status), _) => {
            let gateway = region_or_unknown(&a.regions.gateway);
            let regions = match route.service {
                None => gateway.to_owned(),
                Some(_) => format!("{gateway}>{}", region_or_unknown(&a.regions.service)),
            };
            // A gateway could not reach the app's active region and served this from the standby.
            let fallback = match &a.regions.fallback {
                Some(r) => format!(" (fallback to {r})"),
                None => String::new(),
            };
            format!("{path}: {status} {regions}{fallback}{failed}")
        }
        (None, Some("timeout")) => format!("{path}: timeout{failed}"),
        (None, reason) => format!("{path}: error{failed} ({})", reason.unwrap_or_default()),
    }
}

fn change_text(c: &Change) -> String {
    match c {
        Change::Switched { app, from, to } => format!("{app}: {from} -> {to}"),
        Change::Status { path, from, to } => format!("{path}: {from} -> {to}"),
    }
}

/// One line per round: `*` when something changed, the time, each target, failures, changes.
pub fn line(round: &Round) -> String {
    let mark = if round.changes.is_empty() { ' ' } else { '*' };
    let targets: Vec<String> = round
        .outcomes
        .iter()
        .map(|(t, a)| outcome_text(t, a))
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
pub fn summary(s: &Summary) -> String {
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
pub fn round_json(round: &Round) -> String {
    let targets: Vec<serde_json::Value> = round
        .outcomes
        .iter()
        .map(|(t, a)| {
            json!({
                "path": t.path, "status": a.status, "failed": a.failed(),
                "gateway_region": a.regions.gateway, "service_region": a.regions.service,
                "fallback_region": a.regions.fallback, "error": a.error,
            })
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
pub fn summary_json(s: &Summary) -> String {
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
