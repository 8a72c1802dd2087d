//! The tokio runtime, sized to the CPUs this process may use.
//!
//! `std::thread::available_parallelism` honours the CPU affinity mask and cgroup v2 quotas, so a
//! Fargate task with 0.5 vCPU gets one worker instead of one per host core. `WORKER_THREADS`
//! overrides it.

use crate::env::{self, EnvError};

/// Builds a multi-threaded runtime with one worker per usable CPU (or `WORKER_THREADS`).
pub fn build() -> Result<tokio::runtime::Runtime, RuntimeError> {
    let workers = match env::parse::<usize>("WORKER_THREADS")? {
        Some(0) => {
            return Err(EnvError::Invalid {
                name: "WORKER_THREADS",
                value: "0".into(),
                reason: "at least one worker thread is needed".into(),
            }
            .into())
        }
        Some(n) => n.min(1024),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
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
