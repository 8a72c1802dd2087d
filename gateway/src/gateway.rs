//! The gateway's shared state: its region, the route table with each route's upstream, the
//! forwarding rules and readiness. Built once at start-up from the configuration; read by every
//! request on every worker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;

use crate::config::Config;
use crate::forwarding::Forwarding;
use crate::policy::{period, Home};
use crate::routes::{Route, RouteTable};
use crate::upstream::{BuildError, Builder, FollowerTask};

/// Everything a request needs.
pub struct Gateway {
    pub region: String,
    /// The region as the `x-gateway-region` field.
    pub region_header: HeaderValue,
    pub routes: RouteTable,
    /// Whether a route's prefix is `/` (then `/` is proxied, not answered by the gateway).
    pub catch_all: bool,
    pub forwarding: Forwarding,
    pub(crate) identity: Bytes,
    pub(crate) ready: AtomicBool,
}

impl Gateway {
    /// Builds routes and upstreams, takes a first look at DNS or the control plane for each
    /// upstream that follows failovers, and returns the followers to run in the background.
    pub async fn build(config: &Config) -> Result<(Gateway, Vec<FollowerTask>), BuildError> {
        let mut builder = Builder::new(config);
        let mut followers = Vec::new();
        let (home, watcher) = Home::build(&config.policy, period::system_clock())?;
        followers.extend(watcher);
        let mut routes = Vec::with_capacity(config.routes.len());
        for r in &config.routes {
            let (upstream, follower) = builder.upstream(r).await?;
            followers.extend(follower);
            routes.push(Route {
                name: Arc::from(r.name.as_str()),
                prefix: r.prefix.clone(),
                strip_prefix: r.strip_prefix,
                upstream,
                policies: home.chain(&r.name, &r.settings.policies),
            });
        }
        let gateway = Gateway {
            region: config.region.clone(),
            region_header: HeaderValue::from_str(&config.region).map_err(|_| BuildError::Region)?,
            catch_all: routes.iter().any(|r| r.prefix == "/"),
            routes: RouteTable::new(routes),
            forwarding: Forwarding {
                trusted_proxy_hops: config.server.trusted_proxy_hops,
            },
            identity: Bytes::from(bootstrap::identity_body(
                recovery::GATEWAY_APP,
                &config.region,
            )),
            ready: AtomicBool::new(true),
        };
        Ok((gateway, followers))
    }

    /// Marks the gateway as draining: `/ready` answers 503 from now on.
    pub fn set_draining(&self) {
        self.ready.store(false, Ordering::Relaxed);
    }
}
