//! What hostile clients, load balancers and odd upstreams do to the gateway, over raw sockets:
//! connection deadlines, refusals the HTTP library would make, Host and request-id rules, and
//! upstream answers that are cut short, framed twice or sent early.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn one_service(server_extra: &str, route_extra: &str) -> TestGateway {
    let s = service("service1", "us-east-1").await;
    gateway_to(
        "service1",
        &format!("http://{s}"),
        route_extra,
        server_extra,
    )
    .await
}

/// An upstream that counts requests and answers each with `answer` (raw bytes), then closes.
async fn scripted_upstream(answer: &'static [u8]) -> (SocketAddr, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let addr = fake_upstream(move |mut s| {
        let counter = counter.clone();
        async move {
            let head = read_head(&mut s).await;
            if head.is_empty() {
                return;
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = s.write_all(answer).await;
            let _ = s.shutdown().await;
        }
    })
    .await;
    (addr, seen)
}

/// Splits a raw HTTP/1.1 answer into its head (lower-cased) and body.
fn split(answer: &str) -> (String, String) {
    match answer.split_once("\r\n\r\n") {
        Some((head, body)) => (head.to_ascii_lowercase(), body.to_owned()),
        None => (answer.to_ascii_lowercase(), String::new()),
    }
}

/// Asserts a refusal: the status, a JSON body with `error` and the request id that the
/// `x-request-id` field carries, and the gateway's region.
fn assert_json_refusal(answer: &str, status: u16, error: &str) {
    let (head, body) = split(answer);
    assert!(
        head.starts_with(&format!("http/1.1 {status}")),
        "expected {status}: {answer}"
    );
    assert!(head.contains("content-type: application/json"), "{answer}");
    assert!(head.contains("x-gateway-region: us-east-1"), "{answer}");
    let id = head
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .unwrap_or_else(|| panic!("no x-request-id: {answer}"))
        .to_owned();
    let v = json(&body);
    assert_eq!(v["error"], error, "{answer}");
    assert_eq!(v["request_id"].as_str().unwrap().to_ascii_lowercase(), id);
    assert!(!id.is_empty());
}

// 1. A connection that never sends a byte is closed at header_read_timeout, and while the
//    connection limit is full of them a real client still gets in once they are closed.
#[tokio::test]
async fn silent_connections_are_closed_and_do_not_lock_others_out() {
    let gw = one_service(
        "header_read_timeout = \"500ms\"\nmax_connections = 4\nworkers = 1",
        "",
    )
    .await;
    let start = Instant::now();
    let mut silent = Vec::new();
    for _ in 0..4 {
        silent.push(TcpStream::connect(gw.addr).await.unwrap());
    }
    // The fifth client waits in the backlog until a slot frees.
    let url = gw.url("/service1");
    let normal = tokio::spawn(async move { get(&url).await });
    for mut s in silent {
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("a silent connection is closed within the bound")
            .unwrap_or(0);
        assert_eq!(n, 0, "closed without an answer");
    }
    assert!(start.elapsed() >= Duration::from_millis(450));
    let (status, _, body) = normal.await.unwrap();
    assert_eq!(status, 200, "{body}");
    let m = gw.metrics().await;
    assert!(
        metric(&m, "gateway_client_timeouts_total", &[("phase", "silent")]).unwrap_or(0.0) >= 4.0,
        "{m}"
    );
}

// 2. Idle keep-alive has its own timeout, longer than the header timeout (an ALB keeps idle
//    connections for 60 s; the default here is 75 s); a started head still has header_read.
#[tokio::test]
async fn idle_keep_alive_outlasts_the_header_timeout() {
    let gw = one_service(
        "header_read_timeout = \"300ms\"\nkeepalive_timeout = \"1500ms\"",
        "",
    )
    .await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    let req = b"GET /service1 HTTP/1.1\r\nHost: a\r\n\r\n";
    for _ in 0..2 {
        s.write_all(req).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        // Idle well past header_read_timeout: the connection must still be usable.
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    let idle_from = Instant::now();
    let rest = read_until_close(&mut s, Duration::from_secs(5)).await;
    let idle = idle_from.elapsed() + Duration::from_millis(800);
    assert!(rest.is_empty(), "{rest}");
    assert!(
        idle >= Duration::from_millis(1000) && idle < Duration::from_secs(5),
        "closed after {idle:?} idle"
    );

    // The gateway's own answer (a body complete with its head) starts the idle clock too, even
    // if the client never sends another byte.
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let start = Instant::now();
    let answer = read_until_close(&mut s, Duration::from_secs(6)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let open = start.elapsed();
    assert!(
        open >= Duration::from_millis(1000) && open < Duration::from_secs(5),
        "closed after {open:?}"
    );

    // A head that has started must finish within header_read_timeout.
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET /service1 HT").await.unwrap();
    let start = Instant::now();
    read_until_close(&mut s, Duration::from_secs(5)).await;
    assert!(start.elapsed() < Duration::from_millis(1200));
    let m = gw.metrics().await;
    assert!(metric(&m, "gateway_client_timeouts_total", &[("phase", "idle")]).is_some());
    assert!(metric(&m, "gateway_client_timeouts_total", &[("phase", "header")]).is_some());
}

// 3. An HTTP/1.0 upstream's close-delimited body goes out as HTTP/1.1 chunked: a reset mid-body
//    shows as a missing last chunk, a complete body ends with one.
#[tokio::test]
async fn close_delimited_upstream_bodies_keep_their_end_visible() {
    let cut = fake_upstream(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\npartial body")
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        #[allow(deprecated)]
        let _ = s.set_linger(Some(Duration::ZERO));
        drop(s); // RST
    })
    .await;
    let gw = gateway_to("cut", &format!("http://{cut}"), "", "").await;
    let answer = raw(
        gw.addr,
        b"GET /cut HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    let (head, body) = split(&answer);
    assert!(head.starts_with("http/1.1 200"), "{answer}");
    assert!(head.contains("transfer-encoding: chunked"), "{answer}");
    assert!(body.contains("partial body"), "{answer}");
    assert!(
        !body.ends_with("0\r\n\r\n"),
        "truncation is visible: {answer:?}"
    );

    let (whole, _) = scripted_upstream(b"HTTP/1.0 200 OK\r\n\r\ncomplete").await;
    let gw = gateway_to("whole", &format!("http://{whole}"), "", "").await;
    let answer = raw(
        gw.addr,
        b"GET /whole HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    let (head, body) = split(&answer);
    assert!(head.starts_with("http/1.1 200"), "{answer}");
    assert!(
        body.ends_with("0\r\n\r\n") && body.contains("complete"),
        "{answer:?}"
    );
}

// 4. A response framed by both Transfer-Encoding and Content-Length: the length goes.
#[tokio::test]
async fn content_length_beside_transfer_encoding_is_removed_from_responses() {
    let (up, _) = scripted_upstream(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    )
    .await;
    let gw = gateway_to("both", &format!("http://{up}"), "", "").await;
    let answer = raw(
        gw.addr,
        b"GET /both HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    let (head, body) = split(&answer);
    assert!(head.starts_with("http/1.1 200"), "{answer}");
    assert!(!head.contains("content-length: 3"), "{answer}");
    assert_eq!(body, "5\r\nhello\r\n0\r\n\r\n", "{answer:?}");
}

// 5. CONNECT (and TRACE) under a route: 405 with allow, before the upstream hears of it, and
//    the metric (like the log line) says 405.
#[tokio::test]
async fn connect_and_trace_are_refused_before_proxying() {
    let (up, seen) = scripted_upstream(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
    let gw = gateway_to("tunnel", &format!("http://{up}"), "", "").await;
    for req in [
        &b"CONNECT /tunnel/x HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        b"CONNECT service1.example.com:443 HTTP/1.1\r\nHost: service1.example.com:443\r\n\r\n",
        b"TRACE /tunnel/x HTTP/1.1\r\nHost: a\r\n\r\n",
    ] {
        let answer = raw(gw.addr, req).await;
        assert_json_refusal(&answer, 405, "method_not_allowed");
        assert!(
            split(&answer).0.contains("allow: get, head, post"),
            "{answer}"
        );
    }
    assert_eq!(
        seen.load(Ordering::SeqCst),
        0,
        "the upstream never saw them"
    );
    // Metrics are process-wide and tests run in parallel: other tests only add to these.
    let m = gw.metrics().await;
    assert!(
        metric(
            &m,
            "gateway_requests_total",
            &[("route", "none"), ("status", "405")]
        )
        .unwrap_or(0.0)
            >= 3.0,
        "{m}"
    );
    assert_eq!(
        metric(&m, "gateway_requests_total", &[("route", "tunnel")]),
        None,
        "no request was counted as proxied: {m}"
    );
}

// 6. An upstream that answers before reading the whole body (service1 refuses bodies over
//    64 KiB with 413 and closes): the client gets that answer, not a 502, every time.
#[tokio::test]
async fn early_upstream_answers_are_relayed() {
    let gw = one_service("", "").await;
    let body = Bytes::from(vec![b'x'; 5 * 1024 * 1024]);
    let mut wrong = Vec::new();
    for i in 0..50 {
        let req = http::Request::put(gw.url("/service1/items/1"))
            .header("content-type", "application/json")
            .body(Full::new(body.clone()))
            .unwrap();
        let status =
            match tokio::time::timeout(Duration::from_secs(20), client().request(req)).await {
                Ok(Ok(resp)) => resp.status().as_u16(),
                Ok(Err(e)) => {
                    wrong.push(format!("#{i}: client error {e:?}"));
                    continue;
                }
                Err(_) => {
                    wrong.push(format!("#{i}: no answer in 20 s"));
                    continue;
                }
            };
        if status != 413 {
            wrong.push(format!("#{i}: {status}"));
        }
    }
    assert!(wrong.is_empty(), "{} of 50 wrong: {wrong:?}", wrong.len());
}

/// Sends a chunked request head and `first` as one chunk; returns the stream.
async fn start_chunked(addr: SocketAddr, path: &str, first: usize) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n\r\n{first:x}\r\n{}\r\n",
        "a".repeat(first)
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s
}

// 7. A chunked body over max_body_bytes: 413 when no response head was sent; once one was,
//    the response is aborted (no last chunk), and counted either way.
#[tokio::test]
async fn chunked_bodies_over_the_limit_never_look_like_success() {
    let gw = one_service("", "max_body_bytes = 1000").await;

    // The echo endpoint answers as soon as the body starts: the head goes out first.
    let mut s = start_chunked(gw.addr, "/service1/echo", 800).await;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("echo answers while the body streams")
            .unwrap();
        assert!(n > 0, "closed before a head");
        got.extend_from_slice(&buf[..n]);
    }
    let _ = s
        .write_all(format!("{:x}\r\n{}\r\n0\r\n\r\n", 800, "b".repeat(800)).as_bytes())
        .await;
    let rest = read_until_close(&mut s, Duration::from_secs(5)).await;
    let answer = format!("{}{rest}", String::from_utf8_lossy(&got));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        !answer.ends_with("0\r\n\r\n"),
        "the response must not end cleanly: {answer:?}"
    );

    // PUT /items reads the whole body before answering: the gateway's 413 comes first.
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    let big = "c".repeat(1500);
    s.write_all(
        format!(
            "PUT /service1/items/9 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
            big.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let answer = read_until_close(&mut s, Duration::from_secs(5)).await;
    assert_json_refusal(&answer, 413, "body_too_large");

    let m = gw.metrics().await;
    assert_eq!(
        metric(
            &m,
            "gateway_request_body_too_large_total",
            &[("stage", "after_response")]
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "gateway_request_body_too_large_total",
            &[("stage", "before_response")]
        ),
        Some(1.0),
        "{m}"
    );
}

// 8. Refusals the HTTP library would make with an empty body are JSON, with a request id and
//    region, and counted; so are 405s on the gateway's own endpoints.
#[tokio::test]
async fn every_refusal_is_json_with_a_request_id() {
    let gw = one_service("max_header_bytes = 8192\nmax_headers = 20", "").await;
    let big = format!(
        "GET /service1 HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
        "a".repeat(10_000)
    );
    assert_json_refusal(
        &raw(gw.addr, big.as_bytes()).await,
        431,
        "headers_too_large",
    );
    let mut many = String::from("GET /service1 HTTP/1.1\r\nHost: a\r\n");
    for i in 0..25 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_json_refusal(
        &raw(gw.addr, many.as_bytes()).await,
        431,
        "headers_too_large",
    );
    for bad in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET /service1 HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n",
        b"GET /service1 HTTP/1.1\r\nHost: a\r\nBad Header: v\r\n\r\n",
        b"POST /service1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
    ] {
        assert_json_refusal(&raw(gw.addr, bad).await, 400, "bad_request");
    }
    let answer = raw(
        gw.addr,
        b"POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_json_refusal(&answer, 405, "method_not_allowed");
    assert!(split(&answer).0.contains("allow: get, head"), "{answer}");

    let m = gw.metrics().await;
    let count = |status| {
        metric(
            &m,
            "gateway_requests_total",
            &[("route", "none"), ("status", status)],
        )
        .unwrap_or(0.0)
    };
    assert!(count("431") >= 2.0 && count("400") >= 4.0, "{m}");
}

// 9. A chunk size the old guard could not read (17 zero-padded hex digits, which hyper accepts)
//    no longer blinds it; and a connection it stops following carries no further request.
#[tokio::test]
async fn the_framing_guard_never_lets_a_later_request_through_unchecked() {
    let (up, seen) = scripted_upstream(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
    let gw = gateway_to("up", &format!("http://{up}"), "", "").await;
    let answer = raw(
        gw.addr,
        b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000003\r\nabc\r\n0\r\n\r\n\
POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains("ambiguous_framing"),
        "second one refused: {answer}"
    );
    assert_eq!(seen.load(Ordering::SeqCst), 1);

    // An upgrade the upstream declines: the guard stopped at the Upgrade head, so the
    // connection closes after this answer and the smuggled-looking request is never read.
    let answer = raw(
        gw.addr,
        b"GET /up HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n\
POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    )
    .await;
    let (head, _) = split(&answer);
    assert!(head.starts_with("http/1.1 200"), "{answer}");
    assert!(head.contains("connection: close"), "{answer}");
    assert_eq!(answer.matches("HTTP/1.1").count(), 1, "{answer}");
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

// 10. Host: missing on HTTP/1.1, repeated, or not a host[:port] -> 400, upstream untouched.
#[tokio::test]
async fn requests_without_one_valid_host_are_refused() {
    let (up, seen) = scripted_upstream(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
    let gw = gateway_to("up", &format!("http://{up}"), "", "").await;
    for req in [
        &b"GET /up HTTP/1.1\r\n\r\n"[..],
        b"GET /up HTTP/1.1\r\nHost: a.example.com\r\nHost: b.example.com\r\n\r\n",
        b"GET /up HTTP/1.1\r\nHost: user@a.example.com\r\n\r\n",
        b"GET /up HTTP/1.1\r\nHost: a.example.com/path\r\n\r\n",
        b"GET /up HTTP/1.1\r\nHost: a.example.com:port\r\n\r\n",
        b"GET /up HTTP/1.1\r\nHost: \r\n\r\n",
    ] {
        assert_json_refusal(&raw(gw.addr, req).await, 400, "bad_host");
    }
    assert_eq!(seen.load(Ordering::SeqCst), 0);
    for ok in [
        &b"GET /up HTTP/1.0\r\n\r\n"[..],
        b"GET /up HTTP/1.1\r\nHost: a.example.com:8443\r\nConnection: close\r\n\r\n",
        b"GET /up HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n",
    ] {
        let answer = raw(gw.addr, ok).await;
        // hyper answers an HTTP/1.0 client in HTTP/1.0.
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
            "{answer}"
        );
    }
}

// 11. A client request id is kept only when short and visible ASCII; otherwise replaced, and
//     the replacement is what the upstream sees and the client gets back.
#[tokio::test]
async fn unacceptable_request_ids_are_replaced() {
    let gw = one_service("", "").await;
    let send_id = |id: Vec<u8>| {
        let url = gw.url("/service1/headers");
        async move {
            let mut s =
                TcpStream::connect(url.trim_start_matches("http://").split('/').next().unwrap())
                    .await
                    .unwrap();
            let mut req =
                b"GET /service1/headers HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Request-Id: "
                    .to_vec();
            req.extend_from_slice(&id);
            req.extend_from_slice(b"\r\n\r\n");
            s.write_all(&req).await.unwrap();
            let answer = read_until_close(&mut s, Duration::from_secs(5)).await;
            let (head, body) = split(&answer);
            let returned = head
                .lines()
                .find_map(|l| l.strip_prefix("x-request-id: "))
                .unwrap_or_default()
                .to_owned();
            // The service's /headers echoes what it received (chunked or not: find the JSON).
            let start = body.find('{').unwrap_or(0);
            let end = body.rfind('}').map_or(body.len(), |e| e + 1);
            let seen = json(&body[start..end])["headers"]["x-request-id"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase();
            (returned, seen)
        }
    };
    let (returned, seen) = send_id(b"abc-123".to_vec()).await;
    assert_eq!((returned.as_str(), seen.as_str()), ("abc-123", "abc-123"));
    for bad in [
        vec![b'a'; 10 * 1024],
        b"caf\xc3\xa9".to_vec(),
        b"a b".to_vec(),
    ] {
        let (returned, seen) = send_id(bad.clone()).await;
        assert_eq!(returned.len(), 36, "a generated UUID: {returned}");
        assert_eq!(seen, returned, "the upstream saw the replacement");
    }
}

// 12. The gateway's own endpoints are matched after normalisation, like every route.
#[tokio::test]
async fn own_endpoints_are_routed_after_normalisation() {
    let gw = one_service("", "").await;
    for path in ["/./health", "/service1/../health", "/%68ealth"] {
        let (status, _, body) = get(&gw.url(path)).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(json(&body)["status"], "ok", "{path}: {body}");
    }
    let (status, _, body) = get(&gw.url("/service1/../")).await;
    assert_eq!(
        (status.as_u16(), json(&body)["service"].as_str()),
        (200, Some("external-api"))
    );
}
