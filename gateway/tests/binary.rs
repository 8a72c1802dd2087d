//! The real `gateway` binary: environment-only start-up, logs, healthcheck, config errors,
//! SIGTERM drain and runtime sizing.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use testkit::ports::free_port;
use testkit::process::{Output, Process, Spawn};

const BIN: &str = env!("CARGO_BIN_EXE_gateway");

/// A gateway binary listening on its `port`; killed when dropped.
struct Running {
    process: Process,
    port: u16,
}

/// Starts the binary with only `envs` (and free ports) and waits until it listens.
async fn start(envs: &[(&str, String)]) -> Running {
    let port = free_port();
    let process = Spawn::new(BIN)
        .env_clear()
        .env("PORT", port.to_string())
        .env("ADMIN_PORT", free_port().to_string())
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .listens_on(port)
        .start_async()
        .await
        .unwrap();
    Running { process, port }
}

#[tokio::test]
async fn runs_from_service_urls_alone_and_logs_one_json_line_per_request() {
    let s1 = service("service1", "us-east-1").await;
    let s2 = service("service2", "us-west-2").await;
    let mut gw = start(&[
        ("REGION", "us-west-2".into()),
        ("SERVICE1_URL", format!("http://{s1}")),
        ("SERVICE2_URL", format!("http://{s2}")),
    ])
    .await;
    let base = format!("http://127.0.0.1:{}", gw.port);
    let (status, headers, body) = get(&format!("{base}/service1")).await;
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"service": "service1", "region": "us-east-1"}"#);
    assert_eq!(headers["x-gateway-region"], "us-west-2");
    assert_eq!(headers["x-service-region"], "us-east-1");
    let request_id = headers["x-request-id"].to_str().unwrap().to_owned();
    let (_, _, body) = get(&format!("{base}/service2")).await;
    assert_eq!(body, r#"{"service": "service2", "region": "us-west-2"}"#);

    gw.process.terminate().unwrap();
    let status = gw.process.wait().unwrap();
    assert!(status.success(), "exit 0 after SIGTERM: {status:?}");
    let out = gw.process.stdout();
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let line = lines
        .iter()
        .find(|l| l["request_id"] == request_id.as_str())
        .expect("a log line for the request");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "service1");
    assert_eq!(line["status"], 200);
    assert_eq!(line["upstream"], format!("http://{s1}"));
    assert_eq!(line["upstream_region"], "us-east-1");
    assert!(line["latency_us"].as_u64().is_some());
    assert_eq!(
        lines.iter().filter(|l| l["message"] == "request").count(),
        2
    );
}

#[tokio::test]
async fn access_lines_of_a_burst_are_out_by_the_end_of_the_loop_turn_whole_and_once_each() {
    // Lines are batched per loop turn. 200 lines are about 60 KB, under the 64 KiB buffer: they
    // are out while the gateway runs only because each turn ends with a write.
    let s1 = service("service1", "us-east-1").await;
    let mut gw = start(&[
        ("REGION", "us-east-1".into()),
        ("SERVICE1_URL", format!("http://{s1}")),
    ])
    .await;
    let url = format!("http://127.0.0.1:{}/service1", gw.port);
    let mut ids = std::collections::BTreeSet::new();
    for _ in 0..10 {
        let burst = (0..20).map(|_| {
            let url = url.clone();
            tokio::spawn(async move { get(&url).await })
        });
        for answer in futures_util::future::join_all(burst).await {
            let (status, headers, _) = answer.unwrap();
            assert_eq!(status, 200);
            ids.insert(headers["x-request-id"].to_str().unwrap().to_owned());
        }
    }
    assert_eq!(ids.len(), 200);
    let logged = |out: &str| -> Vec<String> {
        out.lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l)
                    .unwrap_or_else(|e| panic!("not a whole JSON line ({e}): {l}"))
            })
            .filter(|l| l["message"] == "request")
            .map(|l| l["request_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(2);
    while logged(&gw.process.stdout()).len() < 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lines = logged(&gw.process.stdout());
    assert_eq!(lines.len(), 200, "every line is out while the gateway runs");
    assert_eq!(
        lines
            .iter()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        ids
    );
    gw.process.terminate().unwrap();
    assert!(gw.process.wait().unwrap().success());
    assert_eq!(logged(&gw.process.stdout()).len(), 200, "and each once");
}

#[tokio::test]
async fn the_cluster_document_gives_a_dns_mode_route_its_fallback_and_the_line_says_so() {
    // service1's us-east-1 endpoint refuses connections; its us-west-2 endpoint answers.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let standby = service("service1", "us-west-2").await;
    let mut doc = recovery::local::default_document("127.0.0.1", 4566);
    // Only service1: another app of the document would be routed to its failover record's name.
    doc.apps.remove("service2");
    let app = doc.apps.get_mut("service1").unwrap();
    app.regions.get_mut("us-east-1").unwrap().url = format!("http://{closed}");
    app.regions.get_mut("us-west-2").unwrap().url = format!("http://{standby}");
    let mut gw = start(&[
        ("REGION", "us-east-1".into()),
        ("SERVICE1_URL", format!("http://{closed}")),
        ("ARC_CLUSTER_JSON", serde_json::to_string(&doc).unwrap()),
    ])
    .await;
    let base = format!("http://127.0.0.1:{}", gw.port);
    let (status, headers, _) = get(&format!("{base}/service1/")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-gateway-fallback"], "us-west-2");
    let request_id = headers["x-request-id"].to_str().unwrap().to_owned();
    gw.process.terminate().unwrap();
    assert!(gw.process.wait().unwrap().success());
    let out = gw.process.stdout();
    let line: serde_json::Value = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["request_id"] == request_id.as_str())
        .expect("a log line for the request");
    assert_eq!(line["fallback"], "us-west-2", "{line}");
    assert_eq!(line["upstream_region"], "us-west-2");
    assert!(
        !out.contains("no effect"),
        "the document is not reported as unused in dns mode: {out}"
    );
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_then_exits_zero() {
    let s1 = service("service1", "us-east-1").await;
    let mut gw = start(&[
        ("REGION", "us-east-1".into()),
        ("SERVICE1_URL", format!("http://{s1}")),
    ])
    .await;
    let url = format!("http://127.0.0.1:{}/service1/delay?ms=800", gw.port);
    let slow = tokio::spawn(async move { get(&url).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    gw.process.terminate().unwrap();
    let (status, _, body) = slow.await.unwrap();
    assert_eq!(
        status, 200,
        "in-flight request completed during the drain: {body}"
    );
    let exit = gw
        .process
        .wait_timeout_async(Duration::from_secs(30))
        .await
        .unwrap()
        .expect("the gateway exits after the drain");
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn healthcheck_subcommand_reports_by_exit_code() {
    let s1 = service("service1", "us-east-1").await;
    let gw = start(&[
        ("REGION", "us-east-1".into()),
        ("SERVICE1_URL", format!("http://{s1}")),
    ])
    .await;
    let ok = Command::new(BIN)
        .arg("healthcheck")
        .env_clear()
        .env("PORT", gw.port.to_string())
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    let down = Command::new(BIN)
        .arg("healthcheck")
        .env_clear()
        .env("PORT", free_port().to_string())
        .output()
        .unwrap();
    assert!(!down.status.success());
    assert!(String::from_utf8_lossy(&down.stderr).contains("healthcheck failed"));
}

#[test]
fn bad_configuration_names_the_key_and_value() {
    let run = |envs: &[(&str, &str)]| {
        let out = Command::new(BIN)
            .env_clear()
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = run(&[
        ("REGION", "us-east-1"),
        ("SERVICE1_URL", "ftp://service1.example.com"),
    ]);
    assert!(
        e.contains("SERVICE1_URL") && e.contains("ftp://service1.example.com"),
        "{e}"
    );
    let e = run(&[
        ("REGION", "us-east-1"),
        ("SERVICE1_URL", "http://a"),
        ("PORT", "eighty"),
    ]);
    assert!(e.contains("PORT") && e.contains("eighty"), "{e}");
    let e = run(&[("REGION", "US_EAST"), ("SERVICE1_URL", "http://a")]);
    assert!(e.contains("REGION") && e.contains("US_EAST"), "{e}");
    let e = run(&[("REGION", "us-east-1")]);
    assert!(e.contains("SERVICE1_URL"), "{e}");
    let dir = testkit::temp::dir("gw-config");
    let file = dir.path().join("gateway.toml");
    std::fs::write(&file, "region = \"us-east-1\"\n[[route]]\nprefix = \"/service1\"\nupstream = \"http://a\"\nconnect_timeout = \"2 fortnights\"\n").unwrap();
    let e = run(&[("GATEWAY_CONFIG", file.to_str().unwrap())]);
    assert!(
        e.contains("connect_timeout") || e.contains("fortnights"),
        "{e}"
    );
    let e = run(&[("GATEWAY_CONFIG", "/nonexistent/gateway.toml")]);
    assert!(e.contains("/nonexistent/gateway.toml"), "{e}");
}

fn worker_threads_now(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("gateway-worker"))
        .count()
}

/// The runtime's worker count, read until it reaches `expected` or a few seconds pass: a worker
/// thread names itself when it first runs, which on a loaded machine can come after the listener
/// is up. More workers than expected is reported at once.
async fn worker_threads(pid: u32, expected: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = worker_threads_now(pid);
        if n >= expected || Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn runtime_is_sized_to_the_cpus_the_process_may_use() {
    let s1 = service("service1", "us-east-1").await;
    let envs = [
        ("REGION", "us-east-1".to_string()),
        ("SERVICE1_URL", format!("http://{s1}")),
    ];
    let mut with_three = envs.to_vec();
    with_three.push(("WORKER_THREADS", "3".into()));
    let gw = start(&with_three).await;
    assert_eq!(worker_threads(gw.process.id(), 3).await, 3);
    drop(gw);

    // Pinned to one CPU (as a 1-vCPU task would be), the runtime has one worker.
    if Command::new("taskset").arg("--version").output().is_ok() {
        let port = free_port();
        let pinned = Spawn::new("taskset")
            .args(["-c", "0", BIN])
            .env_clear()
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .env("PORT", port.to_string())
            .env("ADMIN_PORT", free_port().to_string())
            .stdout(Output::Null)
            .listens_on(port)
            .start_async()
            .await
            .unwrap();
        // Settle, so that a second worker (the bug this guards against) would have shown up.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let n = worker_threads(pinned.id(), 1).await;
        drop(pinned);
        assert_eq!(n, 1);
    }
}
