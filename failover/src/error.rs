//! Every way a command fails, each with its message and its exit status: 2 for bad usage or input
//! (a bad `--ca-file`, cluster document, app, region, safety rule or `--url`), 1 for an operation
//! that failed (the cluster unreachable, an update call that failed). A command that ran and
//! reported its own failure (a blocked change, failed probe requests) is not an error: it prints
//! its report and ends with status 1.

use std::fmt;

use recovery::{ArcError, DocumentError};

use crate::cmd::plan::builtin::EvacuateError;
use crate::cmd::plan::file::PlanError;
use crate::cmd::plan::report::WriteError;
use crate::cmd::probe::{BadUrl, SetupError};
use crate::cmd::status::StatusError;
use crate::cmd::update::InputError;

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// `--ca-file` names a file that cannot be used.
    #[error("--ca-file: {0}")]
    CaFile(recovery::tls::CaError),
    /// The cluster document cannot be read or is not valid.
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// `activate` or `deactivate` asked for something the document does not have.
    #[error(transparent)]
    Input(#[from] InputError),
    /// `probe --url` is not a URL it can probe.
    #[error(transparent)]
    Url(#[from] BadUrl),
    /// The routing controls could not be read.
    #[error(transparent)]
    Status(#[from] StatusError),
    /// The update call failed (other than a safety rule blocking it).
    #[error("UpdateRoutingControlStates for {app} failed (check `failover status`: a call that timed out may still have been applied)")]
    Update {
        app: String,
        #[source]
        source: ArcError,
    },
    /// The probe's HTTP client could not be set up.
    #[error("probe")]
    Probe(#[source] SetupError),
    /// A plan file that cannot run.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// `evacuate` names a region no app can leave.
    #[error("evacuate: {0}")]
    Evacuate(#[from] EvacuateError),
    /// A run's report could not be written.
    #[error(transparent)]
    Report(WriteError),
    /// The console could not listen or serve.
    #[error("console on {0}: {1}")]
    Listen(std::net::SocketAddr, std::io::Error),
}

impl Error {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::CaFile(_)
            | Error::Document(_)
            | Error::Input(_)
            | Error::Url(_)
            | Error::Plan(_)
            | Error::Evacuate(_) => 2,
            Error::Runtime(_)
            | Error::Status(_)
            | Error::Update { .. }
            | Error::Probe(_)
            | Error::Report(_)
            | Error::Listen(..) => 1,
        }
    }

    /// Whether no cluster endpoint answered.
    pub fn is_unreachable(&self) -> bool {
        let arc = match self {
            Error::Status(e) => &e.source,
            Error::Update { source, .. } => source,
            _ => return false,
        };
        matches!(arc, ArcError::Unreachable(_))
    }

    /// The message with every cause after it, on one line.
    pub fn chain(&self) -> Chain<'_> {
        Chain(self)
    }
}

/// An error and its causes on one line, `error: cause: cause`, as printed after `failover: `.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_exits_2_and_failed_operations_1() {
        let unreachable = || ArcError::Unreachable(vec!["us-east-1: unreachable".into()]);
        let update = Error::Update {
            app: "service1".into(),
            source: unreachable(),
        };
        assert_eq!(update.exit_code(), 1);
        assert!(update.is_unreachable());
        assert!(update.chain().to_string().starts_with(
            "UpdateRoutingControlStates for service1 failed (check `failover status`"
        ));
        let status = Error::Status(StatusError {
            panel_name: "p".into(),
            panel_arn: "arn:p".into(),
            source: unreachable(),
        });
        assert!(status.is_unreachable());
        assert_eq!(status.exit_code(), 1);
        let url = Error::from(crate::cmd::probe::Base::parse("ftp://x").unwrap_err());
        assert_eq!(url.exit_code(), 2);
        assert!(!url.is_unreachable());
        assert_eq!(
            url.chain().to_string(),
            "--url \"ftp://x\": only http:// and https:// URLs can be probed"
        );
    }
}
