//! What the gateways see that the routing controls do not: which regional endpoints their outlier
//! detection has ejected (`GET <gateway>/ready`, `upstreams.<route>.ejected`). While an app's
//! active region is ejected, the gateways serve it from the standby through their regional
//! fallback, before anyone moves the app; `status --gateway URL` shows it next to the controls.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request};
use http_body_util::{BodyExt, Empty, Limited};

use crate::cmd::probe::request::{root_cause, HttpClient};

/// How many body bytes a `/ready` answer may have.
const BODY_LIMIT: usize = 256 * 1024;

/// What the asked gateways said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ejections {
    /// How many gateways answered `/ready`.
    pub reached: usize,
    /// Gateways that did not, and why.
    pub unreachable: Vec<(String, String)>,
    /// App (route name) -> region -> how many gateways have it ejected.
    pub ejected: BTreeMap<String, BTreeMap<String, usize>>,
}

impl Ejections {
    /// How many gateways were asked.
    pub fn asked(&self) -> usize {
        self.reached + self.unreachable.len()
    }

    /// How many gateways have `app`'s endpoint in `region` ejected.
    pub fn count(&self, app: &str, region: &str) -> usize {
        self.ejected
            .get(app)
            .and_then(|r| r.get(region))
            .copied()
            .unwrap_or(0)
    }
}

/// Asks every gateway in `urls` for its `/ready`, concurrently, each within `timeout`.
pub async fn read(client: &HttpClient, urls: &[String], timeout: Duration) -> Ejections {
    let asks = urls.iter().map(|url| async move {
        let ready = format!("{}/ready", url.trim_end_matches('/'));
        let outcome = tokio::time::timeout(timeout, ask(client, &ready))
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "no answer within {}",
                    humantime::format_duration(timeout)
                ))
            });
        (url.clone(), outcome)
    });
    let mut out = Ejections::default();
    for (url, outcome) in futures_util::future::join_all(asks).await {
        match outcome {
            Ok(per_route) => {
                out.reached += 1;
                for (route, regions) in per_route {
                    let counts = out.ejected.entry(route).or_default();
                    for region in regions {
                        *counts.entry(region).or_default() += 1;
                    }
                }
            }
            Err(e) => out.unreachable.push((url, e)),
        }
    }
    out
}

/// One gateway's ejected endpoints, by route.
async fn ask(client: &HttpClient, url: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let request = Request::get(url)
        .header(
            header::USER_AGENT,
            concat!("failover-status/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("bad URL {url:?}: {e}"))?;
    let response = client.request(request).await.map_err(|e| root_cause(&e))?;
    let status = response.status();
    let body = Limited::new(response.into_body(), BODY_LIMIT)
        .collect()
        .await
        .map_err(|e| format!("reading the body: {e}"))?
        .to_bytes();
    // 503 is a draining gateway: its upstreams are still worth reading.
    if !(status.is_success() || status == http::StatusCode::SERVICE_UNAVAILABLE) {
        return Err(format!("answered {status}"));
    }
    parse(&body)
}

/// The `upstreams.<route>.ejected` lists of a gateway's `/ready` body.
fn parse(body: &[u8]) -> Result<Vec<(String, Vec<String>)>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not a /ready body: {e}"))?;
    let upstreams = value
        .get("upstreams")
        .and_then(|u| u.as_object())
        .ok_or("not a gateway's /ready body (no upstreams)")?;
    Ok(upstreams
        .iter()
        .map(|(route, u)| {
            let ejected = u
                .get("ejected")
                .and_then(|e| e.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            (route.clone(), ejected)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ejected_lists_are_read_by_route() {
        let body = br#"{"status":"ready","upstreams":{
            "service1":{"mode":"dns","ejected":[]},
            "service2":{"mode":"arc","ejected":["us-east-1"]},
            "old":{"mode":"static"}}}"#;
        let mut got = parse(body).unwrap();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("old".to_owned(), vec![]),
                ("service1".to_owned(), vec![]),
                ("service2".to_owned(), vec!["us-east-1".to_owned()]),
            ]
        );
        assert!(parse(b"<html>").is_err());
        assert!(parse(br#"{"status":"ok"}"#).is_err());
    }
}
