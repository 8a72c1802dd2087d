//! arc mode: follow a failover by watching the app's routing controls in the ARC cluster.
//!
//! Each arc-mode upstream knows its app's regional URLs (one [`Endpoint`] per region, built at
//! start-up with warm, separate pools) and reads its control panel every `poll_interval` through
//! the rotating [`recovery::ArcClient`]. The active region is the Route 53 failover rule's answer
//! ([`recovery::active_region`]): the primary while its control is On, else the secondary while
//! On, else the primary, so a region whose control is Off never gets traffic while another is On.
//! A switch takes effect for the next request, at most one poll interval (plus one call) after the
//! controls change. When no cluster endpoint answers, the last known state stays in force (static
//! stability) and the upstream reports it in `/ready`, the metrics and the log.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use recovery::{AppEntry, ArcClient, ControlState};

use crate::metrics;
use crate::upstream::{Endpoint, Upstream};

/// Watches one app's routing controls for one upstream.
pub struct Follower {
    pub route: Arc<str>,
    pub app_name: String,
    pub app: AppEntry,
    pub endpoints: BTreeMap<String, Arc<Endpoint>>,
    pub client: Arc<ArcClient>,
    pub poll_interval: Duration,
}

impl Follower {
    /// Reads the control panel and returns the active region.
    pub async fn active(&self) -> Result<String, String> {
        let controls = self
            .client
            .list(Some(&self.app.control_panel_arn))
            .await
            .map_err(|e| e.to_string())?;
        let state_of = |region: &str| -> Option<ControlState> {
            let arn = &self.app.regions.get(region)?.routing_control_arn;
            controls.iter().find(|c| &c.arn == arn).map(|c| c.state)
        };
        Ok(recovery::active_region(
            &self.app.primary_region,
            &self.app.secondary_region,
            state_of,
        )
        .to_owned())
    }

    /// The region to start in: the control panel's answer if it comes within one call, else the
    /// primary region (what Route 53 answers when it knows nothing either).
    pub async fn first(&self) -> (String, Result<(), String>) {
        match self.active().await {
            Ok(region) => (region, Ok(())),
            Err(e) => {
                tracing::warn!(route = %self.route, app = %self.app_name, error = %e, "control plane unreachable at start; starting in the primary region");
                (self.app.primary_region.clone(), Err(e))
            }
        }
    }

    /// Polls forever, switching the upstream when the active region changes.
    pub async fn run(self, upstream: Arc<Upstream>, mut current: String) {
        metrics::active_region(&self.route, &current, self.endpoints.keys());
        let mut tick = tokio::time::interval(self.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            match self.active().await {
                Ok(region) => {
                    if !upstream.status().healthy {
                        tracing::info!(route = %self.route, app = %self.app_name, "control plane reachable again");
                    }
                    upstream.observe(Ok(()));
                    metrics::control_plane_up(&self.route, true);
                    if region != current {
                        if let Some(ep) = self.endpoints.get(&region) {
                            tracing::info!(route = %self.route, app = %self.app_name, from = %current, to = %region, "routing controls changed; new requests go to the new region");
                            upstream.switch(ep.clone(), region.clone());
                            metrics::failover_switch(&self.route, "arc");
                            metrics::active_region(&self.route, &region, self.endpoints.keys());
                            current = region;
                        }
                    }
                }
                Err(e) => {
                    if upstream.status().healthy {
                        tracing::warn!(route = %self.route, app = %self.app_name, error = %e, region = %current, "control plane unreachable; keeping the last known region");
                    }
                    upstream.observe(Err(e));
                    metrics::control_plane_up(&self.route, false);
                    metrics::follow_error(&self.route, "arc");
                }
            }
        }
    }
}
