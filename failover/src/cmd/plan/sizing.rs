//! How many tasks the `scale` step asks of the region being activated. The basis, first that is
//! known: the region being left's running count (a best-effort read within `--source-timeout`),
//! the last count the readiness runs recorded for it (`--capacity-record`), the cluster
//! document's `min_tasks` for the target region, the target's autoscaling maximum, and last
//! what the target runs now. `share` applies to the source's counts; `min_tasks` is a floor
//! under every basis. Every fallback comes with a warning that says which read failed and what
//! was used instead.

use std::time::SystemTime;

use crate::capacity::record::Recorded;

/// What is known when sizing one app's standby.
pub struct Known<'a> {
    pub app: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub share: f64,
    /// The best-effort read of `from`'s running count.
    pub source: Result<u32, String>,
    /// `from`'s entry in the capacity record, if a record was given and has one.
    pub recorded: Option<&'a Recorded>,
    /// Whether a capacity record was given at all (for the warning's wording).
    pub record_given: bool,
    /// The cluster document's `min_tasks` for `to`.
    pub floor: Option<u32>,
    /// `to`'s autoscaling maximum (read only when nothing before it is known).
    pub standby_max: Option<u32>,
    /// `to`'s desired count now.
    pub standby_desired: u32,
    pub now: SystemTime,
}

/// The task count to ask for, the line that explains it, and a warning for a fallback.
#[derive(Debug, PartialEq, Eq)]
pub struct Sized {
    pub want: u32,
    pub line: String,
    pub warning: Option<String>,
}

fn of(count: u32, share: f64) -> u32 {
    (f64::from(count) * share).ceil() as u32
}

/// Whether [`size`] needs the standby's autoscaling maximum (nothing before it is known).
pub fn needs_standby_max(k: &Known<'_>) -> bool {
    k.source.is_err() && k.recorded.is_none() && k.floor.is_none()
}

/// Chooses the count (see the module doc).
pub fn size(k: &Known<'_>) -> Sized {
    let (app, from, to, share) = (k.app, k.from, k.to, k.share);
    let (base, basis, warning) = match (&k.source, k.recorded) {
        (Ok(running), _) => (
            of(*running, share),
            format!(
                "{from} runs {running} tasks; {to} needs {} ({share} of it)",
                of(*running, share)
            ),
            None,
        ),
        (Err(e), Some(r)) => {
            let age = r.age(k.now);
            (
                of(r.running, share),
                format!(
                    "{from} ran {} tasks at {} (capacity record, {age} ago); {to} needs {} ({share} of it)",
                    r.running,
                    r.recorded_at,
                    of(r.running, share)
                ),
                Some(format!(
                    "{app}: reading {from} failed ({e}); sized {to} from the capacity record of {} ({age} ago): {} running tasks",
                    r.recorded_at, r.running
                )),
            )
        }
        (Err(e), None) => {
            let record = if k.record_given {
                format!("the capacity record has no entry for {app} in {from}")
            } else {
                "no capacity record was given (--capacity-record)".to_owned()
            };
            let (base, used) = match (k.floor, k.standby_max) {
                (Some(f), _) => (f, format!("the cluster document's min_tasks for {to}: {f}")),
                (None, Some(m)) if m > 0 => (m, format!("{to}'s autoscaling maximum: {m}")),
                _ => (
                    k.standby_desired,
                    format!(
                        "nothing to size from ({to} has no min_tasks and no autoscaling maximum): {to} keeps its desired count {}",
                        k.standby_desired
                    ),
                ),
            };
            (
                base,
                format!("{from} could not be read; {to} needs {base}"),
                Some(format!(
                    "{app}: reading {from} failed ({e}) and {record}; used {used}"
                )),
            )
        }
    };
    let floor = k.floor.unwrap_or(0);
    let want = base.max(floor).max(1);
    let line = if floor > base {
        format!("{basis}, raised to {to}'s min_tasks {floor}")
    } else {
        basis
    };
    Sized {
        want,
        line,
        warning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known<'a>(source: Result<u32, String>, recorded: Option<&'a Recorded>) -> Known<'a> {
        Known {
            app: "service1",
            from: "us-east-1",
            to: "us-west-2",
            share: 1.0,
            source,
            recorded,
            record_given: recorded.is_some(),
            floor: None,
            standby_max: None,
            standby_desired: 1,
            now: humantime::parse_rfc3339("2026-01-02T04:04:05Z").unwrap(),
        }
    }

    const DOWN: &str = "ecs:DescribeServices in us-east-1 failed: connection refused";

    #[test]
    fn the_source_read_comes_first() {
        let s = size(&Known {
            share: 0.5,
            ..known(Ok(5), None)
        });
        assert_eq!(s.want, 3);
        assert_eq!(s.warning, None);
        assert_eq!(
            s.line,
            "us-east-1 runs 5 tasks; us-west-2 needs 3 (0.5 of it)"
        );
        let floored = size(&Known {
            floor: Some(4),
            ..known(Ok(2), None)
        });
        assert_eq!(floored.want, 4);
        assert!(floored
            .line
            .ends_with(", raised to us-west-2's min_tasks 4"));
        assert_eq!(size(&known(Ok(0), None)).want, 1, "never below one task");
    }

    #[test]
    fn then_the_record_then_the_floor_then_the_standby_maximum() {
        let r = Recorded {
            running: 6,
            desired: 6,
            healthy_targets: 6,
            recorded_at: "2026-01-02T03:04:05Z".into(),
        };
        let s = size(&known(Err(DOWN.into()), Some(&r)));
        assert_eq!(s.want, 6);
        assert_eq!(
            s.warning.as_deref(),
            Some("service1: reading us-east-1 failed (ecs:DescribeServices in us-east-1 failed: connection refused); sized us-west-2 from the capacity record of 2026-01-02T03:04:05Z (1h ago): 6 running tasks")
        );

        let none = known(Err(DOWN.into()), None);
        assert!(needs_standby_max(&none));
        let floor = Known {
            floor: Some(3),
            record_given: true,
            ..known(Err(DOWN.into()), None)
        };
        assert!(!needs_standby_max(&floor));
        let s = size(&floor);
        assert_eq!(s.want, 3);
        assert!(s.warning.unwrap().ends_with("and the capacity record has no entry for service1 in us-east-1; used the cluster document's min_tasks for us-west-2: 3"));

        let s = size(&Known {
            standby_max: Some(8),
            ..known(Err(DOWN.into()), None)
        });
        assert_eq!(s.want, 8);
        assert!(s.warning.unwrap().ends_with(
            "and no capacity record was given (--capacity-record); used us-west-2's autoscaling maximum: 8"
        ));

        let s = size(&Known {
            standby_desired: 2,
            ..known(Err(DOWN.into()), None)
        });
        assert_eq!(s.want, 2);
        assert!(s.warning.unwrap().contains("nothing to size from"));
    }
}
