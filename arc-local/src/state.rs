//! The live routing-control states and catalog of ARC resources, and how changes reach them.
//!
//! Every live routing control of the catalog (the topology's and those created through the
//! recovery-control-config API) is On or Off. A change is applied in this order: the safety rules
//! judge the whole batch (or the config operation checks its request), the new state is written to
//! the state file atomically ([`crate::state_file`]), then it becomes the state readers see, one
//! log line per changed control is written, and only then does the API answer. An accepted change
//! is therefore never lost, and a failed write changes nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use recovery::ControlState;

use crate::catalog::Catalog;
use crate::rules::{self, Violation};
pub use crate::state_file::{StateError, StateFile, States};
use crate::topology::Topology;

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
        let world = Arc::new(World {
            catalog,
            states: Arc::new(after),
        });
        let logged = changes.clone();
        self.publish(turn, world, move || {
            for c in &logged {
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
        })
        .await?;
        Ok(changes)
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
        let written = self.publish(turn, world, || {}).await;
        written.map_err(ConfigureError::Persist)?;
        Ok(result)
    }

    /// Writes `world` to the state file, makes it what readers see, then runs `then` (logging).
    /// This runs to completion on a blocking thread that holds the writer's `turn`, even if the
    /// caller goes away (a client that disconnects mid-request): the file and the states readers
    /// see never diverge.
    async fn publish(
        &self,
        turn: tokio::sync::OwnedMutexGuard<()>,
        world: Arc<World>,
        then: impl FnOnce() + Send + 'static,
    ) -> Result<(), StateError> {
        let (file, current) = (self.file.clone(), self.current.clone());
        let display = self.file.display();
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            file.write(&world.catalog, &world.states)?;
            *current.write().unwrap_or_else(|p| p.into_inner()) = world;
            then();
            Ok(())
        })
        .await
        .unwrap_or_else(|e| {
            Err(StateError::Write {
                path: display,
                error: std::io::Error::other(e.to_string()),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recovery::local;
    use ControlState::{Off, On};

    fn arn(app: &str, role: &str) -> String {
        local::control_arn(app, &format!("{app}-{role}-rc"))
    }

    #[tokio::test]
    async fn changes_are_on_disk_before_apply_returns() {
        let dir = testkit::temp::dir("arc-local-state-apply");
        let path = dir.path().join("state.json");
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
    }

    #[tokio::test]
    async fn a_failed_write_changes_nothing() {
        let dir = testkit::temp::dir("arc-local-state-fail");
        let path = dir.path().join("state.json");
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
    }
}
