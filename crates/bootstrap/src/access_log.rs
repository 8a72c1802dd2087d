//! One JSON log line per request for the services (the gateway writes a richer line of its own).
//!
//! Logged when the response head is ready, so a streamed response is logged once, with the time to
//! its first byte.

use std::time::Instant;

use axum::{extract::Request, middleware::Next, response::Response};

/// axum middleware: `axum::middleware::from_fn(access_log::log)`.
pub async fn log(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let resp = next.run(req).await;
    tracing::info!(
        target: "access",
        request_id = %request_id,
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        latency_us = start.elapsed().as_micros() as u64,
        "request"
    );
    resp
}
