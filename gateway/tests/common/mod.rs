//! Test fixtures: the gateway and team services on 127.0.0.1 ephemeral ports, an HTTP client, raw TCP
//! (testkit's), metrics (testkit's).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use gateway::config::{Config, Sources};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A gateway running in this process.
pub struct TestGateway {
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl TestGateway {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Starts the drain and waits until the gateway has stopped.
    pub async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(30), &mut self.task)
            .await
            .expect("gateway stopped within 30 s")
            .unwrap();
    }

    /// Waits for a shutdown started with [`Self::begin_shutdown`].
    pub async fn shutdown_wait(mut self) {
        tokio::time::timeout(Duration::from_secs(30), &mut self.task)
            .await
            .expect("gateway stopped within 30 s")
            .unwrap();
    }

    pub fn begin_shutdown(&mut self) {
        let _ = self.stop.take().unwrap().send(());
    }

    pub async fn metrics(&self) -> String {
        testkit::metrics::scrape(self.admin)
            .await
            .expect("the admin listener serves /metrics")
    }
}

/// Starts a gateway from a TOML configuration (which must name `region`).
pub async fn gateway(toml: &str) -> TestGateway {
    let config = Config::load(Sources {
        file: Some(("test.toml".into(), toml.into())),
        env: |_| None,
    })
    .expect("test configuration is valid");
    let main = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (addr, admin_addr) = (main.local_addr().unwrap(), admin.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        gateway::run(config, gateway::Listeners { main, admin }, async move {
            let _ = rx.await;
        })
        .await
        .expect("gateway starts");
    });
    TestGateway {
        addr,
        admin: admin_addr,
        stop: Some(tx),
        task,
    }
}

/// A gateway with one route `/<name>` to `upstream`, plus extra TOML for the route and server.
pub async fn gateway_to(
    name: &str,
    upstream: &str,
    route_extra: &str,
    server_extra: &str,
) -> TestGateway {
    gateway(&format!(
        "region = \"us-east-1\"\n[server]\n{server_extra}\n[[route]]\nprefix = \"/{name}\"\nupstream = \"{upstream}\"\n{route_extra}\n"
    ))
    .await
}

/// Runs a team service (the real router) on an ephemeral port.
pub async fn service(name: &str, region: &str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = sample_service::router(
        sample_service::ServiceInfo::new(name, region),
        sample_service::Limits::default(),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

pub type TestClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

pub fn client() -> TestClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Sends a request; returns status, headers and the body as text.
pub async fn send(req: http::Request<Full<Bytes>>) -> (http::StatusCode, http::HeaderMap, String) {
    let resp = tokio::time::timeout(Duration::from_secs(20), client().request(req))
        .await
        .expect("response within 20 s")
        .expect("request succeeds at the HTTP level");
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.expect("body completes").to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

pub async fn get(url: &str) -> (http::StatusCode, http::HeaderMap, String) {
    send(http::Request::get(url).body(Full::default()).unwrap()).await
}

pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[allow(unused_imports)]
pub use testkit::http::{raw, read_head, read_until_close};
/// The sum of the samples of metric `name` that carry `labels`, if any.
#[allow(unused_imports)]
pub use testkit::metrics::value as metric;

/// An upstream that runs `handler` on every accepted connection: for faults no real server makes.
pub async fn fake_upstream<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(handler(s));
        }
    });
    addr
}
