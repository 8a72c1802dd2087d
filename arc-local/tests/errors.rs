//! Malformed and refused requests over raw HTTP: each gets the service model's error type, in the
//! `x-amzn-errortype` header and the body's `__type`, with the right status and members, and the
//! emulator keeps serving.

mod common;

use common::{arn, http, temp_dir, Emulator, ErrorType};
use serde_json::json;

const SIGNED: (&str, &str) = (
    "Authorization",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/route53-recovery-cluster/aws4_request, SignedHeaders=host, Signature=abc",
);
const JSON_10: (&str, &str) = ("Content-Type", "application/x-amz-json-1.0");

fn raw(emu: &Emulator, headers: &[(&str, &str)], body: &[u8]) -> common::HttpResponse {
    http(emu.api_port, "POST", "/", headers, body).unwrap()
}

#[test]
fn protocol_errors() {
    let dir = temp_dir("errors-protocol");
    let emu = Emulator::start(&dir);
    let get = ("X-Amz-Target", "ToggleCustomerAPI.GetRoutingControlState");

    // Malformed JSON.
    let r = raw(&emu, &[JSON_10, SIGNED, get], b"{\"RoutingControlArn\": ");
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "SerializationException"),
        "{r:?}"
    );
    // JSON that is not an object.
    let r = raw(&emu, &[JSON_10, SIGNED, get], b"[1, 2]");
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "SerializationException")
    );
    // A member of the wrong type.
    let r = raw(
        &emu,
        &[JSON_10, SIGNED, get],
        br#"{"RoutingControlArn": 5}"#,
    );
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "SerializationException")
    );
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("RoutingControlArn"));
    // Not UTF-8.
    let r = raw(&emu, &[JSON_10, SIGNED, get], &[0xff, 0xfe, 0x00]);
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "SerializationException")
    );

    // Unknown and missing targets.
    let r = raw(
        &emu,
        &[
            JSON_10,
            SIGNED,
            ("X-Amz-Target", "ToggleCustomerAPI.DeleteEverything"),
        ],
        b"{}",
    );
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "UnknownOperationException")
    );
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("DeleteEverything"));
    let r = raw(
        &emu,
        &[
            JSON_10,
            SIGNED,
            ("X-Amz-Target", "OtherService.GetRoutingControlState"),
        ],
        b"{}",
    );
    assert_eq!(r.error_type(), "UnknownOperationException");
    let r = raw(&emu, &[JSON_10, SIGNED], b"{}");
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "UnknownOperationException")
    );

    // Wrong content type.
    let r = raw(&emu, &[("Content-Type", "text/plain"), SIGNED, get], b"{}");
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (415, "UnsupportedMediaTypeException")
    );

    // Unsigned: AccessDeniedException (any signature would do).
    let r = raw(&emu, &[JSON_10, get], b"{}");
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (403, "AccessDeniedException")
    );

    // The data plane answers on any path (real endpoint URLs end in /v1), on all five ports.
    for i in 0..5 {
        let r = http(
            emu.api_port + i,
            "POST",
            "/v1",
            &[
                JSON_10,
                SIGNED,
                ("X-Amz-Target", "ToggleCustomerAPI.ListRoutingControls"),
            ],
            b"",
        )
        .unwrap();
        assert_eq!(r.status, 200, "port {}: {r:?}", emu.api_port + i);
        assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.0"));
        assert!(r.header("x-amzn-requestid").is_some());
        assert_eq!(r.json()["RoutingControls"].as_array().unwrap().len(), 6);
    }

    // Still healthy after all that.
    let health = common::get(emu.api_port, "/health").unwrap();
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(health.json()["version"], env!("CARGO_PKG_VERSION"));
    assert!(health.json()["commit"].is_string());
}

#[test]
fn validation_not_found_and_conflict_errors() {
    let dir = temp_dir("errors-model");
    let emu = Emulator::start(&dir);
    let validation = |op: &str, body: serde_json::Value| {
        let r = emu.call(op, &body.to_string());
        assert_eq!(
            (r.status, r.error_type().as_str()),
            (400, "ValidationException"),
            "{op} {body}: {r:?}"
        );
        r.json()
    };

    // Missing required member.
    let v = validation("GetRoutingControlState", json!({}));
    assert_eq!(v["reason"], "fieldValidationFailed");
    assert_eq!(v["fields"][0]["name"], "RoutingControlArn");
    // ARN that breaks the model's pattern.
    let v = validation(
        "GetRoutingControlState",
        json!({"RoutingControlArn": "arn with spaces"}),
    );
    assert_eq!(v["fields"][0]["name"], "RoutingControlArn");
    // States are exactly On / Off.
    for bad in ["on", "OFF", "", "Maybe"] {
        let v = validation(
            "UpdateRoutingControlState",
            json!({"RoutingControlArn": arn("service1", "primary"), "RoutingControlState": bad}),
        );
        assert_eq!(v["fields"][0]["name"], "RoutingControlState", "{bad}");
        assert!(v["message"].as_str().unwrap().contains("[On, Off]"));
    }
    // 0 and 11 entries.
    let entry =
        json!({"RoutingControlArn": arn("service1", "secondary"), "RoutingControlState": "On"});
    for n in [0, 11] {
        let v = validation(
            "UpdateRoutingControlStates",
            json!({"UpdateRoutingControlStateEntries": vec![entry.clone(); n]}),
        );
        assert_eq!(
            v["fields"][0]["name"], "UpdateRoutingControlStateEntries",
            "{n}"
        );
    }
    validation("UpdateRoutingControlStates", json!({}));
    // Errors inside entries are named by position.
    let v = validation(
        "UpdateRoutingControlStates",
        json!({"UpdateRoutingControlStateEntries": [entry, {"RoutingControlArn": arn("service1", "primary")}]}),
    );
    assert_eq!(
        v["fields"][0]["name"],
        "UpdateRoutingControlStateEntries[1].RoutingControlState"
    );
    // The same control twice.
    let twice =
        json!({"RoutingControlArn": arn("service1", "secondary"), "RoutingControlState": "On"});
    validation(
        "UpdateRoutingControlStates",
        json!({"UpdateRoutingControlStateEntries": [twice, twice]}),
    );
    // MaxResults out of range, bad tokens.
    for max in [0, 1001, -1] {
        let v = validation("ListRoutingControls", json!({"MaxResults": max}));
        assert_eq!(v["fields"][0]["name"], "MaxResults");
    }
    for token in ["garbage", "00", ""] {
        validation("ListRoutingControls", json!({"NextToken": token}));
    }
    // A token is bound to the control panel filter it was issued for.
    let first = emu
        .call("ListRoutingControls", r#"{"MaxResults": 2}"#)
        .json();
    let token = first["NextToken"].as_str().unwrap();
    validation(
        "ListRoutingControls",
        json!({"NextToken": token, "ControlPanelArn": recovery::local::panel_arn("service1")}),
    );
    // Nothing changed through all of that.
    assert_eq!(emu.state_in_file(&arn("service1", "secondary")), "Off");

    // Not found, with the resource named.
    let missing = recovery::local::control_arn("service1", "gone-rc");
    for (op, body) in [
        (
            "GetRoutingControlState",
            json!({"RoutingControlArn": missing}),
        ),
        (
            "UpdateRoutingControlState",
            json!({"RoutingControlArn": missing, "RoutingControlState": "On"}),
        ),
        (
            "UpdateRoutingControlStates",
            json!({"UpdateRoutingControlStateEntries": [
                {"RoutingControlArn": arn("service1", "secondary"), "RoutingControlState": "On"},
                {"RoutingControlArn": missing, "RoutingControlState": "On"},
            ]}),
        ),
    ] {
        let r = emu.call(op, &body.to_string());
        assert_eq!(
            (r.status, r.error_type().as_str()),
            (404, "ResourceNotFoundException"),
            "{op}"
        );
        assert_eq!(r.json()["resourceId"], missing.as_str());
        assert_eq!(r.json()["resourceType"], "RoutingControl");
    }
    assert_eq!(
        emu.state_in_file(&arn("service1", "secondary")),
        "Off",
        "a batch with an unknown ARN changes nothing"
    );
    let r = emu.call(
        "ListRoutingControls",
        &json!({"ControlPanelArn": recovery::local::panel_arn("nope")}).to_string(),
    );
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (404, "ResourceNotFoundException")
    );
    assert_eq!(r.json()["resourceType"], "ControlPanel");

    // Conflict, naming the rule and why, with the rule as the resource.
    let r = emu.call(
        "UpdateRoutingControlState",
        &json!({"RoutingControlArn": arn("service2", "primary"), "RoutingControlState": "Off"})
            .to_string(),
    );
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (409, "ConflictException"),
        "{r:?}"
    );
    let body = r.json();
    let rule_arn = format!(
        "{}/safetyrule/service2-at-least-one-on",
        recovery::local::panel_arn("service2")
    );
    assert_eq!(body["resourceId"], rule_arn.as_str());
    assert_eq!(body["resourceType"], "SafetyRule");
    assert_eq!(
        body["message"].as_str().unwrap(),
        format!(
            "Safety rule service2-at-least-one-on ({rule_arn}) blocks this change: it asserts ATLEAST 1 of 2 controls On and the change leaves 0 On (to force the change, pass {rule_arn} in SafetyRulesToOverride)"
        )
    );
    // Overridden by ARN: accepted.
    let r = emu.call(
        "UpdateRoutingControlState",
        &json!({"RoutingControlArn": arn("service2", "primary"), "RoutingControlState": "Off", "SafetyRulesToOverride": [rule_arn]}).to_string(),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, "{}");
}

#[test]
fn get_and_list_answer_the_model_shapes() {
    let dir = temp_dir("shapes");
    let emu = Emulator::start(&dir);
    let r = emu.call(
        "GetRoutingControlState",
        &json!({"RoutingControlArn": arn("service1", "primary")}).to_string(),
    );
    assert_eq!(
        r.json(),
        json!({
            "RoutingControlArn": arn("service1", "primary"),
            "RoutingControlName": "service1-primary-rc",
            "RoutingControlState": "On",
        })
    );
    // Pages of 4 then 2, in a stable order, each control once.
    let p1 = emu
        .call("ListRoutingControls", r#"{"MaxResults": 4}"#)
        .json();
    let c = &p1["RoutingControls"][0];
    for key in [
        "ControlPanelArn",
        "ControlPanelName",
        "RoutingControlArn",
        "RoutingControlName",
        "RoutingControlState",
        "Owner",
    ] {
        assert!(c[key].is_string(), "{key} in {c}");
    }
    assert_eq!(c["Owner"], "000000000000");
    let p2 = emu
        .call(
            "ListRoutingControls",
            &json!({"MaxResults": 4, "NextToken": p1["NextToken"]}).to_string(),
        )
        .json();
    assert_eq!(p1["RoutingControls"].as_array().unwrap().len(), 4);
    assert_eq!(p2["RoutingControls"].as_array().unwrap().len(), 2);
    assert!(p2.get("NextToken").is_none());
    let arns: std::collections::HashSet<String> = p1["RoutingControls"]
        .as_array()
        .unwrap()
        .iter()
        .chain(p2["RoutingControls"].as_array().unwrap())
        .map(|c| c["RoutingControlArn"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(arns.len(), 6);

    // GET /state summarises apps for people and tests.
    let s = common::get(emu.api_port + 3, "/state").unwrap().json();
    assert_eq!(s["apps"]["service1"]["active_region"], "us-east-1");
    assert_eq!(s["apps"]["service1"]["hostname"], "service1.example.com");
    assert_eq!(
        s["apps"]["service1"]["controls"]["us-west-2"]["state"],
        "Off"
    );
}
