//! The Route 53 ARC recovery-control-config API (service `route53-recovery-control-config`,
//! protocol REST-JSON, SigV4 signing name `route53-recovery-control-config`; in AWS it lives in
//! us-west-2 only), wire-compatible with the AWS CLI, the SDKs and Terraform's
//! `aws_route53recoverycontrolconfig_*` resources.
//!
//! Operations, with the service model's paths and members: CreateCluster, DescribeCluster,
//! UpdateCluster, DeleteCluster, ListClusters; CreateControlPanel, DescribeControlPanel,
//! UpdateControlPanel, DeleteControlPanel, ListControlPanels; CreateRoutingControl,
//! DescribeRoutingControl, UpdateRoutingControl, DeleteRoutingControl, ListRoutingControls;
//! CreateSafetyRule, DescribeSafetyRule, UpdateSafetyRule, DeleteSafetyRule, ListSafetyRules;
//! ListAssociatedRoute53HealthChecks (always empty: Route 53 is not emulated here); TagResource,
//! UntagResource, ListTagsForResource.
//!
//! What the API creates is served by the data plane at once (routing controls start Off, safety
//! rules are enforced) and kept in the state file. Create answers say PENDING; Describe says
//! PENDING until the deploy delay has passed, then DEPLOYED; a deleted resource is
//! PENDING_DELETION for the deploy delay, then ResourceNotFoundException. The topology's cluster,
//! control panels, routing controls and safety rules are listed too, but are read-only (change the
//! topology file instead); new control panels, routing controls and safety rules may be created in
//! them.
//!
//! Refusals, as in AWS: deleting a cluster that still has control panels (other than its default
//! one) or routing controls, a control panel that still has routing controls or safety rules, or
//! a routing control that a safety rule names, is a ConflictException (409). Unknown resources are
//! ResourceNotFoundException (404); bad input is ValidationException (400). Errors carry the code
//! in `x-amzn-errortype` and a JSON body `{"message": ..., "__type": ...}`.
//!
//! Requests must carry a SigV4 `Authorization` header, but signatures are NOT verified.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use recovery::{RuleConfig, RuleType, SafetyRule};
use serde_json::{json, Map, Value};

use crate::catalog::{
    Catalog, Cluster, Control, HasLife, Life, Panel, Rule, Status, DEFAULT_PANEL_NAME,
};
use crate::state::{now_ms, ConfigureError, Store};
use crate::wire::{self, Checks};

/// Page size of the List operations when MaxResults is absent.
pub const DEFAULT_PAGE_SIZE: usize = 500;
/// Largest MaxResults (the model's `MaxResults` shape).
pub const MAX_PAGE_SIZE: i64 = 1000;

/// What every cluster answers, and whose account owns what the API creates.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The five data-plane endpoints: (region, URL).
    pub endpoints: Vec<(String, String)>,
    /// The account in the ARNs and `Owner` of created resources.
    pub account: String,
}

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

/// The content type of answers.
const CONTENT_TYPE: &str = "application/json";

fn json_response(status: StatusCode, body: &Value) -> Response {
    wire::json_response(status, CONTENT_TYPE, body)
}

#[derive(Clone)]
struct Ctx {
    store: Arc<Store>,
    settings: Arc<Settings>,
}

/// The config API's router: the operations plus `GET /health`.
pub fn router(store: Arc<Store>, settings: Settings) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok\n" }))
        .fallback(serve)
        .with_state(Ctx {
            store,
            settings: Arc::new(settings),
        })
        .layer(axum::middleware::from_fn(bootstrap::access_log::log))
}

async fn serve(
    State(ctx): State<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&ctx, &method, &uri, &headers, &body).await {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(e) => {
            tracing::debug!(code = e.code(), message = %e, %method, path = %uri.path(), "config request refused");
            e.into_response()
        }
    }
}

/// The operations, by method and path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    CreateCluster,
    ListClusters,
    UpdateCluster,
    DescribeCluster(String),
    DeleteCluster(String),
    CreateControlPanel,
    UpdateControlPanel,
    ListControlPanels,
    DescribeControlPanel(String),
    DeleteControlPanel(String),
    ListRoutingControls(String),
    ListSafetyRules(String),
    CreateRoutingControl,
    UpdateRoutingControl,
    DescribeRoutingControl(String),
    DeleteRoutingControl(String),
    ListAssociatedRoute53HealthChecks(String),
    CreateSafetyRule,
    UpdateSafetyRule,
    DescribeSafetyRule(String),
    DeleteSafetyRule(String),
    ListTagsForResource(String),
    TagResource(String),
    UntagResource(String),
}

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Op::CreateCluster => "CreateCluster",
            Op::ListClusters => "ListClusters",
            Op::UpdateCluster => "UpdateCluster",
            Op::DescribeCluster(_) => "DescribeCluster",
            Op::DeleteCluster(_) => "DeleteCluster",
            Op::CreateControlPanel => "CreateControlPanel",
            Op::UpdateControlPanel => "UpdateControlPanel",
            Op::ListControlPanels => "ListControlPanels",
            Op::DescribeControlPanel(_) => "DescribeControlPanel",
            Op::DeleteControlPanel(_) => "DeleteControlPanel",
            Op::ListRoutingControls(_) => "ListRoutingControls",
            Op::ListSafetyRules(_) => "ListSafetyRules",
            Op::CreateRoutingControl => "CreateRoutingControl",
            Op::UpdateRoutingControl => "UpdateRoutingControl",
            Op::DescribeRoutingControl(_) => "DescribeRoutingControl",
            Op::DeleteRoutingControl(_) => "DeleteRoutingControl",
            Op::ListAssociatedRoute53HealthChecks(_) => "ListAssociatedRoute53HealthChecks",
            Op::CreateSafetyRule => "CreateSafetyRule",
            Op::UpdateSafetyRule => "UpdateSafetyRule",
            Op::DescribeSafetyRule(_) => "DescribeSafetyRule",
            Op::DeleteSafetyRule(_) => "DeleteSafetyRule",
            Op::ListTagsForResource(_) => "ListTagsForResource",
            Op::TagResource(_) => "TagResource",
            Op::UntagResource(_) => "UntagResource",
        }
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
fn route(method: &Method, raw_path: &str) -> Result<Op, ConfigError> {
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
    let arg = |rest: &str| -> Result<String, ConfigError> {
        if rest.is_empty() {
            Err(unknown())
        } else {
            Ok(rest.to_owned())
        }
    };
    let m = method.clone();
    let op = match path {
        "/cluster" => match m {
            Method::POST => Op::CreateCluster,
            Method::GET => Op::ListClusters,
            Method::PUT => Op::UpdateCluster,
            _ => return Err(unknown()),
        },
        "/controlpanel" => match m {
            Method::POST => Op::CreateControlPanel,
            Method::PUT => Op::UpdateControlPanel,
            _ => return Err(unknown()),
        },
        "/controlpanels" if m == Method::GET => Op::ListControlPanels,
        "/routingcontrol" => match m {
            Method::POST => Op::CreateRoutingControl,
            Method::PUT => Op::UpdateRoutingControl,
            _ => return Err(unknown()),
        },
        "/safetyrule" => match m {
            Method::POST => Op::CreateSafetyRule,
            Method::PUT => Op::UpdateSafetyRule,
            _ => return Err(unknown()),
        },
        _ => {
            if let Some(rest) = path.strip_prefix("/cluster/") {
                match m {
                    Method::GET => Op::DescribeCluster(arg(rest)?),
                    Method::DELETE => Op::DeleteCluster(arg(rest)?),
                    _ => return Err(unknown()),
                }
            } else if let Some(rest) = path.strip_prefix("/controlpanel/") {
                if let Some(panel) = rest.strip_suffix("/routingcontrols") {
                    match m {
                        Method::GET => Op::ListRoutingControls(arg(panel)?),
                        _ => return Err(unknown()),
                    }
                } else if let Some(panel) = rest.strip_suffix("/safetyrules") {
                    match m {
                        Method::GET => Op::ListSafetyRules(arg(panel)?),
                        _ => return Err(unknown()),
                    }
                } else {
                    match m {
                        Method::GET => Op::DescribeControlPanel(arg(rest)?),
                        Method::DELETE => Op::DeleteControlPanel(arg(rest)?),
                        _ => return Err(unknown()),
                    }
                }
            } else if let Some(rest) = path.strip_prefix("/routingcontrol/") {
                if let Some(control) = rest.strip_suffix("/associatedRoute53HealthChecks") {
                    match m {
                        Method::GET => Op::ListAssociatedRoute53HealthChecks(arg(control)?),
                        _ => return Err(unknown()),
                    }
                } else {
                    match m {
                        Method::GET => Op::DescribeRoutingControl(arg(rest)?),
                        Method::DELETE => Op::DeleteRoutingControl(arg(rest)?),
                        _ => return Err(unknown()),
                    }
                }
            } else if let Some(rest) = path.strip_prefix("/safetyrule/") {
                match m {
                    Method::GET => Op::DescribeSafetyRule(arg(rest)?),
                    Method::DELETE => Op::DeleteSafetyRule(arg(rest)?),
                    _ => return Err(unknown()),
                }
            } else if let Some(rest) = path.strip_prefix("/tags/") {
                match m {
                    Method::GET => Op::ListTagsForResource(arg(rest)?),
                    Method::POST => Op::TagResource(arg(rest)?),
                    Method::DELETE => Op::UntagResource(arg(rest)?),
                    _ => return Err(unknown()),
                }
            } else {
                return Err(unknown());
            }
        }
    };
    Ok(op)
}

/// The query string's parameters, decoded, in order (repeated names kept).
fn query_params(uri: &Uri) -> Result<Vec<(String, String)>, ConfigError> {
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

/// MaxResults and NextToken of a List request.
struct Paging {
    max: usize,
    token: Option<String>,
}

fn paging(query: &[(String, String)]) -> Result<Paging, ConfigError> {
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

fn list_answer(key: &str, values: Vec<Value>, next: Option<String>) -> Value {
    let mut out = json!({ key: values });
    if let Some(t) = next {
        out["NextToken"] = Value::String(t);
    }
    out
}

// ---- request bodies ----

fn body_object(body: &[u8]) -> Result<Map<String, Value>, ConfigError> {
    wire::parse_object(body).map_err(ConfigError::Serialization)
}

/// One ValidationException for everything that failed.
fn finish(checks: Checks) -> Result<(), ConfigError> {
    match checks.outcome() {
        None => Ok(()),
        Some((message, _)) => Err(ConfigError::Validation(message)),
    }
}

fn wrong_type(field: &str, expected: &str, got: &Value) -> ConfigError {
    ConfigError::Serialization(wire::wrong_type(field, expected, got))
}

/// Typed access to a request object's members, collecting constraint violations.
struct Input<'a> {
    obj: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> Input<'a> {
    fn new(obj: &'a Map<String, Value>, prefix: &str) -> Input<'a> {
        Input {
            obj,
            prefix: prefix.to_owned(),
        }
    }

    fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    fn string(&self, name: &str) -> Result<Option<&'a str>, ConfigError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(wrong_type(&self.path(name), "a string", other)),
        }
    }

    fn required_string(
        &self,
        name: &str,
        checks: &mut Checks,
    ) -> Result<Option<&'a str>, ConfigError> {
        let v = self.string(name)?;
        if v.is_none() {
            checks.fail(&self.path(name), None, "Member must not be null");
        }
        Ok(v)
    }

    /// A name (`__stringMin1Max64PatternS`): 1 to 64 characters, no white space.
    fn name(
        &self,
        name: &str,
        required: bool,
        checks: &mut Checks,
    ) -> Result<Option<String>, ConfigError> {
        let v = if required {
            self.required_string(name, checks)?
        } else {
            self.string(name)?
        };
        if let Some(v) = v {
            let len = v.chars().count();
            if !(1..=64).contains(&len) || v.chars().any(char::is_whitespace) {
                checks.fail(
                    &self.path(name),
                    Some(v),
                    "Member must have length between 1 and 64 and match pattern ^\\S+$",
                );
            }
        }
        Ok(v.map(str::to_owned))
    }

    /// An ARN (`__stringMin1Max256PatternAZaZ09`).
    fn arn(
        &self,
        name: &str,
        required: bool,
        checks: &mut Checks,
    ) -> Result<Option<String>, ConfigError> {
        let v = if required {
            self.required_string(name, checks)?
        } else {
            self.string(name)?
        };
        if let Some(v) = v {
            check_arn(&self.path(name), v, checks);
        }
        Ok(v.map(str::to_owned))
    }

    fn client_token(&self, checks: &mut Checks) -> Result<Option<String>, ConfigError> {
        let v = self.string("ClientToken")?;
        if let Some(v) = v {
            if !(1..=64).contains(&v.len()) || v.chars().any(char::is_whitespace) {
                checks.fail(
                    &self.path("ClientToken"),
                    Some(v),
                    "Member must have length between 1 and 64 and match pattern ^\\S+$",
                );
            }
        }
        Ok(v.map(str::to_owned))
    }

    fn int(
        &self,
        name: &str,
        required: bool,
        checks: &mut Checks,
    ) -> Result<Option<i64>, ConfigError> {
        match self.get(name) {
            None => {
                if required {
                    checks.fail(&self.path(name), None, "Member must not be null");
                }
                Ok(None)
            }
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) if i32::try_from(i).is_ok() => Ok(Some(i)),
                _ => Err(ConfigError::Serialization(format!(
                    "{} must be a 32-bit integer",
                    self.path(name)
                ))),
            },
            Some(other) => Err(wrong_type(&self.path(name), "an integer", other)),
        }
    }

    fn bool(
        &self,
        name: &str,
        required: bool,
        checks: &mut Checks,
    ) -> Result<Option<bool>, ConfigError> {
        match self.get(name) {
            None => {
                if required {
                    checks.fail(&self.path(name), None, "Member must not be null");
                }
                Ok(None)
            }
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(wrong_type(&self.path(name), "a boolean", other)),
        }
    }

    fn object(&self, name: &str) -> Result<Option<&'a Map<String, Value>>, ConfigError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(other) => Err(wrong_type(&self.path(name), "an object", other)),
        }
    }

    /// A list of ARNs (`__listOf__stringMin1Max256PatternAZaZ09`).
    fn arn_list(
        &self,
        name: &str,
        checks: &mut Checks,
    ) -> Result<Option<Vec<String>>, ConfigError> {
        let list = match self.get(name) {
            None => {
                checks.fail(&self.path(name), None, "Member must not be null");
                return Ok(None);
            }
            Some(Value::Array(a)) => a,
            Some(other) => return Err(wrong_type(&self.path(name), "a list", other)),
        };
        let mut out = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            let field = format!("{}[{i}]", self.path(name));
            match v {
                Value::String(s) => {
                    check_arn(&field, s, checks);
                    out.push(s.clone());
                }
                other => return Err(wrong_type(&field, "a string", other)),
            }
        }
        Ok(Some(out))
    }

    /// A tag map (`__mapOf__stringMin0Max256PatternS`).
    fn tags(
        &self,
        name: &str,
        checks: &mut Checks,
    ) -> Result<Option<BTreeMap<String, String>>, ConfigError> {
        let Some(map) = self.object(name)? else {
            return Ok(None);
        };
        let mut out = BTreeMap::new();
        for (k, v) in map {
            let field = format!("{}.{k}", self.path(name));
            let Value::String(v) = v else {
                return Err(wrong_type(&field, "a string", v));
            };
            if k.is_empty() || k.chars().count() > 128 {
                checks.fail(
                    &field,
                    Some(k),
                    "Tag keys must have length between 1 and 128",
                );
            }
            if v.chars().count() > 256 {
                checks.fail(&field, Some(v), "Member must have length between 0 and 256");
            }
            out.insert(k.clone(), v.clone());
        }
        Ok(Some(out))
    }
}

fn check_arn(field: &str, value: &str, checks: &mut Checks) {
    let ok = (1..=256).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b));
    if !ok {
        checks.fail(
            field,
            Some(value),
            "Member must have length between 1 and 256 and match pattern ^[A-Za-z0-9:\\/_-]*$",
        );
    }
}

// ---- answers ----

struct View<'a> {
    catalog: &'a Catalog,
    settings: &'a Settings,
    now: u64,
    delay: u64,
}

impl<'a> View<'a> {
    fn status(&self, life: &Life) -> Option<Status> {
        life.status(self.now, self.delay)
    }

    fn cluster(&self, arn: &str, c: &Cluster, status: Status) -> Value {
        let endpoints: Vec<Value> = self
            .settings
            .endpoints
            .iter()
            .map(|(region, url)| json!({"Endpoint": url, "Region": region}))
            .collect();
        json!({
            "ClusterArn": arn,
            "ClusterEndpoints": endpoints,
            "Name": c.name,
            "Status": status.as_str(),
            "Owner": c.owner,
            "NetworkType": c.network_type,
        })
    }

    fn panel(&self, arn: &str, p: &Panel, status: Status) -> Value {
        json!({
            "ClusterArn": p.cluster_arn,
            "ControlPanelArn": arn,
            "DefaultControlPanel": p.default,
            "Name": p.name,
            "RoutingControlCount": self.catalog.panel_control_count(arn),
            "Status": status.as_str(),
            "Owner": p.owner,
        })
    }

    fn control(&self, arn: &str, c: &Control, status: Status) -> Value {
        json!({
            "ControlPanelArn": c.panel_arn,
            "Name": c.name,
            "RoutingControlArn": arn,
            "Status": status.as_str(),
            "Owner": c.owner,
        })
    }

    /// ("AssertionRule" or "GatingRule", the rule's shape).
    fn rule(&self, arn: &str, r: &Rule, status: Status) -> (&'static str, Value) {
        let config = |c: &RuleConfig| {
            json!({
                "Inverted": c.inverted,
                "Threshold": c.threshold,
                "Type": match c.kind {
                    RuleType::Atleast => "ATLEAST",
                    RuleType::And => "AND",
                    RuleType::Or => "OR",
                },
            })
        };
        match &r.rule {
            SafetyRule::Assertion {
                name,
                asserted_controls,
                rule_config,
                wait_period_ms,
                ..
            } => (
                "AssertionRule",
                json!({
                    "AssertedControls": asserted_controls,
                    "ControlPanelArn": r.panel_arn,
                    "Name": name,
                    "RuleConfig": config(rule_config),
                    "SafetyRuleArn": arn,
                    "Status": status.as_str(),
                    "WaitPeriodMs": wait_period_ms,
                    "Owner": r.owner,
                }),
            ),
            SafetyRule::Gating {
                name,
                gating_controls,
                target_controls,
                rule_config,
                wait_period_ms,
                ..
            } => (
                "GatingRule",
                json!({
                    "ControlPanelArn": r.panel_arn,
                    "GatingControls": gating_controls,
                    "Name": name,
                    "RuleConfig": config(rule_config),
                    "SafetyRuleArn": arn,
                    "Status": status.as_str(),
                    "TargetControls": target_controls,
                    "WaitPeriodMs": wait_period_ms,
                    "Owner": r.owner,
                }),
            ),
        }
    }

    fn rule_answer(&self, arn: &str, r: &Rule, status: Status) -> Value {
        let (key, value) = self.rule(arn, r, status);
        json!({ key: value })
    }

    /// A resource that is not gone, or ResourceNotFoundException naming `what`.
    fn find<T: HasLife>(
        &self,
        map: &'a BTreeMap<String, T>,
        what: &str,
        arn: &str,
    ) -> Result<(&'a T, Status), ConfigError> {
        map.get(arn)
            .and_then(|x| self.status(x.life()).map(|s| (x, s)))
            .ok_or_else(|| ConfigError::NotFound(format!("{what} {arn} not found")))
    }

    fn find_cluster(&self, arn: &str) -> Result<(&'a Cluster, Status), ConfigError> {
        self.find(&self.catalog.clusters, "Cluster", arn)
    }

    fn find_panel(&self, arn: &str) -> Result<(&'a Panel, Status), ConfigError> {
        self.find(&self.catalog.panels, "Control panel", arn)
    }

    fn find_control(&self, arn: &str) -> Result<(&'a Control, Status), ConfigError> {
        self.find(&self.catalog.controls, "Routing control", arn)
    }

    fn find_rule(&self, arn: &str) -> Result<(&'a Rule, Status), ConfigError> {
        self.find(&self.catalog.rules, "Safety rule", arn)
    }

    /// Any resource that is not gone.
    fn find_any(&self, arn: &str) -> Result<(), ConfigError> {
        let c = &self.catalog;
        let life = |x: &'a dyn HasLife| x.life();
        let found = (c.clusters.get(arn).map(|x| life(x)))
            .or_else(|| c.panels.get(arn).map(|x| life(x)))
            .or_else(|| c.controls.get(arn).map(|x| life(x)))
            .or_else(|| c.rules.get(arn).map(|x| life(x)))
            .and_then(|l| self.status(l));
        found
            .map(|_| ())
            .ok_or_else(|| ConfigError::NotFound(format!("Resource {arn} not found")))
    }
}

/// Refuses changes to what the topology defines.
fn writable(life: &Life, what: &str, arn: &str, source: &str) -> Result<(), ConfigError> {
    if life.is_topology() {
        return Err(ConfigError::Validation(format!(
            "{what} {arn} is defined by arc-local's topology ({source}) and cannot be changed or deleted through this API; change the topology file instead"
        )));
    }
    Ok(())
}

/// Refuses to act on a resource that is being deleted.
fn not_deleting(status: Status, what: &str, arn: &str) -> Result<(), ConfigError> {
    if status == Status::PendingDeletion {
        return Err(ConfigError::Conflict(format!(
            "{what} {arn} is being deleted (PENDING_DELETION)"
        )));
    }
    Ok(())
}

fn new_id(len: usize) -> String {
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(len);
    id
}

/// What an earlier create with the same ClientToken made (answered again, as AWS does), if it is
/// still live; ConflictException when that request had other parameters (`same` is false).
fn replay<'m, T: HasLife>(
    map: &'m BTreeMap<String, T>,
    token: Option<&str>,
    same: impl Fn(&T) -> bool,
) -> Result<Option<(&'m String, &'m T)>, ConfigError> {
    let Some(token) = token else {
        return Ok(None);
    };
    let found = map
        .iter()
        .find(|(_, x)| x.life().live() && x.life().client_token.as_deref() == Some(token));
    match found {
        Some((_, x)) if !same(x) => Err(ConfigError::Conflict(format!(
            "ClientToken {token} was already used for a request with different parameters"
        ))),
        other => Ok(other),
    }
}

async fn handle(
    ctx: &Ctx,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, ConfigError> {
    let op = route(method, uri.path())?;
    let signed = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
    if !signed {
        return Err(ConfigError::AccessDenied(
            "the request is not signed: send a SigV4 Authorization header (AWS4-HMAC-SHA256; arc-local accepts any credentials and does not verify signatures)".into(),
        ));
    }
    let query = query_params(uri)?;
    let input = if matches!(*method, Method::POST | Method::PUT) {
        body_object(body)?
    } else {
        Map::new()
    };
    let name = op.name();
    match op {
        Op::ListClusters
        | Op::DescribeCluster(_)
        | Op::ListControlPanels
        | Op::DescribeControlPanel(_)
        | Op::ListRoutingControls(_)
        | Op::ListSafetyRules(_)
        | Op::DescribeRoutingControl(_)
        | Op::ListAssociatedRoute53HealthChecks(_)
        | Op::DescribeSafetyRule(_)
        | Op::ListTagsForResource(_) => {
            let world = ctx.store.world();
            let view = View {
                catalog: &world.catalog,
                settings: &ctx.settings,
                now: now_ms(),
                delay: ctx.store.deploy_delay_ms(),
            };
            read(&view, op, &query)
        }
        op => {
            let settings = ctx.settings.clone();
            let delay = ctx.store.deploy_delay_ms();
            let source = ctx.store.topology().source().to_owned();
            let result = ctx
                .store
                .configure(|catalog, _states, now| {
                    let w = Write {
                        catalog,
                        settings: &settings,
                        now,
                        delay,
                        source: &source,
                    };
                    w.run(op, &input, &query)
                })
                .await;
            match result {
                Ok((value, arn)) => {
                    tracing::info!(operation = name, arn = %arn, "recovery control config changed");
                    Ok(value)
                }
                Err(ConfigureError::Refused(e)) => Err(e),
                Err(ConfigureError::Persist(e)) => {
                    tracing::error!(error = %e, operation = name, "cannot save the config change; it was refused");
                    Err(ConfigError::Internal(format!(
                        "the change could not be saved, so nothing changed: {e}"
                    )))
                }
            }
        }
    }
}

/// The read-only operations.
fn read(view: &View<'_>, op: Op, query: &[(String, String)]) -> Result<Value, ConfigError> {
    let catalog = view.catalog;
    match op {
        Op::ListClusters => {
            let paging = paging(query)?;
            let items = catalog
                .clusters
                .iter()
                .filter_map(|(arn, c)| {
                    view.status(&c.life)
                        .map(|s| (arn.clone(), view.cluster(arn, c, s)))
                })
                .collect();
            let (values, next) = page(items, "clusters", &paging)?;
            Ok(list_answer("Clusters", values, next))
        }
        Op::DescribeCluster(arn) => {
            let (c, s) = view.find_cluster(&arn)?;
            Ok(json!({"Cluster": view.cluster(&arn, c, s)}))
        }
        Op::ListControlPanels => {
            let paging = paging(query)?;
            let cluster = query
                .iter()
                .find(|(k, _)| k == "ClusterArn")
                .map(|(_, v)| v.clone());
            if let Some(c) = &cluster {
                view.find_cluster(c)?;
            }
            let items = catalog
                .panels
                .iter()
                .filter(|(_, p)| cluster.as_ref().is_none_or(|c| &p.cluster_arn == c))
                .filter_map(|(arn, p)| {
                    view.status(&p.life)
                        .map(|s| (arn.clone(), view.panel(arn, p, s)))
                })
                .collect();
            let scope = format!("panels {}", cluster.as_deref().unwrap_or(""));
            let (values, next) = page(items, &scope, &paging)?;
            Ok(list_answer("ControlPanels", values, next))
        }
        Op::DescribeControlPanel(arn) => {
            let (p, s) = view.find_panel(&arn)?;
            Ok(json!({"ControlPanel": view.panel(&arn, p, s)}))
        }
        Op::ListRoutingControls(panel) => {
            let paging = paging(query)?;
            view.find_panel(&panel)?;
            let items = catalog
                .controls
                .iter()
                .filter(|(_, c)| c.panel_arn == panel)
                .filter_map(|(arn, c)| {
                    view.status(&c.life)
                        .map(|s| (arn.clone(), view.control(arn, c, s)))
                })
                .collect();
            let (values, next) = page(items, &format!("controls {panel}"), &paging)?;
            Ok(list_answer("RoutingControls", values, next))
        }
        Op::ListSafetyRules(panel) => {
            let paging = paging(query)?;
            view.find_panel(&panel)?;
            let items = catalog
                .rules
                .iter()
                .filter(|(_, r)| r.panel_arn == panel)
                .filter_map(|(arn, r)| {
                    view.status(&r.life).map(|s| {
                        let (kind, value) = view.rule(arn, r, s);
                        let key = if kind == "AssertionRule" {
                            "ASSERTION"
                        } else {
                            "GATING"
                        };
                        (arn.clone(), json!({ key: value }))
                    })
                })
                .collect();
            let (values, next) = page(items, &format!("rules {panel}"), &paging)?;
            Ok(list_answer("SafetyRules", values, next))
        }
        Op::DescribeRoutingControl(arn) => {
            let (c, s) = view.find_control(&arn)?;
            Ok(json!({"RoutingControl": view.control(&arn, c, s)}))
        }
        Op::ListAssociatedRoute53HealthChecks(arn) => {
            paging(query)?;
            view.find_control(&arn)?;
            // Route 53 health checks are not emulated here: none is ever associated.
            Ok(json!({"HealthCheckIds": []}))
        }
        Op::DescribeSafetyRule(arn) => {
            let (r, s) = view.find_rule(&arn)?;
            Ok(view.rule_answer(&arn, r, s))
        }
        Op::ListTagsForResource(arn) => {
            view.find_any(&arn)?;
            let tags = catalog.tags.get(&arn).cloned().unwrap_or_default();
            Ok(json!({"Tags": tags}))
        }
        other => Err(ConfigError::Internal(format!(
            "{} is not a read operation",
            other.name()
        ))),
    }
}

/// A config change in progress, on the store's copy of the catalog.
struct Write<'a> {
    catalog: &'a mut Catalog,
    settings: &'a Settings,
    now: u64,
    delay: u64,
    source: &'a str,
}

impl Write<'_> {
    fn view(&self) -> View<'_> {
        View {
            catalog: self.catalog,
            settings: self.settings,
            now: self.now,
            delay: self.delay,
        }
    }

    /// A resource about to be changed or deleted: it must exist, come from the API and not be
    /// being deleted. Returns its status.
    fn changeable<T: HasLife>(
        &self,
        map: impl Fn(&Catalog) -> &BTreeMap<String, T>,
        what: &str,
        arn: &str,
    ) -> Result<Status, ConfigError> {
        let view = self.view();
        let (x, status) = view.find(map(self.catalog), what, arn)?;
        writable(x.life(), what, arn, self.source)?;
        not_deleting(status, what, arn)?;
        Ok(status)
    }

    /// Marks a resource deleted now, and drops it at once when there is no deploy delay.
    fn mark_deleted<T: HasLife>(
        &mut self,
        map: impl Fn(&mut Catalog) -> &mut BTreeMap<String, T>,
        arn: &str,
    ) {
        if let Some(x) = map(self.catalog).get_mut(arn) {
            x.life_mut().deleted_ms = Some(self.now);
        }
        self.catalog.purge(self.now, self.delay);
    }

    fn arn(&self, kind: &str, id: &str) -> String {
        format!(
            "arn:aws:route53-recovery-control::{}:{kind}/{id}",
            self.settings.account
        )
    }

    /// Runs a changing operation; returns the answer and the ARN it concerned (for the log).
    fn run(
        mut self,
        op: Op,
        input: &Map<String, Value>,
        query: &[(String, String)],
    ) -> Result<(Value, String), ConfigError> {
        let body = Input::new(input, "");
        match op {
            Op::CreateCluster => self.create_cluster(&body),
            Op::UpdateCluster => self.update_cluster(&body),
            Op::DeleteCluster(arn) => self.delete_cluster(arn),
            Op::CreateControlPanel => self.create_panel(&body),
            Op::UpdateControlPanel => self.update_panel(&body),
            Op::DeleteControlPanel(arn) => self.delete_panel(arn),
            Op::CreateRoutingControl => self.create_control(&body),
            Op::UpdateRoutingControl => self.update_control(&body),
            Op::DeleteRoutingControl(arn) => self.delete_control(arn),
            Op::CreateSafetyRule => self.create_rule(&body),
            Op::UpdateSafetyRule => self.update_rule(&body),
            Op::DeleteSafetyRule(arn) => self.delete_rule(arn),
            Op::TagResource(arn) => self.tag(arn, &body),
            Op::UntagResource(arn) => self.untag(arn, query),
            other => Err(ConfigError::Internal(format!(
                "{} is not a changing operation",
                other.name()
            ))),
        }
    }

    fn set_tags(&mut self, arn: &str, tags: Option<BTreeMap<String, String>>) {
        if let Some(tags) = tags.filter(|t| !t.is_empty()) {
            self.catalog
                .tags
                .entry(arn.to_owned())
                .or_default()
                .extend(tags);
        }
    }

    fn create_cluster(&mut self, body: &Input<'_>) -> Result<(Value, String), ConfigError> {
        let mut checks = Checks::default();
        let token = body.client_token(&mut checks)?;
        let name = body.name("ClusterName", true, &mut checks)?;
        let tags = body.tags("Tags", &mut checks)?;
        let network = body.string("NetworkType")?;
        if let Some(n) = network {
            if !matches!(n, "IPV4" | "DUALSTACK") {
                checks.fail(
                    "NetworkType",
                    Some(n),
                    "Member must satisfy enum value set: [IPV4, DUALSTACK]",
                );
            }
        }
        finish(checks)?;
        let name = name.expect("checked");
        let replayed = replay(&self.catalog.clusters, token.as_deref(), |c| c.name == name)?;
        if let Some((arn, c)) = replayed {
            let view = self.view();
            let status = view.status(&c.life).unwrap_or(Status::Pending);
            return Ok((
                json!({"Cluster": view.cluster(arn, c, status)}),
                arn.clone(),
            ));
        }
        let arn = self.arn("cluster", &new_id(32));
        let owner = self.settings.account.clone();
        let cluster = Cluster {
            name,
            owner: owner.clone(),
            network_type: network.unwrap_or("IPV4").to_owned(),
            life: Life::api(self.now, token.as_deref()),
        };
        // Every cluster comes with a default control panel.
        let panel_arn = self.arn("controlpanel", &new_id(32));
        self.catalog.panels.insert(
            panel_arn,
            Panel {
                name: DEFAULT_PANEL_NAME.into(),
                cluster_arn: arn.clone(),
                owner,
                default: true,
                life: Life::api(self.now, None),
            },
        );
        let answer = json!({"Cluster": self.view().cluster(&arn, &cluster, Status::Pending)});
        self.catalog.clusters.insert(arn.clone(), cluster);
        self.set_tags(&arn, tags);
        Ok((answer, arn))
    }

    fn update_cluster(&mut self, body: &Input<'_>) -> Result<(Value, String), ConfigError> {
        let mut checks = Checks::default();
        let arn = body.arn("ClusterArn", true, &mut checks)?;
        let network = body.required_string("NetworkType", &mut checks)?;
        if let Some(n) = network {
            if !matches!(n, "IPV4" | "DUALSTACK") {
                checks.fail(
                    "NetworkType",
                    Some(n),
                    "Member must satisfy enum value set: [IPV4, DUALSTACK]",
                );
            }
        }
        finish(checks)?;
        let arn = arn.expect("checked");
        let status = self.changeable(|c| &c.clusters, "Cluster", &arn)?;
        let c = self.catalog.clusters.get_mut(&arn).expect("found");
        c.network_type = network.expect("checked").to_owned();
        let c = c.clone();
        Ok((
            json!({"Cluster": self.view().cluster(&arn, &c, status)}),
            arn,
        ))
    }

    fn delete_cluster(&mut self, arn: String) -> Result<(Value, String), ConfigError> {
        self.changeable(|c| &c.clusters, "Cluster", &arn)?;
        let panels: Vec<(String, bool)> = self
            .catalog
            .panels
            .iter()
            .filter(|(_, p)| p.cluster_arn == arn && p.life.live())
            .map(|(a, p)| (a.clone(), p.default))
            .collect();
        let others: Vec<&str> = panels
            .iter()
            .filter(|(_, default)| !default)
            .map(|(a, _)| a.as_str())
            .collect();
        if !others.is_empty() {
            return Err(ConfigError::Conflict(format!(
                "Cluster {arn} still has control panels ({}); delete them first",
                others.join(", ")
            )));
        }
        let controls: Vec<&str> = self
            .catalog
            .controls
            .iter()
            .filter(|(_, c)| c.life.live() && panels.iter().any(|(p, _)| *p == c.panel_arn))
            .map(|(a, _)| a.as_str())
            .collect();
        if !controls.is_empty() {
            return Err(ConfigError::Conflict(format!(
                "Cluster {arn} still has routing controls ({}); delete them first",
                controls.join(", ")
            )));
        }
        let now = self.now;
        for (p, _) in &panels {
            if let Some(panel) = self.catalog.panels.get_mut(p) {
                panel.life.deleted_ms = Some(now);
            }
        }
        if let Some(c) = self.catalog.clusters.get_mut(&arn) {
            c.life.deleted_ms = Some(now);
        }
        self.catalog.purge(now, self.delay);
        Ok((json!({}), arn))
    }

    fn create_panel(&mut self, body: &Input<'_>) -> Result<(Value, String), ConfigError> {
        let mut checks = Checks::default();
        let token = body.client_token(&mut checks)?;
        let cluster = body.arn("ClusterArn", true, &mut checks)?;
        let name = body.name("ControlPanelName", true, &mut checks)?;
        let tags = body.tags("Tags", &mut checks)?;
        finish(checks)?;
        let (cluster, name) = (cluster.expect("checked"), name.expect("checked"));
        let (_, status) = self.view().find_cluster(&cluster)?;
        not_deleting(status, "Cluster", &cluster)?;
        let replayed = replay(&self.catalog.panels, token.as_deref(), |p| {
            p.name == name && p.cluster_arn == cluster
        })?;
        if let Some((arn, p)) = replayed {
            let view = self.view();
            let status = view.status(&p.life).unwrap_or(Status::Pending);
            return Ok((
                json!({"ControlPanel": view.panel(arn, p, status)}),
                arn.clone(),
            ));
        }
        let arn = self.arn("controlpanel", &new_id(32));
        let panel = Panel {
            name,
            cluster_arn: cluster,
            owner: self.settings.account.clone(),
            default: false,
            life: Life::api(self.now, token.as_deref()),
        };
        self.catalog.panels.insert(arn.clone(), panel.clone());
        self.set_tags(&arn, tags);
        Ok((
            json!({"ControlPanel": self.view().panel(&arn, &panel, Status::Pending)}),
            arn,
        ))
    }

    fn update_panel(&mut self, body: &Input<'_>) -> Result<(Value, String), ConfigError> {
        let mut checks = Checks::default();
        let arn = body.arn("ControlPanelArn", true, &mut checks)?;
        let name = body.name("ControlPanelName", true, &mut checks)?;
        finish(checks)?;
        let arn = arn.expect("checked");
        let status = self.changeable(|c| &c.panels, "Control panel", &arn)?;
        let p = self.catalog.panels.get_mut(&arn).expect("found");
        p.name = name.expect("checked");
        let p = p.clone();
        Ok((
            json!({"ControlPanel": self.view().panel(&arn, &p, status)}),
            arn,
        ))
    }

    fn delete_panel(&mut self, arn: String) -> Result<(Value, String), ConfigError> {
        self.changeable(|c| &c.panels, "Control panel", &arn)?;
        let p = &self.catalog.panels[&arn];
        if p.default {
            return Err(ConfigError::Validation(format!(
                "Control panel {arn} is the default control panel of cluster {}: it is deleted with the cluster",
                p.cluster_arn
            )));
        }
        let controls: Vec<&str> = self
            .catalog
            .controls
            .iter()
            .filter(|(_, c)| c.life.live() && c.panel_arn == arn)
            .map(|(a, _)| a.as_str())
            .collect();
        if !controls.is_empty() {
            return Err(ConfigError::Conflict(format!(
                "Control panel {arn} still has routing controls ({}); delete them first",
                controls.join(", ")
            )));
        }
        let rules: Vec<&str> = self
            .catalog
            .rules
            .iter()
            .filter(|(_, r)| r.life.live() && r.panel_arn == arn)
            .map(|(a, _)| a.as_str())
            .collect();
        if !rules.is_empty() {
            return Err(ConfigError::Conflict(format!(
                "Control panel {arn} still has safety rules ({}); delete them first",
                rules.join(", ")
            )));
        }
        self.mark_deleted(|c| &mut c.panels, &arn);
        Ok((json!({}), arn))
    }

    fn create_control(&mut self, body: &Input<'_>) -> Result<(Value, String), ConfigError> {
        let mut checks = Checks::default();
        let token = body.client_token(&mut checks)?;
        let cluster = body.arn("ClusterArn", true, &mut checks)?;
        let panel = body.arn("ControlPanelArn", false, &mut checks)?;
        let name = body.name("RoutingControlName", true, &mut checks)?;
        finish(checks)?;
        let (cluster, name) = (cluster.expect("checked"), name.expect("checked"));
        let (_, status) = self.view().find_cluster(&cluster)?;
        not_deleting(status, "Cluster", &cluster)?;
        let panel = match panel {
            Some(panel) => {
                let (p, status) = self.view().find_panel(&panel)?;
                not_deleting(status, "Control panel", &panel)?;
                if p.cluster_arn != cluster {
                    return Err(ConfigError::Validation(format!(
                        "Control panel {panel} belongs to cluster {}, not {cluster}",
                        p.cluster_arn
                    )));
                }
                panel
            }
            None => self
                .catalog
                .default_panel(&cluster)
                .map(str::to_owned)
                .ok_or_else(|| {
                    ConfigError::Validation(format!(
                        "Cluster {cluster} has no default control panel (it comes from arc-local's topology): pass ControlPanelArn"
                    ))
                })?,
        };
        let replayed = replay(&self.catalog.controls, token.as_deref(), |c| {
            c.name == name && c.panel_arn == panel
        })?;
        if let Some((arn, c)) = replayed {
            let view = self.view();
            let status = view.status(&c.life).unwrap_or(Status::Pending);
            return Ok((
                json!({"RoutingControl": view.control(arn, c, status)}),
                arn.clone(),
            ));
        }
        let arn = format!("{panel}/routingcontrol/{}", new_id(16));
        let control = Control {
            name,
            panel_arn: panel,
            owner: self.settings.account.clone(),
            app: None,
            region: None,
            life: Life::api(self.now, token.as_deref()),
        };
        let answer =
            json!({"RoutingControl": self.view().control(&arn, &control, Status::Pending)});
        self.catalog.controls.insert(arn.clone(), control);
        Ok((answer, arn))
    }

    fn update_control(&mut self, body: &Input<'_>) -> Result<(Value, String), ConfigError> {
        let mut checks = Checks::default();
        let arn = body.arn("RoutingControlArn", true, &mut checks)?;
        let name = body.name("RoutingControlName", true, &mut checks)?;
        finish(checks)?;
        let arn = arn.expect("checked");
        let status = self.changeable(|c| &c.controls, "Routing control", &arn)?;
        let c = self.catalog.controls.get_mut(&arn).expect("found");
        c.name = name.expect("checked");
        let c = c.clone();
        Ok((
            json!({"RoutingControl": self.view().control(&arn, &c, status)}),
            arn,
        ))
    }

    fn delete_control(&mut self, arn: String) -> Result<(Value, String), ConfigError> {
        self.changeable(|c| &c.controls, "Routing control", &arn)?;
        let rules: Vec<&str> = self
            .catalog
            .live_rules()
            .filter(|(_, r)| r.controls().any(|c| *c == arn))
            .map(|(a, _)| a)
            .collect();
        if !rules.is_empty() {
            return Err(ConfigError::Conflict(format!(
                "Routing control {arn} is used by safety rules ({}); delete them first",
                rules.join(", ")
            )));
        }
        self.mark_deleted(|c| &mut c.controls, &arn);
        Ok((json!({}), arn))
    }

    /// The controls of a new rule: each a live routing control of `panel`, none twice.
    fn rule_controls(&self, field: &str, panel: &str, arns: &[String]) -> Result<(), ConfigError> {
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
            let Some(c) = self.catalog.control(arn) else {
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

    fn create_rule(&mut self, body: &Input<'_>) -> Result<(Value, String), ConfigError> {
        let mut checks = Checks::default();
        let token = body.client_token(&mut checks)?;
        let tags = body.tags("Tags", &mut checks)?;
        let (assertion, gating) = (body.object("AssertionRule")?, body.object("GatingRule")?);
        let (obj, prefix, is_gating) = match (assertion, gating) {
            (Some(a), None) => (a, "AssertionRule.", false),
            (None, Some(g)) => (g, "GatingRule.", true),
            _ => {
                return Err(ConfigError::Validation(
                    "pass exactly one of AssertionRule and GatingRule".into(),
                ))
            }
        };
        let rule = Input::new(obj, prefix);
        let panel = rule.arn("ControlPanelArn", true, &mut checks)?;
        let name = rule.name("Name", true, &mut checks)?;
        let wait = rule.int("WaitPeriodMs", true, &mut checks)?;
        let (first, second) = if is_gating {
            (
                rule.arn_list("GatingControls", &mut checks)?,
                rule.arn_list("TargetControls", &mut checks)?,
            )
        } else {
            (rule.arn_list("AssertedControls", &mut checks)?, None)
        };
        let config = match rule.object("RuleConfig")? {
            None => {
                checks.fail(
                    &format!("{prefix}RuleConfig"),
                    None,
                    "Member must not be null",
                );
                None
            }
            Some(c) => {
                let c = Input::new(c, &format!("{prefix}RuleConfig."));
                let inverted = c.bool("Inverted", true, &mut checks)?;
                let threshold = c.int("Threshold", true, &mut checks)?;
                let kind = c.required_string("Type", &mut checks)?;
                let kind = match kind {
                    Some("ATLEAST") => Some(RuleType::Atleast),
                    Some("AND") => Some(RuleType::And),
                    Some("OR") => Some(RuleType::Or),
                    Some(other) => {
                        checks.fail(
                            &c.path("Type"),
                            Some(other),
                            "Member must satisfy enum value set: [ATLEAST, AND, OR]",
                        );
                        None
                    }
                    None => None,
                };
                match (inverted, threshold, kind) {
                    (Some(inverted), Some(threshold), Some(kind)) => Some(RuleConfig {
                        kind,
                        threshold: threshold.max(0) as u32,
                        inverted,
                    }),
                    _ => None,
                }
            }
        };
        if let Some(w) = wait {
            if w < 0 {
                checks.fail(
                    &rule.path("WaitPeriodMs"),
                    Some(&w.to_string()),
                    "Member must not be negative",
                );
            }
        }
        finish(checks)?;
        let (panel, name, wait) = (
            panel.expect("checked"),
            name.expect("checked"),
            wait.expect("checked") as u64,
        );
        let config = config.expect("checked");
        let first = first.expect("checked");
        let (p, status) = self.view().find_panel(&panel)?;
        not_deleting(status, "Control panel", &panel)?;
        let owner = p.owner.clone();
        if is_gating {
            self.rule_controls("GatingRule.GatingControls", &panel, &first)?;
            self.rule_controls(
                "GatingRule.TargetControls",
                &panel,
                second.as_deref().expect("checked"),
            )?;
        } else {
            self.rule_controls("AssertionRule.AssertedControls", &panel, &first)?;
        }
        if config.kind == RuleType::Atleast
            && (config.threshold == 0 || config.threshold as usize > first.len())
        {
            return Err(ConfigError::Validation(format!(
                "{prefix}RuleConfig.Threshold = {}: an ATLEAST rule needs a threshold from 1 to the number of its {} controls ({})",
                config.threshold,
                if is_gating { "gating" } else { "asserted" },
                first.len()
            )));
        }
        let replayed = replay(&self.catalog.rules, token.as_deref(), |r| {
            r.rule.name() == name && r.panel_arn == panel
        })?;
        if let Some((arn, r)) = replayed {
            let view = self.view();
            let status = view.status(&r.life).unwrap_or(Status::Pending);
            return Ok((view.rule_answer(arn, r, status), arn.clone()));
        }
        let arn = format!("{panel}/safetyrule/{}", new_id(16));
        let rule = if is_gating {
            SafetyRule::Gating {
                name,
                arn: Some(arn.clone()),
                gating_controls: first,
                target_controls: second.expect("checked"),
                rule_config: config,
                wait_period_ms: wait,
            }
        } else {
            SafetyRule::Assertion {
                name,
                arn: Some(arn.clone()),
                asserted_controls: first,
                rule_config: config,
                wait_period_ms: wait,
            }
        };
        let rule = Rule {
            panel_arn: panel,
            owner,
            rule,
            life: Life::api(self.now, token.as_deref()),
        };
        let answer = self.view().rule_answer(&arn, &rule, Status::Pending);
        self.catalog.rules.insert(arn.clone(), rule);
        self.set_tags(&arn, tags);
        Ok((answer, arn))
    }

    fn update_rule(&mut self, body: &Input<'_>) -> Result<(Value, String), ConfigError> {
        let mut checks = Checks::default();
        let (assertion, gating) = (
            body.object("AssertionRuleUpdate")?,
            body.object("GatingRuleUpdate")?,
        );
        let (obj, prefix, is_gating) = match (assertion, gating) {
            (Some(a), None) => (a, "AssertionRuleUpdate.", false),
            (None, Some(g)) => (g, "GatingRuleUpdate.", true),
            _ => {
                return Err(ConfigError::Validation(
                    "pass exactly one of AssertionRuleUpdate and GatingRuleUpdate".into(),
                ))
            }
        };
        let update = Input::new(obj, prefix);
        let arn = update.arn("SafetyRuleArn", true, &mut checks)?;
        // The model requires Name and WaitPeriodMs; a missing one is left as it is.
        let name = update.name("Name", false, &mut checks)?;
        let wait = update.int("WaitPeriodMs", false, &mut checks)?;
        if let Some(w) = wait {
            if w < 0 {
                checks.fail(
                    &update.path("WaitPeriodMs"),
                    Some(&w.to_string()),
                    "Member must not be negative",
                );
            }
        }
        finish(checks)?;
        let arn = arn.expect("checked");
        let status = self.changeable(|c| &c.rules, "Safety rule", &arn)?;
        let actual_gating = matches!(self.catalog.rules[&arn].rule, SafetyRule::Gating { .. });
        if actual_gating != is_gating {
            return Err(ConfigError::Validation(format!(
                "Safety rule {arn} is {}: update it with {}",
                if actual_gating {
                    "a gating rule"
                } else {
                    "an assertion rule"
                },
                if actual_gating {
                    "GatingRuleUpdate"
                } else {
                    "AssertionRuleUpdate"
                }
            )));
        }
        let r = self.catalog.rules.get_mut(&arn).expect("found");
        match &mut r.rule {
            SafetyRule::Assertion {
                name: n,
                wait_period_ms: w,
                ..
            }
            | SafetyRule::Gating {
                name: n,
                wait_period_ms: w,
                ..
            } => {
                if let Some(name) = name {
                    *n = name;
                }
                if let Some(wait) = wait {
                    *w = wait as u64;
                }
            }
        }
        let r = r.clone();
        Ok((self.view().rule_answer(&arn, &r, status), arn))
    }

    fn delete_rule(&mut self, arn: String) -> Result<(Value, String), ConfigError> {
        self.changeable(|c| &c.rules, "Safety rule", &arn)?;
        self.mark_deleted(|c| &mut c.rules, &arn);
        Ok((json!({}), arn))
    }

    fn tag(&mut self, arn: String, body: &Input<'_>) -> Result<(Value, String), ConfigError> {
        let mut checks = Checks::default();
        let tags = body.tags("Tags", &mut checks)?;
        if tags.is_none() {
            checks.fail("Tags", None, "Member must not be null");
        }
        finish(checks)?;
        self.view().find_any(&arn)?;
        self.set_tags(&arn, tags);
        Ok((json!({}), arn))
    }

    fn untag(
        &mut self,
        arn: String,
        query: &[(String, String)],
    ) -> Result<(Value, String), ConfigError> {
        let keys: Vec<&str> = query
            .iter()
            .filter(|(k, _)| k == "TagKeys")
            .map(|(_, v)| v.as_str())
            .collect();
        if keys.is_empty() {
            return Err(ConfigError::Validation(
                "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null".into(),
            ));
        }
        self.view().find_any(&arn)?;
        if let Some(tags) = self.catalog.tags.get_mut(&arn) {
            for k in keys {
                tags.remove(k);
            }
            if tags.is_empty() {
                self.catalog.tags.remove(&arn);
            }
        }
        Ok((json!({}), arn))
    }
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
                Op::DescribeControlPanel(arn.into())
            );
        }
        assert_eq!(
            route(
                &Method::GET,
                &format!("/controlpanel/{encoded}/routingcontrols")
            )
            .unwrap(),
            Op::ListRoutingControls(arn.into())
        );
        assert_eq!(
            route(
                &Method::GET,
                &format!("/controlpanel/{encoded}/safetyrules")
            )
            .unwrap(),
            Op::ListSafetyRules(arn.into())
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
            Op::DeleteRoutingControl(rc)
        );
        assert_eq!(route(&Method::GET, "/cluster").unwrap(), Op::ListClusters);
        assert_eq!(
            route(&Method::GET, "/controlpanels").unwrap(),
            Op::ListControlPanels
        );
        assert_eq!(
            route(&Method::PUT, "/safetyrule").unwrap(),
            Op::UpdateSafetyRule
        );
        let e = route(&Method::PATCH, "/cluster").unwrap_err();
        assert_eq!(e.code(), "UnknownOperationException");
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        assert!(route(&Method::GET, "/cluster/").is_ok_and(|op| op == Op::ListClusters));
        assert!(route(&Method::GET, "/nothing").is_err());
        assert!(route(&Method::GET, "/cluster/%zz").is_err());
    }

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
        assert_eq!(paging(&q).unwrap().max, 3);
        let bad: Uri = "/cluster?MaxResults=0".parse().unwrap();
        assert!(paging(&query_params(&bad).unwrap()).is_err());
    }
}
