//! The AWS CLI against the real binary's recovery-control-config API: `aws
//! route53-recovery-control-config ... --endpoint-url` with dummy credentials, a whole
//! create/describe/list/update/delete cycle of every resource type, the refusals AWS gives, and
//! the data plane (`aws route53-recovery-cluster`) serving what was created. Skipped, with a note,
//! when no working `aws` is on PATH (`pip install awscli`).

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{temp_dir, Emulator, TempDir};
use serde_json::{json, Value};

struct Cli<'a> {
    aws: PathBuf,
    emu: &'a Emulator,
    home: &'a TempDir,
}

impl Cli<'_> {
    fn run(&self, service: &str, endpoint: String, args: &[&str]) -> std::process::Output {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", &endpoint]);
        common::aws_command(&self.aws, self.home.path(), service, &all)
            .output()
            .expect("run aws")
    }

    /// `aws route53-recovery-control-config <args>`, which must succeed; its JSON output.
    fn ok(&self, args: &[&str]) -> Value {
        let endpoint = format!("http://127.0.0.1:{}", self.emu.config_port);
        let out = self.run("route53-recovery-control-config", endpoint, args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "aws route53-recovery-control-config {args:?} failed: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        if stdout.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&stdout).unwrap()
        }
    }

    /// The same, which must fail; its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let endpoint = format!("http://127.0.0.1:{}", self.emu.config_port);
        let out = self.run("route53-recovery-control-config", endpoint, args);
        assert!(!out.status.success(), "aws {args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `aws route53-recovery-cluster <args>` on data-plane endpoint `i`.
    fn data(&self, i: u16, args: &[&str]) -> Result<Value, String> {
        let endpoint = format!("http://127.0.0.1:{}", self.emu.api_port + i);
        let out = self.run("route53-recovery-cluster", endpoint, args);
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        Ok(if stdout.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&stdout).unwrap()
        })
    }

    /// Describes until `Status` is `want`; how long it took.
    fn wait(&self, args: &[&str], key: &str, want: &str) -> Duration {
        let start = Instant::now();
        loop {
            let got = self.ok(args)[key]["Status"].as_str().unwrap().to_owned();
            if got == want {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{args:?}: still {got}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

#[test]
fn aws_cli_creates_describes_lists_updates_and_deletes_every_resource_type() {
    let Some(aws) = common::aws_cli("the AWS CLI config API test") else {
        return;
    };
    let dir = temp_dir("awscli-config");
    // Long enough that the describe right after a delete still sees PENDING_DELETION on a busy
    // machine, where each `aws` invocation can take over a second.
    let emu = Emulator::start_with(&dir, None, &[("ARC_LOCAL_DEPLOY_DELAY_MS", "5000")]);
    let cli = Cli {
        aws,
        emu: &emu,
        home: &dir,
    };

    // Cluster: PENDING on create, DEPLOYED once deployed, five endpoints at the data plane.
    let cluster =
        cli.ok(&["create-cluster", "--cluster-name", "example-cluster"])["Cluster"].clone();
    assert_eq!(cluster["Status"], "PENDING", "{cluster}");
    assert_eq!(cluster["Name"], "example-cluster");
    let c = s(&cluster["ClusterArn"]);
    let endpoints: Vec<String> = cluster["ClusterEndpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| s(&e["Endpoint"]))
        .collect();
    assert_eq!(
        endpoints,
        (0..5)
            .map(|i| format!("http://127.0.0.1:{}", emu.api_port + i))
            .collect::<Vec<_>>()
    );
    let waited = cli.wait(
        &["describe-cluster", "--cluster-arn", &c],
        "Cluster",
        "DEPLOYED",
    );
    assert!(waited > Duration::ZERO);
    let clusters = cli.ok(&["list-clusters", "--page-size", "1"]);
    let names: Vec<String> = clusters["Clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(&c["Name"]))
        .collect();
    assert!(
        names.contains(&"example-cluster".to_owned()) && names.contains(&"arc-local".to_owned()),
        "{names:?}"
    );
    cli.ok(&[
        "update-cluster",
        "--cluster-arn",
        &c,
        "--network-type",
        "DUALSTACK",
    ]);
    assert_eq!(
        cli.ok(&["describe-cluster", "--cluster-arn", &c])["Cluster"]["NetworkType"],
        "DUALSTACK"
    );

    // Control panels: the cluster's default one, and a new one.
    let panels = cli.ok(&["list-control-panels", "--cluster-arn", &c]);
    let default = panels["ControlPanels"].as_array().unwrap();
    assert_eq!(default.len(), 1, "{panels}");
    assert_eq!(default[0]["DefaultControlPanel"], true);
    assert_eq!(default[0]["Name"], "DefaultControlPanel");
    let default_panel = s(&default[0]["ControlPanelArn"]);
    let panel = cli.ok(&[
        "create-control-panel",
        "--cluster-arn",
        &c,
        "--control-panel-name",
        "checkout",
        "--tags",
        "team=checkout",
    ])["ControlPanel"]
        .clone();
    assert_eq!(panel["Status"], "PENDING");
    assert_eq!(panel["DefaultControlPanel"], false);
    assert_eq!(panel["RoutingControlCount"], 0);
    let p = s(&panel["ControlPanelArn"]);
    assert!(
        p.starts_with("arn:aws:route53-recovery-control::000000000000:controlpanel/"),
        "{p}"
    );
    cli.wait(
        &["describe-control-panel", "--control-panel-arn", &p],
        "ControlPanel",
        "DEPLOYED",
    );
    cli.ok(&[
        "update-control-panel",
        "--control-panel-arn",
        &p,
        "--control-panel-name",
        "checkout-panel",
    ]);
    assert_eq!(
        cli.ok(&["describe-control-panel", "--control-panel-arn", &p])["ControlPanel"]["Name"],
        "checkout-panel"
    );

    // Routing controls: two in the panel, one in the default panel.
    let mut rcs = Vec::new();
    for name in ["checkout-primary-rc", "checkout-secondary-rc"] {
        let rc = cli.ok(&[
            "create-routing-control",
            "--cluster-arn",
            &c,
            "--control-panel-arn",
            &p,
            "--routing-control-name",
            name,
        ])["RoutingControl"]
            .clone();
        assert_eq!(rc["Status"], "PENDING");
        assert_eq!(rc["ControlPanelArn"], p.as_str());
        rcs.push(s(&rc["RoutingControlArn"]));
    }
    let lone = cli.ok(&[
        "create-routing-control",
        "--cluster-arn",
        &c,
        "--routing-control-name",
        "lone-rc",
    ])["RoutingControl"]
        .clone();
    assert_eq!(lone["ControlPanelArn"], default_panel.as_str());
    let lone = s(&lone["RoutingControlArn"]);
    let (rc1, rc2) = (rcs[0].clone(), rcs[1].clone());
    assert!(rc1.starts_with(&format!("{p}/routingcontrol/")), "{rc1}");
    cli.wait(
        &["describe-routing-control", "--routing-control-arn", &rc1],
        "RoutingControl",
        "DEPLOYED",
    );
    cli.ok(&[
        "update-routing-control",
        "--routing-control-arn",
        &rc2,
        "--routing-control-name",
        "checkout-standby-rc",
    ]);
    let listed = cli.ok(&[
        "list-routing-controls",
        "--control-panel-arn",
        &p,
        "--page-size",
        "1",
    ]);
    let mut names: Vec<String> = listed["RoutingControls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| s(&r["Name"]))
        .collect();
    names.sort();
    assert_eq!(names, ["checkout-primary-rc", "checkout-standby-rc"]);
    assert_eq!(
        cli.ok(&["describe-control-panel", "--control-panel-arn", &p])["ControlPanel"]
            ["RoutingControlCount"],
        2
    );
    assert_eq!(
        cli.ok(&[
            "list-associated-route53-health-checks",
            "--routing-control-arn",
            &rc1
        ])["HealthCheckIds"],
        json!([])
    );

    // The data plane serves them, Off.
    let got = cli
        .data(
            3,
            &["get-routing-control-state", "--routing-control-arn", &rc2],
        )
        .unwrap();
    assert_eq!(got["RoutingControlState"], "Off");
    assert_eq!(got["RoutingControlName"], "checkout-standby-rc");
    cli.data(
        1,
        &[
            "update-routing-control-state",
            "--routing-control-arn",
            &rc1,
            "--routing-control-state",
            "On",
        ],
    )
    .unwrap();

    // Safety rules: an assertion rule and a gating rule.
    let assertion = json!({
        "ControlPanelArn": p,
        "AssertedControls": [rc1, rc2],
        "Name": "checkout-at-least-one-on",
        "RuleConfig": {"Type": "ATLEAST", "Threshold": 1, "Inverted": false},
        "WaitPeriodMs": 5000,
    })
    .to_string();
    let rule =
        cli.ok(&["create-safety-rule", "--assertion-rule", &assertion])["AssertionRule"].clone();
    assert_eq!(rule["Status"], "PENDING");
    assert_eq!(rule["RuleConfig"]["Type"], "ATLEAST");
    let ar = s(&rule["SafetyRuleArn"]);
    assert!(ar.starts_with(&format!("{p}/safetyrule/")), "{ar}");
    let gating = json!({
        "ControlPanelArn": p,
        "GatingControls": [rc1],
        "TargetControls": [rc2],
        "Name": "checkout-gate",
        "RuleConfig": {"Type": "AND", "Threshold": 0, "Inverted": false},
        "WaitPeriodMs": 1000,
    })
    .to_string();
    let gr = s(
        &cli.ok(&["create-safety-rule", "--gating-rule", &gating])["GatingRule"]["SafetyRuleArn"],
    );
    cli.wait(
        &["describe-safety-rule", "--safety-rule-arn", &ar],
        "AssertionRule",
        "DEPLOYED",
    );
    let update =
        json!({"SafetyRuleArn": ar, "Name": "checkout-one-on", "WaitPeriodMs": 7000}).to_string();
    let updated = cli.ok(&["update-safety-rule", "--assertion-rule-update", &update]);
    assert_eq!(updated["AssertionRule"]["Name"], "checkout-one-on");
    assert_eq!(updated["AssertionRule"]["WaitPeriodMs"], 7000);
    let update =
        json!({"SafetyRuleArn": gr, "Name": "checkout-gate-2", "WaitPeriodMs": 2000}).to_string();
    cli.ok(&["update-safety-rule", "--gating-rule-update", &update]);
    let rules = cli.ok(&["list-safety-rules", "--control-panel-arn", &p]);
    let rules = rules["SafetyRules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    let gating_listed = rules.iter().find_map(|r| r.get("GATING")).unwrap();
    assert_eq!(gating_listed["Name"], "checkout-gate-2");
    assert_eq!(gating_listed["TargetControls"], json!([rc2]));

    // The rule blocks the data plane: the last On control cannot go Off.
    let err = cli
        .data(
            0,
            &[
                "update-routing-control-state",
                "--routing-control-arn",
                &rc1,
                "--routing-control-state",
                "Off",
            ],
        )
        .unwrap_err();
    assert!(
        err.contains("ConflictException") && err.contains("checkout-one-on"),
        "{err}"
    );

    // Tags.
    cli.ok(&[
        "tag-resource",
        "--resource-arn",
        &p,
        "--tags",
        "env=local,owner=sre",
    ]);
    cli.ok(&[
        "untag-resource",
        "--resource-arn",
        &p,
        "--tag-keys",
        "owner",
    ]);
    assert_eq!(
        cli.ok(&["list-tags-for-resource", "--resource-arn", &p])["Tags"],
        json!({"team": "checkout", "env": "local"})
    );

    // What AWS refuses: a panel with routing controls, a control a rule uses, a cluster with
    // panels, the default panel; and unknown resources.
    for (args, code) in [
        (
            vec!["delete-control-panel", "--control-panel-arn", &p],
            "ConflictException",
        ),
        (
            vec!["delete-routing-control", "--routing-control-arn", &rc1],
            "ConflictException",
        ),
        (
            vec!["delete-cluster", "--cluster-arn", &c],
            "ConflictException",
        ),
        (
            vec![
                "delete-control-panel",
                "--control-panel-arn",
                &default_panel,
            ],
            "ValidationException",
        ),
    ] {
        let err = cli.fails(&args);
        assert!(err.contains(code), "{args:?}: {err}");
    }
    let gone = format!("{p}/routingcontrol/0000000000000000");
    let err = cli.fails(&["describe-routing-control", "--routing-control-arn", &gone]);
    assert!(err.contains("ResourceNotFoundException"), "{err}");
    let bad = json!({
        "ControlPanelArn": p,
        "AssertedControls": [rc1, rc2],
        "Name": "impossible",
        "RuleConfig": {"Type": "ATLEAST", "Threshold": 3, "Inverted": false},
        "WaitPeriodMs": 0,
    })
    .to_string();
    let err = cli.fails(&["create-safety-rule", "--assertion-rule", &bad]);
    assert!(err.contains("ValidationException"), "{err}");

    // Delete everything, children first; each is PENDING_DELETION, then gone.
    cli.ok(&["delete-safety-rule", "--safety-rule-arn", &ar]);
    assert_eq!(
        cli.ok(&["describe-safety-rule", "--safety-rule-arn", &ar])["AssertionRule"]["Status"],
        "PENDING_DELETION"
    );
    cli.ok(&["delete-safety-rule", "--safety-rule-arn", &gr]);
    for rc in [&rc1, &rc2, &lone] {
        cli.ok(&["delete-routing-control", "--routing-control-arn", rc]);
    }
    let err = cli
        .data(
            0,
            &["get-routing-control-state", "--routing-control-arn", &rc1],
        )
        .unwrap_err();
    assert!(err.contains("ResourceNotFoundException"), "{err}");
    cli.ok(&["delete-control-panel", "--control-panel-arn", &p]);
    cli.ok(&["delete-cluster", "--cluster-arn", &c]);
    assert_eq!(
        cli.ok(&["describe-cluster", "--cluster-arn", &c])["Cluster"]["Status"],
        "PENDING_DELETION"
    );
    let start = Instant::now();
    loop {
        let err = cli.fails_or_ok(&["describe-cluster", "--cluster-arn", &c]);
        match err {
            Some(err) => {
                assert!(err.contains("ResourceNotFoundException"), "{err}");
                break;
            }
            None => assert!(start.elapsed() < Duration::from_secs(30)),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let err = cli.fails(&["describe-safety-rule", "--safety-rule-arn", &ar]);
    assert!(err.contains("ResourceNotFoundException"), "{err}");
    let clusters = cli.ok(&["list-clusters"]);
    assert_eq!(
        clusters["Clusters"].as_array().unwrap().len(),
        1,
        "{clusters}"
    );
}

impl Cli<'_> {
    /// `None` when the command succeeds, else its stderr.
    fn fails_or_ok(&self, args: &[&str]) -> Option<String> {
        let endpoint = format!("http://127.0.0.1:{}", self.emu.config_port);
        let out = self.run("route53-recovery-control-config", endpoint, args);
        (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
