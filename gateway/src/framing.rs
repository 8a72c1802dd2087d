//! Spots requests that carry both `Content-Length` and `Transfer-Encoding`, so they can be refused.
//!
//! RFC 9112 section 6.1 lets a server either reject such a request or process it by
//! `Transfer-Encoding` alone and close the connection. hyper does the latter and removes
//! `Content-Length` from the parsed head, so a handler can no longer tell. The gateway rejects
//! them (a request framed two ways is a smuggling attempt or a broken client), which needs the raw
//! head: [`FramingWatch`] wraps the client connection and follows HTTP/1.1 request framing on the
//! bytes hyper reads, parsing each head with `httparse` (hyper's own parser) and skipping bodies by
//! the same rules hyper applies. It records one verdict per request head, in order; the server pops
//! one per request it dispatches (HTTP/1.1 handles a connection's requests one at a time).
//!
//! It only observes: bytes pass through unchanged. On anything it cannot follow (an upgrade, a
//! head hyper will refuse anyway) it stops recording, and later requests get no verdict, which
//! means "not flagged": the fallback is hyper's own safe handling.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Request extension: this request carried both `Content-Length` and `Transfer-Encoding`.
#[derive(Clone, Copy, Debug)]
pub struct Ambiguous;

/// The verdicts for one connection's requests, in arrival order.
#[derive(Default)]
pub struct Verdicts(Mutex<VecDeque<bool>>);

impl Verdicts {
    /// Whether the next dispatched request was framed ambiguously.
    pub fn next_is_ambiguous(&self) -> bool {
        self.0
            .lock()
            .map(|mut q| q.pop_front())
            .ok()
            .flatten()
            .unwrap_or(false)
    }

    fn push(&self, ambiguous: bool) {
        if let Ok(mut q) = self.0.lock() {
            q.push_back(ambiguous);
        }
    }
}

/// Where the tracker is in the request stream.
#[derive(Debug, PartialEq)]
enum State {
    Head,
    Fixed(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkCrlf(u8),
    Trailers,
    Stopped,
}

/// Follows request framing over a byte stream.
pub struct Tracker {
    state: State,
    buf: Vec<u8>,
    max_head: usize,
    max_headers: usize,
    verdicts: Arc<Verdicts>,
}

impl Tracker {
    pub fn new(max_head: usize, max_headers: usize, verdicts: Arc<Verdicts>) -> Self {
        Self {
            state: State::Head,
            buf: Vec::new(),
            max_head,
            max_headers,
            verdicts,
        }
    }

    /// Feeds bytes read from the client.
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match self.state {
                State::Stopped => return,
                State::Head | State::ChunkSize | State::Trailers => {
                    // Collect up to the end of the head or line.
                    let end: &[u8] = if self.state == State::Head {
                        b"\r\n\r\n"
                    } else {
                        b"\r\n"
                    };
                    let before = self.buf.len();
                    self.buf.extend_from_slice(data);
                    let search_from = before.saturating_sub(end.len() - 1);
                    match find(&self.buf[search_from..], end) {
                        Some(pos) => {
                            let cut = search_from + pos + end.len();
                            let consumed = cut - before;
                            data = &data[consumed..];
                            self.buf.truncate(cut);
                            let mut unit = std::mem::take(&mut self.buf);
                            self.complete(&unit);
                            unit.clear();
                            self.buf = unit; // keep the allocation for the next head
                        }
                        None => {
                            if self.buf.len() > self.max_head {
                                self.state = State::Stopped;
                            }
                            return;
                        }
                    }
                }
                State::Fixed(n) | State::ChunkData(n) => {
                    let take = (data.len() as u64).min(n);
                    data = &data[take as usize..];
                    let left = n - take;
                    self.state = match (&self.state, left) {
                        (State::Fixed(_), 0) => State::Head,
                        (State::Fixed(_), l) => State::Fixed(l),
                        (_, 0) => State::ChunkCrlf(2),
                        (_, l) => State::ChunkData(l),
                    };
                }
                State::ChunkCrlf(n) => {
                    let take = data.len().min(n as usize);
                    data = &data[take..];
                    let left = n - take as u8;
                    self.state = if left == 0 {
                        State::ChunkSize
                    } else {
                        State::ChunkCrlf(left)
                    };
                }
            }
        }
    }

    fn complete(&mut self, unit: &[u8]) {
        self.state = match self.state {
            State::Head => self.head(unit),
            State::ChunkSize => match httparse::parse_chunk_size(unit) {
                Ok(httparse::Status::Complete((_, 0))) => State::Trailers,
                Ok(httparse::Status::Complete((_, n))) => State::ChunkData(n),
                _ => State::Stopped,
            },
            State::Trailers if unit == b"\r\n" => State::Head,
            State::Trailers => State::Trailers,
            _ => State::Stopped,
        }
    }

    fn head(&mut self, unit: &[u8]) -> State {
        // Empty lines before a request line are ignored (RFC 9112 section 2.2).
        let start = unit
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(unit.len());
        let unit = &unit[start..];
        if unit.is_empty() {
            return State::Head;
        }
        let mut on_stack = [httparse::EMPTY_HEADER; 128];
        let mut on_heap = Vec::new();
        let headers: &mut [httparse::Header<'_>] = if self.max_headers <= on_stack.len() {
            &mut on_stack[..self.max_headers]
        } else {
            on_heap.resize(self.max_headers, httparse::EMPTY_HEADER);
            &mut on_heap
        };
        let mut req = httparse::Request::new(headers);
        if !matches!(req.parse(unit), Ok(httparse::Status::Complete(_))) {
            return State::Stopped;
        }
        let mut content_length: Option<u64> = None;
        let mut chunked = None;
        let mut upgrade = req.method == Some("CONNECT");
        for h in req.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                content_length = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|v| v.trim().parse().ok());
                if content_length.is_none() {
                    return State::Stopped;
                }
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                let last = h.value.rsplit(|&b| b == b',').next().unwrap_or(b"");
                chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            } else if h.name.eq_ignore_ascii_case("upgrade") {
                upgrade = true;
            }
        }
        self.verdicts
            .push(content_length.is_some() && chunked.is_some());
        if upgrade {
            // What follows may be another protocol: stop following.
            return State::Stopped;
        }
        match (chunked, content_length) {
            (Some(true), _) => State::ChunkSize,
            (Some(false), _) => State::Stopped,
            (None, Some(0)) | (None, None) => State::Head,
            (None, Some(n)) => State::Fixed(n),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pin_project_lite::pin_project! {
    /// A client connection whose incoming bytes are shown to a [`Tracker`].
    pub struct FramingWatch<IO> {
        #[pin]
        io: IO,
        tracker: Tracker,
    }
}

impl<IO> FramingWatch<IO> {
    pub fn new(io: IO, tracker: Tracker) -> Self {
        Self { io, tracker }
    }
}

impl<IO: AsyncRead> AsyncRead for FramingWatch<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let res = this.io.poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res {
            this.tracker.feed(&buf.filled()[before..]);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `stream` split at every position and in single bytes; all must agree.
    fn verdicts(stream: &[u8]) -> Vec<bool> {
        let run = |pieces: Vec<&[u8]>| {
            let v = Arc::new(Verdicts::default());
            let mut t = Tracker::new(16384, 100, v.clone());
            for p in pieces {
                t.feed(p);
            }
            let out: Vec<bool> = v.0.lock().unwrap().iter().copied().collect();
            out
        };
        let whole = run(vec![stream]);
        for split in 0..stream.len() {
            assert_eq!(
                run(vec![&stream[..split], &stream[split..]]),
                whole,
                "split at {split}"
            );
        }
        assert_eq!(run(stream.chunks(1).collect()), whole, "byte by byte");
        whole
    }

    #[test]
    fn follows_keep_alive_requests_with_every_framing() {
        let stream = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\
POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello\
POST /y HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n13\r\nContent-Length: 1\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n\
\r\nPOST /z HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n\
GET /after HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(verdicts(stream), [false, false, false, true, false]);
    }

    #[test]
    fn header_lookalikes_in_bodies_are_not_heads() {
        let body =
            "GET /smuggled HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        let stream = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}GET / HTTP/1.1\r\n\r\n",
            body.len()
        );
        assert_eq!(verdicts(stream.as_bytes()), [false, false]);
    }

    #[test]
    fn stops_on_what_it_cannot_follow() {
        assert_eq!(verdicts(b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nGET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"), [false]);
        assert_eq!(
            verdicts(b"garbage\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
            Vec::<bool>::new()
        );
    }
}
