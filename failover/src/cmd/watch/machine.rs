//! The watcher's rules as a state machine with no I/O: given what one evaluation saw (the external
//! API's active region, each region's combined health, the kill switch) and the time, the new
//! state and whether to start the evacuation now.
//!
//! - **One direction**: a watcher for region H only ever evacuates the region the external API is
//!   active in when that is not H, so traffic only ever moves *into* H; and only while H itself is
//!   confirmed up. Nothing here ever moves traffic back.
//! - **Trigger**: the active region confirmed down and H confirmed up; anything else (unknown
//!   included) is not the trigger.
//! - **Dwell**: the trigger must hold at every evaluation for `dwell`; one evaluation without it
//!   starts the count again.
//! - **Cooldown**: within `cooldown` after a run ended (dry runs and failed runs included), no
//!   other run starts; the refusal is a state of its own.
//! - **Kill switch**: when the dwell is over and the switch is not armed, the run is refused.
//!
//! Time is `tokio::time::Instant`, so the rules are tested under paused time.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

/// What the sources say about one region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Up,
    Down,
    Unknown,
}

/// Several sources' readings of one region, combined: down only when every source says down, up
/// only when every source says up, else unknown (and unknown with no source at all).
pub fn combine(readings: impl IntoIterator<Item = Health>) -> Health {
    let mut seen = None;
    for r in readings {
        match (seen, r) {
            (_, Health::Unknown) => return Health::Unknown,
            (None, r) => seen = Some(r),
            (Some(s), r) if s != r => return Health::Unknown,
            _ => {}
        }
    }
    seen.unwrap_or(Health::Unknown)
}

/// Whether operators let the watcher act.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Switch {
    Armed,
    /// Not armed, and why (a control Off, a stop file, a control that could not be read).
    Disarmed(String),
}

/// What one evaluation saw.
#[derive(Clone, Debug)]
pub struct Observation {
    /// The region the external API is active in, or why it is not known.
    pub active: Result<String, String>,
    /// Each region's combined health.
    pub health: BTreeMap<String, Health>,
    pub switch: Switch,
}

impl Observation {
    fn health_of(&self, region: &str) -> Health {
        self.health.get(region).copied().unwrap_or(Health::Unknown)
    }
}

/// The rules' settings.
#[derive(Clone, Debug)]
pub struct Rules {
    /// The region this watcher moves traffic into, and never out of.
    pub home: String,
    pub dwell: Duration,
    pub cooldown: Duration,
}

/// Where the watcher stands. Equal states are not reported again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// Not evaluated yet.
    Starting,
    /// The active region could not be read: nothing can be decided.
    Unknown { reason: String },
    /// The external API is active in the home region: nothing for this watcher to do.
    Home,
    /// Active elsewhere, and the trigger does not hold.
    Watching {
        active: String,
        active_health: Health,
        home_health: Health,
    },
    /// The trigger holds; the dwell is running.
    Holding { from: String, dwell_ms: u64 },
    /// The dwell is over, but the run is refused.
    Refused { from: String, reason: String },
    /// The evacuation of `from` starts now.
    Running { from: String },
    /// The run ended; the cooldown counts from here.
    Ran { from: String },
}

/// The state machine.
#[derive(Debug)]
pub struct Machine {
    rules: Rules,
    state: State,
    /// The region the trigger holds for and since when.
    holding: Option<(String, Instant)>,
    last_run_end: Option<Instant>,
}

impl Machine {
    pub fn new(rules: Rules) -> Machine {
        Machine {
            rules,
            state: State::Starting,
            holding: None,
            last_run_end: None,
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Evaluates `obs` at `now`; returns the new state when it differs from the previous one. A
    /// returned [`State::Running`] means: run the evacuation now, then call [`Machine::finished`].
    pub fn step(&mut self, now: Instant, obs: &Observation) -> Option<&State> {
        let next = self.next(now, obs);
        if next == self.state {
            return None;
        }
        self.state = next;
        Some(&self.state)
    }

    /// A run started by [`State::Running`] ended at `now`: the cooldown counts from here.
    pub fn finished(&mut self, now: Instant) {
        self.last_run_end = Some(now);
        self.holding = None;
        if let State::Running { from } = &self.state {
            self.state = State::Ran { from: from.clone() };
        }
    }

    fn next(&mut self, now: Instant, obs: &Observation) -> State {
        let home = self.rules.home.clone();
        let active = match &obs.active {
            Err(reason) => {
                self.holding = None;
                return State::Unknown {
                    reason: reason.clone(),
                };
            }
            Ok(a) => a.clone(),
        };
        if active == home {
            self.holding = None;
            return State::Home;
        }
        let (active_health, home_health) = (obs.health_of(&active), obs.health_of(&home));
        if active_health != Health::Down || home_health != Health::Up {
            self.holding = None;
            return State::Watching {
                active,
                active_health,
                home_health,
            };
        }
        let since = match &self.holding {
            Some((from, since)) if *from == active => *since,
            _ => {
                self.holding = Some((active.clone(), now));
                now
            }
        };
        if now.duration_since(since) < self.rules.dwell {
            return State::Holding {
                from: active,
                dwell_ms: millis(self.rules.dwell),
            };
        }
        if let Some(end) = self.last_run_end {
            if now.duration_since(end) < self.rules.cooldown {
                return State::Refused {
                    from: active,
                    reason: format!(
                        "cooldown: no automatic run within {} after the last one",
                        humantime::format_duration(self.rules.cooldown)
                    ),
                };
            }
        }
        if let Switch::Disarmed(why) = &obs.switch {
            return State::Refused {
                from: active,
                reason: format!("kill switch: {why}"),
            };
        }
        self.holding = None;
        State::Running { from: active }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
