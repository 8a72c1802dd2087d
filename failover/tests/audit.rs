//! The audit trail against arc-local in-process: `activate` records who changed what from which
//! states to which, with the safety rules evaluated, on stderr and in `audit.jsonl`; a change a
//! safety rule refuses (ConflictException) is recorded as refused; a dry run records nothing.
//! (`audit_aws.rs`: the caller identity in AWS.)

mod common;

use std::path::Path;

use common::*;
use recovery::ControlState::On;
use serde_json::Value;

/// The records in `dir`'s audit.jsonl.
fn records(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The JSON lines of `stderr` (the audit records written there).
fn json_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn activate_records_who_what_from_to_and_the_rules() {
    let arc = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let report_dir = dir.path().join("reports");
    let rd = report_dir.to_str().unwrap();
    let file = &arc.doc_file;

    let (_, stderr, code) = text(&run(
        &[
            "--cluster",
            file,
            "activate",
            "service1",
            "us-west-2",
            "--dry-run",
        ],
        None,
    ));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        records(&report_dir).is_empty(),
        "a dry run changes nothing, records nothing"
    );

    let (stdout, stderr, code) = text(&run_env(
        &[
            "--cluster",
            file,
            "activate",
            "service1",
            "us-west-2",
            "--report-dir",
            rd,
        ],
        None,
        &[("USER", "operator")],
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(arc.state_of(SECONDARY_RC), On);
    let all = records(&report_dir);
    assert_eq!(all.len(), 1, "{all:?}");
    let r = &all[0];
    assert_eq!(json_lines(&stderr), all, "the same record on stderr");
    assert_eq!(r["who"]["kind"], "local");
    assert!(
        r["who"]["identity"]
            .as_str()
            .unwrap()
            .starts_with("operator@"),
        "{r}"
    );
    assert_eq!(r["via"], "failover activate");
    assert_eq!(r["action"], "activate");
    assert_eq!(
        (&r["app"], &r["region"]),
        (&"service1".into(), &"us-west-2".into())
    );
    assert_eq!(r["cluster"], arc.document().cluster_arn.as_str());
    assert_eq!(
        r["from"],
        serde_json::json!({"us-east-1": "On", "us-west-2": "Off"})
    );
    assert_eq!(
        r["to"],
        serde_json::json!({"us-east-1": "Off", "us-west-2": "On"})
    );
    assert_eq!(r["result"], "applied");
    let rules = r["safety_rules"].as_array().unwrap();
    assert!(!rules.is_empty(), "the panel's rules were evaluated: {r}");
    assert!(
        rules
            .iter()
            .all(|v| v["passes"] == true && v["overridden"] == false),
        "{r}"
    );
    assert!(r["started_at"].as_str().unwrap() <= r["ended_at"].as_str().unwrap());

    // The same report directory: records are appended.
    let (_, stderr, code) = text(&run(
        &[
            "--cluster",
            file,
            "activate",
            "service1",
            "us-east-1",
            "--report-dir",
            rd,
        ],
        None,
    ));
    assert_eq!(code, 0, "{stderr}");
    let all = records(&report_dir);
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[1]["from"],
        serde_json::json!({"us-east-1": "Off", "us-west-2": "On"})
    );
}

#[test]
fn a_change_a_safety_rule_refuses_is_recorded_as_refused() {
    let arc = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let rd = dir.path().to_str().unwrap();
    // service1's only On control, turned Off: the default rule keeps one On.
    let (stdout, stderr, code) = text(&run(
        &[
            "--cluster",
            &arc.doc_file,
            "deactivate",
            "service1",
            "us-east-1",
            "--report-dir",
            rd,
        ],
        None,
    ));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_eq!(arc.state_of(PRIMARY_RC), On, "nothing changed");
    let all = records(dir.path());
    assert_eq!(all.len(), 1, "{all:?}");
    let r = &all[0];
    assert_eq!(r["result"], "refused", "{r}");
    assert_eq!(r["via"], "failover deactivate");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .starts_with("ConflictException"),
        "{r}"
    );
    assert_eq!(
        r["from"],
        serde_json::json!({"us-east-1": "On", "us-west-2": "Off"})
    );
    assert_eq!(r["to"], serde_json::json!({"us-east-1": "Off"}));
    assert!(
        r["safety_rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["passes"] == false),
        "the rule that blocks it is in the record: {r}"
    );
}
