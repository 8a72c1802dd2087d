//! The bookkeeping of a probe run (pure, no I/O): what every round requests, the changes since
//! the previous round (an app answering from another region, a target's status changing), failure
//! counts, and the end-of-run summary. Which region each app answered from is followed by the
//! shared [`hops::Tracker`].

use std::time::SystemTime;

use crate::hops::{self, Answer, Route};

/// What every round requests: the external API's root and the two services through it.
pub const TARGETS: [Route; 3] = [
    Route::gateway("/"),
    Route::service("/service1", "service1"),
    Route::service("/service2", "service2"),
];

/// A change since the previous round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// An app answered from another region than it last did.
    Switched {
        app: &'static str,
        from: String,
        to: String,
    },
    /// A target's status changed (e.g. `200` to `502`, or to `timeout`).
    Status {
        path: &'static str,
        from: String,
        to: String,
    },
}

/// One finished round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Round {
    pub number: u64,
    pub time: SystemTime,
    /// One answer per [`TARGETS`] entry, in that order.
    pub outcomes: Vec<(Route, Answer)>,
    pub changes: Vec<Change>,
    /// Failed requests in all rounds so far, this one included.
    pub failed_so_far: u64,
}

/// When an app switched region.
pub type Switch = hops::Switch<SystemTime>;

/// What one app did over the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppSummary {
    pub app: &'static str,
    /// The first region it answered from; `None` when it never answered successfully.
    pub first_region: Option<String>,
    pub switches: Vec<Switch>,
}

/// The end-of-run report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub rounds: u64,
    pub requests: u64,
    pub failed: u64,
    /// Failed requests per target path (all targets, zeros included).
    pub failed_by_target: Vec<(&'static str, u64)>,
    pub apps: Vec<AppSummary>,
    /// Whether a signal ended the run.
    pub interrupted: bool,
}

/// Per-target state carried between rounds.
#[derive(Default)]
struct TargetState {
    last_status: Option<String>,
    failed: u64,
}

/// The bookkeeping of a run: counts, last seen statuses, and each app's regions.
pub struct Rounds {
    rounds: u64,
    requests: u64,
    failed: u64,
    targets: Vec<(Route, TargetState)>,
    regions: hops::Tracker<SystemTime>,
}

impl Default for Rounds {
    fn default() -> Self {
        Rounds {
            rounds: 0,
            requests: 0,
            failed: 0,
            targets: TARGETS
                .iter()
                .map(|t| (*t, TargetState::default()))
                .collect(),
            regions: hops::Tracker::default(),
        }
    }
}

impl Rounds {
    /// Rounds recorded so far.
    pub fn count(&self) -> u64 {
        self.rounds
    }

    /// Records a round's answers (one per [`TARGETS`] entry) and returns it with its changes. Only
    /// a successful answer says where an app is: a failure does not forget its last region.
    pub fn record(&mut self, time: SystemTime, answers: Vec<Answer>) -> Round {
        self.rounds += 1;
        let mut changes = Vec::new();
        let mut shown = Vec::with_capacity(answers.len());
        for ((route, state), answer) in self.targets.iter_mut().zip(answers) {
            self.requests += 1;
            let failed = answer.failed();
            if failed {
                self.failed += 1;
                state.failed += 1;
            }
            let label = answer.status_label();
            if let Some(prev) = state.last_status.replace(label.clone()) {
                if prev != label {
                    changes.push(Change::Status {
                        path: route.path,
                        from: prev,
                        to: label,
                    });
                }
            }
            let app = route.app();
            let region = answer.region_of(route, app).filter(|_| !failed);
            if let Some(switch) = region.and_then(|r| self.regions.observe(app, r, time)) {
                changes.push(Change::Switched {
                    app,
                    from: switch.from.clone(),
                    to: switch.to.clone(),
                });
            }
            shown.push((*route, answer));
        }
        // Switches first: they are what an operator watches for.
        changes.sort_by_key(|c| matches!(c, Change::Status { .. }));
        Round {
            number: self.rounds,
            time,
            outcomes: shown,
            changes,
            failed_so_far: self.failed,
        }
    }

    /// The report of the run so far; `interrupted` when a signal ended it.
    pub fn summary(&self, interrupted: bool) -> Summary {
        Summary {
            rounds: self.rounds,
            requests: self.requests,
            failed: self.failed,
            failed_by_target: self
                .targets
                .iter()
                .map(|(t, s)| (t.path, s.failed))
                .collect(),
            apps: self
                .targets
                .iter()
                .map(|(t, _)| AppSummary {
                    app: t.app(),
                    first_region: self.regions.first_region(t.app()).map(str::to_owned),
                    switches: self.regions.switches(t.app()).to_vec(),
                })
                .collect(),
            interrupted,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::hops::Regions;

    fn ok(gw: &str, svc: Option<&str>) -> Answer {
        Answer::answered(
            200,
            Regions {
                gateway: Some(gw.into()),
                service: svc.map(str::to_owned),
                fallback: None,
            },
        )
    }

    fn round(gw: &str, s1: &str, s2: &str) -> Vec<Answer> {
        vec![ok(gw, None), ok(gw, Some(s1)), ok(gw, Some(s2))]
    }

    fn status(path: &'static str, from: &str, to: &str) -> Vec<Change> {
        vec![Change::Status {
            path,
            from: from.into(),
            to: to.into(),
        }]
    }

    #[test]
    fn rounds_note_switches_and_status_changes() {
        let t0 = SystemTime::UNIX_EPOCH;
        let t1 = t0 + Duration::from_secs(5);
        let mut tr = Rounds::default();
        let r = tr.record(t0, round("us-east-1", "us-east-1", "us-west-2"));
        assert!(r.changes.is_empty());
        let r = tr.record(t1, round("us-east-1", "us-west-2", "us-west-2"));
        assert_eq!(
            r.changes,
            vec![Change::Switched {
                app: "service1",
                from: "us-east-1".into(),
                to: "us-west-2".into()
            }]
        );
        let mut answers = round("us-east-1", "us-west-2", "us-west-2");
        answers[2] = Answer::failed_with("timeout");
        let r = tr.record(t1, answers);
        assert_eq!(r.failed_so_far, 1);
        assert_eq!(r.changes, status("/service2", "200", "timeout"));
        // A failure does not forget the last region: no switch when it comes back the same.
        let r = tr.record(t1, round("us-east-1", "us-west-2", "us-west-2"));
        assert_eq!(r.changes.len(), 1);
        let s = tr.summary(false);
        assert_eq!((s.rounds, s.requests, s.failed), (4, 12, 1));
        assert_eq!(s.failed_by_target[2], ("/service2", 1));
        assert_eq!(s.apps[1].switches.len(), 1);
        assert_eq!(s.apps[1].first_region.as_deref(), Some("us-east-1"));
        assert_eq!(s.apps[1].switches[0].time, t1);
        assert_eq!(s.apps[2].first_region.as_deref(), Some("us-west-2"));
    }

    #[test]
    fn a_non_2xx_answer_is_a_failure_and_moves_no_app() {
        let t0 = SystemTime::UNIX_EPOCH;
        let mut tr = Rounds::default();
        tr.record(t0, round("us-east-1", "us-east-1", "us-west-2"));
        let mut answers = round("us-west-2", "us-east-1", "us-west-2");
        answers[0].status = Some(502);
        let r = tr.record(t0, answers);
        assert_eq!(r.failed_so_far, 1);
        assert_eq!(r.changes, status("/", "200", "502"));
        let s = tr.summary(true);
        assert!(s.interrupted && s.apps[0].switches.is_empty());
    }
}
