//! API keys over real sockets: 403 without a known, enabled key; the key never reaches the
//! upstream, its id and plan do, and a client cannot spoof them; the key set reloads on a file
//! change and on SIGHUP (the real binary) without dropping connections, and a bad file keeps the
//! set in force.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use gateway::policy::keys::{digest_text, entry};
use http_body_util::Full;
use testkit::ports::free_port;
use testkit::process::{Signal, Spawn};

/// An upstream that answers every request with the request's header fields as JSON.
async fn echo() -> SocketAddr {
    let app = axum::Router::new().fallback(|headers: http::HeaderMap| async move {
        let fields: serde_json::Map<String, serde_json::Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").into()))
            .collect();
        axum::Json(fields)
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A key file with `(id, key, enabled)` entries on plan `basic`.
fn write_keys(path: &Path, keys: &[(&str, &str, bool)]) {
    let text: String = keys
        .iter()
        .map(|(id, key, enabled)| entry(key, id, "test key", Some("basic"), *enabled).unwrap())
        .collect();
    // Written beside and renamed, as a deployment would: the watcher never reads half a file.
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Routes `/svc` (keys required) and `/open`; metrics are per process, so the first test's
/// routes are named apart with `tag`.
fn config(upstream: SocketAddr, keys: &Path, reload: &str) -> String {
    tagged_config(upstream, keys, reload, "")
}

fn tagged_config(upstream: SocketAddr, keys: &Path, reload: &str, tag: &str) -> String {
    format!(
        r#"region = "us-east-1"
[api_keys]
file = "{}"
reload_interval = "{reload}"
[policy.keys]
type = "api_key"
[plan.basic]
rate = 1000
burst = 1000
[[route]]
prefix = "/svc{tag}"
upstream = "http://{upstream}"
policies = ["keys"]
[[route]]
prefix = "/open{tag}"
upstream = "http://{upstream}"
"#,
        keys.display()
    )
}

async fn call(base: &str, path: &str, headers: &[(&str, &str)]) -> (u16, http::HeaderMap, String) {
    let mut req = http::Request::get(format!("{base}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let (status, h, body) = send(req.body(Full::<Bytes>::default()).unwrap()).await;
    (status.as_u16(), h, body)
}

const KEY_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const KEY_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const KEY_OFF: &str = "dddddddddddddddddddddddddddddddddddddddd";

#[tokio::test]
async fn keys_decide_and_the_upstream_sees_only_the_id_and_plan() {
    let up = echo().await;
    let dir = testkit::temp::dir("keys");
    let file = dir.path().join("keys.toml");
    write_keys(&file, &[("alpha", KEY_A, true), ("off", KEY_OFF, false)]);
    assert!(!std::fs::read_to_string(&file).unwrap().contains(KEY_A));
    let gw = gateway(&tagged_config(up, &file, "1h", "1")).await;
    let base = gw.url("");

    for (headers, code) in [
        (vec![], "api_key_missing"),
        (vec![("x-api-key", "not-a-key")], "api_key_invalid"),
        (vec![("x-api-key", KEY_OFF)], "api_key_invalid"),
    ] {
        let (status, h, body) = call(&base, "/svc1/items", &headers).await;
        assert_eq!(status, 403, "{headers:?}: {body}");
        let body = json(&body);
        assert_eq!(body["message"], "Forbidden");
        assert_eq!(body["error"], code);
        assert_eq!(body["request_id"], h["x-request-id"].to_str().unwrap());
        assert_eq!(h["content-type"], "application/json");
    }

    let spoofed = [
        ("x-api-key", KEY_A),
        ("x-gateway-key-id", "admin"),
        ("x-gateway-key-plan", "unlimited"),
    ];
    let (status, _, body) = call(&base, "/svc1/items", &spoofed).await;
    assert_eq!(status, 200, "{body}");
    let seen = json(&body);
    assert_eq!(seen["x-gateway-key-id"], "alpha");
    assert_eq!(seen["x-gateway-key-plan"], "basic");
    assert!(
        seen.get("x-api-key").is_none(),
        "the key reached the upstream: {seen}"
    );

    // A route without the policy: the key and the spoofed fields are removed all the same.
    let (status, _, body) = call(&base, "/open1", &spoofed).await;
    assert_eq!(status, 200);
    let seen = json(&body);
    for field in ["x-api-key", "x-gateway-key-id", "x-gateway-key-plan"] {
        assert!(
            seen.get(field).is_none(),
            "{field} reached the upstream: {seen}"
        );
    }

    let m = gw.metrics().await;
    let refusals = |code| {
        metric(
            &m,
            "gateway_policy_refusals_total",
            &[("route", "svc1"), ("code", code)],
        )
    };
    assert_eq!(refusals("api_key_missing"), Some(1.0));
    assert_eq!(refusals("api_key_invalid"), Some(2.0));
    assert!(
        metric(
            &m,
            "gateway_api_key_refusals_total",
            &[("reason", "disabled")]
        ) >= Some(1.0)
    );
    assert!(!m.contains(KEY_A) && !m.contains(&digest_text(KEY_A.as_bytes())[7..]));
    gw.shutdown().await;
}

/// Polls until `key` gets `status` on `/svc`, or fails after 5 s.
async fn until(base: &str, key: &str, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (got, _, body) = call(base, "/svc", &[("x-api-key", key)]).await;
        if got == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still {got} ({body}), expected {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_changed_file_reloads_and_a_bad_one_keeps_the_set() {
    let up = echo().await;
    let dir = testkit::temp::dir("keys");
    let file = dir.path().join("keys.toml");
    write_keys(&file, &[("alpha", KEY_A, true)]);
    let gw = gateway(&config(up, &file, "100ms")).await;
    let base = gw.url("");
    until(&base, KEY_A, 200).await;
    until(&base, KEY_B, 403).await;

    write_keys(&file, &[("beta", KEY_B, true)]);
    until(&base, KEY_B, 200).await;
    until(&base, KEY_A, 403).await;

    std::fs::write(&file, "[[key]]\nid = \"broken\"\n").unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    until(&base, KEY_B, 200).await;
    let m = gw.metrics().await;
    assert!(
        metric(&m, "gateway_api_key_reloads_total", &[("result", "error")]) >= Some(1.0),
        "{m}"
    );
    // (gateway_api_keys_loaded is one gauge per process: other tests here set it too.)
    gw.shutdown().await;
}

#[tokio::test]
async fn sighup_reloads_the_real_binary_without_dropping_connections() {
    let up = echo().await;
    let dir = testkit::temp::dir("keys");
    let file = dir.path().join("keys.toml");
    let conf = dir.path().join("gateway.toml");
    write_keys(&file, &[("alpha", KEY_A, true)]);
    // An hour between file checks: only the signal can reload within the test.
    std::fs::write(&conf, config(up, &file, "1h")).unwrap();
    let port = free_port();
    let mut gw = Spawn::new(env!("CARGO_BIN_EXE_gateway"))
        .env_clear()
        .env("GATEWAY_CONFIG", &conf)
        .env("PORT", port.to_string())
        .env("ADMIN_PORT", free_port().to_string())
        .listens_on(port)
        .start_async()
        .await
        .unwrap();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let base = format!("http://{addr}");
    let request = |key: &str| {
        testkit::http::request(
            "GET",
            "/svc",
            &[("host", "api.example.com"), ("x-api-key", key)],
            b"",
        )
    };
    // One keep-alive connection, used before and after each reload.
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut ask = async |key: &str| {
        use tokio::io::AsyncWriteExt;
        conn.write_all(&request(key)).await.unwrap();
        testkit::http::read_response(&mut conn, Duration::from_secs(5))
            .await
            .unwrap()
            .status
    };
    assert_eq!(ask(KEY_A).await, 200);

    write_keys(&file, &[("beta", KEY_B, true)]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ask(KEY_B).await, 403, "reloaded without a signal");
    gw.signal(Signal::Hup).unwrap();
    until(&base, KEY_B, 200).await;
    assert_eq!(ask(KEY_B).await, 200);
    assert_eq!(ask(KEY_A).await, 403);

    std::fs::write(&file, "this is not a key file").unwrap();
    gw.signal(Signal::Hup).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ask(KEY_B).await, 200, "a bad file replaced the key set");
    assert!(gw.try_wait().unwrap().is_none(), "SIGHUP ended the gateway");

    gw.terminate().unwrap();
    gw.wait().unwrap();
    let out = gw.stdout();
    assert!(out.contains("API keys reloaded"), "{out}");
    assert!(out.contains("the previous key set stays in force"), "{out}");
    assert!(
        !out.contains(KEY_A) && !out.contains(KEY_B),
        "a key was logged"
    );
}

#[tokio::test]
async fn gateway_keys_create_and_import_print_entries_the_gateway_accepts() {
    let bin = env!("CARGO_BIN_EXE_gateway");
    let created = std::process::Command::new(bin)
        .args([
            "keys",
            "create",
            "--id",
            "made",
            "--name",
            "Made here",
            "--plan",
            "basic",
        ])
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let entry_text = String::from_utf8(created.stdout).unwrap();
    let stderr = String::from_utf8(created.stderr).unwrap();
    let key = stderr.lines().last().unwrap().trim().to_owned();
    assert_eq!(key.len(), 64, "{stderr}");
    assert!(!entry_text.contains(&key) && entry_text.contains(&digest_text(key.as_bytes())));

    let mut import = std::process::Command::new(bin)
        .args(["keys", "import", "--id", "moved", "--disabled"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    import
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{KEY_B}\n").as_bytes())
        .unwrap();
    let imported = import.wait_with_output().unwrap();
    assert!(imported.status.success());
    let imported = String::from_utf8(imported.stdout).unwrap();
    assert!(imported.contains("enabled = false"), "{imported}");

    let bad = std::process::Command::new(bin)
        .args(["keys", "create", "--id", "no spaces"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("key[0].id = \"no spaces\""));

    let up = echo().await;
    let dir = testkit::temp::dir("keys");
    let file = dir.path().join("keys.toml");
    std::fs::write(&file, entry_text + &imported).unwrap();
    let gw = gateway(&tagged_config(up, &file, "1h", "2")).await;
    let base = gw.url("");
    let (status, _, body) = call(&base, "/svc2", &[("x-api-key", &key)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["x-gateway-key-id"], "made");
    assert_eq!(call(&base, "/svc2", &[("x-api-key", KEY_B)]).await.0, 403);
    gw.shutdown().await;
}
