//! What the data plane (awsJson1_0) and the config API (REST-JSON) share on the wire: the SigV4
//! header check, request bodies, constraint checks reported as one ValidationException, and
//! opaque page tokens.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// The prefix of every page token arc-local issues.
pub const TOKEN_TAG: &str = "arc-local/v1";

/// Why an unsigned request is refused (AccessDeniedException), on both APIs.
pub const UNSIGNED: &str = "the request is not signed: send a SigV4 Authorization header (AWS4-HMAC-SHA256; arc-local accepts any credentials and does not verify signatures)";

/// Whether the request carries a SigV4 `Authorization` header. The signature is not verified.
pub fn is_signed(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "))
}

/// A request body that is not a JSON object (a SerializationException).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the request body must be a JSON object, not {0}")]
    NotAnObject(&'static str),
    #[error("the request body is not valid JSON: {0}")]
    NotJson(String),
}

/// A JSON answer with a request id (`x-amzn-requestid`), as AWS services give.
pub fn json_response(status: StatusCode, content_type: &'static str, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    resp
}

/// An error answer: `body` (with `__type` and `message`) and the code in `x-amzn-errortype`.
pub fn error_response(
    status: StatusCode,
    code: &'static str,
    content_type: &'static str,
    body: &Value,
) -> Response {
    let mut resp = json_response(status, content_type, body);
    resp.headers_mut()
        .insert("x-amzn-errortype", HeaderValue::from_static(code));
    resp
}

/// "a string", "an object", ...: a JSON value's kind, for SerializationException messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The body as a JSON object; an empty body is `{}`.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(BodyError::NotAnObject(kind(&other))),
        Err(e) => Err(BodyError::NotJson(e.to_string())),
    }
}

/// `<what> must be <expected>, not <kind>`.
pub fn wrong_type(what: &str, expected: &str, got: &Value) -> String {
    format!("{what} must be {expected}, not {}", kind(got))
}

/// An opaque page token: the hex of `arc-local/v1 <text>`.
pub fn token(text: &str) -> String {
    format!("{TOKEN_TAG} {text}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The text of a token [`token`] made; `None` for anything else.
pub fn token_text(token: &str) -> Option<String> {
    if !token.len().is_multiple_of(2) || !token.is_ascii() {
        return None;
    }
    let bytes: Vec<u8> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&token[i..i + 2], 16).ok())
        .collect::<Option<_>>()?;
    let text = String::from_utf8(bytes).ok()?;
    Some(text.strip_prefix(TOKEN_TAG)?.strip_prefix(' ')?.to_owned())
}

/// Constraint violations of one request, reported together as one ValidationException.
#[derive(Default)]
pub struct Checks {
    /// (field, value as quoted in the message, constraint).
    errors: Vec<(String, String, String)>,
}

impl Checks {
    pub fn fail(&mut self, field: &str, value: Option<&str>, constraint: &str) {
        let value = value.map_or_else(|| "null".to_owned(), |v| format!("'{v}'"));
        self.errors
            .push((field.to_owned(), value, constraint.to_owned()));
    }

    /// `value`, noting a violation when it is absent.
    pub fn required<'a>(&mut self, field: &str, value: Option<&'a str>) -> Option<&'a str> {
        if value.is_none() {
            self.fail(field, None, "Member must not be null");
        }
        value
    }

    /// `None` when nothing failed, else the message ("2 validation errors detected: Value ... at
    /// '<field>' failed to satisfy constraint: ...; ...") and each field with its constraint.
    pub fn outcome(self) -> Option<(String, Vec<(String, String)>)> {
        if self.errors.is_empty() {
            return None;
        }
        let n = self.errors.len();
        let detail: Vec<String> = self
            .errors
            .iter()
            .map(|(field, value, constraint)| {
                format!("Value {value} at '{field}' failed to satisfy constraint: {constraint}")
            })
            .collect();
        let message = format!(
            "{n} validation error{} detected: {}",
            if n == 1 { "" } else { "s" },
            detail.join("; ")
        );
        let fields = self
            .errors
            .into_iter()
            .map(|(field, _, constraint)| (field, constraint))
            .collect();
        Some((message, fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let t = token("7 arn:aws:p");
        assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(token_text(&t).as_deref(), Some("7 arn:aws:p"));
        assert_eq!(token_text("zz"), None);
        assert_eq!(token_text("abc"), None);
        assert_eq!(token_text("6869"), None);
    }
}
