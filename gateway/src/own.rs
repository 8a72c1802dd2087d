//! The gateway's own endpoints: `GET /` (the original external API's answer, unless a route
//! catches `/`), `GET /health` (liveness) and `GET /ready` (readiness, with how each upstream
//! follows failovers). HEAD is answered like GET (hyper sends no body); other methods get 405.

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{header, HeaderValue, Method, StatusCode};

use crate::error::ProxyError;
use crate::gateway::Gateway;

/// One of the gateway's own endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Own {
    Identity,
    Health,
    Ready,
}

impl Own {
    /// The endpoint at a normalised path, if it is one. `/` is the gateway's only while no
    /// route's prefix is `/`.
    pub fn at(gw: &Gateway, path: &str) -> Option<Own> {
        match path {
            "/health" => Some(Own::Health),
            "/ready" => Some(Own::Ready),
            "/" if !gw.catch_all => Some(Own::Identity),
            _ => None,
        }
    }

    /// The answer.
    pub fn answer(self, gw: &Gateway, method: &Method) -> Result<Response, ProxyError> {
        if method != Method::GET && method != Method::HEAD {
            return Err(ProxyError::MethodNotAllowed { allow: "GET, HEAD" });
        }
        Ok(match self {
            Own::Identity => json(StatusCode::OK, gw.identity.clone()),
            Own::Health => json(
                StatusCode::OK,
                Bytes::from_static(bootstrap::build_info::health_body().as_bytes()),
            ),
            Own::Ready => ready(gw),
        })
    }
}

fn json(status: StatusCode, body: Bytes) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// `GET /ready`: 200 while the gateway accepts new work, 503 while it drains for shutdown. The
/// body shows how each upstream follows failovers, its regional endpoints and which of them are
/// ejected. An unreachable control plane or DNS does not
/// make the gateway unready: it keeps serving the last known region (static stability), and says so.
fn ready(gw: &Gateway) -> Response {
    let upstreams: serde_json::Map<String, serde_json::Value> = gw
        .routes
        .iter()
        .map(|r| {
            let s = r.upstream.status();
            let mut v = serde_json::to_value(&s).unwrap_or_default();
            if let serde_json::Value::Object(m) = &mut v {
                if let Some(t) = s.last_success {
                    m.insert(
                        "last_success_ms_ago".into(),
                        (t.elapsed().as_millis() as u64).into(),
                    );
                }
                let regions: Vec<&str> = r.upstream.regions.iter().map(|r| &*r.name).collect();
                m.insert("regions".into(), regions.into());
                let ejected: Vec<String> =
                    r.upstream.ejected().iter().map(|n| n.to_string()).collect();
                m.insert("ejected".into(), ejected.into());
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
    json(status, Bytes::from(body.to_string()))
}
