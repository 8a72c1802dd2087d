//! Raw HTTP/1.1 over `TcpStream`, for tests that must see (or send) exactly the bytes on the wire.
//!
//! Blocking ([`exchange`]) and tokio ([`raw`], [`read_until_close`], [`read_head`],
//! [`read_response`], [`wait_closed`]) helpers share one request writer ([`request`]) and one
//! answer parser ([`Response::parse`]).

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An HTTP/1.1 answer as read off the wire.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// The first line, e.g. `HTTP/1.1 200 OK`.
    pub status_line: String,
    /// The status code (0 when the status line has none).
    pub status: u16,
    /// The header fields in order, names as sent, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body, with a chunked transfer coding removed (lossy UTF-8).
    pub body: String,
}

impl Response {
    /// Parses a whole answer: head, blank line, body to the end of `raw` (a chunked body is
    /// decoded). Lenient by design: a truncated answer parses as far as it goes.
    pub fn parse(raw: &[u8]) -> Response {
        let (head, body) = match find(raw, b"\r\n\r\n") {
            Some(end) => (&raw[..end], &raw[end + 4..]),
            None => (raw, &[][..]),
        };
        let head = String::from_utf8_lossy(head);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default().to_owned();
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let chunked = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("transfer-encoding")
                && v.to_ascii_lowercase().contains("chunked")
        });
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_vec()
        };
        Response {
            status_line,
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// The bytes of an HTTP/1.1 request: the request line, `headers` in the order given, then a
/// `Content-Length` for `body` unless `headers` already frame it (`Content-Length` or
/// `Transfer-Encoding`), the blank line and `body`.
pub fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let framed = headers.iter().any(|(name, _)| {
        name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
    });
    if !framed {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Blocking: writes `request` on a fresh connection to `addr` and reads the answer until the peer
/// closes. An error if the connection fails or nothing ends the answer within `limit` between
/// reads.
pub fn exchange(addr: SocketAddr, request: &[u8], limit: Duration) -> io::Result<Response> {
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(limit))?;
    stream.write_all(request)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    Ok(Response::parse(&raw))
}

/// Writes `request` on a fresh connection to `addr` and returns what comes back until the peer
/// closes or 5 s pass (lossy UTF-8). Panics if the connection or the write fails.
pub async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    s.write_all(request)
        .await
        .unwrap_or_else(|e| panic!("writing to {addr}: {e}"));
    read_until_close(&mut s, Duration::from_secs(5)).await
}

/// Everything `s` delivers until the peer closes, an error, or `limit` passes (then what came
/// until then), as lossy UTF-8.
pub async fn read_until_close(s: &mut tokio::net::TcpStream, limit: Duration) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(limit, s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// One message head, up to and including the blank line, read byte by byte so that nothing after
/// it is consumed. Shorter if the peer closes first (empty if it sent nothing).
pub async fn read_head(s: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte).await {
            Ok(1) => buf.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// One response on a kept-alive connection, framed by its `Content-Length`.
///
/// Errors: `TimedOut` when it is not complete within `limit`, `UnexpectedEof` when the peer closes
/// first, `InvalidData` when the head has no `Content-Length` or more bytes follow the response in
/// the same read (a peer that answered twice).
pub async fn read_response(s: &mut tokio::net::TcpStream, limit: Duration) -> io::Result<Response> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout_at(deadline, s.read(&mut chunk))
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no whole response within {limit:?}: {:?}",
                        String::from_utf8_lossy(&buf)
                    ),
                )
            })??;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "connection closed before the response ended: {:?}",
                    String::from_utf8_lossy(&buf)
                ),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = find(&buf, b"\r\n\r\n") else {
            continue;
        };
        let length = content_length(&buf[..end]).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a response head without Content-Length: {:?}",
                    String::from_utf8_lossy(&buf[..end])
                ),
            )
        })?;
        let total = end + 4 + length;
        if buf.len() > total {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} bytes after the response: {:?}",
                    buf.len() - total,
                    String::from_utf8_lossy(&buf[total..])
                ),
            ));
        }
        if buf.len() == total {
            return Ok(Response::parse(&buf));
        }
    }
}

/// Waits for the peer to close `s` (end of stream or an error such as a reset) and returns how
/// long that took. Errors: `TimedOut` if it is still open after `limit`, `InvalidData` if bytes
/// arrive instead.
pub async fn wait_closed(s: &mut tokio::net::TcpStream, limit: Duration) -> io::Result<Duration> {
    let start = Instant::now();
    let mut chunk = [0u8; 256];
    match tokio::time::timeout(limit, s.read(&mut chunk)).await {
        Ok(Ok(0)) | Ok(Err(_)) => Ok(start.elapsed()),
        Ok(Ok(n)) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "unexpected bytes: {:?}",
                String::from_utf8_lossy(&chunk[..n])
            ),
        )),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("still open after {limit:?}"),
        )),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> Option<usize> {
    String::from_utf8_lossy(head)
        .split("\r\n")
        .skip(1)
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
}

/// Removes a chunked transfer coding; stops at the last chunk or where the body is cut short.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = find(body, b"\r\n") {
        let size_field = String::from_utf8_lossy(&body[..line_end]);
        // Chunk extensions (`;name=value`) carry nothing a test reads.
        let size = size_field.split(';').next().unwrap_or_default().trim();
        let Ok(n) = usize::from_str_radix(size, 16) else {
            break;
        };
        let rest = &body[line_end + 2..];
        if n == 0 || rest.len() < n {
            break;
        }
        out.extend_from_slice(&rest[..n]);
        body = rest[n..].strip_prefix(b"\r\n").unwrap_or(&rest[n..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_head_headers_and_a_plain_body() {
        let r = Response::parse(
            b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nX-Amzn-ErrorType: Nope\r\n\r\n{\"a\": 1}",
        );
        assert_eq!(r.status_line, "HTTP/1.1 404 Not Found");
        assert_eq!(r.status, 404);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("x-amzn-errortype"), Some("Nope"));
        assert_eq!(r.header("missing"), None);
        assert_eq!(r.json()["a"], 1);
    }

    #[test]
    fn decodes_chunked_bodies_with_extensions_and_stops_where_cut() {
        let r = Response::parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n",
        );
        assert_eq!(r.body, "hello world");
        let cut = Response::parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
        assert_eq!(cut.body, "");
    }

    #[test]
    fn a_head_without_a_blank_line_parses_as_far_as_it_goes() {
        let r = Response::parse(b"HTTP/1.1 502 Bad Gateway\r\nA: b");
        assert_eq!(r.status, 502);
        assert_eq!(r.header("a"), Some("b"));
        assert_eq!(r.body, "");
        assert_eq!(Response::parse(b"").status, 0);
    }

    #[test]
    fn requests_carry_headers_in_order_and_frame_the_body_once() {
        let r = request("POST", "/x?y=1", &[("Host", "h"), ("A", "b")], b"body");
        assert_eq!(
            r,
            b"POST /x?y=1 HTTP/1.1\r\nHost: h\r\nA: b\r\nContent-Length: 4\r\n\r\nbody"
        );
        let r = request("GET", "/", &[("content-length", "0")], b"");
        assert_eq!(r, b"GET / HTTP/1.1\r\ncontent-length: 0\r\n\r\n");
        let r = request(
            "POST",
            "/",
            &[("Transfer-Encoding", "chunked")],
            b"0\r\n\r\n",
        );
        assert_eq!(
            r,
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        );
    }

    #[test]
    fn content_length_is_read_from_the_head_only() {
        assert_eq!(
            content_length(b"HTTP/1.1 200 OK\r\ncontent-LENGTH: 12"),
            Some(12)
        );
        assert_eq!(
            content_length(b"HTTP/1.1 200 OK\r\nX: content-length: 3"),
            None
        );
        assert_eq!(content_length(b"content-length: 3"), None);
    }
}
