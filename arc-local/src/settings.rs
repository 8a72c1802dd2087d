//! What an emulator serves and where: the topology, the state file, the listen address and ports,
//! the DNS TTL, the account of created resources, the deploy delay, HTTPS, and the faults each
//! endpoint starts with. The binary fills these from its options; tests start from
//! [`Settings::loopback`].

use std::net::IpAddr;
use std::path::PathBuf;

use recovery::local::{DEFAULT_API_PORT, DEFAULT_DNS_PORT};
use recovery::ClusterDocument;

use crate::faults::EndpointFault;
use crate::topology::{Topology, TopologyError};

/// The cluster document to serve.
#[derive(Clone, Debug, Default)]
pub enum TopologySource {
    /// The project's default topology (`recovery::local`), its regions on loopback addresses.
    #[default]
    Default,
    /// A cluster document file (docs/cluster.md).
    File(PathBuf),
    /// A document in memory.
    Document(Box<ClusterDocument>),
}

/// HTTPS on the data-plane ports and the config port.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    /// Where the CA (`ca.pem`, `ca-key.pem`, made at the first start) and the server certificate
    /// are written.
    pub dir: PathBuf,
    /// Names for the server certificate besides `localhost`, `127.0.0.1`, `::1` and the endpoint
    /// host.
    pub names: Vec<String>,
}

/// Everything an emulator needs to start.
#[derive(Clone, Debug)]
pub struct Settings {
    pub topology: TopologySource,
    /// Restored on start, rewritten atomically on every accepted change.
    pub state_file: PathBuf,
    /// The address of every listener (API and DNS).
    pub bind: IpAddr,
    /// The first data-plane port: the five endpoints listen on it and the next four. 0: five
    /// ports the system picks (not necessarily consecutive).
    pub api_port: u16,
    /// The recovery-control-config API's port. `None`: `api_port` + 10 (a port the system picks
    /// when `api_port` is 0).
    pub config_port: Option<u16>,
    /// DNS, UDP and TCP. 0: a port the system picks.
    pub dns_port: u16,
    /// TTL of DNS answers, in seconds.
    pub ttl: u32,
    /// Host in the endpoint URLs that clusters report. `None`: the listen address (127.0.0.1 when
    /// it is unspecified).
    pub endpoint_host: Option<String>,
    /// The account in the ARNs (and `Owner`) of what the config API creates.
    pub account_id: String,
    /// How long created resources stay PENDING (and deleted ones PENDING_DELETION).
    pub deploy_delay_ms: u64,
    pub tls: Option<TlsSettings>,
    /// Endpoints (in port order) that fail every data-plane call from the start.
    pub endpoint_faults: [Option<EndpointFault>; 5],
}

impl Settings {
    /// The binary's defaults: 127.0.0.1, data plane on 8600-8604, config API on 8610, DNS on
    /// 8653, TTL 1 s, account 000000000000, no deploy delay, plain HTTP.
    pub fn new(state_file: impl Into<PathBuf>) -> Settings {
        Settings {
            topology: TopologySource::Default,
            state_file: state_file.into(),
            bind: IpAddr::from([127, 0, 0, 1]),
            api_port: DEFAULT_API_PORT,
            config_port: None,
            dns_port: DEFAULT_DNS_PORT,
            ttl: 1,
            endpoint_host: None,
            account_id: "000000000000".into(),
            deploy_delay_ms: 0,
            tls: None,
            endpoint_faults: [None; 5],
        }
    }

    /// The defaults on 127.0.0.1 with every port picked by the system: for emulators started in
    /// tests, side by side.
    pub fn loopback(state_file: impl Into<PathBuf>) -> Settings {
        Settings {
            api_port: 0,
            dns_port: 0,
            ..Settings::new(state_file)
        }
    }

    /// `https` with TLS on, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The host clients reach this instance at: the endpoint host, else the listen address
    /// (127.0.0.1 when listening on all addresses).
    pub fn endpoint_host(&self) -> String {
        match &self.endpoint_host {
            Some(h) => h.clone(),
            None if self.bind.is_unspecified() => "127.0.0.1".into(),
            None => self.bind.to_string(),
        }
    }

    /// The config API's port, `None` when the default (`api_port` + 10) is out of range.
    pub fn config_port(&self) -> Option<u16> {
        match (self.config_port, self.api_port) {
            (Some(p), _) => Some(p),
            (None, 0) => Some(0),
            (None, api) => api.checked_add(10),
        }
    }

    /// The topology this instance serves.
    pub(crate) fn load_topology(&self) -> Result<Topology, TopologyError> {
        match &self.topology {
            TopologySource::Default => Topology::load(None),
            TopologySource::File(path) => Topology::load(Some(path)),
            TopologySource::Document(doc) => Topology::from_document((**doc).clone(), "in-process"),
        }
    }

    /// The cluster document this instance serves, with its endpoints at `api_host` on the five
    /// consecutive ports from `api_port`.
    pub fn cluster_document(&self, api_host: &str) -> Result<ClusterDocument, TopologyError> {
        let ports = (0..5).map(|i| self.api_port.saturating_add(i));
        let endpoints = crate::topology::endpoint_urls(self.scheme(), api_host, ports);
        Ok(self.load_topology()?.served_document(endpoints))
    }
}
