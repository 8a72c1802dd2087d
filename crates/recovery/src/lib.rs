//! Route 53 Application Recovery Controller (ARC) for this project.
//!
//! - [`model`]: apps, regions, routing-control states, safety rules, and the Route 53 failover rule
//!   that turns control states into the region an app is active in.
//! - [`cluster`]: the cluster document (docs/cluster.md), the one JSON description of the cluster
//!   that Terraform outputs and the emulator, the `failover` command and the gateway read.
//! - [`client`]: a routing-control client on the AWS SDK that tries the cluster's regional
//!   endpoints in rotation, each signed with its own region, and returns typed errors.

pub mod client;
pub mod cluster;
pub mod local;
pub mod model;
pub mod tls;

pub use client::ControlInfo;
pub use client::{ArcClient, ArcError, ClientOptions};
pub use cluster::{
    AppEntry, ClusterDocument, DocumentError, EcsService, Endpoint, RegionEntry, GATEWAY_APP,
};
pub use model::{active_region, ControlState, RuleConfig, RuleType, SafetyRule};
