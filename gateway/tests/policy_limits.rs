//! Usage plans and route throttles in local mode, over real sockets: the burst, then 429 with
//! `Retry-After`; a spent quota is 429 saying when it resets; a route throttle without keys.

mod common;

use std::net::SocketAddr;

use bytes::Bytes;
use common::*;
use gateway::policy::keys::entry;
use http_body_util::Full;

async fn call(url: &str, key: Option<&str>) -> (u16, http::HeaderMap, String) {
    let mut req = http::Request::get(url);
    if let Some(key) = key {
        req = req.header("x-api-key", key);
    }
    let (status, h, body) = send(req.body(Full::<Bytes>::default()).unwrap()).await;
    (status.as_u16(), h, body)
}

const KEY_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const KEY_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn config(up: SocketAddr, keys: &std::path::Path) -> String {
    format!(
        r#"region = "us-east-1"
[api_keys]
file = "{}"
[policy.keys]
type = "api_key"
[policy.throttle]
type = "rate_limit"
rate = 0.5
burst = 2
[plan.slow]
rate = 0.2
burst = 3
[plan.daily]
rate = 100
burst = 100
quota = 4
period = "day"
[[route]]
prefix = "/svc"
upstream = "http://{up}"
policies = ["keys"]
[[route]]
prefix = "/public"
upstream = "http://{up}"
policies = ["throttle"]
"#,
        keys.display()
    )
}

#[tokio::test]
async fn plans_and_route_throttles_answer_429_with_retry_after() {
    let up = service("service1", "us-east-1").await;
    let dir = testkit::temp::dir("plans");
    let file = dir.path().join("keys.toml");
    let text = entry(KEY_A, "slow-key", "", Some("slow"), true).unwrap()
        + &entry(KEY_B, "daily-key", "", Some("daily"), true).unwrap();
    std::fs::write(&file, text).unwrap();
    let gw = gateway(&config(up, &file)).await;

    // The burst of plan `slow`, then 429: the next token comes in 5 s.
    for i in 0..3 {
        let (status, _, body) = call(&gw.url("/svc"), Some(KEY_A)).await;
        assert_eq!(status, 200, "request {i}: {body}");
    }
    let (status, h, body) = call(&gw.url("/svc"), Some(KEY_A)).await;
    assert_eq!(status, 429, "{body}");
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((4..=5).contains(&retry), "Retry-After {retry}");
    let body = json(&body);
    assert_eq!(body["error"], "rate_limited");
    assert_eq!(body["request_id"], h["x-request-id"].to_str().unwrap());

    // Another key on another plan has its own budget; its quota of 4 a day ends it.
    for _ in 0..4 {
        assert_eq!(call(&gw.url("/svc"), Some(KEY_B)).await.0, 200);
    }
    let (status, h, body) = call(&gw.url("/svc"), Some(KEY_B)).await;
    assert_eq!(status, 429);
    let body = json(&body);
    assert_eq!(body["error"], "quota_exhausted");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("resets at ") && message.ends_with("T00:00:00Z"),
        "{message}"
    );
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&retry), "Retry-After {retry}");

    // The route throttle counts every client together, with or without a key.
    assert_eq!(call(&gw.url("/public"), None).await.0, 200);
    assert_eq!(call(&gw.url("/public"), Some(KEY_A)).await.0, 200);
    let (status, h, _) = call(&gw.url("/public"), None).await;
    assert_eq!(status, 429);
    assert!(h.contains_key("retry-after"));

    let m = gw.metrics().await;
    let refused = |route, code| {
        metric(
            &m,
            "gateway_policy_refusals_total",
            &[("route", route), ("code", code)],
        )
    };
    assert_eq!(refused("svc", "rate_limited"), Some(1.0));
    assert_eq!(refused("svc", "quota_exhausted"), Some(1.0));
    assert_eq!(refused("public", "rate_limited"), Some(1.0));
    gw.shutdown().await;
}
