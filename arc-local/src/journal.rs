//! The journal of data-plane calls an in-process emulator keeps, so that tests can check what a
//! client sent (operations, bodies, endpoints) and what it was answered.

use std::sync::Mutex;

use serde_json::Value;

use crate::faults::Operation;

/// One data-plane request (`POST`) and its outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The endpoint's index, in port order.
    pub endpoint: usize,
    /// The endpoint's region.
    pub region: String,
    /// The operation; `None` when the target is not one of the four.
    pub operation: Option<Operation>,
    /// The request body as JSON (`{}` when empty, `null` when not JSON).
    pub input: Value,
    /// The answer's HTTP status; `None` when the connection was closed without an answer.
    pub status: Option<u16>,
    /// The answer's error code (`x-amzn-errortype`), if it was an error.
    pub error: Option<&'static str>,
}

/// Every call, in the order they were answered.
#[derive(Debug, Default)]
pub struct Journal {
    calls: Mutex<Vec<Call>>,
}

impl Journal {
    fn calls_mut(&self) -> std::sync::MutexGuard<'_, Vec<Call>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn record(&self, call: Call) {
        self.calls_mut().push(call);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls_mut().clone()
    }

    pub fn clear(&self) {
        self.calls_mut().clear();
    }
}

/// The body of a request as the journal and the faults see it: `{}` when empty, `null` when not
/// JSON.
pub fn lenient_json(body: &[u8]) -> Value {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Value::Object(Default::default());
    }
    serde_json::from_slice(body).unwrap_or(Value::Null)
}
