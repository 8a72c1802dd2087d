//! The follower loop every failover mode shares: look, keep the last answer on failure (static
//! stability), switch the upstream when the answer changes, look again when the mode says.
//!
//! A mode ([`Follow`]) says only what to ask and what an answer means; the loop owns the timing,
//! the upstream's status, the switch, the log lines and the shared metrics. Followers are the
//! only code that switches an upstream.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{Endpoint, Upstream};
use crate::metrics;

/// Why a look at DNS or the control plane failed. The upstream keeps its last answer.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("no answer for {host} within {timeout:?}")]
    DnsTimeout { host: String, timeout: Duration },
    #[error("lookup of {host} failed: {reason}")]
    Dns { host: String, reason: String },
    #[error("{host} has no addresses")]
    NoAddresses { host: String },
    /// The DNS server answered, but with no address: NXDOMAIN, no records, or an error code
    /// such as SERVFAIL (arc-local's answer when the active region's host has no DNS records,
    /// e.g. a stopped container's name).
    #[error("the DNS server answered {host} with {answer}")]
    DnsAnswered { host: String, answer: String },
    #[error(transparent)]
    ControlPlane(#[from] recovery::ArcError),
}

impl FollowError {
    /// Whether the source answered (with nothing usable) rather than could not be reached.
    pub fn answered(&self) -> bool {
        matches!(
            self,
            FollowError::NoAddresses { .. } | FollowError::DnsAnswered { .. }
        ) || matches!(self, FollowError::ControlPlane(e) if !matches!(e, recovery::ArcError::Unreachable(_)))
    }
}

/// An answer and when to look again, counted from the start of the look that gave it.
pub struct Looked<A> {
    pub answer: A,
    pub next: Duration,
}

/// A failover mode: what to ask, and which endpoint an answer points at.
pub trait Follow: Send + Sync + 'static {
    /// What a look returns: the address set (dns) or the active region (arc).
    type Answer: PartialEq + Send + Sync + 'static;
    /// `dns` or `arc`, for logs and metrics.
    const MODE: &'static str;

    /// The route this follower serves (logs and metrics).
    fn route(&self) -> &Arc<str>;
    /// One look at DNS or the control plane.
    fn look(&self) -> impl Future<Output = Result<Looked<Self::Answer>, FollowError>> + Send;
    /// How long after a failed look to look again.
    fn retry_after(&self) -> Duration;
    /// The endpoint new requests use for `answer`; `None` keeps the current one (an answer that
    /// names nothing this gateway can reach).
    fn endpoint(&self, answer: &Self::Answer) -> Option<Arc<Endpoint>>;
    /// An answer as `/ready` and the log show it.
    fn describe(answer: &Self::Answer) -> String;
    /// Called once the loop starts, and after each switch, with the answer in force.
    fn in_force(&self, _answer: Option<&Self::Answer>) {}
    /// Called after every look with whether it succeeded.
    fn looked(&self, _ok: bool) {}
}

/// Runs `mode` forever for `upstream`, starting from `current` (`None`: no answer yet) and
/// looking first after `wait`.
pub async fn run<F: Follow>(
    mode: F,
    upstream: Arc<Upstream>,
    mut current: Option<F::Answer>,
    wait: Duration,
) {
    let route = mode.route().clone();
    mode.in_force(current.as_ref());
    let mut next = Instant::now() + wait;
    loop {
        tokio::time::sleep_until(next).await;
        let started = Instant::now();
        match mode.look().await {
            Ok(Looked {
                answer,
                next: after,
            }) => {
                if !upstream.status().healthy {
                    tracing::info!(%route, mode = F::MODE, "failover source reachable again");
                }
                upstream.observe(Ok(()));
                mode.looked(true);
                if current.as_ref() != Some(&answer) {
                    if let Some(ep) = mode.endpoint(&answer) {
                        tracing::info!(
                            %route, mode = F::MODE,
                            from = %current.as_ref().map(F::describe).unwrap_or_default(),
                            to = %F::describe(&answer),
                            "failover target changed; new requests go to the new target"
                        );
                        upstream.switch(ep, F::describe(&answer));
                        metrics::failover_switch(&route, F::MODE);
                        mode.in_force(Some(&answer));
                        current = Some(answer);
                    }
                }
                next = started + after;
            }
            Err(e) => {
                if upstream.status().healthy {
                    // `current`, not `target`: the JSON line already has tracing's `target`.
                    let current = current.as_ref().map(F::describe).unwrap_or_default();
                    if e.answered() {
                        tracing::warn!(
                            %route, mode = F::MODE, error = %e, %current,
                            "failover source answered without a usable answer; keeping the last answer"
                        );
                    } else {
                        tracing::warn!(
                            %route, mode = F::MODE, error = %e, %current,
                            "failover source unreachable; keeping the last answer"
                        );
                    }
                }
                upstream.observe(Err(&e));
                mode.looked(false);
                metrics::follow_error(&route, F::MODE);
                next = started + mode.retry_after();
            }
        }
    }
}
