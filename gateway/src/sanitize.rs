//! What must never reach routing: ambiguous message framing, a missing or doubtful `Host`,
//! methods a reverse proxy does not relay, and unsafe path spellings.
//!
//! Runs before routing ([`crate::pipeline`]), so the gateway's own endpoints and the proxy both
//! see the normalised path ([`crate::path`]).

use std::borrow::Cow;

use http::header::HOST;
use http::uri::PathAndQuery;
use http::{Method, Version};

use crate::error::ProxyError;
use crate::framing::Ambiguous;
use crate::path;

type Request = http::Request<axum::body::Body>;

/// The methods the gateway relays, for the `allow` field of a 405.
pub const PROXIED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/// RFC 9112 section 3.2: "A server MUST respond with a 400 (Bad Request) status code to any
/// HTTP/1.1 request message that lacks a Host header field and to any request message that
/// contains more than one Host header field line or a Host header field with an invalid field
/// value." A valid value is `uri-host [ ":" port ]` (RFC 9110 section 7.2): no user info, path,
/// or empty name. Checked before the value is copied into X-Forwarded-Host and Forwarded.
fn check_host(req: &Request) -> Result<(), ProxyError> {
    let mut hosts = req.headers().get_all(HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (None, _) if req.version() == Version::HTTP_11 => {
            return Err(ProxyError::BadHost("HTTP/1.1 requires a Host field"))
        }
        (None, _) => return Ok(()),
        (Some(_), Some(_)) => return Err(ProxyError::BadHost("more than one Host field")),
        (Some(h), None) => h,
    };
    let valid = valid_host(host.as_bytes());
    if valid {
        Ok(())
    } else {
        Err(ProxyError::BadHost("not a host name with an optional port"))
    }
}

/// `uri-host [ ":" port ]` (RFC 3986 section 3.2.2): an IP literal in brackets, or a reg-name
/// / IPv4 address of unreserved, percent-encoded and sub-delim characters; `port = *DIGIT`.
/// Checked on the bytes, without building an `Authority` (no allocation per request).
fn valid_host(v: &[u8]) -> bool {
    let (host, port) = if v.first() == Some(&b'[') {
        let Some(end) = v.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = &v[1..end];
        if literal.is_empty()
            || !literal
                .iter()
                .all(|b| b.is_ascii_hexdigit() || *b == b':' || *b == b'.')
        {
            return false;
        }
        (&v[..=end], &v[end + 1..])
    } else {
        match v.iter().rposition(|&b| b == b':') {
            Some(i) => (&v[..i], &v[i..]),
            None => (v, &v[v.len()..]),
        }
    };
    let reg_name = |b: &u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(b);
    let host_ok = !host.is_empty() && (host[0] == b'[' || host.iter().all(reg_name));
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => digits.len() <= 5 && digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    host_ok && port_ok
}

/// The request_filter phase: refuses the request, or normalises its path in place.
pub fn check(req: &mut Request) -> Result<(), ProxyError> {
    // RFC 9112 section 6.1: a request with both is a smuggling attempt or a broken client; a
    // server may reject it, and a proxy that forwards it risks desynchronising the upstream.
    // hyper drops Content-Length from such a head, so the mark comes from [`crate::framing`].
    if req.extensions().get::<Ambiguous>().is_some() {
        return Err(ProxyError::AmbiguousFraming);
    }
    check_host(req)?;
    // CONNECT asks for a tunnel to another host (a forward proxy's job) and TRACE reflects the
    // request, cookies included (cross-site tracing): nginx answers both 405, so does the gateway.
    if req.method() == Method::CONNECT || req.method() == Method::TRACE {
        return Err(ProxyError::MethodNotAllowed {
            allow: PROXIED_METHODS,
        });
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
