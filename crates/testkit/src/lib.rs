//! What the project's tests (and the loopback drill) share, so that each harness is written once.
//!
//! - [`process`]: start a real binary with arguments and environment, wait (bounded) until it
//!   listens, fail with what it printed if it exits or never listens, signal it without a shell,
//!   collect its output, kill it on drop; find and build the workspace's binaries.
//! - [`ports`]: free loopback ports, single or in consecutive ranges, TCP or TCP and UDP.
//! - [`http`]: raw HTTP/1.1 over `TcpStream` (blocking and tokio): request bytes, whole answers,
//!   one response on a kept-alive connection, request heads, reading until the peer closes.
//! - [`json`]: whether a JSON text repeats a key in an object (which `serde_json::Value` and `jq`
//!   hide by keeping one).
//! - [`metrics`]: scrape a Prometheus text endpoint and read a series by name and labels.
//! - [`temp`]: temporary directories removed on drop (`tempfile`).
//!
//! Randomness comes from [`fastrand`], re-exported so that users need no dependency of their own.

pub mod http;
pub mod json;
pub mod metrics;
pub mod ports;
pub mod process;
pub mod temp;

pub use fastrand;
