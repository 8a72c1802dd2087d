//! The config API's wire format (REST-JSON): its errors and their answers, and which operation a
//! request is, from its method and path (ARNs in paths percent-encoded or not) and its query.

use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::wire;

/// The content type of answers.
const CONTENT_TYPE: &str = "application/json";

/// An error of the config API, as the service model names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    Internal(String),
    #[error("{0}")]
    Serialization(String),
    #[error("{0}")]
    UnknownOperation(String),
}

impl ConfigError {
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::Validation(_) => "ValidationException",
            ConfigError::NotFound(_) => "ResourceNotFoundException",
            ConfigError::Conflict(_) => "ConflictException",
            ConfigError::AccessDenied(_) => "AccessDeniedException",
            ConfigError::Internal(_) => "InternalServerException",
            ConfigError::Serialization(_) => "SerializationException",
            ConfigError::UnknownOperation(_) => "UnknownOperationException",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ConfigError::Validation(_) | ConfigError::Serialization(_) => StatusCode::BAD_REQUEST,
            ConfigError::NotFound(_) | ConfigError::UnknownOperation(_) => StatusCode::NOT_FOUND,
            ConfigError::Conflict(_) => StatusCode::CONFLICT,
            ConfigError::AccessDenied(_) => StatusCode::FORBIDDEN,
            ConfigError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ConfigError {
    fn into_response(self) -> Response {
        let body = json!({"message": self.to_string(), "__type": self.code()});
        wire::error_response(self.status(), self.code(), CONTENT_TYPE, &body)
    }
}

/// A successful answer.
pub fn json_response(body: &Value) -> Response {
    wire::json_response(StatusCode::OK, CONTENT_TYPE, body)
}

/// The four kinds of resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Cluster,
    ControlPanel,
    RoutingControl,
    SafetyRule,
}

impl Kind {
    const ALL: [Kind; 4] = [
        Kind::Cluster,
        Kind::ControlPanel,
        Kind::RoutingControl,
        Kind::SafetyRule,
    ];

    /// The name in operation names: `Describe<name>`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Cluster => "Cluster",
            Kind::ControlPanel => "ControlPanel",
            Kind::RoutingControl => "RoutingControl",
            Kind::SafetyRule => "SafetyRule",
        }
    }

    /// The path segment: `/cluster`, `/controlpanel/<arn>`.
    fn segment(self) -> &'static str {
        match self {
            Kind::Cluster => "cluster",
            Kind::ControlPanel => "controlpanel",
            Kind::RoutingControl => "routingcontrol",
            Kind::SafetyRule => "safetyrule",
        }
    }
}

/// The operations, by method and path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Create(Kind),
    Update(Kind),
    Describe(Kind, String),
    Delete(Kind, String),
    /// `List<Kind>s`: clusters, control panels (filtered by the `ClusterArn` query parameter),
    /// or the routing controls or safety rules of a control panel.
    List(Kind, Option<String>),
    ListAssociatedRoute53HealthChecks(String),
    ListTagsForResource(String),
    TagResource(String),
    UntagResource(String),
}

impl Op {
    /// The operation's name in the service model.
    pub fn name(&self) -> String {
        match self {
            Op::Create(k) => format!("Create{}", k.name()),
            Op::Update(k) => format!("Update{}", k.name()),
            Op::Describe(k, _) => format!("Describe{}", k.name()),
            Op::Delete(k, _) => format!("Delete{}", k.name()),
            Op::List(k, _) => format!("List{}s", k.name()),
            Op::ListAssociatedRoute53HealthChecks(_) => "ListAssociatedRoute53HealthChecks".into(),
            Op::ListTagsForResource(_) => "ListTagsForResource".into(),
            Op::TagResource(_) => "TagResource".into(),
            Op::UntagResource(_) => "UntagResource".into(),
        }
    }

    /// Whether the operation only reads.
    pub fn reads(&self) -> bool {
        matches!(
            self,
            Op::Describe(..)
                | Op::List(..)
                | Op::ListAssociatedRoute53HealthChecks(_)
                | Op::ListTagsForResource(_)
        )
    }
}

/// Percent-decodes a path or query component (`+` is a space in query values only).
fn percent_decode(s: &str, plus_is_space: bool) -> Result<String, ConfigError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        ConfigError::Serialization(format!("bad percent-encoding in {s:?}"))
                    })?;
                out.push(hex);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map_err(|_| ConfigError::Serialization(format!("{s:?} is not UTF-8 once decoded")))
}

/// Which operation a request is. ARNs in the path may be percent-encoded (as the SDKs send them)
/// or not.
pub fn route(method: &Method, raw_path: &str) -> Result<Op, ConfigError> {
    let path = percent_decode(raw_path, false)?;
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(&path);
    let unknown = || {
        ConfigError::UnknownOperation(format!(
            "no operation answers {method} {path} (this is the Route 53 ARC recovery-control-config API)"
        ))
    };
    let m = method.clone();
    if path == "/controlpanels" && m == Method::GET {
        return Ok(Op::List(Kind::ControlPanel, None));
    }
    if let Some(arn) = path.strip_prefix("/tags/").filter(|a| !a.is_empty()) {
        let arn = arn.to_owned();
        return match m {
            Method::GET => Ok(Op::ListTagsForResource(arn)),
            Method::POST => Ok(Op::TagResource(arn)),
            Method::DELETE => Ok(Op::UntagResource(arn)),
            _ => Err(unknown()),
        };
    }
    let Some(relative) = path.strip_prefix('/') else {
        return Err(unknown());
    };
    for kind in Kind::ALL {
        let Some(rest) = relative.strip_prefix(kind.segment()) else {
            continue;
        };
        if rest.is_empty() {
            return match m {
                Method::POST => Ok(Op::Create(kind)),
                Method::PUT => Ok(Op::Update(kind)),
                Method::GET if kind == Kind::Cluster => Ok(Op::List(kind, None)),
                _ => Err(unknown()),
            };
        }
        let Some(arn) = rest.strip_prefix('/').filter(|a| !a.is_empty()) else {
            continue;
        };
        // Lists under a resource: /controlpanel/<arn>/routingcontrols, .../safetyrules,
        // /routingcontrol/<arn>/associatedRoute53HealthChecks. `Some(None)`: no ARN before it.
        let under = |suffix: &str, op: fn(String) -> Op| {
            let parent = arn.strip_suffix(suffix)?;
            Some((!parent.is_empty()).then(|| op(parent.to_owned())))
        };
        let sub = match kind {
            Kind::ControlPanel => under("/routingcontrols", |p| {
                Op::List(Kind::RoutingControl, Some(p))
            })
            .or_else(|| under("/safetyrules", |p| Op::List(Kind::SafetyRule, Some(p)))),
            Kind::RoutingControl => under(
                "/associatedRoute53HealthChecks",
                Op::ListAssociatedRoute53HealthChecks,
            ),
            _ => None,
        };
        return match (sub, m) {
            (Some(Some(op)), Method::GET) => Ok(op),
            (Some(_), _) => Err(unknown()),
            (None, Method::GET) => Ok(Op::Describe(kind, arn.to_owned())),
            (None, Method::DELETE) => Ok(Op::Delete(kind, arn.to_owned())),
            (None, _) => Err(unknown()),
        };
    }
    Err(unknown())
}

/// The query string's parameters, decoded, in order (repeated names kept).
pub fn query_params(uri: &Uri) -> Result<Vec<(String, String)>, ConfigError> {
    let Some(q) = uri.query() else {
        return Ok(Vec::new());
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((percent_decode(k, true)?, percent_decode(v, true)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_decode_arns_in_the_path() {
        let arn = "arn:aws:route53-recovery-control::000000000000:controlpanel/abc";
        let encoded = "arn%3Aaws%3Aroute53-recovery-control%3A%3A000000000000%3Acontrolpanel%2Fabc";
        for path in [
            format!("/controlpanel/{arn}"),
            format!("/controlpanel/{encoded}"),
        ] {
            assert_eq!(
                route(&Method::GET, &path).unwrap(),
                Op::Describe(Kind::ControlPanel, arn.into())
            );
        }
        assert_eq!(
            route(
                &Method::GET,
                &format!("/controlpanel/{encoded}/routingcontrols")
            )
            .unwrap(),
            Op::List(Kind::RoutingControl, Some(arn.into()))
        );
        assert_eq!(
            route(
                &Method::GET,
                &format!("/controlpanel/{encoded}/safetyrules")
            )
            .unwrap(),
            Op::List(Kind::SafetyRule, Some(arn.into()))
        );
        let rc = format!("{arn}/routingcontrol/r1");
        assert_eq!(
            route(
                &Method::GET,
                &format!("/routingcontrol/{rc}/associatedRoute53HealthChecks")
            )
            .unwrap(),
            Op::ListAssociatedRoute53HealthChecks(rc.clone())
        );
        assert_eq!(
            route(&Method::DELETE, &format!("/routingcontrol/{rc}")).unwrap(),
            Op::Delete(Kind::RoutingControl, rc)
        );
        assert_eq!(
            route(&Method::GET, "/cluster").unwrap(),
            Op::List(Kind::Cluster, None)
        );
        assert_eq!(
            route(&Method::GET, "/controlpanels").unwrap(),
            Op::List(Kind::ControlPanel, None)
        );
        assert_eq!(
            route(&Method::PUT, "/safetyrule").unwrap(),
            Op::Update(Kind::SafetyRule)
        );
        let e = route(&Method::PATCH, "/cluster").unwrap_err();
        assert_eq!(e.code(), "UnknownOperationException");
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        assert!(
            route(&Method::GET, "/cluster/").is_ok_and(|op| op == Op::List(Kind::Cluster, None))
        );
        assert!(route(&Method::GET, "/nothing").is_err());
        assert!(route(&Method::GET, "/cluster/%zz").is_err());
    }

    #[test]
    fn operation_names_are_the_models() {
        assert_eq!(
            Op::List(Kind::ControlPanel, None).name(),
            "ListControlPanels"
        );
        assert_eq!(Op::Create(Kind::SafetyRule).name(), "CreateSafetyRule");
        assert_eq!(
            Op::Describe(Kind::RoutingControl, String::new()).name(),
            "DescribeRoutingControl"
        );
        assert!(!route(&Method::GET, "/controlpanels").is_ok_and(|op| !op.reads()));
        assert!(!route(&Method::POST, "/tags/x").unwrap().reads());
        assert!(route(&Method::GET, "/controlpanels/x").is_err());
        assert!(route(&Method::GET, "/clusterx").is_err());
        assert!(route(&Method::DELETE, "/controlpanel/p/routingcontrols").is_err());
        assert!(route(&Method::GET, "/controlpanel//routingcontrols").is_err());
    }

    #[test]
    fn query_values_are_decoded() {
        let uri: Uri = "/tags/x?TagKeys=a%20b&TagKeys=c&MaxResults=3"
            .parse()
            .unwrap();
        let q = query_params(&uri).unwrap();
        assert_eq!(
            q,
            [
                ("TagKeys".to_owned(), "a b".to_owned()),
                ("TagKeys".to_owned(), "c".to_owned()),
                ("MaxResults".to_owned(), "3".to_owned())
            ]
        );
    }
}
