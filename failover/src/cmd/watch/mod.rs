//! `failover watch`: an opt-in watcher that runs the gated evacuation when the external API's
//! active region is confirmed down. Every `--interval` it reads the sources ([`sources`]: the
//! routing controls, its own probe of each region, CloudWatch alarms ([`alarms`]), the kill
//! switch) and feeds them to the rules ([`machine`]: one direction, dwell, cooldown, kill switch).
//! When they say run, it runs the built-in `evacuate` plan through the plan engine
//! ([`crate::cmd::plan`]: the same gates, steps and report), approved by the configuration, or
//! with `--dry-run` only evaluates it and says what it would have done. Every state change, run
//! and refusal is an audit record and a metric ([`audit`]).

pub mod alarms;
pub mod audit;
pub mod machine;
pub mod sources;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use recovery::ClusterDocument;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::cluster::Cluster;
use crate::cmd::check::Clients;
use crate::cmd::plan::{builtin, execution, file, RunArgs};
use crate::error::Error;
use crate::hops::EXTERNAL_API;
use crate::{duration, out};
use machine::{Machine, Rules, State};
use sources::Sources;

/// A watch configuration that cannot run (exit 2), or a listener that cannot start (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("watch: {0}")]
    Config(String),
    #[error("watch: --metrics-listen {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
}

/// The arguments of `watch`. Each has an environment variable, for a container's configuration.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The region this watcher moves the external API into, and never out of (default: REGION,
    /// else AWS_REGION).
    #[arg(long, env = "WATCH_REGION", value_name = "REGION")]
    pub region: Option<String>,
    /// Trigger: GET /health of each region's external-API URL (the cluster document's) at every
    /// evaluation; a region is down while its answer is not 200 and healthy.
    #[arg(long, env = "WATCH_PROBE")]
    pub probe: bool,
    /// Trigger: REGION=ALARM, a CloudWatch alarm that is in ALARM while REGION's external API is
    /// down (repeatable; comma-separated in WATCH_ALARMS).
    #[arg(long = "alarm", env = "WATCH_ALARMS", value_delimiter = ',', value_parser = parse_alarm, value_name = "REGION=ALARM")]
    pub alarms: Vec<(String, String)>,
    /// The region the alarms are read in (Route 53 health-check metrics are in us-east-1).
    #[arg(long, env = "WATCH_ALARM_REGION", default_value = "us-east-1")]
    pub alarm_region: String,
    /// How long the trigger must hold, at every evaluation, before the plan runs (10ms to 24h).
    #[arg(long, env = "WATCH_DWELL", default_value = "60s", value_parser = duration::interval, value_name = "DURATION")]
    pub dwell: Duration,
    /// After a run (a dry or failed one included), no other automatic run within this (10ms to 24h).
    #[arg(long, env = "WATCH_COOLDOWN", default_value = "30m", value_parser = duration::interval, value_name = "DURATION")]
    pub cooldown: Duration,
    /// Time between evaluations (10ms to 24h).
    #[arg(long, env = "WATCH_INTERVAL", default_value = "5s", value_parser = duration::interval, value_name = "DURATION")]
    pub interval: Duration,
    /// Kill switch: a routing control (ARN) that must be On for the watcher to act; Off, or
    /// unreadable, refuses every run. Operators flip it with the ARC console or CLI.
    #[arg(long, env = "WATCH_ENABLE_CONTROL", value_name = "ARN")]
    pub enable_control: Option<String>,
    /// Kill switch: while this file exists the watcher refuses every run.
    #[arg(long, env = "WATCH_STOP_FILE", value_name = "PATH")]
    pub stop_file: Option<PathBuf>,
    /// Serve GET /metrics (Prometheus) and GET /health here.
    #[arg(long, env = "WATCH_METRICS_LISTEN", value_name = "ADDR:PORT")]
    pub metrics_listen: Option<SocketAddr>,
    /// Stop after this long (rehearsals); default: until SIGTERM or Ctrl-C (1ms to 366d).
    #[arg(long, value_parser = duration::run_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
    #[command(flatten)]
    pub run: RunArgs,
}

fn parse_alarm(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((r, a)) if !r.trim().is_empty() && !a.trim().is_empty() => {
            Ok((r.trim().to_owned(), a.trim().to_owned()))
        }
        _ => Err(format!(
            "{s:?} is not REGION=ALARM (e.g. us-east-1=externalapi-us-east-1-down)"
        )),
    }
}

/// The home region and the rules, with every input checked against the document.
pub fn configure(args: &Args, doc: &ClusterDocument) -> Result<Rules, WatchError> {
    let bad = |m: String| Err(WatchError::Config(m));
    let home = match args.region.clone().or_else(|| {
        ["REGION", "AWS_REGION"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    }) {
        Some(r) => r,
        None => return bad("no region: give --region (or WATCH_REGION, REGION)".into()),
    };
    let Some(app) = doc.apps.get(EXTERNAL_API) else {
        return bad(format!("the cluster document has no {EXTERNAL_API:?} app"));
    };
    let regions = app.regions.keys().cloned().collect::<Vec<_>>().join(", ");
    if !app.regions.contains_key(&home) {
        return bad(format!(
            "region {home:?} is not a region of {EXTERNAL_API} (regions: {regions})"
        ));
    }
    for (region, alarm) in &args.alarms {
        if !app.regions.contains_key(region) {
            return bad(format!(
                "--alarm {region}={alarm}: {region:?} is not a region of {EXTERNAL_API} (regions: {regions})"
            ));
        }
    }
    if !args.probe && args.alarms.is_empty() {
        return bad("no trigger: give --probe, --alarm REGION=ALARM, or both".into());
    }
    // One direction: the evacuation of every other region moves every app into `home`.
    for from in app.regions.keys().filter(|r| **r != home) {
        let plan =
            builtin::evacuate(doc, from, None).map_err(|e| WatchError::Config(e.to_string()))?;
        if let Some(s) = plan
            .step
            .iter()
            .find(|s| s.to.as_deref().is_some_and(|t| t != home))
        {
            return bad(format!(
                "evacuating {from} would move {} to {}, not {home}: a watcher only moves traffic into its own region",
                s.apps.join(", "),
                s.to.as_deref().unwrap_or_default()
            ));
        }
    }
    Ok(Rules {
        home,
        dwell: args.dwell,
        cooldown: args.cooldown,
    })
}

/// `failover watch`.
pub async fn run(args: Args, cluster: &Cluster) -> Result<ExitCode, Error> {
    let loaded = cluster.load()?;
    let doc = loaded.document.clone();
    let rules = configure(&args, &doc)?;
    audit::install();
    if let Some(addr) = args.metrics_listen {
        let local = audit::serve(addr)
            .await
            .map_err(|e| WatchError::Listen(addr, e))?;
        out::line(&format!("metrics on http://{local}/metrics"));
    }
    let mut alarm_names: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (region, alarm) in &args.alarms {
        alarm_names
            .entry(region.clone())
            .or_default()
            .push(alarm.clone());
    }
    let alarms = if alarm_names.is_empty() {
        None
    } else {
        Some(alarms::Alarms::new(&args.alarm_region, args.run.probes.aws_timeout).await)
    };
    let clients = Clients::new(&doc, &args.run.probes).await?;
    let sources = Sources {
        arc: cluster.client(&loaded).await,
        http: clients.http,
        health_timeout: args.run.probes.health_timeout,
        probe: args.probe,
        alarm_names,
        alarms,
        enable_control: args.enable_control.clone(),
        stop_file: args.stop_file.clone(),
        doc,
    };
    let mut machine = Machine::new(rules.clone());
    let start = json!({
        "home": rules.home,
        "dwell_ms": rules.dwell.as_millis() as u64,
        "cooldown_ms": rules.cooldown.as_millis() as u64,
        "interval_ms": args.interval.as_millis() as u64,
        "probe": args.probe,
        "alarms": args.alarms.iter().map(|(r, a)| format!("{r}={a}")).collect::<Vec<_>>(),
        "enable_control": args.enable_control,
        "stop_file": args.stop_file,
        "dry_run": args.run.dry_run,
    });
    out::line(&format!(
        "watching the external API for {} (moves it into {} only; dwell {}, cooldown {}{})",
        cluster_name(&loaded),
        rules.home,
        humantime::format_duration(rules.dwell),
        humantime::format_duration(rules.cooldown),
        if args.run.dry_run {
            "; dry run: nothing will be changed"
        } else {
            ""
        }
    ));
    audit::record("started", start);
    let stop = async {
        match args.duration {
            Some(d) => tokio::select! {
                _ = tokio::time::sleep(d) => {}
                _ = bootstrap::shutdown::signal() => {}
            },
            None => bootstrap::shutdown::signal().await,
        }
    };
    let mut stop = std::pin::pin!(stop);
    loop {
        let (obs, readings) = sources.observe().await;
        if let Some(state) = machine.step(Instant::now(), &obs).cloned() {
            let event = if matches!(state, State::Refused { .. }) {
                "refused"
            } else {
                "state"
            };
            let switch = match &obs.switch {
                machine::Switch::Armed => "armed".to_owned(),
                machine::Switch::Disarmed(why) => format!("disarmed: {why}"),
            };
            out::line(&format!("{} {}", now(), describe(&state)));
            audit::record(
                event,
                json!({ "state": state, "health": obs.health, "readings": readings, "kill_switch": switch }),
            );
        }
        if let State::Running { from } = machine.state().clone() {
            evacuate(&from, &rules.home, &args.run, cluster, &loaded).await;
            machine.finished(Instant::now());
        }
        tokio::select! {
            _ = tokio::time::sleep(args.interval) => {}
            _ = &mut stop => break,
        }
    }
    audit::record("stopped", json!({ "state": machine.state() }));
    Ok(ExitCode::SUCCESS)
}

fn cluster_name(loaded: &crate::document::Loaded) -> String {
    loaded.describe()
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// One line for a state.
pub fn describe(state: &State) -> String {
    match state {
        State::Starting => "starting".into(),
        State::Unknown { reason } => format!("unknown: {reason}"),
        State::Home => "home: the external API is active here; nothing to do".into(),
        State::Watching {
            active,
            active_health,
            home_health,
        } => format!("watching: active in {active} ({active_health:?}), home {home_health:?}")
            .to_lowercase(),
        State::Holding { from, dwell_ms } => {
            format!("holding: {from} confirmed down, home up; evacuating after {dwell_ms} ms unless that changes")
        }
        State::Refused { from, reason } => format!("refused to evacuate {from}: {reason}"),
        State::Running { from } => format!("evacuating {from}"),
        State::Ran { from } => format!("ran the evacuation of {from}; cooldown"),
    }
}

/// Runs (or with `--dry-run` evaluates) the built-in evacuation of `from` and records it.
async fn evacuate(
    from: &str,
    home: &str,
    args: &RunArgs,
    cluster: &Cluster,
    loaded: &crate::document::Loaded,
) {
    let at = now();
    let doc = &loaded.document;
    let plan = builtin::evacuate(doc, from, args.probe_url.as_deref())
        .map_err(|e| e.to_string())
        .and_then(|f| {
            if f.step
                .iter()
                .any(|s| s.to.as_deref().is_some_and(|t| t != home))
            {
                return Err(format!("the plan would move traffic out of {home}"));
            }
            file::check(&f, doc)
        });
    let plan = match plan {
        Ok(p) => p,
        Err(error) => {
            out::line(&format!("{at} refused to evacuate {from}: {error}"));
            audit::record(
                "refused",
                json!({ "from": from, "to": home, "reason": error }),
            );
            return;
        }
    };
    let mut run = args.clone();
    // The configuration that turned the watcher on is the approval.
    run.yes = true;
    let event = if run.dry_run { "would_run" } else { "run" };
    match execution::execute_with_report(plan, &run, cluster, loaded).await {
        Ok(done) => {
            let gate = gate_result(&done.json);
            let line = if run.dry_run {
                format!("would have evacuated {from} at {at}, gate result {gate}")
            } else {
                format!(
                    "evacuated {from} at {at}: {}, gate result {gate}",
                    done.outcome
                )
            };
            out::line(&line);
            audit::record(
                event,
                json!({
                    "from": from, "to": home, "at": at, "outcome": done.outcome,
                    "failure": done.failure, "gate": gate, "recovery_ms": done.recovery_ms,
                    "failed_requests": done.failed_requests, "report": done.json,
                }),
            );
        }
        Err(e) => {
            let error = e.chain().to_string();
            out::line(&format!("{at} the evacuation of {from} failed: {error}"));
            audit::record(
                event,
                json!({ "from": from, "to": home, "at": at, "outcome": "error", "failure": error }),
            );
        }
    }
}

/// The gate step's result from a run's JSON report: `passed`, or `failed: <why>`.
fn gate_result(report: &std::path::Path) -> String {
    let report: Option<Value> = std::fs::read_to_string(report)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let gate = report.as_ref().and_then(|r| {
        r["steps"]
            .as_array()?
            .iter()
            .find(|s| s["kind"] == "gate")
            .cloned()
    });
    match gate {
        None => "unknown (no gate in the report)".into(),
        Some(g) => match g["error"].as_str() {
            Some(e) => format!("failed: {e}"),
            None => "passed".into(),
        },
    }
}
