//! The `x-request-id` of every request: the caller's when it is acceptable, otherwise a new UUID;
//! set on the request (handlers and the access line see it) and returned on the response.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderName, HeaderValue};

/// The request-id header.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest caller-supplied request id that is kept (longer ones are replaced).
pub const MAX_LEN: usize = 128;

/// A fresh request id: a random (v4) UUID.
pub fn generate() -> HeaderValue {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
    HeaderValue::from_str(text).expect("a UUID is a header value")
}

/// Whether a caller's request id can be kept: 1 to [`MAX_LEN`] bytes of visible ASCII (no spaces,
/// controls or obs-text), so it is logged, returned and written into JSON exactly as it came.
pub fn acceptable(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty() && b.len() <= MAX_LEN && b.iter().all(|c| (0x21..=0x7e).contains(c))
}

/// The request's id: the caller's `x-request-id` when acceptable, else a new one (logging that a
/// caller's id was replaced), set on the request's fields either way.
pub fn ensure(headers: &mut http::HeaderMap) -> HeaderValue {
    let id = match headers.get(&X_REQUEST_ID) {
        Some(v) if acceptable(v) => v.clone(),
        other => {
            let new = generate();
            if let Some(old) = other {
                tracing::info!(
                    request_id = new.to_str().unwrap_or(""),
                    client_id_bytes = old.len(),
                    "x-request-id is not acceptable (over {MAX_LEN} bytes or not visible ASCII); replaced"
                );
            }
            new
        }
    };
    headers.insert(X_REQUEST_ID.clone(), id.clone());
    id
}

/// axum middleware: [`ensure`], then returns the id on the response.
pub async fn layer(mut req: Request, next: Next) -> Response {
    let id = ensure(req.headers_mut());
    let mut resp = next.run(req).await;
    resp.headers_mut().insert(X_REQUEST_ID.clone(), id);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acceptable_ids() {
        assert!(acceptable(&HeaderValue::from_static("client-chosen-42")));
        assert!(acceptable(&generate()));
        assert!(acceptable(
            &HeaderValue::from_str(&"a".repeat(MAX_LEN)).unwrap()
        ));
        assert!(!acceptable(
            &HeaderValue::from_str(&"a".repeat(MAX_LEN + 1)).unwrap()
        ));
        assert!(!acceptable(&HeaderValue::from_static("has space")));
        assert!(!acceptable(&HeaderValue::from_static("")));
        assert!(!acceptable(
            &HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()
        ));
    }
}
