//! What the safety rule operations read from a request: the one rule object of a create or an
//! update (assertion or gating), its `RuleConfig`, its wait period, and the routing controls it
//! names, which must be live controls of the rule's own control panel.

use recovery::{RuleConfig, RuleType};

use super::input::Input;
use super::protocol::ConfigError;
use crate::catalog::Catalog;
use crate::wire::Checks;

/// The one rule object of a request, `assertion` or `gating` (e.g. `AssertionRule` or
/// `GatingRule`): its members, and whether it is the gating one.
pub fn variant<'a>(
    body: &Input<'a>,
    assertion: &str,
    gating: &str,
) -> Result<(Input<'a>, bool), ConfigError> {
    match (body.object(assertion)?, body.object(gating)?) {
        (Some(a), None) => Ok((Input::new(a, &format!("{assertion}.")), false)),
        (None, Some(g)) => Ok((Input::new(g, &format!("{gating}.")), true)),
        _ => Err(ConfigError::Validation(format!(
            "pass exactly one of {assertion} and {gating}"
        ))),
    }
}

/// Notes a negative `WaitPeriodMs`.
pub fn check_wait(rule: &Input<'_>, wait: Option<i64>, checks: &mut Checks) {
    if let Some(w) = wait.filter(|w| *w < 0) {
        checks.fail(
            &rule.path("WaitPeriodMs"),
            Some(&w.to_string()),
            "Member must not be negative",
        );
    }
}

/// The rule's `RuleConfig` (required): `Inverted`, `Threshold`, `Type` ATLEAST, AND or OR.
pub fn rule_config(
    rule: &Input<'_>,
    checks: &mut Checks,
) -> Result<Option<RuleConfig>, ConfigError> {
    let Some(c) = rule.object("RuleConfig")? else {
        checks.fail(&rule.path("RuleConfig"), None, "Member must not be null");
        return Ok(None);
    };
    let c = Input::new(c, &rule.path("RuleConfig."));
    let inverted = c.bool("Inverted", true, checks)?;
    let threshold = c.int("Threshold", true, checks)?;
    let kind = c
        .choice("Type", true, &["ATLEAST", "AND", "OR"], checks)?
        .map(|k| match k {
            "ATLEAST" => RuleType::Atleast,
            "AND" => RuleType::And,
            _ => RuleType::Or,
        });
    Ok(match (inverted, threshold, kind) {
        (Some(inverted), Some(threshold), Some(kind)) => Some(RuleConfig {
            kind,
            threshold: threshold.max(0) as u32,
            inverted,
        }),
        _ => None,
    })
}

/// The controls of a new rule (`field` names the member in messages): each a live routing control
/// of `panel`, none twice.
pub fn check_controls(
    catalog: &Catalog,
    field: &str,
    panel: &str,
    arns: &[String],
) -> Result<(), ConfigError> {
    if arns.is_empty() {
        return Err(ConfigError::Validation(format!(
            "{field} must name at least one routing control"
        )));
    }
    for (i, arn) in arns.iter().enumerate() {
        if arns[..i].contains(arn) {
            return Err(ConfigError::Validation(format!(
                "{field} names routing control {arn} twice"
            )));
        }
        let Some(c) = catalog.control(arn) else {
            return Err(ConfigError::NotFound(format!(
                "Routing control {arn} ({field}[{i}]) not found"
            )));
        };
        if c.control.panel_arn != panel {
            return Err(ConfigError::Validation(format!(
                "Routing control {arn} ({field}[{i}]) is in control panel {}, not in the rule's control panel {panel}",
                c.control.panel_arn
            )));
        }
    }
    Ok(())
}

/// An ATLEAST rule's threshold must be reachable: 1 to the number of controls it judges.
pub fn check_threshold(
    rule: &Input<'_>,
    config: &RuleConfig,
    judged: usize,
    is_gating: bool,
) -> Result<(), ConfigError> {
    if config.kind == RuleType::Atleast
        && (config.threshold == 0 || config.threshold as usize > judged)
    {
        return Err(ConfigError::Validation(format!(
            "{} = {}: an ATLEAST rule needs a threshold from 1 to the number of its {} controls ({judged})",
            rule.path("RuleConfig.Threshold"),
            config.threshold,
            if is_gating { "gating" } else { "asserted" },
        )));
    }
    Ok(())
}
