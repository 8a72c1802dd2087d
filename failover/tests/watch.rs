//! `failover watch` end to end on loopback: arc-local in-process, the real service1 and service2
//! in both regions, the real gateway (the external API) in both regions, and two watchers, one per
//! region, probing the gateways. The active (us-east-1) gateway is killed: the us-west-2 watcher
//! refuses while its kill switch (a routing control created through arc-local's config API, then
//! a stop file) says no, evacuates us-east-1 once armed after the dwell, with a report; the gateway
//! comes back and nothing moves back; the us-east-1 watcher never acts.

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use arc_local::Operation;
use common::regions::{bin, Regions};
use common::*;
use recovery::ControlState::{Off, On};
use serde_json::Value;
use testkit::ports::free_port;
use testkit::process::{Process, Spawn};

/// The gateway of `region` on 127.0.0.1:`port` in arc mode, reading `doc_file`.
fn gateway(doc_file: &str, region: &str, port: u16) -> Process {
    Spawn::new(bin("gateway"))
        .name(format!("gateway-{region}"))
        .env("REGION", region)
        .env("PORT", port.to_string())
        .env("ADMIN_PORT", free_port().to_string())
        .env("BIND", "127.0.0.1")
        .env("GATEWAY_FAILOVER_MODE", "arc")
        .env("ARC_CLUSTER_FILE", doc_file)
        .env("ARC_POLL_INTERVAL", "100ms")
        .env("LOG_FORMAT", "text")
        .env("RUST_LOG", "warn")
        .listens_on(port)
        .start()
        .expect("the gateway starts")
}

/// A watcher for `region`, probing every 100 ms with a 1 s dwell; its metrics port.
fn watcher(doc: &str, region: &str, reports: &str, extra: &[&str]) -> (Process, u16) {
    let metrics = free_port();
    let mut args = vec![
        "--cluster",
        doc,
        "watch",
        "--region",
        region,
        "--probe",
        "--dwell",
        "1s",
        "--cooldown",
        "1h",
        "--interval",
        "100ms",
        "--health-timeout",
        "500ms",
        "--poll-interval",
        "100ms",
        "--report-dir",
        reports,
    ];
    args.extend_from_slice(extra);
    let listen = format!("127.0.0.1:{metrics}");
    args.extend_from_slice(&["--metrics-listen", &listen]);
    let p = Spawn::new(env!("CARGO_BIN_EXE_failover"))
        .name(format!("watch-{region}"))
        .args(&args)
        .env_remove("FAILOVER_CLUSTER")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .listens_on(metrics)
        .start()
        .expect("the watcher starts");
    (p, metrics)
}

/// The watcher's audit records so far.
fn audit(p: &Process) -> Vec<Value> {
    p.stderr()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["audit"] == "watch")
        .collect()
}

/// Waits (at most `limit`) until `p` has an audit record that `pred` accepts; returns it.
fn wait_for(p: &Process, limit: Duration, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = audit(p).into_iter().find(|v| pred(v)) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "no {what} within {limit:?}\nstdout:\n{}\nstderr:\n{}",
            p.stdout(),
            p.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn refused_because(v: &Value, reason: &str) -> bool {
    v["event"] == "refused"
        && v["state"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains(reason))
}

/// `POST` a JSON body over HTTP/1.1 and return the answer's JSON body. arc-local wants a SigV4
/// `Authorization` header and does not verify it.
fn post_json(addr: std::net::SocketAddr, path: &str, body: &str) -> Value {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20261208/us-west-2/route53-recovery-control-config/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{answer}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

#[test]
fn the_watcher_evacuates_a_lost_entry_region_after_the_dwell_and_never_moves_back() {
    let arc = Cluster::start();
    let regions = Regions::start();
    let (east_port, west_port) = (free_port(), free_port());
    let mut doc = arc.document().clone();
    for ((app, region), url) in &regions.urls {
        doc.apps
            .get_mut(app)
            .unwrap()
            .regions
            .get_mut(region)
            .unwrap()
            .url = url.clone();
    }
    let external = doc.apps.get_mut("external-api").unwrap();
    for (region, port) in [("us-east-1", east_port), ("us-west-2", west_port)] {
        external.regions.get_mut(region).unwrap().url = format!("http://127.0.0.1:{port}");
    }
    let doc_file = doc_file(&doc);
    let mut east_gw = gateway(&doc_file.path, "us-east-1", east_port);
    let _west_gw = gateway(&doc_file.path, "us-west-2", west_port);

    // The kill switch: a routing control made through arc-local's config API (Off, as ARC
    // creates them).
    let config = arc.emulator().ports().config;
    let panel = post_json(
        config,
        "/controlpanel",
        &format!(
            r#"{{"ClusterArn": "{}", "ControlPanelName": "watch"}}"#,
            doc.cluster_arn
        ),
    );
    let panel = panel["ControlPanel"]["ControlPanelArn"]
        .as_str()
        .unwrap_or_else(|| panic!("{panel}"))
        .to_owned();
    let created = post_json(
        config,
        "/routingcontrol",
        &format!(
            r#"{{"ClusterArn": "{}", "ControlPanelArn": "{panel}", "RoutingControlName": "watch-enabled"}}"#,
            doc.cluster_arn
        ),
    );
    let enable = created["RoutingControl"]["RoutingControlArn"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    assert_eq!(arc.state_of(&enable), Off);

    let reports = tempfile::tempdir().unwrap();
    let reports_dir = reports.path().display().to_string();
    let stop_file = reports.path().join("watch.stop");
    let stop = stop_file.display().to_string();
    let switch = [
        "--enable-control",
        enable.as_str(),
        "--stop-file",
        stop.as_str(),
    ];
    let (west, west_metrics) = watcher(&doc_file.path, "us-west-2", &reports_dir, &switch);
    let (east, _) = watcher(&doc_file.path, "us-east-1", &reports_dir, &switch);
    let external_api =
        |region: &str| arc.state_of(&doc.apps["external-api"].regions[region].routing_control_arn);

    // Both regions up: the us-east-1 watcher is home, the us-west-2 one watches.
    wait_for(&east, Duration::from_secs(20), "home", |v| {
        v["state"]["state"] == "home"
    });
    wait_for(&west, Duration::from_secs(20), "watching", |v| {
        v["state"]["state"] == "watching" && v["health"]["us-east-1"] == "up"
    });

    // The active region's gateway is lost. The trigger holds, the dwell ends, and the kill
    // switch (the control is Off) refuses.
    east_gw.kill().unwrap();
    let killed = Instant::now();
    let holding = wait_for(&west, Duration::from_secs(10), "holding", |v| {
        v["state"]["state"] == "holding"
    });
    assert_eq!(holding["health"]["us-east-1"], "down", "{holding}");
    assert_eq!(holding["health"]["us-west-2"], "up", "{holding}");
    wait_for(
        &west,
        Duration::from_secs(10),
        "refusal (control Off)",
        |v| refused_because(v, "watch-enabled") || refused_because(v, "is Off"),
    );
    // Armed by the control, disarmed by the stop file: still refused.
    std::fs::write(&stop_file, "").unwrap();
    arc.emulator().set_states(&[(enable.clone(), On)]).unwrap();
    wait_for(&west, Duration::from_secs(10), "refusal (stop file)", |v| {
        refused_because(v, "stop file")
    });
    assert!(
        arc.calls_of(Operation::UpdateRoutingControlStates)
            .is_empty(),
        "nothing moved while disarmed"
    );
    assert_eq!(external_api("us-east-1"), On);

    // Armed: the dwell is long over and the trigger still holds, so the evacuation runs now.
    std::fs::remove_file(&stop_file).unwrap();
    let run = wait_for(&west, Duration::from_secs(30), "run", |v| {
        v["event"] == "run"
    });
    assert!(
        killed.elapsed() >= Duration::from_secs(1),
        "not before the dwell"
    );
    assert_eq!(run["outcome"], "succeeded", "{run}\n{}", west.stdout());
    assert_eq!(run["from"], "us-east-1");
    assert_eq!(run["gate"], "passed");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(run["report"].as_str().unwrap()).unwrap())
            .unwrap();
    assert_eq!(report["plan"], "evacuate us-east-1");
    assert_eq!(report["outcome"], "succeeded");
    assert!(
        west.stdout().contains("evacuated us-east-1 at "),
        "{}",
        west.stdout()
    );
    for app in ["external-api", "service1", "service2"] {
        let rc = &doc.apps[app].regions;
        assert_eq!(
            arc.state_of(&rc["us-west-2"].routing_control_arn),
            On,
            "{app}"
        );
        assert_eq!(
            arc.state_of(&rc["us-east-1"].routing_control_arn),
            Off,
            "{app}"
        );
    }
    let moves = arc.calls_of(Operation::UpdateRoutingControlStates).len();

    // The gateway comes back: the us-west-2 watcher is home, the us-east-1 one sees us-west-2
    // active and up, and nothing moves back, well past several dwells.
    let _east_gw = gateway(&doc_file.path, "us-east-1", east_port);
    wait_for(&west, Duration::from_secs(10), "home", |v| {
        v["state"]["state"] == "home"
    });
    wait_for(&east, Duration::from_secs(10), "east watching", |v| {
        v["state"]["state"] == "watching"
            && v["state"]["active"] == "us-west-2"
            && v["health"]["us-east-1"] == "up"
    });
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        arc.calls_of(Operation::UpdateRoutingControlStates).len(),
        moves
    );
    assert_eq!(external_api("us-west-2"), On);
    for p in [&west, &east] {
        let runs = audit(p).into_iter().filter(|v| v["event"] == "run").count();
        assert_eq!(runs, usize::from(std::ptr::eq(p, &west)), "{}", p.stderr());
    }

    // Every record was counted: the metrics endpoint says so.
    let metrics = http_get(west_metrics, "/metrics");
    assert!(
        metrics.contains(r#"failover_watch_events_total{event="run"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"failover_watch_events_total{event="refused"}"#),
        "{metrics}"
    );
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}
