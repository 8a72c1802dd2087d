//! A request's phases, in order, as plain calls on one per-request record ([`Exchange`]):
//!
//! 1. **edge** ([`handle`]): the record is made and the request id settled, once.
//! 2. **request_filter** ([`crate::sanitize::check`]): ambiguous framing, `Host`, methods a
//!    reverse proxy does not relay, path normalisation. Refusals never reach routing.
//! 3. **route** ([`route`]): the gateway's own endpoints ([`crate::own`]) or the longest-prefix
//!    route ([`crate::routes`]), resolved once.
//! 4. **policy**: per-route policy (rate limits, API keys, JWT, CORS) belongs here, between
//!    routing and the upstream, as a call taking the route and the request head and returning
//!    `Result<(), ProxyError>`. There is none yet.
//! 5. **upstream phases** ([`crate::proxy::forward`]): upstream request, send with retry,
//!    upstream response or tunnel.
//! 6. **answer**: an error becomes its JSON answer here and nowhere else ([`ProxyError`]).
//! 7. **response_filter** ([`response_filter`]): `x-request-id`, `x-gateway-region` and, when a
//!    regional fallback served the request, `x-gateway-fallback`.
//! 8. **logging** ([`Exchange::log`]): the access line and the request metrics.
//!
//! No phase is boxed and no general router runs: [`handle`] is what the server calls for every
//! request ([`crate::server::serve`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use http::HeaderName;

use crate::error::ProxyError;
use crate::gateway::Gateway;
use crate::own::Own;
use crate::routes::Route;
use crate::telemetry::{Exchange, RouteName, X_REQUEST_ID};
use crate::{metrics, proxy, sanitize};

static GATEWAY_REGION: HeaderName = HeaderName::from_static(bootstrap::GATEWAY_REGION_HEADER);
/// The region a request was sent to when the active region's endpoint could not be reached.
pub static GATEWAY_FALLBACK: HeaderName = HeaderName::from_static("x-gateway-fallback");

/// The edge: every request from the server passes here, and every answer leaves from here.
pub async fn handle<B>(gw: Arc<Gateway>, mut req: http::Request<B>, peer: SocketAddr) -> Response
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let mut ex = Exchange::start(&mut req);
    let mut resp = match phases(&gw, &mut ex, req.map(Body::new), peer).await {
        Ok(resp) => resp,
        Err(e) => answer(&mut ex, &e),
    };
    response_filter(&gw, &ex, &mut resp);
    ex.log(resp.status());
    resp
}

async fn phases(
    gw: &Gateway,
    ex: &mut Exchange,
    mut req: http::Request<Body>,
    peer: SocketAddr,
) -> Result<Response, ProxyError> {
    sanitize::check(&mut req)?;
    let route = match route(gw, req.uri().path())? {
        Routed::Own(own) => {
            let resp = own.answer(gw, req.method())?;
            ex.route = RouteName::Gateway;
            return Ok(resp);
        }
        Routed::Proxy(route) => route,
    };
    ex.route = RouteName::Route(route.name.clone());
    ex.upstream = Some(route.upstream.label.clone());
    proxy::forward(&route, &gw.forwarding, peer, req, ex).await
}

/// Where a normalised path goes.
enum Routed {
    Own(Own),
    Proxy(Arc<Route>),
}

/// The route phase: the gateway's own endpoints first, then the longest matching prefix.
fn route(gw: &Gateway, path: &str) -> Result<Routed, ProxyError> {
    if let Some(own) = Own::at(gw, path) {
        return Ok(Routed::Own(own));
    }
    gw.routes
        .find(path)
        .cloned()
        .map(Routed::Proxy)
        .ok_or(ProxyError::NoRoute)
}

/// The one place an error becomes an answer: its JSON body with the request id, recorded for
/// the log line, and counted as an upstream error when the fault is the upstream's.
fn answer(ex: &mut Exchange, e: &ProxyError) -> Response {
    if let (true, RouteName::Route(name)) = (e.is_upstream(), &ex.route) {
        metrics::upstream_error(name, e.code());
    }
    ex.error = Some(e.code());
    e.to_response(&ex.request_id)
}

/// The fields every answer carries: the request id, and this gateway's region unless an inner
/// gateway (the edge of compose) already named the region that served it.
fn response_filter(gw: &Gateway, ex: &Exchange, resp: &mut Response) {
    let headers = resp.headers_mut();
    headers.insert(X_REQUEST_ID.clone(), ex.request_id.clone());
    if let Some(region) = &ex.fallback {
        headers.insert(GATEWAY_FALLBACK.clone(), region.clone());
    }
    if !headers.contains_key(&GATEWAY_REGION) {
        headers.insert(GATEWAY_REGION.clone(), gw.region_header.clone());
    }
}
