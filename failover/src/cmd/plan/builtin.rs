//! The built-in plan of `failover evacuate <REGION>`: move every app out of REGION, the services
//! first and the external API last (it calls the services, so they are in place before its own
//! traffic moves). Per target region: gate every app, scale them, one approval, then activate and
//! verify the services together, then the external API. `--print-plan` writes it as a plan file
//! to change the order or the steps.

use std::collections::BTreeMap;

use recovery::ClusterDocument;

use super::file::{PlanFile, StepFile};
use crate::hops::EXTERNAL_API;

/// Why there is nothing to evacuate to.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EvacuateError {
    #[error("{region:?} is not a region of any app in the cluster document (regions: {known})")]
    UnknownRegion { region: String, known: String },
    #[error("{app} has no region besides {region} to move to")]
    Nowhere { app: String, region: String },
}

/// The plan for moving every app that has `region` out of it, to its other region (the
/// secondary when `region` is the primary, else the primary).
pub fn evacuate(
    doc: &ClusterDocument,
    region: &str,
    probe_url: Option<&str>,
) -> Result<PlanFile, EvacuateError> {
    let mut by_target: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, app) in &doc.apps {
        if !app.regions.contains_key(region) {
            continue;
        }
        let to = if app.primary_region == region {
            app.secondary_region.clone()
        } else if app.secondary_region == region {
            app.primary_region.clone()
        } else {
            app.secondary_region.clone()
        };
        if to == region {
            return Err(EvacuateError::Nowhere {
                app: name.clone(),
                region: region.to_owned(),
            });
        }
        by_target.entry(to).or_default().push(name.clone());
    }
    if by_target.is_empty() {
        let mut known: Vec<String> = doc
            .apps
            .values()
            .flat_map(|a| a.regions.keys().cloned())
            .collect();
        known.sort();
        known.dedup();
        return Err(EvacuateError::UnknownRegion {
            region: region.to_owned(),
            known: known.join(", "),
        });
    }
    let mut steps = Vec::new();
    let step = |kind: &str, apps: &[String], to: &str| StepFile {
        kind: kind.into(),
        apps: apps.to_vec(),
        to: Some(to.into()),
        ..StepFile::default()
    };
    for (to, apps) in &by_target {
        let (services, external): (Vec<String>, Vec<String>) =
            apps.iter().cloned().partition(|a| a != EXTERNAL_API);
        steps.push(step("gate", apps, to));
        steps.push(step("scale", apps, to));
        steps.push(StepFile {
            kind: "approve".into(),
            message: Some(format!(
                "Move {} out of {region} to {to}{}?",
                apps.join(", "),
                if services.is_empty() || external.is_empty() {
                    String::new()
                } else {
                    " (services first, then the external API)".into()
                }
            )),
            ..StepFile::default()
        });
        for group in [services, external] {
            if group.is_empty() {
                continue;
            }
            steps.push(StepFile {
                parallel: Some(true),
                ..step("activate", &group, to)
            });
            steps.push(step("verify", &group, to));
        }
    }
    Ok(PlanFile {
        name: Some(format!("evacuate {region}")),
        probe_url: probe_url.map(str::to_owned),
        step: steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::plan::file::{check, Action};
    use recovery::local::default_document;

    #[test]
    fn services_move_before_the_external_api() {
        let doc = default_document("127.0.0.1", 8600);
        let file = evacuate(&doc, "us-east-1", Some("http://127.0.0.1:8080")).unwrap();
        let plan = check(&file, &doc).unwrap();
        let kinds: Vec<(&str, Vec<&str>)> = plan
            .steps
            .iter()
            .map(|s| (s.action.kind(), s.apps.iter().map(String::as_str).collect()))
            .collect();
        let all = vec!["external-api", "service1", "service2"];
        assert_eq!(
            kinds,
            vec![
                ("gate", all.clone()),
                ("scale", all.clone()),
                ("approve", vec![]),
                ("activate", vec!["service1", "service2"]),
                ("verify", vec!["service1", "service2"]),
                ("activate", vec!["external-api"]),
                ("verify", vec!["external-api"]),
            ]
        );
        assert!(plan
            .steps
            .iter()
            .all(|s| s.action.to().is_none_or(|t| t == "us-west-2")));
        assert!(
            matches!(&plan.steps[2].action, Action::Approve { message, .. }
            if message == "Move external-api, service1, service2 out of us-east-1 to us-west-2 (services first, then the external API)?")
        );
        // It round-trips through TOML, as --print-plan writes it.
        let text = toml::to_string(&file).unwrap();
        assert_eq!(crate::cmd::plan::file::parse(&text, &doc).unwrap(), plan);
    }

    #[test]
    fn an_unknown_region_is_refused_naming_the_known_ones() {
        let doc = default_document("127.0.0.1", 8600);
        assert_eq!(
            evacuate(&doc, "eu-west-9", None).unwrap_err().to_string(),
            "\"eu-west-9\" is not a region of any app in the cluster document (regions: us-east-1, us-west-2)"
        );
    }
}
