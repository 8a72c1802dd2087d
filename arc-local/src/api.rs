//! The Route 53 ARC cluster data plane, wire-compatible with the AWS SDKs and the AWS CLI.
//!
//! Protocol awsJson1_0: `POST` (to any path; real endpoint URLs end in `/v1`) with
//! `Content-Type: application/x-amz-json-1.0` and `X-Amz-Target: ToggleCustomerAPI.<Operation>`.
//! Operations: GetRoutingControlState, ListRoutingControls (paginated with an opaque NextToken),
//! UpdateRoutingControlState and UpdateRoutingControlStates (1 to 10 entries, applied together or
//! not at all), with the service model's field names and constraints.
//!
//! Requests must carry a SigV4 `Authorization` header (`AWS4-HMAC-SHA256 ...`), but the signature
//! is NOT verified: any credentials are accepted. arc-local is a local rehearsal tool; bind it to
//! loopback or a private network.
//!
//! Errors are the model's: HTTP status, the `x-amzn-errortype` header and a JSON body
//! `{"__type": "<Code>", "message": "..."}` with the shape's extra members (`reason` and `fields`
//! for ValidationException, `resourceId`/`resourceType` for ResourceNotFoundException and
//! ConflictException, `retryAfterSeconds` for ThrottlingException). Beyond the model, an unknown
//! target is a 400 `UnknownOperationException`, a body that is not a JSON object of the right
//! types a 400 `SerializationException`, and a wrong content type a 415
//! `UnsupportedMediaTypeException`, as Smithy servers answer them.
//!
//! Besides the data plane, every port answers `GET /health` (200, for the healthcheck) and
//! `GET /state` (a JSON summary of every app's controls and active region).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use recovery::ControlState;
use serde_json::{json, Map, Value};

use crate::state::{ApplyError, Store};
use crate::wire::{self, Checks};

/// The content type of requests and answers.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// The service's `X-Amz-Target` prefix.
pub const TARGET_PREFIX: &str = "ToggleCustomerAPI.";
/// Page size of ListRoutingControls when MaxResults is absent.
pub const DEFAULT_PAGE_SIZE: usize = 500;
/// Largest MaxResults accepted.
pub const MAX_PAGE_SIZE: i64 = 1000;
/// Most entries in one UpdateRoutingControlStates call.
pub const MAX_BATCH: usize = 10;

/// An answer an endpoint gives to every data-plane call, to rehearse endpoint failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// EndpointTemporarilyUnavailableException (503): the endpoint is in maintenance.
    Unavailable,
    /// ThrottlingException (429).
    Throttling,
    /// InternalServerException (500).
    Internal,
    /// AccessDeniedException (403).
    Denied,
}

impl std::str::FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Fault, String> {
        match s {
            "unavailable" => Ok(Fault::Unavailable),
            "throttling" => Ok(Fault::Throttling),
            "internal" => Ok(Fault::Internal),
            "denied" => Ok(Fault::Denied),
            other => Err(format!(
                "{other:?} is not a fault (unavailable, throttling, internal, denied)"
            )),
        }
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

fn json_response(status: StatusCode, body: &Value) -> Response {
    wire::json_response(status, CONTENT_TYPE, body)
}

/// What one endpoint (port) serves.
#[derive(Clone)]
struct Endpoint {
    store: Arc<Store>,
    region: Arc<str>,
    fault: Option<Fault>,
}

/// The router of one cluster endpoint: the data plane plus `/health` and `/state`.
pub fn router(store: Arc<Store>, endpoint_region: &str, fault: Option<Fault>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/state", get(state_summary))
        .fallback(data_plane)
        .with_state(Endpoint {
            store,
            region: endpoint_region.into(),
            fault,
        })
        .layer(axum::middleware::from_fn(bootstrap::access_log::log))
}

async fn health() -> &'static str {
    "ok\n"
}

/// Every app's controls and active region.
pub fn summary(store: &Store) -> Value {
    let topology = store.topology();
    let world = store.world();
    let states = &world.states;
    let apps: Map<String, Value> = topology
        .document()
        .apps
        .iter()
        .map(|(name, app)| {
            let controls: Map<String, Value> = app
                .regions
                .iter()
                .map(|(region, r)| {
                    (
                        region.clone(),
                        json!({
                            "routing_control_arn": r.routing_control_arn,
                            "routing_control_name": r.routing_control_name,
                            "state": states.get(&r.routing_control_arn).map(|s| s.as_str()),
                            "url": r.url,
                        }),
                    )
                })
                .collect();
            (
                name.clone(),
                json!({
                    "hostname": app.hostname,
                    "primary_region": app.primary_region,
                    "secondary_region": app.secondary_region,
                    "active_region": topology.active_region(name, states),
                    "controls": controls,
                }),
            )
        })
        .collect();
    // Routing controls created through the recovery-control-config API (no app, no DNS record).
    let created: Vec<Value> = world
        .catalog
        .live_controls()
        .into_iter()
        .filter(|c| c.control.app.is_none())
        .map(|c| {
            json!({
                "routing_control_arn": c.arn,
                "routing_control_name": c.control.name,
                "control_panel_arn": c.control.panel_arn,
                "control_panel_name": c.panel_name,
                "state": states.get(c.arn).map(|s| s.as_str()),
            })
        })
        .collect();
    json!({
        "topology": topology.source(),
        "state_file": store.file().path().display().to_string(),
        "apps": apps,
        "created_routing_controls": created,
    })
}

async fn state_summary(State(ep): State<Endpoint>) -> Response {
    let mut resp = axum::Json(summary(&ep.store)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The four operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Get,
    List,
    UpdateOne,
    UpdateMany,
}

async fn data_plane(
    State(ep): State<Endpoint>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST {
        return (
            StatusCode::NOT_FOUND,
            "not found: the data plane answers POST; GET /health and GET /state are the only other paths\n",
        )
            .into_response();
    }
    match handle(&ep, &headers, &body).await {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(e) => {
            tracing::debug!(endpoint = %ep.region, code = e.code(), message = %e, "request refused");
            e.into_response()
        }
    }
}

async fn handle(ep: &Endpoint, headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let op = match target.strip_prefix(TARGET_PREFIX) {
        Some("GetRoutingControlState") => Operation::Get,
        Some("ListRoutingControls") => Operation::List,
        Some("UpdateRoutingControlState") => Operation::UpdateOne,
        Some("UpdateRoutingControlStates") => Operation::UpdateMany,
        _ if target.is_empty() => {
            return Err(ApiError::UnknownOperation(
                "missing X-Amz-Target header: expected ToggleCustomerAPI.<Operation>".into(),
            ))
        }
        _ => {
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
    let signed = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
    if !signed {
        return Err(ApiError::AccessDenied(
            "the request is not signed: send a SigV4 Authorization header (AWS4-HMAC-SHA256; arc-local accepts any credentials and does not verify signatures)".into(),
        ));
    }
    if let Some(fault) = ep.fault {
        let msg = format!("cluster endpoint {} is configured to fail", ep.region);
        return Err(match fault {
            Fault::Unavailable => ApiError::EndpointUnavailable(format!(
                "{msg}: it is temporarily unavailable, try another cluster endpoint"
            )),
            Fault::Throttling => ApiError::Throttling(format!("{msg}: rate exceeded")),
            Fault::Internal => ApiError::Internal(format!("{msg}: internal error")),
            Fault::Denied => ApiError::AccessDenied(format!("{msg}: access denied")),
        });
    }
    let input = parse_object(body)?;
    match op {
        Operation::Get => get_state(ep, &input),
        Operation::List => list(ep, &input),
        Operation::UpdateOne => update_one(ep, &input).await,
        Operation::UpdateMany => update_many(ep, &input).await,
    }
}

/// The body as a JSON object; an empty body is `{}`.
fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    wire::parse_object(body).map_err(ApiError::Serialization)
}

fn wrong_type(path: &str, expected: &str, got: &Value) -> ApiError {
    ApiError::Serialization(wire::wrong_type(path, expected, got))
}

/// A member as a string; absent or null is `None`.
fn string_member<'a>(
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

fn list_member<'a>(
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
trait DataPlaneChecks {
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

fn control_not_found(arn: &str) -> ApiError {
    ApiError::NotFound {
        message: format!("Routing control {arn} not found"),
        resource_id: arn.to_owned(),
        resource_type: "RoutingControl",
    }
}

fn get_state(ep: &Endpoint, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let arn = string_member(input, "RoutingControlArn", "RoutingControlArn")?;
    let arn = checks.required("RoutingControlArn", arn);
    if let Some(arn) = arn {
        checks.arn("RoutingControlArn", arn);
    }
    checks.finish()?;
    let arn = arn.unwrap_or_default();
    let world = ep.store.world();
    let control = world
        .catalog
        .control(arn)
        .ok_or_else(|| control_not_found(arn))?;
    let states = &world.states;
    Ok(json!({
        "RoutingControlArn": control.arn,
        "RoutingControlName": control.control.name,
        "RoutingControlState": states[arn].as_str(),
    }))
}

fn list(ep: &Endpoint, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let panel = string_member(input, "ControlPanelArn", "ControlPanelArn")?;
    if let Some(p) = panel {
        checks.arn("ControlPanelArn", p);
    }
    let token = string_member(input, "NextToken", "NextToken")?;
    if let Some(t) = token {
        if t.is_empty() || t.len() > 8096 {
            checks.fail(
                "NextToken",
                Some(t),
                "Member must have length between 1 and 8096",
            );
        }
    }
    let max = match input.get("MaxResults") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(n) => Some(n),
            None => {
                return Err(ApiError::Serialization(
                    "MaxResults must be an integer".into(),
                ))
            }
        },
        Some(other) => return Err(wrong_type("MaxResults", "an integer", other)),
    };
    if let Some(m) = max {
        if !(1..=MAX_PAGE_SIZE).contains(&m) {
            checks.fail(
                "MaxResults",
                Some(&m.to_string()),
                &format!("Member must be between 1 and {MAX_PAGE_SIZE}"),
            );
        }
    }
    checks.finish()?;

    let world = ep.store.world();
    let catalog = &world.catalog;
    if let Some(p) = panel {
        if !catalog.has_panel(p) {
            return Err(ApiError::NotFound {
                message: format!("Control panel {p} not found"),
                resource_id: p.to_owned(),
                resource_type: "ControlPanel",
            });
        }
    }
    let matching: Vec<_> = catalog
        .live_controls()
        .into_iter()
        .filter(|c| panel.is_none_or(|p| c.control.panel_arn == p))
        .collect();
    let start = match token {
        None => 0,
        Some(t) => decode_token(t, panel.unwrap_or(""))
            .filter(|&offset| offset > 0 && offset < matching.len())
            .ok_or_else(|| ApiError::Validation {
                message: "NextToken is not valid: pass the NextToken of the previous ListRoutingControls answer, with the same ControlPanelArn".into(),
                reason: "fieldValidationFailed",
                fields: vec![(
                    "NextToken".into(),
                    "not a token this cluster issued for this request".into(),
                )],
            })?,
    };
    let size = max.map_or(DEFAULT_PAGE_SIZE, |m| m as usize);
    let end = (start + size).min(matching.len());
    let states = &world.states;
    let page: Vec<Value> = matching[start..end]
        .iter()
        .map(|c| {
            json!({
                "ControlPanelArn": c.control.panel_arn,
                "ControlPanelName": c.panel_name,
                "RoutingControlArn": c.arn,
                "RoutingControlName": c.control.name,
                "RoutingControlState": states[c.arn].as_str(),
                "Owner": c.control.owner,
            })
        })
        .collect();
    let mut out = json!({ "RoutingControls": page });
    if end < matching.len() {
        out["NextToken"] = Value::String(encode_token(end, panel.unwrap_or("")));
    }
    Ok(out)
}

/// An opaque page token: the offset and the control panel filter it was issued for.
fn encode_token(offset: usize, panel: &str) -> String {
    wire::token(&format!("{offset} {panel}"))
}

/// The offset a token holds, when it is ours and was issued for the same filter.
fn decode_token(token: &str, panel: &str) -> Option<usize> {
    let text = wire::token_text(token)?;
    let (offset, filter) = text.split_once(' ')?;
    (filter == panel).then_some(offset.parse().ok()?)
}

/// `SafetyRulesToOverride`: a list of ARNs (rule names are accepted too).
fn overrides(input: &Map<String, Value>, checks: &mut Checks) -> Result<Vec<String>, ApiError> {
    let Some(list) = list_member(input, "SafetyRulesToOverride")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let path = format!("SafetyRulesToOverride[{i}]");
        match v {
            Value::String(s) => {
                checks.arn(&path, s);
                out.push(s.clone());
            }
            other => return Err(wrong_type(&path, "a string", other)),
        }
    }
    Ok(out)
}

/// One `{RoutingControlArn, RoutingControlState}` pair, checked.
fn entry(
    obj: &Map<String, Value>,
    prefix: &str,
    checks: &mut Checks,
) -> Result<Option<(String, ControlState)>, ApiError> {
    let arn_field = format!("{prefix}RoutingControlArn");
    let state_field = format!("{prefix}RoutingControlState");
    let arn = string_member(obj, "RoutingControlArn", &arn_field)?;
    let state = string_member(obj, "RoutingControlState", &state_field)?;
    let arn = checks
        .required(&arn_field, arn)
        .filter(|a| checks.arn(&arn_field, a));
    let state = checks
        .required(&state_field, state)
        .and_then(|s| checks.state(&state_field, s));
    Ok(arn.zip(state).map(|(a, s)| (a.to_owned(), s)))
}

async fn update_one(ep: &Endpoint, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let pair = entry(input, "", &mut checks)?;
    let overrides = overrides(input, &mut checks)?;
    checks.finish()?;
    let pair = pair.expect("checked above");
    apply(ep, &[pair], &overrides).await
}

async fn update_many(ep: &Endpoint, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let list = list_member(input, "UpdateRoutingControlStateEntries")?;
    let mut batch = Vec::new();
    match list {
        None => {
            checks.required("UpdateRoutingControlStateEntries", None);
        }
        Some(list) if list.is_empty() || list.len() > MAX_BATCH => {
            checks.fail(
                "UpdateRoutingControlStateEntries",
                Some(&format!("{} entries", list.len())),
                &format!("Member must have between 1 and {MAX_BATCH} entries"),
            );
        }
        Some(list) => {
            for (i, v) in list.iter().enumerate() {
                let prefix = format!("UpdateRoutingControlStateEntries[{i}].");
                let Value::Object(obj) = v else {
                    return Err(wrong_type(
                        &format!("UpdateRoutingControlStateEntries[{i}]"),
                        "an object",
                        v,
                    ));
                };
                if let Some(pair) = entry(obj, &prefix, &mut checks)? {
                    batch.push(pair);
                }
            }
        }
    }
    let overrides = overrides(input, &mut checks)?;
    checks.finish()?;
    for (i, (arn, _)) in batch.iter().enumerate() {
        if batch[..i].iter().any(|(a, _)| a == arn) {
            return Err(ApiError::Validation {
                message: format!(
                    "routing control {arn} appears more than once in UpdateRoutingControlStateEntries"
                ),
                reason: "fieldValidationFailed",
                fields: vec![(
                    format!("UpdateRoutingControlStateEntries[{i}].RoutingControlArn"),
                    "each routing control may appear once".into(),
                )],
            });
        }
    }
    apply(ep, &batch, &overrides).await
}

async fn apply(
    ep: &Endpoint,
    batch: &[(String, ControlState)],
    overrides: &[String],
) -> Result<Value, ApiError> {
    if let Some((arn, _)) = batch
        .iter()
        .find(|(arn, _)| ep.store.world().catalog.control(arn).is_none())
    {
        return Err(control_not_found(arn));
    }
    match ep.store.apply(batch, overrides).await {
        Ok(_) => Ok(json!({})),
        Err(ApplyError::NotFound(arn)) => Err(control_not_found(&arn)),
        Err(ApplyError::Blocked(violations)) => {
            let first = &violations[0];
            Err(ApiError::Conflict {
                message: violations
                    .iter()
                    .map(|v| v.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                resource_id: first.rule_arn.clone().unwrap_or(first.rule_name.clone()),
                resource_type: "SafetyRule",
            })
        }
        Err(ApplyError::Persist(e)) => {
            tracing::error!(error = %e, "cannot save the routing control states; the change was refused");
            Err(ApiError::Internal(format!(
                "the new state could not be saved, so nothing changed: {e}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_bind_to_the_filter() {
        let t = encode_token(100, "arn:aws:p");
        assert_eq!(decode_token(&t, "arn:aws:p"), Some(100));
        assert_eq!(decode_token(&t, ""), None);
        assert_eq!(decode_token("zz", ""), None);
        assert_eq!(decode_token("abc", ""), None);
        assert_eq!(decode_token(&encode_token(3, ""), ""), Some(3));
        assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
    }

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
}
