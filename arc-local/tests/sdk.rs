//! The AWS SDK path: `recovery::ArcClient` (the AWS SDK for Rust, SigV4-signed, rotating over the
//! five endpoints) against the real binary.

mod common;

use common::{arn, temp_dir, Emulator, ErrorType, TempDir};
use recovery::{ArcClient, ArcError, ClientOptions, ControlState};
use ControlState::{Off, On};

async fn client(emu: &Emulator) -> ArcClient {
    ArcClient::new(&emu.endpoints(), ClientOptions::default()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk_get_list_update_conflict_override_validation_not_found() {
    let dir = temp_dir("sdk");
    let emu = Emulator::start(&dir);
    let arc = client(&emu).await;

    // List: every control of the default topology, with the initial states.
    let all = arc.list(None).await.unwrap();
    assert_eq!(all.len(), 6, "{all:?}");
    let s1p = all
        .iter()
        .find(|c| c.arn == arn("service1", "primary"))
        .unwrap();
    assert_eq!(s1p.name, "service1-primary-rc");
    assert_eq!(s1p.control_panel_name, "service1");
    assert_eq!(
        s1p.control_panel_arn,
        recovery::local::panel_arn("service1")
    );
    assert_eq!(s1p.state, On);
    assert_eq!(all.iter().filter(|c| c.state == On).count(), 3);
    // Filtered by control panel.
    let panel = arc
        .list(Some(&recovery::local::panel_arn("service2")))
        .await
        .unwrap();
    assert_eq!(panel.len(), 2);
    assert!(panel.iter().all(|c| c.control_panel_name == "service2"));

    // Get.
    assert_eq!(arc.get_state(&arn("service1", "secondary")).await, Ok(Off));

    // Update one.
    arc.update(&[(arn("service1", "secondary"), On)], &[])
        .await
        .unwrap();
    assert_eq!(arc.get_state(&arn("service1", "secondary")).await, Ok(On));

    // Update many: service2 fails over in one batch.
    arc.update(
        &[
            (arn("service2", "secondary"), On),
            (arn("service2", "primary"), Off),
        ],
        &[],
    )
    .await
    .unwrap();
    assert_eq!(arc.get_state(&arn("service2", "primary")).await, Ok(Off));
    assert_eq!(arc.get_state(&arn("service2", "secondary")).await, Ok(On));

    // Conflict: the default rule blocks turning both of external-api's controls Off, names itself,
    // and the batch changes nothing.
    let err = arc
        .update(
            &[
                (arn("external-api", "primary"), Off),
                (arn("external-api", "secondary"), Off),
            ],
            &[],
        )
        .await
        .unwrap_err();
    let ArcError::Conflict(message) = &err else {
        panic!("expected a conflict, got {err:?}");
    };
    assert!(
        message.contains("external-api-at-least-one-on")
            && message.contains("ATLEAST 1 of 2 controls On and the change leaves 0"),
        "{message}"
    );
    assert_eq!(arc.get_state(&arn("external-api", "primary")).await, Ok(On));

    // Override: the same change passes when the rule's ARN is in SafetyRulesToOverride.
    let rule = format!(
        "{}/safetyrule/external-api-at-least-one-on",
        recovery::local::panel_arn("external-api")
    );
    arc.update(&[(arn("external-api", "primary"), Off)], &[rule])
        .await
        .unwrap();
    assert_eq!(
        arc.get_state(&arn("external-api", "primary")).await,
        Ok(Off)
    );

    // Validation: 11 entries are refused (at most 10), and nothing changes.
    let eleven: Vec<(String, ControlState)> = (0..11)
        .map(|i| {
            (
                arn("service1", if i % 2 == 0 { "primary" } else { "secondary" }),
                On,
            )
        })
        .collect();
    let err = arc.update(&eleven, &[]).await.unwrap_err();
    assert!(
        matches!(&err, ArcError::Validation(m) if m.contains("UpdateRoutingControlStateEntries")),
        "{err:?}"
    );

    // Not found.
    let missing = recovery::local::control_arn("service1", "nope");
    let err = arc.get_state(&missing).await.unwrap_err();
    assert!(
        matches!(&err, ArcError::NotFound(m) if m.contains(&missing)),
        "{err:?}"
    );
    let err = arc.update(&[(missing.clone(), On)], &[]).await.unwrap_err();
    assert!(matches!(&err, ArcError::NotFound(_)), "{err:?}");
}

/// A topology with `apps` apps (two controls each) in a file.
fn big_topology(dir: &TempDir, apps: usize) -> std::path::PathBuf {
    let mut doc = recovery::local::default_document("127.0.0.1", 8600);
    let template = doc.apps["service1"].clone();
    doc.apps.clear();
    for i in 0..apps {
        let name = format!("app{i:03}");
        let mut app = template.clone();
        app.hostname = format!("{name}.example.com");
        app.control_panel_arn = recovery::local::panel_arn(&name);
        app.control_panel_name = name.clone();
        app.safety_rules.clear();
        for (region, entry) in app.regions.iter_mut() {
            let role = if region == "us-east-1" {
                "primary"
            } else {
                "secondary"
            };
            entry.routing_control_name = format!("{name}-{role}-rc");
            entry.routing_control_arn =
                recovery::local::control_arn(&name, &entry.routing_control_name);
        }
        doc.apps.insert(name, app);
    }
    let path = dir.path().join("topology.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk_list_follows_pagination() {
    // 120 controls: more than the SDK client's page of 100, so it must follow NextToken.
    let dir = temp_dir("paging");
    let topology = big_topology(&dir, 60);
    let emu = Emulator::start_with(&dir, Some(&topology), &[]);

    // The wire: a first page of 100 with a token, a last page without.
    let first = emu
        .call("ListRoutingControls", r#"{"MaxResults": 100}"#)
        .json();
    assert_eq!(first["RoutingControls"].as_array().unwrap().len(), 100);
    let token = first["NextToken"].as_str().expect("a NextToken").to_owned();
    let last = emu
        .call(
            "ListRoutingControls",
            &serde_json::json!({"MaxResults": 100, "NextToken": token}).to_string(),
        )
        .json();
    assert_eq!(last["RoutingControls"].as_array().unwrap().len(), 20);
    assert!(last.get("NextToken").is_none(), "{last}");

    // The SDK client gets all 120, each once, with the apps' rules applied (defaults filled in).
    let arc = client(&emu).await;
    let all = arc.list(None).await.unwrap();
    assert_eq!(all.len(), 120);
    let unique: std::collections::HashSet<_> = all.iter().map(|c| c.arn.clone()).collect();
    assert_eq!(unique.len(), 120);
    assert_eq!(all.iter().filter(|c| c.state == On).count(), 60);
    let err = arc
        .update(&[(arn("app042", "primary"), Off)], &[])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ArcError::Conflict(m) if m.contains("app042-at-least-one-on")),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk_rotates_past_failing_endpoints() {
    let dir = temp_dir("faults");
    let emu = Emulator::start_with(
        &dir,
        None,
        &[(
            "ARC_LOCAL_FAULTS",
            "us-east-1=unavailable,us-west-2=throttling,eu-west-1=internal,3=unavailable",
        )],
    );
    // Each failing endpoint answers with its fault, in the model's shape.
    for (i, code, status) in [
        (0, "EndpointTemporarilyUnavailableException", 503),
        (1, "ThrottlingException", 429),
        (2, "InternalServerException", 500),
        (3, "EndpointTemporarilyUnavailableException", 503),
    ] {
        let r = emu.call_on(i, "ListRoutingControls", "{}");
        assert_eq!((r.status, r.error_type().as_str()), (status, code), "{r:?}");
    }
    assert_eq!(emu.call_on(4, "ListRoutingControls", "{}").status, 200);

    // The client moves on to the healthy endpoint, every time.
    let arc = client(&emu).await;
    for _ in 0..5 {
        assert_eq!(arc.list(None).await.unwrap().len(), 6);
    }
    arc.update(&[(arn("service1", "secondary"), On)], &[])
        .await
        .unwrap();
    assert_eq!(arc.get_state(&arn("service1", "secondary")).await, Ok(On));
}
