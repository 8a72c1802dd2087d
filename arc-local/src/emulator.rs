//! An emulator running in-process, for tests: started from [`Settings`] on a thread and runtime
//! of its own (so it keeps serving while the test blocks, in sync and async tests alike), with the
//! ports it bound, the cluster document that reaches it, the fault hook, the journal of calls,
//! direct access to the routing-control states, and shutdown on drop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use recovery::{ClusterDocument, ControlState, Endpoint};
use tokio::sync::oneshot;

use crate::faults::Faults;
use crate::journal::{Call, Journal};
use crate::listener::{ReachError, Reachability};
use crate::server::{self, Hooks, ServeError, StartError};
use crate::settings::Settings;
use crate::state::{ApplyError, Store};

/// The addresses an emulator listens on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    /// The five data-plane endpoints, in port order (us-east-1, us-west-2, eu-west-1,
    /// ap-northeast-1, ap-southeast-2).
    pub data_plane: [SocketAddr; 5],
    /// The recovery-control-config API.
    pub config: SocketAddr,
    /// DNS, UDP and TCP.
    pub dns: SocketAddr,
}

/// Why [`Emulator::set_states`] changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum SetStatesError {
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error("the emulator is not running")]
    Stopped,
}

/// A running emulator. Dropping it shuts it down (in-flight requests finish first).
pub struct Emulator {
    ports: Ports,
    document: ClusterDocument,
    store: Arc<Store>,
    faults: Arc<Faults>,
    journal: Arc<Journal>,
    reach: Vec<Reachability>,
    ca_file: Option<PathBuf>,
    runtime: tokio::runtime::Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), ServeError>>>,
}

impl Emulator {
    /// Binds every port and starts serving; returns once the emulator answers. Blocking.
    pub fn start(settings: Settings) -> Result<Emulator, StartError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("arc-local")
            .enable_all()
            .build()
            .map_err(StartError::Runtime)?;
        let handle = runtime.handle().clone();
        let faults = Arc::new(Faults::default());
        let journal = Arc::new(Journal::default());
        let hooks = Hooks {
            faults: faults.clone(),
            journal: Some(journal.clone()),
        };
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("arc-local".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match server::start(&settings, hooks).await {
                        Ok(mut started) => {
                            let view = (
                                started.ports,
                                started.document.clone(),
                                started.store.clone(),
                                std::mem::take(&mut started.reach),
                                started.ca_file.clone(),
                            );
                            let _ = started_tx.send(Ok(view));
                            started
                                .run(async {
                                    let _ = stop_rx.await;
                                })
                                .await
                        }
                        Err(e) => {
                            let _ = started_tx.send(Err(e));
                            Ok(())
                        }
                    }
                })
            })
            .map_err(StartError::Runtime)?;
        let (ports, document, store, reach, ca_file) = match started_rx.recv() {
            Ok(Ok(view)) => view,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(StartError::Vanished);
            }
        };
        Ok(Emulator {
            ports,
            document,
            store,
            faults,
            journal,
            reach,
            ca_file,
            runtime: handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The addresses it listens on.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// The cluster document it serves, its endpoints those of this emulator.
    pub fn document(&self) -> &ClusterDocument {
        &self.document
    }

    /// The five data-plane endpoints (`http://` or `https://`).
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.document.endpoints
    }

    /// The CA certificate clients must trust, with TLS on.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// The fault hook: what makes the data plane misbehave from now on.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Every data-plane call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.journal.calls()
    }

    /// Forgets the calls so far.
    pub fn clear_calls(&self) {
        self.journal.clear();
    }

    /// The state of a live routing control.
    pub fn state(&self, arn: &str) -> Option<ControlState> {
        self.store.snapshot().get(arn).copied()
    }

    /// Sets routing-control states as an operator overriding every safety rule would, written to
    /// the state file before this returns. Blocking.
    pub fn set_states(&self, batch: &[(String, ControlState)]) -> Result<(), SetStatesError> {
        let rules: Vec<String> = self
            .store
            .world()
            .catalog
            .live_rules()
            .map(|(_, r)| r.rule.name().to_owned())
            .collect();
        let (store, batch) = (self.store.clone(), batch.to_vec());
        let (tx, rx) = std::sync::mpsc::channel();
        self.runtime.spawn(async move {
            let _ = tx.send(store.apply(&batch, &rules).await);
        });
        rx.recv().map_err(|_| SetStatesError::Stopped)??;
        Ok(())
    }

    /// Makes data-plane endpoint `index` (port order) unreachable — its port closed, so
    /// connections are refused, and its open connections cut — or reachable again, on the same
    /// address. Blocking until done.
    pub fn set_reachable(&self, index: usize, reachable: bool) -> Result<(), ReachError> {
        self.reach[index].set(reachable)
    }

    /// Stops serving (in-flight requests finish first) and reports how the emulator ended.
    pub fn shutdown(mut self) -> Result<(), ServeError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(ServeError::Stopped),
            None => Ok(()),
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}
