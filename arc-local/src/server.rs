//! Starting and stopping an emulator: every port is bound first (a port in use fails the start
//! before anything is served), then the five data-plane endpoints, the config API and DNS are
//! served until shutdown, when in-flight requests finish (within 10 s) and every accepted change is
//! already on disk.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use recovery::local::ENDPOINT_REGIONS;
use recovery::ClusterDocument;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::data_plane::{self, Endpoint};
use crate::dns::{self, FailoverDns};
use crate::faults::Faults;
use crate::journal::Journal;
use crate::listener::{ConnHandle, PortListener, Reachability};
use crate::settings::Settings;
use crate::state::{StateError, StateFile, Store};
use crate::tls::{self, TlsError};
use crate::topology::{self, TopologyError};
use crate::{control_config, Ports};

/// Why an emulator did not start. Nothing is served in any case.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Topology(#[from] TopologyError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("the default config port (--api-port + 10) is out of range: set --config-port / ARC_LOCAL_CONFIG_PORT")]
    ConfigPortOutOfRange,
    #[error("cannot listen on {addr}{what}")]
    Listen {
        addr: SocketAddr,
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the emulator's runtime")]
    Runtime(#[source] std::io::Error),
    #[error("the emulator stopped while starting")]
    Vanished,
}

/// Why a running emulator stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("{what} failed")]
    Server {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("an API endpoint stopped unexpectedly")]
    Stopped,
    #[error("an API endpoint task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("the DNS server stopped unexpectedly")]
    DnsStopped,
    #[error("the DNS server failed: {0}")]
    Dns(String),
}

/// The hooks an in-process emulator is started with.
pub struct Hooks {
    pub faults: Arc<Faults>,
    pub journal: Option<Arc<Journal>>,
}

/// An emulator that is serving.
pub struct Started {
    pub ports: Ports,
    pub store: Arc<Store>,
    /// The cluster document, with the endpoints served.
    pub document: ClusterDocument,
    /// The five data-plane ports' switches.
    pub reach: Vec<Reachability>,
    pub ca_file: Option<PathBuf>,
    servers: JoinSet<Result<(), ServeError>>,
    dns: hickory_server::Server<FailoverDns>,
    stop: watch::Sender<bool>,
}

async fn listen(addr: SocketAddr, what: impl Fn() -> String) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen {
            addr,
            what: what(),
            source,
        })
}

/// A UDP socket and a TCP listener on the same port (`port` 0: one the system picks).
async fn bind_dns(settings: &Settings) -> Result<(UdpSocket, TcpListener), StartError> {
    let what = |proto: &'static str| move || format!("/{proto} (--dns-port / ARC_LOCAL_DNS_PORT)");
    let attempts = if settings.dns_port == 0 { 20 } else { 1 };
    let mut last = None;
    for _ in 0..attempts {
        let addr = SocketAddr::new(settings.bind, settings.dns_port);
        let udp = UdpSocket::bind(addr)
            .await
            .map_err(|source| StartError::Listen {
                addr,
                what: what("udp")(),
                source,
            })?;
        let addr = udp.local_addr().map_err(|source| StartError::Listen {
            addr,
            what: what("udp")(),
            source,
        })?;
        match listen(addr, what("tcp")).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("at least one attempt"))
}

/// Serves `app` on `listener` until `stop` turns true.
fn spawn_server(
    servers: &mut JoinSet<Result<(), ServeError>>,
    listener: PortListener,
    app: axum::Router,
    mut stop: watch::Receiver<bool>,
    what: String,
) {
    servers.spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<ConnHandle>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
        .map_err(|source| ServeError::Server { what, source })
    });
}

/// Binds every port and starts serving.
pub async fn start(settings: &Settings, hooks: Hooks) -> Result<Started, StartError> {
    let topology = Arc::new(settings.load_topology()?);
    let config_port = settings
        .config_port()
        .ok_or(StartError::ConfigPortOutOfRange)?;
    let host = settings.endpoint_host();
    // Make the certificates before anything listens: a bad TLS setup stops the start.
    let tls = match &settings.tls {
        Some(t) => {
            let mut names = t.names.clone();
            names.push(host.clone());
            Some(tls::prepare(&t.dir, tls::server_names(&names)?)?)
        }
        None => None,
    };
    let store = Arc::new(Store::open(
        topology.clone(),
        StateFile::new(&settings.state_file),
        settings.deploy_delay_ms,
    )?);

    // Bind everything first: a port in use is an error before anything is served.
    let mut listeners = Vec::new();
    for i in 0..5u16 {
        let port = match settings.api_port {
            0 => 0,
            p => p + i,
        };
        let what = || {
            format!(
                " (API endpoint {} of 5; --api-port / ARC_LOCAL_API_PORT)",
                i + 1
            )
        };
        listeners.push(listen(SocketAddr::new(settings.bind, port), what).await?);
    }
    let config_what =
        || " (recovery-control-config API; --config-port / ARC_LOCAL_CONFIG_PORT)".to_owned();
    let config_listener = listen(SocketAddr::new(settings.bind, config_port), config_what).await?;
    let (udp, tcp) = bind_dns(settings).await?;
    let local = |l: &TcpListener| l.local_addr().expect("a bound listener has an address");
    let ports = Ports {
        data_plane: std::array::from_fn(|i| local(&listeners[i])),
        config: local(&config_listener),
        dns: local(&tcp),
    };

    let mut dns = hickory_server::Server::new(FailoverDns::new(store.clone(), settings.ttl));
    dns.register_socket(udp);
    dns.register_listener(tcp, dns::TCP_TIMEOUT, 64);

    let endpoints = topology::endpoint_urls(
        settings.scheme(),
        &host,
        ports.data_plane.iter().map(SocketAddr::port),
    );
    let config_settings = control_config::Settings {
        endpoints: endpoints.clone(),
        account: settings.account_id.clone(),
    };
    for (i, fault) in settings.endpoint_faults.iter().enumerate() {
        if let Some(fault) = fault {
            hooks.faults.add(fault.at(i));
        }
    }

    let (stop, stop_rx) = watch::channel(false);
    let mut servers = JoinSet::new();
    let acceptor = tls.as_ref().map(|t| t.acceptor.clone());
    let mut reach = Vec::new();
    let mut served = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let addr = ports.data_plane[i];
        let (listener, switch) =
            PortListener::new(listener, acceptor.clone()).map_err(|source| StartError::Listen {
                addr,
                what: format!(" (API endpoint {} of 5)", i + 1),
                source,
            })?;
        let region = ENDPOINT_REGIONS[i];
        let app = data_plane::router(Endpoint {
            store: store.clone(),
            index: i,
            region: region.into(),
            faults: hooks.faults.clone(),
            journal: hooks.journal.clone(),
        });
        served.push(match settings.endpoint_faults[i] {
            Some(f) => format!("{region}={addr} (fault: {f:?})"),
            None => format!("{region}={addr}"),
        });
        spawn_server(
            &mut servers,
            listener,
            app,
            stop_rx.clone(),
            format!("API endpoint {addr}"),
        );
        reach.push(switch);
    }
    let (config_listener, _) =
        PortListener::new(config_listener, acceptor.clone()).map_err(|source| {
            StartError::Listen {
                addr: ports.config,
                what: config_what(),
                source,
            }
        })?;
    spawn_server(
        &mut servers,
        config_listener,
        control_config::router(store.clone(), config_settings),
        stop_rx,
        format!("recovery-control-config API {}", ports.config),
    );

    let states = store.snapshot();
    let active: Vec<String> = topology
        .document()
        .apps
        .keys()
        .map(|app| {
            let region = topology.active_region(app, &states).unwrap_or("?");
            format!("{app}={region}")
        })
        .collect();
    if let Some(tls) = &tls {
        tracing::info!(
            ca_file = %tls.ca_file.display(),
            new_ca = tls.new_ca,
            names = %tls.names.join(", "),
            "HTTPS on every API port: give clients the CA certificate"
        );
    }
    tracing::info!(
        topology = %topology.source(),
        state_file = %settings.state_file.display(),
        endpoints = %served.join(", "),
        config_api = %ports.config,
        endpoint_urls = %endpoints.iter().map(|e| e.url.as_str()).collect::<Vec<_>>().join(", "),
        tls = settings.tls.is_some(),
        dns = %ports.dns,
        ttl = settings.ttl,
        active_regions = %active.join(", "),
        "arc-local ready (SigV4 signatures are not verified)"
    );
    Ok(Started {
        ports,
        document: topology.served_document(endpoints),
        store,
        reach,
        ca_file: tls.map(|t| t.ca_file),
        servers,
        dns,
        stop,
    })
}

impl Started {
    /// Serves until `shutdown` completes (Ok) or a server stops on its own (Err), then lets
    /// in-flight requests finish, for 10 s at most.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
        let outcome = tokio::select! {
            _ = shutdown => Ok(()),
            Some(joined) = self.servers.join_next() => match joined {
                Ok(Ok(())) => Err(ServeError::Stopped),
                Ok(Err(e)) => Err(e),
                Err(e) => Err(ServeError::Task(e)),
            },
            result = self.dns.block_until_done() => match result {
                Ok(()) => Err(ServeError::DnsStopped),
                Err(e) => Err(ServeError::Dns(e.to_string())),
            },
        };
        // In-flight requests finish (and every accepted change is already on disk).
        let _ = self.stop.send(true);
        let drained = tokio::time::timeout(Duration::from_secs(10), async {
            while self.servers.join_next().await.is_some() {}
            let _ = self.dns.shutdown_gracefully().await;
        })
        .await;
        if drained.is_err() {
            tracing::warn!("some connections were still open after 10 s; stopping anyway");
        }
        tracing::info!("arc-local stopped");
        outcome
    }
}

/// Serves `settings` until `shutdown` completes: the binary's `serve`.
pub async fn serve(
    settings: Settings,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let hooks = Hooks {
        faults: Arc::new(Faults::default()),
        journal: None,
    };
    start(&settings, hooks).await?.run(shutdown).await
}
