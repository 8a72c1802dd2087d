//! The routing-control states, the catalog of ARC resources, and their atomic persistence.
//!
//! Every live routing control of the catalog (the topology's and those created through the
//! recovery-control-config API) is On or Off. With no state file, each app's primary-region control
//! starts On and the others Off, and the file is written at once; a control created through the API
//! starts Off, as in AWS. A change is applied in this order: the safety rules judge the whole batch
//! (or the config operation checks its request), the new state is written to the state file
//! atomically (a temporary file in the same directory, fsync, rename, fsync of the directory), then
//! it becomes the state readers see, one log line per changed control is written, and only then
//! does the API answer. An accepted change is therefore never lost, and a failed write changes
//! nothing.
//!
//! The file (`{"version": 1, "controls": {"<arn>": {"state": "On", "app": ..., "region": ...,
//! "name": ...}}, "config": {...}}`) is restored on start; `config` holds the clusters, control
//! panels, routing controls, safety rules and tags created through the config API (absent when
//! there are none). Entries for ARNs that are not in the catalog are ignored with a warning (and
//! dropped at the next write); a file that cannot be parsed is an error, never a silent reset.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use recovery::ControlState;
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Persisted};
use crate::rules::{self, Violation};
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

/// Why a batch was not applied. Nothing changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("no routing control {0}")]
    NotFound(String),
    #[error("{}", .0.iter().map(|v| v.message.as_str()).collect::<Vec<_>>().join("; "))]
    Blocked(Vec<Violation>),
    #[error(transparent)]
    Persist(#[from] StateError),
}

/// Why a config change was not applied. Nothing changed in any case.
#[derive(Debug)]
pub enum ConfigureError<E> {
    /// The operation refused the request.
    Refused(E),
    /// The new state could not be saved.
    Persist(StateError),
}

/// One control whose state an accepted batch changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub arn: String,
    /// The app and region of a topology control; `None` for controls created through the API.
    pub app: Option<String>,
    pub region: Option<String>,
    pub name: String,
    pub control_panel: String,
    pub old: ControlState,
    pub new: ControlState,
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

    fn display(&self) -> String {
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

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What readers see: the catalog and the states, as of the last accepted change.
#[derive(Debug)]
pub struct World {
    pub catalog: Arc<Catalog>,
    pub states: Arc<States>,
}

/// The live catalog and states: readers take a snapshot without waiting; writers take turns.
pub struct Store {
    topology: Arc<Topology>,
    file: StateFile,
    deploy_delay_ms: u64,
    current: Arc<RwLock<Arc<World>>>,
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Restores the catalog and states from `file` (writing the initial states when it does not
    /// exist yet). `deploy_delay_ms`: how long resources created or deleted through the config API
    /// stay PENDING / PENDING_DELETION.
    pub fn open(
        topology: Arc<Topology>,
        file: StateFile,
        deploy_delay_ms: u64,
    ) -> Result<Store, StateError> {
        let mut restored = file.restore(&topology)?;
        for arn in &restored.ignored {
            tracing::warn!(
                state_file = %file.display(),
                routing_control_arn = %arn,
                "state file names a routing control that is not in the topology: ignored, and dropped at the next change"
            );
        }
        for arn in &restored.missing {
            tracing::warn!(
                state_file = %file.display(),
                routing_control_arn = %arn,
                "state file does not mention this routing control: it starts in its initial state"
            );
        }
        for arn in &restored.dropped {
            tracing::warn!(
                state_file = %file.display(),
                arn = %arn,
                "state file holds a resource whose ARN the topology has, or whose cluster, control panel or routing controls are gone: ignored, and dropped at the next change"
            );
        }
        if restored.catalog.purge(now_ms(), deploy_delay_ms) {
            restored
                .states
                .retain(|arn, _| restored.catalog.control(arn).is_some());
        }
        if restored.from_file {
            tracing::info!(state_file = %file.display(), "routing control states restored");
        } else {
            file.write(&restored.catalog, &restored.states)?;
            tracing::info!(state_file = %file.display(), "no state file: initial states written (primary regions On)");
        }
        Ok(Store {
            topology,
            file,
            deploy_delay_ms,
            current: Arc::new(RwLock::new(Arc::new(World {
                catalog: Arc::new(restored.catalog),
                states: Arc::new(restored.states),
            }))),
            writer: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    pub fn topology(&self) -> &Arc<Topology> {
        &self.topology
    }

    pub fn file(&self) -> &StateFile {
        &self.file
    }

    pub fn deploy_delay_ms(&self) -> u64 {
        self.deploy_delay_ms
    }

    /// The catalog and states as of the last accepted change.
    pub fn world(&self) -> Arc<World> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The states as of the last accepted change.
    pub fn snapshot(&self) -> Arc<States> {
        self.world().states.clone()
    }

    /// Applies a batch atomically: every ARN must exist, the safety rules (minus `overrides`) must
    /// allow the resulting state, and the state file must be written, or nothing changes. Returns
    /// the controls whose state changed (setting a control to its current state changes nothing).
    pub async fn apply(
        &self,
        batch: &[(String, ControlState)],
        overrides: &[String],
    ) -> Result<Vec<Change>, ApplyError> {
        let turn = self.writer.clone().lock_owned().await;
        let world = self.world();
        let before = &world.states;
        let mut after = (**before).clone();
        for (arn, state) in batch {
            match after.get_mut(arn) {
                Some(s) => *s = *state,
                None => return Err(ApplyError::NotFound(arn.clone())),
            }
        }
        let catalog = world.catalog.clone();
        let changes: Vec<Change> = after
            .iter()
            .filter(|(arn, new)| before.get(*arn) != Some(*new))
            .map(|(arn, new)| {
                let c = catalog.control(arn).expect("states hold live controls");
                Change {
                    arn: arn.clone(),
                    app: c.control.app.clone(),
                    region: c.control.region.clone(),
                    name: c.control.name.clone(),
                    control_panel: c.panel_name.to_owned(),
                    old: before[arn],
                    new: *new,
                }
            })
            .collect();
        if changes.is_empty() {
            return Ok(changes);
        }
        let blocked = rules::violations(&catalog, before, &after, overrides);
        if !blocked.is_empty() {
            return Err(ApplyError::Blocked(blocked));
        }
        // Writing, publishing and logging run to completion on a blocking thread that holds the
        // writer's turn, even if the caller goes away (a client that disconnects mid-request):
        // the file and the states readers see never diverge.
        let world = Arc::new(World {
            catalog,
            states: Arc::new(after),
        });
        let (file, current) = (self.file.clone(), self.current.clone());
        let display = self.file.display();
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            file.write(&world.catalog, &world.states)?;
            *current.write().unwrap_or_else(|p| p.into_inner()) = world;
            for c in &changes {
                tracing::info!(
                    app = c.app.as_deref(),
                    region = c.region.as_deref(),
                    control_panel = %c.control_panel,
                    routing_control = %c.name,
                    routing_control_arn = %c.arn,
                    old = %c.old,
                    new = %c.new,
                    "routing control state changed"
                );
            }
            Ok(changes)
        })
        .await
        .map_err(|e| {
            ApplyError::Persist(StateError::Write {
                path: display,
                error: std::io::Error::other(e.to_string()),
            })
        })?
    }

    /// Runs a config operation on a copy of the catalog (resources whose deletion has finished
    /// purged first) and publishes the result: new live routing controls start Off, states of
    /// controls no longer live are dropped, and the state file is written before this returns. If
    /// `op` refuses, or the file cannot be written, nothing changes.
    pub async fn configure<R, E>(
        &self,
        op: impl FnOnce(&mut Catalog, &States, u64) -> Result<R, E>,
    ) -> Result<R, ConfigureError<E>> {
        let turn = self.writer.clone().lock_owned().await;
        let world = self.world();
        let now = now_ms();
        let mut catalog = (*world.catalog).clone();
        catalog.purge(now, self.deploy_delay_ms);
        let result = op(&mut catalog, &world.states, now).map_err(ConfigureError::Refused)?;
        let mut states: States = BTreeMap::new();
        for c in catalog.live_controls() {
            let state = world
                .states
                .get(c.arn)
                .copied()
                .unwrap_or(ControlState::Off);
            states.insert(c.arn.to_owned(), state);
        }
        let world = Arc::new(World {
            catalog: Arc::new(catalog),
            states: Arc::new(states),
        });
        let (file, current) = (self.file.clone(), self.current.clone());
        let display = self.file.display();
        let written = tokio::task::spawn_blocking(move || {
            let _turn = turn;
            file.write(&world.catalog, &world.states)?;
            *current.write().unwrap_or_else(|p| p.into_inner()) = world;
            Ok(())
        })
        .await
        .unwrap_or_else(|e| {
            Err(StateError::Write {
                path: display,
                error: std::io::Error::other(e.to_string()),
            })
        });
        written.map_err(ConfigureError::Persist)?;
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recovery::local;
    use ControlState::{Off, On};

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "arc-local-state-{name}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn arn(app: &str, role: &str) -> String {
        local::control_arn(app, &format!("{app}-{role}-rc"))
    }

    #[tokio::test]
    async fn changes_are_on_disk_before_apply_returns() {
        let dir = temp_dir("apply");
        let path = dir.join("state.json");
        let topology = Arc::new(Topology::load(None).unwrap());
        let store = Store::open(topology.clone(), StateFile::new(&path), 0).unwrap();
        assert!(path.exists(), "initial states are written at once");

        let changes = store
            .apply(
                &[
                    (arn("service1", "secondary"), On),
                    (arn("service1", "primary"), Off),
                ],
                &[],
            )
            .await
            .unwrap();
        assert_eq!(changes.len(), 2);
        let restored = StateFile::new(&path).restore(&topology).unwrap();
        assert_eq!(restored.states, *store.snapshot());
        assert_eq!(restored.states[&arn("service1", "primary")], Off);

        // Blocked: nothing changes, in memory or on disk.
        let e = store
            .apply(&[(arn("service1", "secondary"), Off)], &[])
            .await
            .unwrap_err();
        assert!(matches!(e, ApplyError::Blocked(_)), "{e}");
        assert_eq!(
            StateFile::new(&path).restore(&topology).unwrap().states,
            *store.snapshot()
        );
        assert_eq!(store.snapshot()[&arn("service1", "secondary")], On);

        // Unknown ARN: not found, nothing changes.
        let e = store
            .apply(
                &[(arn("service2", "secondary"), On), ("arn:aws:x".into(), On)],
                &[],
            )
            .await
            .unwrap_err();
        assert!(matches!(e, ApplyError::NotFound(ref a) if a == "arn:aws:x"));
        assert_eq!(store.snapshot()[&arn("service2", "secondary")], Off);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_failed_write_changes_nothing() {
        let dir = temp_dir("fail");
        let path = dir.join("state.json");
        let topology = Arc::new(Topology::load(None).unwrap());
        let store = Store::open(topology, StateFile::new(&path), 0).unwrap();
        // Replace the directory's file with a directory: rename over it fails.
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("x"), "x").unwrap();
        let e = store
            .apply(&[(arn("service2", "secondary"), On)], &[])
            .await
            .unwrap_err();
        assert!(matches!(e, ApplyError::Persist(_)), "{e}");
        assert_eq!(store.snapshot()[&arn("service2", "secondary")], Off);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn restore_ignores_unknown_arns_and_refuses_corrupt_files() {
        let dir = temp_dir("restore");
        let path = dir.join("state.json");
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
        std::fs::remove_dir_all(dir).unwrap();
    }
}
