//! Global limits: every gateway instance of a region decides in one Redis (Valkey, ElastiCache),
//! with one round trip per limited request: an `EVALSHA` of a Lua GCRA script that checks the
//! period's quota and the bucket and commits both (Redis's native rate-limit command was never
//! released). Redis's own clock (`TIME`) times the bucket, so instances need not agree on time.
//!
//! A decision is bounded by `limits.timeout`, connect included. When Redis cannot answer in time
//! the request is judged by the instance's share of the limit instead (fail open, counted), the
//! episode is logged once, and from then on one request per `limits.retry_interval` tries Redis
//! again while the rest go straight to the local share: no request waits on a dead engine longer
//! than the timeout. The first answer ends the episode.
//!
//! Each worker thread keeps its own multiplexed connection (requests never leave their worker).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::IntoConnectionInfo;

use super::limit::{Bucket, Refusal};
use super::period;
use crate::config::{LimitsConfig, Secret};
use crate::metrics;

/// GCRA (the generic cell rate algorithm, as API Gateway's token bucket behaves) plus a period
/// quota, decided and committed atomically.
///
/// KEYS[1]: the bucket's theoretical arrival time, in µs of Redis time.
/// KEYS[2]: the period's request count.
/// ARGV: emission interval (µs), burst, quota (0: none), quota key's expiry (Unix seconds).
/// Returns {1, 0} admitted, {0, µs until admitted} over the rate, {2, 0} quota spent.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local used = 0
if limit > 0 then
  used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used >= limit then return {2, 0} end
end
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then return {0, allow_at - now} end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
if limit > 0 then
  redis.call('INCR', KEYS[2])
  if used == 0 then redis.call('EXPIREAT', KEYS[2], ARGV[4]) end
end
return {1, 0}
";

/// A Redis URL or password that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("limits.redis_url: {0}")]
pub struct GlobalError(#[from] redis::RedisError);

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This worker's connection to each engine (one per gateway in the process).
    static CONNECTIONS: RefCell<HashMap<usize, MultiplexedConnection>> = RefCell::new(HashMap::new());
}

/// The shared engine and how it is doing.
pub struct Global {
    client: redis::Client,
    script: redis::Script,
    timeout: Duration,
    retry_interval: Duration,
    id: usize,
    /// `host:port`, the metrics' `engine` label.
    label: Arc<str>,
    started: Instant,
    down: AtomicBool,
    /// While down: when (ms after `started`) the next request may try the engine.
    next_try: AtomicU64,
}

impl Global {
    /// Checks the URL and password; connects lazily, on each worker's first limited request.
    pub fn new(config: &LimitsConfig, password: Option<&Secret>) -> Result<Global, GlobalError> {
        let url = config.redis_url.as_deref().unwrap_or_default();
        let mut info = url.into_connection_info()?;
        if let Some(Secret(pw)) = password {
            info = info
                .clone()
                .set_redis_settings(info.redis_settings().clone().set_password(pw));
        }
        if url.starts_with("rediss://") {
            // The TLS client uses the bundled Mozilla roots (webpki-roots) and ring.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let label: Arc<str> = Arc::from(info.addr().to_string().as_str());
        metrics::limit_engine_up(&label, true);
        Ok(Global {
            label,
            client: redis::Client::open(info)?,
            script: redis::Script::new(SCRIPT),
            timeout: config.timeout,
            retry_interval: config.retry_interval,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            started: Instant::now(),
            down: AtomicBool::new(false),
            next_try: AtomicU64::new(0),
        })
    }

    /// Loads the script into Redis at start, so the first limited requests need one round trip
    /// (the connection the loading used is dropped: each worker makes its own). Bounded by a
    /// second; a failure is only logged: requests then load it themselves.
    pub async fn preload(&self) {
        let load = async {
            let mut conn = self.client.get_multiplexed_async_connection().await?;
            self.script.prepare_invoke().load_async(&mut conn).await
        };
        match tokio::time::timeout(Duration::from_secs(1), load).await {
            Ok(Ok(_)) => tracing::info!(engine = %self.label, "limit script loaded"),
            Ok(Err(e)) => {
                tracing::warn!(engine = %self.label, error = %e, "cannot load the limit script yet")
            }
            Err(_) => {
                tracing::warn!(engine = %self.label, "cannot load the limit script yet: no answer within 1s")
            }
        }
    }

    /// The script's SHA-1, as `EVALSHA` names it.
    pub fn script_hash(&self) -> &str {
        self.script.get_hash()
    }

    /// The engine's decision, or `None` when it could not be had in time (the caller then
    /// judges by the local share).
    pub async fn decide(
        &self,
        bucket: &Bucket,
        subject: &str,
        now: u64,
    ) -> Option<Result<(), Refusal>> {
        if self.down.load(Ordering::Relaxed) && !self.may_retry() {
            return None;
        }
        let outcome = tokio::time::timeout(self.timeout, self.call(bucket, subject, now)).await;
        match outcome {
            Ok(Ok(decision)) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    metrics::limit_engine_up(&self.label, true);
                    tracing::info!(engine = %self.label, "limit engine answers again: limits are global again");
                }
                Some(decision)
            }
            Ok(Err(e)) => {
                self.failed(&e.to_string());
                None
            }
            Err(_) => {
                self.failed(&format!("no answer within {:?}", self.timeout));
                None
            }
        }
    }

    /// While down, lets one request through per retry interval.
    fn may_retry(&self) -> bool {
        let now = self.started.elapsed().as_millis() as u64;
        let next = self.next_try.load(Ordering::Relaxed);
        now >= next
            && self
                .next_try
                .compare_exchange(
                    next,
                    now + self.retry_interval.as_millis() as u64,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    fn failed(&self, reason: &str) {
        CONNECTIONS.with(|c| c.borrow_mut().remove(&self.id));
        metrics::limit_engine_error(&self.label);
        let retry = self.started.elapsed() + self.retry_interval;
        self.next_try
            .store(retry.as_millis() as u64, Ordering::Relaxed);
        if !self.down.swap(true, Ordering::Relaxed) {
            metrics::limit_engine_up(&self.label, false);
            tracing::warn!(
                engine = %self.label,
                error = reason,
                "limit engine unreachable or slow: each instance admits its share of every limit until it answers"
            );
        }
    }

    async fn call(
        &self,
        bucket: &Bucket,
        subject: &str,
        now: u64,
    ) -> redis::RedisResult<Result<(), Refusal>> {
        let existing = CONNECTIONS.with(|c| c.borrow().get(&self.id).cloned());
        let mut conn = match existing {
            Some(c) => c,
            None => {
                let c = self.client.get_multiplexed_async_connection().await?;
                CONNECTIONS.with(|m| m.borrow_mut().insert(self.id, c.clone()));
                c
            }
        };
        let tag = format!("gw:{{{}:{subject}}}", bucket.name);
        let interval_us = (1e6 / bucket.rate.per_second).round().max(1.0) as u64;
        let (limit, index, resets_at) = match bucket.quota {
            Some(q) => {
                let (index, resets_at) = period::current(q.period, now);
                (q.limit, index, resets_at)
            }
            None => (0, 0, 0),
        };
        let (code, wait_us): (i64, i64) = self
            .script
            .key(format!("{tag}:r"))
            .key(format!("{tag}:q:{index}"))
            .arg(interval_us)
            .arg(bucket.rate.burst)
            .arg(limit)
            // Kept a day past the period's end: clocks of instances may differ a little.
            .arg(resets_at + 86_400)
            .invoke_async(&mut conn)
            .await?;
        Ok(match code {
            1 => Ok(()),
            2 => Err(Refusal::Quota {
                resets_at,
                retry_after: Duration::from_secs(resets_at.saturating_sub(now)),
            }),
            _ => Err(Refusal::Rate {
                retry_after: Duration::from_micros(wait_us.max(0) as u64),
            }),
        })
    }
}
