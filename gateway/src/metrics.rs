//! Prometheus metrics: names in one place, the recorder, and the admin router that serves them.
//!
//! | metric | labels |
//! |---|---|
//! | `gateway_requests_total` | route, status, upstream_region |
//! | `gateway_request_duration_seconds` (histogram, to the response head) | route |
//! | `gateway_upstream_errors_total` | route, kind |
//! | `gateway_upstream_retries_total` | route |
//! | `gateway_connections_open` (gauge) | |
//! | `gateway_client_timeouts_total` | phase (silent, idle, header) |
//! | `gateway_request_body_too_large_total` | route, stage (before_response, after_response) |
//! | `gateway_upstream_active_region` (gauge, 1 = active) | route, region |
//! | `gateway_failover_switches_total` | route, mode |
//! | `gateway_control_plane_errors_total` / `gateway_control_plane_up` (gauge) | route |
//! | `gateway_dns_errors_total` | route |
//! | `gateway_fallback_requests_total` | route, region (the region that was sent the request) |
//! | `gateway_upstream_endpoint_ejected` (gauge, 1 = ejected) | route, region |
//! | `gateway_policy_refusals_total` | route, code (api_key_missing, api_key_invalid, rate_limited, quota_exhausted) |
//! | `gateway_api_key_refusals_total` | reason (missing, unknown, disabled) |
//! | `gateway_api_keys_loaded` (gauge) / `gateway_api_key_reloads_total` | / result (ok, error) |
//! | `gateway_limit_engine_up` (gauge) / `gateway_limit_engine_errors_total` | engine (host:port) |
//! | `gateway_limit_fail_open_total` | bucket (requests judged by the local share) |

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock, RwLock};
use std::time::Duration;

pub use ::metrics::SharedString;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once and returns the handle that renders it.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("gateway_request_duration_seconds".into()),
                    BUCKETS,
                )
                .expect("bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            metrics::describe_counter!(
                "gateway_requests_total",
                "Requests answered, by route, status and upstream region."
            );
            metrics::describe_histogram!(
                "gateway_request_duration_seconds",
                metrics::Unit::Seconds,
                "Time from request to response head."
            );
            metrics::describe_counter!(
                "gateway_upstream_errors_total",
                "Requests that failed because of the upstream, by kind."
            );
            metrics::describe_counter!(
                "gateway_upstream_retries_total",
                "Requests resent after a failed connect."
            );
            metrics::describe_gauge!("gateway_connections_open", "Client connections open now.");
            metrics::describe_counter!(
                "gateway_client_timeouts_total",
                "Client connections closed by a deadline: silent (no first byte), idle (keep-alive), header (incomplete head)."
            );
            metrics::describe_counter!(
                "gateway_request_body_too_large_total",
                "Request bodies over max_body_bytes: answered 413 (before_response) or aborted mid-response (after_response)."
            );
            metrics::describe_gauge!(
                "gateway_upstream_active_region",
                "1 for the region an arc-mode upstream sends to now, 0 for its other regions."
            );
            metrics::describe_counter!(
                "gateway_failover_switches_total",
                "Times an upstream switched region (arc) or address set (dns)."
            );
            metrics::describe_counter!(
                "gateway_control_plane_errors_total",
                "Failed reads of the ARC control plane; the last known state stays in force."
            );
            metrics::describe_gauge!(
                "gateway_control_plane_up",
                "1 while the last read of the ARC control plane succeeded."
            );
            metrics::describe_counter!(
                "gateway_dns_errors_total",
                "Failed DNS lookups of dns-mode upstreams; the last answer stays in force."
            );
            metrics::describe_counter!(
                "gateway_fallback_requests_total",
                "Requests sent to another region's endpoint because the active one could not be reached."
            );
            metrics::describe_gauge!(
                "gateway_upstream_endpoint_ejected",
                "1 while an endpoint is ejected after consecutive connect failures, until its /health answers."
            );
            let upkeep = handle.clone();
            // Histograms are drained into the exporter's summaries periodically.
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let mut tick = tokio::time::interval(Duration::from_secs(5));
                    loop {
                        tick.tick().await;
                        upkeep.run_upkeep();
                    }
                });
            }
            handle
        })
        .clone()
}

/// The admin listener's router: `/metrics` in the Prometheus text format, and `/health`.
pub fn admin_router(handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(move || std::future::ready(handle.render())))
        .route("/health", get(|| async { "ok" }))
}

/// Records one answered request. `route` is cheap to clone (shared or static).
///
/// The counter and histogram handles are looked up in the recorder once per thread and label set
/// and kept ([`Handles`]); building a labelled key and finding it in the registry on every request
/// cost more than the rest of the logging phase. The cache holds at most one entry per metric
/// series, so it is bounded as the series are (statuses, at most [`MAX_REGIONS`] regions).
pub fn request(route: SharedString, status: u16, upstream_region: &str, latency: Duration) {
    thread_local! {
        static HANDLES: RefCell<HashMap<SharedString, Handles>> = RefCell::new(HashMap::new());
    }
    let record = |handles: &mut HashMap<SharedString, Handles>| {
        let per_route = handles.entry(route.clone()).or_insert_with(|| Handles {
            duration: metrics::histogram!("gateway_request_duration_seconds", "route" => route.clone()),
            requests: Vec::new(),
        });
        per_route.duration.record(latency.as_secs_f64());
        if let Some((.., counter)) = per_route
            .requests
            .iter()
            .find(|(s, r, _)| *s == status && **r == *upstream_region)
        {
            counter.increment(1);
            return;
        }
        let region = region_label(upstream_region);
        let counter = metrics::counter!(
            "gateway_requests_total",
            "route" => route.clone(),
            "status" => status_label(status),
            "upstream_region" => region.clone()
        );
        counter.increment(1);
        // A region over the label limit shares "other" and is looked up each time, unkept.
        if region != SharedString::const_str("other") || upstream_region == "other" {
            per_route
                .requests
                .push((status, Arc::from(upstream_region), counter));
        }
    };
    let kept = HANDLES.try_with(|h| h.try_borrow_mut().map(|mut h| record(&mut h)).is_ok());
    if kept != Ok(true) {
        record(&mut HashMap::new());
    }
}

/// One route's request metric handles on one thread.
struct Handles {
    duration: metrics::Histogram,
    /// `gateway_requests_total` by status and upstream region.
    requests: Vec<(u16, Arc<str>, metrics::Counter)>,
}

/// Status codes as static strings, so labelling a request allocates nothing.
fn status_label(status: u16) -> SharedString {
    static CODES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        (100..600u16)
            .map(|c| &*Box::leak(c.to_string().into_boxed_str()))
            .collect()
    });
    match status {
        100..=599 => SharedString::const_str(CODES[usize::from(status - 100)]),
        _ => SharedString::const_str("other"),
    }
}

/// Most distinct upstream-region label values; an upstream that sends more gets "other", so a
/// misbehaving upstream cannot grow the metric set without bound.
const MAX_REGIONS: usize = 32;

/// Upstream region values, interned: a request's label is a shared string, not a new allocation.
fn region_label(region: &str) -> SharedString {
    static SEEN: LazyLock<RwLock<Vec<Arc<str>>>> = LazyLock::new(|| RwLock::new(Vec::new()));
    let find = |seen: &[Arc<str>]| seen.iter().find(|r| &***r == region).cloned();
    if let Some(r) = SEEN.read().ok().and_then(|s| find(&s)) {
        return SharedString::from(r);
    }
    let Ok(mut seen) = SEEN.write() else {
        return SharedString::const_str("other");
    };
    if let Some(r) = find(&seen) {
        return SharedString::from(r);
    }
    if seen.len() >= MAX_REGIONS {
        return SharedString::const_str("other");
    }
    let r: Arc<str> = Arc::from(region);
    seen.push(r.clone());
    SharedString::from(r)
}

pub fn upstream_error(route: &Arc<str>, kind: &'static str) {
    metrics::counter!("gateway_upstream_errors_total", "route" => SharedString::from(route.clone()), "kind" => kind)
        .increment(1);
}

pub fn retry(route: &Arc<str>) {
    metrics::counter!("gateway_upstream_retries_total", "route" => SharedString::from(route.clone())).increment(1);
}

/// A client connection closed by one of its deadlines ([`bootstrap::conn::Phase`]).
pub fn client_timeout(phase: bootstrap::conn::Phase) {
    metrics::counter!("gateway_client_timeouts_total", "phase" => phase.as_str()).increment(1);
}

/// When a request body's size limit was found exceeded.
#[derive(Clone, Copy, Debug)]
pub enum BodyLimitStage {
    /// No response head sent yet: answered 413.
    BeforeResponse,
    /// The response had begun: aborted, so the client sees an error.
    AfterHead,
}

pub fn body_limit(route: &Arc<str>, stage: BodyLimitStage) {
    let stage = match stage {
        BodyLimitStage::BeforeResponse => "before_response",
        BodyLimitStage::AfterHead => "after_response",
    };
    metrics::counter!("gateway_request_body_too_large_total", "route" => SharedString::from(route.clone()), "stage" => stage)
        .increment(1);
}

pub fn connections_open(delta: f64) {
    metrics::gauge!("gateway_connections_open").increment(delta);
}

/// Counts a switch of an upstream to a new region (arc) or address set (dns).
pub fn failover_switch(route: &Arc<str>, mode: &'static str) {
    metrics::counter!("gateway_failover_switches_total", "route" => SharedString::from(route.clone()), "mode" => mode)
        .increment(1);
}

/// Counts a failed look at DNS (dns mode) or the ARC control plane (arc mode).
pub fn follow_error(route: &Arc<str>, mode: &'static str) {
    let name = if mode == "arc" {
        "gateway_control_plane_errors_total"
    } else {
        "gateway_dns_errors_total"
    };
    metrics::counter!(name, "route" => SharedString::from(route.clone())).increment(1);
}

/// Sets `gateway_upstream_active_region{route, region}` to 1 for the active region, 0 for the others.
pub fn active_region<'a>(
    route: &Arc<str>,
    active: &str,
    regions: impl Iterator<Item = &'a String>,
) {
    for region in regions {
        metrics::gauge!(
            "gateway_upstream_active_region",
            "route" => SharedString::from(route.clone()),
            "region" => region.clone()
        )
        .set(if region == active { 1.0 } else { 0.0 });
    }
}

/// Whether the last read of the control plane succeeded (arc mode).
pub fn control_plane_up(route: &Arc<str>, up: bool) {
    metrics::gauge!("gateway_control_plane_up", "route" => SharedString::from(route.clone()))
        .set(if up { 1.0 } else { 0.0 });
}

/// Counts a request sent to `region`'s endpoint because the active one could not be reached
/// (only on that failure path: the labels are built per call).
pub fn fallback(route: &Arc<str>, region: &Arc<str>) {
    metrics::counter!(
        "gateway_fallback_requests_total",
        "route" => SharedString::from(route.clone()),
        "region" => SharedString::from(region.clone())
    )
    .increment(1);
}

/// Sets `gateway_upstream_endpoint_ejected{route, region}`.
pub fn endpoint_ejected(route: &Arc<str>, region: &Arc<str>, ejected: bool) {
    metrics::gauge!(
        "gateway_upstream_endpoint_ejected",
        "route" => SharedString::from(route.clone()),
        "region" => SharedString::from(region.clone())
    )
    .set(if ejected { 1.0 } else { 0.0 });
}

/// A route's policy refused a request (403, 429).
pub fn policy_refusal(route: &Arc<str>, code: &'static str) {
    metrics::counter!("gateway_policy_refusals_total", "route" => SharedString::from(route.clone()), "code" => code)
        .increment(1);
}

/// An API key was refused: missing, unknown or disabled (the answer does not say which).
pub fn api_key_refused(reason: &'static str) {
    metrics::counter!("gateway_api_key_refusals_total", "reason" => reason).increment(1);
}

/// Keys in the set in force.
pub fn api_keys_loaded(n: usize) {
    metrics::gauge!("gateway_api_keys_loaded").set(n as f64);
}

/// A reload of the key file, applied or refused (the old set stays).
pub fn api_key_reload(ok: bool) {
    let result = if ok { "ok" } else { "error" };
    metrics::counter!("gateway_api_key_reloads_total", "result" => result).increment(1);
}

/// Whether the global limit engine (`host:port`) answered last time.
pub fn limit_engine_up(engine: &Arc<str>, up: bool) {
    metrics::gauge!("gateway_limit_engine_up", "engine" => SharedString::from(engine.clone()))
        .set(if up { 1.0 } else { 0.0 });
}

/// A limit decision the engine did not give in time.
pub fn limit_engine_error(engine: &Arc<str>) {
    metrics::counter!("gateway_limit_engine_errors_total", "engine" => SharedString::from(engine.clone()))
        .increment(1);
}

/// A request judged by this instance's share because the engine could not answer.
pub fn limit_fail_open(bucket: &Arc<str>) {
    metrics::counter!("gateway_limit_fail_open_total", "bucket" => SharedString::from(bucket.clone()))
        .increment(1);
}
