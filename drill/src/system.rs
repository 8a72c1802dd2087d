//! Starts the two-region system on loopback from the real binaries, and flips routing controls.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use recovery::{ArcClient, ClientOptions, ClusterDocument, ControlState, Endpoint};
use testkit::process::{Output, Process, Spawn};
use testkit::temp::TempDir;

use crate::bins;

/// How the gateways follow their upstreams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Dns,
    Arc,
}

/// Drill settings.
#[derive(Clone, Debug)]
pub struct Options {
    pub mode: Mode,
    /// TTL of arc-local's DNS answers, in seconds.
    pub ttl_secs: u32,
    /// How often arc-mode gateways read the routing controls.
    pub poll_interval: Duration,
    /// How many of the five cluster endpoints the gateways are told about are unreachable.
    pub unreachable_endpoints: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            mode: Mode::Arc,
            ttl_secs: 1,
            poll_interval: Duration::from_millis(200),
            unreachable_endpoints: 0,
        }
    }
}

pub const REGIONS: [&str; 2] = ["us-east-1", "us-west-2"];

/// The loopback address of `app` (gateway, service1, service2) in `region`: 127.0.<region>.<app>.
pub fn address(app: &str, region: &str) -> IpAddr {
    let r = if region == REGIONS[0] { 1 } else { 2 };
    let a = match app {
        "gateway" | "external-api" => 1,
        "service1" => 2,
        _ => 3,
    };
    IpAddr::V4(Ipv4Addr::new(127, 0, r, a))
}

/// Every loopback address the drill listens on: 127.0.0.1 (arc-local) and each region's apps.
const LOOPBACKS: [IpAddr; 7] = [
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)),
    IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1)),
    IpAddr::V4(Ipv4Addr::new(127, 0, 1, 2)),
    IpAddr::V4(Ipv4Addr::new(127, 0, 1, 3)),
    IpAddr::V4(Ipv4Addr::new(127, 0, 2, 1)),
    IpAddr::V4(Ipv4Addr::new(127, 0, 2, 2)),
    IpAddr::V4(Ipv4Addr::new(127, 0, 2, 3)),
];

/// The first of `count` consecutive ports free on every loopback address the drill uses.
fn free_port(count: u16) -> u16 {
    testkit::ports::free_range_on(count, &LOOPBACKS)
}

/// How long a process of the system may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The running system. Dropping it stops every process and removes its files.
pub struct System {
    pub options: Options,
    /// The processes' files (cluster documents, state, TLS material, one log per process); kept
    /// after the run when `DRILL_KEEP` is set.
    pub dir: PathBuf,
    temp: Option<TempDir>,
    /// The cluster as arc-local serves it (all five endpoints live).
    pub doc: ClusterDocument,
    pub gateway_port: u16,
    pub admin_port: u16,
    /// service1's and service2's port (the same in both regions, on different addresses).
    pub service_ports: (u16, u16),
    pub dns: SocketAddr,
    pub api_port: u16,
    config_port: u16,
    arc_local: Option<Process>,
    processes: Vec<Process>,
    pub client: ArcClient,
}

impl System {
    pub async fn start(options: Options) -> anyhow::Result<System> {
        let temp = testkit::temp::dir("drill");
        let dir = temp.path().to_path_buf();
        let api_port = free_port(5);
        let dns_port = free_port(1);
        let gateway_port = free_port(1);
        let admin_port = free_port(1);
        let (p1, p2) = (free_port(1), free_port(1));

        let config_port = free_port(1);
        let mut doc = recovery::local::default_document("127.0.0.1", api_port);
        // The data plane over HTTPS, as in AWS: arc-local's own CA is the extra trusted CA of the
        // gateways and of this drill's client, so the production TLS code path runs.
        for e in doc.endpoints.iter_mut() {
            e.url = e.url.replacen("http://", "https://", 1);
        }
        for (app, entry) in doc.apps.iter_mut() {
            let port = match app.as_str() {
                "external-api" => gateway_port,
                "service1" => p1,
                _ => p2,
            };
            for (region, r) in entry.regions.iter_mut() {
                r.url = format!("http://{}:{port}", address(app, region));
            }
        }
        std::fs::write(
            dir.join("topology.json"),
            serde_json::to_string_pretty(&doc)?,
        )?;
        // What the gateways are told: some endpoints may be unreachable (nothing listens on port 1).
        let mut gateway_doc = doc.clone();
        for e in gateway_doc
            .endpoints
            .iter_mut()
            .take(options.unreachable_endpoints)
        {
            *e = Endpoint {
                region: e.region.clone(),
                url: "http://127.0.0.1:1".into(),
            };
        }
        std::fs::write(
            dir.join("gateway-cluster.json"),
            serde_json::to_string_pretty(&gateway_doc)?,
        )?;

        let client = ArcClient::new(
            &doc.endpoints,
            ClientOptions {
                call_timeout: Duration::from_secs(2),
                extra_ca: None,
            },
        )
        .await;
        let mut system = System {
            options: options.clone(),
            dir,
            temp: Some(temp),
            doc,
            gateway_port,
            admin_port,
            service_ports: (p1, p2),
            dns: SocketAddr::from(([127, 0, 0, 1], dns_port)),
            api_port,
            config_port,
            arc_local: None,
            processes: Vec::new(),
            client,
        };
        system.start_arc_local().await?;
        system.client = ArcClient::new(
            &system.doc.endpoints,
            ClientOptions {
                call_timeout: Duration::from_secs(2),
                extra_ca: Some(recovery::tls::ExtraCa::from_file(
                    &system.ca_file().display().to_string(),
                )?),
            },
        )
        .await;

        for region in REGIONS {
            for service in ["service1", "service2"] {
                let process = system.spawn_service(service, region, "")?;
                system.processes.push(process);
            }
        }
        for region in REGIONS {
            let mut env = vec![
                ("REGION", region.to_owned()),
                ("PORT", gateway_port.to_string()),
                ("ADMIN_PORT", admin_port.to_string()),
                ("BIND", address("gateway", region).to_string()),
                ("DNS_SERVER", system.dns.to_string()),
            ];
            let document = system
                .dir
                .join("gateway-cluster.json")
                .display()
                .to_string();
            match options.mode {
                Mode::Dns => {
                    env.push(("SERVICE1_URL", format!("http://service1.example.com:{p1}")));
                    env.push(("SERVICE2_URL", format!("http://service2.example.com:{p2}")));
                    // The document gives the routes their regional URLs: regional fallback.
                    env.push(("ARC_CLUSTER_FILE", document));
                }
                Mode::Arc => {
                    env.push(("GATEWAY_FAILOVER_MODE", "arc".into()));
                    env.push(("ARC_CLUSTER_FILE", document));
                    env.push((
                        "ARC_POLL_INTERVAL",
                        format!("{}ms", options.poll_interval.as_millis()),
                    ));
                    env.push(("ARC_CA_FILE", system.ca_file().display().to_string()));
                }
            }
            let process = system.spawn(
                &format!("gateway-{region}"),
                &bins::path("gateway"),
                &env,
                SocketAddr::new(address("gateway", region), gateway_port),
            )?;
            system.processes.push(process);
        }
        // All start at once; each must listen (or the error quotes its log).
        for process in &mut system.processes {
            process.wait_ready_async().await?;
        }
        Ok(system)
    }

    /// Starts `service` in `region` on its loopback address, logging to
    /// `<service>-<region><suffix>.log` (a restarted process keeps the first one's log).
    fn spawn_service(&self, service: &str, region: &str, suffix: &str) -> anyhow::Result<Process> {
        let port = if service == "service1" {
            self.service_ports.0
        } else {
            self.service_ports.1
        };
        self.spawn(
            &format!("{service}-{region}{suffix}"),
            &bins::path(service),
            &[
                ("REGION", region.to_owned()),
                ("PORT", port.to_string()),
                ("BIND", address(service, region).to_string()),
            ],
            SocketAddr::new(address(service, region), port),
        )
    }

    /// Kills `service` in `region` with SIGKILL, as a lost host or zone would: no drain, its
    /// connections reset.
    pub fn kill_service(&mut self, service: &str, region: &str) -> anyhow::Result<()> {
        let name = format!("{service}-{region}");
        let restarted = format!("{name}-restarted");
        let Some(i) = self
            .processes
            .iter()
            .position(|p| p.name() == name || p.name() == restarted)
        else {
            bail!("no running process {name}");
        };
        let mut process = self.processes.remove(i);
        process.kill()?;
        Ok(())
    }

    /// Starts `service` in `region` again (after [`Self::kill_service`]) and waits until it listens.
    pub async fn restart_service(&mut self, service: &str, region: &str) -> anyhow::Result<()> {
        let mut process = self.spawn_service(service, region, "-restarted")?;
        process.wait_ready_async().await?;
        self.processes.push(process);
        Ok(())
    }

    /// Starts `bin` as `name` with only `env`, logging to `<name>.log`, ready once it listens on
    /// `addr` (not waited for here).
    fn spawn(
        &self,
        name: &str,
        bin: &std::path::Path,
        env: &[(&str, String)],
        addr: SocketAddr,
    ) -> anyhow::Result<Process> {
        let log = self.dir.join(format!("{name}.log"));
        Ok(Spawn::new(bin)
            .name(name)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Output::File(log.clone()))
            .stderr(Output::File(log))
            .listens_at(addr)
            .start_timeout(START_TIMEOUT)
            .spawn()?)
    }

    /// arc-local's CA certificate (made at its first start, reused after).
    pub fn ca_file(&self) -> std::path::PathBuf {
        self.dir.join("tls").join("ca.pem")
    }

    /// Starts arc-local (again), with the same state file and TLS material.
    pub async fn start_arc_local(&mut self) -> anyhow::Result<()> {
        let args = [
            "--tls".to_owned(),
            "--tls-dir".into(),
            self.dir.join("tls").display().to_string(),
            "--config-port".into(),
            self.config_port.to_string(),
            "--topology".into(),
            self.dir.join("topology.json").display().to_string(),
            "--state".into(),
            self.dir.join("arc-state.json").display().to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--api-port".into(),
            self.api_port.to_string(),
            "--dns-port".into(),
            self.dns.port().to_string(),
            "--ttl".into(),
            self.options.ttl_secs.to_string(),
        ];
        let log = self.dir.join("arc-local.log");
        let mut spawn = Spawn::new(bins::path("arc-local"))
            .args(args)
            .stdout(Output::File(log.clone()))
            .stderr(Output::File(log))
            .start_timeout(START_TIMEOUT);
        for i in 0..5 {
            spawn = spawn.listens_on(self.api_port + i);
        }
        self.arc_local = Some(spawn.start_async().await?);
        Ok(())
    }

    /// Stops arc-local with SIGTERM (the control plane and DNS become unreachable).
    pub fn stop_arc_local(&mut self) {
        if let Some(mut arc_local) = self.arc_local.take() {
            // Killed (by the drop) if it has not exited 30 s after SIGTERM.
            let _ = arc_local.stop(Duration::from_secs(30));
        }
    }

    /// Turns `region` On and the app's other region Off in one call, as `failover activate` does.
    pub async fn activate(&self, app: &str, region: &str) -> anyhow::Result<()> {
        let entry = self.doc.app(app).map_err(anyhow::Error::msg)?;
        let mut entries = vec![(
            entry
                .region(region)
                .map_err(anyhow::Error::msg)?
                .routing_control_arn
                .clone(),
            ControlState::On,
        )];
        for (r, e) in &entry.regions {
            if r != region {
                entries.push((e.routing_control_arn.clone(), ControlState::Off));
            }
        }
        self.client
            .update(&entries, &[])
            .await
            .map_err(|e| anyhow::anyhow!("activate {app} {region}: {e}"))
    }

    /// The `/ready` answer of one region's gateway.
    pub async fn gateway_ready(&self, region: &str) -> anyhow::Result<serde_json::Value> {
        let url = format!(
            "http://{}:{}/ready",
            address("gateway", region),
            self.gateway_port
        );
        let (status, body) = crate::traffic::get(&url).await?;
        if status != 200 {
            bail!("{url} answered {status}");
        }
        Ok(serde_json::from_str(&body)?)
    }

    /// A gateway's metrics text.
    pub async fn gateway_metrics(&self, region: &str) -> anyhow::Result<String> {
        let admin = SocketAddr::new(address("gateway", region), self.admin_port);
        Ok(testkit::metrics::scrape(admin).await?)
    }

    /// The log of one process, for failure messages.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default()
    }
}

impl Drop for System {
    fn drop(&mut self) {
        self.stop_arc_local();
        // Each process is killed and reaped as it drops.
        self.processes.clear();
        if std::env::var_os("DRILL_KEEP").is_some() {
            if let Some(temp) = self.temp.take() {
                let _ = temp.keep();
            }
        }
    }
}
