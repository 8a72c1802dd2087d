//! The proxy phases of a routed request, in order: [`upstream_request`] (refuse an oversized
//! body before the upstream hears of it, strip hop-by-hop fields ([`crate::hop`]), add
//! forwarding fields ([`crate::forwarding`]), set `Host` and the URI to the upstream's),
//! [`Attempts::send`] (the route's timeouts; after each attempt, [`attempt::decide`] says whether
//! to answer, retry a failed connect, move to the next region's endpoint where the request
//! cannot have been handled twice, or fail), and [`upstream_response`]
//! (strip the response's hop-by-hop fields, stream the body back under the total timeout, or
//! relay an HTTP/1.1 upgrade as a byte tunnel). [`forward`] runs them; failures are returned as
//! [`ProxyError`]s for the pipeline to answer ([`crate::pipeline`]).

mod attempt;
#[cfg(test)]
mod tests;

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
use attempt::{Fields, Head, Next, Outcome, Policy};

/// A request's upstream side, ready to send: method, head fields and URI (origin form)
/// rewritten; the client's URI (for another region's URI) and upgrade (if it asked for one)
/// taken aside.
pub struct UpstreamHead {
    fields: Fields,
    client_uri: Uri,
    client_upgrade: Option<OnUpgrade>,
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
            target = fall_back(route, next, ex);
        }
    }
    let UpstreamHead {
        fields,
        client_uri,
        client_upgrade,
    } = upstream_request(route, &target, forwarding, peer, parts)?;
    let slot = BodySlot::new(body, settings.max_body_bytes);
    let now = Instant::now();
    let deadline = now + settings.total_timeout;
    let policy = Policy::new(
        settings,
        &fields.method,
        deadline.min(now + settings.response_header_timeout),
    );
    let head = Head::new(fields, policy.resends(!route.upstream.regions.is_empty()));
    let attempts = Attempts {
        route,
        policy,
        client_uri: &client_uri,
        slot: &slot,
    };
    let resp = attempts.send(target, tried, head, ex).await?;
    upstream_response(route, client_upgrade, resp, slot, deadline, ex)
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
        fields: Fields {
            method: parts.method,
            uri,
            headers: parts.headers,
        },
        client_uri: parts.uri,
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

/// Records a move to `region` (metric, the answer's fallback field) and returns its endpoint.
fn fall_back(route: &Route, region: &regional::Region, ex: &mut Exchange) -> Arc<Endpoint> {
    metrics::fallback(&route.name, &region.name);
    ex.fallback = Some(region.header.clone());
    region.endpoint.clone()
}

/// What every attempt of one request shares.
struct Attempts<'a> {
    route: &'a Route,
    policy: Policy,
    client_uri: &'a Uri,
    slot: &'a BodySlot,
}

impl Attempts<'_> {
    /// Sends the request until an attempt gets an answer head, or [`attempt::decide`] says to
    /// stop: retrying a failed connect on the same endpoint after its backoff, moving to the
    /// next region's endpoint where the request cannot have been handled twice.
    async fn send(
        &self,
        mut target: Arc<Endpoint>,
        mut tried: regional::Tried,
        mut head: Head,
        ex: &mut Exchange,
    ) -> Result<http::Response<PooledBody>, ProxyError> {
        let settings = &self.route.upstream.settings;
        let regions = &self.route.upstream.regions;
        // The URI and Host for a fallback endpoint; the head's own for the first.
        let mut elsewhere: Option<(Uri, http::HeaderValue)> = None;
        let mut unsent: Option<http::Request<RequestBody>> = None;
        let mut retries = 0;
        loop {
            // A head sent once is never asked twice: only a request a failed connect handed
            // back goes again (the policy allows nothing else for it).
            let Some(mut req) = head.request(unsent.take(), self.slot) else {
                return Err(ProxyError::Connect);
            };
            if let Some((uri, host)) = &elsewhere {
                *req.uri_mut() = uri.clone();
                req.headers_mut().insert(HOST, host.clone());
            }
            let sent =
                tokio::time::timeout_at(self.policy.head_deadline, target.client().request(req))
                    .await;
            let (outcome, result) = match sent {
                Ok(Ok(resp)) if no_target_reached(&resp) => (Outcome::NoTarget, Ok(resp)),
                Ok(Ok(resp)) => (Outcome::Answered, Ok(resp)),
                Ok(Err(failed)) => {
                    tracing::debug!(error = ?failed.error, "upstream request failed");
                    unsent = failed.request;
                    let err = ProxyError::from_client_error(&failed.error, settings.max_body_bytes);
                    let outcome = match err {
                        _ if failed.error.is_connect() => Outcome::ConnectFailed,
                        ProxyError::UpstreamClosed => Outcome::Closed,
                        _ => Outcome::Failed,
                    };
                    (outcome, Err(err))
                }
                Err(_) => (
                    Outcome::TimedOut,
                    Err(ProxyError::ResponseTimeout(
                        settings.response_header_timeout,
                    )),
                ),
            };
            self.record(&target, outcome, &result);
            let mut region = None;
            let next = attempt::decide(
                outcome,
                &self.policy,
                retries,
                self.slot.untouched(),
                Instant::now(),
                || {
                    region = regions.next(&target, &mut tried);
                    region.is_some()
                },
            );
            match (next, region) {
                (Next::Move, Some(region)) => {
                    tracing::debug!(?outcome, region = %region.name, "sent to the next region");
                    let uri = upstream_uri(self.route, &region.endpoint, self.client_uri)?;
                    elsewhere = Some((uri, region.endpoint.host.clone()));
                    target = fall_back(self.route, region, ex);
                }
                (Next::RetryAt(at), _) => {
                    retries += 1;
                    ex.retries = retries;
                    metrics::retry(&self.route.name);
                    tracing::debug!(attempt = retries, "upstream connect failed, retrying");
                    tokio::time::sleep_until(at).await;
                }
                _ => {
                    if let Err(ProxyError::BodyTooLarge { .. }) = result {
                        metrics::body_limit(
                            &self.route.name,
                            metrics::BodyLimitStage::BeforeResponse,
                        );
                    }
                    return result;
                }
            }
        }
    }

    /// The endpoint's outlier bookkeeping for an attempt: a failed connect or a load balancer's
    /// 503 counts toward ejection, as do 5xx answers; any other answer resets the counts.
    fn record(
        &self,
        target: &Arc<Endpoint>,
        outcome: Outcome,
        result: &Result<http::Response<PooledBody>, ProxyError>,
    ) {
        let (name, settings) = (&self.route.name, &self.route.upstream.settings);
        let regions = &self.route.upstream.regions;
        match (outcome, result) {
            (Outcome::NoTarget | Outcome::ConnectFailed, _) => {
                regional::connect_failed(name, regions, settings, target)
            }
            (Outcome::Answered, Ok(resp)) if resp.status().is_server_error() => {
                regional::server_error(name, regions, settings, target)
            }
            (Outcome::Answered, _) => target.outlier.success(),
            _ => {}
        }
    }
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
    client_upgrade: Option<OnUpgrade>,
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
