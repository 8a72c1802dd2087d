//! `failover console` against arc-local in-process, the real services in both regions and the
//! real gateway in arc mode (the console's probe goes through it): its API over HTTP (state,
//! confirmations refused, reports served only for its own runs), and the page in Debian's headless
//! Chromium driven by Selenium (`tests/console/drive.py`): it loads, shows the active regions, an
//! evacuation through the page moves the apps with 0 failed probe requests, and the screenshot is
//! kept in `target/tmp/failover-console.png`. The browser part says SKIPPED where Chromium,
//! chromedriver or Selenium is missing.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::regions::{gateway, Regions};
use common::*;
use recovery::ControlState::{Off, On};
use serde_json::Value;
use testkit::ports::free_port;
use testkit::process::Spawn;

/// One HTTP/1.1 exchange with the console at `addr` (closed after the answer).
fn http(method: &str, addr: std::net::SocketAddr, path: &str, body: &str) -> (u16, String) {
    let req = testkit::http::request(
        method,
        path,
        &[
            ("Host", "127.0.0.1"),
            ("Content-Type", "application/json"),
            ("Connection", "close"),
        ],
        body.as_bytes(),
    );
    let r = testkit::http::exchange(addr, &req, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    (r.status, r.body)
}

fn browser() -> Option<String> {
    let python = std::env::var("MOTO_PYTHON").ok().filter(|p| {
        Command::new(p)
            .args(["-c", "import selenium"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let python = python.unwrap_or_else(|| "python3".into());
    let has_selenium = Command::new(&python)
        .args(["-c", "import selenium"])
        .output()
        .is_ok_and(|o| o.status.success());
    let missing: Vec<&str> = [
        ("/usr/bin/chromium", Path::new("/usr/bin/chromium").exists()),
        (
            "/usr/bin/chromedriver",
            Path::new("/usr/bin/chromedriver").exists(),
        ),
        ("selenium (pip install selenium)", has_selenium),
    ]
    .iter()
    .filter(|(_, ok)| !ok)
    .map(|(what, _)| *what)
    .collect();
    if missing.is_empty() {
        Some(python)
    } else {
        eprintln!(
            "SKIPPED: the console in a real browser needs {} (apt-get install chromium chromium-driver; pip install selenium)",
            missing.join(", ")
        );
        None
    }
}

#[test]
fn the_console_shows_the_system_and_evacuates_through_the_page() {
    let arc = Cluster::start();
    let regions = Regions::start();
    let doc = doc_file(&regions.document(arc.document()));
    let (_gw, gw_url) = gateway(&doc.path);
    let reports = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let _console = Spawn::new(env!("CARGO_BIN_EXE_failover"))
        .name("failover-console")
        .args([
            "--cluster",
            &doc.path,
            "console",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--probe-url",
            &gw_url,
            "--probe-interval",
            "200ms",
            "--check-interval",
            "2s",
            "--report-dir",
            &reports.path().display().to_string(),
        ])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .listens_on(port)
        .start()
        .expect("the console starts");

    let (status, page) = http("GET", addr, "/", "");
    assert_eq!(status, 200);
    assert!(page.contains("<title>failover console</title>"));
    // The state fills in: both services active in us-east-1, ready standbys, probe answers.
    let deadline = Instant::now() + Duration::from_secs(20);
    let state = loop {
        let (_, body) = http("GET", addr, "/api/state", "");
        let s: Value = serde_json::from_str(&body).unwrap();
        let apps = s["apps"].as_array().cloned().unwrap_or_default();
        let ready = apps.len() == 2
            && apps
                .iter()
                .all(|a| a["readiness"].as_array().is_some_and(|r| !r.is_empty()));
        if ready && s["timeline"].as_array().is_some_and(|t| t.len() >= 3) {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the console's state never filled in: {s}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    for a in state["apps"].as_array().unwrap() {
        assert_eq!(a["active_region"], "us-east-1", "{a}");
        assert_eq!(a["readiness"][0]["region"], "us-west-2");
        assert_eq!(a["readiness"][0]["ready"], true, "{a}");
    }
    let p = &state["timeline"][1];
    assert_eq!(
        (p["path"].as_str(), p["failed"].as_bool()),
        (Some("/service1"), Some(false)),
        "{p}"
    );
    assert_eq!(p["service_region"], "us-east-1");

    // A confirmation that does not match is refused, and nothing moves.
    let (status, body) = http(
        "POST",
        addr,
        "/api/evacuate",
        r#"{"region":"us-east-1","confirm":"yes"}"#,
    );
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"error":"type the region (us-east-1) to confirm"}"#)
    );
    let (status, _) = http(
        "POST",
        addr,
        "/api/activate",
        r#"{"app":"service1","region":"us-west-2","confirm":"service2"}"#,
    );
    assert_eq!(status, 400);
    let (status, _) = http("GET", addr, "/reports/..%2Fcluster.json", "");
    assert_eq!(status, 404, "only this console's reports are served");
    assert!(arc
        .calls_of(arc_local::Operation::UpdateRoutingControlStates)
        .is_empty());

    let Some(python) = browser() else { return };
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("failover-console.png");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console/drive.py");
    let out = Command::new(&python)
        .arg(script)
        .args([&format!("{base}/"), "us-east-1", "us-west-2"])
        .arg(&shot)
        .args(["service1", "service2"])
        .output()
        .expect("run drive.py");
    assert!(
        out.status.success(),
        "drive.py: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["run_state"], "succeeded", "{seen}");
    assert_eq!(seen["failed_requests"], "0", "{seen}");
    assert_eq!(seen["probe_failed"], "0 failed", "{seen}");
    for app in ["service1", "service2"] {
        assert_eq!(
            (
                arc_state(&arc, app, "us-east-1"),
                arc_state(&arc, app, "us-west-2")
            ),
            (Off, On)
        );
    }
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a screenshot was kept"
    );
    // The run's report is linked from the page and served.
    let (_, body) = http("GET", addr, "/api/state", "");
    let s: Value = serde_json::from_str(&body).unwrap();
    let name = s["runs"][0]["reports"][1].as_str().unwrap().to_owned();
    let (status, md) = http("GET", addr, &format!("/reports/{name}"), "");
    assert_eq!(status, 200);
    assert!(md.starts_with("# evacuate us-east-1: succeeded"), "{md}");
}

fn arc_state(arc: &Cluster, app: &str, region: &str) -> recovery::ControlState {
    arc.state_of(&arc.document().apps[app].regions[region].routing_control_arn)
}
