//! arc mode: follow a failover by watching the app's routing controls in the ARC cluster.
//!
//! Each arc-mode upstream knows its app's regional URLs (one [`Endpoint`] per region, built at
//! start-up with warm, separate pools) and reads its control panel every `poll_interval` through
//! a [`ControlPanel`] (the rotating [`recovery::ArcClient`] in production). The active region is
//! the Route 53 failover rule's answer ([`recovery::active_region`]): the primary while its
//! control is On, else the secondary while On, else the primary, so a region whose control is
//! Off never gets traffic while another is On. A switch takes effect for the next request, at
//! most one poll interval (plus one call) after the controls change. When no cluster endpoint
//! answers, the last known state stays in force (static stability) and the upstream reports it
//! in `/ready`, the metrics and the log.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use recovery::{AppEntry, ArcClient, ControlState};

use super::follow::{Follow, FollowError, Looked};
use super::Endpoint;
use crate::metrics;

/// Reads the routing controls of one control panel: `(control ARN, state)` pairs.
pub trait ControlPanel: Send + Sync + 'static {
    fn states(
        &self,
        control_panel_arn: &str,
    ) -> impl Future<Output = Result<Vec<(String, ControlState)>, FollowError>> + Send;
}

impl ControlPanel for Arc<ArcClient> {
    async fn states(&self, arn: &str) -> Result<Vec<(String, ControlState)>, FollowError> {
        let controls = self.list(Some(arn)).await?;
        Ok(controls.into_iter().map(|c| (c.arn, c.state)).collect())
    }
}

/// Watches one app's routing controls for one upstream.
pub struct Follower<P> {
    pub route: Arc<str>,
    pub app_name: String,
    pub app: AppEntry,
    pub endpoints: BTreeMap<String, Arc<Endpoint>>,
    pub panel: P,
    pub poll_interval: Duration,
}

impl<P: ControlPanel> Follower<P> {
    /// The region to start in: the control panel's answer if it comes within one call, else the
    /// primary region (what Route 53 answers when it knows nothing either).
    pub async fn first(&self) -> (String, Result<(), FollowError>) {
        match self.look().await {
            Ok(looked) => (looked.answer, Ok(())),
            Err(e) => {
                tracing::warn!(route = %self.route, app = %self.app_name, error = %e, "control plane unreachable at start; starting in the primary region");
                (self.app.primary_region.clone(), Err(e))
            }
        }
    }
}

impl<P: ControlPanel> Follow for Follower<P> {
    type Answer = String;
    const MODE: &'static str = "arc";

    fn route(&self) -> &Arc<str> {
        &self.route
    }

    async fn look(&self) -> Result<Looked<String>, FollowError> {
        let controls = self.panel.states(&self.app.control_panel_arn).await?;
        let state_of = |region: &str| -> Option<ControlState> {
            let arn = &self.app.regions.get(region)?.routing_control_arn;
            controls.iter().find(|(a, _)| a == arn).map(|(_, s)| *s)
        };
        let region = recovery::active_region(
            &self.app.primary_region,
            &self.app.secondary_region,
            state_of,
        )
        .to_owned();
        Ok(Looked {
            answer: region,
            next: self.poll_interval,
        })
    }

    fn retry_after(&self) -> Duration {
        self.poll_interval
    }

    fn endpoint(&self, region: &String) -> Option<Arc<Endpoint>> {
        self.endpoints.get(region).cloned()
    }

    fn describe(region: &String) -> String {
        region.clone()
    }

    fn in_force(&self, region: Option<&String>) {
        if let Some(region) = region {
            metrics::active_region(&self.route, region, self.endpoints.keys());
        }
    }

    fn looked(&self, ok: bool) {
        metrics::control_plane_up(&self.route, ok);
    }
}

#[cfg(test)]
mod tests {
    //! Paused time: the poll cadence and the switches below take virtual seconds, real milliseconds.

    use std::sync::Mutex;

    use super::*;
    use crate::client;
    use crate::config::{UpstreamSettings, UpstreamUrl};
    use crate::upstream::{follow, FollowMode, Upstream};

    /// A control panel whose states the test sets; `None` is an unreachable cluster. Counts reads.
    type States = Option<Vec<(String, ControlState)>>;

    #[derive(Clone, Default)]
    struct Panel(Arc<Mutex<(States, Vec<tokio::time::Instant>)>>);

    impl Panel {
        fn set(&self, east: ControlState, west: ControlState) {
            self.0.lock().unwrap().0 =
                Some(vec![("arn:east".into(), east), ("arn:west".into(), west)]);
        }
        fn down(&self) {
            self.0.lock().unwrap().0 = None;
        }
        fn reads(&self) -> Vec<tokio::time::Instant> {
            self.0.lock().unwrap().1.clone()
        }
    }

    impl ControlPanel for Panel {
        async fn states(&self, _: &str) -> Result<Vec<(String, ControlState)>, FollowError> {
            let mut s = self.0.lock().unwrap();
            s.1.push(tokio::time::Instant::now());
            s.0.clone().ok_or_else(|| {
                FollowError::ControlPlane(recovery::ArcError::Unreachable(vec![
                    "connection refused".into(),
                ]))
            })
        }
    }

    fn app() -> AppEntry {
        let doc = serde_json::json!({
            "hostname": "service1.example.com",
            "control_panel_arn": "arn:panel",
            "control_panel_name": "service1",
            "primary_region": "us-east-1",
            "secondary_region": "us-west-2",
            "regions": {
                "us-east-1": {"routing_control_arn": "arn:east", "routing_control_name": "east", "url": "http://127.0.0.1:1"},
                "us-west-2": {"routing_control_arn": "arn:west", "routing_control_name": "west", "url": "http://127.0.0.1:2"},
            }
        });
        serde_json::from_value(doc).unwrap()
    }

    async fn start(panel: &Panel) -> (Arc<Upstream>, BTreeMap<String, Arc<Endpoint>>) {
        let clients = client::Template::new(1);
        let endpoints: BTreeMap<String, Arc<Endpoint>> = app()
            .regions
            .iter()
            .map(|(r, e)| {
                let url = UpstreamUrl::parse(&e.url).unwrap();
                let ep = Endpoint::new(
                    &url,
                    &UpstreamSettings::default(),
                    &clients,
                    client::Addresses::system(),
                );
                (r.clone(), Arc::new(ep))
            })
            .collect();
        let f = Follower {
            route: Arc::from("service1"),
            app_name: "service1".into(),
            app: app(),
            endpoints: endpoints.clone(),
            panel: panel.clone(),
            poll_interval: Duration::from_secs(1),
        };
        let (region, first) = f.first().await;
        let up = Arc::new(Upstream::new(
            UpstreamSettings::default(),
            "arc:service1".into(),
            endpoints[&region].clone(),
            FollowMode::Arc,
            region.clone(),
            crate::upstream::Regions::default(),
        ));
        up.observe(first.as_ref().map(|_| ()));
        let wait = f.poll_interval;
        tokio::spawn(follow::run(f, up.clone(), Some(region), wait));
        (up, endpoints)
    }

    use ControlState::{Off, On};

    #[tokio::test(start_paused = true)]
    async fn polls_every_interval_and_switches_on_change() {
        let p = Panel::default();
        p.set(On, Off);
        let t0 = tokio::time::Instant::now();
        let (up, eps) = start(&p).await;
        assert!(Arc::ptr_eq(&up.endpoint(), &eps["us-east-1"]));
        tokio::time::sleep(Duration::from_millis(2500)).await;
        p.set(Off, On);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(Arc::ptr_eq(&up.endpoint(), &eps["us-west-2"]));
        assert_eq!(up.status().target, "us-west-2");
        let reads: Vec<u64> = p
            .reads()
            .iter()
            .map(|t| (*t - t0).as_millis() as u64)
            .collect();
        assert_eq!(
            reads,
            vec![0, 1000, 2000, 3000],
            "one read per poll interval"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_cluster_keeps_the_last_region() {
        let p = Panel::default();
        p.set(Off, On);
        let (up, eps) = start(&p).await;
        assert_eq!(up.status().target, "us-west-2");
        p.down();
        tokio::time::sleep(Duration::from_millis(3500)).await;
        let st = up.status();
        assert!(!st.healthy);
        assert!(st.error.unwrap().contains("no cluster endpoint answered"));
        assert!(Arc::ptr_eq(&up.endpoint(), &eps["us-west-2"]));
        p.set(Off, On);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(up.status().healthy);
        assert!(Arc::ptr_eq(&up.endpoint(), &eps["us-west-2"]));
    }

    #[tokio::test(start_paused = true)]
    async fn unreachable_at_start_means_the_primary_then_the_answer() {
        let p = Panel::default();
        let (up, eps) = start(&p).await;
        assert!(Arc::ptr_eq(&up.endpoint(), &eps["us-east-1"]));
        assert!(!up.status().healthy);
        p.set(Off, On);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(Arc::ptr_eq(&up.endpoint(), &eps["us-west-2"]));
        assert!(up.status().healthy);
    }

    #[tokio::test(start_paused = true)]
    async fn both_off_or_both_on_mean_the_primary() {
        let p = Panel::default();
        p.set(Off, On);
        let (up, eps) = start(&p).await;
        p.set(Off, Off);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(Arc::ptr_eq(&up.endpoint(), &eps["us-east-1"]));
        p.set(Off, On);
        tokio::time::sleep(Duration::from_secs(1)).await;
        p.set(On, On);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(Arc::ptr_eq(&up.endpoint(), &eps["us-east-1"]));
    }
}
