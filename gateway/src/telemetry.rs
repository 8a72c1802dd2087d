//! Request ids, the per-request log line and request metrics, as layers around every request.
//!
//! [`request_id`] gives every request an `x-request-id` (the client's, when it is acceptable) and
//! returns it. The proxy handler records what it did in an [`Exchange`] response extension (route, upstream,
//! upstream region, retries, error); [`observe`] turns it into one JSON log line and the request
//! metrics when the response head is ready ([`bootstrap::access_log`] writes the line).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;

use crate::metrics;

pub use bootstrap::request_id::X_REQUEST_ID;

/// A fresh request id (a random UUID), as text.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// axum middleware: keeps an acceptable client `x-request-id` (at most 128 visible ASCII bytes),
/// otherwise sets a new one and logs that it was replaced; returns it on the response. Shared
/// with the services ([`bootstrap::request_id`]).
pub use bootstrap::request_id::layer as request_id;

/// Logs and counts a request head refused before it became a request ([`crate::framing`]).
pub fn refused(err: &crate::error::ProxyError, request_id: &str) {
    let status = err.status().as_u16();
    metrics::request(
        metrics::SharedString::const_str("none"),
        status,
        "",
        std::time::Duration::ZERO,
    );
    bootstrap::access_log::emit(&AccessLine {
        request_id,
        method: "",
        path: "",
        route: "none",
        status,
        upstream: "",
        upstream_region: "",
        retries: 0,
        error: err.code(),
        latency_us: 0,
    });
}

/// What the proxy did with one request, for the log line and metrics.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub route: Arc<str>,
    pub upstream: Option<Arc<str>>,
    pub upstream_region: Option<HeaderValue>,
    pub retries: u32,
    pub error: Option<&'static str>,
}

impl Exchange {
    pub fn new(route: &Arc<str>, upstream: &Arc<str>) -> Self {
        Self {
            route: route.clone(),
            upstream: Some(upstream.clone()),
            upstream_region: None,
            retries: 0,
            error: None,
        }
    }

    /// A request that matched no route (or was refused before routing).
    pub fn unrouted(error: &'static str) -> Self {
        Self {
            route: Arc::from("none"),
            upstream: None,
            upstream_region: None,
            retries: 0,
            error: Some(error),
        }
    }
}

/// axum middleware: measures the request and writes its log line and metrics.
pub async fn observe(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let request_id = req.headers().get(&X_REQUEST_ID).cloned();
    let resp = next.run(req).await;
    let latency = start.elapsed();

    let exchange = resp.extensions().get::<Exchange>();
    let route: &str = exchange.map_or("gateway", |e| &e.route);
    let region = exchange
        .and_then(|e| e.upstream_region.as_ref())
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let status = resp.status().as_u16();
    let route_label = exchange.map_or(metrics::SharedString::const_str("gateway"), |e| {
        metrics::SharedString::from(e.route.clone())
    });
    metrics::request(route_label, status, region, latency);
    bootstrap::access_log::emit(&AccessLine {
        request_id: request_id
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
        method: method.as_str(),
        path: &path,
        route,
        status,
        upstream: exchange.and_then(|e| e.upstream.as_deref()).unwrap_or(""),
        upstream_region: region,
        retries: exchange.map_or(0, |e| e.retries),
        error: exchange.and_then(|e| e.error).unwrap_or(""),
        latency_us: latency.as_micros() as u64,
    });
    resp
}

/// The gateway's access line: one per request.
#[derive(serde::Serialize, Debug)]
struct AccessLine<'a> {
    request_id: &'a str,
    method: &'a str,
    path: &'a str,
    route: &'a str,
    status: u16,
    upstream: &'a str,
    upstream_region: &'a str,
    retries: u32,
    error: &'a str,
    latency_us: u64,
}
