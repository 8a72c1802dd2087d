//! The cluster a command works on: where its document comes from (`--cluster`, see
//! [`crate::document`]) and how its endpoints are reached (`--timeout`, `--ca-file`): the one
//! place the routing-control client is set up.

use std::time::Duration;

use recovery::{ArcClient, ClientOptions};

use crate::document::{self, Loaded};
use crate::error::Error;

/// The global options that reach the cluster.
pub struct Cluster {
    arg: Option<String>,
    options: ClientOptions,
}

impl Cluster {
    /// Checks `--ca-file` at once, so a bad file is refused before anything else, whatever the
    /// command.
    pub fn new(
        arg: Option<String>,
        call_timeout: Duration,
        ca_file: Option<&str>,
    ) -> Result<Cluster, Error> {
        let extra_ca = match ca_file {
            Some(path) => Some(recovery::tls::ExtraCa::from_file(path).map_err(Error::CaFile)?),
            None => None,
        };
        Ok(Cluster {
            arg,
            options: ClientOptions {
                call_timeout,
                extra_ca,
            },
        })
    }

    /// `--cluster` as given: a path, `-`, or `None` for arc-local's default topology.
    pub fn arg(&self) -> Option<&str> {
        self.arg.as_deref()
    }

    /// Loads the document (the default topology over HTTPS when a CA file is given).
    pub fn load(&self) -> Result<Loaded, Error> {
        Ok(document::load(self.arg(), self.options.extra_ca.is_some())?)
    }

    /// `--timeout`: the bound on one call against one endpoint.
    pub fn call_timeout(&self) -> std::time::Duration {
        self.options.call_timeout
    }

    /// A routing-control client for the document's endpoints.
    pub async fn client(&self, loaded: &Loaded) -> ArcClient {
        ArcClient::new(&loaded.document.endpoints, self.options.clone()).await
    }
}
