//! A request's phases, in order, as plain calls on one per-request record ([`Exchange`]):
//!
//! 1. **edge** ([`handle`]): the record is made and the request id settled, once.
//! 2. **request_filter** ([`crate::sanitize::check`]): ambiguous framing, `Host`, methods a
//!    reverse proxy does not relay, path normalisation. Refusals never reach routing.
//! 3. **route** ([`route`]): the gateway's own endpoints ([`crate::own`]) or the longest-prefix
//!    route ([`crate::routes`]), resolved once.
//! 4. **policy** ([`crate::policy::Chain::run`]): the route's policies in order (API keys and
//!    their usage plans, route throttles): continue (request fields set for the upstream),
//!    refuse (403, 429) or answer. Skipped with one branch for a route without policies.
//! 5. **upstream phases** ([`crate::proxy::forward`]): upstream request, send with retry,
//!    upstream response or tunnel.
//! 6. **answer**: an error becomes its JSON answer here and nowhere else ([`ProxyError`]).
//! 7. **response_filter** ([`response_filter`]): `x-request-id`, `x-gateway-region`, when a
//!    regional fallback served the request `x-gateway-fallback`, and fields policies added.
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
use crate::policy::Verdict;
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
    response_filter(&gw, &mut ex, &mut resp);
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
    if !route.policies.is_empty() {
        if let Verdict::Answer(resp) = route.policies.run(&mut req, ex).await? {
            return Ok(resp);
        }
    }
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
    if let RouteName::Route(name) = &ex.route {
        if e.is_upstream() {
            metrics::upstream_error(name, e.code());
        } else if e.is_policy() {
            metrics::policy_refusal(name, e.code());
        }
    }
    ex.error = Some(e.code());
    e.to_response(&ex.request_id)
}

/// The fields every answer carries: the request id, and this gateway's region unless an inner
/// gateway (the edge of compose) already named the region that served it; then the fields a
/// policy added, over the upstream's.
fn response_filter(gw: &Gateway, ex: &mut Exchange, resp: &mut Response) {
    let headers = resp.headers_mut();
    if let Some(fields) = ex.response_fields.take() {
        // into_iter names a field once, before the first of its values.
        let mut last: Option<HeaderName> = None;
        for (name, value) in fields.into_iter() {
            if let Some(name) = name {
                headers.remove(&name);
                last = Some(name);
            }
            if let Some(name) = &last {
                headers.append(name.clone(), value);
            }
        }
    }
    headers.insert(X_REQUEST_ID.clone(), ex.request_id.clone());
    if let Some(region) = &ex.fallback {
        headers.insert(GATEWAY_FALLBACK.clone(), region.clone());
    }
    if !headers.contains_key(&GATEWAY_REGION) {
        headers.insert(GATEWAY_REGION.clone(), gw.region_header.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Sources};

    /// Fields a policy adds replace the upstream's of the same name, every value kept.
    #[tokio::test]
    async fn the_response_filter_adds_the_fields_policies_set() {
        let config = Config::load(Sources {
            file: Some((
                "t.toml".into(),
                "region = \"us-east-1\"\n[[route]]\nprefix = \"/a\"\nupstream = \"http://127.0.0.1:1\"\n"
                    .into(),
            )),
            env: |_| None,
        })
        .unwrap();
        let (gw, _) = Gateway::build(&config).await.unwrap();
        let mut req = http::Request::new(());
        let mut ex = Exchange::start(&mut req);
        let mut fields = http::HeaderMap::new();
        fields.append("vary", "origin".parse().unwrap());
        fields.append("vary", "accept".parse().unwrap());
        fields.insert("x-policy", "yes".parse().unwrap());
        ex.response_fields = Some(Box::new(fields));
        let mut resp = Response::new(Body::empty());
        resp.headers_mut()
            .insert("vary", "accept-encoding".parse().unwrap());
        response_filter(&gw, &mut ex, &mut resp);
        let vary: Vec<_> = resp.headers().get_all("vary").iter().collect();
        assert_eq!(vary, ["origin", "accept"]);
        assert_eq!(resp.headers()["x-policy"], "yes");
        assert!(resp.headers().contains_key("x-request-id"));
    }
}
