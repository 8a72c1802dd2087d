//! Limits: a bucket (steady rate and burst, GCRA; optionally a quota per period) per usage plan
//! and key, or per throttled route. [`Limits`] owns where the decision is made: in the process
//! (governor's keyed GCRA, shared by every worker) or in Redis ([`super::global`]), falling back
//! to this instance's share when Redis cannot answer in time.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::global::Global;
use super::period::{self, Clock};
use crate::config::{QuotaSpec, Rate};
use crate::metrics;

/// Why a limit refused a request.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    /// Over the rate: the next request would be admitted after this long.
    Rate { retry_after: Duration },
    /// The quota for the period is spent; it resets at `resets_at` (Unix seconds).
    Quota {
        resets_at: u64,
        retry_after: Duration,
    },
}

/// One limit: a rate, an optional quota, and the in-process state that decides it locally.
pub struct Bucket {
    /// `plan:NAME` or `route:NAME:POLICY`: the prefix of this bucket's keys in Redis.
    pub name: Arc<str>,
    pub rate: Rate,
    pub quota: Option<QuotaSpec>,
    local: Local,
}

impl Bucket {
    /// A bucket whose local state admits `1/share` of the limit (the whole of it with one
    /// instance; an instance's share while a global engine is unreachable).
    pub fn new(name: &str, rate: Rate, quota: Option<QuotaSpec>, share: u32) -> Bucket {
        let share = share.max(1);
        let per_second = rate.per_second / f64::from(share);
        let burst = (rate.burst / share).max(1);
        let gcra = Quota::with_period(Duration::from_secs_f64(1.0 / per_second))
            .expect("the rate is checked to be positive and finite")
            .allow_burst(NonZeroU32::new(burst).expect("at least 1"));
        Bucket {
            name: Arc::from(name),
            rate,
            quota,
            local: Local {
                limiter: RateLimiter::keyed(gcra),
                quota: quota.map(|q| LocalQuota {
                    spec: QuotaSpec {
                        limit: (q.limit / u64::from(share)).max(1),
                        period: q.period,
                    },
                    used: Mutex::new(HashMap::new()),
                }),
            },
        }
    }
}

struct Local {
    limiter: DefaultKeyedRateLimiter<Arc<str>>,
    quota: Option<LocalQuota>,
}

struct LocalQuota {
    spec: QuotaSpec,
    /// Per subject: the period counted and the requests admitted in it.
    used: Mutex<HashMap<Arc<str>, (u64, u64)>>,
}

impl Local {
    fn check(&self, subject: &Arc<str>, now: u64) -> Result<(), Refusal> {
        let Some(quota) = &self.quota else {
            return self.rate(subject);
        };
        let (index, resets_at) = period::current(quota.spec.period, now);
        // Held across the rate check so the count and the bucket agree between workers.
        let mut used = quota.used.lock().unwrap_or_else(|p| p.into_inner());
        let entry = used.entry(subject.clone()).or_insert((index, 0));
        if entry.0 != index {
            *entry = (index, 0);
        }
        if entry.1 >= quota.spec.limit {
            return Err(Refusal::Quota {
                resets_at,
                retry_after: Duration::from_secs(resets_at.saturating_sub(now)),
            });
        }
        self.rate(subject)?;
        entry.1 += 1;
        Ok(())
    }

    fn rate(&self, subject: &Arc<str>) -> Result<(), Refusal> {
        self.limiter
            .check_key(subject)
            .map_err(|not_until| Refusal::Rate {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            })
    }
}

/// Where limits are decided: in the process, or in Redis with the local share as fallback.
pub struct Limits {
    global: Option<Global>,
    clock: Clock,
}

impl Limits {
    pub fn new(global: Option<Global>, clock: Clock) -> Limits {
        Limits { global, clock }
    }

    /// The global engine, if limits are global.
    pub fn global(&self) -> Option<&Global> {
        self.global.as_ref()
    }

    /// Admits one request of `subject` (a key id, or the route) against `bucket`.
    pub async fn check(&self, bucket: &Bucket, subject: &Arc<str>) -> Result<(), Refusal> {
        let now = (self.clock)();
        if let Some(global) = &self.global {
            if let Some(decided) = global.decide(bucket, subject, now).await {
                return decided;
            }
            metrics::limit_fail_open(&bucket.name);
        }
        bucket.local.check(subject, now)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::config::Period;

    fn rate(per_second: f64, burst: u32) -> Rate {
        Rate { per_second, burst }
    }

    #[tokio::test]
    async fn burst_then_the_steady_rate() {
        let limits = Limits::new(None, period::system_clock());
        let bucket = Bucket::new("plan:t", rate(1.0, 3), None, 1);
        let a: Arc<str> = Arc::from("a");
        for _ in 0..3 {
            limits.check(&bucket, &a).await.unwrap();
        }
        match limits.check(&bucket, &a).await {
            Err(Refusal::Rate { retry_after }) => {
                assert!(retry_after > Duration::from_millis(900), "{retry_after:?}")
            }
            other => panic!("{other:?}"),
        }
        // Subjects have their own buckets.
        limits.check(&bucket, &Arc::from("b")).await.unwrap();
    }

    #[tokio::test]
    async fn a_quota_resets_at_the_period_boundary() {
        let now = Arc::new(AtomicU64::new(1_796_774_390)); // 2026-12-08T23:59:50Z
        let clock_now = now.clone();
        let limits = Limits::new(None, Arc::new(move || clock_now.load(Ordering::Relaxed)));
        let quota = QuotaSpec {
            limit: 2,
            period: Period::Day,
        };
        let bucket = Bucket::new("plan:q", rate(1000.0, 100), Some(quota), 1);
        let k: Arc<str> = Arc::from("k");
        limits.check(&bucket, &k).await.unwrap();
        limits.check(&bucket, &k).await.unwrap();
        assert_eq!(
            limits.check(&bucket, &k).await,
            Err(Refusal::Quota {
                resets_at: 1_796_774_400,
                retry_after: Duration::from_secs(10)
            })
        );
        now.store(1_796_774_400, Ordering::Relaxed);
        limits.check(&bucket, &k).await.unwrap();
    }

    #[test]
    fn a_share_divides_rate_burst_and_quota() {
        let quota = QuotaSpec {
            limit: 100,
            period: Period::Month,
        };
        let b = Bucket::new("plan:s", rate(10.0, 8), Some(quota), 4);
        let k: Arc<str> = Arc::from("k");
        for _ in 0..2 {
            b.local.check(&k, 0).unwrap();
        }
        assert!(matches!(b.local.check(&k, 0), Err(Refusal::Rate { .. })));
        assert_eq!(b.local.quota.as_ref().unwrap().spec.limit, 25);
    }
}
