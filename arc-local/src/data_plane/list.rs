//! ListRoutingControls: every live routing control (or one control panel's), in control panel
//! then ARN order, a page at a time with an opaque `NextToken` bound to the filter it was issued
//! for.

use serde_json::{json, Map, Value};

use super::protocol::{string_member, wrong_type, ApiError, DataPlaneChecks};
use crate::state::Store;
use crate::wire::{self, Checks};

/// Page size when MaxResults is absent.
pub const DEFAULT_PAGE_SIZE: usize = 500;
/// Largest MaxResults accepted.
pub const MAX_PAGE_SIZE: i64 = 1000;

/// ListRoutingControls. `page_limit` caps the page size below what the caller asked for (a fault
/// the tests use to make clients follow `NextToken`).
pub fn list(
    store: &Store,
    input: &Map<String, Value>,
    page_limit: Option<usize>,
) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let panel = string_member(input, "ControlPanelArn", "ControlPanelArn")?;
    if let Some(p) = panel {
        checks.arn("ControlPanelArn", p);
    }
    let token = string_member(input, "NextToken", "NextToken")?;
    if let Some(t) = token {
        if t.is_empty() || t.len() > 8096 {
            checks.fail(
                "NextToken",
                Some(t),
                "Member must have length between 1 and 8096",
            );
        }
    }
    let max = match input.get("MaxResults") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(n) => Some(n),
            None => {
                return Err(ApiError::Serialization(
                    "MaxResults must be an integer".into(),
                ))
            }
        },
        Some(other) => return Err(wrong_type("MaxResults", "an integer", other)),
    };
    if let Some(m) = max {
        if !(1..=MAX_PAGE_SIZE).contains(&m) {
            checks.fail(
                "MaxResults",
                Some(&m.to_string()),
                &format!("Member must be between 1 and {MAX_PAGE_SIZE}"),
            );
        }
    }
    checks.finish()?;

    let world = store.world();
    let catalog = &world.catalog;
    if let Some(p) = panel {
        if !catalog.has_panel(p) {
            return Err(ApiError::NotFound {
                message: format!("Control panel {p} not found"),
                resource_id: p.to_owned(),
                resource_type: "ControlPanel",
            });
        }
    }
    let matching: Vec<_> = catalog
        .live_controls()
        .into_iter()
        .filter(|c| panel.is_none_or(|p| c.control.panel_arn == p))
        .collect();
    let start = match token {
        None => 0,
        Some(t) => decode_token(t, panel.unwrap_or(""))
            .filter(|&offset| offset > 0 && offset < matching.len())
            .ok_or_else(|| {
                ApiError::invalid_field(
                    "NextToken is not valid: pass the NextToken of the previous ListRoutingControls answer, with the same ControlPanelArn".into(),
                    "NextToken".into(),
                    "not a token this cluster issued for this request",
                )
            })?,
    };
    let size = max.map_or(DEFAULT_PAGE_SIZE, |m| m as usize);
    let size = page_limit.map_or(size, |limit| size.min(limit.max(1)));
    let end = (start + size).min(matching.len());
    let states = &world.states;
    let page: Vec<Value> = matching[start..end]
        .iter()
        .map(|c| {
            json!({
                "ControlPanelArn": c.control.panel_arn,
                "ControlPanelName": c.panel_name,
                "RoutingControlArn": c.arn,
                "RoutingControlName": c.control.name,
                "RoutingControlState": states[c.arn].as_str(),
                "Owner": c.control.owner,
            })
        })
        .collect();
    let mut out = json!({ "RoutingControls": page });
    if end < matching.len() {
        out["NextToken"] = Value::String(encode_token(end, panel.unwrap_or("")));
    }
    Ok(out)
}

/// An opaque page token: the offset and the control panel filter it was issued for.
fn encode_token(offset: usize, panel: &str) -> String {
    wire::token(&format!("{offset} {panel}"))
}

/// The offset a token holds, when it is ours and was issued for the same filter.
fn decode_token(token: &str, panel: &str) -> Option<usize> {
    let text = wire::token_text(token)?;
    let (offset, filter) = text.split_once(' ')?;
    (filter == panel).then_some(offset.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_bind_to_the_filter() {
        let t = encode_token(100, "arn:aws:p");
        assert_eq!(decode_token(&t, "arn:aws:p"), Some(100));
        assert_eq!(decode_token(&t, ""), None);
        assert_eq!(decode_token("zz", ""), None);
        assert_eq!(decode_token("abc", ""), None);
        assert_eq!(decode_token(&encode_token(3, ""), ""), Some(3));
        assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
