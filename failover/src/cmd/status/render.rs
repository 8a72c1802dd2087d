//! What `status` prints: the table, the JSON object, and one app's line (which `activate` and
//! `deactivate` print before and after their call).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::json;

use super::gateways::Ejections;
use super::{AppStatus, Status, Warning};
use crate::table::columns;

fn state_text(s: Option<recovery::ControlState>) -> &'static str {
    match s {
        Some(s) => s.as_str(),
        None => "?",
    }
}

/// `primary`, `secondary` or `other`: the region's part for the app.
pub(crate) fn role(app: &AppStatus, region: &str) -> &'static str {
    if region == app.primary_region {
        "primary"
    } else if region == app.secondary_region {
        "secondary"
    } else {
        "other"
    }
}

/// A warning in words.
fn warning_text(app: &AppStatus, w: &Warning) -> String {
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

/// The status table: per app, each region's control, the active region and warnings (`!`).
pub fn table(status: &Status, cluster: &str) -> String {
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

/// One app of `status --json` (also `before` and `after` of the update commands' JSON).
#[derive(Serialize)]
pub(crate) struct AppJson<'a> {
    active_region: &'a str,
    regions: BTreeMap<&'a str, Option<&'static str>>,
    hostname: &'a str,
    primary_region: &'a str,
    secondary_region: &'a str,
    warnings: Vec<serde_json::Value>,
}

/// `status --json`: `{"apps": {"<app>": {"active_region", "regions": {"<region>": "On"|"Off"|null},
/// "hostname", "primary_region", "secondary_region", "warnings": [{"kind", "message"}]}}}`.
pub fn json(status: &Status) -> String {
    json_with(status, None)
}

/// `status --json`, with `"gateways": {"asked", "reached", "unreachable": [{"url", "error"}],
/// "ejected": {"<app>": {"<region>": <gateways>}}}` when gateways were asked.
pub fn json_with(status: &Status, ejections: Option<&Ejections>) -> String {
    let apps: BTreeMap<&str, AppJson> = status
        .apps
        .values()
        .map(|app| (app.name.as_str(), app_json(app)))
        .collect();
    let mut object = json!({ "apps": apps });
    if let Some(e) = ejections {
        let unreachable: Vec<serde_json::Value> = e
            .unreachable
            .iter()
            .map(|(url, error)| json!({"url": url, "error": error}))
            .collect();
        object["gateways"] = json!({
            "asked": e.asked(),
            "reached": e.reached,
            "unreachable": unreachable,
            "ejected": e.ejected,
        });
    }
    serde_json::to_string_pretty(&object).unwrap_or_default()
}

/// Below the table, when gateways were asked: which of each app's regional endpoints they have
/// ejected, and where that sends the app's requests meanwhile.
pub fn ejections(status: &Status, e: &Ejections) -> String {
    let asked = e.asked();
    let mut out = format!("gateways: {} of {asked} answered /ready\n", e.reached);
    for (url, error) in &e.unreachable {
        let _ = writeln!(out, "  ! {url}: {error}");
    }
    let mut any = false;
    for app in status.apps.values() {
        for region in app.regions.keys() {
            let n = e.count(&app.name, region);
            if n == 0 {
                continue;
            }
            any = true;
            if *region == app.active_region {
                let standby: Vec<&str> = app
                    .regions
                    .keys()
                    .filter(|r| **r != *region && e.count(&app.name, r) < n)
                    .map(String::as_str)
                    .collect();
                let served = if standby.is_empty() {
                    "no standby to fall back to".to_owned()
                } else {
                    format!("served from {}", standby.join(", "))
                };
                let _ = writeln!(
                    out,
                    "  {}: {region} (active, ejected by {n} of {asked} gateways) -> {served}",
                    app.name
                );
            } else {
                let _ = writeln!(
                    out,
                    "  {}: {region} (standby, ejected by {n} of {asked} gateways): a fallback would not go there",
                    app.name
                );
            }
        }
    }
    if !any && e.reached > 0 {
        out.push_str("  no regional endpoint is ejected\n");
    }
    out
}

/// One app of `status --json`.
pub(crate) fn app_json(app: &AppStatus) -> AppJson<'_> {
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
