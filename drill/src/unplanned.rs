//! The unplanned scenario: the active region's service1 dies under mixed traffic, stays down,
//! and comes back, while nobody touches a routing control.
//!
//! Measured: the failed requests (those in flight on the killed process when it died, and any
//! other), the time from the kill to the first answer served by the standby region, and the time
//! from the restart until service1's traffic came only from the active region again. The
//! services' access lines (one per request, with the request id the gateway sent) show whether
//! any request was handled by both regions: the gateway's rule is that none may be, unless a
//! route opted in for idempotent requests (the drill's routes do not).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::scenario::{converge, ScenarioError};
use crate::system::System;
use crate::traffic::{self, Sample};

const APP: &str = "service1";
const ACTIVE: &str = "us-east-1";
const STANDBY: &str = "us-west-2";

/// What the unplanned scenario measured.
pub struct Report {
    /// Every request sent from just before the kill to the end.
    pub samples: Vec<Sample>,
    pub killed_at: Instant,
    /// From the kill to the end of the first request for service1 the standby answered.
    pub first_fallback: Option<Duration>,
    /// From the restarted process listening until service1's traffic came only from the active
    /// region again.
    pub returned: Duration,
    /// Request ids handled by service1 in both regions (must be empty).
    pub twice: Vec<String>,
}

impl Report {
    pub fn failures(&self) -> Vec<&Sample> {
        traffic::failures(&self.samples)
    }

    /// Failed requests for service1 that started before the kill: in flight on the killed
    /// process (or written on a connection it held), so they may have been handled there.
    pub fn failed_in_flight(&self) -> Vec<&Sample> {
        self.failures()
            .into_iter()
            .filter(|s| s.route.service == Some(APP) && s.started <= self.killed_at)
            .collect()
    }

    /// Failed requests that started after the kill: the ones fallback is there to save.
    pub fn failed_after_kill(&self) -> Vec<&Sample> {
        self.failures()
            .into_iter()
            .filter(|s| s.started > self.killed_at)
            .collect()
    }

    /// Requests for service1 the standby answered.
    pub fn served_by_standby(&self) -> usize {
        self.samples
            .iter()
            .filter(|s| !s.failed() && s.region_of(APP) == Some(STANDBY))
            .count()
    }
}

/// Runs the scenario at `rate` requests per second; service1 stays down for `outage`.
/// `limit` bounds the wait for traffic to return.
pub async fn run(
    sys: &mut System,
    rate: u32,
    outage: Duration,
    limit: Duration,
) -> Result<Report, ScenarioError> {
    sys.activate(APP, ACTIVE).await?;
    let t = traffic::start(sys.dns, sys.gateway_port, rate, (rate / 25).clamp(2, 32));
    converge(&t, Instant::now(), APP, ACTIVE, limit).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let measured_from = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let killed_at = Instant::now();
    sys.kill_service(APP, ACTIVE)?;
    tokio::time::sleep(outage).await;
    sys.restart_service(APP, ACTIVE).await?;
    let restarted_at = Instant::now();
    let returned = converge(&t, restarted_at, APP, ACTIVE, limit).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let samples: Vec<Sample> = t
        .stop()
        .await
        .into_iter()
        .filter(|s| s.started >= measured_from)
        .collect();
    let first_fallback = samples
        .iter()
        .filter(|s| !s.failed() && s.region_of(APP) == Some(STANDBY))
        .map(|s| s.started + s.took)
        .filter(|end| *end >= killed_at)
        .min()
        .map(|end| end - killed_at);
    let twice = handled_twice(sys);
    Ok(Report {
        samples,
        killed_at,
        first_fallback,
        returned,
        twice,
    })
}

/// The request ids in the access lines of service1 in both regions (the killed process's log,
/// the restarted one's, and the standby's).
fn handled_twice(sys: &System) -> Vec<String> {
    let active: HashSet<String> = [
        format!("{APP}-{ACTIVE}"),
        format!("{APP}-{ACTIVE}-restarted"),
    ]
    .iter()
    .flat_map(|name| request_ids(&sys.log(name)))
    .collect();
    let mut twice: Vec<String> = request_ids(&sys.log(&format!("{APP}-{STANDBY}")))
        .into_iter()
        .filter(|id| active.contains(id))
        .collect();
    twice.sort();
    twice.dedup();
    twice
}

/// The `request_id` of every JSON access line in `log`.
fn request_ids(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(r#""target":"access""#))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["request_id"].as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_come_from_access_lines_only() {
        let log = concat!(
            r#"{"timestamp":"t","level":"INFO","message":"request","request_id":"a1","target":"access"}"#,
            "\n",
            r#"{"timestamp":"t","level":"INFO","message":"listening","request_id":"no","target":"sample_service"}"#,
            "\n",
            "not json\n",
            r#"{"timestamp":"t","level":"INFO","message":"request","request_id":"b2","target":"access"}"#,
            "\n",
        );
        assert_eq!(request_ids(log), ["a1", "b2"]);
    }
}
