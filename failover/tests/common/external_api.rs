//! A stand-in for the external API (the gateway and the services behind it) for `failover probe`:
//! answers `/`, `/service1` and `/service2` with the identity body and the region headers, as a
//! script says for each request (status, regions, delay, headers or not), and counts the TCP
//! connections it accepted. It speaks plain HTTP; nothing of ARC.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

/// How the stand-in answers one request.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub gateway: Option<&'static str>,
    pub service: Option<&'static str>,
    pub delay: Duration,
    /// Whether the region headers are sent (the original pattern sent only the body).
    pub headers: bool,
    /// The region a gateway's regional fallback served the request from (`x-gateway-fallback`).
    pub fallback: Option<&'static str>,
}

impl Reply {
    pub fn ok(gateway: &'static str, service: Option<&'static str>) -> Reply {
        Reply {
            status: 200,
            gateway: Some(gateway),
            service,
            delay: Duration::ZERO,
            headers: true,
            fallback: None,
        }
    }
}

/// Decides the reply from the path and how many requests that path has had (1 for the first).
type Script = Arc<dyn Fn(&str, usize) -> Reply + Send + Sync>;

#[derive(Clone)]
struct ApiState {
    script: Script,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

async fn handler(State(st): State<ApiState>, uri: axum::http::Uri) -> Response {
    let path = uri.path().to_owned();
    let n = {
        let mut counts = st.counts.lock().unwrap();
        let n = counts.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let reply = (st.script)(&path, n);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let service = match path.as_str() {
        "/" => "external-api",
        p => p.trim_start_matches('/'),
    };
    let region = reply.service.or(reply.gateway).unwrap_or("unknown");
    let status = StatusCode::from_u16(reply.status).unwrap();
    let body = if status.is_success() {
        bootstrap::identity_body(service, region)
    } else {
        format!("{status}")
    };
    let mut resp = (status, body).into_response();
    if !reply.headers {
        return resp;
    }
    if let Some(g) = reply.gateway {
        resp.headers_mut()
            .insert(bootstrap::GATEWAY_REGION_HEADER, g.parse().unwrap());
    }
    if let Some(s) = reply.service {
        resp.headers_mut()
            .insert(bootstrap::SERVICE_REGION_HEADER, s.parse().unwrap());
    }
    if let Some(f) = reply.fallback {
        resp.headers_mut()
            .insert("x-gateway-fallback", f.parse().unwrap());
    }
    resp
}

/// A running stand-in and the TCP connections it accepted.
pub struct ExternalApi {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicUsize>,
}

impl ExternalApi {
    /// Starts answering by `script` on 127.0.0.1, from a background thread.
    pub fn start(script: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> ExternalApi {
        ExternalApi::start_at("127.0.0.1:0".parse().unwrap(), script)
    }

    /// [`ExternalApi::start`] on `addr`.
    pub fn start_at(
        addr: SocketAddr,
        script: impl Fn(&str, usize) -> Reply + Send + Sync + 'static,
    ) -> ExternalApi {
        use axum::serve::ListenerExt as _;
        let state = ApiState {
            script: Arc::new(script),
            counts: Arc::default(),
        };
        let router = Router::new().fallback(any(handler)).with_state(state);
        let listener = std::net::TcpListener::bind(addr).expect("bind the stand-in's address");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener)
                        .unwrap()
                        .tap_io(move |_| {
                            counter.fetch_add(1, Ordering::SeqCst);
                        });
                axum::serve(listener, router).await.unwrap();
            });
        });
        ExternalApi { addr, connections }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
