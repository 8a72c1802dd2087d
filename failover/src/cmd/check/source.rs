//! Best-effort reads of the region an app is active in (the region an evacuation leaves): its
//! `/health` and ECS capacity together within `--source-timeout`, so a region that does not
//! answer costs that long and no more. A read that fails or times out is a finding (a warning in
//! `check`, a warning in a plan's report), never the end of the run.

use std::time::{Duration, Instant};

use recovery::AppEntry;

use super::assess::{read_region, Probes, RegionReading};
use crate::health::Reading;

/// `region`'s reading for `app`, bounded by `probes.source_timeout` as a whole.
pub async fn read(app: &AppEntry, region: &str, probes: &Probes<'_>) -> RegionReading {
    let started = Instant::now();
    match tokio::time::timeout(probes.source_timeout, read_region(app, region, probes)).await {
        Ok(reading) => reading,
        Err(_) => timed_out(app, region, probes.source_timeout, started),
    }
}

fn timed_out(app: &AppEntry, region: &str, limit: Duration, started: Instant) -> RegionReading {
    let entry = &app.regions[region];
    let why = format!(
        "no answer within {} (--source-timeout)",
        humantime::format_duration(limit)
    );
    RegionReading {
        region: region.to_owned(),
        health: Reading {
            url: format!("{}/health", entry.url.trim_end_matches('/')),
            build: None,
            error: Some(why.clone()),
            took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        },
        capacity: entry.ecs.as_ref().map(|_| Err(why)),
    }
}

/// What failed in a reading of the region being left, for a warning: `None` when both reads
/// answered.
pub fn failures(reading: &RegionReading) -> Option<String> {
    let mut failed = Vec::new();
    if let Some(e) = &reading.health.error {
        failed.push(format!("GET {}: {e}", reading.health.url));
    }
    if let Some(Err(e)) = &reading.capacity {
        failed.push(e.clone());
    }
    (!failed.is_empty()).then(|| failed.join("; "))
}
