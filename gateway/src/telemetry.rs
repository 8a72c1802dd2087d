//! The per-request record ([`Exchange`]) and what is made of it: one JSON access line and the
//! request metrics ([`Exchange::log`], the logging phase).
//!
//! The record is made once, at the edge of the pipeline ([`crate::pipeline`]), which is also the
//! one place the request id is read or set; each phase fills in what it learns (route, upstream,
//! upstream region, retries, error). [`bootstrap::access_log`] writes the line.

use std::sync::Arc;
use std::time::Instant;

use http::{HeaderValue, Method, StatusCode};

use crate::metrics::{self, SharedString};

pub use bootstrap::request_id::X_REQUEST_ID;

/// A fresh request id (a random UUID), as text.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Which route a request took, for the log line and the `route` metric label.
#[derive(Clone, Debug)]
pub enum RouteName {
    /// Refused before routing, or no route matched.
    None,
    /// One of the gateway's own endpoints (`/`, `/health`, `/ready`).
    Gateway,
    /// A configured route.
    Route(Arc<str>),
}

impl RouteName {
    pub fn as_str(&self) -> &str {
        match self {
            RouteName::None => "none",
            RouteName::Gateway => "gateway",
            RouteName::Route(name) => name,
        }
    }

    fn label(&self) -> SharedString {
        match self {
            RouteName::None => SharedString::const_str("none"),
            RouteName::Gateway => SharedString::const_str("gateway"),
            RouteName::Route(name) => SharedString::from(name.clone()),
        }
    }
}

/// What happened to one request, from the edge to the response head.
#[derive(Debug)]
pub struct Exchange {
    /// The caller's acceptable `x-request-id`, or a new one; returned on the response.
    pub request_id: HeaderValue,
    started: Instant,
    method: Method,
    /// The URI as the client sent it (before normalisation): its path goes in the line. Kept as
    /// the `Uri` (a reference-counted copy of the bytes hyper read), not a new `String`.
    uri: http::Uri,
    pub route: RouteName,
    pub upstream: Option<Arc<str>>,
    pub upstream_region: Option<HeaderValue>,
    pub retries: u32,
    /// The region a fallback sent the request to (`x-gateway-fallback`), when it left the
    /// active endpoint.
    pub fallback: Option<HeaderValue>,
    pub error: Option<&'static str>,
    /// Fields a policy adds to the answer for the client (the response filter adds them).
    pub response_fields: Option<Box<http::HeaderMap>>,
}

impl Exchange {
    /// The record of a request that has just arrived: its id is settled here
    /// ([`bootstrap::request_id::ensure`]: kept when acceptable, replaced and logged otherwise).
    pub fn start<B>(req: &mut http::Request<B>) -> Exchange {
        Exchange {
            request_id: bootstrap::request_id::ensure(req.headers_mut()),
            started: Instant::now(),
            method: req.method().clone(),
            uri: req.uri().clone(),
            route: RouteName::None,
            upstream: None,
            upstream_region: None,
            retries: 0,
            fallback: None,
            error: None,
            response_fields: None,
        }
    }

    /// The logging phase: the request metrics and the access line, once the response head is ready.
    pub fn log(&self, status: StatusCode) {
        let latency = self.started.elapsed();
        let region = self
            .upstream_region
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let status = status.as_u16();
        metrics::request(self.route.label(), status, region, latency);
        AccessLine {
            request_id: self.request_id.to_str().unwrap_or(""),
            method: self.method.as_str(),
            path: self.uri.path(),
            route: self.route.as_str(),
            status,
            upstream: self.upstream.as_deref().unwrap_or(""),
            upstream_region: region,
            retries: self.retries,
            fallback: self
                .fallback
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
            error: self.error.unwrap_or(""),
            latency_us: latency.as_micros() as u64,
        }
        .emit();
    }
}

/// Logs and counts a request head refused before it became a request ([`crate::framing`]).
pub fn refused(err: &crate::error::ProxyError, request_id: &str) {
    let status = err.status().as_u16();
    metrics::request(
        SharedString::const_str("none"),
        status,
        "",
        std::time::Duration::ZERO,
    );
    AccessLine {
        request_id,
        method: "",
        path: "",
        route: "none",
        status,
        upstream: "",
        upstream_region: "",
        retries: 0,
        fallback: "",
        error: err.code(),
        latency_us: 0,
    }
    .emit();
}

/// The gateway's access line: one per request.
struct AccessLine<'a> {
    request_id: &'a str,
    method: &'a str,
    path: &'a str,
    route: &'a str,
    status: u16,
    upstream: &'a str,
    upstream_region: &'a str,
    retries: u32,
    /// The region a fallback served the request from; empty when the active one did.
    fallback: &'a str,
    error: &'a str,
    latency_us: u64,
}

impl AccessLine<'_> {
    /// Writes the line, fields in this order ([`bootstrap::access_log`]).
    fn emit(&self) {
        bootstrap::access_log::emit(|f| {
            f.str("request_id", self.request_id)
                .str("method", self.method)
                .str("path", self.path)
                .str("route", self.route)
                .num("status", u64::from(self.status))
                .str("upstream", self.upstream)
                .str("upstream_region", self.upstream_region)
                .num("retries", u64::from(self.retries))
                .str("fallback", self.fallback)
                .str("error", self.error)
                .num("latency_us", self.latency_us);
        });
    }
}
