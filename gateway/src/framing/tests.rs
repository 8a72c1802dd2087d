//! The tracker against every framing, split at every byte.

use std::sync::Arc;

use super::tracker::chunk_size;
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
    let body = "GET /smuggled HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
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
    let (_, _, untracked) = run_all(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
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
