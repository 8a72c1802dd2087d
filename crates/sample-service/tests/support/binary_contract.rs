// The interface contract every service binary keeps, checked against the real binary
// (included by service1/tests and service2/tests with BIN and NAME defined).

use std::process::Command;
use std::time::{Duration, Instant};

use testkit::ports::free_port;
use testkit::process::{Output, Process, Spawn};

include!("http.rs");

#[tokio::test]
async fn serves_the_original_body_checks_health_and_stops_on_sigterm() {
    let port = free_port();
    let mut service = Spawn::new(BIN)
        .env_clear()
        .env("AWS_REGION", "eu-west-1")
        .env("PORT", port.to_string())
        .listens_on(port)
        .start_async()
        .await
        .unwrap();
    let (status, headers, body) = call("GET", &format!("http://127.0.0.1:{port}/"), "").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        format!(r#"{{"service": "{NAME}", "region": "eu-west-1"}}"#)
    );
    assert_eq!(headers["x-service-region"], "eu-west-1");
    let request_id = headers["x-request-id"].to_str().unwrap().to_owned();

    let ok = Command::new(BIN)
        .arg("healthcheck")
        .env_clear()
        .env("PORT", port.to_string())
        .status()
        .unwrap();
    assert!(ok.success());
    let down = Command::new(BIN)
        .arg("healthcheck")
        .env_clear()
        .env("PORT", free_port().to_string())
        .status()
        .unwrap();
    assert!(!down.success());

    // A slow request in flight at SIGTERM still completes; then the process exits 0.
    let url = format!("http://127.0.0.1:{port}/delay?ms=500");
    let slow = tokio::spawn(async move { call("GET", &url, "").await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    service.terminate().unwrap();
    assert_eq!(slow.await.unwrap().0, 200);
    let status = service.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let log = service.stdout();
    let request_lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["message"] == "request")
        .collect();
    assert_eq!(request_lines.len(), 3, "one JSON line per request: {log}");
    assert_eq!(request_lines[0]["path"], "/");
    assert_eq!(
        request_lines[0]["request_id"],
        request_id.as_str(),
        "the generated id is logged"
    );
}

/// Starts the binary on a free port with `env`; returns it and its port once it listens.
async fn spawn_with(env: &[(&str, &str)]) -> (Process, u16) {
    let port = free_port();
    let service = Spawn::new(BIN)
        .env_clear()
        .env("REGION", "us-east-1")
        .env("PORT", port.to_string())
        .envs(env.iter().copied())
        .stdout(Output::Null)
        .listens_on(port)
        .start_async()
        .await
        .unwrap();
    (service, port)
}

#[tokio::test]
async fn refusals_are_json_with_the_request_id() {
    let (mut service, port) = spawn_with(&[]).await;
    let (status, headers, body) = call("POST", &format!("http://127.0.0.1:{port}/"), "").await;
    assert_eq!(status, 405);
    assert!(headers.contains_key("allow"));
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["error"], "method_not_allowed");
    assert_eq!(j["request_id"], headers["x-request-id"].to_str().unwrap());
    let (status, _, body) = call("GET", &format!("http://127.0.0.1:{port}/nope"), "").await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["error"],
        "not_found"
    );
    service.kill().unwrap();
}

#[tokio::test]
async fn connection_deadlines_come_from_the_environment() {
    let (mut service, port) = spawn_with(&[
        ("HEADER_READ_TIMEOUT", "300ms"),
        ("KEEPALIVE_TIMEOUT", "2s"),
    ])
    .await;
    // A connection that sends nothing is closed after HEADER_READ_TIMEOUT.
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let took = testkit::http::wait_closed(&mut conn, Duration::from_secs(5))
        .await
        .expect("closed without an answer");
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(2),
        "closed after {took:?}"
    );
    service.kill().unwrap();
}

#[tokio::test]
async fn sigterm_exits_within_the_drain_deadline_with_a_request_in_flight() {
    let (mut service, port) = spawn_with(&[("DRAIN_TIMEOUT", "800ms")]).await;
    let url = format!("http://127.0.0.1:{port}/delay?ms=20000");
    let slow = tokio::spawn(async move { response_status(&url).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    service.terminate().unwrap();
    let status = service
        .wait_timeout_async(Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{NAME} still running 10 s after SIGTERM"));
    let took = start.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_millis(2500),
        "exited {took:?} after SIGTERM, drain deadline 800 ms"
    );
    let answer = tokio::time::timeout(Duration::from_secs(5), slow)
        .await
        .expect("the client sees the close")
        .unwrap();
    assert!(
        answer.is_err(),
        "the request still in flight at the deadline is cut"
    );
}

#[test]
fn refuses_to_start_without_a_region_or_with_a_bad_port() {
    let out = Command::new(BIN)
        .env_clear()
        .env("PORT", "8080")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("REGION"));
    let out = Command::new(BIN)
        .env_clear()
        .env("REGION", "us-east-1")
        .env("PORT", "99999")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PORT") && err.contains("99999"), "{err}");
    let out = Command::new(BIN)
        .env_clear()
        .env("REGION", "us-east-1")
        .env("KEEPALIVE_TIMEOUT", "soon")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("KEEPALIVE_TIMEOUT") && err.contains("soon"),
        "{err}"
    );
}
