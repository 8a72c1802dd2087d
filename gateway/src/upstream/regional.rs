//! An upstream's regional endpoints: where a request goes when the active endpoint cannot be
//! reached, and which of them are ejected.
//!
//! The list comes from the cluster document (arc mode, and dns mode when the document is given)
//! or a route's `regional` table, in fallback order. In arc mode the active endpoint is one of
//! these very endpoints (the same `Arc`, hence the same pool and outlier state). In dns mode the
//! active endpoint is the answer's; it is matched to its region by socket address, resolved once
//! at start-up, so the fallback never goes back to the region that just failed under another name.
//!
//! Nothing here runs on a request that succeeds at its first try.

use std::net::SocketAddr;
use std::sync::Arc;

use http::HeaderValue;

use super::outlier::{self, Outlier, Policy};
use super::Endpoint;
use crate::config::UpstreamSettings;
use crate::metrics;

/// One region's endpoint.
pub struct Region {
    pub name: Arc<str>,
    /// The region as the `x-gateway-fallback` field.
    pub header: HeaderValue,
    pub endpoint: Arc<Endpoint>,
    /// Where the region's URL pointed at start-up (for matching a dns answer).
    addresses: Box<[SocketAddr]>,
}

impl Region {
    pub fn new(name: &str, endpoint: Arc<Endpoint>, resolved: Vec<SocketAddr>) -> Option<Region> {
        let mut addresses = resolved;
        addresses.extend(endpoint.addresses.iter().copied());
        Some(Region {
            name: Arc::from(name),
            header: HeaderValue::from_str(name).ok()?,
            endpoint,
            addresses: addresses.into(),
        })
    }
}

/// Which regions a request has tried, as bits of their index (at most 64 regions count).
#[derive(Clone, Copy, Debug, Default)]
pub struct Tried(u64);

impl Tried {
    fn add(&mut self, i: usize) {
        self.0 |= 1u64.checked_shl(i as u32).unwrap_or(0);
    }
    fn has(self, i: usize) -> bool {
        self.0 & 1u64.checked_shl(i as u32).unwrap_or(0) != 0
    }
}

/// The regions of one upstream, in fallback order.
#[derive(Default)]
pub struct Regions(Box<[Region]>);

impl Regions {
    pub fn new(regions: Vec<Region>) -> Regions {
        Regions(regions.into())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Region> {
        self.0.iter()
    }

    /// Whether there is no region to fall back to.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The index of the region `ep` belongs to: the same endpoint, or one that connects to an
    /// address the region's URL pointed at.
    pub fn region_of(&self, ep: &Arc<Endpoint>) -> Option<usize> {
        self.0.iter().position(|r| {
            Arc::ptr_eq(&r.endpoint, ep) || ep.addresses.iter().any(|a| r.addresses.contains(a))
        })
    }

    /// The region to try after `failed`: the first one neither tried nor ejected. Marks both.
    pub fn next(&self, failed: &Arc<Endpoint>, tried: &mut Tried) -> Option<&Region> {
        if let Some(i) = self.region_of(failed) {
            tried.add(i);
        }
        let (i, r) = self
            .0
            .iter()
            .enumerate()
            .find(|(i, r)| !tried.has(*i) && !r.endpoint.outlier.is_ejected())?;
        tried.add(i);
        Some(r)
    }

    /// A name for `ep` in logs and metrics: its region, else `active`.
    pub fn name_of(&self, ep: &Arc<Endpoint>) -> Arc<str> {
        self.region_of(ep)
            .map_or_else(|| Arc::from("active"), |i| self.0[i].name.clone())
    }
}

/// The outlier policy a route's settings describe.
pub fn policy(s: &UpstreamSettings) -> Policy {
    Policy {
        eject_after: s.eject_after,
        eject_after_5xx: s.eject_after_5xx,
        base: s.eject_base,
        max: s.eject_max,
    }
}

/// Records a failed connect to `ep`. When that ejects it, says so (log, gauge) and starts the
/// probe that brings it back, on the calling worker (whose client the probe uses).
pub fn connect_failed(
    route: &Arc<str>,
    regions: &Regions,
    settings: &UpstreamSettings,
    ep: &Arc<Endpoint>,
) {
    let policy = policy(settings);
    if ep.outlier.failure(&policy) {
        ejected(route, regions, settings, ep, "consecutive connect failures");
    }
}

/// Records a 5xx answer from `ep`, ejecting it as [`connect_failed`] does past `eject_after_5xx`.
pub fn server_error(
    route: &Arc<str>,
    regions: &Regions,
    settings: &UpstreamSettings,
    ep: &Arc<Endpoint>,
) {
    let policy = policy(settings);
    if ep.outlier.server_error(&policy) {
        ejected(route, regions, settings, ep, "consecutive 5xx answers");
    }
}

fn ejected(
    route: &Arc<str>,
    regions: &Regions,
    settings: &UpstreamSettings,
    ep: &Arc<Endpoint>,
    why: &'static str,
) {
    let policy = policy(settings);
    let region = regions.name_of(ep);
    tracing::warn!(%route, %region, authority = %ep.authority, why,
        "endpoint ejected; probing its /health");
    metrics::endpoint_ejected(route, &region, true);
    let (route, timeout) = (route.clone(), settings.probe_timeout);
    let target = Arc::downgrade(ep);
    tokio::spawn(async move {
        let state: fn(&Endpoint) -> &Outlier = |e| &e.outlier;
        let probe = move |ep: Arc<Endpoint>| async move { ep.probe(timeout).await };
        if outlier::recover(target, state, policy, probe).await {
            tracing::info!(%route, %region, "ejected endpoint answers /health again; restored");
        }
        metrics::endpoint_ejected(&route, &region, false);
    });
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::client::{self, Addresses};
    use crate::config::UpstreamUrl;

    fn endpoint(url: &str, fixed: Option<&str>) -> Arc<Endpoint> {
        let addresses = match fixed {
            Some(ip) => Addresses::Fixed(Arc::from([ip.parse::<IpAddr>().unwrap()])),
            None => Addresses::system(),
        };
        Arc::new(Endpoint::new(
            &UpstreamUrl::parse(url).unwrap(),
            &UpstreamSettings::default(),
            &client::Template::new(1),
            addresses,
        ))
    }

    fn regions() -> Regions {
        Regions::new(vec![
            Region::new("us-east-1", endpoint("http://127.0.1.2:8080", None), vec![]).unwrap(),
            Region::new("us-west-2", endpoint("http://127.0.2.2:8080", None), vec![]).unwrap(),
        ])
    }

    #[test]
    fn a_dns_answer_is_matched_to_its_region_and_never_retried_under_that_region() {
        let regions = regions();
        // dns mode: the hostname answered with us-east-1's address.
        let answer = endpoint("http://service1.example.com:8080", Some("127.0.1.2"));
        assert_eq!(regions.region_of(&answer), Some(0));
        assert_eq!(&*regions.name_of(&answer), "us-east-1");
        let mut tried = Tried::default();
        let next = regions.next(&answer, &mut tried).unwrap();
        assert_eq!(&*next.name, "us-west-2");
        let standby = next.endpoint.clone();
        assert!(regions.next(&standby, &mut tried).is_none(), "both tried");
        // Same address, another port: another endpoint, no region.
        let other = endpoint("http://service1.example.com:9000", Some("127.0.1.2"));
        assert_eq!(regions.region_of(&other), None);
        assert_eq!(&*regions.name_of(&other), "active");
    }

    #[test]
    fn an_ejected_region_is_not_a_fallback() {
        let regions = regions();
        let active = regions.iter().next().unwrap().endpoint.clone();
        let standby = &regions.iter().nth(1).unwrap().endpoint;
        let policy = policy(&UpstreamSettings {
            eject_after: 1,
            ..UpstreamSettings::default()
        });
        assert!(standby.outlier.failure(&policy));
        assert!(regions.next(&active, &mut Tried::default()).is_none());
        standby.outlier.restore();
        let next = regions.next(&active, &mut Tried::default()).unwrap();
        assert_eq!(&*next.name, "us-west-2");
    }
}
