//! `check`'s output: a table, one line per app, standby region and check, with a verdict at the
//! end; or one JSON object with the same findings and the raw readings.

use serde_json::json;

use super::{Level, Readiness};
use crate::table;

/// The table and the verdict line.
pub fn table(readiness: &Readiness, heading: &str) -> String {
    let mut rows = vec![vec![
        "APP".to_owned(),
        "ACTIVE".to_owned(),
        "STANDBY".to_owned(),
        "CHECK".to_owned(),
        "RESULT".to_owned(),
        "DETAIL".to_owned(),
    ]];
    for a in &readiness.assessments {
        for c in &a.checks {
            rows.push(vec![
                a.app.clone(),
                a.active_region.clone(),
                a.region.clone(),
                c.check.to_owned(),
                c.result.as_str().to_owned(),
                c.detail.clone(),
            ]);
        }
    }
    let mut out = format!("cluster {heading}\n");
    out.push_str(&table::columns(&rows));
    out.push_str(&verdict(readiness));
    out.push('\n');
    out
}

/// `ready: ...` or `NOT READY: <app> <region> (<checks>); ...`.
pub fn verdict(readiness: &Readiness) -> String {
    let failing: Vec<String> = readiness
        .assessments
        .iter()
        .filter(|a| !a.ready)
        .map(|a| {
            let checks: Vec<&str> = a
                .checks
                .iter()
                .filter(|c| c.result == Level::Fail)
                .map(|c| c.check)
                .collect();
            format!("{} {} ({})", a.app, a.region, checks.join(", "))
        })
        .collect();
    let warnings = readiness
        .assessments
        .iter()
        .flat_map(|a| &a.checks)
        .filter(|c| c.result == Level::Warn)
        .count();
    if failing.is_empty() {
        format!(
            "ready: every standby region can take its app ({} region{} checked, {warnings} warning{})",
            readiness.assessments.len(),
            if readiness.assessments.len() == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        )
    } else {
        format!("NOT READY: a switch to {} would fail", failing.join("; "))
    }
}

/// One JSON object: `ready`, the cluster, and per app and standby region the checks and
/// readings.
pub fn json(readiness: &Readiness, cluster_arn: &str) -> String {
    json!({
        "ready": readiness.ready(),
        "cluster_arn": cluster_arn,
        "standbys": readiness.assessments,
    })
    .to_string()
}
