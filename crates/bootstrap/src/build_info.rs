//! Which build a binary is: its version and the commit it was built from, as every binary's
//! `/health` reports them (`{"status":"ok","version":"0.1.0","commit":"0123abc"}`), so a readiness
//! check can tell whether two regions run the same build.
//!
//! The version is the workspace's `CARGO_PKG_VERSION`. The commit is the `BUILD_COMMIT` environment
//! variable at compile time: the caller's (the deploy workflow sets the commit it builds, the
//! Dockerfile its `REVISION` build argument, `scripts/build-static.sh` the checkout's HEAD), else,
//! with `BUILD_COMMIT_FROM_GIT=1` (the Dockerfile's source path), the HEAD this crate's `build.rs`
//! reads from `.git`; a build with neither reports `unknown`. A changed `BUILD_COMMIT` rebuilds
//! this crate and the binaries.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The workspace version every binary shares.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a build reports when `BUILD_COMMIT` was not set.
pub const UNKNOWN_COMMIT: &str = "unknown";

/// The commit the binary was built from (`BUILD_COMMIT` at compile time), or `unknown`.
pub const COMMIT: &str = match option_env!("BUILD_COMMIT") {
    Some(c) if !c.is_empty() => c,
    _ => UNKNOWN_COMMIT,
};

/// `<version> (commit <commit>)`, for `--version`.
pub fn long_version() -> &'static str {
    static LONG: OnceLock<String> = OnceLock::new();
    LONG.get_or_init(|| format!("{VERSION} (commit {COMMIT})"))
}

/// The body of a `/health` answer. Also what a client reads back ([`Health::parse`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub commit: String,
}

impl Health {
    /// This binary's health: status `ok`, [`VERSION`] and [`COMMIT`].
    pub fn this_build() -> Health {
        Health {
            status: "ok".into(),
            version: VERSION.into(),
            commit: COMMIT.into(),
        }
    }

    /// Reads a `/health` body. Bodies of older builds (`{"status":"ok"}` alone) parse with an
    /// empty version and commit, so a caller can tell "old build" from "not a health answer".
    pub fn parse(body: &[u8]) -> Result<Health, String> {
        #[derive(Deserialize)]
        struct Loose {
            status: String,
            #[serde(default)]
            version: String,
            #[serde(default)]
            commit: String,
        }
        let l: Loose = serde_json::from_slice(body).map_err(|e| {
            format!(
                "not a health body ({e}): {:?}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            )
        })?;
        Ok(Health {
            status: l.status,
            version: l.version,
            commit: l.commit,
        })
    }
}

/// This binary's `/health` body, compact JSON, made once.
pub fn health_body() -> &'static str {
    static BODY: OnceLock<String> = OnceLock::new();
    BODY.get_or_init(|| {
        serde_json::to_string(&Health::this_build()).expect("strings always serialise")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_health_body_names_version_and_commit() {
        let body = health_body();
        assert_eq!(
            body,
            format!(r#"{{"status":"ok","version":"{VERSION}","commit":"{COMMIT}"}}"#)
        );
        assert_eq!(
            Health::parse(body.as_bytes()).unwrap(),
            Health::this_build()
        );
        assert!(!COMMIT.is_empty());
        assert_eq!(long_version(), format!("{VERSION} (commit {COMMIT})"));
    }

    #[test]
    fn old_bodies_parse_without_a_build_and_junk_is_refused() {
        let old = Health::parse(br#"{"status": "ok"}"#).unwrap();
        assert_eq!((old.version.as_str(), old.commit.as_str()), ("", ""));
        let e = Health::parse(b"ok\n").unwrap_err();
        assert!(
            e.contains("not a health body") && e.contains("ok\\n"),
            "{e}"
        );
    }
}
