//! A routing-control client for the ARC cluster data plane.
//!
//! A cluster has five regional endpoints and some are always in maintenance, so every call tries
//! the endpoints in a fresh random order, each signed with its own region and bounded by a per-call
//! timeout, and moves on when one is unreachable, times out, throttles or says "try another
//! endpoint". Answers that another endpoint would give too (validation, not found, conflict, access
//! denied) end the call at once. The AWS SDK does the wire protocol and signing; its own retries are
//! off because rotating endpoints is the retry.
//!
//! TLS is rustls with the bundled Mozilla roots (and an optional extra CA), never the operating
//! system's store, which `FROM scratch` images do not have ([`crate::tls`]).
//!
//! Endpoints with `http://` URLs, or whose host is not under `amazonaws.com`, are a local emulator
//! (arc-local, over HTTP or HTTPS): calls are signed with fixed local credentials and the AWS
//! credential chain is never consulted.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_route53recoverycluster::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_route53recoverycluster::types::{RoutingControlState, UpdateRoutingControlStateEntry};
use aws_sdk_route53recoverycluster::Client;

use crate::cluster::Endpoint;
use crate::model::ControlState;
use crate::tls::ExtraCa;

/// Why a call failed. `Conflict` carries the service's message, which names the safety rule.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ArcError {
    #[error("a safety rule blocked the change: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("the request was refused as invalid: {0}")]
    Validation(String),
    #[error("access denied: {0}")]
    AccessDenied(String),
    #[error("no cluster endpoint answered ({})", .0.join("; "))]
    Unreachable(Vec<String>),
    #[error("unexpected answer: {0}")]
    Other(String),
}

/// A routing control as `ListRoutingControls` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlInfo {
    pub arn: String,
    pub name: String,
    pub control_panel_arn: String,
    pub control_panel_name: String,
    pub state: ControlState,
}

/// Client settings.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Bound on one attempt against one endpoint (connect included).
    pub call_timeout: Duration,
    /// A CA to trust besides the bundled roots, for private `https://` endpoints ([`crate::tls`]).
    pub extra_ca: Option<ExtraCa>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            call_timeout: Duration::from_secs(2),
            extra_ca: None,
        }
    }
}

struct EndpointClient {
    region: String,
    client: Client,
}

/// Talks to the cluster through whichever endpoint answers.
pub struct ArcClient {
    endpoints: Vec<EndpointClient>,
    options: ClientOptions,
}

/// What one attempt against one endpoint came to.
enum Attempt {
    Final(ArcError),
    TryNext(String),
}

fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(err: SdkError<E>) -> Attempt {
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let message = e.message().unwrap_or("").to_owned();
            match e.code().unwrap_or("") {
                "ConflictException" => Attempt::Final(ArcError::Conflict(message)),
                "ResourceNotFoundException" => Attempt::Final(ArcError::NotFound(message)),
                "ValidationException" => Attempt::Final(ArcError::Validation(message)),
                "AccessDeniedException" => Attempt::Final(ArcError::AccessDenied(message)),
                code => Attempt::TryNext(format!("{code}: {message}")),
            }
        }
        SdkError::TimeoutError(_) => Attempt::TryNext("timed out".into()),
        SdkError::DispatchFailure(_) => {
            Attempt::TryNext(format!("unreachable: {}", innermost(&err)))
        }
        other => Attempt::TryNext(innermost(other)),
    }
}

/// Whether an endpoint is a local emulator rather than an AWS cluster endpoint.
pub fn is_local(url: &str) -> bool {
    if url.starts_with("http://") {
        return true;
    }
    let host = url
        .trim_start_matches("https://")
        .split(['/', ':'])
        .next()
        .unwrap_or("")
        .trim_end_matches('.')
        .to_ascii_lowercase();
    !(host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"))
}

impl ArcClient {
    /// Builds a client per endpoint. For AWS endpoints, credentials come from the AWS chain
    /// (environment, ECS task role, ...); for a local emulator, fixed local credentials.
    pub async fn new(endpoints: &[Endpoint], options: ClientOptions) -> ArcClient {
        let local = endpoints.iter().all(|e| is_local(&e.url));
        let first_region = endpoints
            .first()
            .map_or_else(|| "us-east-1".to_owned(), |e| e.region.clone());
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            // rustls with the bundled roots: the images have no operating-system CA store.
            .http_client(crate::tls::http_client(options.extra_ca.as_ref()))
            .region(Region::new(first_region))
            .retry_config(RetryConfig::disabled())
            // The attempt as a whole is bounded once, by `call` (which also covers credential
            // resolution); the SDK only bounds the TCP connect.
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(options.call_timeout)
                    .build(),
            );
        if local {
            loader = loader.credentials_provider(aws_credential_types::Credentials::new(
                "LOCALARC",
                "local",
                None,
                None,
                "arc-local",
            ));
        }
        let shared = loader.load().await;
        let endpoints = endpoints
            .iter()
            .map(|e| {
                let conf = aws_sdk_route53recoverycluster::config::Builder::from(&shared)
                    .endpoint_url(e.url.clone())
                    .region(Region::new(e.region.clone()))
                    .build();
                EndpointClient {
                    region: e.region.clone(),
                    client: Client::from_conf(conf),
                }
            })
            .collect();
        ArcClient { endpoints, options }
    }

    /// Runs `op` against endpoints in a random order until one gives a final answer.
    async fn call<T, F, Fut>(&self, op: F) -> Result<T, ArcError>
    where
        F: Fn(Client) -> Fut,
        Fut: std::future::Future<Output = Result<T, Attempt>>,
    {
        let mut order: Vec<usize> = (0..self.endpoints.len()).collect();
        fastrand::shuffle(&mut order);
        let mut failures = Vec::new();
        for i in order {
            let ep = &self.endpoints[i];
            match tokio::time::timeout(self.options.call_timeout, op(ep.client.clone())).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(Attempt::Final(e))) => return Err(e),
                Ok(Err(Attempt::TryNext(reason))) => {
                    tracing::debug!(endpoint = %ep.region, %reason, "cluster endpoint failed, trying the next");
                    failures.push(format!("{}: {reason}", ep.region));
                }
                Err(_) => failures.push(format!("{}: timed out", ep.region)),
            }
        }
        Err(ArcError::Unreachable(failures))
    }

    /// `GetRoutingControlState`.
    pub async fn get_state(&self, arn: &str) -> Result<ControlState, ArcError> {
        self.call(|c| async move {
            let out = c
                .get_routing_control_state()
                .routing_control_arn(arn)
                .send()
                .await
                .map_err(classify)?;
            state_from(out.routing_control_state())
        })
        .await
    }

    /// `ListRoutingControls`, all pages, optionally for one control panel.
    pub async fn list(
        &self,
        control_panel_arn: Option<&str>,
    ) -> Result<Vec<ControlInfo>, ArcError> {
        self.call(|c| async move {
            let mut all = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let out = c
                    .list_routing_controls()
                    .set_control_panel_arn(control_panel_arn.map(str::to_owned))
                    .set_next_token(token.take())
                    .max_results(100)
                    .send()
                    .await
                    .map_err(classify)?;
                for rc in out.routing_controls() {
                    all.push(ControlInfo {
                        arn: rc.routing_control_arn().unwrap_or_default().to_owned(),
                        name: rc.routing_control_name().unwrap_or_default().to_owned(),
                        control_panel_arn: rc.control_panel_arn().unwrap_or_default().to_owned(),
                        control_panel_name: rc.control_panel_name().unwrap_or_default().to_owned(),
                        state: match rc.routing_control_state() {
                            Some(s) => state_from(s)?,
                            None => {
                                return Err(Attempt::Final(ArcError::Other(
                                    "a routing control without a state".into(),
                                )))
                            }
                        },
                    });
                }
                match out.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                    _ => return Ok(all),
                }
            }
        })
        .await
    }

    /// `UpdateRoutingControlStates`: all entries in one call (at most 10), applied together or not at all.
    pub async fn update(
        &self,
        entries: &[(String, ControlState)],
        safety_rules_to_override: &[String],
    ) -> Result<(), ArcError> {
        let entries: Vec<UpdateRoutingControlStateEntry> = entries
            .iter()
            .map(|(arn, state)| {
                UpdateRoutingControlStateEntry::builder()
                    .routing_control_arn(arn)
                    .routing_control_state(RoutingControlState::from(state.as_str()))
                    .build()
                    .map_err(|e| ArcError::Validation(e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        self.call(|c| {
            let entries = entries.clone();
            async move {
                c.update_routing_control_states()
                    .set_update_routing_control_state_entries(Some(entries))
                    .set_safety_rules_to_override(Some(safety_rules_to_override.to_vec()))
                    .send()
                    .await
                    .map_err(classify)?;
                Ok(())
            }
        })
        .await
    }
}

/// The message of the deepest error in a chain ("Connection refused"), not the SDK's wrapper or debug dump.
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn state_from(s: &RoutingControlState) -> Result<ControlState, Attempt> {
    match s {
        RoutingControlState::On => Ok(ControlState::On),
        RoutingControlState::Off => Ok(ControlState::Off),
        other => Err(Attempt::Final(ArcError::Other(format!(
            "unknown routing control state {:?}",
            other.as_str()
        )))),
    }
}
