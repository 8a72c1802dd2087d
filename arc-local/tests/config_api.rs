//! The recovery-control-config API over raw HTTP against the real binary: wire shapes, errors,
//! PENDING -> DEPLOYED and PENDING_DELETION, and what it creates being served by the data plane
//! (routing controls start Off, safety rules block changes) and kept across a restart.

mod common;

use std::time::{Duration, Instant};

use common::{encode, http, temp_dir, Emulator, ErrorType, HttpResponse};
use serde_json::{json, Value};

fn ok(r: HttpResponse) -> Value {
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"), "{r:?}");
    r.json()
}

fn error(r: &HttpResponse) -> (u16, String) {
    (r.status, r.error_type())
}

fn create_cluster(emu: &Emulator, name: &str) -> Value {
    ok(emu.config(
        "POST",
        "/cluster",
        Some(&json!({"ClusterName": name, "ClientToken": format!("token-{name}")})),
    ))["Cluster"]
        .clone()
}

fn create_panel(emu: &Emulator, cluster: &str, name: &str) -> String {
    let p = ok(emu.config(
        "POST",
        "/controlpanel",
        Some(&json!({"ClusterArn": cluster, "ControlPanelName": name})),
    ));
    p["ControlPanel"]["ControlPanelArn"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn create_control(emu: &Emulator, cluster: &str, panel: &str, name: &str) -> String {
    let c = ok(emu.config(
        "POST",
        "/routingcontrol",
        Some(&json!({"ClusterArn": cluster, "ControlPanelArn": panel, "RoutingControlName": name})),
    ));
    assert_eq!(c["RoutingControl"]["Status"], "PENDING", "{c}");
    c["RoutingControl"]["RoutingControlArn"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn state(emu: &Emulator, arn: &str) -> String {
    let r = emu.call(
        "GetRoutingControlState",
        &json!({"RoutingControlArn": arn}).to_string(),
    );
    assert_eq!(r.status, 200, "{r:?}");
    r.json()["RoutingControlState"].as_str().unwrap().to_owned()
}

fn set(emu: &Emulator, arn: &str, to: &str) -> HttpResponse {
    emu.call_on(
        2,
        "UpdateRoutingControlState",
        &json!({"RoutingControlArn": arn, "RoutingControlState": to}).to_string(),
    )
}

/// Polls `path` until its `key.Status` is `want` (or the resource is gone, for `None`).
fn wait_status(emu: &Emulator, path: &str, key: &str, want: Option<&str>) -> Duration {
    let start = Instant::now();
    loop {
        let r = emu.config("GET", path, None);
        let now = match r.status {
            200 => r.json()[key]["Status"].as_str().map(str::to_owned),
            404 => None,
            _ => panic!("{r:?}"),
        };
        if now.as_deref() == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{path}: still {now:?}, want {want:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn wire_shapes_and_errors() {
    let dir = temp_dir("config-errors");
    let emu = Emulator::start(&dir);

    // The topology's cluster is listed, with the five endpoints this instance serves.
    let list = ok(emu.config("GET", "/cluster", None));
    let clusters = list["Clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1, "{list}");
    let topo = &clusters[0];
    assert_eq!(topo["Name"], "arc-local");
    assert_eq!(topo["Status"], "DEPLOYED");
    let endpoints = topo["ClusterEndpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 5);
    assert_eq!(
        endpoints[1],
        json!({"Endpoint": format!("http://127.0.0.1:{}", emu.api_port + 1), "Region": "us-west-2"})
    );
    // Its control panels, routing controls and rules too, read-only.
    let topo_arn = topo["ClusterArn"].as_str().unwrap();
    let panels = ok(emu.config(
        "GET",
        &format!("/controlpanels?ClusterArn={}", encode(topo_arn)),
        None,
    ));
    assert_eq!(
        panels["ControlPanels"].as_array().unwrap().len(),
        3,
        "{panels}"
    );
    let s1 = recovery::local::panel_arn("service1");
    let p = ok(emu.config("GET", &format!("/controlpanel/{}", encode(&s1)), None));
    assert_eq!(p["ControlPanel"]["RoutingControlCount"], 2);
    assert_eq!(p["ControlPanel"]["DefaultControlPanel"], false);
    let rules = ok(emu.config(
        "GET",
        &format!("/controlpanel/{}/safetyrules", encode(&s1)),
        None,
    ));
    assert_eq!(
        rules["SafetyRules"][0]["ASSERTION"]["Name"], "service1-at-least-one-on",
        "{rules}"
    );
    let r = emu.config("DELETE", &format!("/controlpanel/{}", encode(&s1)), None);
    assert_eq!(error(&r), (400, "ValidationException".into()), "{r:?}");
    assert!(r.json()["message"].as_str().unwrap().contains("topology"));
    let r = emu.config(
        "DELETE",
        &format!(
            "/routingcontrol/{}",
            encode(&common::arn("service1", "primary"))
        ),
        None,
    );
    assert_eq!(error(&r), (400, "ValidationException".into()), "{r:?}");

    // Unsigned: AccessDeniedException.
    let r = http(emu.config_port, "GET", "/cluster", &[], b"").unwrap();
    assert_eq!(error(&r), (403, "AccessDeniedException".into()), "{r:?}");
    // No such operation.
    let r = emu.config("GET", "/nothing", None);
    assert_eq!(
        error(&r),
        (404, "UnknownOperationException".into()),
        "{r:?}"
    );
    let r = emu.config("PATCH", "/cluster", None);
    assert_eq!(
        error(&r),
        (404, "UnknownOperationException".into()),
        "{r:?}"
    );
    // Bad bodies and members.
    let r = http(
        emu.config_port,
        "POST",
        "/cluster",
        &[("Authorization", common::CONFIG_AUTH)],
        b"{\"ClusterName\": ",
    )
    .unwrap();
    assert_eq!(error(&r), (400, "SerializationException".into()), "{r:?}");
    let r = emu.config("POST", "/cluster", Some(&json!({"ClusterName": 5})));
    assert_eq!(error(&r), (400, "SerializationException".into()), "{r:?}");
    let r = emu.config("POST", "/cluster", Some(&json!({})));
    assert_eq!(error(&r), (400, "ValidationException".into()), "{r:?}");
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("ClusterName"));
    let r = emu.config(
        "POST",
        "/cluster",
        Some(&json!({"ClusterName": "two words"})),
    );
    assert_eq!(error(&r), (400, "ValidationException".into()), "{r:?}");
    // Unknown resources.
    let unknown = "arn:aws:route53-recovery-control::000000000000:cluster/nope";
    let r = emu.config("GET", &format!("/cluster/{}", encode(unknown)), None);
    assert_eq!(
        error(&r),
        (404, "ResourceNotFoundException".into()),
        "{r:?}"
    );
    assert!(r.json()["message"].as_str().unwrap().contains(unknown));
    let r = emu.config(
        "POST",
        "/controlpanel",
        Some(&json!({"ClusterArn": unknown, "ControlPanelName": "x"})),
    );
    assert_eq!(
        error(&r),
        (404, "ResourceNotFoundException".into()),
        "{r:?}"
    );
    // Paging parameters.
    let r = emu.config("GET", "/cluster?MaxResults=0", None);
    assert_eq!(error(&r), (400, "ValidationException".into()), "{r:?}");
    let r = emu.config("GET", "/cluster?NextToken=abc", None);
    assert_eq!(error(&r), (400, "ValidationException".into()), "{r:?}");

    // Pages of one, in ARN order, following NextToken.
    for name in ["a", "b", "c"] {
        create_cluster(&emu, name);
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let path = match &token {
            None => "/cluster?MaxResults=1".to_owned(),
            Some(t) => format!("/cluster?MaxResults=1&NextToken={t}"),
        };
        let page = ok(emu.config("GET", &path, None));
        let items = page["Clusters"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{page}");
        seen.push(items[0]["ClusterArn"].as_str().unwrap().to_owned());
        match page["NextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);

    // The same ClientToken again: the same cluster, not a new one.
    let again = create_cluster(&emu, "a");
    let all = ok(emu.config("GET", "/cluster", None));
    assert_eq!(all["Clusters"].as_array().unwrap().len(), 4, "{all}");
    assert!(seen.contains(&again["ClusterArn"].as_str().unwrap().to_owned()));
    // ... with another name: ConflictException.
    let r = emu.config(
        "POST",
        "/cluster",
        Some(&json!({"ClusterName": "other", "ClientToken": "token-a"})),
    );
    assert_eq!(error(&r), (409, "ConflictException".into()), "{r:?}");
}

#[test]
fn pending_then_deployed_then_pending_deletion_then_gone() {
    let dir = temp_dir("config-status");
    let emu = Emulator::start_with(&dir, None, &[("ARC_LOCAL_DEPLOY_DELAY_MS", "700")]);
    let cluster = create_cluster(&emu, "slow");
    assert_eq!(cluster["Status"], "PENDING");
    let arn = cluster["ClusterArn"].as_str().unwrap().to_owned();
    assert!(
        arn.starts_with("arn:aws:route53-recovery-control::000000000000:cluster/"),
        "{arn}"
    );
    let path = format!("/cluster/{}", encode(&arn));
    let d = ok(emu.config("GET", &path, None));
    assert_eq!(d["Cluster"]["Status"], "PENDING", "{d}");
    let waited = wait_status(&emu, &path, "Cluster", Some("DEPLOYED"));
    assert!(waited > Duration::from_millis(200), "{waited:?}");

    // A panel in it: PENDING, then DEPLOYED; its cluster cannot go while it exists.
    let panel = create_panel(&emu, &arn, "p");
    let ppath = format!("/controlpanel/{}", encode(&panel));
    wait_status(&emu, &ppath, "ControlPanel", Some("DEPLOYED"));
    let r = emu.config("DELETE", &path, None);
    assert_eq!(error(&r), (409, "ConflictException".into()), "{r:?}");

    // Deleting: PENDING_DELETION for the delay, then ResourceNotFoundException.
    ok(emu.config("DELETE", &ppath, None));
    let d = ok(emu.config("GET", &ppath, None));
    assert_eq!(d["ControlPanel"]["Status"], "PENDING_DELETION", "{d}");
    let r = emu.config(
        "PUT",
        "/controlpanel",
        Some(&json!({"ControlPanelArn": panel, "ControlPanelName": "q"})),
    );
    assert_eq!(error(&r), (409, "ConflictException".into()), "{r:?}");
    wait_status(&emu, &ppath, "ControlPanel", None);
    ok(emu.config("DELETE", &path, None));
    assert_eq!(
        ok(emu.config("GET", &path, None))["Cluster"]["Status"],
        "PENDING_DELETION"
    );
    wait_status(&emu, &path, "Cluster", None);
    let r = emu.config("DELETE", &path, None);
    assert_eq!(
        error(&r),
        (404, "ResourceNotFoundException".into()),
        "{r:?}"
    );
    // Gone from the list and, at the next write, from the state file.
    let list = ok(emu.config("GET", "/cluster", None));
    assert_eq!(list["Clusters"].as_array().unwrap().len(), 1, "{list}");
    create_cluster(&emu, "next");
    let file = emu.state_file();
    let clusters = file["config"]["clusters"].as_object().unwrap();
    assert_eq!(clusters.len(), 1, "{file}");
    assert!(!clusters.contains_key(&arn));
}

#[test]
fn created_controls_are_served_by_the_data_plane_rules_block_and_all_survive_a_restart() {
    let dir = temp_dir("config-dataplane");
    let mut emu = Emulator::start(&dir);
    let cluster = create_cluster(&emu, "demo");
    let cluster = cluster["ClusterArn"].as_str().unwrap().to_owned();
    let panel = create_panel(&emu, &cluster, "checkout");
    let rc1 = create_control(&emu, &cluster, &panel, "checkout-primary-rc");
    let rc2 = create_control(&emu, &cluster, &panel, "checkout-secondary-rc");
    let rc3 = create_control(&emu, &cluster, &panel, "checkout-gate-rc");
    assert!(
        rc1.starts_with(&format!("{panel}/routingcontrol/")),
        "{rc1}"
    );

    // Served by every endpoint, Off, with the panel's name.
    assert_eq!(state(&emu, &rc1), "Off");
    let list = emu.call_on(
        4,
        "ListRoutingControls",
        &json!({"ControlPanelArn": panel}).to_string(),
    );
    assert_eq!(list.status, 200, "{list:?}");
    let controls = list.json()["RoutingControls"].as_array().unwrap().clone();
    assert_eq!(controls.len(), 3);
    assert!(controls.iter().all(|c| c["ControlPanelName"] == "checkout"
        && c["RoutingControlState"] == "Off"
        && c["Owner"] == "000000000000"));
    assert_eq!(emu.state_in_file(&rc1), "Off");

    // Flip through the data plane.
    assert_eq!(set(&emu, &rc1, "On").status, 200);
    assert_eq!(state(&emu, &rc1), "On");

    // An assertion rule (at least one of rc1, rc2 On) and a gating rule (rc2 changes only while
    // rc3 is On), created through the config API.
    let assertion = ok(emu.config(
        "POST",
        "/safetyrule",
        Some(&json!({"AssertionRule": {
            "ControlPanelArn": panel,
            "AssertedControls": [rc1, rc2],
            "Name": "checkout-at-least-one-on",
            "RuleConfig": {"Type": "ATLEAST", "Threshold": 1, "Inverted": false},
            "WaitPeriodMs": 5000,
        }})),
    ));
    let assertion_arn = assertion["AssertionRule"]["SafetyRuleArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(assertion_arn.starts_with(&format!("{panel}/safetyrule/")));
    assert_eq!(assertion["AssertionRule"]["Status"], "PENDING");
    let gating = ok(emu.config(
        "POST",
        "/safetyrule",
        Some(&json!({"GatingRule": {
            "ControlPanelArn": panel,
            "GatingControls": [rc3],
            "TargetControls": [rc2],
            "Name": "checkout-gate",
            "RuleConfig": {"Type": "OR", "Threshold": 0, "Inverted": false},
            "WaitPeriodMs": 5000,
        }})),
    ));
    assert_eq!(gating["GatingRule"]["TargetControls"], json!([rc2]));

    // The assertion rule blocks turning the last control Off, naming the rule.
    let r = set(&emu, &rc1, "Off");
    assert_eq!(error(&r), (409, "ConflictException".into()), "{r:?}");
    let message = r.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("checkout-at-least-one-on") && message.contains(&assertion_arn),
        "{message}"
    );
    assert_eq!(r.json()["resourceId"], assertion_arn.as_str());
    // The gate (rc3 Off) blocks rc2.
    let r = set(&emu, &rc2, "On");
    assert_eq!(error(&r), (409, "ConflictException".into()), "{r:?}");
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("checkout-gate"));
    // Open the gate, then rc2 may change; an override passes the assertion rule.
    assert_eq!(set(&emu, &rc3, "On").status, 200);
    assert_eq!(set(&emu, &rc2, "On").status, 200);
    let r = emu.call(
        "UpdateRoutingControlStates",
        &json!({
            "UpdateRoutingControlStateEntries": [
                {"RoutingControlArn": rc1, "RoutingControlState": "Off"},
            ],
            "SafetyRulesToOverride": [assertion_arn],
        })
        .to_string(),
    );
    assert_eq!(r.status, 200, "{r:?}");

    // Tags on the panel.
    let tags_path = format!("/tags/{}", encode(&panel));
    ok(emu.config(
        "POST",
        &tags_path,
        Some(&json!({"Tags": {"team": "checkout", "env": "local"}})),
    ));
    ok(emu.config("DELETE", &format!("{tags_path}?TagKeys=env"), None));
    assert_eq!(
        ok(emu.config("GET", &tags_path, None))["Tags"],
        json!({"team": "checkout"})
    );

    // The /state summary lists them too.
    let summary = common::get(emu.api_port, "/state").unwrap().json();
    let created = summary["created_routing_controls"].as_array().unwrap();
    assert_eq!(created.len(), 3, "{summary}");

    // A restart keeps every resource, state, tag and rule.
    assert!(emu.stop().success());
    emu.restart();
    assert_eq!(state(&emu, &rc1), "Off");
    assert_eq!(state(&emu, &rc2), "On");
    let d = ok(emu.config(
        "GET",
        &format!("/safetyrule/{}", encode(&assertion_arn)),
        None,
    ));
    assert_eq!(d["AssertionRule"]["Status"], "DEPLOYED");
    let r = set(&emu, &rc2, "Off");
    assert_eq!(error(&r), (409, "ConflictException".into()), "{r:?}");
    assert_eq!(
        ok(emu.config("GET", &tags_path, None))["Tags"],
        json!({"team": "checkout"})
    );
    let panel_desc = ok(emu.config("GET", &format!("/controlpanel/{}", encode(&panel)), None));
    assert_eq!(panel_desc["ControlPanel"]["RoutingControlCount"], 3);

    // Deleting the rules lifts them; deleting a control removes it from the data plane.
    for rule in [
        assertion_arn.clone(),
        gating["GatingRule"]["SafetyRuleArn"]
            .as_str()
            .unwrap()
            .to_owned(),
    ] {
        ok(emu.config("DELETE", &format!("/safetyrule/{}", encode(&rule)), None));
    }
    assert_eq!(set(&emu, &rc2, "Off").status, 200);
    ok(emu.config("DELETE", &format!("/routingcontrol/{}", encode(&rc3)), None));
    let r = emu.call(
        "GetRoutingControlState",
        &json!({"RoutingControlArn": rc3}).to_string(),
    );
    assert_eq!(
        error(&r),
        (404, "ResourceNotFoundException".into()),
        "{r:?}"
    );
    let file = emu.state_file();
    assert!(file["controls"].get(&rc3).is_none(), "{file}");
    assert!(file["config"]["safety_rules"].is_null(), "{file}");
}
