//! Continuous traffic from "the internet": resolve the external hostname through arc-local's DNS
//! (honouring its TTL), send every kind of request the services offer, record who served each.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::TokioResolver;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

pub const EXTERNAL_HOST: &str = "externalapi.example.com";

/// One request and who answered it.
#[derive(Clone, Debug)]
pub struct Sample {
    pub started: Instant,
    pub kind: &'static str,
    /// The app behind the path: `service1`, `service2`, or None for the external API's own `/`.
    pub service: Option<&'static str>,
    pub status: u16,
    pub error: Option<String>,
    pub gateway_region: Option<String>,
    pub service_region: Option<String>,
}

impl Sample {
    pub fn failed(&self) -> bool {
        self.error.is_some() || !(200..300).contains(&self.status)
    }

    /// The region that served this sample for `app` (`external-api`, `service1`, `service2`).
    pub fn region_of(&self, app: &str) -> Option<&str> {
        match app {
            "external-api" => self.gateway_region.as_deref(),
            app if self.service.is_some_and(|s| s == app) => self.service_region.as_deref(),
            _ => None,
        }
    }
}

/// Request kinds, in rotation: every method and shape the services offer.
const KINDS: [(&str, &str, Option<&str>); 8] = [
    ("GET", "/", None),
    ("GET", "/service1", Some("service1")),
    ("GET", "/service2", Some("service2")),
    ("POST", "/service1/echo", Some("service1")),
    ("PUT", "/service2/items/drill", Some("service2")),
    (
        "GET",
        "/service1/items?prefix=drill&limit=3",
        Some("service1"),
    ),
    (
        "GET",
        "/service2/stream?count=2&interval_ms=1",
        Some("service2"),
    ),
    ("HEAD", "/service1", Some("service1")),
];

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A plain GET, for readiness and metrics.
pub async fn get(url: &str) -> anyhow::Result<(u16, String)> {
    let req = http::Request::get(url).body(Full::default())?;
    let resp = tokio::time::timeout(Duration::from_secs(5), client().request(req)).await??;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// A resolver that asks arc-local's DNS server and caches answers for their TTL, as the
/// resolvers between a client and Route 53 do.
pub fn resolver(dns: SocketAddr) -> TokioResolver {
    let mut ns = NameServerConfig::udp_and_tcp(dns.ip());
    for c in &mut ns.connections {
        c.port = dns.port();
    }
    TokioResolver::builder_with_config(
        ResolverConfig::from_name_servers(vec![ns]),
        TokioRuntimeProvider::default(),
    )
    .build()
    .expect("resolver configuration is valid")
}

/// Traffic running in the background.
pub struct Traffic {
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Sends `rate` requests per second in all, from `workers` tasks, to the external API at `port`.
pub fn start(dns: SocketAddr, port: u16, rate: u32, workers: u32) -> Traffic {
    let samples = Arc::new(Mutex::new(Vec::new()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let resolver = resolver(dns);
    let client = client();
    let period = Duration::from_secs_f64(f64::from(workers) / f64::from(rate.max(1)));
    let tasks = (0..workers)
        .map(|w| {
            let (samples, resolver, client, stopped) = (
                samples.clone(),
                resolver.clone(),
                client.clone(),
                stopped.clone(),
            );
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut n = w as usize;
                while !*stopped.borrow() {
                    tick.tick().await;
                    let kind = KINDS[n % KINDS.len()];
                    n += 1;
                    let sample = one(&resolver, &client, port, kind).await;
                    samples.lock().unwrap().push(sample);
                }
            })
        })
        .collect();
    Traffic {
        samples,
        stop,
        tasks,
    }
}

async fn one(
    resolver: &TokioResolver,
    client: &HttpClient,
    port: u16,
    (method, path, service): (&'static str, &'static str, Option<&'static str>),
) -> Sample {
    let started = Instant::now();
    let mut sample = Sample {
        started,
        kind: path,
        service,
        status: 0,
        error: None,
        gateway_region: None,
        service_region: None,
    };
    let result: anyhow::Result<()> = async {
        let ip = resolver
            .lookup_ip(format!("{EXTERNAL_HOST}."))
            .await?
            .iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no address for {EXTERNAL_HOST}"))?;
        let body = match method {
            "POST" => Full::from("drill"),
            "PUT" => Full::from(r#"{"drill": true}"#),
            _ => Full::default(),
        };
        let req = http::Request::builder()
            .method(method)
            .uri(format!("http://{ip}:{port}{path}"))
            .header(http::header::HOST, format!("{EXTERNAL_HOST}:{port}"))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body)?;
        let resp = tokio::time::timeout(Duration::from_secs(5), client.request(req)).await??;
        sample.status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        sample.gateway_region = header("x-gateway-region");
        sample.service_region = header("x-service-region");
        resp.into_body().collect().await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        sample.error = Some(format!("{e:#}"));
    }
    sample
}

impl Traffic {
    /// Every sample so far.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().unwrap().clone()
    }

    /// Stops sending, waits for requests in flight, and returns every sample.
    pub async fn stop(self) -> Vec<Sample> {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.samples.lock().unwrap().clone()
    }
}

/// How long after `since` traffic for `app` kept reaching another region than `region`: the start
/// time of the last request (started after `since`) served elsewhere, or zero. `None` when no
/// request after `since` was served by `region` at all (the switch did not happen).
pub fn switch_time(
    samples: &[Sample],
    since: Instant,
    app: &str,
    region: &str,
) -> Option<Duration> {
    let after: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.started >= since && !s.failed())
        .collect();
    let last_old = after
        .iter()
        .filter(|s| s.region_of(app).is_some_and(|r| r != region))
        .map(|s| s.started)
        .max();
    let first_new_after = after
        .iter()
        .filter(|s| s.region_of(app) == Some(region) && last_old.is_none_or(|t| s.started > t))
        .count();
    if first_new_after == 0 {
        return None;
    }
    Some(last_old.map_or(Duration::ZERO, |t| t.duration_since(since)))
}

/// The failed samples among `samples`.
pub fn failures(samples: &[Sample]) -> Vec<&Sample> {
    samples.iter().filter(|s| s.failed()).collect()
}
