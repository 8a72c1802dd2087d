//! One evaluation's readings: the external API's active region (its routing controls, by Route
//! 53's failover rule), each region's health from the configured triggers (the watcher's own
//! `GET /health` of the region's external-API URL from the cluster document, and the CloudWatch
//! alarms named for the region), and the kill switch (a routing control that must be On, a stop
//! file that must not exist).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::future::join_all;
use recovery::{ArcClient, ClusterDocument};
use serde::Serialize;

use super::alarms::Alarms;
use super::machine::{combine, Health, Observation, Switch};
use crate::cmd::probe::request::HttpClient;
use crate::cmd::status;
use crate::health;
use crate::hops::EXTERNAL_API;

/// What each source said about each region, for the audit record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Readings {
    /// Region -> source (`probe`, `alarm:<name>`) -> what it said.
    pub regions: BTreeMap<String, BTreeMap<String, String>>,
}

/// The configured sources.
pub struct Sources {
    pub doc: ClusterDocument,
    pub arc: ArcClient,
    pub http: HttpClient,
    pub health_timeout: Duration,
    /// Whether the watcher probes each region itself.
    pub probe: bool,
    /// Region -> the alarms that say it is down, read with `alarms`.
    pub alarm_names: BTreeMap<String, Vec<String>>,
    pub alarms: Option<Alarms>,
    /// The routing control (ARN) that must be On for the watcher to act.
    pub enable_control: Option<String>,
    /// While this file exists, the watcher does not act.
    pub stop_file: Option<PathBuf>,
}

impl Sources {
    /// Reads everything once.
    pub async fn observe(&self) -> (Observation, Readings) {
        let regions: Vec<String> = self.doc.apps[EXTERNAL_API]
            .regions
            .keys()
            .cloned()
            .collect();
        let (active, probes, alarms, switch) = futures_util::join!(
            self.active(),
            self.probes(&regions),
            self.alarm_states(),
            self.switch()
        );
        let mut readings = Readings::default();
        let mut health = BTreeMap::new();
        for (i, region) in regions.iter().enumerate() {
            let said = readings.regions.entry(region.clone()).or_default();
            let mut verdicts = Vec::new();
            if let Some((h, text)) = probes.get(i).cloned().flatten() {
                said.insert("probe".into(), text);
                verdicts.push(h);
            }
            for name in self.alarm_names.get(region).into_iter().flatten() {
                let h = match &alarms {
                    Ok(states) => states.get(name).copied().unwrap_or(Health::Unknown),
                    Err(_) => Health::Unknown,
                };
                let text = match &alarms {
                    Ok(_) => format!("{h:?}").to_lowercase(),
                    Err(e) => format!("unknown: {e}"),
                };
                said.insert(format!("alarm:{name}"), text);
                verdicts.push(h);
            }
            health.insert(region.clone(), combine(verdicts));
        }
        (
            Observation {
                active,
                health,
                switch,
            },
            readings,
        )
    }

    async fn active(&self) -> Result<String, String> {
        let s = status::fetch(&self.doc, &self.arc, &[EXTERNAL_API])
            .await
            .map_err(|e| format!("routing controls unreadable: {e}"))?;
        Ok(s.apps[EXTERNAL_API].active_region.clone())
    }

    async fn probes(&self, regions: &[String]) -> Vec<Option<(Health, String)>> {
        if !self.probe {
            return vec![None; regions.len()];
        }
        let app = &self.doc.apps[EXTERNAL_API];
        join_all(regions.iter().map(|r| async move {
            let reading = health::read(&self.http, &app.regions[r].url, self.health_timeout).await;
            Some(match &reading.build {
                Some(_) => (
                    Health::Up,
                    format!("up: {} in {} ms", reading.url, reading.took_ms),
                ),
                None => (
                    Health::Down,
                    format!(
                        "down: {}: {}",
                        reading.url,
                        reading.error.clone().unwrap_or_default()
                    ),
                ),
            })
        }))
        .await
    }

    async fn alarm_states(&self) -> Result<BTreeMap<String, Health>, String> {
        let Some(client) = &self.alarms else {
            return Ok(BTreeMap::new());
        };
        let names: Vec<String> = self.alarm_names.values().flatten().cloned().collect();
        client.read(&names).await
    }

    async fn switch(&self) -> Switch {
        if let Some(path) = &self.stop_file {
            if path.exists() {
                return Switch::Disarmed(format!("stop file {} exists", path.display()));
            }
        }
        if let Some(arn) = &self.enable_control {
            let name = self
                .doc
                .control(arn)
                .map_or_else(|| arn.clone(), |(app, region)| format!("{app} {region}"));
            return match self.arc.get_state(arn).await {
                Ok(s) if s.is_on() => Switch::Armed,
                Ok(s) => Switch::Disarmed(format!("routing control {name} is {}", s.as_str())),
                Err(e) => Switch::Disarmed(format!("routing control {name} unreadable: {e}")),
            };
        }
        Switch::Armed
    }
}
