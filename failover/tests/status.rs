//! `failover status` against arc-local in-process, healthy and with failing endpoints.

mod common;

use std::time::Duration;

use arc_local::{ErrorCode, Fault, Operation};
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
    let arc = Cluster::with_states(states);
    let file = &arc.doc_file;
    let (stdout, stderr, code) = text(&run(&["--cluster", file, "status"], None));
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
    let lists = arc.calls_of(Operation::ListRoutingControls);
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
    assert!(
        lists.len() > first_pages.len(),
        "pages were followed with NextToken: {lists:?}"
    );
    assert!(arc
        .calls_of(Operation::UpdateRoutingControlStates)
        .is_empty());
}

#[test]
fn status_warns_when_both_controls_are_on() {
    let arc = Cluster::with_states(|app, _| {
        if app == "service1" {
            On
        } else {
            states(app, "us-east-1")
        }
    });
    let (stdout, stderr, code) = text(&run(&["--cluster", &arc.doc_file, "status"], None));
    assert_eq!(code, 0, "{stderr}");
    let row = stdout.lines().find(|l| l.starts_with("service1 ")).unwrap();
    assert!(row.contains("! both On"), "{row}");
}

#[test]
fn status_json_reads_the_document_from_stdin_in_terraform_string_form() {
    let arc = Cluster::with_states(states);
    let doc = serde_json::to_string(arc.document()).unwrap();
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
    let doc = doc_file(&document_at(&format!("http://127.0.0.1:{}", closed_port())));
    let file = &doc.path;
    let (_, stderr, code) = text(&run(
        &["--cluster", file, "--timeout", "1s", "status"],
        None,
    ));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no cluster endpoint answered"), "{stderr}");
    assert!(
        stderr.contains("us-east-1: unreachable: Connection refused"),
        "{stderr}"
    );
}

/// Four of the five endpoints fail every call, each its own way (throttled, 500, connection
/// closed without an answer, port closed): the client tries the endpoints in a random order and
/// the one that answers gives the whole table.
#[test]
fn status_reads_through_the_one_endpoint_that_answers() {
    let arc = Cluster::start();
    let faults = arc.faults();
    faults.add(Fault::error(ErrorCode::Throttling).at_endpoint(0));
    faults.add(Fault::error(ErrorCode::InternalServer).at_endpoint(1));
    faults.add(Fault::drop_connection().at_endpoint(2));
    arc.emulator().set_reachable(3, false).unwrap();
    for _ in 0..3 {
        let (stdout, stderr, code) = text(&run(&["--cluster", &arc.doc_file, "status"], None));
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        for app in ["external-api", "service1", "service2"] {
            let row = stdout
                .lines()
                .find(|l| l.starts_with(&format!("{app} ")))
                .unwrap_or_else(|| panic!("no row for {app}:\n{stdout}"));
            assert!(
                row.split_whitespace().collect::<Vec<_>>()[1..4] == ["On", "Off", "us-east-1"],
                "{row}"
            );
        }
    }
    // Each endpoint answered as its fault says; the closed one saw nothing.
    let calls = arc.emulator().calls();
    assert!(calls.iter().any(|c| c.endpoint == 4), "{calls:?}");
    for c in &calls {
        let expected = match c.endpoint {
            0 => (Some(429), Some("ThrottlingException")),
            1 => (Some(500), Some("InternalServerException")),
            2 => (None, None),
            4 => (Some(200), None),
            other => panic!("a call reached endpoint {other}, which is closed: {c:?}"),
        };
        assert_eq!((c.status, c.error), expected, "{c:?}");
    }
}

/// The first ListRoutingControls attempt is throttled and the next one times out: the client
/// moves on to other endpoints each time, and the command succeeds.
#[test]
fn a_throttled_or_slow_endpoint_is_skipped() {
    let arc = Cluster::start();
    let list = Operation::ListRoutingControls;
    let throttled = arc
        .faults()
        .add(Fault::error(ErrorCode::Throttling).on(list).times(1));
    let slow = arc
        .faults()
        .add(Fault::delay(Duration::from_secs(3)).on(list).times(1));
    let (stdout, stderr, code) = text(&run(
        &[
            "--cluster",
            &arc.doc_file,
            "--timeout",
            "1s",
            "status",
            "--json",
        ],
        None,
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    for app in ["external-api", "service1", "service2"] {
        assert_eq!(v["apps"][app]["active_region"], "us-east-1", "{app}: {v}");
        assert_eq!(v["apps"][app]["regions"]["us-east-1"], "On", "{app}: {v}");
    }
    assert_eq!(arc.faults().remaining(throttled), Some(0));
    assert_eq!(arc.faults().remaining(slow), Some(0));
    let calls = arc.emulator().calls();
    let first = calls
        .iter()
        .find(|c| c.status == Some(429))
        .unwrap_or_else(|| panic!("no throttled call: {calls:?}"));
    assert_eq!(first.error, Some("ThrottlingException"));
    // The three control panels are read concurrently, so the retry of the throttled call is the next
    // call for the same panel's first page, not simply the next call.
    let panel = &first.input["ControlPanelArn"];
    let retry = calls
        .iter()
        .skip_while(|c| !std::ptr::eq(*c, first))
        .skip(1)
        .find(|c| &c.input["ControlPanelArn"] == panel && c.input.get("NextToken").is_none())
        .unwrap_or_else(|| panic!("no second attempt for {panel}: {calls:?}"));
    assert_ne!(
        retry.endpoint, first.endpoint,
        "the next attempt goes to another endpoint: {calls:?}"
    );
}

/// No endpoint answers: the command exits 1 and says what each one did.
#[test]
fn status_exits_1_saying_what_each_endpoint_did() {
    let arc = Cluster::start();
    let faults = arc.faults();
    faults.add(Fault::error(ErrorCode::Throttling).at_endpoint(0));
    faults.add(Fault::error(ErrorCode::InternalServer).at_endpoint(1));
    faults.add(Fault::drop_connection().at_endpoint(2));
    faults.add(Fault::delay(Duration::from_secs(3)).at_endpoint(3));
    arc.emulator().set_reachable(4, false).unwrap();
    let (stdout, stderr, code) = text(&run(
        &["--cluster", &arc.doc_file, "--timeout", "1s", "status"],
        None,
    ));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    for expected in [
        "no cluster endpoint answered",
        "us-east-1: ThrottlingException: cluster endpoint us-east-1 is configured to fail: rate exceeded",
        "us-west-2: InternalServerException: cluster endpoint us-west-2 is configured to fail: internal error",
        "eu-west-1: unreachable: connection closed before message completed",
        "ap-northeast-1: timed out",
        "ap-southeast-2: unreachable: Connection refused",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
    // Reachable again: the same command works.
    arc.faults().clear();
    arc.emulator().set_reachable(4, true).unwrap();
    let (stdout, stderr, code) = text(&run(&["--cluster", &arc.doc_file, "status"], None));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
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

/// A gateway's `/ready` stand-in: service2's us-west-2 endpoint (its active region here) ejected.
fn gateway_ready_stand_in() -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/ready",
                axum::routing::get(|| async {
                    axum::Json(serde_json::json!({
                        "status": "ready",
                        "upstreams": {
                            "service1": {"mode": "arc", "regions": ["us-east-1", "us-west-2"], "ejected": []},
                            "service2": {"mode": "arc", "regions": ["us-east-1", "us-west-2"], "ejected": ["us-west-2"]},
                        },
                    }))
                }),
            );
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let _ = tokio::time::timeout(
                Duration::from_secs(30),
                std::future::IntoFuture::into_future(axum::serve(listener, app)),
            )
            .await;
        });
    });
    (url, handle)
}

#[test]
fn status_shows_what_the_gateways_ejected_and_where_requests_go_meanwhile() {
    let arc = Cluster::with_states(states);
    let file = &arc.doc_file;
    let (gateway, _stand_in) = gateway_ready_stand_in();
    let gone = format!("http://127.0.0.1:{}", testkit::ports::free_port());
    let (stdout, stderr, code) = text(&run(
        &[
            "--cluster",
            file,
            "status",
            "--gateway",
            &gateway,
            "--gateway",
            &gone,
            "--gateway-timeout",
            "2s",
        ],
        None,
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("gateways: 1 of 2 answered /ready"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("  ! {gone}: ")), "{stdout}");
    assert!(
        stdout.contains(
            "  service2: us-west-2 (active, ejected by 1 of 2 gateways) -> served from us-east-1"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("  service1: "), "{stdout}");

    let (stdout, stderr, code) = text(&run(
        &["--cluster", file, "status", "--json", "--gateway", &gateway],
        None,
    ));
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["gateways"]["reached"], 1);
    assert_eq!(v["gateways"]["ejected"]["service2"]["us-west-2"], 1);
    assert_eq!(v["apps"]["service2"]["active_region"], "us-west-2");

    let (_, stderr, code) = text(&run(
        &[
            "--cluster",
            file,
            "status",
            "--gateway",
            &gateway,
            "--gateway-timeout",
            "forever",
        ],
        None,
    ));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("forever"), "{stderr}");
}
