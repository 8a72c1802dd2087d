//! One client connection's deadlines, and the drain of all connections at shutdown.
//!
//! hyper's HTTP/1.1 server has one timer, `header_read_timeout`, which starts when the connection
//! becomes idle and so doubles as the keep-alive timeout. Behind a load balancer those must differ:
//! an AWS ALB keeps idle connections to its targets for its idle timeout (60 s by default) and a
//! target that closes an idle connection first makes the ALB send a request on a dying connection
//! (an intermittent 502; AWS: "the target's keep-alive timeout must be longer than the load
//! balancer's idle timeout"). So [`Watched`] wraps the socket and keeps three deadlines, as nginx
//! does (`client_header_timeout`, `keepalive_timeout`):
//!
//! - a new connection that sends nothing is closed `header_read` after it was accepted
//!   ([`Phase::Silent`]; nginx closes it at `client_header_timeout`);
//! - once a response has finished, the connection may stay idle for `keepalive`
//!   ([`Phase::Idle`]; nginx's default is 75 s, above the ALB's 60 s);
//! - once a request's first byte arrives, its head must be complete within `header_read`
//!   ([`Phase::Head`], slowloris).
//!
//! While a request is in progress (between hyper dispatching it and the end of its response body,
//! tracked by [`ExchangeGuard`]) no deadline applies: bodies and streamed responses are bounded
//! by the application's own timeouts. After an upgrade (101) the connection is a tunnel and no
//! deadline ever applies again.
//!
//! An idle or silent connection that times out reads as a clean end of stream, so hyper closes it
//! without an answer (what nginx does with an idle connection); a head that times out is a
//! `TimedOut` read error. [`Exchanges::timed_out`] tells the server which, for its log and metrics.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

/// How long a connection may wait, by phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    /// A new connection's first request, and every request head once its first byte arrived.
    pub header_read: Duration,
    /// An idle keep-alive connection, counted from the end of the previous response.
    pub keepalive: Duration,
}

/// Where a connection was when a deadline closed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Accepted, never sent a byte.
    Silent,
    /// Keep-alive: idle after a response.
    Idle,
    /// A request head had started but was not complete.
    Head,
}

impl Phase {
    /// A stable name for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Silent => "silent",
            Phase::Idle => "idle",
            Phase::Head => "header",
        }
    }
}

#[derive(Debug)]
struct State {
    in_flight: u32,
    upgraded: bool,
    served: bool,
    idle_since: Instant,
    head_started: Option<Instant>,
    timed_out: Option<Phase>,
}

type Shared = Arc<Mutex<State>>;

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    // The state is a handful of plain fields; a panic elsewhere cannot leave it inconsistent.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wraps an accepted connection with its deadlines. The [`Exchanges`] handle goes to the service,
/// which starts an exchange for every request it is handed.
pub fn watch<IO>(io: IO, deadlines: Deadlines) -> (Watched<IO>, Exchanges) {
    let now = Instant::now();
    let shared = Arc::new(Mutex::new(State {
        in_flight: 0,
        upgraded: false,
        served: false,
        idle_since: now,
        head_started: None,
        timed_out: None,
    }));
    let watched = Watched {
        io,
        sleep: Box::pin(tokio::time::sleep_until(now + deadlines.header_read)),
        armed: now + deadlines.header_read,
        deadlines,
        shared: shared.clone(),
    };
    (watched, Exchanges(shared))
}

/// The service's side of a watched connection.
#[derive(Clone, Debug)]
pub struct Exchanges(Shared);

impl Exchanges {
    /// A request was dispatched: no deadline applies until the guard is dropped (normally when
    /// its response body ends, see [`GuardedBody`]).
    pub fn start(&self) -> ExchangeGuard {
        let mut s = lock(&self.0);
        s.in_flight += 1;
        s.head_started = None;
        ExchangeGuard(self.0.clone())
    }

    /// Which deadline closed the connection, if one did.
    pub fn timed_out(&self) -> Option<Phase> {
        lock(&self.0).timed_out
    }
}

/// One request in progress on a watched connection.
#[derive(Debug)]
pub struct ExchangeGuard(Shared);

impl ExchangeGuard {
    /// The connection switched protocols (101): it is a tunnel now, and no deadline applies.
    pub fn upgraded(&self) {
        lock(&self.0).upgraded = true;
    }
}

impl Drop for ExchangeGuard {
    fn drop(&mut self) {
        let mut s = lock(&self.0);
        s.in_flight = s.in_flight.saturating_sub(1);
        if s.in_flight == 0 {
            s.served = true;
            s.idle_since = Instant::now();
            s.head_started = None;
        }
    }
}

pin_project_lite::pin_project! {
    /// A client connection with deadlines on its idle and head-reading phases.
    pub struct Watched<IO> {
        #[pin]
        io: IO,
        sleep: Pin<Box<Sleep>>,
        armed: Instant,
        deadlines: Deadlines,
        shared: Shared,
    }
}

impl<IO> Watched<IO> {
    /// The inner connection.
    pub fn get_ref(&self) -> &IO {
        &self.io
    }
}

impl<IO: AsyncRead> AsyncRead for Watched<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        match this.io.poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    let mut s = lock(this.shared);
                    if s.in_flight == 0 && s.head_started.is_none() && !s.upgraded {
                        s.head_started = Some(Instant::now());
                    }
                }
                return Poll::Ready(Ok(()));
            }
            other => {
                if !matches!(other, Poll::Pending) {
                    return other;
                }
            }
        }
        // Nothing to read. Which deadline runs? While a request is in progress none does, but
        // hyper polls the socket as it writes a response and may not poll it again once the
        // response ends, so the timer still wakes the reader `keepalive` from now: the idle
        // deadline of an exchange that ends later can only be later, and is re-armed then.
        let now = Instant::now();
        let (target, phase) = {
            let s = lock(this.shared);
            if s.upgraded {
                return Poll::Pending;
            }
            match (s.in_flight, s.head_started, s.served) {
                (1.., _, _) => (now + this.deadlines.keepalive, None),
                (0, Some(t), _) => (t + this.deadlines.header_read, Some(Phase::Head)),
                (0, None, false) => (
                    s.idle_since + this.deadlines.header_read,
                    Some(Phase::Silent),
                ),
                (0, None, true) => (s.idle_since + this.deadlines.keepalive, Some(Phase::Idle)),
            }
        };
        // The timer is moved only when it must fire earlier; a later deadline is re-armed when
        // the earlier one fires, so a busy keep-alive connection does not touch the timer wheel
        // on every request.
        if target < *this.armed {
            this.sleep.as_mut().reset(target);
            *this.armed = target;
        }
        loop {
            if this.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if *this.armed >= target {
                break;
            }
            this.sleep.as_mut().reset(target);
            *this.armed = target;
        }
        let Some(phase) = phase else {
            return Poll::Pending; // unreachable: `target` is in the future while in flight
        };
        lock(this.shared).timed_out = Some(phase);
        match phase {
            // Read as the end of the stream: hyper closes an idle connection quietly.
            Phase::Silent | Phase::Idle => Poll::Ready(Ok(())),
            Phase::Head => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request head not received in time",
            ))),
        }
    }
}

impl<IO: AsyncWrite> AsyncWrite for Watched<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

pin_project_lite::pin_project! {
    /// A response body that ends its request's exchange when it ends (or is dropped), so the
    /// keep-alive clock starts when the response is complete.
    pub struct GuardedBody<B> {
        #[pin]
        inner: B,
        guard: Option<ExchangeGuard>,
    }
}

impl<B> GuardedBody<B> {
    pub fn new(inner: B, guard: ExchangeGuard) -> Self {
        Self {
            inner,
            guard: Some(guard),
        }
    }
}

impl<B: Body<Data = Bytes>> Body for GuardedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let frame = this.inner.poll_frame(cx);
        if matches!(frame, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            this.guard.take();
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

/// Tells every connection to finish its current exchange and close, and waits for them.
pub struct Drain {
    tx: watch::Sender<bool>,
}

/// A connection's view of the [`Drain`]: hold it as long as the connection is served.
#[derive(Clone)]
pub struct DrainWatch(watch::Receiver<bool>);

impl Default for Drain {
    fn default() -> Self {
        Self::new()
    }
}

impl Drain {
    pub fn new() -> Self {
        Self {
            tx: watch::channel(false).0,
        }
    }

    /// A handle for one connection (or a task that must finish before the drain does).
    pub fn watcher(&self) -> DrainWatch {
        DrainWatch(self.tx.subscribe())
    }

    /// Signals every watcher and waits until all are dropped, at most `deadline`. Returns
    /// whether everything finished in time.
    pub async fn drain(self, deadline: Duration) -> bool {
        let _ = self.tx.send(true);
        tokio::time::timeout(deadline, self.tx.closed())
            .await
            .is_ok()
    }
}

impl DrainWatch {
    /// Resolves when the drain starts (never, if it never does).
    pub async fn signaled(&mut self) {
        if self.0.wait_for(|d| *d).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const D: Deadlines = Deadlines {
        header_read: Duration::from_secs(10),
        keepalive: Duration::from_secs(75),
    };

    async fn pair() -> (
        Watched<tokio::io::DuplexStream>,
        Exchanges,
        tokio::io::DuplexStream,
    ) {
        let (a, b) = tokio::io::duplex(1024);
        let (w, ex) = watch(a, D);
        (w, ex, b)
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_connection_ends_after_header_read() {
        let (mut w, ex, _peer) = pair().await;
        let start = Instant::now();
        let mut buf = [0u8; 16];
        assert_eq!(w.read(&mut buf).await.unwrap(), 0, "reads as end of stream");
        assert_eq!(start.elapsed(), D.header_read);
        assert_eq!(ex.timed_out(), Some(Phase::Silent));
    }

    #[tokio::test(start_paused = true)]
    async fn a_started_head_must_finish_within_header_read() {
        let (mut w, ex, mut peer) = pair().await;
        tokio::time::sleep(Duration::from_secs(9)).await;
        peer.write_all(b"GET / HT").await.unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(w.read(&mut buf).await.unwrap(), 8);
        let start = Instant::now();
        let err = w.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(start.elapsed(), D.header_read);
        assert_eq!(ex.timed_out(), Some(Phase::Head));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_keep_alive_lasts_keepalive_from_the_end_of_the_response() {
        let (mut w, ex, mut peer) = pair().await;
        peer.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(w.read(&mut buf).await.unwrap(), 18);
        let guard = ex.start();
        // A long response: no deadline while it is in progress.
        let waited = tokio::time::timeout(Duration::from_secs(300), w.read(&mut buf)).await;
        assert!(
            waited.is_err(),
            "no deadline while a request is in progress"
        );
        let done = Instant::now();
        drop(guard);
        assert_eq!(w.read(&mut buf).await.unwrap(), 0);
        assert_eq!(done.elapsed(), D.keepalive);
        assert_eq!(ex.timed_out(), Some(Phase::Idle));
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_parked_during_a_response_wakes_when_it_ends() {
        // hyper polls the socket while writing a response, and may not poll it again after:
        // the idle clock must still close a connection whose read was parked before the end.
        let (mut w, ex, mut peer) = pair().await;
        peer.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(w.read(&mut buf).await.unwrap(), 18);
        let guard = ex.start();
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            let n = w.read(&mut buf).await.unwrap();
            (n, Instant::now())
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        let done = Instant::now();
        drop(guard);
        let (n, at) = tokio::time::timeout(Duration::from_secs(600), reader)
            .await
            .expect("the parked read timed out")
            .unwrap();
        assert_eq!(n, 0);
        assert_eq!(at - done, D.keepalive);
        drop(peer);
    }

    #[tokio::test(start_paused = true)]
    async fn an_upgraded_connection_has_no_deadline() {
        let (mut w, ex, mut peer) = pair().await;
        peer.write_all(b"GET /ws HTTP/1.1\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(w.read(&mut buf).await.unwrap(), 20);
        let guard = ex.start();
        guard.upgraded();
        drop(guard);
        let r = tokio::time::timeout(Duration::from_secs(3600), w.read(&mut buf)).await;
        assert!(r.is_err(), "still waiting after an hour");
        assert_eq!(ex.timed_out(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn drain_waits_for_watchers_within_the_deadline() {
        let drain = Drain::new();
        let mut w = drain.watcher();
        tokio::spawn(async move {
            w.signaled().await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            drop(w);
        });
        assert!(drain.drain(Duration::from_secs(5)).await);

        let drain = Drain::new();
        let stuck = drain.watcher();
        assert!(!drain.drain(Duration::from_secs(5)).await);
        drop(stuck);
    }
}
