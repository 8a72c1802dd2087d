//! The gateway's state and its router: its own endpoints, the proxy fallback and the layers
//! every request passes through.
//!
//! Layers, outermost first: the `x-gateway-region` response field; `x-request-id` kept when the
//! client's is acceptable, generated otherwise, and returned ([`telemetry::request_id`]); [`telemetry::observe`] (log line, metrics); [`sanitize::sanitize`] (framing,
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
use tower_http::set_header::SetResponseHeaderLayer;

use crate::client::Addresses;
use crate::config::{self, Config, RouteTarget};
use crate::error::ProxyError;
use crate::forwarding::Forwarding;
use crate::routes::{Route, RouteTable};
use crate::upstream::{Endpoint, Upstream};
use crate::{arc, client, dns, proxy, sanitize, telemetry};

/// Everything a request handler needs.
pub struct Gateway {
    pub region: String,
    pub routes: RouteTable,
    pub forwarding: Forwarding,
    identity: Bytes,
    ready: AtomicBool,
}

/// A background task that keeps an upstream pointed at the active region.
pub type FollowerTask = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// The gateway could not be assembled (resolver or control-plane client set-up).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(String);

impl BuildError {
    /// The region cannot be sent in a header (validation prevents this).
    pub fn region() -> BuildError {
        BuildError("the region is not a valid header value".into())
    }

    /// The listener could not be handed to the worker threads, or a thread could not start.
    pub fn io(e: std::io::Error) -> BuildError {
        BuildError(format!("cannot start the workers: {e}"))
    }
}

impl Gateway {
    /// Builds routes and upstreams, takes a first look at DNS or the control plane for each
    /// upstream that follows failovers, and returns the followers to run in the background.
    pub async fn build(config: &Config) -> Result<(Gateway, Vec<FollowerTask>), BuildError> {
        let clients = client::Template::new(config.server.workers);
        let mut followers: Vec<FollowerTask> = Vec::new();
        let mut resolver = None;
        let arc_client = match &config.arc {
            Some(arc) => Some(Arc::new(
                recovery::ArcClient::new(
                    &arc.cluster.endpoints,
                    recovery::ClientOptions {
                        call_timeout: arc.call_timeout,
                        extra_ca: arc.extra_ca.clone(),
                    },
                )
                .await,
            )),
            None => None,
        };
        let mut routes = Vec::new();
        for r in &config.routes {
            let name: Arc<str> = Arc::from(r.name.as_str());
            let upstream = match &r.target {
                RouteTarget::Url(uri) => {
                    let host = uri
                        .host()
                        .unwrap_or_default()
                        .trim_matches(|c| c == '[' || c == ']');
                    if host.parse::<std::net::IpAddr>().is_ok() {
                        let ep = Endpoint::new(uri, &r.settings, &clients, Addresses::system());
                        Arc::new(Upstream::new(
                            r.settings.clone(),
                            url_label(uri),
                            Arc::new(ep),
                            "static",
                            host.to_owned(),
                        ))
                    } else {
                        if resolver.is_none() {
                            resolver = Some(dns::resolver(&config.dns).map_err(BuildError)?);
                        }
                        let follower = dns::Follower {
                            route: name.clone(),
                            uri: uri.clone(),
                            host: host.to_owned(),
                            settings: r.settings.clone(),
                            clients: clients.clone(),
                            resolver: resolver.clone().expect("set above"),
                            cfg: config.dns.clone(),
                        };
                        let (ep, addrs, ttl) = follower.first().await;
                        let target = dns::describe(&addrs);
                        let upstream = Arc::new(Upstream::new(
                            r.settings.clone(),
                            url_label(uri),
                            ep,
                            "dns",
                            target,
                        ));
                        upstream.observe(if addrs.is_empty() {
                            Err("no answer yet".into())
                        } else {
                            Ok(())
                        });
                        followers.push(Box::pin(follower.run(upstream.clone(), addrs, ttl)));
                        upstream
                    }
                }
                RouteTarget::Arc { app } => {
                    let arc = config
                        .arc
                        .as_ref()
                        .expect("validated: arc routes come with [arc]");
                    let entry = arc.cluster.app(app).map_err(BuildError)?.clone();
                    let endpoints = entry
                        .regions
                        .iter()
                        .map(|(region, e)| {
                            let uri = config::parse_upstream(&e.url).map_err(|reason| {
                                BuildError(format!("{app} {region} url {:?}: {reason}", e.url))
                            })?;
                            let ep =
                                Endpoint::new(&uri, &r.settings, &clients, Addresses::system());
                            Ok((region.clone(), Arc::new(ep)))
                        })
                        .collect::<Result<std::collections::BTreeMap<_, _>, BuildError>>()?;
                    let follower = arc::Follower {
                        route: name.clone(),
                        app_name: app.clone(),
                        app: entry,
                        endpoints,
                        client: arc_client.clone().expect("built above"),
                        poll_interval: arc.poll_interval,
                    };
                    let (region, first) = follower.first().await;
                    let ep = follower.endpoints[&region].clone();
                    let upstream = Arc::new(Upstream::new(
                        r.settings.clone(),
                        format!("arc:{app}"),
                        ep,
                        "arc",
                        region.clone(),
                    ));
                    upstream.observe(first);
                    followers.push(Box::pin(follower.run(upstream.clone(), region)));
                    upstream
                }
            };
            routes.push(Route {
                name,
                prefix: r.prefix.clone(),
                strip_prefix: r.strip_prefix,
                upstream,
            });
        }
        let gateway = Gateway {
            region: config.region.clone(),
            routes: RouteTable::new(routes),
            forwarding: Forwarding {
                trusted_proxy_hops: config.server.trusted_proxy_hops,
            },
            identity: Bytes::from(bootstrap::identity_body("external-api", &config.region)),
            ready: AtomicBool::new(true),
        };
        Ok((gateway, followers))
    }

    /// Marks the gateway as draining: `/ready` answers 503 from now on.
    pub fn set_draining(&self) {
        self.ready.store(false, Ordering::Relaxed);
    }
}

/// `scheme://authority` of an upstream URL, for logs and metrics.
fn url_label(uri: &http::Uri) -> String {
    format!(
        "{}://{}",
        uri.scheme_str().unwrap_or("http"),
        uri.authority().map_or("", |a| a.as_str())
    )
}

/// The main listener's router.
///
/// The layers wrap the router as a whole (not `Router::layer`, which runs after route matching),
/// so every path, the gateway's own endpoints included, is checked and normalised once, before
/// it is matched.
pub fn router(
    gw: Arc<Gateway>,
) -> impl tower::Service<
    http::Request<hyper::body::Incoming>,
    Response = Response,
    Error = std::convert::Infallible,
    Future: Send,
> + Clone
       + Send
       + Sync
       + 'static {
    let region = HeaderValue::from_str(&gw.region).expect("region was validated");
    let layers = ServiceBuilder::new()
        .map_request(|req: http::Request<hyper::body::Incoming>| req.map(axum::body::Body::new))
        // Kept when present: behind another gateway (the edge of compose), the inner hop's region stands.
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(bootstrap::GATEWAY_REGION_HEADER),
            region,
        ))
        .layer(axum::middleware::from_fn(telemetry::request_id))
        .layer(axum::middleware::from_fn(telemetry::observe))
        .layer(axum::middleware::from_fn(sanitize::sanitize));
    // A catch-all route ("/") takes `/` too; otherwise the gateway answers `/` itself.
    let catch_all = gw.routes.iter().any(|r| r.prefix == "/");
    let mut router = Router::new();
    if !catch_all {
        router = router.route("/", get(identity).fallback(not_allowed));
    }
    let routed = router
        .route("/health", get(health).fallback(not_allowed))
        .route("/ready", get(ready).fallback(not_allowed))
        .fallback(proxy::handle)
        .with_state(gw);
    layers.service(routed)
}

/// Any other method on the gateway's own endpoints: 405 with `allow`, as JSON like every refusal.
async fn not_allowed(req: axum::extract::Request) -> Response {
    let err = ProxyError::MethodNotAllowed { allow: "GET, HEAD" };
    let mut resp = err.to_response(req.headers().get(&telemetry::X_REQUEST_ID));
    resp.extensions_mut()
        .insert(telemetry::Exchange::unrouted(err.code()));
    resp
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

/// `GET /ready`: 200 while the gateway accepts new work, 503 while it drains for shutdown. The
/// body shows how each upstream follows failovers. An unreachable control plane or DNS does not
/// make the gateway unready: it keeps serving the last known region (static stability), and says so.
async fn ready(State(gw): State<Arc<Gateway>>) -> Response {
    let upstreams: serde_json::Map<String, serde_json::Value> = gw
        .routes
        .iter()
        .map(|r| {
            let s = r.upstream.status();
            let mut v = serde_json::to_value(&s).unwrap_or_default();
            if let (Some(t), serde_json::Value::Object(m)) = (s.last_success, &mut v) {
                m.insert(
                    "last_success_ms_ago".into(),
                    (t.elapsed().as_millis() as u64).into(),
                );
            }
            (r.name.to_string(), v)
        })
        .collect();
    let draining = !gw.ready.load(Ordering::Relaxed);
    let body = serde_json::json!({
        "status": if draining { "draining" } else { "ready" },
        "upstreams": upstreams,
    });
    let status = if draining {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    json(status, body.to_string())
}
