//! `failover deactivate` against arc-local in-process, whose default safety rules keep one
//! control of each app On.

mod common;

use common::*;
use recovery::ControlState::{self, Off, On};
use serde_json::{json, Value};

fn both_on(_: &str, _: &str) -> ControlState {
    On
}

/// `failover --cluster FILE deactivate APP us-east-1 --json EXTRA...`: the object printed, stderr
/// and the exit code.
fn deactivate_json(file: &str, app: &str, extra: &[&str]) -> (Value, String, i32) {
    let mut args = vec!["--cluster", file, "deactivate", app, "us-east-1", "--json"];
    args.extend_from_slice(extra);
    let (stdout, stderr, code) = text(&run(&args, None));
    let v = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {stdout}\n{stderr}"));
    (v, stderr, code)
}

/// Each app's regions as `failover status --json` shows them.
fn regions(file: &str) -> Value {
    let (stdout, stderr, code) = text(&run(&["--cluster", file, "status", "--json"], None));
    assert_eq!(code, 0, "{stderr}");
    let status: Value = serde_json::from_str(&stdout).unwrap();
    let apps = status["apps"].as_object().unwrap();
    apps.iter()
        .map(|(app, s)| (app.clone(), s["regions"].clone()))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

#[test]
fn deactivate_sends_one_update_turning_only_that_region_off() {
    let arc = Cluster::with_states(both_on);
    let file = &arc.doc_file;
    let (stdout, stderr, code) = text(&run(
        &["--cluster", file, "deactivate", "service1", "us-east-1"],
        None,
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(
        only_update_entries(&arc),
        json!([{"RoutingControlArn": PRIMARY_RC, "RoutingControlState": "Off"}])
    );
    assert_eq!(arc.state_of(PRIMARY_RC), Off);
    assert_eq!(arc.state_of(SECONDARY_RC), On);
    assert_eq!(
        stdout.lines().next(),
        Some("deactivate service1 in us-east-1 (service1.example.com)")
    );
    assert!(line_of(&stdout, "before:").contains("us-east-1 On, us-west-2 On"));
    assert!(line_of(&stdout, "sent:").contains("[service1-primary-rc Off] overriding none: ok in "));
    assert!(line_of(&stdout, "after:")
        .contains("us-east-1 Off, us-west-2 On; Route 53 answers us-west-2 (secondary)"));
    assert_eq!(
        line_of(&stdout, "done:"),
        "done: service1's us-east-1 control is Off; Route 53 answers service1.example.com from us-west-2 (secondary) as resolvers pick up the change (record TTL plus caches)"
    );
}

#[test]
fn deactivate_dry_run_sends_nothing_in_text_and_json() {
    let arc = Cluster::with_states(both_on);
    let file = &arc.doc_file;
    let args = [
        "--cluster",
        file,
        "deactivate",
        "service1",
        "us-west-2",
        "--dry-run",
    ];
    let (stdout, stderr, code) = text(&run(&args, None));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with(
        "dry run: deactivate service1 in us-west-2 would send one UpdateRoutingControlStates call (nothing sent):\n"
    ));
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(rows.contains(&vec![
        "1.",
        "service1-secondary-rc",
        "us-west-2",
        "Off",
        SECONDARY_RC
    ]));
    assert!(!stdout.contains("2."), "one entry only: {stdout}");

    let mut json_args = args.to_vec();
    json_args.push("--json");
    let (stdout, stderr, code) = text(&run(&json_args, None));
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(v["action"], "deactivate");
    assert_eq!(v["result"], "dry_run");
    assert_eq!(
        v["entries"],
        json!([{"region": "us-west-2", "routing_control_name": "service1-secondary-rc",
                "routing_control_arn": SECONDARY_RC, "state": "Off"}])
    );
    assert!(arc.calls().is_empty(), "{:?}", arc.calls());
}

/// With arc-local's default rules, turning service1's last On control Off is a ConflictException:
/// the command explains it naming the rule, exits 1 and changes nothing; `--override` with the
/// rule's name passes it, leaving both Off.
#[test]
fn the_last_on_control_is_blocked_by_arc_local_and_override_passes_it() {
    let arc = Cluster::start();
    let file = &arc.doc_file;
    let (stdout, stderr, code) = text(&run(
        &["--cluster", file, "deactivate", "service1", "us-east-1"],
        None,
    ));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(line_of(&stdout, "sent:")
        .contains("[service1-primary-rc Off] overriding none: blocked in "));
    for expected in [
        &format!("blocked by a safety rule (ConflictException): Safety rule service1-at-least-one-on ({RULE_ARN}) blocks this change"),
        "nothing changed: UpdateRoutingControlStates applies all its entries or none.",
        "the rule, from the cluster document:",
        &format!("  service1-at-least-one-on ({RULE_ARN})"),
        "assertion rule, ATLEAST 1: after every change, at least 1 of the asserted controls must be On",
        &format!("failover --cluster {file} deactivate service1 us-east-1 --override {RULE_ARN}\n"),
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
    assert_eq!(
        regions(file)["service1"],
        json!({"us-east-1": "On", "us-west-2": "Off"}),
        "nothing changed"
    );

    let (stdout, stderr, code) = text(&run(
        &[
            "--cluster",
            file,
            "deactivate",
            "service1",
            "us-east-1",
            "--override",
            "service1-at-least-one-on",
        ],
        None,
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(line_of(&stdout, "sent:").contains(&format!("overriding {RULE_ARN}: ok in ")));
    let after = line_of(&stdout, "after:");
    assert!(
        after.contains("us-east-1 Off, us-west-2 Off")
            && after
                .contains("! both Off: no healthy record: Route 53 answers PRIMARY (us-east-1)"),
        "{after}"
    );
    // The other apps are untouched.
    let regions = regions(file);
    for app in ["external-api", "service2"] {
        assert_eq!(
            regions[app],
            json!({"us-east-1": "On", "us-west-2": "Off"}),
            "{app}"
        );
    }
}

#[test]
fn json_reports_the_block_with_its_rule_and_then_the_override() {
    let arc = Cluster::start();
    let file = &arc.doc_file;
    let (v, stderr, code) = deactivate_json(file, "service2", &[]);
    assert_eq!(code, 1, "{v}\n{stderr}");
    // stderr carries only the audit trail's record of the refused change: one JSON line.
    let audit: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not an audit line ({e}): {l}")))
        .collect();
    assert_eq!(audit.len(), 1, "{stderr}");
    assert_eq!(
        (&audit[0]["action"], &audit[0]["result"]),
        (&json!("deactivate"), &json!("refused")),
        "{stderr}"
    );
    let rule =
        "arn:aws:route53-recovery-control::000000000000:controlpanel/service2/safetyrule/service2-at-least-one-on";
    assert_eq!(v["action"], "deactivate");
    assert_eq!(v["result"], "blocked");
    assert_eq!(
        v["before"]["regions"],
        json!({"us-east-1": "On", "us-west-2": "Off"})
    );
    assert_eq!(v["after"], Value::Null);
    assert_eq!(v["conflict"]["identified"], true);
    assert_eq!(
        v["conflict"]["rules"][0]["name"],
        "service2-at-least-one-on"
    );
    assert_eq!(v["conflict"]["override_arn"], rule);
    assert_eq!(
        v["conflict"]["retry"],
        format!("failover --cluster {file} deactivate service2 us-east-1 --override {rule}")
    );
    assert!(v["conflict"]["message"]
        .as_str()
        .unwrap()
        .contains("service2-at-least-one-on"));

    let (v, stderr, code) = deactivate_json(file, "service2", &["--override", rule]);
    assert_eq!(code, 0, "{v}\n{stderr}");
    assert_eq!(v["result"], "ok");
    assert_eq!(v["overrides"], json!([rule]));
    assert_eq!(
        v["after"]["regions"],
        json!({"us-east-1": "Off", "us-west-2": "Off"})
    );
    assert_eq!(v["after"]["warnings"][0]["kind"], "none_on");
    assert_eq!(v["conflict"], Value::Null);
}
