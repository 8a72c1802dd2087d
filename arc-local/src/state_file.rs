//! The state file: the routing-control states and what the config API created, restored on start
//! and written atomically (a temporary file in the same directory, fsync, rename, fsync of the
//! directory) before any change is acknowledged.
//!
//! The file (`{"version": 1, "controls": {"<arn>": {"state": "On", "app": ..., "region": ...,
//! "name": ...}}, "config": {...}}`) is restored on start; `config` holds the clusters, control
//! panels, routing controls, safety rules and tags created through the config API (absent when
//! there are none). With no file, each app's primary-region control starts On and the others Off;
//! a control created through the API starts Off, as in AWS. Entries for ARNs that are not in the
//! catalog are ignored with a warning (and dropped at the next write); a file that cannot be
//! parsed is an error, never a silent reset.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use recovery::ControlState;
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Persisted};
use crate::topology::Topology;

/// Routing-control ARN -> state.
pub type States = BTreeMap<String, ControlState>;

const FILE_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read state file {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("state file {path} is not a valid arc-local state file ({message}); fix or remove it (removing it resets every app to its primary region)")]
    Corrupt { path: String, message: String },
    #[error("cannot write state file {path}: {error}")]
    Write { path: String, error: std::io::Error },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    version: u32,
    controls: BTreeMap<String, FileEntry>,
    #[serde(default, skip_serializing_if = "Persisted::is_empty")]
    config: Persisted,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    state: ControlState,
    /// The rest is for people reading the file; only `state` is restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

/// What [`StateFile::restore`] found.
#[derive(Debug)]
pub struct Restored {
    /// The topology's resources and those the file holds.
    pub catalog: Catalog,
    pub states: States,
    /// Whether the states came from the file (false: initial states, file absent).
    pub from_file: bool,
    /// ARNs in the file that the catalog does not have.
    pub ignored: Vec<String>,
    /// Controls of the catalog the file does not mention (given their initial state).
    pub missing: Vec<String>,
    /// Resources of the file's `config` left out: their ARN is the topology's, or their cluster,
    /// control panel or routing controls are gone.
    pub dropped: Vec<String>,
}

/// The state file on disk.
#[derive(Clone, Debug)]
pub struct StateFile {
    path: PathBuf,
}

/// The state of every live control of `catalog`: the topology's initial states, Off for controls
/// created through the API.
fn initial_states(topology: &Topology, catalog: &Catalog) -> States {
    let topology_states = topology.initial_states();
    catalog
        .live_controls()
        .into_iter()
        .map(|c| {
            let state = topology_states
                .get(c.arn)
                .copied()
                .unwrap_or(ControlState::Off);
            (c.arn.to_owned(), state)
        })
        .collect()
}

impl StateFile {
    pub fn new(path: impl Into<PathBuf>) -> StateFile {
        StateFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn display(&self) -> String {
        self.path.display().to_string()
    }

    /// Reads the file, or gives the initial states when it does not exist.
    pub fn restore(&self, topology: &Topology) -> Result<Restored, StateError> {
        let mut catalog = Catalog::from_topology(topology);
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Restored {
                    states: initial_states(topology, &catalog),
                    catalog,
                    from_file: false,
                    ignored: Vec::new(),
                    missing: Vec::new(),
                    dropped: Vec::new(),
                })
            }
            Err(error) => {
                return Err(StateError::Read {
                    path: self.display(),
                    error,
                })
            }
        };
        let corrupt = |message: String| StateError::Corrupt {
            path: self.display(),
            message,
        };
        let file: FileFormat = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
        if file.version != FILE_VERSION {
            return Err(corrupt(format!(
                "version {}, this arc-local reads version {FILE_VERSION}",
                file.version
            )));
        }
        let dropped = catalog.merge(file.config);
        let mut states = initial_states(topology, &catalog);
        let mut ignored = Vec::new();
        for (arn, entry) in &file.controls {
            match states.get_mut(arn) {
                Some(state) => *state = entry.state,
                None => ignored.push(arn.clone()),
            }
        }
        let missing = states
            .keys()
            .filter(|arn| !file.controls.contains_key(*arn))
            .cloned()
            .collect();
        Ok(Restored {
            catalog,
            states,
            from_file: true,
            ignored,
            missing,
            dropped,
        })
    }

    /// Writes `states` and the API's part of `catalog` atomically: temporary file in the same
    /// directory, fsync, rename, fsync of the directory. Blocking.
    pub fn write(&self, catalog: &Catalog, states: &States) -> Result<(), StateError> {
        let file = FileFormat {
            version: FILE_VERSION,
            controls: states
                .iter()
                .map(|(arn, state)| {
                    let control = catalog.controls.get(arn);
                    (
                        arn.clone(),
                        FileEntry {
                            state: *state,
                            app: control.and_then(|c| c.app.clone()),
                            region: control.and_then(|c| c.region.clone()),
                            name: control.map(|c| c.name.clone()),
                        },
                    )
                })
                .collect(),
            config: catalog.persisted(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).expect("state serialises");
        bytes.push(b'\n');
        let err = |error| StateError::Write {
            path: self.display(),
            error,
        };
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file_name = self
            .path
            .file_name()
            .ok_or_else(|| err(std::io::Error::other("the path names no file")))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(file_name);
        tmp_name.push(format!(".tmp-{}", std::process::id()));
        let tmp = dir.join(tmp_name);
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&tmp, &self.path)?;
            sync_dir(&dir)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(err)
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use recovery::local;
    use ControlState::On;

    fn arn(app: &str, role: &str) -> String {
        local::control_arn(app, &format!("{app}-{role}-rc"))
    }

    #[test]
    fn restore_ignores_unknown_arns_and_refuses_corrupt_files() {
        let dir = testkit::temp::dir("arc-local-state-restore");
        let path = dir.path().join("state.json");
        let topology = Topology::load(None).unwrap();
        let known = arn("service2", "secondary");
        std::fs::write(
            &path,
            format!(
                r#"{{"version": 1, "controls": {{"{known}": {{"state": "On"}}, "arn:aws:gone": {{"state": "Off"}}}}}}"#
            ),
        )
        .unwrap();
        let r = StateFile::new(&path).restore(&topology).unwrap();
        assert!(r.from_file);
        assert_eq!(r.states[&known], On);
        assert_eq!(r.ignored, ["arn:aws:gone"]);
        assert_eq!(r.missing.len(), 5);

        for bad in [
            "{",
            r#"{"version": 1, "controls": {"x": {"state": "on"}}}"#,
            r#"{"version": 2, "controls": {}}"#,
        ] {
            std::fs::write(&path, bad).unwrap();
            let e = StateFile::new(&path).restore(&topology).unwrap_err();
            assert!(
                matches!(e, StateError::Corrupt { .. }) && e.to_string().contains("state.json"),
                "{e}"
            );
        }
    }
}
