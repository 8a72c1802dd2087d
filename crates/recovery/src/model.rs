//! The failover model: routing-control states, safety rules and the rule that picks a region.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A routing control's state: exactly `On` or `Off`, as the ARC API spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ControlState {
    On,
    Off,
}

impl ControlState {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlState::On => "On",
            ControlState::Off => "Off",
        }
    }

    pub fn is_on(self) -> bool {
        self == ControlState::On
    }
}

impl fmt::Display for ControlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ControlState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "On" => Ok(ControlState::On),
            "Off" => Ok(ControlState::Off),
            other => Err(format!(
                "{other:?} is not a routing control state (On or Off)"
            )),
        }
    }
}

/// The Route 53 failover rule for one app: answer PRIMARY while its health check is healthy, else
/// SECONDARY while healthy, else PRIMARY. A RECOVERY_CONTROL health check is healthy while its
/// routing control is On.
pub fn active_region<'a>(
    primary: &'a str,
    secondary: &'a str,
    state_of: impl Fn(&str) -> Option<ControlState>,
) -> &'a str {
    let on = |r: &str| state_of(r).is_some_and(ControlState::is_on);
    if on(primary) {
        primary
    } else if on(secondary) {
        secondary
    } else {
        primary
    }
}

/// How an assertion rule combines its controls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RuleType {
    Atleast,
    And,
    Or,
}

/// The rule configuration of ARC safety rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    #[serde(rename = "type")]
    pub kind: RuleType,
    pub threshold: u32,
    #[serde(default)]
    pub inverted: bool,
}

impl RuleConfig {
    /// Whether `on` of `total` controls being On satisfies the rule.
    pub fn holds(&self, on: usize, total: usize) -> bool {
        let raw = match self.kind {
            RuleType::Atleast => on >= self.threshold as usize,
            RuleType::And => on == total,
            RuleType::Or => on >= 1,
        };
        raw != self.inverted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failover_rule() {
        let states = |p: ControlState, s: ControlState| {
            move |r: &str| Some(if r == "us-east-1" { p } else { s })
        };
        use ControlState::*;
        assert_eq!(
            active_region("us-east-1", "us-west-2", states(On, Off)),
            "us-east-1"
        );
        assert_eq!(
            active_region("us-east-1", "us-west-2", states(On, On)),
            "us-east-1"
        );
        assert_eq!(
            active_region("us-east-1", "us-west-2", states(Off, On)),
            "us-west-2"
        );
        assert_eq!(
            active_region("us-east-1", "us-west-2", states(Off, Off)),
            "us-east-1"
        );
    }

    #[test]
    fn rules() {
        let atleast1 = RuleConfig {
            kind: RuleType::Atleast,
            threshold: 1,
            inverted: false,
        };
        assert!(atleast1.holds(1, 2) && !atleast1.holds(0, 2));
        let and = RuleConfig {
            kind: RuleType::And,
            threshold: 0,
            inverted: false,
        };
        assert!(and.holds(2, 2) && !and.holds(1, 2));
        let not_or = RuleConfig {
            kind: RuleType::Or,
            threshold: 0,
            inverted: true,
        };
        assert!(not_or.holds(0, 2) && !not_or.holds(1, 2));
        assert_eq!("On".parse::<ControlState>(), Ok(ControlState::On));
        assert!("on".parse::<ControlState>().is_err());
    }
}

/// A safety rule of a control panel (the ARC control plane's two kinds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SafetyRule {
    /// The asserted controls, taken together, must satisfy `rule_config` after every change.
    Assertion {
        name: String,
        #[serde(default)]
        arn: Option<String>,
        asserted_controls: Vec<String>,
        rule_config: RuleConfig,
        #[serde(default)]
        wait_period_ms: u64,
    },
    /// The target controls may change only while the gating controls satisfy `rule_config`.
    Gating {
        name: String,
        #[serde(default)]
        arn: Option<String>,
        gating_controls: Vec<String>,
        target_controls: Vec<String>,
        rule_config: RuleConfig,
        #[serde(default)]
        wait_period_ms: u64,
    },
}

impl SafetyRule {
    pub fn name(&self) -> &str {
        match self {
            SafetyRule::Assertion { name, .. } | SafetyRule::Gating { name, .. } => name,
        }
    }

    pub fn arn(&self) -> Option<&str> {
        match self {
            SafetyRule::Assertion { arn, .. } | SafetyRule::Gating { arn, .. } => arn.as_deref(),
        }
    }
}
