//! Every request the service refuses gets the same small JSON answer, like the gateway's:
//! `{"error":"not_found","message":"no route for /nope","request_id":"..."}`.
//!
//! Handlers (and the 404/405 fallbacks) return a [`Refusal`]; it travels as a response extension
//! to [`render`], the layer that knows the request id, which writes the body. So the id in the body
//! is always the one in the `x-request-id` response header and in the access line.
//!
//! | `error` | status | when |
//! |---|---|---|
//! | `not_found` | 404 | no route for the path, or no such item |
//! | `method_not_allowed` | 405 | the path exists, the method does not (the `allow` header lists those that do) |
//! | `body_too_large` | 413 | `PUT /items/{id}` with a body over `Limits::max_item_bytes` |
//! | `unsupported_media_type` | 415 | a JSON body without `content-type: application/json` |
//! | `bad_json` | 400, 422 | a body that is not JSON, or JSON of the wrong shape |
//! | `bad_body` | 400 | a body that could not be read |
//! | `bad_query` | 400 | a query string that does not parse, or values over the limits |
//! | `bad_path` | 400 | a path parameter that is not valid (item id, status code) |
//! | `bad_upgrade` | 400, 405, 426 | `GET /ws` that is not a WebSocket handshake |
//! | `store_full` | 507 | the item store is at `Limits::max_items` |

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// A request the service will not serve: rendered as JSON by [`render`].
#[derive(Clone, Debug)]
pub struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn bad_path(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_path", message)
    }

    pub fn bad_query(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_query", message)
    }

    /// A JSON body the extractor refused; `limit` is the body limit in force, for the 413 message.
    pub fn json(rejection: JsonRejection, limit: usize) -> Self {
        let status = rejection.status();
        match rejection {
            JsonRejection::JsonSyntaxError(_) | JsonRejection::JsonDataError(_) => {
                Self::new(status, "bad_json", rejection.body_text())
            }
            JsonRejection::MissingJsonContentType(_) => Self::new(
                status,
                "unsupported_media_type",
                "the body must be JSON, with content-type: application/json",
            ),
            _ if status == StatusCode::PAYLOAD_TOO_LARGE => Self::new(
                status,
                "body_too_large",
                format!("the request body is larger than the limit of {limit} bytes"),
            ),
            _ => Self::new(status, "bad_body", rejection.body_text()),
        }
    }

    /// A path parameter that did not parse.
    pub fn path(rejection: PathRejection) -> Self {
        Self::new(rejection.status(), "bad_path", rejection.body_text())
    }

    /// A query string that did not parse; `expected` says what the route takes.
    pub fn query(rejection: QueryRejection, expected: &str) -> Self {
        Self::bad_query(format!(
            "query must be {expected} ({})",
            rejection.body_text()
        ))
    }

    /// `GET /ws` that is not a WebSocket handshake.
    pub fn upgrade(rejection: WebSocketUpgradeRejection) -> Self {
        Self::new(rejection.status(), "bad_upgrade", rejection.body_text())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut resp = self.status.into_response();
        resp.extensions_mut().insert(self);
        resp
    }
}

/// Fallback for paths no route claims.
pub async fn no_route(uri: Uri) -> Refusal {
    Refusal::not_found(format!("no route for {}", uri.path()))
}

/// Fallback for a known path with a method it does not take (axum adds the `allow` header).
pub async fn method_not_allowed(method: Method, uri: Uri) -> Refusal {
    Refusal::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// Layer: writes the JSON body of a [`Refusal`], with the request's id (set by the request-id
/// layer outside this one).
pub async fn render(req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get(&bootstrap::request_id::X_REQUEST_ID)
        .cloned();
    let mut resp = next.run(req).await;
    let Some(refusal) = resp.extensions_mut().remove::<Refusal>() else {
        return resp;
    };
    let body = serde_json::json!({
        "error": refusal.code,
        "message": refusal.message,
        "request_id": request_id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or(""),
    });
    let headers = resp.headers_mut();
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    *resp.body_mut() = Body::from(body.to_string());
    resp
}
