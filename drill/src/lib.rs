//! The DR drill on loopback, as a library the tests and the `drill` benchmark binary share.
//!
//! [`system`] starts the whole two-region system from the real binaries: arc-local (ARC data plane
//! and failover DNS), and for each region a gateway, service1 and service2, each region on its own
//! loopback addresses (127.0.1.x is us-east-1, 127.0.2.x is us-west-2) so that DNS answers, which
//! carry addresses but no ports, can tell the regions apart. [`traffic`] plays the internet: it
//! resolves `externalapi.example.com` through arc-local's DNS, as a client on the internet would
//! through Route 53, and sends continuous requests of every kind the services offer, recording
//! which regions served each one (read and followed with `failover::hops`, as `failover probe`
//! does). [`scenario`] runs the original rehearsal and measures each switch. [`bins`] finds (and
//! if needed builds) the binaries.

pub mod bins;
pub mod scenario;
pub mod system;
pub mod traffic;
pub mod unplanned;
