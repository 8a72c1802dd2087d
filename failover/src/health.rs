//! A regional endpoint's `/health`: whether it answers, how fast, and which build it runs
//! (`{"status":"ok","version":...,"commit":...}`, [`bootstrap::build_info`]). Read by `check`
//! and by the plans' gates.

use std::time::{Duration, Instant};

use bootstrap::build_info::Health;
use bytes::Bytes;
use http::{header, Request};
use http_body_util::{BodyExt, Empty, Limited};
use serde::Serialize;

use crate::cmd::probe::request::{root_cause, HttpClient};

/// How many body bytes a health answer may have.
const BODY_LIMIT: usize = 16 * 1024;

/// What `GET <url>/health` came to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reading {
    /// The URL asked.
    pub url: String,
    /// The build it runs, when it answered 200 with a health body.
    pub build: Option<Build>,
    /// Why it is not healthy (refused, timeout, a status, not a health body).
    pub error: Option<String>,
    /// How long the exchange took, in milliseconds.
    pub took_ms: u64,
}

/// A version and commit, as `/health` reports them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Build {
    pub version: String,
    pub commit: String,
}

impl std::fmt::Display for Build {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = if self.version.is_empty() {
            "(no version)"
        } else {
            &self.version
        };
        let c = if self.commit.is_empty() {
            "(no commit)"
        } else {
            &self.commit
        };
        write!(f, "{v} (commit {c})")
    }
}

impl Reading {
    /// Whether the endpoint answered healthy.
    pub fn healthy(&self) -> bool {
        self.build.is_some()
    }
}

/// `GET <base>/health` within `timeout` (connect included).
pub async fn read(client: &HttpClient, base: &str, timeout: Duration) -> Reading {
    let url = format!("{}/health", base.trim_end_matches('/'));
    let started = Instant::now();
    let outcome = tokio::time::timeout(timeout, exchange(client, &url))
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no answer within {}",
                humantime::format_duration(timeout)
            ))
        });
    let took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Ok(build) => Reading {
            url,
            build: Some(build),
            error: None,
            took_ms,
        },
        Err(error) => Reading {
            url,
            build: None,
            error: Some(error),
            took_ms,
        },
    }
}

async fn exchange(client: &HttpClient, url: &str) -> Result<Build, String> {
    let request = Request::get(url)
        .header(
            header::USER_AGENT,
            concat!("failover-check/", env!("CARGO_PKG_VERSION")),
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
    if status != http::StatusCode::OK {
        return Err(format!("answered {status}"));
    }
    let health = Health::parse(&body)?;
    if health.status != "ok" {
        return Err(format!("status {:?}, not \"ok\"", health.status));
    }
    Ok(Build {
        version: health.version,
        commit: health.commit,
    })
}
