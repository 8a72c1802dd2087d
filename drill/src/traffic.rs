//! Continuous traffic from "the internet": resolve the external hostname through arc-local's DNS
//! (honouring its TTL), send every kind of request the services offer, record who served each.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use failover::error::Chain;
use failover::hops::{self, Answer, Regions, Route};
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::NetError;
use hickory_resolver::TokioResolver;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

pub const EXTERNAL_HOST: &str = "externalapi.example.com";

/// Why a request got no whole answer.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Resolve(#[from] NetError),
    #[error("no address for {EXTERNAL_HOST}")]
    NoAddress,
    #[error(transparent)]
    Request(#[from] http::Error),
    #[error(transparent)]
    Send(#[from] hyper_util::client::legacy::Error),
    #[error(transparent)]
    Body(#[from] hyper::Error),
    #[error(transparent)]
    Timeout(#[from] tokio::time::error::Elapsed),
}

/// One request, when it started, and how it ended with the regions that served it.
#[derive(Clone, Debug)]
pub struct Sample {
    pub started: Instant,
    /// From start to the whole answer (or the failure).
    pub took: Duration,
    pub route: Route,
    pub answer: Answer,
}

impl Sample {
    pub fn failed(&self) -> bool {
        self.answer.failed()
    }

    /// The region that served this sample for `app` (`external-api`, `service1`, `service2`).
    pub fn region_of(&self, app: &str) -> Option<&str> {
        self.answer.region_of(&self.route, app)
    }
}

/// Request kinds, in rotation: every method and shape the services offer.
const KINDS: [(&str, Route); 8] = [
    ("GET", Route::gateway("/")),
    ("GET", Route::service("/service1", "service1")),
    ("GET", Route::service("/service2", "service2")),
    ("POST", Route::service("/service1/echo", "service1")),
    ("PUT", Route::service("/service2/items/drill", "service2")),
    (
        "GET",
        Route::service("/service1/items?prefix=drill&limit=3", "service1"),
    ),
    (
        "GET",
        Route::service("/service2/stream?count=2&interval_ms=1", "service2"),
    ),
    ("HEAD", Route::service("/service1", "service1")),
];

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A plain GET, for readiness and metrics.
pub async fn get(url: &str) -> Result<(u16, String), RequestError> {
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
    (method, route): (&'static str, Route),
) -> Sample {
    let started = Instant::now();
    let mut answer = Answer::default();
    let result: Result<(), RequestError> = async {
        let ip = resolver
            .lookup_ip(format!("{EXTERNAL_HOST}."))
            .await?
            .iter()
            .next()
            .ok_or(RequestError::NoAddress)?;
        let body = match method {
            "POST" => Full::from("drill"),
            "PUT" => Full::from(r#"{"drill": true}"#),
            _ => Full::default(),
        };
        let req = http::Request::builder()
            .method(method)
            .uri(format!("http://{ip}:{port}{}", route.path))
            .header(http::header::HOST, format!("{EXTERNAL_HOST}:{port}"))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body)?;
        let resp = tokio::time::timeout(Duration::from_secs(5), client.request(req)).await??;
        answer.status = Some(resp.status().as_u16());
        answer.regions = Regions::from_headers(resp.headers());
        let body = resp.into_body().collect().await?.to_bytes();
        answer.regions.fill_from_body(route.last_hop(), &body);
        Ok(())
    }
    .await;
    if let Err(e) = result {
        answer.error = Some(Chain(&e).to_string());
    }
    Sample {
        started,
        took: started.elapsed(),
        route,
        answer,
    }
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
///
/// The successful requests are followed in the order they started (`region` first among requests
/// that started at the same instant), so the time is when the app was last seen elsewhere before
/// its last switch, to `region`.
pub fn switch_time(
    samples: &[Sample],
    since: Instant,
    app: &str,
    region: &str,
) -> Option<Duration> {
    let mut after: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.started >= since && !s.failed())
        .collect();
    after.sort_by_key(|s| (s.started, s.region_of(app) != Some(region)));
    let mut regions = hops::Tracker::default();
    for s in after {
        if let Some(r) = s.region_of(app) {
            regions.observe(app, r, s.started);
        }
    }
    if regions.last_region(app)? != region {
        return None;
    }
    Some(
        regions
            .switches(app)
            .last()
            .map_or(Duration::ZERO, |sw| sw.left.duration_since(since)),
    )
}

/// The failed samples among `samples`.
pub fn failures(samples: &[Sample]) -> Vec<&Sample> {
    samples.iter().filter(|s| s.failed()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S1: Route = Route::service("/service1", "service1");

    /// A sample started `ms` after `t0`, served by the gateway in us-east-1 and service1 in
    /// `region`; status 502 when `failed`.
    fn sample(t0: Instant, ms: u64, region: &str, failed: bool) -> Sample {
        let regions = Regions {
            gateway: Some("us-east-1".into()),
            service: Some(region.into()),
            fallback: None,
        };
        Sample {
            started: t0 + Duration::from_millis(ms),
            took: Duration::from_millis(1),
            route: S1,
            answer: Answer::answered(if failed { 502 } else { 200 }, regions),
        }
    }

    #[test]
    fn switch_time_is_the_last_start_in_the_old_region() {
        let t0 = Instant::now();
        let since = t0 + Duration::from_millis(10);
        // Recorded in completion order: the request started at 40 ms finished last.
        let samples = vec![
            sample(t0, 0, "us-west-2", false),
            sample(t0, 20, "us-east-1", false),
            sample(t0, 50, "us-west-2", false),
            sample(t0, 60, "us-east-1", true),
            sample(t0, 40, "us-east-1", false),
            sample(t0, 70, "us-west-2", false),
        ];
        let took = switch_time(&samples, since, "service1", "us-west-2");
        assert_eq!(
            took,
            Some(Duration::from_millis(30)),
            "failures do not count"
        );
        assert_eq!(switch_time(&samples, since, "service1", "us-east-1"), None);
        assert_eq!(
            switch_time(&samples, since, "external-api", "us-east-1"),
            Some(Duration::ZERO)
        );
        assert_eq!(switch_time(&samples, since, "service2", "us-west-2"), None);
    }

    #[test]
    fn a_request_that_started_with_the_last_old_one_does_not_count() {
        let t0 = Instant::now();
        let samples = vec![
            sample(t0, 5, "us-west-2", false),
            sample(t0, 5, "us-east-1", false),
        ];
        assert_eq!(switch_time(&samples, t0, "service1", "us-west-2"), None);
        let mut later = samples.clone();
        later.push(sample(t0, 6, "us-west-2", false));
        assert_eq!(
            switch_time(&later, t0, "service1", "us-west-2"),
            Some(Duration::from_millis(5))
        );
    }
}
