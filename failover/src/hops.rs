//! Which region served each hop of a request to the external API, and when an app moved: the
//! bookkeeping `failover probe` and the drill share.
//!
//! A request passes up to two hops that each say which region they ran in: the gateway
//! (`x-gateway-region`) and, for a service's path, the service behind it (`x-service-region`).
//! When the hop that answered sends no header, its identity body (`{"service": ..., "region":
//! ...}`) names the region instead. [`Regions`] reads both sources; a [`Route`] says which app
//! each hop stands for; an [`Answer`] is how one request ended; a [`Tracker`] follows the region
//! each app answers from and records every switch.

use std::collections::BTreeMap;

use http::HeaderMap;

/// The external API's app name: the app the gateway hop stands for on every route.
pub const EXTERNAL_API: &str = "external-api";

/// A hop that names its region in a response header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hop {
    /// The gateway: the external API.
    Gateway,
    /// The service behind the gateway.
    Service,
}

impl Hop {
    /// The response header that carries this hop's region.
    pub fn header(self) -> &'static str {
        match self {
            Hop::Gateway => bootstrap::GATEWAY_REGION_HEADER,
            Hop::Service => bootstrap::SERVICE_REGION_HEADER,
        }
    }
}

/// A path of the external API and the service that answers it behind the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The path, query included.
    pub path: &'static str,
    /// The service behind the path; `None` when the gateway answers it itself (`/`).
    pub service: Option<&'static str>,
}

impl Route {
    /// A path the gateway answers itself.
    pub const fn gateway(path: &'static str) -> Route {
        Route {
            path,
            service: None,
        }
    }

    /// A path the gateway forwards to `service`.
    pub const fn service(path: &'static str, service: &'static str) -> Route {
        Route {
            path,
            service: Some(service),
        }
    }

    /// The app that answers the route: its service, or the external API itself.
    pub fn app(&self) -> &'static str {
        self.service.unwrap_or(EXTERNAL_API)
    }

    /// The hop that answers the route, whose identity body a response carries.
    pub fn last_hop(&self) -> Hop {
        match self.service {
            Some(_) => Hop::Service,
            None => Hop::Gateway,
        }
    }

    /// The hop whose region is `app`'s on this route: the gateway for the external API (on every
    /// route), the service hop for the route's own service; `None` for any other app.
    pub fn hop_of(&self, app: &str) -> Option<Hop> {
        if app == EXTERNAL_API {
            Some(Hop::Gateway)
        } else if self.service == Some(app) {
            Some(Hop::Service)
        } else {
            None
        }
    }
}

/// The region each hop of one response named, and the region a gateway's regional fallback sent
/// it to (`x-gateway-fallback`: the app's active region could not be reached, so a gateway served
/// the request from its standby before anyone moved the app).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Regions {
    pub gateway: Option<String>,
    pub service: Option<String>,
    pub fallback: Option<String>,
}

/// The header a gateway sets when its regional fallback served the request.
pub const FALLBACK_HEADER: &str = "x-gateway-fallback";

impl Regions {
    /// The regions the response headers name (values that do not look like a region are ignored).
    pub fn from_headers(headers: &HeaderMap) -> Regions {
        let header =
            |hop: Hop| region_value(headers.get(hop.header()).and_then(|v| v.to_str().ok()));
        Regions {
            gateway: header(Hop::Gateway),
            service: header(Hop::Service),
            fallback: region_value(headers.get(FALLBACK_HEADER).and_then(|v| v.to_str().ok())),
        }
    }

    /// The region `hop` named, if any.
    pub fn get(&self, hop: Hop) -> Option<&str> {
        match hop {
            Hop::Gateway => self.gateway.as_deref(),
            Hop::Service => self.service.as_deref(),
        }
    }

    /// Whether `hop` named no region (so its body is worth reading).
    pub fn lacks(&self, hop: Hop) -> bool {
        self.get(hop).is_none()
    }

    /// Takes `hop`'s region from the identity body it answered with, when no header named it.
    pub fn fill_from_body(&mut self, hop: Hop, body: &[u8]) {
        let slot = match hop {
            Hop::Gateway => &mut self.gateway,
            Hop::Service => &mut self.service,
        };
        if slot.is_none() {
            *slot = body_region(body);
        }
    }
}

/// A region from a header or body value, if it looks like one (printable, short).
fn region_value(value: Option<&str>) -> Option<String> {
    let v = value?.trim();
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    ok.then(|| v.to_owned())
}

/// The `region` of an identity body (`{"service": ..., "region": ...}`), if any.
fn body_region(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    region_value(value.get("region")?.as_str())
}

/// How one request ended, and the regions its answer named.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status; `None` when no answer came.
    pub status: Option<u16>,
    /// Why the request failed short of a whole answer: `timeout`, or the error.
    pub error: Option<String>,
    pub regions: Regions,
}

impl Answer {
    /// An HTTP answer, whole.
    pub fn answered(status: u16, regions: Regions) -> Answer {
        Answer {
            status: Some(status),
            error: None,
            regions,
        }
    }

    /// No answer: `reason` is `timeout` or the error.
    pub fn failed_with(reason: impl Into<String>) -> Answer {
        Answer {
            error: Some(reason.into()),
            ..Answer::default()
        }
    }

    /// Whether the request counts as failed: an error, no answer, or a status other than 2xx.
    pub fn failed(&self) -> bool {
        self.error.is_some() || !self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// The status as shown and compared: the code, else `timeout` or `error`.
    pub fn status_label(&self) -> String {
        match (self.status, self.error.as_deref()) {
            (Some(status), _) => status.to_string(),
            (None, Some("timeout")) => "timeout".into(),
            (None, _) => "error".into(),
        }
    }

    /// The region `app` answered from, as this answer to `route` names it (failed or not).
    pub fn region_of(&self, route: &Route, app: &str) -> Option<&str> {
        self.regions.get(route.hop_of(app)?)
    }
}

/// An app's move from one region to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Switch<T> {
    pub from: String,
    pub to: String,
    /// When the app was first seen in `to`.
    pub time: T,
    /// When the app was last seen in `from`.
    pub left: T,
}

/// What a [`Tracker`] knows of one app.
#[derive(Clone, Debug)]
struct Seen<T> {
    first: String,
    last: String,
    last_time: T,
    switches: Vec<Switch<T>>,
}

/// Follows the region each app answers from, in the order it is told, and records its switches.
/// `T` is the clock the caller reads (wall time for reports, `Instant` for measurements).
#[derive(Clone, Debug)]
pub struct Tracker<T> {
    apps: BTreeMap<String, Seen<T>>,
}

impl<T> Default for Tracker<T> {
    fn default() -> Self {
        Tracker {
            apps: BTreeMap::new(),
        }
    }
}

impl<T: Copy> Tracker<T> {
    /// Notes that `app` answered from `region` at `time`; returns the switch when that is another
    /// region than it last answered from.
    pub fn observe(&mut self, app: &str, region: &str, time: T) -> Option<&Switch<T>> {
        if !self.apps.contains_key(app) {
            self.apps.insert(
                app.to_owned(),
                Seen {
                    first: region.to_owned(),
                    last: region.to_owned(),
                    last_time: time,
                    switches: Vec::new(),
                },
            );
            return None;
        }
        let seen = self.apps.get_mut(app)?;
        let left = std::mem::replace(&mut seen.last_time, time);
        if seen.last == region {
            return None;
        }
        let from = std::mem::replace(&mut seen.last, region.to_owned());
        seen.switches.push(Switch {
            from,
            to: region.to_owned(),
            time,
            left,
        });
        seen.switches.last()
    }

    /// The first region `app` was seen in.
    pub fn first_region(&self, app: &str) -> Option<&str> {
        self.apps.get(app).map(|s| s.first.as_str())
    }

    /// The region `app` was last seen in.
    pub fn last_region(&self, app: &str) -> Option<&str> {
        self.apps.get(app).map(|s| s.last.as_str())
    }

    /// Every switch of `app`, in order.
    pub fn switches(&self, app: &str) -> &[Switch<T>] {
        self.apps.get(app).map_or(&[], |s| s.switches.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: Route = Route::gateway("/");
    const S1: Route = Route::service("/service1", "service1");

    fn regions(gateway: Option<&str>, service: Option<&str>) -> Regions {
        Regions {
            gateway: gateway.map(str::to_owned),
            service: service.map(str::to_owned),
            fallback: None,
        }
    }

    #[test]
    fn regions_come_from_headers_and_are_sanitised() {
        let mut headers = HeaderMap::new();
        headers.insert("x-gateway-region", " us-east-1 ".parse().unwrap());
        headers.insert("x-service-region", "us west 2".parse().unwrap());
        let r = Regions::from_headers(&headers);
        assert_eq!(r, regions(Some("us-east-1"), None));
        assert!(r.lacks(Hop::Service) && !r.lacks(Hop::Gateway));
        assert_eq!(region_value(Some("us\x1b[31m")), None);
        assert_eq!(region_value(Some("x".repeat(65).as_str())), None);
        assert_eq!(region_value(Some("")), None);
    }

    #[test]
    fn a_body_names_the_region_only_when_no_header_did() {
        let body = br#"{"service": "service1", "region": "us-west-2"}"#;
        let mut r = regions(Some("us-east-1"), None);
        r.fill_from_body(Hop::Service, body);
        assert_eq!(r.get(Hop::Service), Some("us-west-2"));
        r.fill_from_body(Hop::Gateway, body);
        assert_eq!(r.get(Hop::Gateway), Some("us-east-1"), "the header wins");
        let mut r = Regions::default();
        r.fill_from_body(Hop::Gateway, b"<html>");
        r.fill_from_body(Hop::Service, br#"{"region": "us east 1"}"#);
        assert_eq!(r, Regions::default());
    }

    #[test]
    fn each_hop_stands_for_an_app() {
        assert_eq!((ROOT.app(), ROOT.last_hop()), (EXTERNAL_API, Hop::Gateway));
        assert_eq!((S1.app(), S1.last_hop()), ("service1", Hop::Service));
        let a = Answer::answered(200, regions(Some("us-east-1"), Some("us-west-2")));
        assert_eq!(a.region_of(&S1, EXTERNAL_API), Some("us-east-1"));
        assert_eq!(a.region_of(&S1, "service1"), Some("us-west-2"));
        assert_eq!(a.region_of(&S1, "service2"), None);
        assert_eq!(a.region_of(&ROOT, "service1"), None);
    }

    #[test]
    fn failures_and_status_labels() {
        let ok = Answer::answered(204, Regions::default());
        assert!(!ok.failed());
        assert_eq!(ok.status_label(), "204");
        let bad = Answer::answered(502, regions(Some("us-east-1"), None));
        assert!(bad.failed());
        assert_eq!(bad.region_of(&ROOT, EXTERNAL_API), Some("us-east-1"));
        assert_eq!(Answer::failed_with("timeout").status_label(), "timeout");
        let refused = Answer::failed_with("Connection refused");
        assert!(refused.failed());
        assert_eq!(refused.status_label(), "error");
        let cut = Answer {
            error: Some("body cut".into()),
            ..Answer::answered(200, Regions::default())
        };
        assert!(cut.failed());
        assert_eq!(cut.status_label(), "200");
    }

    #[test]
    fn the_tracker_records_switches_per_app() {
        let mut t = Tracker::default();
        assert_eq!(t.observe("service1", "us-east-1", 1), None);
        assert_eq!(t.observe("service2", "us-west-2", 1), None);
        assert_eq!(t.observe("service1", "us-east-1", 2), None);
        let sw = t.observe("service1", "us-west-2", 5).cloned();
        assert_eq!(
            sw,
            Some(Switch {
                from: "us-east-1".into(),
                to: "us-west-2".into(),
                time: 5,
                left: 2
            })
        );
        assert_eq!(t.observe("service1", "us-west-2", 6), None);
        assert_eq!(t.observe("service2", "us-west-2", 6), None);
        assert_eq!(
            t.observe("service1", "us-east-1", 7).map(|s| s.left),
            Some(6)
        );
        assert_eq!(t.first_region("service1"), Some("us-east-1"));
        assert_eq!(t.last_region("service1"), Some("us-east-1"));
        assert_eq!(t.switches("service1").len(), 2);
        assert_eq!(t.switches("service2"), &[]);
        assert_eq!(t.first_region("external-api"), None);
        assert_eq!(t.switches("external-api"), &[]);
    }
}
