//! One attempt's aftermath, decided in one place: what happened ([`Outcome`]), what the route
//! allows ([`Policy`]), and what to do next ([`Next`]: return the answer, retry on the same
//! endpoint at a given instant, move to another region, or fail). Also the request head's two
//! shapes ([`Head`]): one that may be sent again (each attempt gets a copy of the fields) and
//! one that is sent once (its fields move into the first request, so no later attempt can be
//! built from an emptied map).
//!
//! What may be repeated (RFC 9110 section 9.2.2): a failed connect, or an AWS load balancer's own
//! 503 for a target group without targets, means no upstream saw the request, so it may be
//! retried or go to another region whatever the method. A connection that closed after the
//! request may have been written moves only an idempotent request, on routes that allow it. A
//! timeout waiting for the answer moves nothing. Nothing is repeated once the request body has
//! started to stream (it cannot be sent again).

use std::time::Duration;

use http::{HeaderMap, Method, Request, Uri, Version};
use tokio::time::Instant;

use crate::body::{BodySlot, RequestBody};
use crate::config::UpstreamSettings;

/// What one attempt came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An answer from the upstream.
    Answered,
    /// A load balancer's own 503: no target saw the request.
    NoTarget,
    /// No connection: the upstream never saw the request.
    ConnectFailed,
    /// The connection closed after the request may have been written.
    Closed,
    /// Any other failure of the exchange (malformed answer, body over the limit, ...).
    Failed,
    /// No answer head before the response-header deadline.
    TimedOut,
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Give the client the upstream's answer.
    Answer,
    /// Send it again to the same endpoint at this instant (the backoff, clipped to the deadline).
    RetryAt(Instant),
    /// Send it to the region the caller found.
    Move,
    /// Give up with the attempt's error.
    Fail,
}

/// What a request may do after a failed attempt, from the route's settings and the request.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Another region after a failed connect or a load balancer's 503 (`fallback`).
    pub fallback: bool,
    /// Another region after a closed connection, for an idempotent request.
    pub fallback_closed: bool,
    pub retries: u32,
    pub retry_backoff: Duration,
    /// When the answer head must have come: no retry starts at or after it.
    pub head_deadline: Instant,
}

impl Policy {
    pub fn new(settings: &UpstreamSettings, method: &Method, head_deadline: Instant) -> Policy {
        Policy {
            fallback: settings.fallback,
            fallback_closed: settings.fallback_idempotent && method.is_idempotent(),
            retries: settings.retries,
            retry_backoff: settings.retry_backoff,
            head_deadline,
        }
    }

    /// Whether a request that reached a connection may be sent again, so every attempt needs
    /// its own copy of the head (`regions`: whether the upstream has regions to move to).
    pub fn resends(&self, regions: bool) -> bool {
        (self.fallback && regions) || self.fallback_closed
    }
}

/// The step after an attempt that came to `outcome`. `retries_done` counts retries already made
/// on this endpoint; `untouched` says whether the request body is still unread (else nothing may
/// be sent again); `region` finds another region to move to (called only when a move is
/// allowed, as finding one marks it tried).
pub fn decide(
    outcome: Outcome,
    policy: &Policy,
    retries_done: u32,
    untouched: bool,
    now: Instant,
    region: impl FnOnce() -> bool,
) -> Next {
    let may_move = untouched
        && match outcome {
            Outcome::NoTarget | Outcome::ConnectFailed => policy.fallback,
            Outcome::Closed => policy.fallback_closed,
            Outcome::Answered | Outcome::Failed | Outcome::TimedOut => false,
        };
    if may_move && region() {
        return Next::Move;
    }
    match outcome {
        Outcome::Answered | Outcome::NoTarget => Next::Answer,
        Outcome::ConnectFailed if untouched && retries_done < policy.retries => {
            // Retry N waits N x retry_backoff; one that could only start when the answer is due
            // would time out unsent, so the connect error is the answer instead.
            let at = now + policy.retry_backoff * (retries_done + 1);
            if at < policy.head_deadline {
                Next::RetryAt(at)
            } else {
                Next::Fail
            }
        }
        Outcome::ConnectFailed | Outcome::Closed | Outcome::Failed | Outcome::TimedOut => {
            Next::Fail
        }
    }
}

/// The upstream request's method, URI (origin form) and fields.
pub struct Fields {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
}

impl Fields {
    fn request(self, slot: &BodySlot) -> Request<RequestBody> {
        let mut req = Request::new(slot.attempt());
        *req.method_mut() = self.method;
        *req.version_mut() = Version::HTTP_11;
        *req.uri_mut() = self.uri;
        *req.headers_mut() = self.headers;
        req
    }
}

/// A request head, in the shape its policy allows.
pub enum Head {
    /// May be sent more than once: every attempt gets a copy.
    Resendable(Fields),
    /// Sent once: the fields move into the first request; `None` after.
    Once(Option<Fields>),
}

impl Head {
    pub fn new(fields: Fields, resendable: bool) -> Head {
        if resendable {
            Head::Resendable(fields)
        } else {
            Head::Once(Some(fields))
        }
    }

    /// The request for the next attempt: the one a failed connect handed back (unsent, so it
    /// may go again whatever the policy), else one built from the head; `None` when a head sent
    /// once is asked for a second request.
    pub fn request(
        &mut self,
        unsent: Option<Request<RequestBody>>,
        slot: &BodySlot,
    ) -> Option<Request<RequestBody>> {
        if unsent.is_some() {
            return unsent;
        }
        match self {
            Head::Resendable(f) => Some(
                Fields {
                    method: f.method.clone(),
                    uri: f.uri.clone(),
                    headers: f.headers.clone(),
                }
                .request(slot),
            ),
            Head::Once(f) => f.take().map(|f| f.request(slot)),
        }
    }
}
