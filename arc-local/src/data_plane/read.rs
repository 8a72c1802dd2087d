//! Reading states: the GetRoutingControlState operation, and `GET /state`, a JSON summary of every
//! app's controls and active region for people and scripts.

use serde_json::{json, Map, Value};

use super::protocol::{control_not_found, string_member, ApiError, DataPlaneChecks};
use crate::state::Store;
use crate::wire::Checks;

/// GetRoutingControlState: one control's name and state.
pub fn get_state(store: &Store, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let arn = string_member(input, "RoutingControlArn", "RoutingControlArn")?;
    let arn = checks.required("RoutingControlArn", arn);
    if let Some(arn) = arn {
        checks.arn("RoutingControlArn", arn);
    }
    checks.finish()?;
    let arn = arn.unwrap_or_default();
    let world = store.world();
    let control = world
        .catalog
        .control(arn)
        .ok_or_else(|| control_not_found(arn))?;
    Ok(json!({
        "RoutingControlArn": control.arn,
        "RoutingControlName": control.control.name,
        "RoutingControlState": world.states[arn].as_str(),
    }))
}

/// Every app's controls and active region, and the routing controls created through the
/// recovery-control-config API.
pub fn summary(store: &Store) -> Value {
    let topology = store.topology();
    let world = store.world();
    let states = &world.states;
    let apps: Map<String, Value> = topology
        .document()
        .apps
        .iter()
        .map(|(name, app)| {
            let controls: Map<String, Value> = app
                .regions
                .iter()
                .map(|(region, r)| {
                    (
                        region.clone(),
                        json!({
                            "routing_control_arn": r.routing_control_arn,
                            "routing_control_name": r.routing_control_name,
                            "state": states.get(&r.routing_control_arn).map(|s| s.as_str()),
                            "url": r.url,
                        }),
                    )
                })
                .collect();
            (
                name.clone(),
                json!({
                    "hostname": app.hostname,
                    "primary_region": app.primary_region,
                    "secondary_region": app.secondary_region,
                    "active_region": topology.active_region(name, states),
                    "controls": controls,
                }),
            )
        })
        .collect();
    // Routing controls created through the recovery-control-config API (no app, no DNS record).
    let created: Vec<Value> = world
        .catalog
        .live_controls()
        .into_iter()
        .filter(|c| c.control.app.is_none())
        .map(|c| {
            json!({
                "routing_control_arn": c.arn,
                "routing_control_name": c.control.name,
                "control_panel_arn": c.control.panel_arn,
                "control_panel_name": c.panel_name,
                "state": states.get(c.arn).map(|s| s.as_str()),
            })
        })
        .collect();
    json!({
        "topology": topology.source(),
        "state_file": store.file().path().display().to_string(),
        "apps": apps,
        "created_routing_controls": created,
    })
}
