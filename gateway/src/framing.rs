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
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::HeaderValue;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::ProxyError;

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

    /// Feeds bytes read from the client. An error is a head to refuse; the tracker stops.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), ProxyError> {
        while !data.is_empty() {
            match self.state {
                State::Stopped => return Ok(()),
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
                            let done = self.complete(&unit);
                            unit.clear();
                            self.buf = unit; // keep the allocation for the next head
                            if let Err(e) = done {
                                self.stop();
                                return Err(e);
                            }
                        }
                        None => {
                            if self.buf.len() > self.max_head {
                                let head = self.state == State::Head;
                                self.stop();
                                if head {
                                    return Err(ProxyError::HeadersTooLarge);
                                }
                            }
                            return Ok(());
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
        Ok(())
    }

    fn stop(&mut self) {
        self.state = State::Stopped;
        self.buf = Vec::new();
        self.verdicts.untracked.store(true, Ordering::Relaxed);
    }

    fn complete(&mut self, unit: &[u8]) -> Result<(), ProxyError> {
        self.state = match self.state {
            State::Head => self.head(unit)?,
            State::ChunkSize => match chunk_size(unit) {
                Some(0) => State::Trailers,
                Some(n) => State::ChunkData(n),
                // hyper refuses this chunk line too and closes: nothing to answer here.
                None => State::Stopped,
            },
            State::Trailers if unit == b"\r\n" => State::Head,
            State::Trailers => State::Trailers,
            _ => State::Stopped,
        };
        if self.state == State::Stopped {
            self.stop();
        }
        Ok(())
    }

    fn head(&mut self, unit: &[u8]) -> Result<State, ProxyError> {
        // Empty lines before a request line are ignored (RFC 9112 section 2.2).
        let start = unit
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(unit.len());
        let unit = &unit[start..];
        if unit.is_empty() {
            return Ok(State::Head);
        }
        if unit.len() > self.max_head {
            return Err(ProxyError::HeadersTooLarge);
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
        match req.parse(unit) {
            Ok(httparse::Status::Complete(_)) => {}
            Err(httparse::Error::TooManyHeaders) => return Err(ProxyError::HeadersTooLarge),
            Ok(httparse::Status::Partial) | Err(_) => {
                return Err(ProxyError::MalformedRequest(
                    "the request head cannot be parsed",
                ))
            }
        }
        // What hyper checks after httparse (hyper's `Server::parse`), refused here with a body.
        if http::Uri::try_from(req.path.unwrap_or_default()).is_err() {
            return Err(ProxyError::MalformedRequest(
                "the request target is not a valid URI",
            ));
        }
        let http_11 = req.version == Some(1);
        let mut content_length: Option<u64> = None;
        let mut chunked = None;
        let mut upgrade = req.method == Some("CONNECT");
        for h in req.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let len = digits(h.value).ok_or(ProxyError::MalformedRequest(
                    "Content-Length is not a number",
                ))?;
                if content_length.is_some_and(|prev| prev != len) {
                    return Err(ProxyError::MalformedRequest(
                        "Content-Length fields disagree",
                    ));
                }
                content_length = Some(len);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                if !http_11 {
                    // RFC 9112 section 6.1: Transfer-Encoding is not defined for HTTP/1.0.
                    return Err(ProxyError::MalformedRequest(
                        "Transfer-Encoding is not allowed in HTTP/1.0",
                    ));
                }
                let last = h.value.rsplit(|&b| b == b',').next().unwrap_or(b"");
                chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            } else if h.name.eq_ignore_ascii_case("upgrade") {
                upgrade |= http_11;
            }
        }
        if chunked == Some(false) {
            // RFC 9112 section 6.3: a request whose final coding is not chunked has no length.
            return Err(ProxyError::MalformedRequest(
                "Transfer-Encoding must end with chunked",
            ));
        }
        self.verdicts
            .push(content_length.is_some() && chunked.is_some());
        if upgrade {
            // What follows may be another protocol: stop following.
            return Ok(State::Stopped);
        }
        Ok(match (chunked, content_length) {
            (Some(_), _) => State::ChunkSize,
            (None, Some(0)) | (None, None) => State::Head,
            (None, Some(n)) => State::Fixed(n),
        })
    }
}

/// A Content-Length value as hyper reads it: ASCII digits only, no sign, no overflow.
fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    value.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// A chunk-size line (`line` ends with CRLF) as hyper's decoder reads it: hex digits with any
/// number of leading zeros and no overflow, then optional spaces or tabs, then an optional
/// extension (`;...`) without a bare LF.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r\n")?;
    let hex_len = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if hex_len == 0 {
        return None;
    }
    let size = line[..hex_len].iter().try_fold(0u64, |n, &d| {
        let v = (d as char).to_digit(16)? as u64;
        n.checked_mul(16)?.checked_add(v)
    })?;
    let rest = &line[hex_len..];
    let ws = rest
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    match &rest[ws..] {
        [] => Some(size),
        [b';', ext @ ..] if !ext.contains(&b'\n') && !ext.contains(&b'\r') => Some(size),
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `stream` split at every position and in single bytes; all must agree. Returns the
    /// verdicts, the refusal's code if one came, and whether the tracker stopped following.
    fn run_all(stream: &[u8]) -> (Vec<bool>, Option<&'static str>, bool) {
        let run = |pieces: Vec<&[u8]>| {
            let v = Arc::new(Verdicts::default());
            let mut t = Tracker::new(16384, 100, v.clone());
            let mut refused = None;
            for p in pieces {
                if let Err(e) = t.feed(p) {
                    refused = Some(e.code());
                    break;
                }
            }
            let out: Vec<bool> = v.queue.lock().unwrap().iter().copied().collect();
            (out, refused, v.untracked())
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

    fn verdicts(stream: &[u8]) -> Vec<bool> {
        let (v, refused, untracked) = run_all(stream);
        assert_eq!(refused, None);
        assert!(!untracked);
        v
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
    fn chunk_sizes_are_read_as_leniently_as_hyper_reads_them() {
        // 17 hex digits with leading zeros, whitespace before an extension: hyper accepts both,
        // so the tracker must follow them to find the next head.
        let stream = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
00000000000000003\r\nabc\r\n2 \t;name=value\r\nde\r\n0\r\n\r\n\
POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        assert_eq!(verdicts(stream), [false, true]);
        assert_eq!(chunk_size(b"ffffffffffffffff\r\n"), Some(u64::MAX));
        assert_eq!(chunk_size(b"10000000000000000\r\n"), None, "overflow");
        assert_eq!(chunk_size(b"\r\n"), None);
        assert_eq!(chunk_size(b"3x\r\n"), None);
    }

    #[test]
    fn stops_on_upgrades_and_marks_the_connection() {
        let (v, refused, untracked) = run_all(b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nGET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!((v, refused, untracked), (vec![false], None, true));
        let (_, _, untracked) =
            run_all(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
        assert!(untracked, "a chunk line hyper refuses too");
    }

    #[test]
    fn refuses_what_hyper_would_refuse_without_a_body() {
        let refused = |s: &[u8]| run_all(s).1;
        assert_eq!(refused(b"garbage\r\n\r\n"), Some("bad_request"));
        assert_eq!(
            refused(b"GET / HTTP/1.1\r\nContent-Length: +5\r\n\r\n"),
            Some("bad_request")
        );
        assert_eq!(
            refused(b"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
            Some("bad_request")
        );
        assert_eq!(
            refused(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
            Some("bad_request")
        );
        assert_eq!(
            refused(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Some("bad_request")
        );
        let many: String = (0..101).map(|i| format!("x-{i}: 1\r\n")).collect();
        assert_eq!(
            refused(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()),
            Some("headers_too_large")
        );
        let big = "a".repeat(17000);
        assert_eq!(
            refused(format!("GET / HTTP/1.1\r\nx: {big}\r\n\r\n").as_bytes()),
            Some("headers_too_large")
        );
        assert_eq!(
            refused(format!("GET / HTTP/1.1\r\nx: {big}").as_bytes()),
            Some("headers_too_large")
        );
    }
}
