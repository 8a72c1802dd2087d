//! Every way a command fails, each with its message and its exit status: 2 for bad usage or input
//! (a bad `--ca-file`, cluster document, app, region, safety rule or `--url`), 1 for an operation
//! that failed (the cluster unreachable, an update call that failed). A command that ran and
//! reported its own failure (a blocked change, failed probe requests) is not an error: it prints
//! its report and ends with status 1.

use std::fmt;

use recovery::{ArcError, DocumentError};

use crate::capacity::record::RecordError;
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
    /// A capacity record (`--record-capacity`, `--capacity-record`) that cannot be read, is not
    /// this cluster's, or cannot be written.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A run's report could not be written.
    #[error(transparent)]
    Report(WriteError),
    /// The console's arguments cannot be used (a non-loopback --listen without --allow-remote
    /// and --secret, a short secret).
    #[error("console: {0}")]
    ConsoleUsage(String),
    /// The console could not listen or serve.
    #[error("console on {0}: {1}")]
    Listen(std::net::SocketAddr, std::io::Error),
    /// `watch` has a configuration it cannot run, or cannot serve its metrics.
    #[error(transparent)]
    Watch(#[from] crate::cmd::watch::WatchError),
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
            | Error::Evacuate(_)
            | Error::ConsoleUsage(_)
            | Error::Watch(crate::cmd::watch::WatchError::Config(_)) => 2,
            Error::Record(RecordError::Io { .. }) => 1,
            Error::Record(_) => 2,
            Error::Runtime(_)
            | Error::Status(_)
            | Error::Update { .. }
            | Error::Probe(_)
            | Error::Report(_)
            | Error::Listen(..)
            | Error::Watch(_) => 1,
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

    /// What to do when no endpoint answered because of TLS: a plain-HTTP call answered by an
    /// HTTPS server (arc-local runs with `--tls` in compose), or a certificate the bundled roots
    /// and `--ca-file` do not vouch for (no CA given, or one copied before arc-local's volume was
    /// recreated). `None` for anything else.
    pub fn tls_hint(&self) -> Option<&'static str> {
        if !self.is_unreachable() {
            return None;
        }
        tls_hint_for(&self.chain().to_string())
    }

    /// The message with every cause after it, on one line.
    pub fn chain(&self) -> Chain<'_> {
        Chain(self)
    }
}

/// The hint for an unreachable cluster's message, when TLS is the cause.
fn tls_hint_for(message: &str) -> Option<&'static str> {
    const HTTP_TO_HTTPS: &str = concat!(
        "hint: an endpoint answered, but not in plain HTTP: it speaks HTTPS (arc-local does when ",
        "started with --tls, as compose runs it). Give its CA with --ca-file or ARC_CA_FILE (which ",
        "also makes the default topology https://), e.g. ",
        "docker compose cp arc-local:/data/tls/ca.pem arc-ca.pem && export ARC_CA_FILE=$PWD/arc-ca.pem"
    );
    const UNTRUSTED: &str = concat!(
        "hint: an endpoint's certificate is not signed by the bundled roots or the --ca-file / ",
        "ARC_CA_FILE given. arc-local makes a new CA when its volume is new (after ",
        "`docker compose down -v`): set or re-copy it, e.g. ",
        "docker compose cp arc-local:/data/tls/ca.pem arc-ca.pem && export ARC_CA_FILE=$PWD/arc-ca.pem"
    );
    if message.contains("invalid HTTP version parsed") {
        Some(HTTP_TO_HTTPS)
    } else if message.contains("invalid peer certificate") {
        Some(UNTRUSTED)
    } else {
        None
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
        assert_eq!(url.tls_hint(), None);
        assert_eq!(update.tls_hint(), None, "unreachable for another reason");
    }

    #[test]
    fn tls_failures_get_the_https_and_ca_hints() {
        let https = tls_hint_for("us-east-1: unreachable: invalid HTTP version parsed").unwrap();
        assert!(https.contains("speaks HTTPS") && https.contains("ARC_CA_FILE"));
        let stale =
            tls_hint_for("us-east-1: unreachable: invalid peer certificate: BadSignature").unwrap();
        assert!(stale.contains("re-copy") && stale.contains("ARC_CA_FILE"));
        assert_eq!(
            tls_hint_for("us-east-1: unreachable: connection refused"),
            None
        );
    }
}
