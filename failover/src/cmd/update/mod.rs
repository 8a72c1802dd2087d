//! `failover activate <app> <region>` and `failover deactivate <app> <region>`: one command with two
//! actions, each one `UpdateRoutingControlStates` call, so a change is applied together or not at
//! all.
//!
//! [`plan`] checks the request against the cluster document and builds the call's entries;
//! [`run`] reads the app's state, sends the call and reads the state again; when a safety rule
//! blocks the change, [`conflict`] works out which rule it was and how to override it deliberately
//! (with the default rules, turning an app's last On control Off is blocked: that rare all-Off
//! state takes `--override`); [`report`] prints all of it as text or one JSON object.

pub mod conflict;
pub mod plan;
pub mod report;

use std::process::ExitCode;
use std::time::Instant;

use recovery::ArcError;

pub use plan::{Action, InputError, Plan};

use crate::audit::{Trail, Who};
use crate::cluster::Cluster;
use crate::cmd::status::{self, AppStatus, Status, StatusError};
use crate::error::Error;
use crate::out;
use report::UpdateReport;

/// The arguments of `activate` and `deactivate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The app, as named in the cluster document (e.g. service1).
    pub app: String,
    /// The region whose control is turned On (activate) or Off (deactivate), e.g. us-west-2.
    pub region: String,
    /// Override a safety rule of APP's control panel for this call: its ARN, or its name from the
    /// cluster document. Repeatable.
    #[arg(long = "override", value_name = "RULE")]
    pub overrides: Vec<String>,
    /// Print the entries the update would send, and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one machine-readable JSON object (the entries, the result, the app's state before
    /// and after, and a block's rule) instead of the text.
    #[arg(long)]
    pub json: bool,
    /// Where the audit record of the change is appended (audit.jsonl; the plans' report
    /// directory). The record also goes to stderr as one JSON line.
    #[arg(
        long,
        env = "FAILOVER_REPORT_DIR",
        default_value = "failover-reports",
        value_name = "DIR"
    )]
    pub report_dir: std::path::PathBuf,
}

/// Why an app's state before or after the call is not known.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<'a> {
    /// The cluster's answer does not list the app's controls.
    #[error("{0} is missing from the answer")]
    Missing(&'a str),
    /// The controls could not be read.
    #[error("{read}: {}", read.source)]
    Failed { read: &'a StatusError },
}

/// An app's state as read from the cluster, or why it is not known.
pub type AppRead<'a> = Result<&'a AppStatus, ReadError<'a>>;

/// One app's status out of a status read.
fn app_of<'a>(read: &'a Result<Status, StatusError>, app: &'a str) -> AppRead<'a> {
    match read {
        Ok(s) => s.apps.get(app).ok_or(ReadError::Missing(app)),
        Err(read) => Err(ReadError::Failed { read }),
    }
}

/// Runs `activate` or `deactivate`: the app's state before, one update call, the state after,
/// and a block explained with the command that overrides it (exit status 1).
pub async fn run(action: Action, args: Args, cluster: &Cluster) -> Result<ExitCode, Error> {
    let loaded = &cluster.load()?;
    let doc = &loaded.document;
    let plan = plan::plan(doc, action, &args.app, &args.region, &args.overrides)?;
    let json = args.json;
    if args.dry_run {
        if json {
            out::line(&report::json(&UpdateReport::new(&plan, "dry_run")));
        } else {
            out::text(&report::dry_run(&plan));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let client = cluster.client(loaded).await;
    if !json {
        out::line(&report::heading(&plan));
    }
    let apps = [plan.app.as_str()];
    let before = status::fetch(doc, &client, &apps).await;
    let before_app = app_of(&before, &plan.app);
    if !json {
        out::line(&report::state_line("before:", &before_app));
    }
    let trail = Trail::new(
        Who::of(doc, cluster.call_timeout()).await,
        format!("failover {}", plan.action.as_str()),
        &args.report_dir,
    );
    let entries = plan.update_entries();
    let mut took = std::time::Duration::ZERO;
    let call = async {
        let started = Instant::now();
        let r = client.update(&entries, &plan.overrides).await;
        took = started.elapsed();
        r
    };
    let result = trail
        .change(
            doc,
            &client,
            plan.action.as_str(),
            &plan.app,
            &plan.region,
            &entries,
            &plan.overrides,
            call,
        )
        .await;
    let sent = UpdateReport {
        took: Some(took),
        before: Some(&before_app),
        ..UpdateReport::new(&plan, "ok")
    };
    match result {
        Ok(()) => {
            let after = status::fetch(doc, &client, &apps).await;
            let after_app = app_of(&after, &plan.app);
            if json {
                let r = UpdateReport {
                    after: Some(&after_app),
                    ..sent
                };
                out::line(&report::json(&r));
                return Ok(ExitCode::SUCCESS);
            }
            out::line(&report::sent_line(&plan, took, "ok"));
            out::line(&report::state_line("after:", &after_app));
            match after_app {
                Ok(app) if !plan.applied(app) => eprintln!("{}", report::not_yet_applied(&plan)),
                Ok(app) => out::line(&report::done(&plan, Some(app))),
                Err(_) => out::line(&report::done(&plan, None)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(ArcError::Conflict(message)) => {
            let explanation = conflict::explain(doc, &plan, &message);
            let command = plan.command(cluster.arg());
            if json {
                let r = UpdateReport {
                    result: "blocked",
                    conflict: Some((&explanation, command.as_str())),
                    ..sent
                };
                out::line(&report::json(&r));
            } else {
                out::line(&report::sent_line(&plan, took, "blocked"));
                eprint!("{}", conflict::text(&explanation, &plan, &command));
            }
            Ok(ExitCode::FAILURE)
        }
        Err(source) => {
            let e = Error::Update {
                app: plan.app.clone(),
                source,
            };
            if json {
                let r = UpdateReport {
                    result: "failed",
                    error: Some(e.chain().to_string()),
                    ..sent
                };
                out::line(&report::json(&r));
            } else {
                out::line(&report::sent_line(&plan, took, "failed"));
            }
            Err(e)
        }
    }
}
