//! The original rehearsal scenario under continuous traffic, measured.
//!
//! Start state: external API and service1 in us-east-1, service2 in us-west-2. Then service2 to
//! us-east-1, service1 to us-west-2, the external API to us-west-2. After each step the scenario
//! waits until traffic for that app comes only from the new region and records how long that took.

use std::time::{Duration, Instant};

use crate::system::System;
use crate::traffic::{self, Sample, Traffic};

/// Why the scenario stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{app} did not move to {region} within {limit:?}")]
    NotMoved {
        app: String,
        region: String,
        limit: Duration,
    },
    #[error(
        "start state not reached: external API and service1 in us-east-1, service2 in us-west-2"
    )]
    StartState,
    /// The system under test failed (an activate call).
    #[error(transparent)]
    System(#[from] anyhow::Error),
}

pub const STEPS: [(&str, &str); 3] = [
    ("service2", "us-east-1"),
    ("service1", "us-west-2"),
    ("external-api", "us-west-2"),
];

/// What a run measured.
pub struct Report {
    /// Per step: "app -> region" and the time from the activate call returning until new requests
    /// went only to the new region.
    pub steps: Vec<(String, Duration)>,
    /// Every request sent while measuring.
    pub samples: Vec<Sample>,
}

impl Report {
    pub fn failures(&self) -> Vec<&Sample> {
        traffic::failures(&self.samples)
    }
}

/// Waits until traffic for `app` comes from `region`; returns the switch time.
pub async fn converge(
    t: &Traffic,
    since: Instant,
    app: &str,
    region: &str,
    limit: Duration,
) -> Result<Duration, ScenarioError> {
    let deadline = since + limit;
    loop {
        let samples = t.samples();
        if let Some(d) = traffic::switch_time(&samples, since, app, region) {
            let recent: Vec<&Sample> = samples
                .iter()
                .rev()
                .filter(|s| s.region_of(app).is_some())
                .take(10)
                .collect();
            if recent.len() == 10 && recent.iter().all(|s| s.region_of(app) == Some(region)) {
                return Ok(d);
            }
        }
        if Instant::now() > deadline {
            return Err(ScenarioError::NotMoved {
                app: app.to_owned(),
                region: region.to_owned(),
                limit,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the scenario at `rate` requests per second. `limit` bounds each wait for a switch.
pub async fn run(sys: &System, rate: u32, limit: Duration) -> Result<Report, ScenarioError> {
    sys.activate("service2", "us-west-2").await?;
    let t = traffic::start(sys.dns, sys.gateway_port, rate, (rate / 25).clamp(2, 32));
    converge(
        &t,
        Instant::now(),
        "service2",
        "us-west-2",
        limit + Duration::from_secs(3),
    )
    .await?;
    let measured_from = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start: Vec<Sample> = t
        .samples()
        .into_iter()
        .filter(|s| s.started >= measured_from)
        .collect();
    let where_ok = |app: &str, region: &str| {
        start
            .iter()
            .all(|s| s.region_of(app).is_none_or(|r| r == region))
    };
    if !(where_ok("external-api", "us-east-1")
        && where_ok("service1", "us-east-1")
        && where_ok("service2", "us-west-2"))
    {
        return Err(ScenarioError::StartState);
    }
    let mut steps = Vec::new();
    for (app, region) in STEPS {
        sys.activate(app, region).await?;
        let since = Instant::now();
        let took = converge(&t, since, app, region, limit).await?;
        steps.push((format!("{app} -> {region}"), took));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let samples = t
        .stop()
        .await
        .into_iter()
        .filter(|s| s.started >= measured_from)
        .collect();
    Ok(Report { steps, samples })
}
