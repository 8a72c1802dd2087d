//! What can go wrong on the proxy path, and the answer each failure gets.
//!
//! Upstream faults are 502 (refused, reset, malformed) or 504 (timeouts), never 400; client faults
//! are 4xx. Every error answer is a small JSON body that carries the request id, so a user's report
//! can be matched to the gateway's log line.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};

use crate::path::PathError;

/// A request the gateway could not complete.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("no route for this path")]
    NoRoute,
    #[error(transparent)]
    BadPath(#[from] PathError),
    #[error("a request must not carry both Content-Length and Transfer-Encoding")]
    AmbiguousFraming,
    #[error("malformed request: {0}")]
    MalformedRequest(&'static str),
    #[error("the request head is larger than the limit (size or number of header fields)")]
    HeadersTooLarge,
    #[error("invalid Host: {0}")]
    BadHost(&'static str),
    #[error("this method is not allowed here")]
    MethodNotAllowed { allow: &'static str },
    #[error("the request body is larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: u64 },
    #[error("the request body could not be read from the client")]
    ClientBody,
    #[error("cannot connect to the upstream")]
    Connect,
    #[error("connecting to the upstream timed out")]
    ConnectTimeout,
    #[error("the upstream sent no response head within {0:?}")]
    ResponseTimeout(Duration),
    #[error("the upstream closed or reset the connection")]
    UpstreamClosed,
    #[error("the upstream sent a malformed response")]
    UpstreamMalformed,
    #[error("the upstream request failed")]
    Upstream,
    #[error("the upstream request's URI could not be built")]
    UpstreamUri,
    /// A policy refused the request's credentials; the code says which way (API Gateway's
    /// `{"message": "Forbidden"}`, with our code and request id beside it).
    #[error("Forbidden")]
    Forbidden(&'static str),
    #[error("Too Many Requests: over the rate limit, retry after {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("the quota is exhausted; it resets at {resets_at}")]
    QuotaExhausted { retry_after: u64, resets_at: String },
}

impl ProxyError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NoRoute => StatusCode::NOT_FOUND,
            Self::BadPath(_)
            | Self::AmbiguousFraming
            | Self::ClientBody
            | Self::MalformedRequest(_)
            | Self::BadHost(_) => StatusCode::BAD_REQUEST,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::ConnectTimeout | Self::ResponseTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Connect | Self::UpstreamClosed | Self::UpstreamMalformed | Self::Upstream => {
                StatusCode::BAD_GATEWAY
            }
            Self::UpstreamUri => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::RateLimited { .. } | Self::QuotaExhausted { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// A stable, machine-readable name for the error (JSON `error` field and metric label).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoRoute => "not_found",
            Self::BadPath(_) => "bad_path",
            Self::AmbiguousFraming => "ambiguous_framing",
            Self::MalformedRequest(_) => "bad_request",
            Self::HeadersTooLarge => "headers_too_large",
            Self::BadHost(_) => "bad_host",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::ClientBody => "client_body",
            Self::Connect => "upstream_connect",
            Self::ConnectTimeout => "upstream_connect_timeout",
            Self::ResponseTimeout(_) => "upstream_timeout",
            Self::UpstreamClosed => "upstream_closed",
            Self::UpstreamMalformed => "upstream_malformed",
            Self::Upstream => "upstream_error",
            Self::UpstreamUri => "upstream_uri",
            Self::Forbidden(code) => code,
            Self::RateLimited { .. } => "rate_limited",
            Self::QuotaExhausted { .. } => "quota_exhausted",
        }
    }

    /// Whether the fault lies with the upstream (counted as an upstream error).
    pub fn is_upstream(&self) -> bool {
        matches!(
            self.status(),
            StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT
        )
    }

    /// Whether a route's policy refused the request (counted per route and code).
    pub fn is_policy(&self) -> bool {
        matches!(
            self,
            Self::Forbidden(_) | Self::RateLimited { .. } | Self::QuotaExhausted { .. }
        )
    }

    /// Classifies a failed upstream exchange by walking the error's source chain.
    pub fn from_client_error(err: &crate::client::ClientError, body_limit: u64) -> ProxyError {
        if crate::body::is_length_limit(err) {
            return ProxyError::BodyTooLarge { limit: body_limit };
        }
        let mut timed_out = false;
        let mut closed = false;
        let mut malformed = false;
        let mut client_body = false;
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = cur {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                use std::io::ErrorKind::*;
                match io.kind() {
                    TimedOut => timed_out = true,
                    ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                        closed = true
                    }
                    _ => {}
                }
            }
            if let Some(h) = e.downcast_ref::<hyper::Error>() {
                if h.is_parse() || h.is_parse_status() || h.is_parse_too_large() {
                    malformed = true;
                } else if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                    closed = true;
                } else if h.is_body_write_aborted() || h.is_user() {
                    client_body = true;
                }
            }
            cur = e.source();
        }
        if err.is_connect() {
            if timed_out {
                ProxyError::ConnectTimeout
            } else {
                ProxyError::Connect
            }
        } else if malformed {
            ProxyError::UpstreamMalformed
        } else if client_body {
            ProxyError::ClientBody
        } else if closed {
            ProxyError::UpstreamClosed
        } else {
            ProxyError::Upstream
        }
    }

    /// The JSON body of this error's answer.
    fn body(&self, request_id: &str) -> String {
        serde_json::json!({
            "error": self.code(),
            "message": self.to_string(),
            "request_id": request_id,
        })
        .to_string()
    }

    /// The JSON answer for this error.
    pub fn to_response(&self, request_id: &HeaderValue) -> Response {
        let id = request_id.to_str().unwrap_or("");
        let mut resp = (self.status(), self.body(id)).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        match self {
            Self::MethodNotAllowed { allow } => {
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            // RFC 6585 section 4: a 429 may say how long to wait; RFC 9110 section 10.2.3:
            // as delay-seconds.
            Self::RateLimited { retry_after } | Self::QuotaExhausted { retry_after, .. } => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            _ => {}
        }
        resp
    }

    /// The same answer as raw HTTP/1.1 bytes, closing the connection: for a request head that
    /// never reached hyper ([`crate::framing`]).
    pub fn raw_response(&self, request_id: &str, region: &HeaderValue) -> Vec<u8> {
        let body = self.body(request_id);
        let status = self.status();
        let mut out = Vec::with_capacity(256 + body.len());
        out.extend_from_slice(
            format!(
                "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nx-request-id: {request_id}\r\n{}: ",
                status.as_u16(),
                status.canonical_reason().unwrap_or(""),
                body.len(),
                bootstrap::GATEWAY_REGION_HEADER,
            )
            .as_bytes(),
        );
        out.extend_from_slice(region.as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(body.as_bytes());
        out
    }
}
