//! The one-line-per-request access log, shared by every binary.
//!
//! Access lines are the only log written on every request, so they skip the generic tracing
//! formatter (which renders each field through `Debug` and allocates) and serde (whose `flatten`
//! goes through a map serializer): [`emit`] writes the fields straight into a buffer kept per
//! thread, with a timestamp whose date-and-seconds part is formatted once per second. Lines carry
//! the same envelope as other lines (`timestamp`, `level`, `message`, the fields, `target`),
//! honour `RUST_LOG` (target `access`), and go through `tracing` when logs are human-readable
//! (`LOG_FORMAT=text`).
//!
//! Batching: a line made on a tokio runtime is appended to its thread's buffer (each worker has
//! its own, so no worker waits for another's lock), and the buffer is written with one `write` at
//! the end of the runtime's current turn (a task spawned with the turn's first line: a
//! current-thread runtime runs it after the tasks already woken, which are the requests of this
//! turn; on a multi-thread runtime, where a spawned task would run next, it yields once, which
//! defers it until the worker has run out of woken tasks), or at once when it reaches
//! `ACCESS_LOG_BUFFER_BYTES` (default 64 KiB; `0` writes every line by itself).
//! Under load one `write` then carries the lines of many requests instead of one each (nginx's
//! `access_log ... buffer=`, without its delay: a line waits for one loop turn, not a timer). A
//! line is appended before the response it records is written, so it is out by the time the next
//! turn begins. Nothing is lost at exit: the flush task writes the buffer when the runtime drops
//! it unfinished, a thread that ends writes its buffer, and the binaries call [`flush`] (every
//! thread's buffer) last. Lines made off a runtime are written at once, after anything pending on
//! their thread, so a thread's order is kept. Other log lines (warnings, errors) are
//! written as they happen and may come before access lines of the same turn.

use std::cell::RefCell;
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::{extract::Request, middleware::Next, response::Response};

/// The fields of one access line, written in the order they are added.
pub struct Fields {
    buf: Vec<u8>,
}

impl Fields {
    /// A string field, escaped as JSON (RFC 8259 section 7).
    pub fn str(&mut self, key: &'static str, value: &str) -> &mut Self {
        self.key(key);
        escape_into(&mut self.buf, value);
        self
    }

    /// A number field.
    pub fn num(&mut self, key: &'static str, value: u64) -> &mut Self {
        self.key(key);
        let mut digits = itoa::Buffer::new();
        self.buf.extend_from_slice(digits.format(value).as_bytes());
        self
    }

    fn key(&mut self, key: &'static str) {
        self.buf.push(b',');
        escape_into(&mut self.buf, key);
        self.buf.push(b':');
    }
}

thread_local! {
    /// The line buffer and the cached `YYYY-MM-DDTHH:MM:SS` of the current second.
    static LINE: RefCell<(Fields, Stamp)> = RefCell::new((
        Fields { buf: Vec::with_capacity(512) },
        Stamp { second: u64::MAX, text: [0; 19] },
    ));
}

/// Writes one access line with the fields `fill` adds.
pub fn emit(fill: impl FnOnce(&mut Fields)) {
    if !tracing::enabled!(target: "access", tracing::Level::INFO) {
        return;
    }
    let json = crate::logging::json();
    let written = LINE.try_with(|cell| {
        let Ok(mut guard) = cell.try_borrow_mut() else {
            return false;
        };
        let (fields, stamp) = &mut *guard;
        fields.buf.clear();
        if json {
            fields.buf.extend_from_slice(br#"{"timestamp":""#);
            stamp.write(&mut fields.buf, SystemTime::now());
            fields
                .buf
                .extend_from_slice(br#"","level":"INFO","message":"request""#);
            fill(fields);
            fields.buf.extend_from_slice(b",\"target\":\"access\"}\n");
            batch(&fields.buf);
        } else {
            // Text logs: the fields as one JSON object, through tracing's formatter.
            fill(fields);
            match fields.buf.first_mut() {
                Some(first) => *first = b'{',
                None => fields.buf.push(b'{'),
            }
            fields.buf.push(b'}');
            let text = String::from_utf8_lossy(&fields.buf);
            tracing::info!(target: "access", fields = %text, "request");
        }
        true
    });
    if written != Ok(true) {
        tracing::info!(target: "access", "request (access line lost: logger busy)");
    }
}

/// The default of `ACCESS_LOG_BUFFER_BYTES`: lines pending at most, before a write.
pub const DEFAULT_BUFFER_BYTES: usize = 64 * 1024;
/// The largest `ACCESS_LOG_BUFFER_BYTES` accepted.
pub const MAX_BUFFER_BYTES: usize = 16 * 1024 * 1024;

static BUFFER_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_BUFFER_BYTES);

/// Sets how many bytes of lines may wait for the end of a loop turn (`0`: none).
pub fn set_buffer_bytes(bytes: usize) {
    BUFFER_BYTES.store(bytes.min(MAX_BUFFER_BYTES), Ordering::Relaxed);
}

/// Lines waiting to be written, and whether a task will write them.
#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    scheduled: bool,
}

/// One thread's pending lines. Each thread appends to its own buffer, so workers never wait for
/// one another; the lock is only shared with the flush task (which on a multi-thread runtime
/// may run on another worker) and with [`flush`] at exit.
type Buffer = Arc<Mutex<Pending>>;

/// Every thread's buffer, for [`flush`]. A thread registers its buffer on its first line.
static BUFFERS: Mutex<Vec<Weak<Mutex<Pending>>>> = Mutex::new(Vec::new());

/// This thread's buffer; writes what it holds when the thread ends.
struct Local(Buffer);

impl Local {
    fn new() -> Local {
        let buffer = Buffer::default();
        let mut all = lock(&BUFFERS);
        all.retain(|b| b.strong_count() > 0);
        all.push(Arc::downgrade(&buffer));
        Local(buffer)
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        write_out(&mut lock(&self.0));
    }
}

thread_local! {
    static MINE: Local = Local::new();
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves whole lines behind (appends are single calls).
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Appends a line to this thread's buffer; writes the buffer now when it is full or there is no
/// runtime to write it at the end of this turn, else makes sure a flush task is on its way.
fn batch(line: &[u8]) {
    if MINE.try_with(|mine| append(&mine.0, line)).is_err() {
        // The thread is ending (its buffer is gone): written by itself.
        let _ = std::io::stdout().lock().write_all(line);
    }
}

fn append(buffer: &Buffer, line: &[u8]) {
    let limit = BUFFER_BYTES.load(Ordering::Relaxed);
    let runtime = match limit {
        0 => None,
        _ => tokio::runtime::Handle::try_current().ok(),
    };
    let mut p = lock(buffer);
    p.buf.extend_from_slice(line);
    let Some(runtime) = runtime else {
        write_out(&mut p);
        return;
    };
    if p.buf.len() >= limit {
        write_out(&mut p);
    } else if !p.scheduled {
        p.scheduled = true;
        drop(p);
        // Dropped when the task has run, or unpolled by a runtime shutting down: either way it
        // writes what is pending. (Made outside the task, so the task owns it from the start.)
        let flush = FlushOnDrop(buffer.clone());
        match runtime.runtime_flavor() {
            // A task spawned here runs after the tasks already woken in this turn.
            tokio::runtime::RuntimeFlavor::CurrentThread => {
                runtime.spawn(async move {
                    let _flush = flush;
                });
            }
            // A task spawned on a worker takes its LIFO slot and would run right after this
            // one, a write per request. Yielding once defers it until the worker has run out of
            // woken tasks or polls its driver: the end of the turn.
            _ => {
                runtime.spawn(async move {
                    let _flush = flush;
                    tokio::task::yield_now().await;
                });
            }
        }
    }
}

/// Writes a buffer's lines when dropped (by the flush task, or with it).
struct FlushOnDrop(Buffer);

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        let mut p = lock(&self.0);
        p.scheduled = false;
        write_out(&mut p);
    }
}

/// Writes every thread's pending lines now. The binaries call it last, before they exit.
pub fn flush() {
    let all: Vec<Buffer> = lock(&BUFFERS).iter().filter_map(Weak::upgrade).collect();
    for buffer in all {
        write_out(&mut lock(&buffer));
    }
}

fn write_out(p: &mut Pending) {
    if !p.buf.is_empty() {
        WRITES.fetch_add(1, Ordering::Relaxed);
        let _ = std::io::stdout().lock().write_all(&p.buf);
        p.buf.clear();
    }
}

/// How many writes of batched lines were made (tests compare it with the lines).
static WRITES: AtomicUsize = AtomicUsize::new(0);

/// The RFC 3339 UTC timestamp with microseconds, as the subscriber's lines carry it; the part up
/// to the seconds is formatted once per second.
struct Stamp {
    second: u64,
    text: [u8; 19],
}

impl Stamp {
    fn write(&mut self, out: &mut Vec<u8>, now: SystemTime) {
        let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let second = since.as_secs();
        if second != self.second {
            let full = humantime::format_rfc3339_seconds(now).to_string();
            // "YYYY-MM-DDTHH:MM:SSZ": keep the 19 bytes before the Z.
            if let Some(head) = full.as_bytes().get(..19) {
                self.text.copy_from_slice(head);
                self.second = second;
            }
        }
        out.extend_from_slice(&self.text);
        let micros = since.subsec_micros();
        out.push(b'.');
        let mut digits = [b'0'; 6];
        let mut rest = micros;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        out.extend_from_slice(&digits);
        out.push(b'Z');
    }
}

/// Appends `s` as a JSON string: quotes, `\"`, `\\`, and `\u00XX` (or the short forms) for
/// control characters. Everything else, UTF-8 included, is copied as it is.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b"\\\"".as_slice(),
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// axum middleware for the services: `axum::middleware::from_fn(access_log::log)`. Logged when the
/// response head is ready, so a streamed response is logged once, with the time to its first byte.
pub async fn log(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let request_id = req.headers().get("x-request-id").cloned();
    let resp = next.run(req).await;
    emit(|f| {
        f.str(
            "request_id",
            request_id
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
        )
        .str("method", method.as_str())
        .str("path", &path)
        .num("status", u64::from(resp.status().as_u16()))
        .num("latency_us", start.elapsed().as_micros() as u64);
    });
    resp
}

#[cfg(test)]
mod tests;
