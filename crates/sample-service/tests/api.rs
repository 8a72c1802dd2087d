//! The team API over a real socket.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use sample_service::{router, serve_with, Limits, ServeSettings, ServiceInfo};

include!("support/http.rs");

async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_with(
        listener,
        router(ServiceInfo::new("service2", "us-west-2"), Limits::default()),
        ServeSettings::default(),
        std::future::pending(),
    ));
    format!("http://{addr}")
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

#[tokio::test]
async fn identity_is_the_original_body_byte_for_byte() {
    let base = start().await;
    let (status, headers, body) = call("GET", &format!("{base}/"), "").await;
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"service": "service2", "region": "us-west-2"}"#);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-service-region"], "us-west-2");
    assert_eq!(headers["x-service-name"], "service2");
    let (status, headers, body) = call("GET", &format!("{base}/health"), "").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        body,
        bootstrap::build_info::health_body(),
        "health names the build"
    );
    assert_eq!(json(&body)["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        headers["x-service-region"], "us-west-2",
        "every response names the region"
    );
    let (status, headers, body) = call("GET", &format!("{base}/missing"), "").await;
    assert_eq!(status, 404);
    assert_eq!(headers["x-service-region"], "us-west-2");
    assert_eq!(json(&body)["error"], "not_found");
}

#[tokio::test]
async fn items_resource_with_path_parameters_and_queries() {
    let base = start().await;
    assert_eq!(
        call("PUT", &format!("{base}/items/a1"), r#"{"n": 1}"#)
            .await
            .0,
        201
    );
    assert_eq!(
        call("PUT", &format!("{base}/items/a1"), r#"{"n": 2}"#)
            .await
            .0,
        200
    );
    assert_eq!(
        call("PUT", &format!("{base}/items/b1"), r#"{"n": 3}"#)
            .await
            .0,
        201
    );
    let (_, _, body) = call("GET", &format!("{base}/items/a1"), "").await;
    assert_eq!(json(&body)["value"]["n"], 2);
    let (_, _, body) = call("GET", &format!("{base}/items?prefix=a&limit=10"), "").await;
    assert_eq!(json(&body)["items"].as_array().unwrap().len(), 1);
    let (_, _, body) = call("GET", &format!("{base}/items?limit=1"), "").await;
    assert_eq!(json(&body)["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        call("GET", &format!("{base}/items?limit=many"), "").await.0,
        400
    );
    assert_eq!(
        call("PUT", &format!("{base}/items/a1"), "not json").await.0,
        400
    );
    assert_eq!(
        call("GET", &format!("{base}/items/bad%20id"), "").await.0,
        400
    );
    assert_eq!(call("DELETE", &format!("{base}/items/a1"), "").await.0, 204);
    assert_eq!(call("GET", &format!("{base}/items/a1"), "").await.0, 404);
}

#[tokio::test]
async fn echo_headers_status_delay_and_stream() {
    let base = start().await;
    let (status, _, body) = call("POST", &format!("{base}/echo"), "echo me").await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "echo me"));
    let (_, _, body) = call("GET", &format!("{base}/headers?q=1"), "").await;
    assert_eq!(json(&body)["query"], "q=1");
    assert_eq!(call("GET", &format!("{base}/status/418"), "").await.0, 418);
    assert_eq!(call("GET", &format!("{base}/status/700"), "").await.0, 400);
    let start_at = Instant::now();
    assert_eq!(
        call("GET", &format!("{base}/delay?ms=150"), "").await.0,
        200
    );
    assert!(start_at.elapsed() >= Duration::from_millis(150));
    assert_eq!(
        call("GET", &format!("{base}/delay?ms=999999"), "").await.0,
        400
    );
    let (status, headers, body) =
        call("GET", &format!("{base}/stream?count=3&interval_ms=10"), "").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/x-ndjson");
    let lines: Vec<_> = body.lines().map(json).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["seq"], 2);
    assert_eq!(
        call("GET", &format!("{base}/stream?count=100000"), "")
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn websocket_echo() {
    let base = start().await;
    let url = base.replace("http://", "ws://") + "/ws";
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws.send(tokio_tungstenite::tungstenite::Message::text("ping"))
        .await
        .unwrap();
    let msg = ws.next().await.unwrap().unwrap();
    assert_eq!(msg.into_text().unwrap().as_str(), "ping");
}

/// A refusal's body: `{"error": code, "message": ..., "request_id": <the x-request-id header>}`.
fn refusal(headers: &axum::http::HeaderMap, body: &str, code: &str) -> serde_json::Value {
    assert_eq!(headers["content-type"], "application/json", "{body}");
    let j = json(body);
    assert_eq!(j["error"], code, "{body}");
    assert!(!j["message"].as_str().unwrap().is_empty(), "{body}");
    let id = headers["x-request-id"].to_str().unwrap();
    assert_eq!(
        j["request_id"], id,
        "the body names the request id it was sent with"
    );
    assert_eq!(
        j.as_object().unwrap().len(),
        3,
        "error, message and request_id: {body}"
    );
    assert_eq!(
        headers["x-service-region"], "us-west-2",
        "refusals name the region too"
    );
    j
}

#[tokio::test]
async fn request_id_is_echoed_or_generated_and_returned() {
    let base = start().await;
    let (status, headers, body) = call_with(
        "GET",
        &format!("{base}/headers"),
        &[("x-request-id", "client-chosen-42")],
        bytes::Bytes::new(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-request-id"], "client-chosen-42");
    assert_eq!(json(&body)["headers"]["x-request-id"], "client-chosen-42");

    let (_, headers, body) = call("GET", &format!("{base}/headers"), "").await;
    let generated = headers["x-request-id"].to_str().unwrap();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    assert_eq!(
        json(&body)["headers"]["x-request-id"],
        generated,
        "the handler sees the id it answers with"
    );

    // An id that cannot be logged and returned as it came is replaced, as the gateway does.
    let long = "x".repeat(129);
    for bad in [long.as_str(), "has space"] {
        let (status, headers, body) = call_with(
            "GET",
            &format!("{base}/nope"),
            &[("x-request-id", bad)],
            bytes::Bytes::new(),
        )
        .await;
        assert_eq!(status, 404);
        let id = headers["x-request-id"].to_str().unwrap();
        assert_eq!(id.len(), 36, "replaced by a UUID: {id}");
        assert_eq!(json(&body)["request_id"], id);
    }
}

#[tokio::test]
async fn unknown_path_is_a_json_404_with_the_request_id() {
    let base = start().await;
    let (status, headers, body) = call_with(
        "GET",
        &format!("{base}/nope?x=1"),
        &[("x-request-id", "req-404")],
        bytes::Bytes::new(),
    )
    .await;
    assert_eq!(status, 404);
    let j = refusal(&headers, &body, "not_found");
    assert_eq!(j["request_id"], "req-404");
    assert_eq!(j["message"], "no route for /nope");

    let (status, headers, body) = call("GET", &format!("{base}/items/none"), "").await;
    assert_eq!(status, 404);
    refusal(&headers, &body, "not_found");
}

#[tokio::test]
async fn wrong_method_is_a_json_405_with_allow() {
    let base = start().await;
    let (status, headers, body) = call("POST", &format!("{base}/items"), "{}").await;
    assert_eq!(status, 405);
    assert_eq!(headers["allow"], "GET,HEAD");
    let j = refusal(&headers, &body, "method_not_allowed");
    assert_eq!(j["message"], "POST is not allowed on /items");

    let (status, headers, body) = call("POST", &format!("{base}/items/a1"), "{}").await;
    assert_eq!(status, 405);
    let allow = headers["allow"].to_str().unwrap();
    for m in ["GET", "PUT", "DELETE"] {
        assert!(allow.split(',').any(|a| a == m), "{allow}");
    }
    refusal(&headers, &body, "method_not_allowed");

    let (status, headers, body) = call("DELETE", &format!("{base}/"), "").await;
    assert_eq!(status, 405);
    refusal(&headers, &body, "method_not_allowed");
}

#[tokio::test]
async fn item_body_over_64_kib_is_a_json_413() {
    let base = start().await;
    let limit = Limits::default().max_item_bytes;
    assert_eq!(limit, 64 * 1024);
    // A JSON string one byte over the limit.
    let big = format!("\"{}\"", "x".repeat(limit - 1));
    assert_eq!(big.len(), limit + 1);
    let (status, headers, body) = call_with(
        "PUT",
        &format!("{base}/items/big"),
        &[
            ("content-type", "application/json"),
            ("x-request-id", "req-413"),
        ],
        big.into(),
    )
    .await;
    assert_eq!(status, 413);
    let j = refusal(&headers, &body, "body_too_large");
    assert_eq!(j["request_id"], "req-413");
    assert_eq!(
        j["message"],
        "the request body is larger than the limit of 65536 bytes"
    );

    // Far over the limit: refused without reading it all.
    let huge = format!("\"{}\"", "x".repeat(1 << 20));
    let (status, headers, body) = call_with(
        "PUT",
        &format!("{base}/items/big"),
        &[("content-type", "application/json")],
        huge.into(),
    )
    .await;
    assert_eq!(status, 413);
    refusal(&headers, &body, "body_too_large");

    // Exactly at the limit is accepted.
    let fits = format!("\"{}\"", "x".repeat(limit - 2));
    let (status, _, _) = call_with(
        "PUT",
        &format!("{base}/items/big"),
        &[("content-type", "application/json")],
        fits.into(),
    )
    .await;
    assert_eq!(status, 201);
}

/// method, path, request headers, body, expected status, expected `error`.
struct Case(
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
    u16,
    &'static str,
);

#[tokio::test]
async fn extractor_refusals_are_json_with_the_request_id() {
    let base = start().await;
    const JSON: &[(&str, &str)] = &[("content-type", "application/json")];
    const TEXT: &[(&str, &str)] = &[("content-type", "text/plain")];
    let cases = [
        Case("PUT", "/items/a1", JSON, "not json", 400, "bad_json"),
        Case("PUT", "/items/a1", JSON, "[1, 2", 400, "bad_json"),
        Case(
            "PUT",
            "/items/a1",
            TEXT,
            "{}",
            415,
            "unsupported_media_type",
        ),
        Case("PUT", "/items/a1", &[], "{}", 415, "unsupported_media_type"),
        Case("GET", "/items?limit=many", &[], "", 400, "bad_query"),
        Case("GET", "/stream?count=-1", &[], "", 400, "bad_query"),
        Case("GET", "/stream?count=100000", &[], "", 400, "bad_query"),
        Case("GET", "/delay", &[], "", 400, "bad_query"),
        Case("GET", "/delay?ms=999999", &[], "", 400, "bad_query"),
        Case("GET", "/items/bad%20id", &[], "", 400, "bad_path"),
        Case("DELETE", "/items/bad%20id", &[], "", 400, "bad_path"),
        Case("GET", "/status/abc", &[], "", 400, "bad_path"),
        Case("GET", "/status/700", &[], "", 400, "bad_path"),
        Case("GET", "/ws", &[], "", 400, "bad_upgrade"),
    ];
    for Case(method, path, headers, body, status, code) in cases {
        let id = format!("req-{method}-{path}");
        let mut with_id = headers.to_vec();
        with_id.push(("x-request-id", &id));
        let (got, h, text) = call_with(
            method,
            &format!("{base}{path}"),
            &with_id,
            bytes::Bytes::from_static(body.as_bytes()),
        )
        .await;
        assert_eq!(got.as_u16(), status, "{method} {path}: {text}");
        let j = refusal(&h, &text, code);
        assert_eq!(j["request_id"], id.as_str(), "{method} {path}");
    }
}

#[tokio::test]
async fn a_status_the_client_asked_for_is_not_a_refusal() {
    let base = start().await;
    let (status, headers, body) = call("GET", &format!("{base}/status/404"), "").await;
    assert_eq!(status, 404);
    assert_eq!(json(&body), serde_json::json!({ "status": 404 }));
    assert!(headers.contains_key("x-request-id"));
}
