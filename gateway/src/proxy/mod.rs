//! The proxy phases of a routed request, in order: [`upstream_request`] (refuse an oversized
//! body before the upstream hears of it, strip hop-by-hop fields ([`crate::hop`]), add
//! forwarding fields ([`crate::forwarding`]), set `Host` and the URI to the upstream's),
//! [`send`] (the route's timeouts, retrying only a failed connect, falling back to the next
//! region's endpoint only where the request cannot have been handled twice), and [`upstream_response`]
//! (strip the response's hop-by-hop fields, stream the body back under the total timeout, or
//! relay an HTTP/1.1 upgrade as a byte tunnel). [`forward`] runs them; failures are returned as
//! [`ProxyError`]s for the pipeline to answer ([`crate::pipeline`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use http::header::{CONTENT_LENGTH, HOST};
use http::request::Parts;
use http::{StatusCode, Uri, Version};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

use crate::body::{BodySlot, DeadlineBody, LimitWatch, RequestBody};
use crate::client::PooledBody;
use crate::error::ProxyError;
use crate::forwarding::Forwarding;
use crate::routes::{self, Route};
use crate::telemetry::Exchange;
use crate::upstream::{regional, Endpoint};
use crate::{hop, metrics};

/// A request's upstream side, ready to send: head fields and URI (origin form) rewritten, the
/// client's upgrade (if it asked for one) taken aside.
pub struct UpstreamHead {
    parts: Parts,
    uri: Uri,
    client_upgrade: Option<OnUpgrade>,
}

impl UpstreamHead {
    /// The request for an attempt. Its head fields are a copy when `copy` (an answered request
    /// may have to be sent again), else moved out of the head: they are needed once.
    fn request(&mut self, slot: &BodySlot, copy: bool) -> http::Request<RequestBody> {
        let mut req = http::Request::new(slot.attempt());
        *req.method_mut() = self.parts.method.clone();
        *req.version_mut() = Version::HTTP_11;
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = if copy {
            self.parts.headers.clone()
        } else {
            std::mem::take(&mut self.parts.headers)
        };
        req
    }
}

/// Runs the proxy phases for a request the pipeline routed to `route`.
pub async fn forward(
    route: &Route,
    forwarding: &Forwarding,
    peer: SocketAddr,
    req: http::Request<Body>,
    ex: &mut Exchange,
) -> Result<Response, ProxyError> {
    let settings = &route.upstream.settings;
    let (parts, body) = req.into_parts();
    // 413 before the upstream hears of it, when the client declared the size.
    if declared_length(&parts).is_some_and(|len| len > settings.max_body_bytes) {
        metrics::body_limit(&route.name, metrics::BodyLimitStage::BeforeResponse);
        crate::body::linger(body);
        return Err(ProxyError::BodyTooLarge {
            limit: settings.max_body_bytes,
        });
    }
    // Taken once: this request stays on this endpoint even if the upstream switches meanwhile.
    let mut target = route.upstream.endpoint();
    let mut tried = regional::Tried::default();
    // While the active endpoint is ejected, straight to the standby: no failed connect each
    // (one relaxed load when nothing is wrong).
    if target.outlier.is_ejected() {
        if let Some(next) = route.upstream.regions.next(&target, &mut tried) {
            metrics::fallback(&route.name, &next.name);
            ex.fallback = Some(next.header.clone());
            target = next.endpoint.clone();
        }
    }
    let mut head = upstream_request(route, &target, forwarding, peer, parts)?;
    let slot = BodySlot::new(body, settings.max_body_bytes);
    let deadline = Instant::now() + settings.total_timeout;
    let resp = send(route, target, tried, &mut head, &slot, deadline, ex).await?;
    upstream_response(route, head, resp, slot, deadline, ex)
}

fn declared_length(parts: &Parts) -> Option<u64> {
    parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// The upstream request's head: hop-by-hop fields out, forwarding fields in, `Host` and URI
/// pointing at `target`.
fn upstream_request(
    route: &Route,
    target: &Endpoint,
    forwarding: &Forwarding,
    peer: SocketAddr,
    mut parts: Parts,
) -> Result<UpstreamHead, ProxyError> {
    let upgrade = hop::upgrade_protocol(&parts.headers);
    let client_upgrade = upgrade
        .as_ref()
        .and_then(|_| parts.extensions.remove::<OnUpgrade>());
    hop::strip(&mut parts.headers, upgrade);
    forwarding.apply(&mut parts.headers, peer, "http");
    parts.headers.insert(HOST, target.host.clone());
    let uri = upstream_uri(route, target, &parts.uri)?;
    Ok(UpstreamHead {
        parts,
        uri,
        client_upgrade,
    })
}

/// The URI (origin form: path and query) a request for `client_uri` has at `target`.
fn upstream_uri(route: &Route, target: &Endpoint, client_uri: &Uri) -> Result<Uri, ProxyError> {
    let path = routes::upstream_path(
        &target.base_path,
        &route.prefix,
        route.strip_prefix,
        client_uri.path(),
    );
    let path_and_query = match client_uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    Uri::try_from(path_and_query).map_err(|_| ProxyError::UpstreamUri)
}

/// Sends the request, retrying a failed connect while the body is untouched, until the
/// response head arrives or the response-header deadline passes.
///
/// Regional fallback (RFC 9110 section 9.2.2 for what may be repeated): a failed connect means
/// the upstream never saw the request, so it goes to the next region's endpoint, whatever the
/// method (route setting `fallback`). A connection that failed after the request may have been
/// written (reset, closed) moves only an idempotent request whose body can still be sent, and
/// only on routes with `fallback_idempotent`: the active region may have handled it already.
/// A timeout waiting for the response head moves nothing (the deadline is the request's).
async fn send(
    route: &Route,
    mut target: Arc<Endpoint>,
    mut tried: regional::Tried,
    head: &mut UpstreamHead,
    slot: &BodySlot,
    deadline: Instant,
    ex: &mut Exchange,
) -> Result<http::Response<PooledBody>, ProxyError> {
    let settings = &route.upstream.settings;
    let regions = &route.upstream.regions;
    let head_deadline = deadline.min(Instant::now() + settings.response_header_timeout);
    // Whether a request that reached a connection may be sent again (another region after a
    // load balancer's own 503, or an idempotent request after a closed connection): then every
    // attempt gets a copy of the head fields. Otherwise they move into the one request that is
    // written; a failed connect hands its request back unwritten ([`crate::client::Failed`]).
    let copy = (settings.fallback && !regions.is_empty())
        || (settings.fallback_idempotent && head.parts.method.is_idempotent());
    // The URI and Host for a fallback endpoint; the head's own for the first.
    let mut elsewhere: Option<(Uri, http::HeaderValue)> = None;
    let mut unsent: Option<http::Request<RequestBody>> = None;
    let mut attempt = 0;
    loop {
        let mut req = match unsent.take() {
            Some(req) => req,
            None => head.request(slot, copy),
        };
        if let Some((uri, host)) = &elsewhere {
            *req.uri_mut() = uri.clone();
            req.headers_mut().insert(HOST, host.clone());
        }
        match tokio::time::timeout_at(head_deadline, target.client().request(req)).await {
            Ok(Ok(resp)) if no_target_reached(&resp) => {
                // Counted and moved like a refused connect: no target saw the request.
                regional::connect_failed(&route.name, regions, settings, &target);
                if settings.fallback
                    && slot.untouched()
                    && move_on(route, head, &mut tried, &mut target, &mut elsewhere, ex)?
                {
                    tracing::debug!("the load balancer has no target; sent to the next region");
                    continue;
                }
                return Ok(resp);
            }
            Ok(Ok(resp)) => {
                if resp.status().is_server_error() {
                    regional::server_error(&route.name, regions, settings, &target);
                } else {
                    target.outlier.success();
                }
                return Ok(resp);
            }
            Ok(Err(failed)) => {
                let e = failed.error;
                unsent = failed.request;
                let connect = e.is_connect();
                if connect {
                    regional::connect_failed(&route.name, regions, settings, &target);
                }
                let err = ProxyError::from_client_error(&e, settings.max_body_bytes);
                let may_move = if connect {
                    settings.fallback && slot.untouched()
                } else {
                    settings.fallback_idempotent
                        && head.parts.method.is_idempotent()
                        && matches!(err, ProxyError::UpstreamClosed)
                        && slot.untouched()
                };
                if may_move && move_on(route, head, &mut tried, &mut target, &mut elsewhere, ex)? {
                    tracing::debug!(error = ?e, "upstream unreachable; sent to the next region");
                    continue;
                }
                if connect && attempt < settings.retries && slot.untouched() {
                    attempt += 1;
                    ex.retries = attempt;
                    metrics::retry(&route.name);
                    tracing::debug!(error = ?e, attempt, "upstream connect failed, retrying");
                    tokio::time::sleep(settings.retry_backoff * attempt).await;
                    continue;
                }
                tracing::debug!(error = ?e, "upstream request failed");
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
    }
}

/// Points the next attempt at the next region's endpoint not yet tried (and not ejected), and
/// records the fallback; false when there is none.
fn move_on(
    route: &Route,
    head: &UpstreamHead,
    tried: &mut regional::Tried,
    target: &mut Arc<Endpoint>,
    elsewhere: &mut Option<(Uri, http::HeaderValue)>,
    ex: &mut Exchange,
) -> Result<bool, ProxyError> {
    let Some(next) = route.upstream.regions.next(target, tried) else {
        return Ok(false);
    };
    metrics::fallback(&route.name, &next.name);
    ex.fallback = Some(next.header.clone());
    let uri = upstream_uri(route, &next.endpoint, &head.parts.uri)?;
    *elsewhere = Some((uri, next.endpoint.host.clone()));
    *target = next.endpoint.clone();
    Ok(true)
}

/// An answer an AWS load balancer wrote itself because the target group has no registered target
/// (Elastic Load Balancing docs, "HTTP 503: Service unavailable"): no target saw the request, as
/// when a connection is refused. In AWS that is how a region whose tasks are all gone answers,
/// since the ALB in front of them still accepts connections. Told apart from an application's
/// own 503 by the load balancer's `Server: awselb/...` field, which a target's answer relayed
/// through the ALB does not carry (the ALB passes the target's own `Server`).
fn no_target_reached<B>(resp: &http::Response<B>) -> bool {
    resp.status() == StatusCode::SERVICE_UNAVAILABLE
        && resp
            .headers()
            .get(http::header::SERVER)
            .is_some_and(|v| v.as_bytes().starts_with(b"awselb/"))
}

/// The client's response: hop-by-hop fields out, HTTP/1.1, the body under the total deadline;
/// or, for a 101, the upgrade relayed as a tunnel.
fn upstream_response(
    route: &Route,
    head: UpstreamHead,
    resp: http::Response<PooledBody>,
    slot: BodySlot,
    deadline: Instant,
    ex: &mut Exchange,
) -> Result<Response, ProxyError> {
    let (mut rparts, rbody) = resp.into_parts();
    // The region of the hop this gateway called, as that hop says it: a gateway's own region
    // (x-gateway-region, when this is an edge in front of gateways), else the service's.
    ex.upstream_region = rparts
        .headers
        .get(bootstrap::GATEWAY_REGION_HEADER)
        .or_else(|| rparts.headers.get(bootstrap::SERVICE_REGION_HEADER))
        .cloned();

    if rparts.status == StatusCode::SWITCHING_PROTOCOLS {
        let protocol = hop::upgrade_protocol(&rparts.headers);
        let upstream_upgrade = rparts.extensions.remove::<OnUpgrade>();
        let (Some(client_side), Some(upstream_side), Some(protocol)) =
            (head.client_upgrade, upstream_upgrade, protocol)
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
        request_id: Some(ex.request_id.clone()),
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
