//! An upstream: where a route's requests go now, and how that changes on a failover.
//!
//! The current [`Endpoint`] sits behind an atomic pointer. A request takes the endpoint once, at
//! its start, and keeps it to the end, so requests in flight finish where they started while new
//! requests go wherever the latest switch points. Switches come from a follower: [`crate::dns`]
//! (the upstream's hostname is re-resolved by TTL) or [`crate::arc`] (the app's routing controls
//! pick a regional URL). An upstream whose host is an IP address has no follower.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwap;
use http::uri::{Authority, Scheme};
use http::HeaderValue;
use serde::Serialize;

use crate::client::{self, Addresses, HttpClient};
use crate::config::UpstreamSettings;

/// One place requests can be sent: a base URL and a client per worker thread (each with its own
/// connection pool).
pub struct Endpoint {
    pub scheme: Scheme,
    pub authority: Authority,
    pub base_path: String,
    /// The `Host` field the upstream expects: its own authority (RFC 9110 section 7.2).
    pub host: HeaderValue,
    clients: Box<[HttpClient]>,
}

impl Endpoint {
    pub fn new(
        uri: &http::Uri,
        settings: &UpstreamSettings,
        template: &client::Template,
        addresses: Addresses,
    ) -> Endpoint {
        let scheme = uri.scheme().cloned().unwrap_or(Scheme::HTTP);
        let authority = uri
            .authority()
            .cloned()
            .expect("validated: upstream URL has a host");
        Endpoint {
            host: HeaderValue::from_str(authority.as_str())
                .expect("an authority is a valid header value"),
            clients: template.build(settings, addresses),
            base_path: uri.path().to_owned(),
            scheme,
            authority,
        }
    }
}

impl Endpoint {
    /// The calling worker's client: its connections are driven by this thread's runtime.
    pub fn client(&self) -> &HttpClient {
        &self.clients[crate::worker::index() % self.clients.len()]
    }
}

/// How an upstream follows failovers, and how that is going (for `/ready` and logs).
#[derive(Clone, Debug, Serialize)]
pub struct FollowStatus {
    /// `static`, `dns` or `arc`.
    pub mode: &'static str,
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
    current: ArcSwap<Endpoint>,
    status: Mutex<FollowStatus>,
}

impl Upstream {
    pub fn new(
        settings: UpstreamSettings,
        label: String,
        first: Arc<Endpoint>,
        mode: &'static str,
        target: String,
    ) -> Upstream {
        Upstream {
            settings,
            label: Arc::from(label),
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
    /// then its pool, and every idle connection in it, is dropped.
    pub fn switch(&self, next: Arc<Endpoint>, target: String) {
        self.current.store(next);
        if let Ok(mut s) = self.status.lock() {
            s.target = target;
            s.last_switch = Some(humantime::format_rfc3339_millis(SystemTime::now()).to_string());
        }
    }

    /// Records the outcome of a look at DNS or the control plane.
    pub fn observe(&self, result: Result<(), String>) {
        if let Ok(mut s) = self.status.lock() {
            match result {
                Ok(()) => {
                    s.healthy = true;
                    s.error = None;
                    s.last_success = Some(Instant::now());
                }
                Err(e) => {
                    s.healthy = false;
                    s.error = Some(e);
                }
            }
        }
    }

    pub fn status(&self) -> FollowStatus {
        self.status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }
}
