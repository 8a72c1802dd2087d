//! The one-line-per-request access log, shared by every binary.
//!
//! Access lines are the only log written on every request, so they skip the generic tracing
//! formatter (which renders each field through `Debug` and allocates) and are serialised once with
//! serde_json and written with one `write`. They carry the same envelope as other lines
//! (`timestamp`, `level`, `message`, `target`), honour `RUST_LOG` (target `access`), and go through
//! `tracing` when logs are human-readable (`LOG_FORMAT=text`).

use std::time::{Instant, SystemTime};

use axum::{extract::Request, middleware::Next, response::Response};
use serde::Serialize;

/// Writes one access line for `fields`, a struct of the request's facts.
pub fn emit<T: Serialize + std::fmt::Debug>(fields: &T) {
    if !tracing::enabled!(target: "access", tracing::Level::INFO) {
        return;
    }
    #[derive(Serialize)]
    struct Envelope<'a, T> {
        #[serde(serialize_with = "rfc3339")]
        timestamp: SystemTime,
        level: &'static str,
        message: &'static str,
        #[serde(flatten)]
        fields: &'a T,
        target: &'static str,
    }
    let line = Envelope {
        timestamp: SystemTime::now(),
        level: "INFO",
        message: "request",
        fields,
        target: "access",
    };
    let written = serde_json::to_vec(&line)
        .map(|mut bytes| crate::logging::write_json_line(&mut bytes))
        .unwrap_or(false);
    if !written {
        tracing::info!(target: "access", ?fields, "request");
    }
}

fn rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_micros(*t))
}

/// The services' access line.
#[derive(Serialize, Debug)]
struct ServiceLine<'a> {
    request_id: &'a str,
    method: &'a str,
    path: &'a str,
    status: u16,
    latency_us: u64,
}

/// axum middleware for the services: `axum::middleware::from_fn(access_log::log)`. Logged when the
/// response head is ready, so a streamed response is logged once, with the time to its first byte.
pub async fn log(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let request_id = req.headers().get("x-request-id").cloned();
    let resp = next.run(req).await;
    emit(&ServiceLine {
        request_id: request_id
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
        method: method.as_str(),
        path: &path,
        status: resp.status().as_u16(),
        latency_us: start.elapsed().as_micros() as u64,
    });
    resp
}
