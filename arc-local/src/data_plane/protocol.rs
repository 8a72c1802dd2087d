//! The data plane's wire format: awsJson1_0 requests (`X-Amz-Target`, content type, SigV4
//! `Authorization` header, JSON object bodies), the operations, the service model's errors and
//! their answers, and the constraint checks every operation shares.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use recovery::ControlState;
use serde_json::{json, Map, Value};

use crate::wire::{self, Checks};

/// The content type of requests and answers.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// The service's `X-Amz-Target` prefix.
pub const TARGET_PREFIX: &str = "ToggleCustomerAPI.";

/// The four data-plane operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    GetRoutingControlState,
    ListRoutingControls,
    UpdateRoutingControlState,
    UpdateRoutingControlStates,
}

impl Operation {
    /// Every operation, in the model's order.
    pub const ALL: [Operation; 4] = [
        Operation::GetRoutingControlState,
        Operation::ListRoutingControls,
        Operation::UpdateRoutingControlState,
        Operation::UpdateRoutingControlStates,
    ];

    /// The operation's name, as in `X-Amz-Target: ToggleCustomerAPI.<name>`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::GetRoutingControlState => "GetRoutingControlState",
            Operation::ListRoutingControls => "ListRoutingControls",
            Operation::UpdateRoutingControlState => "UpdateRoutingControlState",
            Operation::UpdateRoutingControlStates => "UpdateRoutingControlStates",
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A data-plane error, as the service model describes it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Validation {
        message: String,
        reason: &'static str,
        fields: Vec<(String, String)>,
    },
    #[error("{message}")]
    NotFound {
        message: String,
        resource_id: String,
        resource_type: &'static str,
    },
    #[error("{message}")]
    Conflict {
        message: String,
        resource_id: String,
        resource_type: &'static str,
    },
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    Throttling(String),
    #[error("{0}")]
    Internal(String),
    #[error("{0}")]
    EndpointUnavailable(String),
    #[error("{0}")]
    UnknownOperation(String),
    #[error("{0}")]
    Serialization(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
}

impl ApiError {
    /// The error code (`__type` and `x-amzn-errortype`).
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation { .. } => "ValidationException",
            ApiError::NotFound { .. } => "ResourceNotFoundException",
            ApiError::Conflict { .. } => "ConflictException",
            ApiError::AccessDenied(_) => "AccessDeniedException",
            ApiError::Throttling(_) => "ThrottlingException",
            ApiError::Internal(_) => "InternalServerException",
            ApiError::EndpointUnavailable(_) => "EndpointTemporarilyUnavailableException",
            ApiError::UnknownOperation(_) => "UnknownOperationException",
            ApiError::Serialization(_) => "SerializationException",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaTypeException",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation { .. }
            | ApiError::UnknownOperation(_)
            | ApiError::Serialization(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::AccessDenied(_) => StatusCode::FORBIDDEN,
            ApiError::Throttling(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::EndpointUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    /// A ValidationException about one field.
    pub fn invalid_field(message: String, field: String, constraint: &str) -> ApiError {
        ApiError::Validation {
            message,
            reason: "fieldValidationFailed",
            fields: vec![(field, constraint.to_owned())],
        }
    }

    fn body(&self) -> Value {
        let mut body = json!({"__type": self.code(), "message": self.to_string()});
        let extra = match self {
            ApiError::Validation { reason, fields, .. } => {
                let mut m = json!({"reason": reason});
                if !fields.is_empty() {
                    m["fields"] = fields
                        .iter()
                        .map(|(name, message)| json!({"name": name, "message": message}))
                        .collect();
                }
                m
            }
            ApiError::NotFound {
                resource_id,
                resource_type,
                ..
            }
            | ApiError::Conflict {
                resource_id,
                resource_type,
                ..
            } => json!({"resourceId": resource_id, "resourceType": resource_type}),
            ApiError::Throttling(_) => json!({"retryAfterSeconds": 1}),
            _ => json!({}),
        };
        if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
            b.extend(extra);
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        wire::error_response(self.status(), self.code(), CONTENT_TYPE, &self.body())
    }
}

/// A successful answer.
pub fn json_response(body: &Value) -> Response {
    wire::json_response(StatusCode::OK, CONTENT_TYPE, body)
}

/// The operation a request asks for, once its target, content type and signature are acceptable.
pub fn operation(headers: &HeaderMap) -> Result<Operation, ApiError> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let found = target
        .strip_prefix(TARGET_PREFIX)
        .and_then(|name| Operation::ALL.into_iter().find(|op| op.name() == name));
    let op = match found {
        Some(op) => op,
        None if target.is_empty() => {
            return Err(ApiError::UnknownOperation(
                "missing X-Amz-Target header: expected ToggleCustomerAPI.<Operation>".into(),
            ))
        }
        None => {
            return Err(ApiError::UnknownOperation(format!(
                "unknown operation {target:?}: expected ToggleCustomerAPI.GetRoutingControlState, ListRoutingControls, UpdateRoutingControlState or UpdateRoutingControlStates"
            )))
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case(CONTENT_TYPE) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type {content_type:?} is not supported: send {CONTENT_TYPE}"
        )));
    }
    if !wire::is_signed(headers) {
        return Err(ApiError::AccessDenied(wire::UNSIGNED.into()));
    }
    Ok(op)
}

/// The body as a JSON object; an empty body is `{}`.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    wire::parse_object(body).map_err(|e| ApiError::Serialization(e.to_string()))
}

pub fn wrong_type(path: &str, expected: &str, got: &Value) -> ApiError {
    ApiError::Serialization(wire::wrong_type(path, expected, got))
}

/// A member as a string; absent or null is `None`.
pub fn string_member<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<Option<&'a str>, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(path, "a string", other)),
    }
}

pub fn list_member<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a Vec<Value>>, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(other) => Err(wrong_type(name, "a list", other)),
    }
}

/// The data plane's constraints, on the shared collector of violations.
pub trait DataPlaneChecks {
    /// The model's `Arn` shape: 1 to 255 characters of `[A-Za-z0-9:./_-]`.
    fn arn(&mut self, field: &str, value: &str) -> bool;
    fn state(&mut self, field: &str, value: &str) -> Option<ControlState>;
    /// One ValidationException (`reason`, `fields`) for everything that failed.
    fn finish(self) -> Result<(), ApiError>;
}

impl DataPlaneChecks for Checks {
    fn arn(&mut self, field: &str, value: &str) -> bool {
        let ok = (1..=255).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":./_-".contains(&b));
        if !ok {
            self.fail(
                field,
                Some(value),
                "Member must have length between 1 and 255 and match pattern ^[A-Za-z0-9:.\\/_-]*$",
            );
        }
        ok
    }

    fn state(&mut self, field: &str, value: &str) -> Option<ControlState> {
        let parsed = value.parse().ok();
        if parsed.is_none() {
            self.fail(
                field,
                Some(value),
                "Member must satisfy enum value set: [On, Off]",
            );
        }
        parsed
    }

    fn finish(self) -> Result<(), ApiError> {
        match self.outcome() {
            None => Ok(()),
            Some((message, fields)) => Err(ApiError::Validation {
                message,
                reason: "fieldValidationFailed",
                fields,
            }),
        }
    }
}

pub fn control_not_found(arn: &str) -> ApiError {
    ApiError::NotFound {
        message: format!("Routing control {arn} not found"),
        resource_id: arn.to_owned(),
        resource_type: "RoutingControl",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages_name_fields() {
        let mut c = Checks::default();
        c.state("RoutingControlState", "on");
        c.required("RoutingControlArn", None);
        let e = c.finish().unwrap_err();
        assert_eq!(e.code(), "ValidationException");
        let body = e.body();
        assert_eq!(body["reason"], "fieldValidationFailed");
        assert_eq!(body["fields"][0]["name"], "RoutingControlState");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("2 validation errors detected: Value 'on' at 'RoutingControlState'"),
            "{body}"
        );
    }

    #[test]
    fn error_bodies() {
        let e = ApiError::NotFound {
            message: "m".into(),
            resource_id: "arn:x".into(),
            resource_type: "RoutingControl",
        };
        assert_eq!(
            e.body(),
            json!({"__type": "ResourceNotFoundException", "message": "m", "resourceId": "arn:x", "resourceType": "RoutingControl"})
        );
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            ApiError::Throttling("t".into()).body()["retryAfterSeconds"],
            1
        );
    }

    #[test]
    fn operations_by_target() {
        let headers = |target: &str| {
            let mut h = HeaderMap::new();
            h.insert("x-amz-target", target.parse().unwrap());
            h.insert(header::CONTENT_TYPE, CONTENT_TYPE.parse().unwrap());
            h.insert(
                header::AUTHORIZATION,
                "AWS4-HMAC-SHA256 Credential=x".parse().unwrap(),
            );
            h
        };
        for op in Operation::ALL {
            let target = format!("{TARGET_PREFIX}{op}");
            assert_eq!(operation(&headers(&target)), Ok(op));
        }
        assert_eq!(
            operation(&headers("ToggleCustomerAPI.Nope"))
                .unwrap_err()
                .code(),
            "UnknownOperationException"
        );
        let mut unsigned = headers("ToggleCustomerAPI.ListRoutingControls");
        unsigned.remove(header::AUTHORIZATION);
        assert_eq!(
            operation(&unsigned).unwrap_err().code(),
            "AccessDeniedException"
        );
    }
}
