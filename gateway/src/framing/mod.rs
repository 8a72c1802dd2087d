//! The gateway's own reading of request framing, on the raw bytes, before hyper parses them.
//!
//! Three jobs, all of which need the raw head that hyper does not expose:
//!
//! - **Both `Content-Length` and `Transfer-Encoding`.** RFC 9112 section 6.1 lets a server either
//!   reject such a request or process it by `Transfer-Encoding` alone and close the connection.
//!   hyper does the latter and removes `Content-Length` from the parsed head, so a handler can no
//!   longer tell. The gateway rejects them (a request framed two ways is a smuggling attempt or a
//!   broken client): [`Tracker`] records one verdict per request head, in order, and the server
//!   pops one per request it dispatches (HTTP/1.1 handles a connection's requests one at a time).
//! - **Heads hyper would refuse with an empty answer.** A head over `max_header_bytes` or with more
//!   than `max_headers` fields (431), or one hyper cannot parse (400: a bad request line, header
//!   syntax, `Content-Length`, `Transfer-Encoding` not ending in `chunked`, `Transfer-Encoding` on
//!   HTTP/1.0) is answered here, with the same JSON body, request id, region header, access-log
//!   line and metric as every other refusal, and the connection is closed (as nginx does after a
//!   400). hyper's own limits are set at or above the gateway's ([`hard_limits`]) so it never sees such
//!   a head first.
//! - **Following the stream.** Bodies are skipped by the rules hyper applies (RFC 9112 sections
//!   6 and 7.1), with hyper's tolerance for chunk sizes (leading zeros, whitespace, extensions),
//!   so the next head is found where hyper finds it. When the tracker cannot follow (an upgrade
//!   or CONNECT, whose bytes may become another protocol, or a chunk line hyper will refuse too)
//!   it stops, and marks the connection [`Verdicts::untracked`]: the server then closes it after
//!   the current exchange, so no later request on it goes unchecked.
//!
//! It only observes bytes on their way to hyper; the one exception is a refused head, whose bytes
//! are withheld from hyper and answered here.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};

use http::HeaderValue;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[cfg(test)]
mod tests;
mod tracker;

pub use tracker::Tracker;

/// Request extension: this request carried both `Content-Length` and `Transfer-Encoding`.
#[derive(Clone, Copy, Debug)]
pub struct Ambiguous;

/// hyper's own limits (read buffer, header count) for the gateway's. The buffer is twice the
/// gateway's head limit, so the [`Tracker`] always sees an oversized head first and answers it.
/// The header count is the same: the tracker refuses a head with more fields before hyper parses
/// it, and at the default (100) hyper keeps its header array on the stack.
pub fn hard_limits(max_header_bytes: usize, max_headers: usize) -> (usize, usize) {
    (
        max_header_bytes.saturating_mul(2).max(8192 * 2),
        max_headers,
    )
}

/// The verdicts for one connection's requests, in arrival order.
#[derive(Default)]
pub struct Verdicts {
    queue: Mutex<VecDeque<bool>>,
    untracked: AtomicBool,
}

impl Verdicts {
    /// Whether the next dispatched request was framed ambiguously.
    pub fn next_is_ambiguous(&self) -> bool {
        self.queue
            .lock()
            .map(|mut q| q.pop_front())
            .ok()
            .flatten()
            .unwrap_or(false)
    }

    /// The tracker stopped following this connection: it must not carry another request.
    pub fn untracked(&self) -> bool {
        self.untracked.load(Ordering::Relaxed)
    }

    fn push(&self, ambiguous: bool) {
        if let Ok(mut q) = self.queue.lock() {
            q.push_back(ambiguous);
        }
    }
}

pin_project_lite::pin_project! {
    /// A client connection whose incoming bytes are shown to a [`Tracker`].
    pub struct FramingWatch<IO> {
        #[pin]
        io: IO,
        tracker: Tracker,
        region: HeaderValue,
    }
}

impl<IO> FramingWatch<IO> {
    /// `region` goes into the `x-gateway-region` field of a refusal written here.
    pub fn new(io: IO, tracker: Tracker, region: HeaderValue) -> Self {
        Self {
            io,
            tracker,
            region,
        }
    }
}

impl<IO: AsyncRead + AsyncWrite> AsyncRead for FramingWatch<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut this = self.project();
        let before = buf.filled().len();
        let res = this.io.as_mut().poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res {
            if let Err(refusal) = this.tracker.feed(&buf.filled()[before..]) {
                // Withhold the head from hyper, answer it, and end the connection. The answer is
                // small and the socket's send buffer is empty between exchanges, so one write
                // takes it; if it does not, the client sees the connection close.
                buf.set_filled(before);
                let request_id = crate::telemetry::new_request_id();
                let answer = refusal.raw_response(&request_id, this.region);
                let _ = this.io.as_mut().poll_write(cx, &answer);
                let _ = this.io.as_mut().poll_flush(cx);
                crate::telemetry::refused(&refusal, &request_id);
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("refused request head: {}", refusal.code()),
                )));
            }
        }
        res
    }
}
impl<IO: AsyncWrite> AsyncWrite for FramingWatch<IO> {
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
