//! The fault hook: makes the data plane misbehave on demand, so that clients' handling of a
//! failing cluster can be tested against the real emulator.
//!
//! A [`Fault`] says what goes wrong (an error answer, a late answer, a connection closed without
//! an answer, short `ListRoutingControls` pages), for which calls (one operation or all, one
//! endpoint or all, only requests that do not override a given safety rule) and how many times
//! (the next N matching calls, or every one until removed). Faults are checked in the order they
//! were added, after the request's target, content type and signature are found acceptable and
//! before its body is read: the first matching error, delay or drop applies, and short pages
//! combine with it. [`Faults`] is the live table, shared
//! by the five endpoints and changed at any time through [`crate::Emulator::faults`].
//!
//! An unreachable endpoint (its port refusing connections) is not a fault of a call: see
//! [`crate::Emulator::set_reachable`]. The `--faults` option of the binary (`ARC_LOCAL_FAULTS`)
//! is a fault per endpoint that never runs out ([`EndpointFault`]).

use std::sync::Mutex;
use std::time::Duration;

use recovery::local::ENDPOINT_REGIONS;
use serde_json::Value;

use crate::data_plane::protocol::ApiError;
pub use crate::data_plane::protocol::Operation;

/// An error code of the data plane's model that a fault can answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// ValidationException (400).
    Validation,
    /// ResourceNotFoundException (404).
    ResourceNotFound,
    /// ConflictException (409): a safety rule blocked the change.
    Conflict,
    /// AccessDeniedException (403).
    AccessDenied,
    /// ThrottlingException (429).
    Throttling,
    /// InternalServerException (500).
    InternalServer,
    /// EndpointTemporarilyUnavailableException (503): try another cluster endpoint.
    EndpointTemporarilyUnavailable,
}

impl ErrorCode {
    /// The error as the endpoint in `region` answers it.
    fn error(self, message: Option<&str>, resource_id: Option<&str>, region: &str) -> ApiError {
        let what = match self {
            ErrorCode::EndpointTemporarilyUnavailable => {
                "it is temporarily unavailable, try another cluster endpoint"
            }
            ErrorCode::Throttling => "rate exceeded",
            ErrorCode::InternalServer => "internal error",
            ErrorCode::AccessDenied => "access denied",
            ErrorCode::Validation => "invalid request",
            ErrorCode::ResourceNotFound => "resource not found",
            ErrorCode::Conflict => "conflict",
        };
        let message = message.map_or_else(
            || format!("cluster endpoint {region} is configured to fail: {what}"),
            str::to_owned,
        );
        let resource_id = resource_id.unwrap_or_default().to_owned();
        match self {
            ErrorCode::Validation => ApiError::Validation {
                message,
                reason: "other",
                fields: Vec::new(),
            },
            ErrorCode::ResourceNotFound => ApiError::NotFound {
                message,
                resource_id,
                resource_type: "RoutingControl",
            },
            ErrorCode::Conflict => ApiError::Conflict {
                message,
                resource_id,
                resource_type: "SafetyRule",
            },
            ErrorCode::AccessDenied => ApiError::AccessDenied(message),
            ErrorCode::Throttling => ApiError::Throttling(message),
            ErrorCode::InternalServer => ApiError::Internal(message),
            ErrorCode::EndpointTemporarilyUnavailable => ApiError::EndpointUnavailable(message),
        }
    }
}

/// What a fault does to a call it matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Answer with this error (`message` and `resource_id` default to a note naming the endpoint
    /// and to empty).
    Error {
        code: ErrorCode,
        message: Option<String>,
        resource_id: Option<String>,
    },
    /// Answer as usual, this much later.
    Delay(Duration),
    /// Close the connection without answering.
    Drop,
    /// Answer ListRoutingControls with at most this many controls per page (at least 1), as a
    /// cluster may, so that clients must follow `NextToken`.
    ShortPages(usize),
}

/// One fault: what goes wrong, for which calls, how many times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    misbehaviour: Misbehaviour,
    operation: Option<Operation>,
    endpoint: Option<usize>,
    times: Option<u32>,
    unless_overriding: Option<String>,
}

impl Fault {
    fn new(misbehaviour: Misbehaviour) -> Fault {
        Fault {
            misbehaviour,
            operation: None,
            endpoint: None,
            times: None,
            unless_overriding: None,
        }
    }

    /// Answer with the error `code`.
    pub fn error(code: ErrorCode) -> Fault {
        Fault::new(Misbehaviour::Error {
            code,
            message: None,
            resource_id: None,
        })
    }

    /// A ConflictException naming `rule_arn`, as when a safety rule blocks a change.
    pub fn conflict(rule_arn: &str, message: &str) -> Fault {
        Fault::new(Misbehaviour::Error {
            code: ErrorCode::Conflict,
            message: Some(message.to_owned()),
            resource_id: Some(rule_arn.to_owned()),
        })
    }

    /// Answer as usual after `delay` (longer than a client's timeout: a timed-out call).
    pub fn delay(delay: Duration) -> Fault {
        Fault::new(Misbehaviour::Delay(delay))
    }

    /// Close the connection without answering.
    pub fn drop_connection() -> Fault {
        Fault::new(Misbehaviour::Drop)
    }

    /// ListRoutingControls pages of at most `size` controls.
    pub fn short_pages(size: usize) -> Fault {
        Fault::new(Misbehaviour::ShortPages(size)).on(Operation::ListRoutingControls)
    }

    /// The error's message (for [`Fault::error`]).
    pub fn message(mut self, text: &str) -> Fault {
        if let Misbehaviour::Error { message, .. } = &mut self.misbehaviour {
            *message = Some(text.to_owned());
        }
        self
    }

    /// Only calls of `operation`.
    pub fn on(mut self, operation: Operation) -> Fault {
        self.operation = Some(operation);
        self
    }

    /// Only calls to endpoint `index` (port order: us-east-1, us-west-2, eu-west-1,
    /// ap-northeast-1, ap-southeast-2; see [`endpoint_index`]).
    pub fn at_endpoint(mut self, index: usize) -> Fault {
        self.endpoint = Some(index);
        self
    }

    /// Only the next `n` matching calls (default: every matching call until removed).
    pub fn times(mut self, n: u32) -> Fault {
        self.times = Some(n);
        self
    }

    /// Only calls whose `SafetyRulesToOverride` does not name `rule` (an update a safety rule
    /// would block unless overridden).
    pub fn unless_overriding(mut self, rule: &str) -> Fault {
        self.unless_overriding = Some(rule.to_owned());
        self
    }

    fn matches(&self, endpoint: usize, operation: Operation, input: &Value) -> bool {
        let overridden = |rule: &String| {
            input["SafetyRulesToOverride"]
                .as_array()
                .is_some_and(|list| list.iter().any(|v| v.as_str() == Some(rule.as_str())))
        };
        self.times != Some(0)
            && self.operation.is_none_or(|op| op == operation)
            && self.endpoint.is_none_or(|e| e == endpoint)
            && !self.unless_overriding.as_ref().is_some_and(overridden)
    }
}

/// The index of the endpoint in `region` (port order), if it is one of the five.
pub fn endpoint_index(region: &str) -> Option<usize> {
    ENDPOINT_REGIONS.iter().position(|r| *r == region)
}

/// Identifies a fault added to [`Faults`], to remove it or see how often it is still due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FaultId(u64);

/// The faults in force: shared by the endpoints, changed at any time.
#[derive(Debug, Default)]
pub struct Faults {
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    next: u64,
    entries: Vec<(FaultId, Fault)>,
}

impl Faults {
    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a fault after those already in force.
    pub fn add(&self, fault: Fault) -> FaultId {
        let mut table = self.table();
        let id = FaultId(table.next);
        table.next += 1;
        table.entries.push((id, fault));
        id
    }

    /// Removes a fault (nothing when it has run out or was removed).
    pub fn remove(&self, id: FaultId) {
        self.table().entries.retain(|(i, _)| *i != id);
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.table().entries.clear();
    }

    /// How many more calls a fault added with [`Fault::times`] will hit (`None` when it never runs
    /// out); `Some(0)` once it has run out or was removed.
    pub fn remaining(&self, id: FaultId) -> Option<u32> {
        match self.table().entries.iter().find(|(i, _)| *i == id) {
            Some((_, f)) => f.times,
            None => Some(0),
        }
    }

    /// What happens to this call: the first matching fault that fails, delays or drops it, and
    /// the first matching [`Misbehaviour::ShortPages`], each counted (and dropped when it has run
    /// out).
    pub(crate) fn take(&self, endpoint: usize, operation: Operation, input: &Value) -> Verdict {
        let mut table = self.table();
        let mut verdict = Verdict::default();
        let mut spent = Vec::new();
        for (i, (_, fault)) in table.entries.iter_mut().enumerate() {
            if !fault.matches(endpoint, operation, input) {
                continue;
            }
            match &fault.misbehaviour {
                Misbehaviour::ShortPages(n) if verdict.page_limit.is_none() => {
                    verdict.page_limit = Some(*n)
                }
                Misbehaviour::ShortPages(_) => continue,
                m if verdict.misbehaviour.is_none() => verdict.misbehaviour = Some(m.clone()),
                _ => continue,
            }
            if let Some(n) = &mut fault.times {
                *n -= 1;
                if *n == 0 {
                    spent.push(i);
                }
            }
        }
        for i in spent.into_iter().rev() {
            table.entries.remove(i);
        }
        verdict
    }
}

/// What the fault hook does to one call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// An error, a delay or a dropped connection.
    pub misbehaviour: Option<Misbehaviour>,
    /// The page size cap of a ListRoutingControls call.
    pub page_limit: Option<usize>,
}

/// The error a [`Misbehaviour::Error`] answers with, at the endpoint in `region`.
pub(crate) fn error_of(misbehaviour: &Misbehaviour, region: &str) -> Option<ApiError> {
    match misbehaviour {
        Misbehaviour::Error {
            code,
            message,
            resource_id,
        } => Some(code.error(message.as_deref(), resource_id.as_deref(), region)),
        _ => None,
    }
}

/// A fault of the binary's `--faults` option: the endpoint fails every call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointFault {
    /// EndpointTemporarilyUnavailableException (503): the endpoint is in maintenance.
    Unavailable,
    /// ThrottlingException (429).
    Throttling,
    /// InternalServerException (500).
    Internal,
    /// AccessDeniedException (403).
    Denied,
}

/// A word that is not an [`EndpointFault`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a fault (unavailable, throttling, internal, denied)")]
pub struct UnknownFault(pub String);

impl std::str::FromStr for EndpointFault {
    type Err = UnknownFault;
    fn from_str(s: &str) -> Result<EndpointFault, UnknownFault> {
        match s {
            "unavailable" => Ok(EndpointFault::Unavailable),
            "throttling" => Ok(EndpointFault::Throttling),
            "internal" => Ok(EndpointFault::Internal),
            "denied" => Ok(EndpointFault::Denied),
            other => Err(UnknownFault(other.to_owned())),
        }
    }
}

impl EndpointFault {
    /// The fault that fails every call to endpoint `index` this way.
    pub fn at(self, index: usize) -> Fault {
        let code = match self {
            EndpointFault::Unavailable => ErrorCode::EndpointTemporarilyUnavailable,
            EndpointFault::Throttling => ErrorCode::Throttling,
            EndpointFault::Internal => ErrorCode::InternalServer,
            EndpointFault::Denied => ErrorCode::AccessDenied,
        };
        Fault::error(code).at_endpoint(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn faults_match_in_order_and_run_out() {
        let faults = Faults::default();
        let throttle = faults.add(
            Fault::error(ErrorCode::Throttling)
                .on(Operation::ListRoutingControls)
                .at_endpoint(1)
                .times(2),
        );
        let slow = faults.add(Fault::delay(Duration::from_millis(5)));
        let list = Operation::ListRoutingControls;
        let take = |endpoint| faults.take(endpoint, list, &json!({})).misbehaviour;
        let slowly = Some(Misbehaviour::Delay(Duration::from_millis(5)));
        assert_eq!(take(0), slowly);
        assert!(matches!(
            take(1),
            Some(Misbehaviour::Error {
                code: ErrorCode::Throttling,
                ..
            })
        ));
        assert_eq!(faults.remaining(throttle), Some(1));
        assert!(matches!(take(1), Some(Misbehaviour::Error { .. })));
        assert_eq!(faults.remaining(throttle), Some(0));
        assert_eq!(take(1), slowly);
        assert_eq!(faults.remaining(slow), None);
        faults.remove(slow);
        assert_eq!(take(1), None);
    }

    #[test]
    fn unless_overriding_spares_requests_that_override_the_rule() {
        let faults = Faults::default();
        faults.add(Fault::conflict("arn:rule", "blocked").unless_overriding("arn:rule"));
        let update = Operation::UpdateRoutingControlStates;
        let e = faults.take(0, update, &json!({})).misbehaviour.unwrap();
        let e = error_of(&e, "us-east-1").unwrap();
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            ("ConflictException", "blocked")
        );
        let overriding = json!({"SafetyRulesToOverride": ["arn:rule"]});
        assert_eq!(faults.take(0, update, &overriding), Verdict::default());
        faults.clear();
        assert_eq!(faults.take(0, update, &json!({})), Verdict::default());
    }

    #[test]
    fn short_pages_combine_with_the_first_failure() {
        let faults = Faults::default();
        faults.add(Fault::short_pages(1));
        let denied = faults.add(Fault::error(ErrorCode::AccessDenied).times(1));
        let list = Operation::ListRoutingControls;
        let v = faults.take(0, list, &json!({}));
        assert_eq!(v.page_limit, Some(1));
        assert!(matches!(
            v.misbehaviour,
            Some(Misbehaviour::Error {
                code: ErrorCode::AccessDenied,
                ..
            })
        ));
        assert_eq!(faults.remaining(denied), Some(0));
        let v = faults.take(0, list, &json!({}));
        assert_eq!((v.page_limit, v.misbehaviour), (Some(1), None));
        // Short pages concern ListRoutingControls only.
        let v = faults.take(0, Operation::GetRoutingControlState, &json!({}));
        assert_eq!(v, Verdict::default());
    }

    #[test]
    fn endpoint_faults_keep_their_messages() {
        let fault = "throttling".parse::<EndpointFault>().unwrap().at(1);
        let e = error_of(&fault.misbehaviour, "us-west-2").unwrap();
        assert_eq!(e.code(), "ThrottlingException");
        assert_eq!(
            e.to_string(),
            "cluster endpoint us-west-2 is configured to fail: rate exceeded"
        );
        assert_eq!(
            "sleepy".parse::<EndpointFault>().unwrap_err().to_string(),
            "\"sleepy\" is not a fault (unavailable, throttling, internal, denied)"
        );
        assert_eq!(endpoint_index("eu-west-1"), Some(2));
    }
}
