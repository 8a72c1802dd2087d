//! A JSON check `serde_json::Value` cannot make: that no object repeats a key. A log line such as
//! `{"target":"10.0.0.2","target":"gateway::upstream::follow"}` is valid JSON, but `Value` (and
//! `jq`) keep only one of the two; this walks the text with serde's visitor and refuses it.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

/// Any JSON value, refused when an object (at any depth) repeats a key.
struct UniqueKeys;

impl<'de> de::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeys)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("the key {key:?} appears twice")));
            }
            map.next_value::<UniqueKeys>()?;
        }
        Ok(UniqueKeys)
    }
}

/// Checks that `text` is one JSON value whose objects have unique keys; the error says which
/// key repeats, or why it is not JSON.
pub fn unique_keys(text: &str) -> Result<(), String> {
    serde_json::from_str::<UniqueKeys>(text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::unique_keys;

    #[test]
    fn repeated_keys_are_found_at_any_depth() {
        assert!(unique_keys(r#"{"a":1,"b":[{"c":null,"d":"x"}],"e":{"f":true}}"#).is_ok());
        let twice = unique_keys(r#"{"target":"10.0.0.2","target":"gateway::upstream::follow"}"#);
        assert!(twice.unwrap_err().contains("\"target\" appears twice"));
        assert!(unique_keys(r#"{"a":[{"k":1,"k":2}]}"#).is_err());
        assert!(
            unique_keys(r#"{"a":{"k":1},"b":{"k":2}}"#).is_ok(),
            "per object"
        );
        assert!(unique_keys("not json").is_err());
        assert!(unique_keys(r#"{"a":1} trailing"#).is_err());
    }
}
