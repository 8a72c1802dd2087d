//! The real `gateway` binary's JSON lines: every one is one JSON object whose keys are unique (an
//! event field named like one of tracing's own, `"target"` beside `"target"`, makes `jq` drop
//! one), including the follower's warnings; and the follower says what happened: the failover DNS
//! (arc-local in-process) answering with no address for a region whose host has no DNS records is
//! not "unreachable", arc-local stopped is.

mod common;

use std::time::{Duration, Instant};

use common::*;
use recovery::ControlState::{Off, On};
use testkit::ports::free_port;
use testkit::process::{Process, Spawn};

/// Waits until the gateway's stdout has a line containing `what`.
async fn logged(gw: &Process, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = gw.stdout();
        if let Some(line) = out.lines().find(|l| l.contains(what)) {
            return line.to_owned();
        }
        assert!(Instant::now() < deadline, "no line with {what:?}:\n{out}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn every_line_has_unique_keys_and_the_follower_says_what_dns_answered() {
    let s1 = service("service1", "us-east-1").await;
    // service1: us-east-1 is the service on 127.0.0.1; us-west-2 names a host with no records.
    let mut doc = recovery::local::default_document("127.0.0.1", 8600);
    let app = doc.apps.get_mut("service1").unwrap();
    app.regions.get_mut("us-east-1").unwrap().url = format!("http://{s1}");
    app.regions.get_mut("us-west-2").unwrap().url =
        format!("http://service1-us-west-2.invalid:{}", s1.port());
    let primary = app.regions["us-east-1"].routing_control_arn.clone();
    let secondary = app.regions["us-west-2"].routing_control_arn.clone();
    let dir = testkit::temp::dir("gateway-log-lines");
    let mut settings = arc_local::Settings::loopback(dir.path().join("state.json"));
    settings.topology = arc_local::TopologySource::Document(Box::new(doc));
    settings.ttl = 1;
    let arc = arc_local::Emulator::start(settings).expect("arc-local starts");

    let port = free_port();
    let mut gw = Spawn::new(env!("CARGO_BIN_EXE_gateway"))
        .env_clear()
        .env("REGION", "us-east-1")
        .env("PORT", port.to_string())
        .env("ADMIN_PORT", free_port().to_string())
        .env(
            "SERVICE1_URL",
            format!("http://service1.example.com:{}", s1.port()),
        )
        .env("DNS_SERVER", arc.ports().dns.to_string())
        .env("RUST_LOG", "info")
        .listens_on(port)
        .start_async()
        .await
        .unwrap();
    let (status, _, body) = get(&format!("http://127.0.0.1:{port}/service1")).await;
    assert_eq!(status, 200, "{body}");

    // The active region's host has no DNS records: arc-local answers SERVFAIL.
    arc.set_states(&[(primary.clone(), Off), (secondary.clone(), On)])
        .unwrap();
    let answered = logged(&gw, "failover source answered").await;
    assert!(
        answered.contains("answered service1.example.com with no address records"),
        "{answered}"
    );
    arc.set_states(&[(primary, On), (secondary, Off)]).unwrap();
    logged(&gw, "failover source reachable again").await;
    // arc-local gone: now it is unreachable.
    arc.shutdown().unwrap();
    let unreachable = logged(&gw, "failover source unreachable").await;

    gw.terminate().unwrap();
    assert!(gw.wait().unwrap().success());
    let out = gw.stdout();
    for line in out.lines() {
        testkit::json::unique_keys(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    for line in [&answered, &unreachable] {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["target"], "gateway::upstream::follow", "{line}");
        assert_eq!(v["current"], "127.0.0.1", "the address in use: {line}");
        assert_eq!(v["route"], "service1");
    }
    assert!(out.lines().count() >= 4, "{out}");
}
