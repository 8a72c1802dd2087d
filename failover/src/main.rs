//! `failover`: the operator's command for Route 53 ARC routing controls, against a real cluster or
//! the local emulator `arc-local`, with the same commands.
//!
//! - `status`: every app's routing controls and the region Route 53 answers from.
//! - `activate <app> <region>`: move one app to one region in a single update call, with safety
//!   rules explained when they block it.
//! - `deactivate <app> <region>`: turn one region's control of an app Off (the deliberate all-Off
//!   case takes `--override`), through the same path.
//! - `probe`: poll the external API and the services through it, and report which regions answer.
//!
//! Exit status: 0 ok, 1 the operation failed (blocked, unreachable, failed requests), 2 bad usage
//! or input (unknown app, region or safety rule, bad cluster document).

mod activate;
mod document;
mod output;
mod probe;
mod status;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use recovery::{ArcClient, ArcError, ClientOptions, DocumentError};

use crate::activate::Action;
use crate::output::UpdateReport;

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
#[command(name = "failover", version, about, after_help = AFTER_HELP)]
struct Cli {
    /// Cluster document (docs/cluster.md): a file, or - for stdin. Default: arc-local's default
    /// topology at 127.0.0.1:8600-8604.
    #[arg(long, global = true, env = "FAILOVER_CLUSTER", value_name = "FILE")]
    cluster: Option<String>,

    /// Bound on each routing-control call against one cluster endpoint (10ms to 60s); a call
    /// tries each endpoint at most once.
    #[arg(long, global = true, default_value = "2s", value_parser = parse_call_timeout, value_name = "DURATION")]
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
    Status {
        /// Print a machine-readable JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Turn APP's control in REGION On and its other regions' controls Off, in one call.
    Activate(UpdateArgs),
    /// Turn APP's control in REGION Off, and nothing else.
    ///
    /// A safety rule that keeps one control On blocks turning the last one Off; --override passes
    /// it deliberately (the rare both-Off state).
    Deactivate(UpdateArgs),
    /// Poll URL/, URL/service1 and URL/service2 and report which regions serve them.
    Probe(ProbeArgs),
}

/// The arguments of `activate` and `deactivate`.
#[derive(Args, Debug)]
struct UpdateArgs {
    /// The app, as named in the cluster document (e.g. service1).
    app: String,
    /// The region whose control is turned On (activate) or Off (deactivate), e.g. us-west-2.
    region: String,
    /// Override a safety rule of APP's control panel for this call: its ARN, or its name from the
    /// cluster document. Repeatable.
    #[arg(long = "override", value_name = "RULE")]
    overrides: Vec<String>,
    /// Print the entries the update would send, and send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print one machine-readable JSON object (the entries, the result, the app's state before
    /// and after, and a block's rule) instead of the text.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct ProbeArgs {
    /// The external API's base URL (http:// or https://, optionally with a stage path).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Time between the starts of two rounds (10ms to 24h).
    #[arg(long, default_value = "5s", value_parser = parse_interval, value_name = "DURATION")]
    interval: Duration,
    /// Stop after N rounds.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "duration")]
    count: Option<u64>,
    /// Stop after this long (no round starts after it).
    #[arg(long, value_parser = parse_run_duration, value_name = "DURATION")]
    duration: Option<Duration>,
    /// Bound on each request, connect included (10ms to 5m).
    #[arg(long, default_value = "2s", value_parser = parse_request_timeout, value_name = "DURATION")]
    request_timeout: Duration,
    /// Print one JSON object per round and a summary object, instead of text lines.
    #[arg(long)]
    json: bool,
}

fn parse_bounded(s: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("{s:?} is not a duration like 2s or 500ms: {e}"))?;
    if d < min || d > max {
        return Err(format!(
            "{s:?} is out of range ({} to {})",
            humantime::format_duration(min),
            humantime::format_duration(max)
        ));
    }
    Ok(d)
}

fn parse_call_timeout(s: &str) -> Result<Duration, String> {
    parse_bounded(s, Duration::from_millis(10), Duration::from_secs(60))
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    parse_bounded(s, Duration::from_millis(10), Duration::from_secs(24 * 3600))
}

fn parse_request_timeout(s: &str) -> Result<Duration, String> {
    parse_bounded(s, Duration::from_millis(10), Duration::from_secs(300))
}

fn parse_run_duration(s: &str) -> Result<Duration, String> {
    parse_bounded(
        s,
        Duration::from_millis(1),
        Duration::from_secs(366 * 24 * 3600),
    )
}

/// `println!` that ends the command quietly when stdout is closed (e.g. `failover probe | head`)
/// instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {
        say_raw(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes `text` to stdout as is; exits with status 1 when stdout is closed.
fn say_raw(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(1);
    }
}

/// Errors that mean bad input (exit 2) rather than a failed operation (exit 1).
fn is_bad_input(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<DocumentError>()
            || c.is::<activate::InputError>()
            || c.is::<probe::InputError>()
            || c.is::<BadCaFile>()
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("failover: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let default_cluster = cli.cluster.is_none() && !matches!(cli.command, Command::Probe(_));
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("failover: {e:#}");
            if default_cluster && is_unreachable(&e) {
                eprintln!("{}", output::DEFAULT_UNREACHABLE_HINT);
            }
            ExitCode::from(if is_bad_input(&e) { 2 } else { 1 })
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let options = ClientOptions {
        call_timeout: cli.timeout,
        extra_ca: match &cli.ca_file {
            Some(path) => Some(recovery::tls::ExtraCa::from_file(path).map_err(BadCaFile)?),
            None => None,
        },
    };
    match cli.command {
        Command::Probe(args) => probe(args).await,
        Command::Status { json } => {
            let loaded = document::load(cli.cluster.as_deref(), options.extra_ca.is_some())?;
            let client = connect(&loaded, &options).await;
            let status = status::fetch(&loaded.document, &client, &[]).await?;
            if json {
                say!("{}", output::status_json(&status));
            } else {
                say_raw(&output::status_table(&status, &describe(&loaded)));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Activate(args) => {
            update(Action::Activate, args, cli.cluster.as_deref(), &options).await
        }
        Command::Deactivate(args) => {
            update(Action::Deactivate, args, cli.cluster.as_deref(), &options).await
        }
    }
}

/// `cluster <arn> (<n> endpoints, <where from>)` for the status heading.
fn describe(loaded: &document::Loaded) -> String {
    let doc = &loaded.document;
    let from = match loaded.source.as_deref() {
        None => "arc-local default topology, no --cluster given".to_owned(),
        Some("-") => "from stdin".to_owned(),
        Some(s) => format!("from {s}"),
    };
    format!(
        "{} ({} endpoint{}, {from})",
        doc.cluster_arn,
        doc.endpoints.len(),
        if doc.endpoints.len() == 1 { "" } else { "s" }
    )
}

async fn connect(loaded: &document::Loaded, options: &ClientOptions) -> ArcClient {
    ArcClient::new(&loaded.document.endpoints, options.clone()).await
}

/// `--ca-file` names a file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("--ca-file: {0}")]
struct BadCaFile(recovery::tls::CaError);

/// Whether no cluster endpoint answered.
fn is_unreachable(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| matches!(c.downcast_ref::<ArcError>(), Some(ArcError::Unreachable(_))))
}

/// `activate` and `deactivate`: one update call, the app's state before and after, and a block
/// explained with the command that overrides it.
async fn update(
    action: Action,
    args: UpdateArgs,
    cluster_arg: Option<&str>,
    options: &ClientOptions,
) -> anyhow::Result<ExitCode> {
    let loaded = &document::load(cluster_arg, options.extra_ca.is_some())?;
    let doc = &loaded.document;
    let plan = activate::plan(doc, action, &args.app, &args.region, &args.overrides)?;
    let json = args.json;
    if args.dry_run {
        if json {
            say!(
                "{}",
                output::update_json(&UpdateReport::new(&plan, "dry_run"))
            );
        } else {
            say_raw(&output::dry_run(&plan));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let client = connect(loaded, options).await;
    if !json {
        say!("{}", output::heading(&plan));
    }
    let apps = [plan.app.as_str()];
    let before = status::fetch(doc, &client, &apps).await;
    let before_app = app_of(&before, &plan.app);
    if !json {
        say!("{}", output::state_line("before:", before_app.clone()));
    }
    let started = Instant::now();
    let result = client.update(&plan.update_entries(), &plan.overrides).await;
    let took = started.elapsed();
    match result {
        Ok(()) => {
            let after = status::fetch(doc, &client, &apps).await;
            let after_app = app_of(&after, &plan.app);
            if json {
                let r = UpdateReport {
                    took: Some(took),
                    before: Some(before_app),
                    after: Some(after_app),
                    ..UpdateReport::new(&plan, "ok")
                };
                say!("{}", output::update_json(&r));
                return Ok(ExitCode::SUCCESS);
            }
            say!("{}", output::sent_line(&plan, took, "ok"));
            say!("{}", output::state_line("after:", after_app.clone()));
            match after_app {
                Ok(app) if !plan.applied(app) => eprintln!("{}", output::not_yet_applied(&plan)),
                Ok(app) => say!("{}", output::done(&plan, Some(app))),
                Err(_) => say!("{}", output::done(&plan, None)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(ArcError::Conflict(message)) => {
            let explanation = activate::explain_conflict(doc, &plan, &message);
            let command = plan.command(cluster_arg);
            if json {
                let r = UpdateReport {
                    took: Some(took),
                    before: Some(before_app),
                    conflict: Some((&explanation, command.as_str())),
                    ..UpdateReport::new(&plan, "blocked")
                };
                say!("{}", output::update_json(&r));
            } else {
                say!("{}", output::sent_line(&plan, took, "blocked"));
                eprint!("{}", output::conflict(&explanation, &plan, &command));
            }
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            let e = anyhow::Error::new(e).context(format!(
                "UpdateRoutingControlStates for {} failed (check `failover status`: a call that timed out may still have been applied)",
                plan.app
            ));
            if json {
                let r = UpdateReport {
                    took: Some(took),
                    before: Some(before_app),
                    error: Some(format!("{e:#}")),
                    ..UpdateReport::new(&plan, "failed")
                };
                say!("{}", output::update_json(&r));
            } else {
                say!("{}", output::sent_line(&plan, took, "failed"));
            }
            Err(e)
        }
    }
}

/// One app's status out of a status read, or why it is not known.
fn app_of<'a>(
    read: &'a Result<status::Status, status::StatusError>,
    app: &str,
) -> Result<&'a status::AppStatus, String> {
    match read {
        Ok(s) => s
            .apps
            .get(app)
            .ok_or_else(|| format!("{app} is missing from the answer")),
        Err(e) => Err(format!("{e}: {}", e.source)),
    }
}

async fn probe(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let opts = probe::Options {
        base: probe::Base::parse(&args.url)?,
        interval: args.interval,
        stop: match (args.count, args.duration) {
            (Some(n), _) => probe::Stop::Rounds(n),
            (None, Some(d)) => probe::Stop::After(d),
            (None, None) => probe::Stop::Signal,
        },
        request_timeout: args.request_timeout,
    };
    let json = args.json;
    if !json {
        say!("{}", output::probe_heading(&opts));
    }
    let summary = probe::run(&opts, bootstrap::shutdown::signal(), |round| {
        if json {
            say!("{}", output::probe_round_json(round));
        } else {
            say!("{}", output::probe_line(round));
        }
    })
    .await
    .context("probe")?;
    if json {
        say!("{}", output::probe_summary_json(&summary));
    } else {
        say_raw(&output::probe_summary(&summary));
    }
    Ok(if summary.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
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
    fn durations_are_bounded() {
        assert_eq!(parse_call_timeout("2s"), Ok(Duration::from_secs(2)));
        assert!(parse_call_timeout("0s")
            .unwrap_err()
            .contains("out of range"));
        assert!(parse_call_timeout("2h")
            .unwrap_err()
            .contains("out of range"));
        assert!(parse_call_timeout("soon").unwrap_err().contains("\"soon\""));
    }
}
