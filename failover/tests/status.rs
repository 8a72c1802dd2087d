//! `failover status` against a fake ARC data plane.

mod common;

use common::*;
use recovery::ControlState::{self, Off, On};
use serde_json::Value;

/// external-api in us-east-1, service1 with both controls Off, service2 in us-west-2.
fn states(app: &str, region: &str) -> ControlState {
    match (app, region) {
        ("external-api", "us-east-1") => On,
        ("service2", "us-west-2") => On,
        _ => Off,
    }
}

#[test]
fn status_table_shows_states_active_region_and_warnings() {
    let arc = FakeArc::start(&document_at("http://127.0.0.1:1"), states);
    let file = doc_file(&document_at(&arc.url()));
    let (stdout, stderr, code) = text(&run(&["--cluster", &file, "status"], None));
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    let row = |app: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{app} ")))
            .unwrap_or_else(|| panic!("no row for {app}:\n{stdout}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(stdout
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>()
            == ["APP", "us-east-1", "us-west-2", "ACTIVE", "HOSTNAME"]));
    assert_eq!(
        row("external-api"),
        "external-api On Off us-east-1 (primary) externalapi.example.com"
    );
    assert_eq!(
        row("service1"),
        "service1 Off Off us-east-1 (primary) service1.example.com ! both Off: no healthy record: Route 53 answers PRIMARY (us-east-1)"
    );
    assert_eq!(
        row("service2"),
        "service2 Off On us-west-2 (secondary) service2.example.com"
    );

    // One ListRoutingControls call per control panel (plus page follow-ups), each for its panel.
    let lists = arc.calls_of("ListRoutingControls");
    let first_pages: Vec<&str> = lists
        .iter()
        .filter(|b| b.get("NextToken").is_none())
        .map(|b| b["ControlPanelArn"].as_str().unwrap())
        .collect();
    let mut sorted = first_pages.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "arn:aws:route53-recovery-control::000000000000:controlpanel/external-api",
            "arn:aws:route53-recovery-control::000000000000:controlpanel/service1",
            "arn:aws:route53-recovery-control::000000000000:controlpanel/service2",
        ]
    );
    assert!(arc.calls_of("UpdateRoutingControlStates").is_empty());
}

#[test]
fn status_warns_when_both_controls_are_on() {
    let arc = FakeArc::start(&document_at("http://127.0.0.1:1"), |app, _| {
        if app == "service1" {
            On
        } else {
            states(app, "us-east-1")
        }
    });
    let file = doc_file(&document_at(&arc.url()));
    let (stdout, stderr, code) = text(&run(&["--cluster", &file, "status"], None));
    assert_eq!(code, 0, "{stderr}");
    let row = stdout.lines().find(|l| l.starts_with("service1 ")).unwrap();
    assert!(row.contains("! both On"), "{row}");
}

#[test]
fn status_json_reads_the_document_from_stdin_in_terraform_string_form() {
    let arc = FakeArc::start(&document_at("http://127.0.0.1:1"), states);
    let doc = serde_json::to_string(&document_at(&arc.url())).unwrap();
    // `terraform output -json cluster_document` prints the object as a JSON string.
    let as_string = serde_json::to_string(&doc).unwrap();
    let (stdout, stderr, code) = text(&run(
        &["--cluster", "-", "status", "--json"],
        Some(&as_string),
    ));
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).expect("status --json prints JSON");
    let s1 = &v["apps"]["service1"];
    assert_eq!(s1["active_region"], "us-east-1");
    assert_eq!(s1["regions"]["us-east-1"], "Off");
    assert_eq!(s1["regions"]["us-west-2"], "Off");
    assert_eq!(s1["hostname"], "service1.example.com");
    assert_eq!(s1["warnings"][0]["kind"], "none_on");
    let s2 = &v["apps"]["service2"];
    assert_eq!(s2["active_region"], "us-west-2");
    assert_eq!(s2["regions"]["us-west-2"], "On");
    assert_eq!(s2["warnings"], Value::Array(vec![]));
    assert_eq!(v["apps"]["external-api"]["active_region"], "us-east-1");
    assert_eq!(v["apps"].as_object().unwrap().len(), 3);
}

#[test]
fn status_exits_1_when_no_endpoint_answers() {
    let file = doc_file(&document_at(&format!("http://127.0.0.1:{}", closed_port())));
    let (_, stderr, code) = text(&run(
        &["--cluster", &file, "--timeout", "1s", "status"],
        None,
    ));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no cluster endpoint answered"), "{stderr}");
    assert!(
        stderr.contains("us-east-1: unreachable: Connection refused"),
        "{stderr}"
    );
}

#[test]
fn bad_documents_and_options_exit_2_naming_the_value() {
    let (_, stderr, code) = text(&run(
        &["--cluster", "-", "status"],
        Some("{\"version\": 7}"),
    ));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cluster document"), "{stderr}");

    let (_, stderr, code) = text(&run(&["--cluster", "/nonexistent/c.json", "status"], None));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("/nonexistent/c.json"), "{stderr}");

    let (_, stderr, code) = text(&run(&["--timeout", "10m", "status"], None));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("\"10m\" is out of range"), "{stderr}");
}

#[test]
fn help_says_which_cluster_is_used_by_default() {
    let (stdout, _, code) = text(&run(&["--help"], None));
    assert_eq!(code, 0);
    assert!(
        stdout.contains("arc-local's default topology at 127.0.0.1")
            && stdout.contains("http://127.0.0.1:8600"),
        "{stdout}"
    );
}
