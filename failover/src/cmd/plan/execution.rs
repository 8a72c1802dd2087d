//! How a plan runs: its steps in order, each timed and recorded ([`StepRecord`]), the probe
//! around them, the stop at the first failure with the rollback (offered, or performed with
//! `--rollback-on-failure`), and the report at the end.

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use super::file::{self, Plan};
use super::recovery::{self, Moved};
use super::{report, sampler, steps, RunArgs};
use crate::capacity::record::CapacityRecord;
use crate::cluster::Cluster;
use crate::cmd::check::{Assessment, Clients};
use crate::cmd::probe::Base;
use crate::error::Error;
use crate::{health, out};

/// The settings steps read.
#[derive(Clone, Debug)]
pub struct Options {
    pub dry_run: bool,
    pub yes: bool,
    pub probe_interval: Duration,
    pub request_timeout: Duration,
    pub poll_interval: Duration,
    /// The readiness runs' capacity record (`--capacity-record`), for sizing the standby when
    /// the region being left cannot be read.
    pub capacity_record: Option<CapacityRecord>,
}

/// What one step did.
#[derive(Clone, Debug, Serialize)]
pub struct StepRecord {
    pub name: String,
    pub kind: String,
    pub apps: Vec<String>,
    pub to: Option<String>,
    /// Milliseconds since the run started.
    pub started_ms: u64,
    pub ended_ms: u64,
    /// `ok`, `failed`, `dry_run` or `not_run`.
    pub result: String,
    pub error: Option<String>,
    pub lines: Vec<String>,
    /// What the step could not read and what it used instead (a fallback, not a failure).
    pub warnings: Vec<String>,
    /// The writes made (or, in a dry run, that would be made).
    pub calls: Vec<String>,
    /// The gate's readings.
    pub gate: Vec<Assessment>,
}

impl StepRecord {
    fn new(
        name: &str,
        kind: &str,
        apps: &[String],
        to: Option<&str>,
        started_ms: u64,
    ) -> StepRecord {
        StepRecord {
            name: name.to_owned(),
            kind: kind.to_owned(),
            apps: apps.to_vec(),
            to: to.map(str::to_owned),
            started_ms,
            ended_ms: started_ms,
            result: "ok".into(),
            error: None,
            lines: Vec::new(),
            warnings: Vec::new(),
            calls: Vec::new(),
            gate: Vec::new(),
        }
    }

    /// Notes something the step saw.
    pub fn line(&mut self, l: impl Into<String>) {
        self.lines.push(l.into());
    }

    /// Notes a read that failed and the fallback used.
    pub fn warn(&mut self, w: impl Into<String>) {
        self.warnings.push(w.into());
    }

    /// Notes a write (made, or that a dry run would make).
    pub fn call(&mut self, c: impl Into<String>) {
        self.calls.push(c.into());
    }

    /// Marks the step failed (the first reason is kept; later ones become lines).
    pub fn fail(&mut self, why: impl Into<String>) {
        let why = why.into();
        if self.error.is_some() {
            self.lines.push(why);
        } else {
            self.error = Some(why);
        }
        self.result = "failed".into();
    }

    fn failed(&self) -> bool {
        self.error.is_some()
    }
}

/// A one-line description of a step, for the approval prompt and progress.
pub fn describe(step: &file::Step) -> String {
    match step.action.to() {
        Some(to) => format!("{} {} -> {to}", step.action.kind(), step.apps.join(", ")),
        None => step.action.kind().to_owned(),
    }
}

fn print_record(rec: &StepRecord) {
    for l in &rec.lines {
        out::line(&format!("      {l}"));
    }
    for w in &rec.warnings {
        out::line(&format!("      warning: {w}"));
    }
    for c in &rec.calls {
        out::line(&format!("      call: {c}"));
    }
    let took = rec.ended_ms.saturating_sub(rec.started_ms);
    match &rec.error {
        Some(e) => out::line(&format!("      FAILED ({took} ms): {e}")),
        None => out::line(&format!("      {} ({took} ms)", rec.result)),
    }
}

/// Runs `plan` and writes its report; exit status 1 when a step failed.
pub async fn execute(
    plan: Plan,
    args: &RunArgs,
    cluster: &Cluster,
    loaded: &crate::document::Loaded,
) -> Result<ExitCode, Error> {
    Ok(execute_with_report(plan, args, cluster, loaded)
        .await?
        .exit_code())
}

/// How a run ended and where its report is.
#[derive(Clone, Debug, Serialize)]
pub struct Finished {
    /// `succeeded`, `failed`, `dry_run` or `dry_run_failed`.
    pub outcome: String,
    pub failure: Option<String>,
    pub recovery_ms: Option<u64>,
    pub failed_requests: Option<u64>,
    pub json: std::path::PathBuf,
    pub markdown: std::path::PathBuf,
    pub html: std::path::PathBuf,
}

impl Finished {
    pub fn exit_code(&self) -> ExitCode {
        if self.failure.is_some() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// [`execute`], returning how it ended and the report's paths.
pub async fn execute_with_report(
    plan: Plan,
    args: &RunArgs,
    cluster: &Cluster,
    loaded: &crate::document::Loaded,
) -> Result<Finished, Error> {
    let doc = &loaded.document;
    let arc = cluster.client(loaded).await;
    let clients = Clients::new(doc, &args.probes).await?;
    let probe_url = args.probe_url.clone().or(plan.probe_url.clone());
    let probe = match &probe_url {
        Some(u) => Some(Base::parse(u)?),
        None => None,
    };
    let opts = Options {
        dry_run: args.dry_run,
        yes: args.yes,
        probe_interval: args.probe_interval,
        request_timeout: args.request_timeout,
        poll_interval: args.poll_interval,
        capacity_record: match &args.capacity_record {
            Some(path) => Some(CapacityRecord::load(path, &doc.cluster_arn)?),
            None => None,
        },
    };
    let epoch = Instant::now();
    let started_at = SystemTime::now();
    let ctx = steps::Ctx {
        doc,
        arc: &arc,
        clients: &clients,
        opts: &opts,
        probe: probe.clone(),
        probe_http: sampler::client(args.request_timeout, args.probe_dns).map_err(Error::Probe)?,
        epoch,
        audit: if args.dry_run {
            None
        } else {
            Some(crate::audit::Trail::new(
                crate::audit::Who::of(doc, cluster.call_timeout()).await,
                args.via
                    .clone()
                    .unwrap_or_else(|| format!("plan {:?}", plan.name)),
                &args.report_dir,
            ))
        },
    };
    let sampler = match (&probe, args.dry_run) {
        (Some(base), false) => Some(sampler::Sampler::start(
            sampler::client(args.request_timeout, args.probe_dns).map_err(Error::Probe)?,
            base.clone(),
            args.probe_interval,
            args.request_timeout,
            epoch,
        )),
        _ => None,
    };
    if sampler.is_some() {
        // A baseline before anything changes: three probe rounds (at most 1 s).
        tokio::time::sleep((args.probe_interval * 3).min(Duration::from_secs(1))).await;
    }
    out::line(&format!(
        "plan {:?}: {} steps{}",
        plan.name,
        plan.steps.len(),
        if args.dry_run {
            " (dry run: nothing will be changed)"
        } else {
            ""
        }
    ));
    let mut records = Vec::new();
    let mut moved: Vec<Moved> = Vec::new();
    let mut failure = None;
    let total = plan.steps.len();
    for (i, step) in plan.steps.iter().enumerate() {
        out::line(&format!(
            "[{}/{total}] {}: {}",
            i + 1,
            step.name,
            describe(step)
        ));
        let mut rec = StepRecord::new(
            &step.name,
            step.action.kind(),
            &step.apps,
            step.action.to(),
            sampler::millis(epoch.elapsed()),
        );
        let upcoming: Vec<String> = plan.steps[i + 1..].iter().map(describe).collect();
        steps::run(
            &ctx,
            &mut rec,
            &step.action,
            &step.apps,
            step.parallel,
            &upcoming,
            &mut moved,
        )
        .await;
        rec.ended_ms = sampler::millis(epoch.elapsed());
        if args.dry_run && !rec.failed() {
            rec.result = "dry_run".into();
        }
        print_record(&rec);
        let failed = rec.failed();
        records.push(rec);
        if failed {
            failure = Some(format!(
                "{} failed: {}",
                step.name,
                records
                    .last()
                    .and_then(|r| r.error.clone())
                    .unwrap_or_default()
            ));
            for later in &plan.steps[i + 1..] {
                let mut r = StepRecord::new(
                    &later.name,
                    later.action.kind(),
                    &later.apps,
                    later.action.to(),
                    0,
                );
                r.result = "not_run".into();
                records.push(r);
            }
            break;
        }
    }
    let mut rollback = Vec::new();
    if failure.is_some() && !moved.is_empty() {
        if args.rollback_on_failure {
            out::line(
                "rolling back: moving the moved apps back, each gated on its old region's health",
            );
            rollback = roll_back(&ctx, &moved).await;
        } else {
            out::line("apps moved before the failure; to move them back:");
            for m in moved.iter().rev() {
                let cluster_arg = cluster
                    .arg()
                    .map(|c| format!(" --cluster {c}"))
                    .unwrap_or_default();
                out::line(&format!(
                    "  failover{cluster_arg} activate {} {}",
                    m.app, m.from
                ));
            }
            out::line("  (or run the plan with --rollback-on-failure)");
        }
    }
    let samples = match sampler {
        Some(s) => {
            tokio::time::sleep(args.probe_tail).await;
            s.stop().await
        }
        None => Vec::new(),
    };
    let recovery = (probe.is_some() && !args.dry_run).then(|| recovery::measure(&samples, &moved));
    let outcome = match (args.dry_run, failure.is_some()) {
        (true, false) => "dry_run",
        (true, true) => "dry_run_failed",
        (false, false) => "succeeded",
        (false, true) => "failed",
    };
    let warnings = records
        .iter()
        .chain(&rollback)
        .flat_map(|r| r.warnings.iter().map(move |w| format!("{}: {w}", r.name)))
        .collect();
    let report = report::RunReport {
        plan: plan.name.clone(),
        dry_run: args.dry_run,
        started_at: humantime::format_rfc3339_millis(started_at).to_string(),
        ended_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        outcome: outcome.into(),
        failure: failure.clone(),
        warnings,
        probe_url,
        steps: records,
        rollback,
        moved,
        recovery,
        samples,
    };
    if let Some(r) = &report.recovery {
        out::line(&format!(
            "recovery: {} (first activate call to the last app's first answer from its new region); {} requests, {} failed; p99 {}",
            r.recovery_ms.map_or_else(|| "not measured".into(), |v| format!("{v} ms")),
            r.samples,
            r.failed,
            r.p99_ms.map_or_else(|| "-".into(), |v| format!("{v:.1} ms"))
        ));
    }
    let written = report::write(&args.report_dir, &report).map_err(Error::Report)?;
    out::line(&format!(
        "{outcome}{}",
        failure.map(|f| format!(": {f}")).unwrap_or_default()
    ));
    for path in [&written.json, &written.markdown, &written.html] {
        out::line(&format!("report: {}", path.display()));
    }
    Ok(Finished {
        outcome: report.outcome.clone(),
        failure: report.failure.clone(),
        recovery_ms: report.recovery.as_ref().and_then(|r| r.recovery_ms),
        failed_requests: report.recovery.as_ref().map(|r| r.failed),
        json: written.json,
        markdown: written.markdown,
        html: written.html,
    })
}

/// Moves every moved app back to where it was, newest first, each gated on the old region's
/// `/health`; stops at the first failure.
async fn roll_back(ctx: &steps::Ctx<'_>, moved: &[Moved]) -> Vec<StepRecord> {
    let mut records = Vec::new();
    for m in moved.iter().rev() {
        let apps = vec![m.app.clone()];
        let mut gate = StepRecord::new(
            &format!("rollback gate {}", m.app),
            "gate",
            &apps,
            Some(&m.from),
            sampler::millis(ctx.epoch.elapsed()),
        );
        let h = health::read(
            &ctx.clients.http,
            &ctx.doc.apps[&m.app].regions[&m.from].url,
            ctx.clients.health_timeout,
        )
        .await;
        match &h.build {
            Some(b) => gate.line(format!("{} {}: healthy, {b}", m.app, m.from)),
            None => gate.fail(format!(
                "{} {}: {}: {}",
                m.app,
                m.from,
                h.url,
                h.error.clone().unwrap_or_default()
            )),
        }
        gate.ended_ms = sampler::millis(ctx.epoch.elapsed());
        out::line(&format!("[rollback] gate {} -> {}", m.app, m.from));
        print_record(&gate);
        let failed = gate.failed();
        records.push(gate);
        if failed {
            break;
        }
        let mut act = StepRecord::new(
            &format!("rollback activate {}", m.app),
            "activate",
            &apps,
            Some(&m.from),
            sampler::millis(ctx.epoch.elapsed()),
        );
        let mut back = Vec::new();
        steps::activate(ctx, &mut act, &apps, &m.from, false, &mut back).await;
        act.ended_ms = sampler::millis(ctx.epoch.elapsed());
        out::line(&format!("[rollback] activate {} -> {}", m.app, m.from));
        print_record(&act);
        let failed = act.failed();
        records.push(act);
        if failed {
            break;
        }
    }
    records
}
