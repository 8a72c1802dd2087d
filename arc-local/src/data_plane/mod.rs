//! The Route 53 ARC cluster data plane, wire-compatible with the AWS SDKs and the AWS CLI: one
//! router per cluster endpoint (port).
//!
//! Protocol awsJson1_0: `POST` (to any path; real endpoint URLs end in `/v1`) with
//! `Content-Type: application/x-amz-json-1.0` and `X-Amz-Target: ToggleCustomerAPI.<Operation>`.
//! Operations: GetRoutingControlState ([`read`]), ListRoutingControls ([`list`], paginated with an
//! opaque NextToken), UpdateRoutingControlState and UpdateRoutingControlStates ([`update`], 1 to
//! 10 entries, applied together or not at all), with the service model's field names and
//! constraints.
//!
//! Requests must carry a SigV4 `Authorization` header (`AWS4-HMAC-SHA256 ...`), but the signature
//! is NOT verified: any credentials are accepted. arc-local is a local rehearsal tool; bind it to
//! loopback or a private network.
//!
//! Errors are the model's ([`protocol`]): HTTP status, the `x-amzn-errortype` header and a JSON
//! body `{"__type": "<Code>", "message": "..."}` with the shape's extra members (`reason` and
//! `fields` for ValidationException, `resourceId`/`resourceType` for ResourceNotFoundException and
//! ConflictException, `retryAfterSeconds` for ThrottlingException). Beyond the model, an unknown
//! target is a 400 `UnknownOperationException`, a body that is not a JSON object of the right
//! types a 400 `SerializationException`, and a wrong content type a 415
//! `UnsupportedMediaTypeException`, as Smithy servers answer them.
//!
//! Between the protocol checks and the operation, the fault hook ([`crate::faults`]) may make the
//! call fail, wait or lose its connection; an in-process emulator records every call
//! ([`crate::journal`]).
//!
//! Besides the data plane, every port answers `GET /health` (200, `{"status":"ok","version":...,"commit":...}`,
//! for the healthcheck and build parity checks) and
//! `GET /state` (a JSON summary of every app's controls and active region).

pub mod list;
pub mod protocol;
pub mod read;
pub mod update;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use crate::faults::{self, Faults, Misbehaviour};
use crate::journal::{self, Call, Journal};
use crate::listener::ConnHandle;
use crate::state::Store;
use protocol::{ApiError, Operation};

/// What one endpoint (port) serves, and with which hooks.
#[derive(Clone)]
pub struct Endpoint {
    pub store: Arc<Store>,
    /// The endpoint's index, in port order.
    pub index: usize,
    pub region: Arc<str>,
    pub faults: Arc<Faults>,
    /// Where calls are recorded (in-process emulators only).
    pub journal: Option<Arc<Journal>>,
}

/// The router of one cluster endpoint: the data plane plus `/health` and `/state`. It must be
/// served with [`ConnHandle`] as connect info.
pub fn router(endpoint: Endpoint) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/state", get(state_summary))
        .fallback(data_plane)
        .with_state(endpoint)
        .layer(axum::middleware::from_fn(bootstrap::access_log::log))
}

/// `{"status":"ok","version":...,"commit":...}` ([`bootstrap::build_info`]).
async fn health() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        bootstrap::build_info::health_body(),
    )
        .into_response()
}

async fn state_summary(State(ep): State<Endpoint>) -> Response {
    let mut resp = axum::Json(read::summary(&ep.store)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// How a call ended.
enum Outcome {
    Answer(Result<Value, ApiError>),
    /// The connection was closed without an answer.
    Dropped,
}

async fn data_plane(
    State(ep): State<Endpoint>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
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
    let input = journal::lenient_json(&body);
    let (operation, outcome) = match protocol::operation(&headers) {
        Ok(op) => (Some(op), handle(&ep, op, &input, &body).await),
        Err(e) => (None, Outcome::Answer(Err(e))),
    };
    let record = |status: Option<u16>, error: Option<&'static str>| {
        if let Some(journal) = &ep.journal {
            journal.record(Call {
                endpoint: ep.index,
                region: ep.region.to_string(),
                operation,
                input: input.clone(),
                status,
                error,
            });
        }
    };
    match outcome {
        Outcome::Answer(Ok(value)) => {
            record(Some(200), None);
            protocol::json_response(&value)
        }
        Outcome::Answer(Err(e)) => {
            tracing::debug!(endpoint = %ep.region, code = e.code(), message = %e, "request refused");
            record(Some(e.status().as_u16()), Some(e.code()));
            e.into_response()
        }
        Outcome::Dropped => {
            tracing::debug!(endpoint = %ep.region, "fault: connection closed without an answer");
            record(None, None);
            conn.kill();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The operation, as the fault hook lets it run.
async fn handle(ep: &Endpoint, op: Operation, input: &Value, body: &[u8]) -> Outcome {
    let verdict = ep.faults.take(ep.index, op, input);
    match verdict.misbehaviour {
        None => {}
        Some(Misbehaviour::Drop) => return Outcome::Dropped,
        Some(Misbehaviour::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(error) => {
            let e = faults::error_of(&error, &ep.region).expect("an error: the others are above");
            return Outcome::Answer(Err(e));
        }
    }
    let page_limit = verdict.page_limit;
    let result = match protocol::parse_object(body) {
        Err(e) => Err(e),
        Ok(input) => match op {
            Operation::GetRoutingControlState => read::get_state(&ep.store, &input),
            Operation::ListRoutingControls => list::list(&ep.store, &input, page_limit),
            Operation::UpdateRoutingControlState => update::update_one(&ep.store, &input).await,
            Operation::UpdateRoutingControlStates => update::update_many(&ep.store, &input).await,
        },
    };
    Outcome::Answer(result)
}
