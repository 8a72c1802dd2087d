//! The tokio runtime, sized to the CPUs this process may use.
//!
//! `std::thread::available_parallelism` honours the CPU affinity mask and cgroup v2 quotas, so a
//! Fargate task with 0.5 vCPU gets one worker instead of one per host core. `WORKER_THREADS`
//! overrides it.

use crate::env::{self, EnvError};

/// How many worker threads `WORKER_THREADS` may ask for: the one rule the gateway and the
/// services share.
pub const WORKERS: std::ops::RangeInclusive<usize> = 1..=1024;

/// Why a `WORKER_THREADS` value outside [`WORKERS`] is refused.
pub const WORKERS_REASON: &str = "must be between 1 and 1024";

/// The CPUs this process may use (affinity mask and cgroup quota): the default worker count.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Builds a multi-threaded runtime with one worker per usable CPU (or `WORKER_THREADS`).
pub fn build() -> Result<tokio::runtime::Runtime, RuntimeError> {
    let workers = match env::parse::<usize>("WORKER_THREADS")? {
        Some(n) if WORKERS.contains(&n) => n,
        Some(n) => {
            return Err(EnvError::Invalid {
                name: "WORKER_THREADS",
                value: n.to_string(),
                reason: WORKERS_REASON.into(),
            }
            .into())
        }
        None => default_workers(),
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(RuntimeError::Io)
}

/// The runtime could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("cannot start the runtime: {0}")]
    Io(std::io::Error),
}
