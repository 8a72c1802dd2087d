//! The team API over a real socket.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use sample_service::{router, Limits, ServiceInfo};

include!("support/http.rs");

async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router(ServiceInfo::new("service2", "us-west-2"), Limits::default()),
        )
        .await
        .unwrap()
    });
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
    let (status, headers, _) = call("GET", &format!("{base}/health"), "").await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["x-service-region"], "us-west-2",
        "every response names the region"
    );
    let (status, headers, body) = call("GET", &format!("{base}/missing"), "").await;
    assert_eq!(status, 404);
    assert_eq!(headers["x-service-region"], "us-west-2");
    assert_eq!(json(&body)["error"], "no such route");
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
