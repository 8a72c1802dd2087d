//! `failover console` against arc-local in-process, the real services in both regions and the
//! real gateway in arc mode (the console's probe goes through it): its API over HTTP (state,
//! confirmations refused, reports served only for its own runs; a foreign Host, a foreign Origin
//! and a request without the start-up secret refused, the secret exchanged for a cookie; a
//! non-loopback --listen refused unless meant), the audit trail, and the page in Debian's headless
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

/// One HTTP/1.1 exchange with the console at `addr` (closed after the answer), with `headers`
/// besides `Content-Type` and `Connection` (and `Host: 127.0.0.1` unless given).
fn exchange(
    method: &str,
    addr: std::net::SocketAddr,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> testkit::http::Response {
    let mut all = vec![
        ("Content-Type", "application/json"),
        ("Connection", "close"),
    ];
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        all.push(("Host", "127.0.0.1"));
    }
    all.extend_from_slice(headers);
    let req = testkit::http::request(method, path, &all, body.as_bytes());
    testkit::http::exchange(addr, &req, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// The console's secret, from the URL it printed at start-up.
fn secret_of(console: &testkit::process::Process) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = console.stdout();
        if let Some(i) = out.find("?token=") {
            let rest = &out[i + 7..];
            return rest[..rest.find(char::is_whitespace).unwrap()].to_owned();
        }
        assert!(Instant::now() < deadline, "no URL with a token: {out}");
        std::thread::sleep(Duration::from_millis(50));
    }
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
    let console = Spawn::new(env!("CARGO_BIN_EXE_failover"))
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

    let secret = secret_of(&console);
    assert_eq!(secret.len(), 64, "{secret}");
    let cookie = format!("failover_console={secret}");
    let http = |method: &str, addr, path: &str, body: &str| {
        let r = exchange(method, addr, path, body, &[("Cookie", &cookie)]);
        (r.status, r.body)
    };

    // Without the secret: refused, as JSON, with the security headers.
    let r = exchange("GET", addr, "/api/state", "", &[]);
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.json()["error"].as_str().unwrap().contains("secret"));
    let csp = r.header("content-security-policy").unwrap_or("");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    let r = exchange("GET", addr, "/?token=0123456789abcdef0123", "", &[]);
    assert_eq!(r.status, 401, "a wrong token: {}", r.body);
    // The start-up URL: the secret becomes an HttpOnly SameSite=Strict cookie, then the clean URL.
    let r = exchange("GET", addr, &format!("/?token={secret}"), "", &[]);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/"));
    let set = r.header("set-cookie").unwrap_or("");
    assert!(
        set.starts_with(&format!("{cookie};"))
            && set.contains("HttpOnly")
            && set.contains("SameSite=Strict"),
        "{set}"
    );
    let r = exchange("GET", addr, "/", "", &[("Cookie", &cookie)]);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<title>failover console</title>"));
    let csp = r.header("content-security-policy").unwrap_or("");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    let r = exchange("GET", addr, "/console.js", "", &[("Cookie", &cookie)]);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("/api/state"));

    // A page elsewhere: a rebound DNS name (foreign Host), a cross-site form or fetch (foreign
    // Origin), a bare scripted POST (no secret). Each refused, with a valid confirmation.
    let activate = r#"{"app":"service1","region":"us-west-2","confirm":"service1"}"#;
    let r = exchange(
        "POST",
        addr,
        "/api/activate",
        activate,
        &[
            ("Host", "attacker.example"),
            ("Origin", "http://attacker.example"),
        ],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("attacker.example"));
    let r = exchange(
        "GET",
        addr,
        "/api/state",
        "",
        &[
            ("Host", &format!("attacker.example:{port}")),
            ("Cookie", &cookie),
        ],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = exchange(
        "POST",
        addr,
        "/api/activate",
        activate,
        &[("Origin", "http://attacker.example"), ("Cookie", &cookie)],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.json()["error"].as_str().unwrap().contains("Origin"));
    let r = exchange("POST", addr, "/api/activate", activate, &[]);
    assert_eq!(r.status, 401, "{}", r.body);
    let r = exchange(
        "POST",
        addr,
        "/api/evacuate",
        r#"{"region":"us-east-1","confirm":"us-east-1"}"#,
        &[("Origin", "null"), ("Cookie", &cookie)],
    );
    assert_eq!(r.status, 403, "an opaque origin: {}", r.body);
    assert!(
        arc.calls_of(arc_local::Operation::UpdateRoutingControlStates)
            .is_empty(),
        "nothing moved"
    );
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
        .args([&format!("{base}/?token={secret}"), "us-east-1", "us-west-2"])
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
    // The report page runs no script, whoever opens it.
    let html = s["runs"][0]["reports"][2].as_str().unwrap().to_owned();
    let r = exchange(
        "GET",
        addr,
        &format!("/reports/{html}"),
        "",
        &[("Cookie", &cookie)],
    );
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-security-policy")
        .is_some_and(|p| p.contains("default-src 'none'") && !p.contains("script")));

    // The audit trail: one record per app moved, by this user, through the console; shown.
    let records = audited(reports.path());
    assert_eq!(records.len(), 2, "{records:?}");
    for r in &records {
        assert_eq!(r["via"], "console: evacuate us-east-1", "{r}");
        assert_eq!(r["who"]["kind"], "local");
        assert_eq!(r["result"], "applied");
        assert_eq!(r["from"]["us-east-1"], "On", "{r}");
        assert_eq!(r["to"]["us-west-2"], "On", "{r}");
    }
    assert_eq!(s["audit"].as_array().map(Vec::len), Some(2), "{s}");
    assert_eq!(seen["audit_rows"], 2, "the page shows them: {seen}");
}

/// The audit records in `dir`'s audit.jsonl.
fn audited(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_console_on_a_non_loopback_address_takes_allow_remote_and_still_its_secret() {
    let console = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_failover"))
            .arg("console")
            .args(args)
            .env_remove("FAILOVER_CONSOLE_SECRET")
            .output()
            .unwrap()
    };
    let listen = format!("0.0.0.0:{}", free_port());
    for args in [
        vec!["--listen", &listen],
        vec!["--listen", &listen, "--secret", "0123456789abcdef0123"],
    ] {
        let out = console(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("not a loopback address") && stderr.contains("--allow-remote"),
            "{stderr}"
        );
    }
    let out = console(&["--secret", "short"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16"));

    // Meant: it starts, and still answers only its own names with the secret.
    let port = free_port();
    let secret = "0123456789abcdef0123";
    let _console = Spawn::new(env!("CARGO_BIN_EXE_failover"))
        .name("failover-console-remote")
        .args([
            "console",
            "--listen",
            &format!("0.0.0.0:{port}"),
            "--allow-remote",
        ])
        .args(["--allow-host", "console.example.com"])
        .env("FAILOVER_CONSOLE_SECRET", secret)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .listens_on(port)
        .start()
        .expect("the console starts");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let bearer = format!("Bearer {secret}");
    for (host, status) in [
        ("127.0.0.1", 200),
        ("console.example.com:8700", 200),
        ("other.example.com", 403),
    ] {
        let r = exchange(
            "GET",
            addr,
            "/",
            "",
            &[("Host", host), ("Authorization", &bearer)],
        );
        assert_eq!(r.status, status, "{host}: {}", r.body);
    }
}

fn arc_state(arc: &Cluster, app: &str, region: &str) -> recovery::ControlState {
    arc.state_of(&arc.document().apps[app].regions[region].routing_control_arn)
}
