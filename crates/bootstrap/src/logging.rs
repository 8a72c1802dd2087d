//! Log set-up: JSON lines on stdout by default (`LOG_FORMAT=text` for people), filter from `RUST_LOG`.
//!
//! Lines are written synchronously, one `write` per line, except access lines, which are batched
//! per loop turn ([`crate::access_log`], `ACCESS_LOG_BUFFER_BYTES`). A background writer thread
//! was measured and rejected: on a 2-CPU task, waking it for every line added ~45 µs to each
//! request's latency.

use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::EnvFilter;

/// The filter without `RUST_LOG`: `info`, except hickory's DNS server, which logs two INFO lines
/// per query (arc-local answers every gateway's lookups: lines per request under load, beside
/// the access lines that say the same once).
pub const DEFAULT_FILTER: &str = "info,hickory_server=warn";

/// Set once [`init`] has installed JSON output.
static JSON: AtomicBool = AtomicBool::new(false);

/// Installs the global subscriber. Call once, before anything logs.
///
/// `LOG_FORMAT` is `json` (default) or `text`; `RUST_LOG` is a tracing filter (default
/// [`DEFAULT_FILTER`]);
/// `ACCESS_LOG_BUFFER_BYTES` bounds the access lines batched per loop turn (default 64 KiB, `0`
/// for a write per line, at most 16 MiB). An unknown `LOG_FORMAT` or a bad buffer size is reported
/// on stderr and the default is used: logs must never be lost to a typo.
pub fn init() {
    use crate::access_log::{set_buffer_bytes, DEFAULT_BUFFER_BYTES, MAX_BUFFER_BYTES};
    match crate::env::parse::<usize>("ACCESS_LOG_BUFFER_BYTES") {
        Ok(None) => set_buffer_bytes(DEFAULT_BUFFER_BYTES),
        Ok(Some(n)) if n <= MAX_BUFFER_BYTES => set_buffer_bytes(n),
        Ok(Some(n)) => eprintln!(
            "ACCESS_LOG_BUFFER_BYTES={n} is over {MAX_BUFFER_BYTES}; using {DEFAULT_BUFFER_BYTES}"
        ),
        Err(e) => eprintln!("{e}; using {DEFAULT_BUFFER_BYTES}"),
    }
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let format = crate::env::var("LOG_FORMAT").unwrap_or_else(|| "json".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    match format.as_str() {
        "text" => builder.with_target(false).init(),
        other => {
            if other != "json" {
                eprintln!("LOG_FORMAT={other:?} is not json or text; using json");
            }
            builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .init();
            JSON.store(true, Ordering::Relaxed);
        }
    }
}

/// Whether [`init`] installed JSON output (the access log then writes its own lines).
pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}
