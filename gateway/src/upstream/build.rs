//! From a configured route to its upstream and, unless it is static, the follower that keeps it
//! pointed at the active region. The one place upstreams are made.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::follow::{self, Looked};
use super::{arc, dns, Endpoint, FollowMode, Region, Regions, Upstream};
use crate::client::{self, Addresses};
use crate::config::{ArcConfig, Config, RouteConfig, RouteTarget, UpstreamUrl};

/// A background task that keeps an upstream pointed at the active region.
pub type FollowerTask = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The gateway could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Resolver(#[from] dns::ResolverError),
    #[error("the region is not a valid header value")]
    Region,
    #[error("the cluster document gives app {0} no regional URL")]
    NoRegions(String),
    #[error("cannot start the workers: {0}")]
    Workers(std::io::Error),
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
}

/// Builds every route's upstream, sharing what upstreams share: the client template, one DNS
/// resolver, one ARC client (each made when the first route needs it).
pub struct Builder<'a> {
    config: &'a Config,
    clients: client::Template,
    resolver: Option<dns::Hickory>,
    arc: Option<Arc<recovery::ArcClient>>,
}

impl<'a> Builder<'a> {
    pub fn new(config: &'a Config) -> Builder<'a> {
        Builder {
            config,
            clients: client::Template::new(config.server.workers),
            resolver: None,
            arc: None,
        }
    }

    /// The route's upstream, after a first look at DNS or the control plane, and its follower.
    pub async fn upstream(
        &mut self,
        route: &RouteConfig,
    ) -> Result<(Arc<Upstream>, Option<FollowerTask>), BuildError> {
        let name: Arc<str> = Arc::from(route.name.as_str());
        let settings = &route.settings;
        let regions = self.regions(route).await;
        match &route.target {
            RouteTarget::Static(url) => {
                let ep = Endpoint::new(url, settings, &self.clients, Addresses::system());
                let upstream = Upstream::new(
                    settings.clone(),
                    url.label(),
                    Arc::new(ep),
                    FollowMode::Static,
                    url.host().to_owned(),
                    regions,
                );
                Ok((Arc::new(upstream), None))
            }
            RouteTarget::Dns { url, host } => {
                let follower = dns::Follower {
                    route: name,
                    url: url.clone(),
                    host: host.clone(),
                    settings: settings.clone(),
                    clients: self.clients.clone(),
                    resolver: self.resolver()?,
                    min_ttl: self.config.dns.min_ttl,
                    max_ttl: self.config.dns.max_ttl,
                };
                let (ep, first) = follower.first().await;
                let (current, wait, target) = match &first {
                    Ok(Looked { answer, next }) => {
                        (Some(answer.clone()), *next, dns::describe(answer))
                    }
                    Err(_) => (None, follower.min_ttl, String::new()),
                };
                let upstream = Arc::new(Upstream::new(
                    settings.clone(),
                    url.label(),
                    ep,
                    FollowMode::Dns,
                    target,
                    regions,
                ));
                upstream.observe(first.as_ref().map(|_| ()));
                let task = follow::run(follower, upstream.clone(), current, wait);
                Ok((upstream, Some(Box::pin(task))))
            }
            RouteTarget::Arc {
                app, entry, arc, ..
            } => {
                // The follower switches among the very endpoints fallback uses: one pool and one
                // outlier state per region.
                let endpoints: BTreeMap<String, Arc<Endpoint>> = regions
                    .iter()
                    .map(|r| (r.name.to_string(), r.endpoint.clone()))
                    .collect();
                let follower = arc::Follower {
                    route: name,
                    app_name: app.clone(),
                    app: entry.clone(),
                    panel: self.arc_client(arc).await,
                    poll_interval: arc.poll_interval,
                    endpoints,
                };
                let (region, first) = follower.first().await;
                // active_region answers the primary or the secondary, both in `endpoints`.
                let Some(ep) = follower
                    .endpoints
                    .get(&region)
                    .or_else(|| follower.endpoints.values().next())
                    .cloned()
                else {
                    return Err(BuildError::NoRegions(app.clone()));
                };
                let upstream = Arc::new(Upstream::new(
                    settings.clone(),
                    format!("arc:{app}"),
                    ep,
                    FollowMode::Arc,
                    region.clone(),
                    regions,
                ));
                upstream.observe(first.as_ref().map(|_| ()));
                let wait = follower.poll_interval;
                let task = follow::run(follower, upstream.clone(), Some(region), wait);
                Ok((upstream, Some(Box::pin(task))))
            }
        }
    }

    /// The route's regional endpoints, each URL's addresses looked up once (bounded by
    /// `[dns] timeout`) so a dns answer can be matched to its region.
    async fn regions(&self, route: &RouteConfig) -> Regions {
        let mut out = Vec::with_capacity(route.regional.len());
        for (region, url) in &route.regional {
            let ep = Arc::new(Endpoint::new(
                url,
                &route.settings,
                &self.clients,
                Addresses::system(),
            ));
            let resolved = self.addresses_of(url).await;
            out.extend(Region::new(region, ep, resolved));
        }
        Regions::new(out)
    }

    async fn addresses_of(&self, url: &UpstreamUrl) -> Vec<std::net::SocketAddr> {
        if url.host().parse::<std::net::IpAddr>().is_ok() {
            return Vec::new(); // the endpoint knows its address already
        }
        let lookup = tokio::net::lookup_host((url.host(), url.port()));
        match tokio::time::timeout(self.config.dns.timeout, lookup).await {
            Ok(Ok(addrs)) => addrs.collect(),
            _ => {
                tracing::warn!(url = %url.label(), "regional URL did not resolve at start; a dns answer cannot be matched to it");
                Vec::new()
            }
        }
    }

    fn resolver(&mut self) -> Result<dns::Hickory, BuildError> {
        if let Some(r) = &self.resolver {
            return Ok(r.clone());
        }
        let r = dns::Hickory::new(&self.config.dns)?;
        self.resolver = Some(r.clone());
        Ok(r)
    }

    async fn arc_client(&mut self, arc: &ArcConfig) -> Arc<recovery::ArcClient> {
        if let Some(c) = &self.arc {
            return c.clone();
        }
        let client = Arc::new(
            recovery::ArcClient::new(
                &arc.cluster.endpoints,
                recovery::ClientOptions {
                    call_timeout: arc.call_timeout,
                    extra_ca: arc.extra_ca.clone(),
                },
            )
            .await,
        );
        self.arc = Some(client.clone());
        client
    }
}
