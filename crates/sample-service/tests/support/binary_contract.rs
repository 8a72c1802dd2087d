// The interface contract every service binary keeps, checked against the real binary
// (included by service1/tests and service2/tests with BIN and NAME defined).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

include!("http.rs");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "{NAME} did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn serves_the_original_body_checks_health_and_stops_on_sigterm() {
    let port = free_port();
    let mut child = Command::new(BIN)
        .env_clear()
        .env("AWS_REGION", "eu-west-1")
        .env("PORT", port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(port).await;
    let (status, headers, body) = call("GET", &format!("http://127.0.0.1:{port}/"), "").await;
    assert_eq!(status, 200);
    assert_eq!(body, format!(r#"{{"service": "{NAME}", "region": "eu-west-1"}}"#));
    assert_eq!(headers["x-service-region"], "eu-west-1");

    let ok = Command::new(BIN).arg("healthcheck").env_clear().env("PORT", port.to_string()).status().unwrap();
    assert!(ok.success());
    let down = Command::new(BIN).arg("healthcheck").env_clear().env("PORT", free_port().to_string()).status().unwrap();
    assert!(!down.success());

    // A slow request in flight at SIGTERM still completes; then the process exits 0.
    let url = format!("http://127.0.0.1:{port}/delay?ms=500");
    let slow = tokio::spawn(async move { call("GET", &url, "").await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    assert_eq!(slow.await.unwrap().0, 200);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let log = std::io::read_to_string(child.stdout.take().unwrap()).unwrap();
    let request_lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["message"] == "request")
        .collect();
    assert_eq!(request_lines.len(), 3, "one JSON line per request: {log}");
    assert_eq!(request_lines[0]["path"], "/");
}

#[test]
fn refuses_to_start_without_a_region_or_with_a_bad_port() {
    let out = Command::new(BIN).env_clear().env("PORT", "8080").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("REGION"));
    let out = Command::new(BIN).env_clear().env("REGION", "us-east-1").env("PORT", "99999").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PORT") && err.contains("99999"), "{err}");
}
