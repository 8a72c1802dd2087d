//! `failover`: the operator's command for Route 53 ARC routing controls, against a real cluster or
//! the local emulator `arc-local`, with the same commands. The binary parses the command line and
//! hands over to [`cmd`]; everything else lives here.
//!
//! - [`cmd`]: `status`, `activate`/`deactivate` ([`cmd::update`]), `probe`, `check`, the plans
//!   (`evacuate`, `plan run`: [`cmd::plan`]) and `console`, each with its arguments, its model and
//!   its output.
//! - [`health`] and [`capacity`]: what a region's `/health` says (its build), and its ECS tasks
//!   and healthy targets through the AWS SDK.
//! - [`cluster`] and [`document`]: the cluster a command works on, its document and the
//!   routing-control client.
//! - [`hops`]: which region served each hop of a request and when an app moved, shared with the
//!   drill.
//! - [`audit`]: the record of every routing-control change, on stderr and in the report
//!   directory.
//! - [`error`]: every failure with its message and exit status.
//! - [`out`], [`table`], [`duration`], [`suggest`]: writing to stdout, text columns, the duration
//!   flags, and suggestions for unknown names.

pub mod audit;
pub mod capacity;
pub mod cluster;
pub mod cmd;
pub mod document;
pub mod duration;
pub mod error;
pub mod health;
pub mod hops;
pub mod out;
pub mod suggest;
pub mod table;

pub use error::Error;
