//! The proxy handler: a request's whole trip from the route table to the upstream and back.
//!
//! In order: find the route; refuse an oversized body (413) before contacting the upstream; strip
//! hop-by-hop fields ([`crate::hop`]); add forwarding fields ([`crate::forwarding`]); set `Host`
//! to the upstream's authority; send with the route's timeouts, retrying only a failed connect;
//! strip the response's hop-by-hop fields; stream the body back under the total timeout; relay an
//! HTTP/1.1 upgrade (WebSocket) as a byte tunnel. Failures become JSON errors ([`crate::error`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use http::header::{CONTENT_LENGTH, HOST};
use http::{StatusCode, Uri, Version};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

use crate::app::Gateway;
use crate::body::{BodySlot, DeadlineBody, LimitWatch};
use crate::error::ProxyError;
use crate::routes::{self, Route};
use crate::telemetry::{self, Exchange};
use crate::{hop, metrics};

/// The fallback handler: everything that is not one of the gateway's own endpoints.
pub async fn handle(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let request_id = req.headers().get(&telemetry::X_REQUEST_ID).cloned();
    let Some(route) = gw.routes.find(req.uri().path()).cloned() else {
        let mut resp = ProxyError::NoRoute.to_response(request_id.as_ref());
        resp.extensions_mut()
            .insert(Exchange::unrouted(ProxyError::NoRoute.code()));
        return resp;
    };
    let mut exchange = Exchange::new(&route.name, &route.upstream.label);
    let mut resp = match forward(&gw, &route, peer, req, &mut exchange).await {
        Ok(resp) => resp,
        Err(e) => {
            if e.is_upstream() {
                metrics::upstream_error(&route.name, e.code());
            }
            exchange.error = Some(e.code());
            e.to_response(request_id.as_ref())
        }
    };
    if let Some(id) = request_id {
        resp.headers_mut()
            .insert(telemetry::X_REQUEST_ID.clone(), id);
    }
    resp.extensions_mut().insert(exchange);
    resp
}

async fn forward(
    gw: &Gateway,
    route: &Route,
    peer: SocketAddr,
    req: Request,
    exchange: &mut Exchange,
) -> Result<Response, ProxyError> {
    let settings = &route.upstream.settings;
    let (mut parts, body) = req.into_parts();

    // 413 before the upstream hears of it, when the client declared the size.
    if let Some(len) = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > settings.max_body_bytes {
            metrics::body_limit(&route.name, metrics::BodyLimitStage::BeforeResponse);
            crate::body::linger(body);
            return Err(ProxyError::BodyTooLarge {
                limit: settings.max_body_bytes,
            });
        }
    }

    let upgrade = hop::upgrade_protocol(&parts.headers);
    let client_upgrade = upgrade
        .as_ref()
        .and_then(|_| parts.extensions.remove::<OnUpgrade>());
    hop::strip(&mut parts.headers, upgrade);
    gw.forwarding.apply(&mut parts.headers, peer, "http");

    // Taken once: this request stays on this endpoint even if the upstream switches meanwhile.
    let target = route.upstream.endpoint();
    parts.headers.insert(HOST, target.host.clone());
    let path = routes::upstream_path(
        &target.base_path,
        &route.prefix,
        route.strip_prefix,
        parts.uri.path(),
    );
    let path_and_query = match parts.uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let uri = Uri::builder()
        .scheme(target.scheme.clone())
        .authority(target.authority.clone())
        .path_and_query(path_and_query)
        .build()
        .map_err(|_| ProxyError::BadPath(crate::path::PathError::BadEscape))?;

    let deadline = Instant::now() + settings.total_timeout;
    let head_deadline = deadline.min(Instant::now() + settings.response_header_timeout);
    let slot = BodySlot::new(body, settings.max_body_bytes);
    let mut attempt = 0;
    let resp = loop {
        let mut upstream_req = http::Request::new(slot.attempt());
        *upstream_req.method_mut() = parts.method.clone();
        *upstream_req.uri_mut() = uri.clone();
        *upstream_req.version_mut() = Version::HTTP_11;
        *upstream_req.headers_mut() = parts.headers.clone();
        match tokio::time::timeout_at(head_deadline, target.client().request(upstream_req)).await {
            Ok(Ok(resp)) => break resp,
            Ok(Err(e)) => {
                if e.is_connect() && attempt < settings.retries && slot.untouched() {
                    attempt += 1;
                    exchange.retries = attempt;
                    metrics::retry(&route.name);
                    tracing::debug!(error = ?e, attempt, "upstream connect failed, retrying");
                    tokio::time::sleep(settings.retry_backoff * attempt).await;
                    continue;
                }
                tracing::debug!(error = ?e, "upstream request failed");
                let err = ProxyError::from_client_error(&e, settings.max_body_bytes);
                if let ProxyError::BodyTooLarge { .. } = err {
                    metrics::body_limit(&route.name, metrics::BodyLimitStage::BeforeResponse);
                }
                return Err(err);
            }
            Err(_) => {
                return Err(ProxyError::ResponseTimeout(
                    settings.response_header_timeout,
                ))
            }
        }
    };

    let (mut rparts, rbody) = resp.into_parts();
    // The region of the hop this gateway called, as that hop says it: a gateway's own region
    // (x-gateway-region, when this is an edge in front of gateways), else the service's.
    exchange.upstream_region = rparts
        .headers
        .get(bootstrap::GATEWAY_REGION_HEADER)
        .or_else(|| rparts.headers.get(bootstrap::SERVICE_REGION_HEADER))
        .cloned();

    if rparts.status == StatusCode::SWITCHING_PROTOCOLS {
        let protocol = hop::upgrade_protocol(&rparts.headers);
        let upstream_upgrade = rparts.extensions.remove::<OnUpgrade>();
        let (Some(client_side), Some(upstream_side), Some(protocol)) =
            (client_upgrade, upstream_upgrade, protocol)
        else {
            // 101 to a request that did not ask for it, or without Upgrade: not a valid answer.
            return Err(ProxyError::UpstreamMalformed);
        };
        hop::strip(&mut rparts.headers, Some(protocol));
        tokio::spawn(tunnel(client_side, upstream_side));
        return Ok(Response::from_parts(rparts, Body::empty()));
    }

    hop::response_framing(&mut rparts.headers);
    hop::strip(&mut rparts.headers, None);
    // RFC 9110 section 6.2: an intermediary sends its own HTTP version. An HTTP/1.0 upstream's
    // close-delimited body goes out chunked, so a cut (upstream reset, total timeout) shows as a
    // missing last chunk instead of a clean close that looks complete.
    rparts.version = Version::HTTP_11;
    let limit = slot.has_body().then(|| LimitWatch {
        hit: slot.limit_hit(),
        route: route.name.clone(),
        request_id: parts.headers.get(&telemetry::X_REQUEST_ID).cloned(),
    });
    Ok(Response::from_parts(
        rparts,
        Body::new(DeadlineBody::new(rbody, deadline, limit)),
    ))
}

/// Relays bytes both ways once both sides have switched protocols. The tunnel lives as long as
/// either side keeps it open; it is not bound by the route's total timeout.
async fn tunnel(client: OnUpgrade, upstream: OnUpgrade) {
    let (client, upstream) = match tokio::try_join!(client, upstream) {
        Ok(pair) => pair,
        Err(e) => {
            tracing::debug!(error = %e, "upgrade did not complete");
            return;
        }
    };
    let mut client = TokioIo::new(client);
    let mut upstream = TokioIo::new(upstream);
    if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
        tracing::debug!(error = %e, "upgraded connection ended with an error");
    }
}
