//! The AWS CLI against the real binary: `aws route53-recovery-cluster ... --endpoint-url` with dummy
//! credentials from the environment. Skipped, with a note, when no working `aws` is on PATH
//! (`pip install awscli`).

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::{arn, temp_dir, Emulator, TempDir};

struct Cli<'a> {
    aws: PathBuf,
    emu: &'a Emulator,
    home: &'a TempDir,
}

impl Cli<'_> {
    /// Runs `aws route53-recovery-cluster <args>` against endpoint `i`.
    fn run(&self, i: u16, args: &[&str]) -> Output {
        let endpoint = format!("http://127.0.0.1:{}", self.emu.api_port + i);
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", &endpoint]);
        common::aws_command(
            &self.aws,
            self.home.path(),
            "route53-recovery-cluster",
            &all,
        )
        .output()
        .expect("run aws")
    }

    fn ok(&self, i: u16, args: &[&str]) -> serde_json::Value {
        let out = self.run(i, args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "aws {args:?} failed: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        if stdout.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&stdout).unwrap()
        }
    }

    fn fails(&self, i: u16, args: &[&str]) -> String {
        let out = self.run(i, args);
        assert!(!out.status.success(), "aws {args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

#[test]
fn aws_cli_lists_and_updates_routing_controls() {
    let Some(aws) = common::aws_cli("the AWS CLI test") else {
        return;
    };
    let dir = temp_dir("awscli");
    let emu = Emulator::start(&dir);
    let cli = Cli {
        aws,
        emu: &emu,
        home: &dir,
    };

    // list-routing-controls, pages of 2 (the CLI follows NextToken).
    let list = cli.ok(0, &["list-routing-controls", "--page-size", "2"]);
    let controls = list["RoutingControls"].as_array().unwrap();
    assert_eq!(controls.len(), 6, "{list}");
    let s1 = controls
        .iter()
        .find(|c| c["RoutingControlName"] == "service1-primary-rc")
        .unwrap();
    assert_eq!(s1["RoutingControlState"], "On");
    assert_eq!(s1["ControlPanelName"], "service1");
    assert_eq!(s1["Owner"], "000000000000");
    let panel = recovery::local::panel_arn("service2");
    let list = cli.ok(1, &["list-routing-controls", "--control-panel-arn", &panel]);
    assert_eq!(list["RoutingControls"].as_array().unwrap().len(), 2);

    // update-routing-control-state, then get-routing-control-state.
    let secondary = arn("service1", "secondary");
    cli.ok(
        2,
        &[
            "update-routing-control-state",
            "--routing-control-arn",
            &secondary,
            "--routing-control-state",
            "On",
        ],
    );
    let got = cli.ok(
        3,
        &[
            "get-routing-control-state",
            "--routing-control-arn",
            &secondary,
        ],
    );
    assert_eq!(got["RoutingControlState"], "On");
    assert_eq!(got["RoutingControlName"], "service1-secondary-rc");
    assert_eq!(emu.state_in_file(&secondary), "On");

    // update-routing-control-states: a batch.
    let entries = serde_json::json!([
        {"RoutingControlArn": arn("service2", "secondary"), "RoutingControlState": "On"},
        {"RoutingControlArn": arn("service2", "primary"), "RoutingControlState": "Off"},
    ])
    .to_string();
    cli.ok(
        4,
        &[
            "update-routing-control-states",
            "--update-routing-control-state-entries",
            &entries,
        ],
    );
    assert_eq!(emu.state_in_file(&arn("service2", "primary")), "Off");

    // A safety rule blocks: the CLI shows ConflictException and the rule; the override passes.
    let s2_secondary = arn("service2", "secondary");
    let stderr = cli.fails(
        0,
        &[
            "update-routing-control-state",
            "--routing-control-arn",
            &s2_secondary,
            "--routing-control-state",
            "Off",
        ],
    );
    assert!(
        stderr.contains("ConflictException") && stderr.contains("service2-at-least-one-on"),
        "{stderr}"
    );
    let rule = format!("{panel}/safetyrule/service2-at-least-one-on");
    cli.ok(
        0,
        &[
            "update-routing-control-state",
            "--routing-control-arn",
            &s2_secondary,
            "--routing-control-state",
            "Off",
            "--safety-rules-to-override",
            &rule,
        ],
    );
    assert_eq!(emu.state_in_file(&s2_secondary), "Off");

    // Not found and validation come through as such.
    let stderr = cli.fails(
        1,
        &[
            "get-routing-control-state",
            "--routing-control-arn",
            &recovery::local::control_arn("service1", "nope"),
        ],
    );
    assert!(stderr.contains("ResourceNotFoundException"), "{stderr}");
    let stderr = cli.fails(
        1,
        &[
            "update-routing-control-state",
            "--routing-control-arn",
            &secondary,
            "--routing-control-state",
            "on",
        ],
    );
    assert!(stderr.contains("ValidationException"), "{stderr}");
}
