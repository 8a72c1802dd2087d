//! Reading a config API request body: typed access to its members (strings, names, ARNs,
//! integers, booleans, objects, ARN lists, tag maps) by their path in the request, collecting
//! constraint violations to report them together as one ValidationException; a member of the
//! wrong type is a SerializationException at once.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::protocol::ConfigError;
use crate::wire::{self, Checks};

/// The body as a JSON object; an empty body is `{}`.
pub fn body_object(body: &[u8]) -> Result<Map<String, Value>, ConfigError> {
    wire::parse_object(body).map_err(|e| ConfigError::Serialization(e.to_string()))
}

/// One ValidationException for everything that failed.
pub fn finish(checks: Checks) -> Result<(), ConfigError> {
    match checks.outcome() {
        None => Ok(()),
        Some((message, _)) => Err(ConfigError::Validation(message)),
    }
}

fn wrong_type(field: &str, expected: &str, got: &Value) -> ConfigError {
    ConfigError::Serialization(wire::wrong_type(field, expected, got))
}

/// Typed access to a request object's members, collecting constraint violations.
pub struct Input<'a> {
    obj: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> Input<'a> {
    pub fn new(obj: &'a Map<String, Value>, prefix: &str) -> Input<'a> {
        Input {
            obj,
            prefix: prefix.to_owned(),
        }
    }

    pub fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    /// A member that is there (not null), noting a violation when a required one is not.
    fn present(&self, name: &str, required: bool, checks: &mut Checks) -> Option<&'a Value> {
        let v = self.get(name);
        if v.is_none() && required {
            checks.fail(&self.path(name), None, "Member must not be null");
        }
        v
    }

    /// A member that is there, read by `read`; a SerializationException naming `expected` when
    /// `read` finds it of another type.
    fn member<T>(
        &self,
        name: &str,
        required: bool,
        checks: &mut Checks,
        expected: &str,
        read: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<Option<T>, ConfigError> {
        match self.present(name, required, checks) {
            None => Ok(None),
            Some(v) => read(v)
                .map(Some)
                .ok_or_else(|| wrong_type(&self.path(name), expected, v)),
        }
    }

    /// A string member that is there.
    fn text(
        &self,
        name: &str,
        required: bool,
        checks: &mut Checks,
    ) -> Result<Option<&'a str>, ConfigError> {
        self.member(name, required, checks, "a string", Value::as_str)
    }

    /// A name (`__stringMin1Max64PatternS`): 1 to 64 characters, no white space.
    pub fn name(
        &self,
        name: &str,
        required: bool,
        checks: &mut Checks,
    ) -> Result<Option<String>, ConfigError> {
        let v = self.text(name, required, checks)?;
        if let Some(v) = v {
            self.no_space_1_to_64(name, v, v.chars().count(), checks);
        }
        Ok(v.map(str::to_owned))
    }

    fn no_space_1_to_64(&self, name: &str, v: &str, len: usize, checks: &mut Checks) {
        if !(1..=64).contains(&len) || v.chars().any(char::is_whitespace) {
            checks.fail(
                &self.path(name),
                Some(v),
                "Member must have length between 1 and 64 and match pattern ^\\S+$",
            );
        }
    }

    /// An ARN (`__stringMin1Max256PatternAZaZ09`).
    pub fn arn(
        &self,
        name: &str,
        required: bool,
        checks: &mut Checks,
    ) -> Result<Option<String>, ConfigError> {
        let v = self.text(name, required, checks)?;
        if let Some(v) = v {
            check_arn(&self.path(name), v, checks);
        }
        Ok(v.map(str::to_owned))
    }

    /// `ClientToken`: 1 to 64 bytes, no white space.
    pub fn client_token(&self, checks: &mut Checks) -> Result<Option<String>, ConfigError> {
        let v = self.text("ClientToken", false, checks)?;
        if let Some(v) = v {
            self.no_space_1_to_64("ClientToken", v, v.len(), checks);
        }
        Ok(v.map(str::to_owned))
    }

    /// A 32-bit integer.
    pub fn int(
        &self,
        name: &str,
        required: bool,
        checks: &mut Checks,
    ) -> Result<Option<i64>, ConfigError> {
        let number = self.member(name, required, checks, "an integer", Value::as_number)?;
        match number.map(|n| n.as_i64().filter(|i| i32::try_from(*i).is_ok())) {
            None => Ok(None),
            Some(Some(i)) => Ok(Some(i)),
            Some(None) => Err(ConfigError::Serialization(format!(
                "{} must be a 32-bit integer",
                self.path(name)
            ))),
        }
    }

    pub fn bool(
        &self,
        name: &str,
        required: bool,
        checks: &mut Checks,
    ) -> Result<Option<bool>, ConfigError> {
        self.member(name, required, checks, "a boolean", Value::as_bool)
    }

    /// One of a fixed set of strings.
    pub fn choice(
        &self,
        name: &str,
        required: bool,
        allowed: &[&'static str],
        checks: &mut Checks,
    ) -> Result<Option<&'static str>, ConfigError> {
        let v = self.text(name, required, checks)?;
        let Some(v) = v else { return Ok(None) };
        let found = allowed.iter().find(|a| **a == v).copied();
        if found.is_none() {
            checks.fail(
                &self.path(name),
                Some(v),
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
        }
        Ok(found)
    }

    pub fn object(&self, name: &str) -> Result<Option<&'a Map<String, Value>>, ConfigError> {
        let mut unchecked = Checks::default();
        self.member(name, false, &mut unchecked, "an object", Value::as_object)
    }

    /// A list of ARNs (`__listOf__stringMin1Max256PatternAZaZ09`).
    pub fn arn_list(
        &self,
        name: &str,
        checks: &mut Checks,
    ) -> Result<Option<Vec<String>>, ConfigError> {
        let Some(list) = self.member(name, true, checks, "a list", Value::as_array)? else {
            return Ok(None);
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
    pub fn tags(
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

pub fn check_arn(field: &str, value: &str, checks: &mut Checks) {
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
