//! The routes of the team API and their handlers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::refusal::{self, Refusal};

/// Who this instance is: the app's name and the region it runs in.
#[derive(Clone, Debug)]
pub struct ServiceInfo {
    pub name: String,
    pub region: String,
}

impl ServiceInfo {
    pub fn new(name: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            region: region.into(),
        }
    }
}

/// Bounds on what a client can make the service hold or do.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Items the in-memory store keeps at most.
    pub max_items: usize,
    /// Largest JSON body accepted by `PUT /items/{id}`.
    pub max_item_bytes: usize,
    /// Most lines `/stream` sends.
    pub max_stream_count: u32,
    /// Longest pause `/stream` and `/delay` accept.
    pub max_delay: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_items: 10_000,
            max_item_bytes: 64 * 1024,
            max_stream_count: 1_000,
            max_delay: Duration::from_secs(30),
        }
    }
}

struct AppState {
    info: ServiceInfo,
    identity: Bytes,
    limits: Limits,
    items: Mutex<BTreeMap<String, Value>>,
    name_value: HeaderValue,
    region_value: HeaderValue,
}

type Shared = Arc<AppState>;

/// The service's router, with the access log and the service's own response headers.
///
/// Layers, outermost first: `x-request-id` (the caller's when at most 128 visible ASCII bytes, else
/// a new UUID) set on the request and returned on the response ([`bootstrap::request_id`]); the access log; `x-service-name` / `x-service-region`; refusals
/// rendered as JSON ([`crate::refusal`]).
pub fn router(info: ServiceInfo, limits: Limits) -> Router {
    let state = Arc::new(AppState {
        identity: Bytes::from(bootstrap::identity_body(&info.name, &info.region)),
        name_value: HeaderValue::from_str(&info.name)
            .expect("service name is a valid header value"),
        region_value: HeaderValue::from_str(&info.region)
            .expect("region was validated at start-up"),
        items: Mutex::new(BTreeMap::new()),
        limits: limits.clone(),
        info,
    });
    Router::new()
        .route("/", get(identity))
        .route("/health", get(health))
        .route("/items", get(list_items))
        .route(
            "/items/{id}",
            get(get_item)
                .put(put_item)
                .delete(delete_item)
                .layer(DefaultBodyLimit::max(limits.max_item_bytes)),
        )
        .route("/echo", post(echo))
        .route("/stream", get(stream))
        .route("/headers", get(headers).post(headers))
        .route("/status/{code}", get(status).post(status))
        .route("/delay", get(delay))
        .route("/ws", get(websocket))
        .fallback(refusal::no_route)
        .method_not_allowed_fallback(refusal::method_not_allowed)
        .layer(axum::middleware::from_fn(refusal::render))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            stamp,
        ))
        .layer(axum::middleware::from_fn(bootstrap::access_log::log))
        .layer(axum::middleware::from_fn(bootstrap::request_id::layer))
        .with_state(state)
}

/// Adds the service's name and region to every response, including errors.
async fn stamp(State(s): State<Shared>, mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        HeaderName::from_static(bootstrap::SERVICE_NAME_HEADER),
        s.name_value.clone(),
    );
    h.insert(
        HeaderName::from_static(bootstrap::SERVICE_REGION_HEADER),
        s.region_value.clone(),
    );
    resp
}

async fn identity(State(s): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        s.identity.clone(),
    )
        .into_response()
}

/// `{"status":"ok","version":...,"commit":...}`: liveness, and which build answers
/// ([`bootstrap::build_info`]).
async fn health() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        bootstrap::build_info::health_body(),
    )
        .into_response()
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The `{id}` of an item route, refused unless it is 1-128 of `[A-Za-z0-9._-]`.
fn item_id(path: Result<Path<String>, PathRejection>) -> Result<String, Refusal> {
    let Path(id) = path.map_err(Refusal::path)?;
    if valid_id(&id) {
        Ok(id)
    } else {
        Err(Refusal::bad_path(format!(
            "invalid item id {id:?}: 1 to 128 letters, digits, '.', '_' or '-'"
        )))
    }
}

#[derive(Deserialize)]
struct ListQuery {
    prefix: Option<String>,
    limit: Option<usize>,
}

async fn list_items(
    State(s): State<Shared>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, Refusal> {
    let Query(q) = query.map_err(|e| Refusal::query(e, "prefix=<text>&limit=<number>"))?;
    let limit = q.limit.unwrap_or(100).min(1000);
    let prefix = q.prefix.unwrap_or_default();
    let items = s.items.lock().expect("items lock");
    let list: Vec<Value> = items
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .take(limit)
        .map(|(k, v)| json!({ "id": k, "value": v }))
        .collect();
    Ok(Json(json!({ "items": list, "region": s.info.region })).into_response())
}

async fn get_item(
    State(s): State<Shared>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, Refusal> {
    let id = item_id(path)?;
    match s.items.lock().expect("items lock").get(&id) {
        Some(v) => {
            Ok(Json(json!({ "id": id, "value": v, "region": s.info.region })).into_response())
        }
        None => Err(Refusal::not_found(format!("no item {id:?}"))),
    }
}

async fn put_item(
    State(s): State<Shared>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, Refusal> {
    let id = item_id(path)?;
    let Json(value) = body.map_err(|e| Refusal::json(e, s.limits.max_item_bytes))?;
    let mut items = s.items.lock().expect("items lock");
    if !items.contains_key(&id) && items.len() >= s.limits.max_items {
        return Err(Refusal::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "store_full",
            format!("the store holds at most {} items", s.limits.max_items),
        ));
    }
    let created = items.insert(id.clone(), value.clone()).is_none();
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({ "id": id, "value": value }))).into_response())
}

async fn delete_item(
    State(s): State<Shared>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, Refusal> {
    let id = item_id(path)?;
    match s.items.lock().expect("items lock").remove(&id) {
        Some(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        None => Err(Refusal::not_found(format!("no item {id:?}"))),
    }
}

/// Streams the body back frame by frame: nothing is buffered whole.
async fn echo(req: Request) -> Response {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
    let stream = req.into_body().into_data_stream();
    let mut resp = Body::from_stream(stream).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    resp
}

#[derive(Deserialize)]
struct StreamQuery {
    count: Option<u32>,
    interval_ms: Option<u64>,
}

async fn stream(
    State(s): State<Shared>,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Response, Refusal> {
    let Query(q) = query.map_err(|e| Refusal::query(e, "count=<number>&interval_ms=<number>"))?;
    let count = q.count.unwrap_or(5);
    if count > s.limits.max_stream_count {
        return Err(Refusal::bad_query(format!(
            "count={count} is over the limit {}",
            s.limits.max_stream_count
        )));
    }
    let interval = Duration::from_millis(q.interval_ms.unwrap_or(100));
    if interval > s.limits.max_delay {
        return Err(Refusal::bad_query(format!(
            "interval_ms={} is over the limit {:?}",
            interval.as_millis(),
            s.limits.max_delay
        )));
    }
    let service = s.info.name.clone();
    let region = s.info.region.clone();
    let lines = tokio_stream::iter(0..count).then(move |i| {
        let line = format!(
            "{}\n",
            json!({ "seq": i, "service": service, "region": region })
        );
        async move {
            if i > 0 {
                tokio::time::sleep(interval).await;
            }
            Ok::<_, std::convert::Infallible>(Bytes::from(line))
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(lines),
    )
        .into_response())
}

async fn headers(req: Request) -> Response {
    let mut map = serde_json::Map::new();
    for (name, value) in req.headers() {
        let v = Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned());
        match map.get_mut(name.as_str()) {
            Some(Value::Array(list)) => list.push(v),
            Some(existing) => *existing = Value::Array(vec![existing.take(), v]),
            None => {
                map.insert(name.as_str().to_owned(), v);
            }
        }
    }
    Json(json!({
        "method": req.method().as_str(),
        "path": req.uri().path(),
        "query": req.uri().query(),
        "headers": map,
    }))
    .into_response()
}

async fn status(path: Result<Path<u16>, PathRejection>) -> Result<Response, Refusal> {
    let Path(code) = path.map_err(Refusal::path)?;
    match StatusCode::from_u16(code) {
        Ok(s) if (200..600).contains(&code) => {
            Ok((s, Json(json!({ "status": code }))).into_response())
        }
        _ => Err(Refusal::bad_path(format!(
            "status {code} is not between 200 and 599"
        ))),
    }
}

#[derive(Deserialize)]
struct DelayQuery {
    ms: u64,
}

async fn delay(
    State(s): State<Shared>,
    query: Result<Query<DelayQuery>, QueryRejection>,
) -> Result<Response, Refusal> {
    let Query(q) = query.map_err(|e| Refusal::query(e, "ms=<number>"))?;
    let pause = Duration::from_millis(q.ms);
    if pause > s.limits.max_delay {
        return Err(Refusal::bad_query(format!(
            "ms={} is over the limit {:?}",
            q.ms, s.limits.max_delay
        )));
    }
    tokio::time::sleep(pause).await;
    Ok(Json(json!({ "delayed_ms": q.ms, "region": s.info.region })).into_response())
}

async fn websocket(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, Refusal> {
    let ws = ws.map_err(Refusal::upgrade)?;
    Ok(ws.max_message_size(1 << 20).on_upgrade(echo_socket))
}

async fn echo_socket(mut socket: WebSocket) {
    while let Some(Ok(msg)) = socket.recv().await {
        let reply = match msg {
            Message::Text(_) | Message::Binary(_) => msg,
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}
