//! Reloading the key set from its file without a restart: on SIGHUP, and when the file's
//! content changes (checked every `api_keys.reload_interval`). Runs on the gateway's control
//! thread; requests only ever see a complete set. A file that cannot be read or is not valid
//! keeps the set in force; the reason is logged once per distinct failure and counted.

use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, Signal, SignalKind};

use super::keys::{digest, KeyError, KeyStore};
use crate::metrics;

/// Reads and parses the file; `Ok(None)` when its content is what was loaded last.
fn read(
    store: &KeyStore,
    path: &str,
    last: &mut [u8; 32],
    force: bool,
) -> Result<Option<usize>, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })?;
    let seen = digest(text.as_bytes());
    if seen == *last && !force {
        return Ok(None);
    }
    let set = store.parse(&text, path)?;
    let n = set.len();
    store.replace(set);
    *last = seen;
    Ok(Some(n))
}

/// Loads the file for the first time; an error stops the start.
pub fn first_load(store: &KeyStore, path: &str) -> Result<[u8; 32], KeyError> {
    let mut last = [0u8; 32];
    let n = read(store, path, &mut last, true)?.unwrap_or(0);
    metrics::api_keys_loaded(n);
    tracing::info!(path, keys = n, "API keys loaded");
    Ok(last)
}

/// Listens for SIGHUP from now on (so a signal sent right after start reloads instead of
/// ending the process, SIGHUP's default).
pub fn hangup() -> Option<Signal> {
    match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; the key file is still watched");
            None
        }
    }
}

/// Watches the file until the gateway stops (the task is aborted).
pub async fn watch(
    store: Arc<KeyStore>,
    path: String,
    interval: Duration,
    mut last: [u8; 32],
    mut hup: Option<Signal>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut last_error: Option<String> = None;
    loop {
        let trigger = tokio::select! {
            _ = tick.tick() => "file change",
            Some(()) = async {
                match hup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            } => "SIGHUP",
        };
        let forced = trigger == "SIGHUP";
        match read(&store, &path, &mut last, forced) {
            Ok(None) => {}
            Ok(Some(n)) => {
                last_error = None;
                metrics::api_key_reload(true);
                metrics::api_keys_loaded(n);
                tracing::info!(path = %path, keys = n, trigger, "API keys reloaded");
            }
            Err(e) => {
                let reason = e.to_string();
                if forced || last_error.as_deref() != Some(reason.as_str()) {
                    metrics::api_key_reload(false);
                    tracing::error!(
                        path = %path,
                        trigger,
                        error = %reason,
                        keys_in_force = store.load().len(),
                        "API key reload failed; the previous key set stays in force"
                    );
                    last_error = Some(reason);
                }
            }
        }
    }
}
