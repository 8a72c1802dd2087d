//! arc-local: a local Route 53 ARC cluster — the routing-control data plane on five ports, the
//! recovery-control-config API on one more — and Route 53 failover DNS for the apps' hostnames,
//! to rehearse failovers offline. The `arc-local` binary is this library behind a command line.
//!
//! Start one in-process (the tests of this workspace do):
//!
//! ```no_run
//! use arc_local::{Emulator, ErrorCode, Fault, Operation, Settings};
//!
//! let dir = std::env::temp_dir().join("arc-local-example");
//! // 127.0.0.1, every port picked by the system, the default topology.
//! let emulator = Emulator::start(Settings::loopback(dir.join("state.json"))).unwrap();
//! let document = emulator.document(); // the cluster document that reaches it
//! // The next two ListRoutingControls calls, on any endpoint, are throttled.
//! emulator.faults().add(
//!     Fault::error(ErrorCode::Throttling).on(Operation::ListRoutingControls).times(2),
//! );
//! // ... run a client against `document` ...
//! for call in emulator.calls() {
//!     println!("{} {:?} {:?}", call.region, call.operation, call.status);
//! }
//! // Dropping the emulator shuts it down.
//! ```
//!
//! Module map: [`settings`] (what to serve, where), [`emulator`] (the in-process handle),
//! [`faults`] (the fault hook), [`journal`] (calls seen), `server` (binding, serving, shutdown),
//! `listener` (plain or TLS ports, unreachable endpoints, cut connections), `data_plane` and
//! `control_config` (the two APIs, each sliced by job: protocol, read, list, update, ...), `wire`
//! (what both APIs share), `topology`, `catalog`, `state` and `rules` (what is served, kept and
//! enforced), `dns`, `tls`.

mod catalog;
mod control_config;
mod data_plane;
mod dns;
pub mod emulator;
pub mod faults;
pub mod journal;
mod lifecycle;
mod listener;
mod rules;
mod server;
pub mod settings;
mod state;
mod state_file;
mod tls;
mod topology;
mod wire;

use std::path::Path;
use std::time::Duration;

pub use emulator::{Emulator, Ports, SetStatesError};
pub use faults::{
    endpoint_index, EndpointFault, ErrorCode, Fault, FaultId, Faults, Misbehaviour, Operation,
    UnknownFault,
};
pub use journal::Call;
pub use listener::ReachError;
pub use server::{serve, ServeError, StartError};
pub use settings::{Settings, TlsSettings, TopologySource};
pub use state::{ApplyError, StateError};
pub use tls::{ProbeError, TlsError, CA_FILE};
pub use topology::TopologyError;

/// Why the healthcheck failed.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error(transparent)]
    Http(#[from] bootstrap::healthcheck::HealthError),
    #[error(transparent)]
    Https(#[from] ProbeError),
    #[error("cannot start the healthcheck's runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// `GET /health` on 127.0.0.1:`port`: over HTTPS trusting only `ca_file` when given, else plain
/// HTTP. Ok when it answers 2xx within `timeout`. Blocking.
pub fn healthcheck(
    port: u16,
    ca_file: Option<&Path>,
    timeout: Duration,
) -> Result<(), HealthError> {
    if let Some(ca) = ca_file {
        return Ok(tls::probe(port, "/health", ca, timeout)?);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(bootstrap::healthcheck::probe(port, "/health", timeout))?;
    Ok(())
}
