//! The gateway's state and its router: its own endpoints, the proxy fallback and the layers
//! every request passes through.
//!
//! Layers, outermost first: the `x-gateway-region` response field; `x-request-id` generated when
//! absent and returned; [`telemetry::observe`] (log line, metrics); [`sanitize::sanitize`] (framing,
//! path normalisation); then the router.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;
use crate::forwarding::Forwarding;
use crate::routes::{Route, RouteTable};
use crate::upstream::Upstream;
use crate::{client, proxy, sanitize, telemetry};

/// Everything a request handler needs.
pub struct Gateway {
    pub region: String,
    pub routes: RouteTable,
    pub forwarding: Forwarding,
    identity: Bytes,
    ready: AtomicBool,
}

impl Gateway {
    pub fn new(config: &Config) -> Self {
        let tls = client::tls_config();
        let routes = config
            .routes
            .iter()
            .map(|r| Route {
                name: Arc::from(r.name.as_str()),
                prefix: r.prefix.clone(),
                strip_prefix: r.strip_prefix,
                upstream: Upstream::new(&r.upstream, r.settings.clone(), tls.clone()),
            })
            .collect();
        Self {
            region: config.region.clone(),
            routes: RouteTable::new(routes),
            forwarding: Forwarding {
                trusted_proxy_hops: config.server.trusted_proxy_hops,
            },
            identity: Bytes::from(bootstrap::identity_body("external-api", &config.region)),
            ready: AtomicBool::new(true),
        }
    }

    /// Marks the gateway as draining: `/ready` answers 503 from now on.
    pub fn set_draining(&self) {
        self.ready.store(false, Ordering::Relaxed);
    }
}

/// The main listener's router.
pub fn router(gw: Arc<Gateway>) -> Router {
    let region = HeaderValue::from_str(&gw.region).expect("region was validated");
    let layers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static(bootstrap::GATEWAY_REGION_HEADER),
            region,
        ))
        .layer(SetRequestIdLayer::new(
            telemetry::X_REQUEST_ID.clone(),
            MakeRequestUuid,
        ))
        .layer(PropagateRequestIdLayer::new(
            telemetry::X_REQUEST_ID.clone(),
        ))
        .layer(axum::middleware::from_fn(telemetry::observe))
        .layer(axum::middleware::from_fn(sanitize::sanitize));
    Router::new()
        .route("/", get(identity))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .fallback(proxy::handle)
        .with_state(gw)
        .layer(layers)
}

fn json(status: StatusCode, body: impl Into<Bytes>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.into(),
    )
        .into_response()
}

/// `GET /`: the original external API's answer.
async fn identity(State(gw): State<Arc<Gateway>>) -> Response {
    json(StatusCode::OK, gw.identity.clone())
}

/// `GET /health`: the process is up and serving (liveness).
async fn health() -> Response {
    json(StatusCode::OK, r#"{"status": "ok"}"#)
}

/// `GET /ready`: the gateway accepts new work; 503 while it drains for shutdown.
async fn ready(State(gw): State<Arc<Gateway>>) -> Response {
    if gw.ready.load(Ordering::Relaxed) {
        json(StatusCode::OK, r#"{"status": "ready"}"#)
    } else {
        json(StatusCode::SERVICE_UNAVAILABLE, r#"{"status": "draining"}"#)
    }
}
