//! [`Tracker`]: follows request framing over a connection's raw bytes (heads, bodies by
//! `Content-Length` or chunks, trailers) and records a verdict per head.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Verdicts;
use crate::error::ProxyError;

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
pub(super) fn chunk_size(line: &[u8]) -> Option<u64> {
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
