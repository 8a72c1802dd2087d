//! `failover check` against arc-local in-process and the real service1 and service2 binaries on
//! loopback: a ready standby, a stopped one, a different build, and a safety rule that would block
//! the switch.

mod common;

use common::regions::{health_stub, Regions};
use common::*;
use recovery::{ClusterDocument, ControlState, RuleConfig, RuleType, SafetyRule};
use serde_json::Value;

fn check(doc: &ClusterDocument, extra: &[&str]) -> (String, String, i32) {
    let file = doc_file(doc);
    let mut args = vec![
        "--cluster",
        file.path.as_str(),
        "check",
        "--health-timeout",
        "2s",
    ];
    args.extend_from_slice(extra);
    text(&run(&args, None))
}

/// The (standby region, check) rows of the table for `app`, as (result, detail).
fn row(stdout: &str, app: &str, check: &str) -> (String, String) {
    let line = stdout
        .lines()
        .find(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.first() == Some(&app) && w.get(3) == Some(&check)
        })
        .unwrap_or_else(|| panic!("no {app} {check} row:\n{stdout}"));
    let w: Vec<&str> = line.split_whitespace().collect();
    (w[4].to_owned(), w[5..].join(" "))
}

#[test]
fn a_ready_standby_passes_and_a_stopped_one_fails_naming_it() {
    let arc = Cluster::start();
    let mut regions = Regions::start();
    let doc = regions.document(arc.document());

    let (stdout, stderr, code) = check(&doc, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for app in ["service1", "service2"] {
        let (result, detail) = row(&stdout, app, "health");
        assert_eq!(result, "ok", "{stdout}");
        assert!(detail.contains("/health answered in"), "{detail}");
        let (result, detail) = row(&stdout, app, "build");
        assert_eq!(result, "ok", "{stdout}");
        assert!(
            detail.contains(&format!("{} (commit ", env!("CARGO_PKG_VERSION")))
                && detail.ends_with("the same as us-east-1"),
            "{detail}"
        );
        let (result, detail) = row(&stdout, app, "controls");
        assert_eq!(result, "ok", "{stdout}");
        assert!(
            detail.contains(&format!("{app}-secondary-rc Off"))
                && detail.contains(&format!(
                    "{app}-at-least-one-on passes (1 of 2 asserted controls On after the change)"
                )),
            "{detail}"
        );
        assert_eq!(
            row(&stdout, app, "capacity"),
            ("n/a".into(), "not applicable (no ECS)".into())
        );
    }
    assert!(
        stdout.contains(
            "ready: every standby region can take its app (2 regions checked, 0 warnings)"
        ),
        "{stdout}"
    );
    // The active regions are read, never written.
    assert!(arc
        .calls_of(arc_local::Operation::UpdateRoutingControlStates)
        .is_empty());

    // service2's standby stopped: exit 1, its health and build fail, service1 still passes.
    regions.kill("service2", "us-west-2");
    let (stdout, stderr, code) = check(&doc, &[]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let (result, detail) = row(&stdout, "service2", "health");
    assert_eq!(result, "FAIL");
    let url = &regions.urls[&("service2".to_owned(), "us-west-2".to_owned())];
    assert!(detail.starts_with(&format!("{url}/health: ")), "{detail}");
    assert_eq!(row(&stdout, "service1", "health").0, "ok");
    assert!(
        stdout.contains("NOT READY: a switch to service2 us-west-2 (health, build) would fail"),
        "{stdout}"
    );

    // The same as JSON.
    let (stdout, _, code) = check(&doc, &["--json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["ready"], false);
    let standbys = v["standbys"].as_array().unwrap();
    assert_eq!(standbys.len(), 2);
    let s2 = standbys.iter().find(|s| s["app"] == "service2").unwrap();
    assert_eq!(s2["region"], "us-west-2");
    assert_eq!(s2["active_region"], "us-east-1");
    assert_eq!(s2["ready"], false);
    assert_eq!(s2["checks"][0]["check"], "health");
    assert_eq!(s2["checks"][0]["result"], "fail");
    assert_eq!(s2["target"]["health"]["build"], Value::Null);
    assert_eq!(
        s2["active"]["health"]["build"]["version"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(s2["checks"][3]["result"], "n/a");
    let s1 = standbys.iter().find(|s| s["app"] == "service1").unwrap();
    assert_eq!(s1["ready"], true);
}

#[test]
fn a_different_build_and_a_blocking_rule_fail() {
    // service1 active in us-west-2: its standby is us-east-1.
    let arc = Cluster::with_states(|app, region| match (app, region) {
        ("service1", "us-west-2") | ("service2", "us-east-1") | ("external-api", "us-east-1") => {
            ControlState::On
        }
        _ => ControlState::Off,
    });
    let regions = Regions::start();
    let mut doc = regions.document(arc.document());
    doc.apps
        .get_mut("service1")
        .unwrap()
        .regions
        .get_mut("us-east-1")
        .unwrap()
        .url = health_stub(r#"{"status":"ok","version":"0.0.9","commit":"0123abc"}"#);
    // A gating rule on service2's controls whose gating control is Off: no change goes through.
    let s2 = doc.apps.get_mut("service2").unwrap();
    s2.safety_rules.push(SafetyRule::Gating {
        name: "service2-change-window".into(),
        arn: None,
        gating_controls: vec![arc.document().apps["external-api"].regions["us-west-2"]
            .routing_control_arn
            .clone()],
        target_controls: s2
            .regions
            .values()
            .map(|r| r.routing_control_arn.clone())
            .collect(),
        rule_config: RuleConfig {
            kind: RuleType::Atleast,
            threshold: 1,
            inverted: false,
        },
        wait_period_ms: 0,
    });

    let (stdout, stderr, code) = check(&doc, &[]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let (result, detail) = row(&stdout, "service1", "build");
    assert_eq!(result, "FAIL");
    assert_eq!(
        detail,
        format!(
            "runs 0.0.9 (commit 0123abc), but us-west-2 runs {} (commit {})",
            env!("CARGO_PKG_VERSION"),
            bootstrap::build_info::COMMIT
        )
    );
    let (result, detail) = row(&stdout, "service2", "controls");
    assert_eq!(result, "FAIL");
    assert!(
        detail.contains(
            "activate would be blocked by service2-change-window (0 of 1 gating controls On)"
        ),
        "{detail}"
    );
    assert!(
        stdout.contains("NOT READY: a switch to service1 us-east-1 (build); service2 us-west-2 (controls) would fail"),
        "{stdout}"
    );
}
