//! The external API: a hyper reverse proxy in front of the team services.
//!
//! A request's path through the code: a [`worker`] thread's [`server`] loop accepts it (with
//! [`framing`]'s raw-head checks) and hands it to [`pipeline::handle`], which runs its phases in
//! order on one record ([`telemetry::Exchange`]): request filter ([`sanitize`], [`path`]), route
//! ([`own`] endpoints or [`routes`]), the route's [`policy`] chain, then the proxy phases ([`proxy`]: upstream request with
//! [`hop`] and [`forwarding`], send through the route's [`upstream`] client ([`client`],
//! [`body`]), upstream response), and finally the answer for any [`error`], the response fields
//! and the log line. [`upstream`] also holds failover following: each route's upstream and the
//! follower that keeps it pointed at the active region. [`config`] declares every setting;
//! [`metrics`] names every metric; [`gateway`] is the state requests share.

pub mod body;
pub mod client;
pub mod config;
pub mod error;
pub mod forwarding;
pub mod framing;
pub mod gateway;
pub mod hop;
pub mod metrics;
pub mod own;
pub mod path;
pub mod pipeline;
pub mod policy;
pub mod proxy;
pub mod routes;
pub mod sanitize;
pub mod server;
pub mod telemetry;
pub mod upstream;
pub mod worker;

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::Config;

/// The gateway's two listeners: the API and the admin port (metrics).
pub struct Listeners {
    pub main: TcpListener,
    pub admin: TcpListener,
}

impl Listeners {
    /// Binds both ports from the configuration.
    pub async fn bind(config: &Config) -> std::io::Result<Listeners> {
        let s = &config.server;
        Ok(Listeners {
            main: TcpListener::bind(SocketAddr::new(s.bind, s.port)).await?,
            admin: TcpListener::bind(SocketAddr::new(s.bind, s.admin_port)).await?,
        })
    }
}

/// Runs the gateway until `shutdown` resolves, then drains: `/ready` turns 503, the listeners
/// close, in-flight requests get up to the drain deadline. The one place shutdown is handled.
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), upstream::BuildError> {
    let handle = metrics::install();
    for w in &config.warnings {
        tracing::warn!(warning = %w, "configuration");
    }
    let (gw, followers) = gateway::Gateway::build(&config).await?;
    let gw = Arc::new(gw);
    let followers: Vec<_> = followers.into_iter().map(tokio::spawn).collect();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    tracing::info!(
        region = %config.region,
        port = config.server.port,
        workers = config.server.workers,
        admin_port = config.server.admin_port,
        routes = ?gw.routes.iter().map(|r| format!("{} -> {}", r.prefix, r.upstream.label)).collect::<Vec<_>>(),
        "gateway listening"
    );
    let region = gw.region_header.clone();
    let shared = gw.clone();
    let handler = move |req, peer| pipeline::handle(shared.clone(), req, peer);
    let server_cfg = config.server.clone();
    let slots = Arc::new(tokio::sync::Semaphore::new(server_cfg.max_connections));
    let stopped_worker = stopped.clone();
    let started = listeners.main.into_std().and_then(|listener| {
        worker::start(server_cfg.workers, listener, move |listener| {
            server::serve(
                listener,
                handler.clone(),
                server_cfg.clone(),
                region.clone(),
                slots.clone(),
                stopped_worker(),
            )
        })
    });
    let workers = match started {
        Ok(workers) => workers,
        Err(e) => {
            // Workers that did start see the stop signal and end; the followers are stopped here.
            let _ = stop_tx.send(true);
            for f in followers {
                f.abort();
            }
            return Err(upstream::BuildError::Workers(e));
        }
    };
    let admin = tokio::spawn(
        axum::serve(listeners.admin, metrics::admin_router(handle))
            .with_graceful_shutdown(stopped())
            .into_future(),
    );
    shutdown.await;
    gw.set_draining();
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = w.await;
    }
    let _ = admin.await;
    for f in followers {
        f.abort();
    }
    Ok(())
}
