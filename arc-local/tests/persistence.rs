//! The state file: every accepted change is on disk when the API answers, is logged, and survives
//! a SIGTERM and a restart; a corrupt file stops the start instead of resetting the states.

mod common;

use common::{arn, temp_dir, Emulator};
use serde_json::json;

fn set(emu: &Emulator, arn: &str, state: &str) -> common::HttpResponse {
    emu.call(
        "UpdateRoutingControlState",
        &json!({"RoutingControlArn": arn, "RoutingControlState": state}).to_string(),
    )
}

fn get(emu: &Emulator, arn: &str) -> String {
    let r = emu.call(
        "GetRoutingControlState",
        &json!({"RoutingControlArn": arn}).to_string(),
    );
    assert_eq!(r.status, 200, "{r:?}");
    r.json()["RoutingControlState"].as_str().unwrap().to_owned()
}

#[test]
fn state_survives_a_restart_and_every_change_is_in_the_file() {
    let dir = temp_dir("persist");
    let mut emu = Emulator::start(&dir);
    // No state file before: the initial states are written at start.
    assert_eq!(emu.state_in_file(&arn("service1", "primary")), "On");
    assert_eq!(emu.state_in_file(&arn("service1", "secondary")), "Off");

    // Each accepted change is in the file as soon as the API has answered.
    let steps = [
        (arn("service2", "secondary"), "On"),
        (arn("service2", "primary"), "Off"),
        (arn("service1", "secondary"), "On"),
        (arn("service1", "primary"), "Off"),
        (arn("external-api", "secondary"), "On"),
    ];
    for (a, state) in &steps {
        let r = set(&emu, a, state);
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            &emu.state_in_file(a),
            state,
            "{a} in the file right after the answer"
        );
    }
    // A refused change is not.
    let r = set(&emu, &arn("service1", "secondary"), "Off");
    assert_eq!(r.status, 409, "{r:?}");
    assert_eq!(emu.state_in_file(&arn("service1", "secondary")), "On");

    // One log line per changed control, naming app, region, control, old and new.
    let changes: Vec<_> = emu
        .log_lines()
        .into_iter()
        .filter(|l| l["message"] == "routing control state changed")
        .collect();
    assert_eq!(changes.len(), steps.len(), "{changes:?}");
    assert_eq!(changes[0]["app"], "service2");
    assert_eq!(changes[0]["region"], "us-west-2");
    assert_eq!(changes[0]["routing_control"], "service2-secondary-rc");
    assert_eq!(changes[0]["old"], "Off");
    assert_eq!(changes[0]["new"], "On");

    // SIGTERM: a clean stop.
    let status = emu.stop();
    assert!(status.success(), "{status}");
    let before_restart = std::fs::read_to_string(&emu.state).unwrap();

    // Start again with the same file: every change is kept.
    emu.restart();
    for (a, state) in &steps {
        assert_eq!(&get(&emu, a), state, "{a} after the restart");
    }
    assert_eq!(get(&emu, &arn("external-api", "primary")), "On");
    let summary = common::get(emu.api_port, "/state").unwrap().json();
    assert_eq!(summary["apps"]["service1"]["active_region"], "us-west-2");
    assert_eq!(summary["apps"]["service2"]["active_region"], "us-west-2");
    assert_eq!(
        summary["apps"]["external-api"]["active_region"],
        "us-east-1"
    );
    // Restoring does not rewrite or reset the file.
    assert_eq!(std::fs::read_to_string(&emu.state).unwrap(), before_restart);
    assert!(emu.stop().success());
}

#[test]
fn a_batch_is_written_whole() {
    let dir = temp_dir("persist-batch");
    let emu = Emulator::start(&dir);
    let r = emu.call(
        "UpdateRoutingControlStates",
        &json!({"UpdateRoutingControlStateEntries": [
            {"RoutingControlArn": arn("service1", "secondary"), "RoutingControlState": "On"},
            {"RoutingControlArn": arn("service1", "primary"), "RoutingControlState": "Off"},
            {"RoutingControlArn": arn("service2", "secondary"), "RoutingControlState": "On"},
        ]})
        .to_string(),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(emu.state_in_file(&arn("service1", "primary")), "Off");
    assert_eq!(emu.state_in_file(&arn("service1", "secondary")), "On");
    assert_eq!(emu.state_in_file(&arn("service2", "secondary")), "On");
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn unknown_arns_in_the_file_are_ignored_with_a_warning() {
    let dir = temp_dir("persist-unknown");
    let state = dir.path().join("state.json");
    std::fs::write(
        &state,
        json!({"version": 1, "controls": {
            arn("service2", "primary"): {"state": "Off"},
            arn("service2", "secondary"): {"state": "On"},
            "arn:aws:route53-recovery-control::000000000000:controlpanel/gone/routingcontrol/gone-rc": {"state": "On"},
        }})
        .to_string(),
    )
    .unwrap();
    let emu = Emulator::start(&dir);
    assert_eq!(get(&emu, &arn("service2", "primary")), "Off");
    assert_eq!(get(&emu, &arn("service2", "secondary")), "On");
    // Controls the file does not mention start in their initial state.
    assert_eq!(get(&emu, &arn("service1", "primary")), "On");
    let warned = emu.log_lines().into_iter().any(|l| {
        l["level"] == "WARN"
            && l["routing_control_arn"]
                .as_str()
                .is_some_and(|a| a.ends_with("gone-rc"))
    });
    assert!(warned, "{}", emu.log_text());
}

#[test]
fn a_corrupt_state_file_stops_the_start() {
    let dir = temp_dir("persist-corrupt");
    let state = dir.path().join("state.json");
    std::fs::write(&state, r#"{"version": 1, "controls": {"#).unwrap();
    let out = std::process::Command::new(common::BIN)
        .args(["--api-port", "1", "--dns-port", "1", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&state.display().to_string())
            && stderr.contains("not a valid arc-local state file"),
        "{stderr}"
    );
    // The file is left as it was.
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        r#"{"version": 1, "controls": {"#
    );
}

#[test]
fn concurrent_changes_leave_the_file_and_the_api_in_agreement() {
    let dir = temp_dir("persist-concurrent");
    let emu = Emulator::start(&dir);
    let port = emu.api_port;
    // Secondaries may flip freely while the primaries stay On; 8 clients on all five endpoints.
    let threads: Vec<_> = (0..8u16)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..15u16 {
                    let app = ["service1", "service2", "external-api"][((t + i) % 3) as usize];
                    let state = if (t + i) % 2 == 0 { "On" } else { "Off" };
                    let r = common::call(
                        port + (t + i) % 5,
                        "UpdateRoutingControlState",
                        &json!({"RoutingControlArn": arn(app, "secondary"), "RoutingControlState": state})
                            .to_string(),
                    );
                    assert_eq!(r.status, 200, "{r:?}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for app in ["service1", "service2", "external-api"] {
        for role in ["primary", "secondary"] {
            let a = arn(app, role);
            assert_eq!(get(&emu, &a), emu.state_in_file(&a), "{a}");
        }
    }
}
