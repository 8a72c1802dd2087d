//! Plans: region switches as ordered steps, with evidence. `failover plan run FILE` runs a plan
//! file ([`file`]); `failover evacuate REGION` runs the built-in "move every app out of REGION"
//! ([`builtin`]). Each step ([`steps`]) is a `gate`, `scale`, `approve`, `activate` or `verify`;
//! the run stops at the first failed step, and when apps had moved it offers (or with
//! `--rollback-on-failure` performs, each move back gated on the old region's health) moving them
//! back. `--dry-run` evaluates every gate and lists every call it would make, changing nothing.
//! While the run goes, a probe ([`sampler`]) records who answers; the report ([`report`]) keeps
//! the steps, the gates' readings and the recovery measured from those samples ([`recovery`]).

pub mod builtin;
pub mod execution;
pub mod file;
pub mod recovery;
pub mod report;
pub mod sampler;
pub mod scale;
pub mod sizing;
pub mod steps;
pub mod timeline;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::cluster::Cluster;
use crate::cmd::check;
use crate::error::Error;
use crate::{duration, out};
pub use execution::{execute, Options, StepRecord};

/// How a plan runs (shared by `plan run` and `evacuate`).
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Evaluate every gate and print every call the plan would make; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Approve every `approve` step (automation; in GitHub Actions, put the job behind an
    /// environment with required reviewers instead of a person at a terminal).
    #[arg(long)]
    pub yes: bool,
    /// When a step fails after apps moved, move them back (each move gated on the old region's
    /// health) instead of only printing how.
    #[arg(long)]
    pub rollback_on_failure: bool,
    /// Where each run's reports go (the JSON report, the Markdown page and the HTML page with
    /// the timeline chart), and the audit trail of routing-control changes (audit.jsonl).
    #[arg(
        long,
        env = "FAILOVER_REPORT_DIR",
        default_value = "failover-reports",
        value_name = "DIR"
    )]
    pub report_dir: PathBuf,
    /// The external API's base URL that `verify` and the report's probe request (overrides the
    /// plan's `probe_url`). Without one, verify reads the routing controls and /health only, and
    /// no recovery is measured.
    #[arg(long, env = "FAILOVER_PROBE_URL", value_name = "URL")]
    pub probe_url: Option<String>,
    /// Resolve the probe URL's host with this DNS server (IP:PORT), e.g. arc-local's
    /// 127.0.0.1:8653, so the external API's hostname fails over on one machine as in Route 53.
    #[arg(long, env = "FAILOVER_PROBE_DNS", value_name = "ADDR:PORT")]
    pub probe_dns: Option<std::net::SocketAddr>,
    /// Time between the probe's rounds during the run (10ms to 24h).
    #[arg(long, default_value = "100ms", value_parser = duration::interval, value_name = "DURATION")]
    pub probe_interval: Duration,
    /// How long the probe keeps going after the last step, so the report shows where traffic
    /// settled (10ms to 24h).
    #[arg(long, default_value = "2s", value_parser = duration::interval, value_name = "DURATION")]
    pub probe_tail: Duration,
    /// Bound on each probe request (10ms to 5m).
    #[arg(long, default_value = "2s", value_parser = duration::request_timeout, value_name = "DURATION")]
    pub request_timeout: Duration,
    /// Time between two reads while `scale` waits for capacity (10ms to 24h).
    #[arg(long, default_value = "5s", value_parser = duration::interval, value_name = "DURATION")]
    pub poll_interval: Duration,
    /// The capacity record `failover check --record-capacity` keeps (the readiness workflow's
    /// artefact): when the region being left cannot be read, `scale` sizes the standby from its
    /// last recorded running count, with a warning in the report.
    #[arg(long, value_name = "FILE")]
    pub capacity_record: Option<PathBuf>,
    #[command(flatten)]
    pub probes: check::ProbeArgs,
    /// What started the run, for the audit trail (the console sets it); `plan "<name>"` when
    /// not set.
    #[arg(skip)]
    pub via: Option<String>,
}

/// The arguments of `plan`.
#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    #[command(subcommand)]
    pub command: PlanCommand,
}

// Parsed once per process: the size of the `Run` variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(clap::Subcommand, Debug)]
pub enum PlanCommand {
    /// Run a plan file (TOML; see failover/README.md).
    Run {
        /// The plan file.
        file: String,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Check a plan file against the cluster document and print its steps; run nothing.
    Show {
        /// The plan file.
        file: String,
    },
}

/// The arguments of `evacuate`.
#[derive(clap::Args, Debug)]
pub struct EvacuateArgs {
    /// The region every app leaves, e.g. us-east-1.
    pub region: String,
    /// Print the built-in plan as a plan file (to edit and run with `plan run`) and run nothing.
    #[arg(long)]
    pub print_plan: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

/// `failover plan run FILE` and `failover plan show FILE`.
pub async fn run_plan(args: PlanArgs, cluster: &Cluster) -> Result<ExitCode, Error> {
    let loaded = cluster.load()?;
    match args.command {
        PlanCommand::Show { file } => {
            let plan = file::load(&file, &loaded.document)?;
            out::line(&format!("plan {:?}: {} steps", plan.name, plan.steps.len()));
            for (i, s) in plan.steps.iter().enumerate() {
                out::line(&format!(
                    "[{}/{}] {}: {}{}",
                    i + 1,
                    plan.steps.len(),
                    s.name,
                    execution::describe(s),
                    if s.parallel { " (at once)" } else { "" }
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        PlanCommand::Run { file, run } => {
            let plan = file::load(&file, &loaded.document)?;
            execute(plan, &run, cluster, &loaded).await
        }
    }
}

/// `failover evacuate REGION`.
pub async fn run_evacuate(args: EvacuateArgs, cluster: &Cluster) -> Result<ExitCode, Error> {
    let mut loaded = cluster.load()?;
    let file = builtin::evacuate(
        &loaded.document,
        &args.region,
        args.run.probe_url.as_deref(),
    )?;
    if args.print_plan {
        out::text(&toml::to_string(&file).expect("a plan file serialises"));
        return Ok(ExitCode::SUCCESS);
    }
    let plan =
        file::check(&file, &loaded.document).map_err(|message| file::PlanError::Invalid {
            path: format!("(built-in evacuate {})", args.region),
            message,
        })?;
    let left_out = leave_out_endpoints(&mut loaded.document, &args.region);
    if !left_out.is_empty() {
        out::line(&format!(
            "the routing controls are read and changed through the cluster endpoints outside {} ({}); its own are left out: {}",
            args.region,
            loaded.document.endpoints.len(),
            left_out.join(", ")
        ));
    }
    execute(plan, &args.run, cluster, &loaded).await
}

/// Drops the cluster endpoints in `region` (the one being left) when others remain, so that no
/// routing-control call of the evacuation waits on it; returns their URLs.
fn leave_out_endpoints(doc: &mut ::recovery::ClusterDocument, region: &str) -> Vec<String> {
    if doc.endpoints.iter().all(|e| e.region == region) {
        return Vec::new();
    }
    let (gone, kept) = doc
        .endpoints
        .drain(..)
        .partition::<Vec<_>, _>(|e| e.region == region);
    doc.endpoints = kept;
    gone.into_iter().map(|e| e.url).collect()
}
