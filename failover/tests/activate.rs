//! `failover activate` against arc-local in-process, with safety-rule conflicts, refused reads
//! and throttled updates from its fault hook.

mod common;

use arc_local::{ErrorCode, Fault, Operation};
use common::*;
use recovery::ControlState::{Off, On};
use serde_json::{json, Value};

const PANEL: &str = "arn:aws:route53-recovery-control::000000000000:controlpanel/service1";
const UPDATE: Operation = Operation::UpdateRoutingControlStates;

/// A cluster with every app's primary control On, and its document file.
fn setup() -> (Cluster, String) {
    let arc = Cluster::start();
    let file = arc.doc_file.clone();
    (arc, file)
}

/// Makes the cluster refuse every update that does not override `rule_arn`, as a safety rule
/// that blocks the change would.
fn block(arc: &Cluster, rule_arn: &str, message: &str) {
    arc.faults().add(
        Fault::conflict(rule_arn, message)
            .on(UPDATE)
            .unless_overriding(rule_arn),
    );
}

#[test]
fn activate_sends_one_update_with_the_region_on_first_and_the_others_off() {
    let (arc, file) = setup();
    let (stdout, stderr, code) = text(&run(
        &["--cluster", &file, "activate", "service1", "us-west-2"],
        None,
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    assert_eq!(
        only_update_entries(&arc),
        json!([
            {"RoutingControlArn": SECONDARY_RC, "RoutingControlState": "On"},
            {"RoutingControlArn": PRIMARY_RC, "RoutingControlState": "Off"},
        ])
    );
    let updates = arc.calls_of(UPDATE);
    let overrides = updates[0]
        .get("SafetyRulesToOverride")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    assert!(overrides.is_empty(), "{overrides:?}");
    assert!(arc
        .calls_of(Operation::UpdateRoutingControlState)
        .is_empty());
    assert_eq!(arc.state_of(SECONDARY_RC), On);
    assert_eq!(arc.state_of(PRIMARY_RC), Off);

    // Before and after are read from the app's panel, around the update (and once more just
    // before it, for the audit record's `from`).
    let ops: Vec<String> = arc
        .calls()
        .into_iter()
        .filter(|(op, b)| op != "ListRoutingControls" || b.get("NextToken").is_none())
        .map(|(op, b)| format!("{op} {}", b["ControlPanelArn"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        ops,
        [
            format!("ListRoutingControls {PANEL}"),
            format!("ListRoutingControls {PANEL}"),
            "UpdateRoutingControlStates ".to_owned(),
            format!("ListRoutingControls {PANEL}"),
        ]
    );
    let line = |label: &str| line_of(&stdout, label);
    assert!(line("before:")
        .contains("us-east-1 On, us-west-2 Off; Route 53 answers us-east-1 (primary)"));
    assert!(line("after:")
        .contains("us-east-1 Off, us-west-2 On; Route 53 answers us-west-2 (secondary)"));
    let sent = line("sent:");
    assert!(
        sent.contains("[service1-secondary-rc On, service1-primary-rc Off]")
            && sent.contains(": ok in ")
            && sent.ends_with(" ms"),
        "{sent}"
    );
}

#[test]
fn a_failed_state_read_does_not_stop_the_update() {
    let (arc, file) = setup();
    // An IAM policy that allows updates only.
    arc.faults().add(
        Fault::error(ErrorCode::AccessDenied)
            .message("not authorized to perform route53-recovery-cluster:ListRoutingControls")
            .on(Operation::ListRoutingControls),
    );
    let (stdout, stderr, code) = text(&run(
        &["--cluster", &file, "activate", "service1", "us-west-2"],
        None,
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(arc.calls_of(UPDATE).len(), 1);
    assert_eq!(arc.state_of(SECONDARY_RC), On);
    let before = stdout.lines().find(|l| l.starts_with("before:")).unwrap();
    assert!(
        before.contains("unknown: cannot list the routing controls of control panel service1")
            && before.contains("access denied: not authorized"),
        "{before}"
    );
}

#[test]
fn an_unreachable_cluster_exits_1() {
    let doc = doc_file(&document_at(&format!("http://127.0.0.1:{}", closed_port())));
    let file = &doc.path;
    let (stdout, stderr, code) = text(&run(
        &["--cluster", file, "activate", "service1", "us-west-2"],
        None,
    ));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains(": failed in "), "{stdout}");
    assert!(
        stderr.contains("UpdateRoutingControlStates for service1 failed")
            && stderr.contains(
                "no cluster endpoint answered (us-east-1: unreachable: Connection refused"
            ),
        "{stderr}"
    );
}

#[test]
fn a_conflict_explains_the_rule_and_how_to_override_and_exits_1() {
    let (arc, file) = setup();
    block(
        &arc,
        RULE_ARN,
        "Cannot update routing control states: violates safety rule service1-at-least-one-on",
    );
    let (stdout, stderr, code) = text(&run(
        &["--cluster", &file, "activate", "service1", "us-west-2"],
        None,
    ));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_eq!(arc.calls_of(UPDATE).len(), 1);
    assert_eq!(arc.state_of(PRIMARY_RC), On, "nothing changed");
    assert!(stdout.contains(": blocked in "), "{stdout}");
    for expected in [
        "blocked by a safety rule (ConflictException): Cannot update routing control states: violates safety rule service1-at-least-one-on",
        &format!("service1-at-least-one-on ({RULE_ARN})"),
        "assertion rule, ATLEAST 1: after every change, at least 1 of the asserted controls must be On",
        "wait period 5000 ms",
        &format!("asserted:  service1/us-east-1 (service1-primary-rc)  {PRIMARY_RC}"),
        &format!("service1/us-west-2 (service1-secondary-rc)  {SECONDARY_RC}"),
        &format!("failover --cluster {file} activate service1 us-west-2 --override {RULE_ARN}"),
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
}

#[test]
fn a_conflict_naming_an_unknown_rule_offers_its_arn() {
    let (arc, file) = setup();
    let other =
        "arn:aws:route53-recovery-control::000000000000:controlpanel/service1/safetyrule/gate";
    block(&arc, other, &format!("Blocked by gating rule {other}."));
    let (_, stderr, code) = text(&run(
        &["--cluster", &file, "activate", "service1", "us-west-2"],
        None,
    ));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("the message names no rule of the cluster document"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("--override {other}\n")),
        "{stderr}"
    );
}

#[test]
fn override_maps_a_rule_name_to_its_arn() {
    let (arc, file) = setup();
    block(
        &arc,
        RULE_ARN,
        "violates safety rule service1-at-least-one-on",
    );
    let (stdout, stderr, code) = text(&run(
        &[
            "--cluster",
            &file,
            "activate",
            "service1",
            "us-west-2",
            "--override",
            "service1-at-least-one-on",
        ],
        None,
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let updates = arc.calls_of(UPDATE);
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["SafetyRulesToOverride"], json!([RULE_ARN]));
    assert_eq!(arc.state_of(SECONDARY_RC), On);
    assert!(
        stdout.contains(&format!("overriding {RULE_ARN}: ok")),
        "{stdout}"
    );
}

#[test]
fn bad_app_region_or_rule_exit_2_naming_the_value_without_calling() {
    let (arc, file) = setup();
    let cases: [(&[&str], &str); 3] = [
        (
            &["activate", "servce1", "us-west-2"],
            "failover: unknown app \"servce1\" (apps: external-api, service1, service2); did you mean \"service1\"?",
        ),
        (
            &["activate", "service1", "us-west-1"],
            "failover: unknown region \"us-west-1\" for service1 (regions: us-east-1, us-west-2)",
        ),
        (
            &["activate", "service1", "us-west-2", "--override", "no-such-rule"],
            "failover: unknown safety rule \"no-such-rule\" in --override",
        ),
    ];
    for (args, expected) in cases {
        let mut full = vec!["--cluster", file.as_str()];
        full.extend_from_slice(args);
        let (stdout, stderr, code) = text(&run(&full, None));
        assert_eq!(code, 2, "{args:?}: {stdout}\n{stderr}");
        assert!(stderr.starts_with(expected), "{args:?}: {stderr}");
    }
    assert!(arc.calls().is_empty(), "{:?}", arc.calls());
}

#[test]
fn dry_run_prints_the_entries_and_calls_nothing() {
    let (arc, file) = setup();
    let (stdout, stderr, code) = text(&run(
        &[
            "--cluster",
            &file,
            "activate",
            "service1",
            "us-west-2",
            "--dry-run",
            "--override",
            RULE_ARN,
        ],
        None,
    ));
    assert_eq!(code, 0, "{stderr}");
    assert!(arc.calls().is_empty());
    let lines: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(lines.contains(&vec![
        "1.",
        "service1-secondary-rc",
        "us-west-2",
        "On",
        SECONDARY_RC
    ]));
    assert!(lines.contains(&vec![
        "2.",
        "service1-primary-rc",
        "us-east-1",
        "Off",
        PRIMARY_RC
    ]));
    assert!(stdout.contains(&format!("safety rules overridden: {RULE_ARN}")));
}

#[test]
fn override_takes_only_rules_of_the_apps_control_panel() {
    let (arc, file) = setup();
    let service2_rule =
        "arn:aws:route53-recovery-control::000000000000:controlpanel/service2/safetyrule/service2-at-least-one-on";
    let foreign_panel =
        "arn:aws:route53-recovery-control::000000000000:controlpanel/elsewhere/safetyrule/x";
    let cases: [(&str, &str); 4] = [
        (
            "service2-at-least-one-on",
            "failover: safety rule \"service2-at-least-one-on\" in --override is a rule of service2's control panel, not service1's",
        ),
        (
            service2_rule,
            "is a rule of service2's control panel, not service1's",
        ),
        (
            foreign_panel,
            "is not a safety rule of service1's control panel",
        ),
        (
            "no-such-rule",
            "failover: unknown safety rule \"no-such-rule\" in --override",
        ),
    ];
    for command in ["activate", "deactivate"] {
        for (given, expected) in cases {
            let (stdout, stderr, code) = text(&run(
                &[
                    "--cluster",
                    &file,
                    command,
                    "service1",
                    "us-west-2",
                    "--override",
                    given,
                ],
                None,
            ));
            assert_eq!(code, 2, "{command} {given}: {stdout}\n{stderr}");
            assert!(
                stderr.contains(expected)
                    && stderr.contains(&format!("{given:?}"))
                    && stderr
                        .trim_end()
                        .ends_with("(service1's rules: service1-at-least-one-on)"),
                "{command} {given}: {stderr}"
            );
            assert!(stdout.is_empty(), "{stdout}");
        }
    }
    assert!(arc.calls().is_empty(), "nothing sent: {:?}", arc.calls());
    assert_eq!(arc.state_of(PRIMARY_RC), On);
    assert_eq!(arc.state_of(SECONDARY_RC), Off);
}

/// The first update attempt is throttled: the client sends the same update to another endpoint,
/// which applies it; nothing is reported as failed.
#[test]
fn a_throttled_update_is_sent_again_to_another_endpoint() {
    let (arc, file) = setup();
    arc.faults()
        .add(Fault::error(ErrorCode::Throttling).on(UPDATE).times(1));
    let (stdout, stderr, code) = text(&run(
        &["--cluster", &file, "activate", "service1", "us-west-2"],
        None,
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let updates: Vec<_> = arc
        .emulator()
        .calls()
        .into_iter()
        .filter(|c| c.operation == Some(UPDATE))
        .collect();
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert_eq!(
        (updates[0].status, updates[0].error),
        (Some(429), Some("ThrottlingException"))
    );
    assert_eq!((updates[1].status, updates[1].error), (Some(200), None));
    assert_ne!(updates[0].endpoint, updates[1].endpoint);
    assert_eq!(updates[0].input, updates[1].input, "the same update");
    assert_eq!(arc.state_of(SECONDARY_RC), On);
    assert_eq!(arc.state_of(PRIMARY_RC), Off);
    assert!(line_of(&stdout, "sent:").contains(": ok in "), "{stdout}");
}

/// Every endpoint refuses the update as unavailable: the command exits 1 naming each endpoint,
/// and nothing changed.
#[test]
fn an_update_no_endpoint_accepts_exits_1_and_changes_nothing() {
    let (arc, file) = setup();
    arc.faults()
        .add(Fault::error(ErrorCode::EndpointTemporarilyUnavailable).on(UPDATE));
    let (stdout, stderr, code) = text(&run(
        &["--cluster", &file, "activate", "service1", "us-west-2"],
        None,
    ));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_eq!(arc.calls_of(UPDATE).len(), 5, "one attempt per endpoint");
    assert!(stdout.contains(": failed in "), "{stdout}");
    for region in recovery::local::ENDPOINT_REGIONS {
        let expected = format!(
            "{region}: EndpointTemporarilyUnavailableException: cluster endpoint {region} is configured to fail"
        );
        assert!(
            stderr.contains(&expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert_eq!(arc.state_of(PRIMARY_RC), On);
    assert_eq!(arc.state_of(SECONDARY_RC), Off);
}
