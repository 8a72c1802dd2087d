//! The policy phase: what a route's policies decide about a request between routing and the
//! upstream (pingora's `request_filter`, linkerd's per-route policy).
//!
//! A route carries a [`Chain`]: its policies in the order its `policies = [...]` names them,
//! built once at start-up from `[policy.NAME]` tables ([`Home::chain`]). Each policy sees the
//! request head and the [`Exchange`] and either lets the request continue, possibly adding
//! request fields for the upstream (the key's id and plan) or response fields for the client
//! ([`Exchange::response_fields`]), or ends it: with a refusal (a [`ProxyError`], answered like
//! every other one) or with an answer of its own ([`Verdict::Answer`]). A route without policies
//! pays one branch.
//!
//! State that outlives a request has one owner here, shared by the workers: the key set
//! ([`keys::KeyStore`], swapped whole on reload), the buckets ([`limit::Bucket`], one per plan
//! and one per throttled route) and where limits are decided ([`limit::Limits`]: in the process
//! or in Redis, [`global`]).
//!
//! Policies: `api_key` (a known, enabled key in `x-api-key`, or 403; then the key's usage plan)
//! and `rate_limit` (one limit for the route, all clients together).

pub mod global;
pub mod keys;
pub mod limit;
pub mod period;
mod reload;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use http::{HeaderMap, HeaderName};

use crate::config::{KeySource, LimitMode, PolicyConfig, PolicySpec};
use crate::error::ProxyError;
use crate::metrics;
use crate::telemetry::Exchange;
use global::{Global, GlobalError};
use keys::{KeyError, KeySet, KeyStore};
use limit::{Bucket, Limits, Refusal};
use period::Clock;

/// Where a client presents its API key (API Gateway's header).
pub static X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
/// Request fields the gateway sets for the upstream: the calling key's id and its plan. Any
/// copy a client sent is removed on every route while keys are configured, so an upstream can
/// believe them (and `x-api-key` never reaches an upstream then).
pub static KEY_ID: HeaderName = HeaderName::from_static("x-gateway-key-id");
pub static KEY_PLAN: HeaderName = HeaderName::from_static("x-gateway-key-plan");

/// A background task the gateway runs on its control thread (the key file's watcher).
pub type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What the policies decided.
#[derive(Debug)]
pub enum Verdict {
    /// On to the upstream.
    Continue,
    /// Answered by a policy without the upstream (a CORS preflight, say); the response fields
    /// are still added.
    Answer(Response),
}

/// The policy state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("API keys: {0}")]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Global(#[from] GlobalError),
}

/// A route's policies, in order.
#[derive(Default)]
pub struct Chain {
    steps: Box<[Step]>,
    /// Remove client copies of the fields the gateway sets.
    strip: bool,
}

enum Step {
    ApiKey(Arc<KeyPolicy>),
    RateLimit {
        bucket: Arc<Bucket>,
        limits: Arc<Limits>,
        subject: Arc<str>,
    },
}

/// The `api_key` policy, one for every route that names one.
struct KeyPolicy {
    keys: Arc<KeyStore>,
    plans: HashMap<Arc<str>, Arc<Bucket>>,
    limits: Arc<Limits>,
}

/// Owns the state policies share, and builds each route's chain.
pub struct Home {
    key_policy: Option<Arc<KeyPolicy>>,
    limits: Arc<Limits>,
    specs: BTreeMap<String, PolicySpec>,
    share: u32,
}

impl Home {
    /// Loads the key set (an error stops the start); returns the background tasks: the key
    /// file's watcher when the keys come from a file, and in global mode the script's loading
    /// into Redis ([`Global::preload`]; workers connect on their first limited request).
    pub fn build(config: &PolicyConfig, clock: Clock) -> Result<(Home, Vec<Task>), PolicyError> {
        let global = match config.limits.mode {
            LimitMode::Local => None,
            LimitMode::Global => Some(Global::new(&config.limits, config.redis_password.as_ref())?),
        };
        let share = match config.limits.mode {
            LimitMode::Local => 1,
            LimitMode::Global => config.limits.expected_instances,
        };
        let limits = Arc::new(Limits::new(global, clock));
        let mut tasks: Vec<Task> = Vec::new();
        if limits.global().is_some() {
            let limits = limits.clone();
            tasks.push(Box::pin(async move {
                if let Some(global) = limits.global() {
                    global.preload().await;
                }
            }));
        }
        let plans = config
            .plans
            .iter()
            .map(|(name, plan)| {
                let bucket = Bucket::new(&format!("plan:{name}"), plan.rate, plan.quota, share);
                (Arc::from(name.as_str()), Arc::new(bucket))
            })
            .collect::<HashMap<Arc<str>, _>>();
        let key_policy = match &config.keys {
            None => None,
            Some(source) => {
                let store = Arc::new(KeyStore::new(
                    KeySet::default(),
                    config.plans.keys().cloned().collect(),
                ));
                match source {
                    KeySource::Inline(secret) => {
                        let set = store.parse(&secret.0, "API_KEYS")?;
                        metrics::api_keys_loaded(set.len());
                        tracing::info!(keys = set.len(), "API keys loaded from API_KEYS");
                        store.replace(set);
                    }
                    KeySource::File(path) => {
                        let last = reload::first_load(&store, path)?;
                        let watch = reload::watch(
                            store.clone(),
                            path.clone(),
                            config.api_keys.reload_interval,
                            last,
                            reload::hangup(),
                        );
                        tasks.push(Box::pin(watch));
                    }
                }
                Some(Arc::new(KeyPolicy {
                    keys: store,
                    plans,
                    limits: limits.clone(),
                }))
            }
        };
        let home = Home {
            key_policy,
            limits,
            specs: config.policies.clone(),
            share,
        };
        Ok((home, tasks))
    }

    /// The chain of the route `route` that names `names` (checked by the configuration).
    pub fn chain(&self, route: &str, names: &[String]) -> Chain {
        let steps = names
            .iter()
            .filter_map(|name| match self.specs.get(name)? {
                PolicySpec::ApiKey => self.key_policy.clone().map(Step::ApiKey),
                PolicySpec::RateLimit(rate) => Some(Step::RateLimit {
                    bucket: Arc::new(Bucket::new(
                        &format!("route:{route}:{name}"),
                        *rate,
                        None,
                        self.share,
                    )),
                    limits: self.limits.clone(),
                    subject: Arc::from(route),
                }),
            })
            .collect();
        Chain {
            steps,
            strip: self.key_policy.is_some(),
        }
    }
}

impl Chain {
    /// Whether the phase has nothing to do for this route.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && !self.strip
    }

    /// Runs the route's policies in order; the first that refuses ends the request.
    pub async fn run<B>(
        &self,
        req: &mut http::Request<B>,
        _ex: &mut Exchange,
    ) -> Result<Verdict, ProxyError> {
        let headers = req.headers_mut();
        if self.strip {
            headers.remove(&KEY_ID);
            headers.remove(&KEY_PLAN);
        }
        for step in self.steps.iter() {
            match step {
                Step::ApiKey(policy) => policy.check(headers).await?,
                Step::RateLimit {
                    bucket,
                    limits,
                    subject,
                } => limits.check(bucket, subject).await.map_err(refusal)?,
            }
        }
        if self.strip {
            // A key sent to a route that needs none is not the upstream's to see either.
            headers.remove(&X_API_KEY);
        }
        Ok(Verdict::Continue)
    }
}

impl KeyPolicy {
    /// API Gateway's contract: no key, an unknown key or a disabled key is 403 (the key is not
    /// an HTTP authentication scheme, so 401 and its `WWW-Authenticate` challenge would not
    /// fit, and clients written against API Gateway expect 403). The key never reaches the
    /// upstream; the key's id and plan do.
    async fn check(&self, headers: &mut HeaderMap) -> Result<(), ProxyError> {
        let Some(presented) = headers.remove(&X_API_KEY) else {
            metrics::api_key_refused("missing");
            return Err(ProxyError::Forbidden("api_key_missing"));
        };
        let key = {
            let set = self.keys.load();
            match set.find(presented.as_bytes()) {
                Some(key) if key.enabled => key.clone(),
                found => {
                    metrics::api_key_refused(if found.is_some() {
                        "disabled"
                    } else {
                        "unknown"
                    });
                    return Err(ProxyError::Forbidden("api_key_invalid"));
                }
            }
        };
        headers.insert(KEY_ID.clone(), key.id_field.clone());
        if let Some(plan) = &key.plan_field {
            headers.insert(KEY_PLAN.clone(), plan.clone());
        }
        if let Some(bucket) = key.plan.as_ref().and_then(|p| self.plans.get(p)) {
            self.limits.check(bucket, &key.id).await.map_err(refusal)?;
        }
        Ok(())
    }
}

/// A limit's refusal as the answer: 429 with `Retry-After` in whole seconds, rounded up
/// (RFC 9110 section 10.2.3; RFC 6585 section 4).
fn refusal(r: Refusal) -> ProxyError {
    let secs = |d: Duration| d.as_secs() + u64::from(d.subsec_nanos() > 0);
    match r {
        Refusal::Rate { retry_after } => ProxyError::RateLimited {
            retry_after: secs(retry_after).max(1),
        },
        Refusal::Quota {
            resets_at,
            retry_after,
        } => ProxyError::QuotaExhausted {
            retry_after: secs(retry_after).max(1),
            resets_at: period::rfc3339(resets_at),
        },
    }
}
