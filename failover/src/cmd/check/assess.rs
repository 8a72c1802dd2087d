//! Whether one region can take one app now: the findings `check` prints per standby region and
//! that the plans' `gate` step reads. Four checks, each `ok`, `warn`, `fail` or `n/a`:
//!
//! - `health`: the region's endpoint answers `GET /health` with `{"status":"ok",...}`.
//! - `build`: it runs the same version and commit as the active region.
//! - `controls`: its routing control is in the cluster under the document's name, and the app's
//!   safety rules (as the document lists them) let `activate` through.
//! - `capacity`: with ECS in the document, the region's service has running tasks and healthy
//!   targets, compared with the active region's; without, not applicable.
//!
//! A `fail` is anything that would make a switch fail; a `warn` is worth a look but does not
//! stop one.

use std::collections::BTreeMap;
use std::time::Duration;

use recovery::{AppEntry, ControlInfo, ControlState};
use serde::Serialize;

use super::rules;
use crate::capacity::{Capacity, CapacityClient};
use crate::cmd::probe::request::HttpClient;
use crate::health::{self, Reading};

/// A check's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    Warn,
    Fail,
    #[serde(rename = "n/a")]
    NotApplicable,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
            Level::NotApplicable => "n/a",
        }
    }
}

/// One check's result and what it saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub result: Level,
    pub detail: String,
}

fn finding(check: &'static str, result: Level, detail: impl Into<String>) -> Finding {
    Finding {
        check,
        result,
        detail: detail.into(),
    }
}

/// A region's health and capacity readings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegionReading {
    pub region: String,
    pub health: Reading,
    /// `None` without ECS in the document; an error message when the AWS calls failed. In JSON:
    /// `null`, the counts, or `{"error": "..."}`.
    #[serde(serialize_with = "capacity_json")]
    pub capacity: Option<Result<Capacity, String>>,
}

fn capacity_json<S: serde::Serializer>(
    c: &Option<Result<Capacity, String>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match c {
        None => s.serialize_none(),
        Some(Ok(c)) => c.serialize(s),
        Some(Err(e)) => serde_json::json!({ "error": e }).serialize(s),
    }
}

/// What a region can take, against the active region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Assessment {
    pub app: String,
    pub region: String,
    pub active_region: String,
    pub ready: bool,
    pub checks: Vec<Finding>,
    pub target: RegionReading,
    pub active: RegionReading,
}

/// How to reach what the checks read.
pub struct Probes<'a> {
    pub http: &'a HttpClient,
    pub health_timeout: Duration,
    /// Bound on the whole read of the region an app is active in ([`super::source`]).
    pub source_timeout: Duration,
    /// `None` when no region of the document has ECS.
    pub aws: Option<&'a CapacityClient>,
}

/// Reads one region's health and capacity.
pub async fn read_region(app: &AppEntry, region: &str, probes: &Probes<'_>) -> RegionReading {
    let entry = &app.regions[region];
    let health = health::read(probes.http, &entry.url, probes.health_timeout);
    let capacity = async {
        match (&entry.ecs, probes.aws) {
            (Some(ecs), Some(aws)) => Some(aws.read(region, ecs).await.map_err(|e| e.to_string())),
            _ => None,
        }
    };
    let (health, capacity) = tokio::join!(health, capacity);
    RegionReading {
        region: region.to_owned(),
        health,
        capacity,
    }
}

/// Assesses `region` for `app` against `active` (which must be another region's reading), with
/// the cluster's `controls` as listed.
pub fn assess(
    name: &str,
    app: &AppEntry,
    target: RegionReading,
    active: RegionReading,
    controls: &[ControlInfo],
) -> Assessment {
    let checks = vec![
        health_finding(&target.health),
        build_finding(&target, &active),
        controls_finding(app, &target.region, controls),
        capacity_finding(&target, &active),
    ];
    Assessment {
        app: name.to_owned(),
        region: target.region.clone(),
        active_region: active.region.clone(),
        ready: checks.iter().all(|c| c.result != Level::Fail),
        checks,
        target,
        active,
    }
}

fn health_finding(h: &Reading) -> Finding {
    match (&h.build, &h.error) {
        (Some(_), _) => finding(
            "health",
            Level::Ok,
            format!("{} answered in {} ms", h.url, h.took_ms),
        ),
        (None, e) => finding(
            "health",
            Level::Fail,
            format!("{}: {}", h.url, e.as_deref().unwrap_or("no answer")),
        ),
    }
}

fn build_finding(target: &RegionReading, active: &RegionReading) -> Finding {
    let (Some(t), a) = (&target.health.build, &active.health.build) else {
        return finding(
            "build",
            Level::Fail,
            "unknown: the region did not answer /health",
        );
    };
    let Some(a) = a else {
        return finding(
            "build",
            Level::Warn,
            format!(
                "runs {t}; the active region {} did not answer /health, so parity is unknown",
                active.region
            ),
        );
    };
    if t.version.is_empty() || t.commit.is_empty() {
        return finding(
            "build",
            Level::Warn,
            "its /health does not report version and commit (an older build)",
        );
    }
    if t == a {
        finding(
            "build",
            Level::Ok,
            format!("{t}, the same as {}", active.region),
        )
    } else {
        finding(
            "build",
            Level::Fail,
            format!("runs {t}, but {} runs {a}", active.region),
        )
    }
}

fn controls_finding(app: &AppEntry, region: &str, controls: &[ControlInfo]) -> Finding {
    let entry = &app.regions[region];
    let Some(listed) = controls.iter().find(|c| c.arn == entry.routing_control_arn) else {
        return finding(
            "controls",
            Level::Fail,
            format!(
                "routing control {} ({}) is not in the cluster",
                entry.routing_control_name, entry.routing_control_arn
            ),
        );
    };
    let mut notes = vec![format!("{} {}", listed.name, listed.state)];
    let mut level = Level::Ok;
    if listed.name != entry.routing_control_name {
        level = Level::Warn;
        notes.push(format!(
            "the cluster names it {:?}, the document {:?}",
            listed.name, entry.routing_control_name
        ));
    }
    for (r, e) in &app.regions {
        if !controls.iter().any(|c| c.arn == e.routing_control_arn) {
            return finding(
                "controls",
                Level::Fail,
                format!(
                    "{r}'s routing control {} is not in the cluster: activate would be refused",
                    e.routing_control_name
                ),
            );
        }
    }
    let states: BTreeMap<String, ControlState> =
        controls.iter().map(|c| (c.arn.clone(), c.state)).collect();
    let verdicts = rules::evaluate(app, &states, &rules::activate_entries(app, region));
    if app.safety_rules.is_empty() {
        notes.push("no safety rules in the cluster document".into());
    }
    for v in &verdicts {
        if v.passes {
            notes.push(format!("{} passes ({})", v.rule, v.reading));
        } else {
            level = Level::Fail;
            notes.push(format!(
                "activate would be blocked by {} ({})",
                v.rule, v.reading
            ));
        }
    }
    finding("controls", level, notes.join("; "))
}

fn capacity_finding(target: &RegionReading, active: &RegionReading) -> Finding {
    let Some(t) = &target.capacity else {
        return finding("capacity", Level::NotApplicable, "not applicable (no ECS)");
    };
    let t = match t {
        Ok(t) => t,
        Err(e) => return finding("capacity", Level::Fail, e.clone()),
    };
    if t.running == 0 {
        return finding("capacity", Level::Fail, format!("{t}: no task running"));
    }
    if t.target_groups > 0 && t.healthy_targets == 0 {
        return finding("capacity", Level::Fail, format!("{t}: no healthy target"));
    }
    match &active.capacity {
        Some(Ok(a)) if t.running < a.running || t.healthy_targets < a.healthy_targets => finding(
            "capacity",
            Level::Warn,
            format!(
                "{t}, below {} ({a}): a plan's scale step raises it",
                active.region
            ),
        ),
        Some(Ok(a)) => finding(
            "capacity",
            Level::Ok,
            format!("{t} ({}: {a})", active.region),
        ),
        Some(Err(e)) => finding(
            "capacity",
            Level::Warn,
            format!("{t}; {} unknown: {e}", active.region),
        ),
        None => finding(
            "capacity",
            Level::Ok,
            format!("{t} ({} has no ECS in the document)", active.region),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Build;

    fn reading(
        region: &str,
        build: Option<(&str, &str)>,
        capacity: Option<Result<Capacity, String>>,
    ) -> RegionReading {
        RegionReading {
            region: region.into(),
            health: Reading {
                url: format!("http://{region}.example.com/health"),
                build: build.map(|(v, c)| Build {
                    version: v.into(),
                    commit: c.into(),
                }),
                error: build.is_none().then(|| "Connection refused".to_owned()),
                took_ms: 3,
            },
            capacity,
        }
    }

    fn cap(running: u32, healthy: u32) -> Capacity {
        Capacity {
            desired: running,
            running,
            healthy_targets: healthy,
            targets: healthy,
            target_groups: 1,
        }
    }

    #[test]
    fn build_parity() {
        let east = reading("us-east-1", Some(("0.1.0", "abc")), None);
        let same = build_finding(&reading("us-west-2", Some(("0.1.0", "abc")), None), &east);
        assert_eq!(
            (same.result, same.detail.as_str()),
            (Level::Ok, "0.1.0 (commit abc), the same as us-east-1")
        );
        let other = build_finding(&reading("us-west-2", Some(("0.1.0", "def")), None), &east);
        assert_eq!(
            (other.result, other.detail.as_str()),
            (
                Level::Fail,
                "runs 0.1.0 (commit def), but us-east-1 runs 0.1.0 (commit abc)"
            )
        );
        let old = build_finding(&reading("us-west-2", Some(("", "")), None), &east);
        assert_eq!(old.result, Level::Warn);
        let down = build_finding(&reading("us-west-2", None, None), &east);
        assert_eq!(down.result, Level::Fail);
        let active_down = build_finding(
            &reading("us-west-2", Some(("0.1.0", "abc")), None),
            &reading("us-east-1", None, None),
        );
        assert_eq!(
            active_down.result,
            Level::Warn,
            "the active region down is the disaster, not a reason to stay"
        );
    }

    #[test]
    fn capacity_against_the_active_region() {
        let with = |t: Option<Result<Capacity, String>>, a: Option<Result<Capacity, String>>| {
            capacity_finding(
                &reading("us-west-2", Some(("v", "c")), t),
                &reading("us-east-1", Some(("v", "c")), a),
            )
        };
        assert_eq!(with(None, None).result, Level::NotApplicable);
        assert_eq!(
            with(Some(Ok(cap(0, 0))), Some(Ok(cap(2, 2)))).result,
            Level::Fail
        );
        assert_eq!(
            with(Some(Ok(cap(2, 0))), Some(Ok(cap(2, 2)))).detail,
            "2/2 tasks running, 0/0 targets healthy: no healthy target"
        );
        assert_eq!(
            with(Some(Ok(cap(1, 1))), Some(Ok(cap(2, 2)))).result,
            Level::Warn
        );
        assert_eq!(
            with(Some(Ok(cap(2, 2))), Some(Ok(cap(2, 2)))).result,
            Level::Ok
        );
        assert_eq!(
            with(Some(Ok(cap(2, 2))), Some(Err("AccessDenied".into()))).result,
            Level::Warn
        );
        assert_eq!(
            with(
                Some(Err(
                    "ecs:DescribeServices in us-west-2 failed: timed out".into()
                )),
                None
            )
            .result,
            Level::Fail
        );
        let no_tg = Capacity {
            target_groups: 0,
            healthy_targets: 0,
            targets: 0,
            ..cap(1, 0)
        };
        assert_eq!(
            with(Some(Ok(no_tg)), None).result,
            Level::Ok,
            "no target group configured: tasks alone count"
        );
    }
}
