//! Changing states: UpdateRoutingControlState and UpdateRoutingControlStates (1 to 10 entries,
//! each control once, applied together or not at all), with `SafetyRulesToOverride`. The store
//! judges the safety rules and writes the state file before the answer.

use recovery::ControlState;
use serde_json::{json, Map, Value};

use super::protocol::{
    control_not_found, list_member, string_member, wrong_type, ApiError, DataPlaneChecks,
};
use crate::state::{ApplyError, Store};
use crate::wire::Checks;

/// Most entries in one UpdateRoutingControlStates call.
pub const MAX_BATCH: usize = 10;

/// `SafetyRulesToOverride`: a list of ARNs (rule names are accepted too).
fn overrides(input: &Map<String, Value>, checks: &mut Checks) -> Result<Vec<String>, ApiError> {
    let Some(list) = list_member(input, "SafetyRulesToOverride")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let path = format!("SafetyRulesToOverride[{i}]");
        match v {
            Value::String(s) => {
                checks.arn(&path, s);
                out.push(s.clone());
            }
            other => return Err(wrong_type(&path, "a string", other)),
        }
    }
    Ok(out)
}

/// One `{RoutingControlArn, RoutingControlState}` pair, checked.
fn entry(
    obj: &Map<String, Value>,
    prefix: &str,
    checks: &mut Checks,
) -> Result<Option<(String, ControlState)>, ApiError> {
    let arn_field = format!("{prefix}RoutingControlArn");
    let state_field = format!("{prefix}RoutingControlState");
    let arn = string_member(obj, "RoutingControlArn", &arn_field)?;
    let state = string_member(obj, "RoutingControlState", &state_field)?;
    let arn = checks
        .required(&arn_field, arn)
        .filter(|a| checks.arn(&arn_field, a));
    let state = checks
        .required(&state_field, state)
        .and_then(|s| checks.state(&state_field, s));
    Ok(arn.zip(state).map(|(a, s)| (a.to_owned(), s)))
}

/// UpdateRoutingControlState.
pub async fn update_one(store: &Store, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let pair = entry(input, "", &mut checks)?;
    let overrides = overrides(input, &mut checks)?;
    checks.finish()?;
    let pair = pair.expect("checked above");
    apply(store, &[pair], &overrides).await
}

/// UpdateRoutingControlStates.
pub async fn update_many(store: &Store, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let list = list_member(input, "UpdateRoutingControlStateEntries")?;
    let mut batch = Vec::new();
    match list {
        None => {
            checks.required("UpdateRoutingControlStateEntries", None);
        }
        Some(list) if list.is_empty() || list.len() > MAX_BATCH => {
            checks.fail(
                "UpdateRoutingControlStateEntries",
                Some(&format!("{} entries", list.len())),
                &format!("Member must have between 1 and {MAX_BATCH} entries"),
            );
        }
        Some(list) => {
            for (i, v) in list.iter().enumerate() {
                let prefix = format!("UpdateRoutingControlStateEntries[{i}].");
                let Value::Object(obj) = v else {
                    return Err(wrong_type(
                        &format!("UpdateRoutingControlStateEntries[{i}]"),
                        "an object",
                        v,
                    ));
                };
                if let Some(pair) = entry(obj, &prefix, &mut checks)? {
                    batch.push(pair);
                }
            }
        }
    }
    let overrides = overrides(input, &mut checks)?;
    checks.finish()?;
    for (i, (arn, _)) in batch.iter().enumerate() {
        if batch[..i].iter().any(|(a, _)| a == arn) {
            return Err(ApiError::invalid_field(
                format!(
                    "routing control {arn} appears more than once in UpdateRoutingControlStateEntries"
                ),
                format!("UpdateRoutingControlStateEntries[{i}].RoutingControlArn"),
                "each routing control may appear once",
            ));
        }
    }
    apply(store, &batch, &overrides).await
}

async fn apply(
    store: &Store,
    batch: &[(String, ControlState)],
    overrides: &[String],
) -> Result<Value, ApiError> {
    if let Some((arn, _)) = batch
        .iter()
        .find(|(arn, _)| store.world().catalog.control(arn).is_none())
    {
        return Err(control_not_found(arn));
    }
    match store.apply(batch, overrides).await {
        Ok(_) => Ok(json!({})),
        Err(ApplyError::NotFound(arn)) => Err(control_not_found(&arn)),
        Err(ApplyError::Blocked(violations)) => {
            let first = &violations[0];
            Err(ApiError::Conflict {
                message: violations
                    .iter()
                    .map(|v| v.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                resource_id: first.rule_arn.clone().unwrap_or(first.rule_name.clone()),
                resource_type: "SafetyRule",
            })
        }
        Err(ApplyError::Persist(e)) => {
            tracing::error!(error = %e, "cannot save the routing control states; the change was refused");
            Err(ApiError::Internal(format!(
                "the new state could not be saved, so nothing changed: {e}"
            )))
        }
    }
}
