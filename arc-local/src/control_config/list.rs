//! The List operations (ListClusters, ListControlPanels, ListRoutingControls, ListSafetyRules)
//! and their pagination: `MaxResults` 1 to 1000 (default 500) and an opaque `NextToken` naming the
//! list it was issued for and the last ARN it gave, so pages follow ARN order.

use serde_json::{json, Value};

use super::protocol::{ConfigError, Kind};
use super::resources::{Resource, View};
use crate::catalog::{Cluster, Control, Panel, Rule};
use crate::wire;

/// Page size of the List operations when MaxResults is absent.
pub const DEFAULT_PAGE_SIZE: usize = 500;
/// Largest MaxResults (the model's `MaxResults` shape).
pub const MAX_PAGE_SIZE: i64 = 1000;

/// MaxResults and NextToken of a List request.
pub struct Paging {
    max: usize,
    token: Option<String>,
}

/// The paging parameters of the query string.
pub fn paging(query: &[(String, String)]) -> Result<Paging, ConfigError> {
    let mut max = DEFAULT_PAGE_SIZE;
    let mut token = None;
    for (k, v) in query {
        match k.as_str() {
            "MaxResults" => match v.parse::<i64>() {
                Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => max = n as usize,
                _ => {
                    return Err(ConfigError::Validation(format!(
                        "1 validation error detected: Value '{v}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and {MAX_PAGE_SIZE}"
                    )))
                }
            },
            "NextToken" => token = Some(v.clone()),
            _ => {}
        }
    }
    Ok(Paging { max, token })
}

/// An opaque page token: the list it was issued for and the last key it gave.
fn encode_token(scope: &str, last: &str) -> String {
    wire::token(&format!("{scope} {last}"))
}

/// The last key a token holds, when it is ours and was issued for the same list.
fn decode_token(token: &str, scope: &str) -> Option<String> {
    let text = wire::token_text(token)?;
    Some(text.strip_prefix(scope)?.strip_prefix(' ')?.to_owned())
}

/// One page of `items` (sorted by key) and the token of the next, if any.
fn page(
    items: Vec<(String, Value)>,
    scope: &str,
    paging: &Paging,
) -> Result<(Vec<Value>, Option<String>), ConfigError> {
    let start = match &paging.token {
        None => 0,
        Some(t) => {
            let last = decode_token(t, scope).ok_or_else(|| {
                ConfigError::Validation(
                    "NextToken is not valid: pass the NextToken of the previous answer to the same request".into(),
                )
            })?;
            items.partition_point(|(k, _)| k.as_str() <= last.as_str())
        }
    };
    let end = (start + paging.max).min(items.len());
    let next = (end < items.len()).then(|| encode_token(scope, &items[end - 1].0));
    let values = items
        .into_iter()
        .skip(start)
        .take(end - start)
        .map(|(_, v)| v)
        .collect();
    Ok((values, next))
}

/// A page of the resources of kind `T` that `keep` selects and are not gone, as `{key: [...],
/// NextToken}`.
fn list_of<T: Resource>(
    view: &View<'_>,
    key: &str,
    scope: &str,
    paging: &Paging,
    keep: impl Fn(&T) -> bool,
) -> Result<Value, ConfigError> {
    let items = T::all(view.catalog)
        .iter()
        .filter(|(_, x)| keep(x))
        .filter_map(|(arn, x)| {
            let status = view.status(x.life())?;
            Some((arn.clone(), x.list_item(arn, status, view)))
        })
        .collect();
    let (values, next) = page(items, scope, paging)?;
    let mut out = json!({ key: values });
    if let Some(t) = next {
        out["NextToken"] = Value::String(t);
    }
    Ok(out)
}

/// `List<kind>s`: clusters; control panels (of the `ClusterArn` in the query, if any); the routing
/// controls or safety rules of control panel `parent`.
pub fn list(
    view: &View<'_>,
    kind: Kind,
    parent: Option<&str>,
    query: &[(String, String)],
) -> Result<Value, ConfigError> {
    let paging = paging(query)?;
    let panel = || -> Result<&str, ConfigError> {
        let panel = parent.unwrap_or_default();
        view.find::<Panel>(panel)?;
        Ok(panel)
    };
    match kind {
        Kind::Cluster => list_of::<Cluster>(view, "Clusters", "clusters", &paging, |_| true),
        Kind::ControlPanel => {
            let cluster = query
                .iter()
                .find(|(k, _)| k == "ClusterArn")
                .map(|(_, v)| v.as_str());
            if let Some(c) = cluster {
                view.find::<Cluster>(c)?;
            }
            let scope = format!("panels {}", cluster.unwrap_or(""));
            list_of::<Panel>(view, "ControlPanels", &scope, &paging, |p| {
                cluster.is_none_or(|c| p.cluster_arn == c)
            })
        }
        Kind::RoutingControl => {
            let panel = panel()?;
            let scope = format!("controls {panel}");
            list_of::<Control>(view, "RoutingControls", &scope, &paging, |c| {
                c.panel_arn == panel
            })
        }
        Kind::SafetyRule => {
            let panel = panel()?;
            let scope = format!("rules {panel}");
            list_of::<Rule>(view, "SafetyRules", &scope, &paging, |r| {
                r.panel_arn == panel
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_tokens() {
        let items: Vec<(String, Value)> = (0..5).map(|i| (format!("k{i}"), json!(i))).collect();
        let p = Paging {
            max: 2,
            token: None,
        };
        let (v, next) = page(items.clone(), "s", &p).unwrap();
        assert_eq!(v, [json!(0), json!(1)]);
        let p = Paging {
            max: 2,
            token: next,
        };
        let (v, next) = page(items.clone(), "s", &p).unwrap();
        assert_eq!(v, [json!(2), json!(3)]);
        let p = Paging {
            max: 2,
            token: next.clone(),
        };
        let (v, last) = page(items.clone(), "s", &p).unwrap();
        assert_eq!((v, last), (vec![json!(4)], None));
        // A token of another list is refused.
        let p = Paging {
            max: 2,
            token: next,
        };
        assert_eq!(
            page(items, "other", &p).unwrap_err().code(),
            "ValidationException"
        );
    }

    #[test]
    fn max_results_is_checked() {
        let q = |v: &str| vec![("MaxResults".to_owned(), v.to_owned())];
        assert_eq!(paging(&q("3")).unwrap().max, 3);
        assert!(paging(&q("0")).is_err());
        assert!(paging(&q("1001")).is_err());
        assert_eq!(paging(&[]).unwrap().max, DEFAULT_PAGE_SIZE);
    }
}
