//! The probe that runs during a plan: every interval it sends `GET URL/`, `URL/service1` and
//! `URL/service2` (the probe's targets, each on a new connection), and keeps every answer as a raw
//! sample: when it was sent (milliseconds since the run started), its status or error, which
//! region each hop named, and its latency. The report's recovery figures are computed from these
//! samples alone ([`super::recovery`]), and the samples are in the report to check them against.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::cmd::probe::request::{self, HttpClient};
use crate::cmd::probe::rounds::TARGETS;
use crate::cmd::probe::Base;
use crate::hops::Hop;

/// One request of the probe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// When it was sent, in milliseconds since the run started.
    pub at_ms: u64,
    pub path: String,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// The region the gateway hop named (`x-gateway-region`, or the body).
    pub gateway_region: Option<String>,
    /// The region the service hop named, on a service's path.
    pub service_region: Option<String>,
    pub latency_ms: f64,
}

impl Sample {
    /// Whether it failed: no answer, or a status other than 2xx.
    pub fn failed(&self) -> bool {
        self.error.is_some() || !self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// The region `app` answered from in this sample, if it names one: the gateway hop for the
    /// external API on every path, the service hop for the path's own service.
    pub fn region_of(&self, app: &str) -> Option<&str> {
        let route = TARGETS.iter().find(|t| t.path == self.path)?;
        match route.hop_of(app)? {
            Hop::Gateway => self.gateway_region.as_deref(),
            Hop::Service => self.service_region.as_deref(),
        }
    }
}

/// A running probe; [`Sampler::stop`] ends it and returns the samples.
pub struct Sampler {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Vec<Sample>>,
}

impl Sampler {
    /// Starts probing `base` every `interval`, each request bounded by `timeout`; times are
    /// counted from `epoch`.
    pub fn start(
        client: HttpClient,
        base: Base,
        interval: Duration,
        timeout: Duration,
        epoch: Instant,
    ) -> Sampler {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = &mut stopped => break,
                }
                let round = TARGETS.iter().map(|t| {
                    let client = &client;
                    let url = base.url(t.path);
                    async move {
                        let sent = Instant::now();
                        let answer = request::get(client, &url, t, timeout).await;
                        Sample {
                            at_ms: millis(sent.duration_since(epoch)),
                            path: t.path.to_owned(),
                            status: answer.status,
                            error: answer.error.clone(),
                            gateway_region: answer.regions.get(Hop::Gateway).map(str::to_owned),
                            service_region: answer.regions.get(Hop::Service).map(str::to_owned),
                            latency_ms: sent.elapsed().as_secs_f64() * 1000.0,
                        }
                    }
                });
                samples.extend(futures_util::future::join_all(round).await);
            }
            samples
        });
        Sampler { stop, task }
    }

    /// Stops after the round in flight and returns every sample, in the order sent.
    pub async fn stop(self) -> Vec<Sample> {
        let _ = self.stop.send(());
        let mut samples = self.task.await.unwrap_or_default();
        samples.sort_by_key(|s| s.at_ms);
        samples
    }
}

/// Milliseconds, saturating.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The probe's HTTP client (new connection per request), resolving with `dns` when given.
pub fn client(
    timeout: Duration,
    dns: Option<std::net::SocketAddr>,
) -> Result<HttpClient, request::SetupError> {
    request::client_with(timeout, crate::cmd::probe::resolver::Resolver::new(dns)?)
}
