//! The idle upstream connections of one worker's client to one endpoint, and the response body
//! that gives its connection back when the exchange is over.
//!
//! Why not hyper-util's legacy pool: it is keyed by scheme and authority behind a lock and a hash
//! map, it boxes the send future, and for every HTTP/1.1 response it spawns a task that waits
//! for the connection to be ready again before putting it back: a task per request. Here a
//! client serves one endpoint on one worker thread, so the pool is a short list: a connection
//! goes back as soon as its response body has ended, however framed ([`PooledBody`]), and a
//! checkout takes the most recently used one that hyper says is ready for another request
//! (`SendRequest::is_ready`).
//! One still busy (a request body still uploading after an early answer) is skipped, not
//! waited for.
//!
//! Bounds: at most `pool_max_idle` connections are kept; one idle for `pool_idle_timeout` is
//! never used again and is closed then by a reaper task (one per pool, only while it holds
//! connections, waking when the oldest one expires).

use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::client::conn::http1::SendRequest;
use tokio::time::Instant;

use crate::body::RequestBody;

/// The sending half of one upstream HTTP/1.1 connection (its driver runs as its own task).
pub type Sender = SendRequest<RequestBody>;

/// One worker's idle connections to one endpoint.
pub struct Pool {
    state: Mutex<State>,
    max_idle: usize,
    idle_timeout: Duration,
}

#[derive(Default)]
struct State {
    /// Oldest first (the reaper's order); checkouts take from the end.
    idle: Vec<Idle>,
    /// Whether a reaper task is watching this pool.
    reaping: bool,
}

struct Idle {
    sender: Sender,
    since: Instant,
}

impl Pool {
    pub fn new(max_idle: usize, idle_timeout: Duration) -> Arc<Pool> {
        Arc::new(Pool {
            state: Mutex::new(State::default()),
            max_idle,
            idle_timeout,
        })
    }

    /// The most recently used connection that can take a request now. Connections that have
    /// closed or idled past the timeout are dropped on the way (which closes them).
    pub fn checkout(&self) -> Option<Sender> {
        let mut state = self.state.lock().ok()?;
        let now = Instant::now();
        let mut i = state.idle.len();
        while i > 0 {
            i -= 1;
            let entry = &state.idle[i];
            if entry.sender.is_closed() || self.expired(entry, now) {
                state.idle.remove(i);
                continue;
            }
            if entry.sender.is_ready() {
                return Some(state.idle.remove(i).sender);
            }
        }
        None
    }

    fn expired(&self, entry: &Idle, now: Instant) -> bool {
        now.duration_since(entry.since) >= self.idle_timeout
    }

    /// Keeps `sender` for a later request, unless the pool is full or it has closed.
    fn put_back(self: &Arc<Self>, sender: Sender) {
        if sender.is_closed() || self.max_idle == 0 || self.idle_timeout.is_zero() {
            return;
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state.idle.len() >= self.max_idle {
            return;
        }
        state.idle.push(Idle {
            sender,
            since: Instant::now(),
        });
        if !state.reaping {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                state.reaping = true;
                rt.spawn(reap(Arc::downgrade(self)));
            }
        }
    }

    /// How many connections are idle.
    #[cfg(test)]
    pub fn idle(&self) -> usize {
        self.state.lock().map(|s| s.idle.len()).unwrap_or(0)
    }
}

/// Closes each connection when it has been idle for the timeout, for as long as the pool holds
/// any; then ends (the next connection put back starts another).
async fn reap(pool: Weak<Pool>) {
    loop {
        let wake = {
            let Some(pool) = pool.upgrade() else { return };
            let Ok(mut state) = pool.state.lock() else {
                return;
            };
            let now = Instant::now();
            state
                .idle
                .retain(|e| !e.sender.is_closed() && !pool.expired(e, now));
            match state.idle.first() {
                Some(oldest) => oldest.since + pool.idle_timeout,
                None => {
                    state.reaping = false;
                    return;
                }
            }
        };
        tokio::time::sleep_until(wake).await;
    }
}

/// Gives a connection back to its pool.
pub struct Lease {
    sender: Sender,
    pool: Arc<Pool>,
}

impl Lease {
    pub fn new(sender: Sender, pool: Arc<Pool>) -> Lease {
        Lease { sender, pool }
    }
}

pin_project_lite::pin_project! {
    /// An upstream response body. Its connection goes back to the pool as soon as the body has
    /// ended, however the upstream framed it; when it is dropped unfinished, the connection is
    /// closed instead (hyper cannot reuse it).
    ///
    /// The end is seen three ways: hyper says so (`is_end_stream`: a content-length body read to
    /// its length, or a bodiless answer); the body yields `Ready(None)` (a chunked body's last
    /// chunk, which hyper cannot announce ahead of it, RFC 9112 section 7.1); or it yields
    /// trailers, which come only after the last chunk (RFC 9112 section 7.1.2). A server relaying
    /// the body stops polling after trailers, so waiting for `Ready(None)` there would lose the
    /// connection.
    pub struct PooledBody {
        #[pin]
        inner: hyper::body::Incoming,
        lease: Option<Lease>,
    }

    impl PinnedDrop for PooledBody {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if this.inner.is_end_stream() {
                if let Some(lease) = this.lease.take() {
                    lease.give_back();
                }
            }
        }
    }
}

impl Lease {
    fn give_back(self) {
        self.pool.put_back(self.sender);
    }
}

impl PooledBody {
    pub fn new(inner: hyper::body::Incoming, lease: Option<Lease>) -> PooledBody {
        PooledBody { inner, lease }
    }
}

impl HttpBody for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let mut this = self.project();
        let frame = this.inner.as_mut().poll_frame(cx);
        let ended = match &frame {
            Poll::Pending => false,
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(f))) => f.is_trailers() || this.inner.is_end_stream(),
            Poll::Ready(Some(Err(_))) => {
                // A broken exchange: the connection is not reusable.
                this.lease.take();
                false
            }
        };
        if ended {
            if let Some(lease) = this.lease.take() {
                lease.give_back();
            }
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
