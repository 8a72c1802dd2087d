//! What must never reach routing: ambiguous message framing and unsafe path spellings.
//!
//! Runs before the router, so the gateway's own endpoints and the proxy both see the normalised
//! path ([`crate::path`]).

use std::borrow::Cow;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::uri::PathAndQuery;

use crate::error::ProxyError;
use crate::framing::Ambiguous;
use crate::path;
use crate::telemetry::{Exchange, X_REQUEST_ID};

/// axum middleware: refuses or normalises the request.
pub async fn sanitize(mut req: Request, next: Next) -> Response {
    match check(&mut req) {
        Ok(()) => next.run(req).await,
        Err(e) => {
            let mut resp = e.to_response(req.headers().get(&X_REQUEST_ID));
            resp.extensions_mut().insert(Exchange::unrouted(e.code()));
            resp
        }
    }
}

fn check(req: &mut Request) -> Result<(), ProxyError> {
    // RFC 9112 section 6.1: a request with both is a smuggling attempt or a broken client; a
    // server may reject it, and a proxy that forwards it risks desynchronising the upstream.
    // hyper drops Content-Length from such a head, so the mark comes from [`crate::framing`].
    if req.extensions().get::<Ambiguous>().is_some() {
        return Err(ProxyError::AmbiguousFraming);
    }
    let normal = match path::normalize(req.uri().path())? {
        Cow::Borrowed(_) => return Ok(()),
        Cow::Owned(p) => p,
    };
    let pq = match req.uri().query() {
        Some(q) => format!("{normal}?{q}"),
        None => normal,
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = Some(
        PathAndQuery::try_from(pq).map_err(|_| ProxyError::BadPath(path::PathError::BadEscape))?,
    );
    *req.uri_mut() = http::Uri::from_parts(parts)
        .map_err(|_| ProxyError::BadPath(path::PathError::BadEscape))?;
    Ok(())
}
