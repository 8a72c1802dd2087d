//! `failover check`: for every app and every region it is not active in, whether that region
//! could take the app now ([`assess`]): its endpoint's health, the same build as the active
//! region, routing controls and safety rules as the cluster document expects, and (with ECS in
//! the document) running tasks and healthy targets against the active region's. Exit status 1
//! when anything would make a switch fail. [`render`] prints a table or one JSON object.

pub mod assess;
pub mod render;
pub mod rules;
pub mod source;

use std::process::ExitCode;
use std::time::Duration;

use futures_util::future::join_all;
use recovery::ClusterDocument;

pub use assess::{Assessment, Finding, Level, Probes, RegionReading};

use crate::capacity::record::CapacityRecord;
use crate::capacity::CapacityClient;
use crate::cluster::Cluster;
use crate::cmd::probe::request;
use crate::cmd::status;
use crate::error::Error;
use crate::{duration, out};

/// The arguments of `check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print one machine-readable JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Keep each region's running task count in this capacity record (created when missing; a
    /// region that cannot be read keeps its earlier entry), for `evacuate --capacity-record`.
    #[arg(long, value_name = "FILE")]
    pub record_capacity: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub probes: ProbeArgs,
}

/// How the readiness checks reach the regions (shared with the plans' gates).
#[derive(clap::Args, Debug, Clone)]
pub struct ProbeArgs {
    /// Bound on each regional `GET /health`, connect included (10ms to 5m).
    #[arg(long, default_value = "3s", value_parser = duration::request_timeout, value_name = "DURATION")]
    pub health_timeout: Duration,
    /// Bound on each attempt of an AWS ECS, ELBv2 or Application Auto Scaling call (10ms to 60s;
    /// the SDK tries a call at most 3 times).
    #[arg(long, default_value = "5s", value_parser = duration::call_timeout, value_name = "DURATION")]
    pub aws_timeout: Duration,
    /// Bound on the whole best-effort read (health and capacity) of the region an app is active
    /// in, the one an evacuation leaves: a region that does not answer costs this long and no
    /// more, and its failed read is a warning (10ms to 5m).
    #[arg(long, default_value = "2s", value_parser = duration::request_timeout, value_name = "DURATION")]
    pub source_timeout: Duration,
}

/// The clients the checks use, made once per run.
pub struct Clients {
    pub http: request::HttpClient,
    pub aws: Option<CapacityClient>,
    pub health_timeout: Duration,
    pub source_timeout: Duration,
}

impl Clients {
    /// The HTTP client, and the AWS clients only when some region of `doc` has ECS.
    pub async fn new(doc: &ClusterDocument, args: &ProbeArgs) -> Result<Clients, Error> {
        let http = request::client(args.health_timeout).map_err(Error::Probe)?;
        let any_ecs = doc
            .apps
            .values()
            .any(|a| a.regions.values().any(|r| r.ecs.is_some()));
        let aws = if any_ecs {
            Some(CapacityClient::new(args.aws_timeout).await)
        } else {
            None
        };
        Ok(Clients {
            http,
            aws,
            health_timeout: args.health_timeout,
            source_timeout: args.source_timeout,
        })
    }

    pub fn probes(&self) -> Probes<'_> {
        Probes {
            http: &self.http,
            health_timeout: self.health_timeout,
            source_timeout: self.source_timeout,
            aws: self.aws.as_ref(),
        }
    }
}

/// Every app's assessments, in app order, then region order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    pub assessments: Vec<Assessment>,
}

impl Readiness {
    /// Whether nothing would make a switch fail.
    pub fn ready(&self) -> bool {
        self.assessments.iter().all(|a| a.ready)
    }
}

/// Runs `check`.
pub async fn run(args: Args, cluster: &Cluster) -> Result<ExitCode, Error> {
    let loaded = cluster.load()?;
    let doc = &loaded.document;
    let arc = cluster.client(&loaded).await;
    let clients = Clients::new(doc, &args.probes).await?;
    let readiness = evaluate(doc, &arc, &clients.probes()).await?;
    if let Some(path) = &args.record_capacity {
        record(path, &doc.cluster_arn, &readiness)?;
    }
    if args.json {
        out::line(&render::json(&readiness, &loaded.document.cluster_arn));
    } else {
        out::text(&render::table(&readiness, &loaded.describe()));
    }
    Ok(if readiness.ready() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Writes every capacity read (standby and active regions) into the record at `path`.
fn record(path: &std::path::Path, cluster_arn: &str, readiness: &Readiness) -> Result<(), Error> {
    let mut readings = Vec::new();
    for a in &readiness.assessments {
        for r in [&a.target, &a.active] {
            if let Some(Ok(c)) = &r.capacity {
                readings.push((a.app.as_str(), r.region.as_str(), c));
            }
        }
    }
    CapacityRecord::update_file(path, cluster_arn, &readings, std::time::SystemTime::now())?;
    Ok(())
}

/// Reads the controls, every region's health and capacity (concurrently; the active region's
/// best-effort, within `--source-timeout`), and assesses every non-active region of every app.
pub async fn evaluate(
    doc: &ClusterDocument,
    arc: &recovery::ArcClient,
    probes: &Probes<'_>,
) -> Result<Readiness, Error> {
    let controls = status::list(doc, arc, &[]).await?;
    let status = status::from_controls(doc, &controls, &[]);
    let status = &status;
    let reads = doc.apps.iter().flat_map(|(name, app)| {
        app.regions.keys().map(move |region| async move {
            let reading = if *region == status.apps[name].active_region {
                source::read(app, region, probes).await
            } else {
                assess::read_region(app, region, probes).await
            };
            (name, region, reading)
        })
    });
    let mut readings = join_all(reads).await;
    let mut assessments = Vec::new();
    for (name, app) in &doc.apps {
        let active = &status.apps[name].active_region;
        let Some(active_reading) = readings
            .iter()
            .find(|(n, r, _)| *n == name && *r == active)
            .map(|(_, _, reading)| reading.clone())
        else {
            continue;
        };
        for (n, region, reading) in readings.iter_mut() {
            if *n == name && *region != active {
                assessments.push(assess::assess(
                    name,
                    app,
                    reading.clone(),
                    active_reading.clone(),
                    &controls,
                ));
            }
        }
    }
    Ok(Readiness { assessments })
}
