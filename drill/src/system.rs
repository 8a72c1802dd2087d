//! Starts the two-region system on loopback from the real binaries, and flips routing controls.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use recovery::{ArcClient, ClientOptions, ClusterDocument, ControlState, Endpoint};

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

/// A port free on every loopback address the drill uses (checked on 127.0.0.1 and the region addresses).
fn free_port(count: u16) -> u16 {
    for _ in 0..200 {
        let base = 20000 + fastrand_u16() % 40000;
        let ok = (0..count).all(|i| {
            [
                "127.0.0.1",
                "127.0.1.1",
                "127.0.1.2",
                "127.0.1.3",
                "127.0.2.1",
                "127.0.2.2",
                "127.0.2.3",
            ]
            .iter()
            .all(|ip| std::net::TcpListener::bind((*ip, base + i)).is_ok())
        });
        if ok {
            return base;
        }
    }
    panic!("no free port range on loopback");
}

fn fastrand_u16() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    (nanos ^ std::process::id().wrapping_mul(2654435761)) as u16
}

/// The running system. Dropping it stops every process and removes its files.
pub struct System {
    pub options: Options,
    pub dir: PathBuf,
    /// The cluster as arc-local serves it (all five endpoints live).
    pub doc: ClusterDocument,
    pub gateway_port: u16,
    pub admin_port: u16,
    /// service1's and service2's port (the same in both regions, on different addresses).
    pub service_ports: (u16, u16),
    pub dns: SocketAddr,
    pub api_port: u16,
    config_port: u16,
    arc_local: Option<Child>,
    processes: Vec<(String, Child)>,
    pub client: ArcClient,
}

impl System {
    pub async fn start(options: Options) -> anyhow::Result<System> {
        let dir =
            std::env::temp_dir().join(format!("drill-{}-{}", std::process::id(), fastrand_u16()));
        std::fs::create_dir_all(&dir)?;
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
            for (service, port) in [("service1", p1), ("service2", p2)] {
                let name = format!("{service}-{region}");
                let child = system.spawn(
                    &name,
                    &bins::path(service),
                    &[
                        ("REGION", region.to_owned()),
                        ("PORT", port.to_string()),
                        ("BIND", address(service, region).to_string()),
                    ],
                )?;
                system.processes.push((name, child));
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
            match options.mode {
                Mode::Dns => {
                    env.push(("SERVICE1_URL", format!("http://service1.example.com:{p1}")));
                    env.push(("SERVICE2_URL", format!("http://service2.example.com:{p2}")));
                }
                Mode::Arc => {
                    env.push(("GATEWAY_FAILOVER_MODE", "arc".into()));
                    env.push((
                        "ARC_CLUSTER_FILE",
                        system
                            .dir
                            .join("gateway-cluster.json")
                            .display()
                            .to_string(),
                    ));
                    env.push((
                        "ARC_POLL_INTERVAL",
                        format!("{}ms", options.poll_interval.as_millis()),
                    ));
                    env.push(("ARC_CA_FILE", system.ca_file().display().to_string()));
                }
            }
            let name = format!("gateway-{region}");
            let child = system.spawn(&name, &bins::path("gateway"), &env)?;
            system.processes.push((name, child));
        }
        for region in REGIONS {
            wait_for(SocketAddr::new(address("service1", region), p1)).await?;
            wait_for(SocketAddr::new(address("service2", region), p2)).await?;
            wait_for(SocketAddr::new(address("gateway", region), gateway_port)).await?;
        }
        Ok(system)
    }

    fn spawn(
        &self,
        name: &str,
        bin: &std::path::Path,
        env: &[(&str, String)],
    ) -> anyhow::Result<Child> {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log")))?;
        Command::new(bin)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(log.try_clone()?)
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {name} ({})", bin.display()))
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
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("arc-local.log"))?;
        let child = Command::new(bins::path("arc-local"))
            .args(args)
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting arc-local")?;
        self.arc_local = Some(child);
        for i in 0..5 {
            wait_for(SocketAddr::from(([127, 0, 0, 1], self.api_port + i))).await?;
        }
        Ok(())
    }

    /// Stops arc-local with SIGTERM (the control plane and DNS become unreachable).
    pub fn stop_arc_local(&mut self) {
        if let Some(mut child) = self.arc_local.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
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
        let url = format!(
            "http://{}:{}/metrics",
            address("gateway", region),
            self.admin_port
        );
        Ok(crate::traffic::get(&url).await?.1)
    }

    /// The log of one process, for failure messages.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default()
    }
}

impl Drop for System {
    fn drop(&mut self) {
        self.stop_arc_local();
        for (_, child) in &mut self.processes {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::env::var_os("DRILL_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

async fn wait_for(addr: SocketAddr) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if Instant::now() > deadline {
            bail!("nothing listens on {addr} after 30 s");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(())
}
