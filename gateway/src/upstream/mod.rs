//! Failover following: where a route's requests go now, and how that changes on a failover.
//!
//! The current [`Endpoint`] sits behind an atomic pointer in the route's [`Upstream`]. A request
//! takes the endpoint once, at its start, and keeps it to the end, so requests in flight finish
//! where they started while new requests go wherever the latest switch points. Switches come
//! only from a follower ([`follow`]): [`dns`] (the upstream's hostname is re-resolved by TTL) or
//! [`arc`] (the app's routing controls pick a regional URL). An upstream whose host is an IP
//! address has none. [`build`] turns a configured route into its upstream and follower.
//!
//! Besides the active endpoint, an upstream may know its app's regional endpoints
//! ([`regional`]): a request that cannot reach the active one goes to the next region, and an
//! endpoint that keeps refusing connections is ejected until its `/health` answers ([`outlier`]).
//!
//! Adding a failover mode: one file implementing [`follow::Follow`], one `RouteTarget` variant
//! in the configuration, one arm in [`build`].

pub mod arc;
pub mod build;
pub mod dns;
mod endpoint;
pub mod follow;
pub mod outlier;
pub mod regional;

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwap;
use serde::Serialize;

use crate::config::UpstreamSettings;

pub use build::{BuildError, Builder, FollowerTask};
pub use endpoint::Endpoint;
pub use follow::FollowError;
pub use regional::{Region, Regions};

/// How an upstream follows failovers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FollowMode {
    /// An IP-address URL: nothing to follow.
    Static,
    Dns,
    Arc,
}

impl FollowMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FollowMode::Static => "static",
            FollowMode::Dns => "dns",
            FollowMode::Arc => "arc",
        }
    }
}

/// How an upstream follows failovers, and how that is going (for `/ready` and logs).
#[derive(Clone, Debug, Serialize)]
pub struct FollowStatus {
    pub mode: FollowMode,
    /// What requests go to now: the region (arc) or the resolved addresses (dns).
    pub target: String,
    /// Whether the last look at DNS or the control plane succeeded.
    pub healthy: bool,
    /// The last error, while unhealthy.
    pub error: Option<String>,
    /// When the last look succeeded (`/ready` shows it as `last_success_ms_ago`).
    #[serde(skip)]
    pub last_success: Option<Instant>,
    pub last_switch: Option<String>,
}

/// A route's upstream.
pub struct Upstream {
    pub settings: UpstreamSettings,
    /// A stable description for logs and metrics: the URL, or `arc:<app>`.
    pub label: Arc<str>,
    /// The app's regional endpoints, in fallback order (empty: no regional fallback).
    pub regions: Regions,
    current: ArcSwap<Endpoint>,
    status: Mutex<FollowStatus>,
}

impl Upstream {
    pub fn new(
        settings: UpstreamSettings,
        label: String,
        first: Arc<Endpoint>,
        mode: FollowMode,
        target: String,
        regions: Regions,
    ) -> Upstream {
        Upstream {
            settings,
            label: Arc::from(label),
            regions,
            current: ArcSwap::new(first),
            status: Mutex::new(FollowStatus {
                mode,
                target,
                healthy: true,
                error: None,
                last_success: None,
                last_switch: None,
            }),
        }
    }

    /// Where the next request goes. Hold the returned endpoint for the whole request.
    pub fn endpoint(&self) -> Arc<Endpoint> {
        self.current.load_full()
    }

    /// Points new requests at `next`. The previous endpoint lives on until its last request ends;
    /// then its pool, and every idle connection in it, is dropped. Called only by a follower.
    pub(crate) fn switch(&self, next: Arc<Endpoint>, target: String) {
        self.current.store(next);
        if let Ok(mut s) = self.status.lock() {
            s.target = target;
            s.last_switch = Some(humantime::format_rfc3339_millis(SystemTime::now()).to_string());
        }
    }

    /// Records the outcome of a look at DNS or the control plane.
    pub(crate) fn observe(&self, result: Result<(), &FollowError>) {
        if let Ok(mut s) = self.status.lock() {
            match result {
                Ok(()) => {
                    s.healthy = true;
                    s.error = None;
                    s.last_success = Some(Instant::now());
                }
                Err(e) => {
                    s.healthy = false;
                    s.error = Some(e.to_string());
                }
            }
        }
    }

    /// The endpoints ejected now, by region (`active` for a dns answer no region matches).
    pub fn ejected(&self) -> Vec<Arc<str>> {
        let current = self.endpoint();
        let mut out: Vec<Arc<str>> = self
            .regions
            .iter()
            .filter(|r| r.endpoint.outlier.is_ejected())
            .map(|r| r.name.clone())
            .collect();
        if current.outlier.is_ejected() {
            let name = self.regions.name_of(&current);
            if !out.contains(&name) {
                out.push(name);
            }
        }
        out
    }

    pub fn status(&self) -> FollowStatus {
        self.status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }
}
