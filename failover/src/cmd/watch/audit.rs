//! The watcher's audit trail: every state change, every run and every refusal is one JSON line on
//! stderr (`{"time", "audit": "watch", "event", ...}`; in ECS it reaches CloudWatch Logs) and one
//! increment of the counter `failover_watch_events_total{event}`, served in Prometheus' text
//! format on `--metrics-listen` (`GET /metrics`, with `GET /health` for the container's check).

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::SystemTime;

use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::{json, Map, Value};

/// The counter every audit record increments.
pub const EVENTS: &str = "failover_watch_events_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder, installed once.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder (a test's) may be there first; the records are written anyway.
            let _ = metrics::set_global_recorder(recorder);
            metrics::describe_counter!(
                EVENTS,
                "Watcher audit records, by event: state, run, refused, would_run, started, stopped."
            );
            handle
        })
        .clone()
}

/// Writes one audit record: `event` and the fields of `fields` (an object).
pub fn record(event: &str, fields: Value) {
    let mut line = Map::new();
    line.insert(
        "time".into(),
        Value::String(humantime::format_rfc3339_millis(SystemTime::now()).to_string()),
    );
    line.insert("audit".into(), json!("watch"));
    line.insert("event".into(), json!(event));
    if let Value::Object(f) = fields {
        line.extend(f);
    }
    eprintln!("{}", Value::Object(line));
    metrics::counter!(EVENTS, "event" => event.to_owned()).increment(1);
}

/// Serves `/metrics` and `/health` on `addr` until the process ends.
pub async fn serve(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let handle = install();
    let app = Router::new()
        .route("/metrics", get(move || async move { handle.render() }))
        .route(
            "/health",
            get(|| async {
                (
                    [(http::header::CONTENT_TYPE, "application/json")],
                    bootstrap::build_info::health_body(),
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            record("metrics_stopped", json!({ "error": e.to_string() }));
        }
    });
    Ok(local)
}
