//! `failover status`: the routing-control states of every app, read with one
//! `ListRoutingControls` call per control panel, and the region Route 53 answers from by its
//! failover rule ([`recovery::active_region`]). [`render`] prints them as a table or JSON; the
//! update commands show an app's line of it before and after their call.

pub mod gateways;
pub mod render;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::future::join_all;
use recovery::{active_region, ArcClient, ArcError, ClusterDocument, ControlInfo, ControlState};

use crate::cluster::Cluster;
use crate::cmd::probe::request;
use crate::error::Error;
use crate::{duration, out};

/// The arguments of `status`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print a machine-readable JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// A gateway's base URL (repeatable): its `/ready` says which regional endpoints its outlier
    /// detection ejected, so an app served from its standby by regional fallback shows here.
    #[arg(long = "gateway", value_name = "URL")]
    pub gateways: Vec<String>,
    /// Bound on each gateway's `GET /ready`, connect included (10ms to 5m).
    #[arg(long, default_value = "2s", value_parser = duration::request_timeout, value_name = "DURATION")]
    pub gateway_timeout: Duration,
}

/// Runs `status`: reads every app's controls and prints them.
pub async fn run(args: Args, cluster: &Cluster) -> Result<ExitCode, Error> {
    let loaded = cluster.load()?;
    let client = cluster.client(&loaded).await;
    let status = fetch(&loaded.document, &client, &[]).await?;
    let ejections = if args.gateways.is_empty() {
        None
    } else {
        let http = request::client(args.gateway_timeout).map_err(Error::Probe)?;
        Some(gateways::read(&http, &args.gateways, args.gateway_timeout).await)
    };
    if args.json {
        out::line(&render::json_with(&status, ejections.as_ref()));
    } else {
        let mut text = render::table(&status, &loaded.describe());
        if let Some(e) = &ejections {
            text.push_str(&render::ejections(&status, e));
        }
        out::text(&text);
    }
    Ok(ExitCode::SUCCESS)
}

/// A list call for one control panel failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot list the routing controls of control panel {panel_name} ({panel_arn})")]
pub struct StatusError {
    pub panel_name: String,
    pub panel_arn: String,
    #[source]
    pub source: ArcError,
}

/// Something about an app's controls an operator should look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// No control On: no healthy record, so Route 53 answers PRIMARY anyway.
    NoneOn,
    /// Every control On: Route 53 answers PRIMARY, and nothing is standing by.
    AllOn,
    /// Controls of the document the cluster did not list (region names).
    Missing(Vec<String>),
}

/// One app's controls and the region Route 53 answers from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppStatus {
    pub name: String,
    pub hostname: String,
    pub primary_region: String,
    pub secondary_region: String,
    /// Region -> state of its routing control; `None` when the cluster did not list it.
    pub regions: BTreeMap<String, Option<ControlState>>,
    pub active_region: String,
    pub warnings: Vec<Warning>,
}

/// Every app's status, by app name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub apps: BTreeMap<String, AppStatus>,
}

/// Reads the status of the named apps (all apps when `apps` is empty): one list call per distinct
/// control panel, concurrently.
pub async fn fetch(
    doc: &ClusterDocument,
    client: &ArcClient,
    apps: &[&str],
) -> Result<Status, StatusError> {
    let controls = list(doc, client, apps).await?;
    Ok(from_controls(doc, &controls, apps))
}

/// The routing controls of the named apps' control panels (all when `apps` is empty), as the
/// cluster lists them: one list call per distinct panel, concurrently.
pub async fn list(
    doc: &ClusterDocument,
    client: &ArcClient,
    apps: &[&str],
) -> Result<Vec<ControlInfo>, StatusError> {
    let mut panels: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, app) in &doc.apps {
        if apps.is_empty() || apps.contains(&name.as_str()) {
            panels.insert(&app.control_panel_arn, &app.control_panel_name);
        }
    }
    let calls = panels.iter().map(|(arn, name)| async move {
        client.list(Some(arn)).await.map_err(|source| StatusError {
            panel_name: (*name).to_owned(),
            panel_arn: (*arn).to_owned(),
            source,
        })
    });
    let mut controls = Vec::new();
    for answer in join_all(calls).await {
        controls.extend(answer?);
    }
    Ok(controls)
}

/// Builds the status of the named apps (all when empty) from what the cluster listed.
pub fn from_controls(doc: &ClusterDocument, controls: &[ControlInfo], apps: &[&str]) -> Status {
    let by_arn: BTreeMap<&str, ControlState> =
        controls.iter().map(|c| (c.arn.as_str(), c.state)).collect();
    let apps = doc
        .apps
        .iter()
        .filter(|(name, _)| apps.is_empty() || apps.contains(&name.as_str()))
        .map(|(name, app)| {
            let regions: BTreeMap<String, Option<ControlState>> = app
                .regions
                .iter()
                .map(|(region, entry)| {
                    (
                        region.clone(),
                        by_arn.get(entry.routing_control_arn.as_str()).copied(),
                    )
                })
                .collect();
            let active = active_region(&app.primary_region, &app.secondary_region, |r| {
                regions.get(r).copied().flatten()
            })
            .to_owned();
            let mut warnings = Vec::new();
            let missing: Vec<String> = regions
                .iter()
                .filter(|(_, s)| s.is_none())
                .map(|(r, _)| r.clone())
                .collect();
            let known: Vec<ControlState> = regions.values().copied().flatten().collect();
            let on = known.iter().filter(|s| s.is_on()).count();
            if on == 0 {
                warnings.push(Warning::NoneOn);
            } else if on == regions.len() && on > 1 {
                warnings.push(Warning::AllOn);
            }
            if !missing.is_empty() {
                warnings.push(Warning::Missing(missing));
            }
            (
                name.clone(),
                AppStatus {
                    name: name.clone(),
                    hostname: app.hostname.clone(),
                    primary_region: app.primary_region.clone(),
                    secondary_region: app.secondary_region.clone(),
                    regions,
                    active_region: active,
                    warnings,
                },
            )
        })
        .collect();
    Status { apps }
}

#[cfg(test)]
mod tests {
    use super::*;

    use recovery::local::default_document;

    fn controls(doc: &ClusterDocument, states: &[(&str, &str, ControlState)]) -> Vec<ControlInfo> {
        states
            .iter()
            .map(|(app, region, state)| {
                let a = &doc.apps[*app];
                let r = &a.regions[*region];
                ControlInfo {
                    arn: r.routing_control_arn.clone(),
                    name: r.routing_control_name.clone(),
                    control_panel_arn: a.control_panel_arn.clone(),
                    control_panel_name: a.control_panel_name.clone(),
                    state: *state,
                }
            })
            .collect()
    }

    #[test]
    fn active_region_and_warnings_follow_the_route53_rule() {
        use ControlState::*;
        let doc = default_document("127.0.0.1", 8600);
        let listed = controls(
            &doc,
            &[
                ("external-api", "us-east-1", On),
                ("external-api", "us-west-2", Off),
                ("service1", "us-east-1", Off),
                ("service1", "us-west-2", Off),
                ("service2", "us-east-1", On),
                ("service2", "us-west-2", On),
            ],
        );
        let status = from_controls(&doc, &listed, &[]);
        assert_eq!(status.apps["external-api"].active_region, "us-east-1");
        assert!(status.apps["external-api"].warnings.is_empty());
        assert_eq!(status.apps["service1"].active_region, "us-east-1");
        assert_eq!(status.apps["service1"].warnings, vec![Warning::NoneOn]);
        assert_eq!(status.apps["service2"].warnings, vec![Warning::AllOn]);

        let only = from_controls(&doc, &listed[2..3], &["service1"]);
        assert_eq!(only.apps.len(), 1);
        assert_eq!(
            only.apps["service1"].warnings,
            vec![Warning::NoneOn, Warning::Missing(vec!["us-west-2".into()])]
        );
        assert_eq!(only.apps["service1"].regions["us-east-1"], Some(Off));
        assert_eq!(only.apps["service1"].regions["us-west-2"], None);
    }
}
