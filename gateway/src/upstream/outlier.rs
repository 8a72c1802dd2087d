//! Outlier detection for one endpoint: consecutive connect failures eject it, a `/health` probe
//! after a growing, bounded, jittered backoff brings it back.
//!
//! The models are Envoy's outlier detection (`consecutive_gateway_failure`, an ejection time that
//! grows with each ejection up to `max_ejection_time`) and linkerd's failure accrual (consecutive
//! failures, then probes spaced by an exponential backoff with jitter). Unlike Envoy, an ejected
//! endpoint here is brought back by a probe rather than by a timer alone: a region that is still
//! down never gets client requests again just because time passed.
//!
//! Consecutive 5xx answers (Envoy's `consecutive_5xx`) eject too when the route asks for it
//! (`eject_after_5xx`): behind a load balancer a region whose targets are gone still accepts
//! connections and answers 502/503. Such an answer is returned as it is (its request may have been
//! handled); only the requests after the ejection go to the standby.
//!
//! The request path reads [`Outlier::is_ejected`] (one relaxed load) and, on success, clears the
//! failure counts only when they are not already zero, so a healthy endpoint costs no shared write.
//! Everything else runs only on failure.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Weak;
use std::time::Duration;

/// When an endpoint is ejected and how long it stays out between probes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Policy {
    /// Consecutive connect failures that eject (0: never).
    pub eject_after: u32,
    /// Consecutive 5xx answers that eject (0: never).
    pub eject_after_5xx: u32,
    /// The first wait before a probe.
    pub base: Duration,
    /// The longest wait between probes.
    pub max: Duration,
}

impl Policy {
    /// The wait before probe `n` (0-based): `base * 2^n`, at most `max`, less up to a fifth at
    /// random so that gateways which ejected together do not probe together. Never above `max`.
    pub fn backoff(&self, n: u32, jitter: f64) -> Duration {
        let grown = self.base.saturating_mul(1u32 << n.min(20)).min(self.max);
        grown.mul_f64(1.0 - 0.2 * jitter.clamp(0.0, 1.0))
    }
}

/// A number in `[0, 1)`, from the standard library's per-call random hasher keys (no extra
/// dependency; this is spacing, not cryptography).
pub fn jitter() -> f64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// One endpoint's outlier state.
#[derive(Debug, Default)]
pub struct Outlier {
    failures: AtomicU32,
    server_errors: AtomicU32,
    ejected: AtomicBool,
}

impl Outlier {
    /// Whether requests should avoid this endpoint now.
    #[inline]
    pub fn is_ejected(&self) -> bool {
        self.ejected.load(Ordering::Relaxed)
    }

    /// The endpoint answered below 500: both failure runs are over.
    #[inline]
    pub fn success(&self) {
        for run in [&self.failures, &self.server_errors] {
            if run.load(Ordering::Relaxed) != 0 {
                run.store(0, Ordering::Relaxed);
            }
        }
    }

    /// A connect failed. True when this failure ejected the endpoint: the caller then starts the
    /// probe ([`recover`]); exactly one caller sees true per ejection.
    pub fn failure(&self, policy: &Policy) -> bool {
        self.count(&self.failures, policy.eject_after)
    }

    /// The endpoint answered 5xx. True when this answer ejected it, as for [`Self::failure`].
    pub fn server_error(&self, policy: &Policy) -> bool {
        self.count(&self.server_errors, policy.eject_after_5xx)
    }

    fn count(&self, run: &AtomicU32, threshold: u32) -> bool {
        let n = run.fetch_add(1, Ordering::Relaxed) + 1;
        threshold != 0
            && n >= threshold
            && self
                .ejected
                .compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// A probe succeeded: the endpoint takes requests again.
    pub fn restore(&self) {
        self.failures.store(0, Ordering::Relaxed);
        self.server_errors.store(0, Ordering::Relaxed);
        self.ejected.store(false, Ordering::Relaxed);
    }
}

/// Probes an ejected endpoint until it answers, then restores it. Waits `policy.backoff(n)`
/// before probe `n`, so a region that stays down is asked ever less often, up to `policy.max`
/// apart. Ends without probing when the endpoint is gone (a dns answer or the gateway moved on).
/// Returns whether the endpoint was restored.
pub async fn recover<T, F, Fut>(
    target: Weak<T>,
    state: fn(&T) -> &Outlier,
    policy: Policy,
    mut probe: F,
) -> bool
where
    F: FnMut(std::sync::Arc<T>) -> Fut,
    Fut: Future<Output = bool>,
{
    let mut n = 0;
    loop {
        tokio::time::sleep(policy.backoff(n, jitter())).await;
        let Some(t) = target.upgrade() else {
            return false;
        };
        if probe(t.clone()).await {
            state(&t).restore();
            return true;
        }
        n = n.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    //! Paused time: the backoff below is virtual, the test takes milliseconds.

    use std::sync::{Arc, Mutex};

    use tokio::time::Instant;

    use super::*;

    const POLICY: Policy = Policy {
        eject_after: 3,
        eject_after_5xx: 2,
        base: Duration::from_secs(1),
        max: Duration::from_secs(5),
    };

    #[test]
    fn consecutive_failures_eject_once_and_a_success_resets_the_run() {
        let o = Outlier::default();
        assert!(!o.failure(&POLICY));
        o.success();
        assert!(!o.failure(&POLICY));
        assert!(!o.failure(&POLICY));
        assert!(!o.is_ejected(), "two in a row after a success");
        assert!(o.failure(&POLICY), "the third in a row ejects");
        assert!(o.is_ejected());
        assert!(!o.failure(&POLICY), "only one caller starts the probe");
        o.restore();
        assert!(!o.is_ejected());
        let never = Policy {
            eject_after: 0,
            ..POLICY
        };
        for _ in 0..100 {
            assert!(!o.failure(&never));
        }
    }

    #[test]
    fn consecutive_5xx_eject_on_their_own_count() {
        let o = Outlier::default();
        assert!(!o.failure(&POLICY));
        assert!(!o.server_error(&POLICY));
        o.success();
        assert!(!o.server_error(&POLICY));
        assert!(o.server_error(&POLICY), "the second 5xx in a row ejects");
        assert!(o.is_ejected());
        o.restore();
        let off = Policy {
            eject_after_5xx: 0,
            ..POLICY
        };
        for _ in 0..100 {
            assert!(!o.server_error(&off));
        }
        assert!(!o.is_ejected());
    }

    #[test]
    fn backoff_grows_is_bounded_and_jitter_only_shortens_it() {
        let s = |n, j| POLICY.backoff(n, j).as_millis();
        assert_eq!(
            [s(0, 0.0), s(1, 0.0), s(2, 0.0), s(3, 0.0)],
            [1000, 2000, 4000, 5000]
        );
        assert_eq!(s(40, 0.0), 5000, "no overflow for a long outage");
        assert_eq!(s(0, 1.0), 800);
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
            assert!(POLICY.backoff(9, j) <= POLICY.max);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_ejected_endpoint_is_probed_with_growing_waits_and_returns_on_success() {
        let o = Arc::new(Outlier::default());
        for _ in 0..3 {
            o.failure(&POLICY);
        }
        assert!(o.is_ejected());
        let probes = Arc::new(Mutex::new(Vec::new()));
        let start = Instant::now();
        let seen = probes.clone();
        let restored = recover(
            Arc::downgrade(&o),
            |o| o,
            POLICY,
            move |_| {
                let mut p = seen.lock().unwrap();
                p.push(start.elapsed());
                // Down for the first three probes, up at the fourth.
                std::future::ready(p.len() >= 4)
            },
        )
        .await;
        assert!(restored);
        assert!(!o.is_ejected());
        let at: Vec<Duration> = probes.lock().unwrap().clone();
        assert_eq!(at.len(), 4);
        // Waits of 1 s, 2 s, 4 s, 5 s (capped), each shortened by at most a fifth.
        let waits: Vec<Duration> = at
            .iter()
            .zip([Duration::ZERO].iter().chain(&at))
            .map(|(t, prev)| *t - *prev)
            .collect();
        for (w, full) in waits.iter().zip([1000u64, 2000, 4000, 5000]) {
            let full = Duration::from_millis(full);
            assert!(*w <= full && *w >= full.mul_f64(0.8), "{waits:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_stops_when_the_endpoint_is_gone() {
        let o = Arc::new(Outlier::default());
        let weak = Arc::downgrade(&o);
        drop(o);
        let restored = recover(weak, |o| o, POLICY, |_| async { panic!("no probe") }).await;
        assert!(!restored);
    }
}
