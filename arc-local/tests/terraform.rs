//! Terraform's AWS provider against the real binary's recovery-control-config API: apply a
//! cluster, a control panel, routing controls (one in the cluster's default panel) and both kinds
//! of safety rule with `aws_route53recoverycontrolconfig_*` resources, find them served by the
//! data plane (a rule blocking a change), plan again with no changes, and destroy.
//!
//! Skipped, with a note, when `terraform` is not on PATH or the provider cannot be installed:
//! set TF_PLUGIN_DIR to a provider mirror (`terraform init -plugin-dir`) where the registry is
//! unreachable.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{encode, temp_dir, Emulator};
use serde_json::{json, Value};

const CONFIG: &str = r#"
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.100.0" }
  }
}

variable "endpoint" { type = string }

provider "aws" {
  region                      = "us-west-2"
  access_key                  = "AKIDEXAMPLE"
  secret_key                  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    route53recoverycontrolconfig = var.endpoint
  }
}

resource "aws_route53recoverycontrolconfig_cluster" "this" {
  name = "example"
}

resource "aws_route53recoverycontrolconfig_control_panel" "app" {
  name        = "app"
  cluster_arn = aws_route53recoverycontrolconfig_cluster.this.arn
}

resource "aws_route53recoverycontrolconfig_routing_control" "app" {
  for_each          = toset(["primary", "secondary"])
  name              = "app-${each.key}-rc"
  cluster_arn       = aws_route53recoverycontrolconfig_cluster.this.arn
  control_panel_arn = aws_route53recoverycontrolconfig_control_panel.app.arn
}

resource "aws_route53recoverycontrolconfig_routing_control" "gate" {
  name        = "gate-rc"
  cluster_arn = aws_route53recoverycontrolconfig_cluster.this.arn
}

resource "aws_route53recoverycontrolconfig_safety_rule" "at_least_one_on" {
  name              = "app-at-least-one-on"
  control_panel_arn = aws_route53recoverycontrolconfig_control_panel.app.arn
  wait_period_ms    = 5000
  asserted_controls = [for k in ["primary", "secondary"] : aws_route53recoverycontrolconfig_routing_control.app[k].arn]

  rule_config {
    type      = "ATLEAST"
    threshold = 1
    inverted  = false
  }
}

resource "aws_route53recoverycontrolconfig_safety_rule" "gate" {
  name              = "app-secondary-gated"
  control_panel_arn = aws_route53recoverycontrolconfig_control_panel.app.arn
  wait_period_ms    = 5000
  gating_controls   = [aws_route53recoverycontrolconfig_routing_control.app["primary"].arn]
  target_controls   = [aws_route53recoverycontrolconfig_routing_control.app["secondary"].arn]

  rule_config {
    type      = "OR"
    threshold = 1
    inverted  = false
  }
}

output "cluster" {
  value = aws_route53recoverycontrolconfig_cluster.this
}

# Not the whole panel: its routing_control_count grows after it is created, as in AWS.
output "panel" {
  value = {
    arn                   = aws_route53recoverycontrolconfig_control_panel.app.arn
    default_control_panel = aws_route53recoverycontrolconfig_control_panel.app.default_control_panel
    status                = aws_route53recoverycontrolconfig_control_panel.app.status
  }
}

output "controls" {
  value = { for k, v in aws_route53recoverycontrolconfig_routing_control.app : k => v.arn }
}

output "gate_control" {
  value = aws_route53recoverycontrolconfig_routing_control.gate
}
"#;

fn terraform(dir: &Path, args: &[&str]) -> Output {
    Command::new("terraform")
        .args(args)
        .current_dir(dir)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env_remove("TF_CLI_ARGS")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run terraform")
}

fn ok(out: Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "terraform {what} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn set(emu: &Emulator, arn: &str, state: &str) -> common::HttpResponse {
    emu.call(
        "UpdateRoutingControlState",
        &json!({"RoutingControlArn": arn, "RoutingControlState": state}).to_string(),
    )
}

#[test]
fn terraform_applies_plans_and_destroys_arc_resources() {
    let have_terraform = Command::new("terraform")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_terraform {
        println!("NOTE: skipping the Terraform test: no working `terraform` on PATH");
        return;
    }
    let dir = temp_dir("terraform");
    let emu = Emulator::start(&dir);
    let work = dir.path().join("tf");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("main.tf"), CONFIG).unwrap();
    std::fs::write(
        work.join("terraform.tfvars"),
        format!("endpoint = \"http://127.0.0.1:{}\"\n", emu.config_port),
    )
    .unwrap();

    let mut init = vec!["init", "-input=false", "-no-color"];
    let plugin_dir = std::env::var("TF_PLUGIN_DIR")
        .ok()
        .filter(|d| !d.is_empty());
    let plugin_arg = plugin_dir.as_ref().map(|d| format!("-plugin-dir={d}"));
    if let Some(arg) = &plugin_arg {
        init.push(arg);
    }
    let out = terraform(&work, &init);
    if !out.status.success() {
        println!(
            "NOTE: skipping the Terraform test: terraform init failed (set TF_PLUGIN_DIR to a provider mirror where the registry is unreachable): {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .find(|l| l.contains("Error"))
                .unwrap_or("")
                .trim_start_matches(['│', ' '])
        );
        return;
    }

    ok(
        terraform(
            &work,
            &["apply", "-auto-approve", "-input=false", "-no-color"],
        ),
        "apply",
    );
    let outputs: Value = serde_json::from_str(&ok(
        terraform(&work, &["output", "-json", "-no-color"]),
        "output",
    ))
    .unwrap();
    let cluster = &outputs["cluster"]["value"];
    assert_eq!(cluster["status"], "DEPLOYED", "{cluster}");
    let endpoints = cluster["cluster_endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 5, "{cluster}");
    assert_eq!(
        endpoints[0],
        json!({"endpoint": format!("http://127.0.0.1:{}", emu.api_port), "region": "us-east-1"})
    );
    let panel = &outputs["panel"]["value"];
    assert_eq!(panel["default_control_panel"], false, "{panel}");
    let gate = &outputs["gate_control"]["value"];
    assert_ne!(
        gate["control_panel_arn"], panel["arn"],
        "in the default panel: {gate}"
    );
    let primary = outputs["controls"]["value"]["primary"]
        .as_str()
        .unwrap()
        .to_owned();
    let secondary = outputs["controls"]["value"]["secondary"]
        .as_str()
        .unwrap()
        .to_owned();

    // Served by the data plane, Off, and the rules hold: the secondary may change only while the
    // primary is On, and the last On control cannot go Off.
    let r = emu.call(
        "GetRoutingControlState",
        &json!({"RoutingControlArn": primary}).to_string(),
    );
    assert_eq!(r.json()["RoutingControlState"], "Off", "{r:?}");
    assert_eq!(set(&emu, &secondary, "On").status, 409);
    assert_eq!(set(&emu, &primary, "On").status, 200);
    let r = set(&emu, &primary, "Off");
    assert_eq!(r.status, 409, "{r:?}");
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("app-at-least-one-on"));

    // A second plan has nothing to do (the provider reads back exactly what it wrote).
    let out = terraform(
        &work,
        &["plan", "-detailed-exitcode", "-input=false", "-no-color"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the second plan has changes:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    ok(
        terraform(
            &work,
            &["destroy", "-auto-approve", "-input=false", "-no-color"],
        ),
        "destroy",
    );
    let clusters = emu.config("GET", "/cluster", None).json();
    assert_eq!(
        clusters["Clusters"].as_array().unwrap().len(),
        1,
        "only the topology's cluster is left: {clusters}"
    );
    let cluster_arn = cluster["arn"].as_str().unwrap();
    let r = emu.config("GET", &format!("/cluster/{}", encode(cluster_arn)), None);
    assert_eq!(r.status, 404, "{r:?}");
    let r = emu.call(
        "GetRoutingControlState",
        &json!({"RoutingControlArn": primary}).to_string(),
    );
    assert_eq!(r.status, 404, "{r:?}");
}
