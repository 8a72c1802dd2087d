//! `failover`: the operator's command for Route 53 ARC routing controls, against a real cluster or
//! the local emulator `arc-local`, with the same commands.
//!
//! - `status`: every app's routing controls and the region Route 53 answers from.
//! - `activate <app> <region>`: move one app to one region in a single update call, with safety
//!   rules explained when they block it.
//! - `deactivate <app> <region>`: turn one region's control of an app Off (the deliberate all-Off
//!   case takes `--override`), through the same path.
//! - `probe`: poll the external API and the services through it, and report which regions answer.
//! - `check`: whether each app's standby region could take it now (health, build parity, controls
//!   and safety rules, ECS capacity), exit 1 when a switch would fail.
//! - `evacuate <region>`, `plan run FILE`: region switches as gated steps, with dry run, rollback
//!   and a report (JSON and Markdown) measured by a probe.
//! - `watch`: opt-in, runs `evacuate` of the external API's active region when it is confirmed
//!   down, within a dwell time, a cooldown and a kill switch, only into the watcher's region.
//!
//! Exit status: 0 ok, 1 the operation failed (blocked, unreachable, failed requests), 2 bad usage
//! or input (unknown app, region or safety rule, bad cluster document).

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use failover::cluster::Cluster;
use failover::cmd::{check, console, plan, probe, status, update, watch};
use failover::{document, duration, Error};

const AFTER_HELP: &str = "\
Without --cluster (or FAILOVER_CLUSTER), the command uses arc-local's default topology at 127.0.0.1:
endpoints http://127.0.0.1:8600 to :8604, apps external-api, service1 and service2 in us-east-1
(primary) and us-west-2 (secondary). For a real cluster, pass the document Terraform outputs:
  terraform -chdir=infra/global output -json cluster_document > cluster.json
  failover --cluster cluster.json status
AWS credentials then come from the usual chain (environment, profile, SSO, instance role).

Exit status: 0 ok, 1 the operation failed (blocked by a safety rule, cluster unreachable, probe
requests failed), 2 bad usage or input.";

/// Route 53 ARC failover for the external API, service1 and service2.
#[derive(Parser, Debug)]
#[command(name = "failover", version = bootstrap::build_info::long_version(), about, after_help = AFTER_HELP)]
struct Cli {
    /// Cluster document (docs/cluster.md): a file, or - for stdin. Default: arc-local's default
    /// topology at 127.0.0.1:8600-8604.
    #[arg(long, global = true, env = "FAILOVER_CLUSTER", value_name = "FILE")]
    cluster: Option<String>,

    /// Bound on each routing-control call against one cluster endpoint (10ms to 60s); a call
    /// tries each endpoint at most once.
    #[arg(long, global = true, default_value = "2s", value_parser = duration::call_timeout, value_name = "DURATION")]
    timeout: Duration,

    /// A CA certificate file (PEM) to trust besides the bundled public roots, for cluster
    /// endpoints behind a private CA (arc-local with TLS). The operating system's store is never
    /// used, so the command behaves the same in a `FROM scratch` image. With no --cluster, it
    /// also makes the default local topology's endpoints https://.
    #[arg(long, global = true, env = "ARC_CA_FILE", value_name = "FILE")]
    ca_file: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show each app's routing controls and the region Route 53 answers from.
    Status(status::Args),
    /// Turn APP's control in REGION On and its other regions' controls Off, in one call.
    Activate(update::Args),
    /// Turn APP's control in REGION Off, and nothing else.
    ///
    /// A safety rule that keeps one control On blocks turning the last one Off; --override passes
    /// it deliberately (the rare both-Off state).
    Deactivate(update::Args),
    /// Poll URL/, URL/service1 and URL/service2 and report which regions serve them.
    Probe(probe::Args),
    /// Whether every app's standby region could take it now: health, same build, routing
    /// controls and safety rules, and (with ECS in the document) capacity. Exit 1 when not.
    Check(check::Args),
    /// Move every app out of REGION with the built-in plan: gate, scale, approve, then the
    /// services and then the external API, each activated and verified; a report per run.
    Evacuate(plan::EvacuateArgs),
    /// Run or show a plan file: gated, ordered steps across apps, with a report per run.
    Plan(plan::PlanArgs),
    /// Serve a web page on loopback that shows every app's controls, readiness and serving
    /// regions live, and runs activate and evacuate with the same gates.
    Console(console::Args),
    /// Opt-in: watch the external API's active region and, when it is confirmed down for the
    /// dwell time, evacuate it into this watcher's region with the built-in plan (same gates and
    /// report), within a cooldown and a kill switch. --dry-run only says what it would do.
    Watch(watch::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_cluster = cli.cluster.is_none() && !matches!(cli.command, Command::Probe(_));
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("failover: {}", e.chain());
            if let Some(hint) = e.tls_hint() {
                eprintln!("{hint}");
            } else if default_cluster && e.is_unreachable() {
                eprintln!("{}", document::DEFAULT_UNREACHABLE_HINT);
            }
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(async {
        let cluster = Cluster::new(cli.cluster, cli.timeout, cli.ca_file.as_deref())?;
        match cli.command {
            Command::Status(args) => status::run(args, &cluster).await,
            Command::Activate(args) => update::run(update::Action::Activate, args, &cluster).await,
            Command::Deactivate(args) => {
                update::run(update::Action::Deactivate, args, &cluster).await
            }
            Command::Probe(args) => probe::run(args).await,
            Command::Check(args) => check::run(args, &cluster).await,
            Command::Evacuate(args) => plan::run_evacuate(args, &cluster).await,
            Command::Plan(args) => plan::run_plan(args, &cluster).await,
            Command::Console(args) => console::run(args, cluster).await,
            Command::Watch(args) => watch::run(args, &cluster).await,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_help_names_every_command() {
        let cli = Cli::command();
        let about = cli.get_about().expect("an about line").to_string();
        for sub in cli.get_subcommands() {
            assert!(
                about.contains(sub.get_name()),
                "`failover --help` does not name {}: {about}",
                sub.get_name()
            );
        }
    }
}
