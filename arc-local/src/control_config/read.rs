//! The read-only operations: the Describe operations, the Lists ([`super::list`]),
//! ListTagsForResource and ListAssociatedRoute53HealthChecks, all on a [`View`] of the catalog.

use serde_json::{json, Value};

use super::list;
use super::protocol::{ConfigError, Kind, Op};
use super::resources::View;
use crate::catalog::{Cluster, Control, Panel, Rule};

/// Runs a read-only operation.
pub fn read(view: &View<'_>, op: Op, query: &[(String, String)]) -> Result<Value, ConfigError> {
    match op {
        Op::Describe(kind, arn) => describe(view, kind, &arn),
        Op::List(kind, parent) => list::list(view, kind, parent.as_deref(), query),
        Op::ListAssociatedRoute53HealthChecks(arn) => {
            list::paging(query)?;
            view.find::<Control>(&arn)?;
            // Route 53 health checks are not emulated here: none is ever associated.
            Ok(json!({"HealthCheckIds": []}))
        }
        Op::ListTagsForResource(arn) => {
            view.find_any(&arn)?;
            let tags = view.catalog.tags.get(&arn).cloned().unwrap_or_default();
            Ok(json!({"Tags": tags}))
        }
        other => Err(ConfigError::Internal(format!(
            "{} is not a read operation",
            other.name()
        ))),
    }
}

/// `Describe<kind>`.
fn describe(view: &View<'_>, kind: Kind, arn: &str) -> Result<Value, ConfigError> {
    match kind {
        Kind::Cluster => view.describe::<Cluster>(arn),
        Kind::ControlPanel => view.describe::<Panel>(arn),
        Kind::RoutingControl => view.describe::<Control>(arn),
        Kind::SafetyRule => view.describe::<Rule>(arn),
    }
}
