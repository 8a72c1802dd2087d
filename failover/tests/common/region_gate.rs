//! A loopback front for moto's server that can take one AWS region away: a request whose SigV4
//! credential scope names a region marked down is refused (the connection closed with no
//! answer, as an endpoint that is gone) or held unanswered (as one that hangs); every other
//! request goes through to moto. It journals each call as `(region, operation)`, so a test can
//! say what was asked of the region that was down.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// How a region that is down behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Down {
    /// The connection is closed without an answer.
    Refuse,
    /// No answer, ever.
    Hang,
}

#[derive(Default)]
struct State {
    down: BTreeMap<String, Down>,
    journal: Vec<(String, String)>,
}

/// The front; its URL goes into `AWS_ENDPOINT_URL`.
pub struct RegionGate {
    pub url: String,
    state: Arc<Mutex<State>>,
}

/// The region of a SigV4 `Authorization` header (`Credential=AKID/DATE/REGION/SERVICE/...`).
fn region_of(req: &Request<Incoming>) -> String {
    req.headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(2))
        .unwrap_or("?")
        .to_owned()
}

/// The operation: the `X-Amz-Target` suffix (JSON protocols) or the form's `Action` (query).
fn operation_of(parts: &http::request::Parts, body: &[u8]) -> String {
    if let Some(t) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        return t.rsplit('.').next().unwrap_or(t).to_owned();
    }
    String::from_utf8_lossy(body)
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or("?")
        .to_owned()
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type MotoClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// One request: journalled, then refused, held or passed to moto.
async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    client: MotoClient,
    upstream: http::Uri,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let region = region_of(&req);
    let (mut parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let op = operation_of(&parts, &body);
    let down = {
        let mut s = state.lock().unwrap();
        s.journal.push((region.clone(), op));
        s.down.get(&region).copied()
    };
    match down {
        // An error from the service: hyper closes the connection without writing an answer.
        Some(Down::Refuse) => return Err(BoxError::from(format!("{region} is down"))),
        Some(Down::Hang) => std::future::pending::<()>().await,
        None => {}
    }
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    parts.uri = format!(
        "http://{}{path}",
        upstream.authority().expect("an authority")
    )
    .parse()?;
    let (p, b) = client
        .request(Request::from_parts(parts, Full::new(body)))
        .await?
        .into_parts();
    let b = b.collect().await?.to_bytes();
    Ok(Response::from_parts(p, Full::new(b)))
}

impl RegionGate {
    /// A front for moto at `moto_url` (`http://127.0.0.1:PORT`), every region up.
    pub fn start(moto_url: &str) -> RegionGate {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let upstream: http::Uri = moto_url.parse().expect("moto's URL");
        let shared = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let client: MotoClient = Client::builder(TokioExecutor::new()).build_http();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let (state, client, upstream) =
                        (shared.clone(), client.clone(), upstream.clone());
                    tokio::spawn(async move {
                        let service = service_fn(move |req: Request<Incoming>| {
                            handle(req, state.clone(), client.clone(), upstream.clone())
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        RegionGate { url, state }
    }

    /// Takes `region` away (`Some`) or brings it back (`None`).
    pub fn set(&self, region: &str, down: Option<Down>) {
        let mut s = self.state.lock().unwrap();
        match down {
            Some(d) => s.down.insert(region.to_owned(), d),
            None => s.down.remove(region),
        };
    }

    /// The operations asked of `region` since the last call (and forgets them).
    pub fn take_calls(&self, region: &str) -> Vec<String> {
        let mut s = self.state.lock().unwrap();
        let (of, rest): (Vec<_>, Vec<_>) = s.journal.drain(..).partition(|(r, _)| r == region);
        s.journal = rest;
        of.into_iter().map(|(_, op)| op).collect()
    }

    /// The environment that points the `failover` binary's AWS clients at this front.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }
}
