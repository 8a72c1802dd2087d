//! API keys: the key set, stored as SHA-256 digests (never the keys themselves), how a presented
//! key is found, and the set's one owner ([`KeyStore`]) that swaps in a reloaded set whole or
//! keeps the old one.
//!
//! The key file (or the `API_KEYS` variable holding its content):
//!
//! ```text
//! [[key]]
//! id = "orders-prod"                 # sent to the upstream in x-gateway-key-id
//! name = "Orders team, production"
//! digest = "sha256:<64 hex digits>"  # `gateway keys create` prints this entry
//! plan = "standard"                  # a [plan.NAME] of the gateway's configuration
//! enabled = true                     # false: the key is refused (403) but kept on file
//! ```
//!
//! A presented key is hashed and looked up by digest. The digest comparison leaks nothing useful
//! about the key: learning a digest's prefix does not help find a key that hashes to it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arc_swap::ArcSwap;
use http::HeaderValue;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The prefix of a digest as the key file writes it.
pub const DIGEST_PREFIX: &str = "sha256:";

/// A key set that could not be read or is not valid; `origin` names the file or variable.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("{origin}: key[{index}].{field} = {value:?}: {reason}")]
    Invalid {
        origin: String,
        index: usize,
        field: &'static str,
        value: String,
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    #[serde(default)]
    key: Vec<KeyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    id: String,
    #[serde(default)]
    name: String,
    digest: String,
    #[serde(default)]
    plan: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

/// One key's record: never the key, only what the gateway tells the upstream about it.
#[derive(Debug)]
pub struct Key {
    pub id: Arc<str>,
    pub name: String,
    pub enabled: bool,
    pub plan: Option<Arc<str>>,
    /// `id` and `plan` as request fields, made once.
    pub id_field: HeaderValue,
    pub plan_field: Option<HeaderValue>,
}

/// A complete, checked key set.
#[derive(Debug, Default)]
pub struct KeySet {
    by_digest: HashMap<[u8; 32], Arc<Key>>,
}

/// The SHA-256 digest of a key.
pub fn digest(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

/// A digest as the key file writes it: `sha256:` and 64 lowercase hex digits.
pub fn digest_text(key: &[u8]) -> String {
    format!("{DIGEST_PREFIX}{}", hex::encode(digest(key)))
}

impl KeySet {
    /// Parses a key file's text; `plan_exists` says whether a plan name is configured.
    pub fn parse(
        text: &str,
        origin: &str,
        plan_exists: &dyn Fn(&str) -> bool,
    ) -> Result<KeySet, KeyError> {
        let file: KeyFile = toml::from_str(text).map_err(|e| KeyError::Parse {
            origin: origin.to_owned(),
            message: e.to_string(),
        })?;
        let mut by_digest = HashMap::with_capacity(file.key.len());
        let mut ids = HashSet::new();
        for (index, k) in file.key.into_iter().enumerate() {
            let bad = |field, value: &str, reason: &str| KeyError::Invalid {
                origin: origin.to_owned(),
                index,
                field,
                value: value.to_owned(),
                reason: reason.to_owned(),
            };
            if k.id.is_empty()
                || k.id.len() > 128
                || !k
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            {
                return Err(bad(
                    "id",
                    &k.id,
                    "must be 1-128 letters, digits, '-', '_' or '.'",
                ));
            }
            if !ids.insert(k.id.clone()) {
                return Err(bad("id", &k.id, "another key has the same id"));
            }
            let digest = parse_digest(&k.digest).ok_or_else(|| {
                bad(
                    "digest",
                    &k.digest,
                    "must be \"sha256:\" and 64 hex digits (gateway keys create prints one)",
                )
            })?;
            let plan_field = match &k.plan {
                Some(plan) if !plan_exists(plan) => {
                    return Err(bad(
                        "plan",
                        plan,
                        "no [plan.NAME] of this name is configured",
                    ))
                }
                Some(plan) => Some(
                    HeaderValue::from_str(plan)
                        .map_err(|_| bad("plan", plan, "must be printable ASCII"))?,
                ),
                None => None,
            };
            let key = Key {
                id_field: HeaderValue::from_str(&k.id).expect("checked characters"),
                id: Arc::from(k.id.as_str()),
                name: k.name,
                enabled: k.enabled,
                plan: k.plan.as_deref().map(Arc::from),
                plan_field,
            };
            if by_digest.insert(digest, Arc::new(key)).is_some() {
                return Err(bad("digest", &k.digest, "another key has the same digest"));
            }
        }
        Ok(KeySet { by_digest })
    }

    /// The record of a presented key, if the set has it (enabled or not).
    pub fn find(&self, presented: &[u8]) -> Option<&Arc<Key>> {
        self.by_digest.get(&digest(presented))
    }

    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }
}

/// A new random key: 64 hex digits from two version-4 UUIDs (244 random bits).
pub fn generate() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The `[[key]]` entry for `key`, checked as the gateway would read it (any plan allowed: the
/// gateway checks plans when it loads the file).
pub fn entry(
    key: &str,
    id: &str,
    name: &str,
    plan: Option<&str>,
    enabled: bool,
) -> Result<String, KeyError> {
    let mut out = format!(
        "[[key]]\nid = {id:?}\nname = {name:?}\ndigest = {:?}\n",
        digest_text(key.as_bytes())
    );
    if let Some(plan) = plan {
        out.push_str(&format!("plan = {plan:?}\n"));
    }
    out.push_str(&format!("enabled = {enabled}\n"));
    KeySet::parse(&out, "the new entry", &|_| true)?;
    Ok(out)
}

fn parse_digest(text: &str) -> Option<[u8; 32]> {
    let hex_part = text.strip_prefix(DIGEST_PREFIX)?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut out).ok()?;
    Some(out)
}

/// The one owner of the live key set: requests load it (one atomic load), a reload replaces it
/// whole. A reload that fails keeps the set in force.
pub struct KeyStore {
    current: ArcSwap<KeySet>,
    plans: HashSet<String>,
}

impl KeyStore {
    /// A store holding `set`, checking later sets against `plans`.
    pub fn new(set: KeySet, plans: HashSet<String>) -> KeyStore {
        KeyStore {
            current: ArcSwap::from_pointee(set),
            plans,
        }
    }

    /// Parses a key file's text against the configured plans.
    pub fn parse(&self, text: &str, origin: &str) -> Result<KeySet, KeyError> {
        KeySet::parse(text, origin, &|p| self.plans.contains(p))
    }

    /// The set in force.
    pub fn load(&self) -> arc_swap::Guard<Arc<KeySet>> {
        self.current.load()
    }

    /// Puts a new set in force; requests already holding the old one finish with it.
    pub fn replace(&self, set: KeySet) {
        self.current.store(Arc::new(set));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, key: &str, extra: &str) -> String {
        format!(
            "[[key]]\nid = {id:?}\ndigest = {:?}\n{extra}\n",
            digest_text(key.as_bytes())
        )
    }

    #[test]
    fn keys_are_found_by_digest_only() {
        let text =
            entry("a", "secret-a", "plan = \"basic\"") + &entry("b", "secret-b", "enabled = false");
        let set = KeySet::parse(&text, "test", &|p| p == "basic").unwrap();
        assert_eq!(set.len(), 2);
        let a = set.find(b"secret-a").unwrap();
        assert_eq!(
            (&*a.id, a.enabled, a.plan.as_deref()),
            ("a", true, Some("basic"))
        );
        assert!(!set.find(b"secret-b").unwrap().enabled);
        assert!(set.find(b"secret-c").is_none());
        assert!(!text.contains("secret-a"));
    }

    #[test]
    fn every_bad_entry_is_named() {
        let plans = |p: &str| p == "basic";
        let cases = [
            (entry("", "k", ""), "key[0].id"),
            (entry("a b", "k", ""), "key[0].id"),
            (
                entry("a", "k", "") + &entry("a", "l", ""),
                "key[1].id = \"a\": another key",
            ),
            (entry("a", "k", "") + &entry("b", "k", ""), "key[1].digest"),
            (entry("a", "k", "plan = \"gold\""), "key[0].plan = \"gold\""),
            (
                "[[key]]\nid = \"a\"\ndigest = \"md5:00\"\n".into(),
                "key[0].digest",
            ),
            (
                "[[key]]\nid = \"a\"\ndigest = \"sha256:zz\"\n".into(),
                "key[0].digest",
            ),
            ("[[key]]\nid = \"a\"\n".into(), "missing field `digest`"),
            (
                "[[key]]\nid = \"a\"\nkey = \"plain\"\n".into(),
                "unknown field `key`",
            ),
            ("not toml".into(), "test:"),
        ];
        for (text, expected) in cases {
            let err = KeySet::parse(&text, "test", &plans)
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
        assert!(KeySet::parse("", "test", &plans).unwrap().is_empty());
    }

    #[test]
    fn digests_are_sha256_hex() {
        // The SHA-256 test vector of "abc" (FIPS 180-2).
        assert_eq!(
            digest_text(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
