//! `failover probe`: the original test.sh done right. Every interval it GETs `URL/`,
//! `URL/service1` and `URL/service2` at once, reads which regions served each (the gateway's
//! `x-gateway-region`, the service's `x-service-region`, or the `region` of the identity body when
//! a hop sends no header), counts failures (error, timeout, non-2xx) and notes every change since
//! the previous round: an app answering from another region, or a target's status changing.
//!
//! Each request opens a new connection (no pooling), so a DNS failover shows up as soon as the
//! resolver answers the new region instead of hiding behind a pooled connection to the old one.
//!
//! [`Tracker`] is the bookkeeping (pure, no I/O); [`run`] drives rounds until the count, the
//! duration or a stop signal.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{header, Request, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// How many body bytes are read to find a `region` when a hop sends no region header.
const BODY_LIMIT: usize = 64 * 1024;

/// A bad `--url`. Exit status 2.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    #[error("--url {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
}

/// Which header names the region an app answered from, for a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionFrom {
    /// The gateway's own region (`x-gateway-region`): the external API.
    Gateway,
    /// The service's region (`x-service-region`) behind the gateway.
    Service,
}

/// One URL a round requests, and the app whose region it reveals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub path: &'static str,
    pub app: &'static str,
    pub region_from: RegionFrom,
}

/// What every round requests: the external API's root and the two services through it.
pub const TARGETS: [Target; 3] = [
    Target {
        path: "/",
        app: "external-api",
        region_from: RegionFrom::Gateway,
    },
    Target {
        path: "/service1",
        app: "service1",
        region_from: RegionFrom::Service,
    },
    Target {
        path: "/service2",
        app: "service2",
        region_from: RegionFrom::Service,
    },
];

/// The answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer (any status) and the regions it names.
    Answered {
        status: u16,
        gateway_region: Option<String>,
        service_region: Option<String>,
    },
    /// No HTTP answer: `timeout`, or the error.
    Failed { reason: String },
}

impl Outcome {
    /// Whether the request counts as failed: no answer, or a status other than 2xx.
    pub fn failed(&self) -> bool {
        match self {
            Outcome::Answered { status, .. } => !(200..300).contains(status),
            Outcome::Failed { .. } => true,
        }
    }

    /// The status as shown and compared between rounds: the code, `timeout` or `error`.
    pub fn status_label(&self) -> String {
        match self {
            Outcome::Answered { status, .. } => status.to_string(),
            Outcome::Failed { reason } if reason == "timeout" => "timeout".into(),
            Outcome::Failed { .. } => "error".into(),
        }
    }

    /// The region the target's app answered from, from a successful answer only.
    pub fn app_region(&self, target: &Target) -> Option<&str> {
        match self {
            Outcome::Answered {
                gateway_region,
                service_region,
                ..
            } if !self.failed() => match target.region_from {
                RegionFrom::Gateway => gateway_region.as_deref(),
                RegionFrom::Service => service_region.as_deref(),
            },
            _ => None,
        }
    }
}

/// A change since the previous round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// An app answered from another region than it last did.
    Switched {
        app: &'static str,
        from: String,
        to: String,
    },
    /// A target's status changed (e.g. `200` to `502`, or to `timeout`).
    Status {
        path: &'static str,
        from: String,
        to: String,
    },
}

/// One finished round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Round {
    pub number: u64,
    pub time: SystemTime,
    /// One outcome per [`TARGETS`] entry, in that order.
    pub outcomes: Vec<(Target, Outcome)>,
    pub changes: Vec<Change>,
    /// Failed requests in all rounds so far, this one included.
    pub failed_so_far: u64,
}

/// When an app switched region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Switch {
    pub time: SystemTime,
    pub from: String,
    pub to: String,
}

/// What one app did over the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppSummary {
    pub app: &'static str,
    /// The first region it answered from; `None` when it never answered successfully.
    pub first_region: Option<String>,
    pub switches: Vec<Switch>,
}

/// The end-of-run report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub rounds: u64,
    pub requests: u64,
    pub failed: u64,
    /// Failed requests per target path (all targets, zeros included).
    pub failed_by_target: Vec<(&'static str, u64)>,
    pub apps: Vec<AppSummary>,
    /// Whether a signal ended the run.
    pub interrupted: bool,
}

/// Per-target state carried between rounds.
#[derive(Default)]
struct TargetState {
    last_status: Option<String>,
    last_region: Option<String>,
    first_region: Option<String>,
    failed: u64,
    switches: Vec<Switch>,
}

/// The bookkeeping of a run: counts, last seen regions and statuses, switches.
pub struct Tracker {
    rounds: u64,
    requests: u64,
    failed: u64,
    targets: Vec<(Target, TargetState)>,
}

impl Default for Tracker {
    fn default() -> Self {
        Self::new()
    }
}

impl Tracker {
    pub fn new() -> Tracker {
        Tracker {
            rounds: 0,
            requests: 0,
            failed: 0,
            targets: TARGETS
                .iter()
                .map(|t| (*t, TargetState::default()))
                .collect(),
        }
    }

    /// Records a round's outcomes (one per [`TARGETS`] entry) and returns it with its changes.
    pub fn record(&mut self, time: SystemTime, outcomes: Vec<Outcome>) -> Round {
        self.rounds += 1;
        let mut changes = Vec::new();
        let mut shown = Vec::with_capacity(outcomes.len());
        for ((target, state), outcome) in self.targets.iter_mut().zip(outcomes) {
            self.requests += 1;
            if outcome.failed() {
                self.failed += 1;
                state.failed += 1;
            }
            let label = outcome.status_label();
            if let Some(prev) = state.last_status.replace(label.clone()) {
                if prev != label {
                    changes.push(Change::Status {
                        path: target.path,
                        from: prev,
                        to: label,
                    });
                }
            }
            if let Some(region) = outcome.app_region(target) {
                match &state.last_region {
                    Some(prev) if prev != region => {
                        changes.push(Change::Switched {
                            app: target.app,
                            from: prev.clone(),
                            to: region.to_owned(),
                        });
                        state.switches.push(Switch {
                            time,
                            from: prev.clone(),
                            to: region.to_owned(),
                        });
                    }
                    Some(_) => {}
                    None => state.first_region = Some(region.to_owned()),
                }
                state.last_region = Some(region.to_owned());
            }
            shown.push((*target, outcome));
        }
        // Switches first: they are what an operator watches for.
        changes.sort_by_key(|c| matches!(c, Change::Status { .. }));
        Round {
            number: self.rounds,
            time,
            outcomes: shown,
            changes,
            failed_so_far: self.failed,
        }
    }

    pub fn summary(&self, interrupted: bool) -> Summary {
        Summary {
            rounds: self.rounds,
            requests: self.requests,
            failed: self.failed,
            failed_by_target: self
                .targets
                .iter()
                .map(|(t, s)| (t.path, s.failed))
                .collect(),
            apps: self
                .targets
                .iter()
                .map(|(t, s)| AppSummary {
                    app: t.app,
                    first_region: s.first_region.clone(),
                    switches: s.switches.clone(),
                })
                .collect(),
            interrupted,
        }
    }
}

/// When a run ends (besides a signal, which always ends it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Rounds(u64),
    After(Duration),
    Signal,
}

/// Probe settings.
#[derive(Clone, Debug)]
pub struct Options {
    pub base: Base,
    pub interval: Duration,
    pub stop: Stop,
    pub request_timeout: Duration,
}

/// The base URL: scheme, authority and a path prefix without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Base {
    scheme: String,
    authority: String,
    prefix: String,
}

impl Base {
    /// Parses `--url`: `http://` or `https://`, a host, optionally a path prefix (an API stage).
    pub fn parse(url: &str) -> Result<Base, InputError> {
        let bad = |reason: &str| InputError::BadUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url
            .parse()
            .map_err(|_| bad("not a URL (e.g. http://127.0.0.1:8080)"))?;
        let scheme = match uri.scheme_str() {
            Some(s @ ("http" | "https")) => s.to_owned(),
            Some(_) => return Err(bad("only http:// and https:// URLs can be probed")),
            None => return Err(bad("no scheme: write http://... or https://...")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| bad("no host"))?
            .as_str()
            .to_owned();
        if authority.contains('@') {
            return Err(bad("user info is not supported"));
        }
        if uri.query().is_some() {
            return Err(bad("a query string is not supported; give the base URL"));
        }
        Ok(Base {
            scheme,
            authority,
            prefix: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    /// The full URL of a target path.
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}://{}{}{}",
            self.scheme, self.authority, self.prefix, path
        )
    }
}

impl std::fmt::Display for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

type HttpClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// The HTTP client could not be set up (no usable TLS configuration). Exit status 1.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up TLS for the probe: {0}")]
pub struct SetupError(#[from] rustls::Error);

fn client(connect_timeout: Duration) -> Result<HttpClient, SetupError> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        // A new connection per request: a pooled one would keep reaching the old region after a
        // DNS failover.
        .pool_max_idle_per_host(0)
        .build(connector))
}

/// A region from a header value, if it looks like one (printable, short).
fn region_value(value: Option<&str>) -> Option<String> {
    let v = value?.trim();
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    ok.then(|| v.to_owned())
}

/// The `region` of an identity body (`{"service": ..., "region": ...}`), if any.
fn body_region(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    region_value(value.get("region")?.as_str())
}

/// The innermost cause of an error: the part that says what went wrong.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

async fn get(client: &HttpClient, url: &str, target: &Target, timeout: Duration) -> Outcome {
    let request = match Request::get(url)
        .header(
            header::USER_AGENT,
            concat!("failover-probe/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::<Bytes>::new())
    {
        Ok(r) => r,
        Err(e) => {
            return Outcome::Failed {
                reason: e.to_string(),
            }
        }
    };
    let exchange = async {
        let response = client.request(request).await.map_err(|e| root_cause(&e))?;
        let (parts, body) = response.into_parts();
        let header =
            |name: &str| region_value(parts.headers.get(name).and_then(|v| v.to_str().ok()));
        let mut gateway_region = header(bootstrap::GATEWAY_REGION_HEADER);
        let mut service_region = header(bootstrap::SERVICE_REGION_HEADER);
        let body = Limited::new(body, BODY_LIMIT)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let missing = match target.region_from {
            RegionFrom::Gateway => &mut gateway_region,
            RegionFrom::Service => &mut service_region,
        };
        if missing.is_none() {
            *missing = body_region(&body);
        }
        Ok::<_, String>(Outcome::Answered {
            status: parts.status.as_u16(),
            gateway_region,
            service_region,
        })
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(reason)) => Outcome::Failed { reason },
        Err(_) => Outcome::Failed {
            reason: "timeout".into(),
        },
    }
}

/// Runs rounds until `opts.stop` or `shutdown`, calling `on_round` after each, and returns the
/// summary. A round cut short by `shutdown` is not counted.
pub async fn run(
    opts: &Options,
    shutdown: impl Future<Output = ()>,
    mut on_round: impl FnMut(&Round),
) -> Result<Summary, SetupError> {
    let client = client(opts.request_timeout)?;
    let urls: Vec<String> = TARGETS.iter().map(|t| opts.base.url(t.path)).collect();
    let mut tracker = Tracker::new();
    let started = Instant::now();
    let deadline = match opts.stop {
        Stop::After(d) => Some(tokio::time::Instant::from_std(started + d)),
        _ => None,
    };
    let mut ticker = tokio::time::interval(opts.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown = std::pin::pin!(shutdown);
    let until_deadline = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    let mut until_deadline = std::pin::pin!(until_deadline);
    let mut interrupted = false;
    loop {
        if let Stop::Rounds(n) = opts.stop {
            if tracker.rounds >= n {
                break;
            }
        }
        tokio::select! {
            _ = ticker.tick() => {}
            _ = &mut shutdown => { interrupted = true; break; }
            _ = &mut until_deadline => break,
        }
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            break;
        }
        let time = SystemTime::now();
        let requests = TARGETS
            .iter()
            .zip(&urls)
            .map(|(t, url)| get(&client, url, t, opts.request_timeout));
        let outcomes = tokio::select! {
            outcomes = futures_util::future::join_all(requests) => outcomes,
            _ = &mut shutdown => { interrupted = true; break; }
        };
        let round = tracker.record(time, outcomes);
        on_round(&round);
    }
    Ok(tracker.summary(interrupted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(gw: &str, svc: Option<&str>) -> Outcome {
        Outcome::Answered {
            status: 200,
            gateway_region: Some(gw.into()),
            service_region: svc.map(str::to_owned),
        }
    }

    fn round(gw: &str, s1: &str, s2: &str) -> Vec<Outcome> {
        vec![ok(gw, None), ok(gw, Some(s1)), ok(gw, Some(s2))]
    }

    #[test]
    fn tracker_notes_switches_and_status_changes() {
        let t0 = SystemTime::UNIX_EPOCH;
        let t1 = t0 + Duration::from_secs(5);
        let mut tr = Tracker::new();
        let r = tr.record(t0, round("us-east-1", "us-east-1", "us-west-2"));
        assert!(r.changes.is_empty());
        let r = tr.record(t1, round("us-east-1", "us-west-2", "us-west-2"));
        assert_eq!(
            r.changes,
            vec![Change::Switched {
                app: "service1",
                from: "us-east-1".into(),
                to: "us-west-2".into()
            }]
        );
        let mut outcomes = round("us-east-1", "us-west-2", "us-west-2");
        outcomes[2] = Outcome::Failed {
            reason: "timeout".into(),
        };
        let r = tr.record(t1, outcomes);
        assert_eq!(r.failed_so_far, 1);
        assert_eq!(
            r.changes,
            vec![Change::Status {
                path: "/service2",
                from: "200".into(),
                to: "timeout".into()
            }]
        );
        // A failure does not forget the last region: no switch when it comes back the same.
        let r = tr.record(t1, round("us-east-1", "us-west-2", "us-west-2"));
        assert_eq!(r.changes.len(), 1);
        let s = tr.summary(false);
        assert_eq!((s.rounds, s.requests, s.failed), (4, 12, 1));
        assert_eq!(s.failed_by_target[2], ("/service2", 1));
        assert_eq!(s.apps[1].switches.len(), 1);
        assert_eq!(s.apps[1].first_region.as_deref(), Some("us-east-1"));
        assert_eq!(s.apps[1].switches[0].time, t1);
    }

    #[test]
    fn non_2xx_counts_as_failed_and_gives_no_region() {
        let o = Outcome::Answered {
            status: 502,
            gateway_region: Some("us-east-1".into()),
            service_region: None,
        };
        assert!(o.failed());
        assert_eq!(o.app_region(&TARGETS[0]), None);
    }

    #[test]
    fn base_urls() {
        let b = Base::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(b.url("/service1"), "http://127.0.0.1:8080/service1");
        assert_eq!(b.url("/"), "http://127.0.0.1:8080/");
        let b = Base::parse("https://api.example.com/prod").unwrap();
        assert_eq!(b.url("/"), "https://api.example.com/prod/");
        for bad in ["ftp://x", "127.0.0.1:8080", "http://x/?a=1", "not a url"] {
            let e = Base::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn regions_from_headers_and_bodies_are_sanitised() {
        assert_eq!(region_value(Some(" us-east-1 ")), Some("us-east-1".into()));
        assert_eq!(region_value(Some("us\x1b[31m")), None);
        assert_eq!(
            body_region(br#"{"service": "service1", "region": "us-west-2"}"#),
            Some("us-west-2".into())
        );
        assert_eq!(body_region(b"<html>"), None);
    }
}
