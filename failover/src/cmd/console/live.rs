//! What the console shows, kept fresh in the background: every app's routing controls and active
//! region (read every `--refresh`), each standby's readiness (`check`, every `--check-interval`
//! and on demand), the console's own probe of the external API (a round every
//! `--probe-interval`, kept for `--window` as the timeline), and the runs started from the page.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{json, Value};

use crate::cmd::check::{self, Clients, Readiness};
use crate::cmd::plan::execution::Finished;
use crate::cmd::probe::request::{self, HttpClient};
use crate::cmd::probe::rounds::TARGETS;
use crate::cmd::probe::Base;
use crate::cmd::status::{self, Status};
use crate::hops::Hop;

/// One probe answer on the timeline.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    /// Milliseconds since the Unix epoch.
    pub at: u64,
    pub path: &'static str,
    pub status: String,
    pub failed: bool,
    pub gateway_region: Option<String>,
    pub service_region: Option<String>,
}

/// A run started from the page.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    pub id: u64,
    pub what: String,
    pub started: u64,
    /// `running`, or how it ended.
    pub state: String,
    pub failure: Option<String>,
    pub recovery_ms: Option<u64>,
    pub failed_requests: Option<u64>,
    /// Report file names, served under `/reports/`.
    pub reports: Vec<String>,
}

/// Everything the page reads.
#[derive(Default)]
pub struct Live {
    pub status: Option<Result<Status, String>>,
    pub readiness: Option<Result<Readiness, String>>,
    pub checked_at: Option<u64>,
    pub timeline: VecDeque<Point>,
    pub runs: Vec<Run>,
}

pub type Shared = Arc<Mutex<Live>>;

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Reads the routing controls every `refresh`, forever.
pub async fn follow_status(
    live: Shared,
    doc: Arc<recovery::ClusterDocument>,
    arc: Arc<recovery::ArcClient>,
    refresh: Duration,
) {
    let mut ticker = tokio::time::interval(refresh);
    loop {
        ticker.tick().await;
        let read = status::fetch(&doc, &arc, &[])
            .await
            .map_err(|e| crate::error::Chain(&e).to_string());
        live.lock().expect("live state").status = Some(read);
    }
}

/// Runs `check` every `every`, and whenever `wake` is notified.
pub async fn follow_readiness(
    live: Shared,
    doc: Arc<recovery::ClusterDocument>,
    arc: Arc<recovery::ArcClient>,
    clients: Arc<Clients>,
    every: Duration,
    wake: Arc<tokio::sync::Notify>,
) {
    loop {
        let read = check::evaluate(&doc, &arc, &clients.probes())
            .await
            .map_err(|e| crate::error::Chain(&e).to_string());
        {
            let mut l = live.lock().expect("live state");
            l.readiness = Some(read);
            l.checked_at = Some(now_ms());
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = wake.notified() => {}
        }
    }
}

/// Probes `base` every `interval`, keeping `window` of answers.
pub async fn follow_probe(
    live: Shared,
    client: HttpClient,
    base: Base,
    interval: Duration,
    timeout: Duration,
    window: Duration,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let keep = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    loop {
        ticker.tick().await;
        let at = now_ms();
        let round = TARGETS.iter().map(|t| {
            let url = base.url(t.path);
            let client = &client;
            async move { (t, request::get(client, &url, t, timeout).await) }
        });
        let answers = futures_util::future::join_all(round).await;
        let mut l = live.lock().expect("live state");
        for (t, a) in answers {
            l.timeline.push_back(Point {
                at,
                path: t.path,
                status: a.status_label(),
                failed: a.failed(),
                gateway_region: a.regions.get(Hop::Gateway).map(str::to_owned),
                service_region: a.regions.get(Hop::Service).map(str::to_owned),
            });
        }
        while l.timeline.front().is_some_and(|p| p.at + keep < at) {
            l.timeline.pop_front();
        }
    }
}

/// Records how a run ended.
pub fn finish(live: &Shared, id: u64, result: Result<Finished, String>) {
    let mut l = live.lock().expect("live state");
    let Some(run) = l.runs.iter_mut().find(|r| r.id == id) else {
        return;
    };
    match result {
        Ok(f) => {
            run.state = f.outcome;
            run.failure = f.failure;
            run.recovery_ms = f.recovery_ms;
            run.failed_requests = f.failed_requests;
            run.reports = [f.json, f.markdown, f.html]
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
        }
        Err(e) => {
            run.state = "failed".into();
            run.failure = Some(e);
        }
    }
}

/// The page's view: apps with controls, active region and readiness; the timeline; the runs.
pub fn view(live: &Live, probe_url: Option<&str>) -> Value {
    let apps: Vec<Value> = match &live.status {
        Some(Ok(st)) => st
            .apps
            .values()
            .map(|a| {
                let readiness: Vec<Value> = match &live.readiness {
                    Some(Ok(r)) => r
                        .assessments
                        .iter()
                        .filter(|s| s.app == a.name)
                        .map(|s| json!({"region": s.region, "ready": s.ready, "checks": s.checks}))
                        .collect(),
                    _ => Vec::new(),
                };
                json!({
                    "name": a.name,
                    "hostname": a.hostname,
                    "active_region": a.active_region,
                    "regions": a.regions.iter().map(|(r, s)| json!({"region": r, "state": s.map(|s| s.as_str())})).collect::<Vec<_>>(),
                    "readiness": readiness,
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    let error = match (&live.status, &live.readiness) {
        (Some(Err(e)), _) | (_, Some(Err(e))) => Some(e.clone()),
        _ => None,
    };
    json!({
        "now": now_ms(),
        "apps": apps,
        "error": error,
        "checked_at": live.checked_at,
        "probe_url": probe_url,
        "timeline": live.timeline,
        "runs": live.runs,
        "busy": live.runs.iter().any(|r| r.state == "running"),
    })
}
