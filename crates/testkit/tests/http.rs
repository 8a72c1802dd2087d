//! Raw HTTP/1.1 helpers and the Prometheus scrape against scripted servers on real sockets.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use testkit::http::{self, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A fresh connection to `addr` with a GET request written on it.
async fn ask(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    s
}

/// A server that reads one request head per connection and answers with `answer`, then keeps the
/// connection open for `linger` before closing it.
async fn scripted(answer: &'static [u8], linger: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let head = http::read_head(&mut s).await;
                if head.is_empty() {
                    return;
                }
                let _ = s.write_all(answer).await;
                tokio::time::sleep(linger).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn raw_reads_until_the_peer_closes() {
    let addr = scripted(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        Duration::ZERO,
    )
    .await;
    let answer = http::raw(addr, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(answer, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
}

#[tokio::test]
async fn read_until_close_gives_up_after_the_limit() {
    let addr = scripted(b"HTTP/1.1 200 OK\r\n", Duration::from_secs(30)).await;
    let mut s = ask(addr).await;
    let started = std::time::Instant::now();
    let got = http::read_until_close(&mut s, Duration::from_millis(300)).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(got, "HTTP/1.1 200 OK\r\n", "what came before the limit");
}

#[tokio::test]
async fn read_head_stops_at_the_blank_line() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut client = TcpStream::connect(addr).await.unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    client
        .write_all(b"POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody")
        .await
        .unwrap();
    let head = http::read_head(&mut server).await;
    assert_eq!(head, "POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\n");
    let mut body = [0u8; 4];
    server.read_exact(&mut body).await.unwrap();
    assert_eq!(&body, b"body");
    // A peer that closes mid-head: what came.
    client.write_all(b"GET / HT").await.unwrap();
    drop(client);
    assert_eq!(http::read_head(&mut server).await, "GET / HT");
}

#[tokio::test]
async fn read_response_takes_one_response_off_a_kept_alive_connection() {
    let addr = scripted(
        b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello",
        Duration::from_secs(30),
    )
    .await;
    let mut s = ask(addr).await;
    let r = http::read_response(&mut s, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(r.status_line, "HTTP/1.1 201 Created");
    assert_eq!(r.header("x-a"), Some("b"));
    assert_eq!(r.body, "hello");
}

#[tokio::test]
async fn read_response_reports_extra_bytes_an_early_close_a_timeout_and_no_framing() {
    let long = Duration::from_secs(30);
    let cases: [(&'static [u8], Duration, Duration, ErrorKind); 4] = [
        // Answered twice.
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n",
            long,
            Duration::from_secs(10),
            ErrorKind::InvalidData,
        ),
        // Closed mid-body.
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            Duration::ZERO,
            Duration::from_secs(10),
            ErrorKind::UnexpectedEof,
        ),
        // The rest of the body never comes.
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            long,
            Duration::from_millis(300),
            ErrorKind::TimedOut,
        ),
        // No Content-Length.
        (
            b"HTTP/1.1 200 OK\r\n\r\nabc",
            long,
            Duration::from_secs(10),
            ErrorKind::InvalidData,
        ),
    ];
    for (answer, linger, limit, kind) in cases {
        let mut s = ask(scripted(answer, linger).await).await;
        let e = http::read_response(&mut s, limit).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{e}");
    }
}

#[tokio::test]
async fn wait_closed_times_the_close_and_refuses_bytes() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (first, _) = listener.accept().await.unwrap();
        let (mut second, _) = listener.accept().await.unwrap();
        let (_third, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(first);
        second.write_all(b"surprise").await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let mut first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    let mut third = TcpStream::connect(addr).await.unwrap();
    let took = http::wait_closed(&mut first, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(took >= Duration::from_millis(250), "{took:?}");
    let e = http::wait_closed(&mut second, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(e.to_string().contains("surprise"), "{e}");
    let e = http::wait_closed(&mut third, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
}

#[test]
fn blocking_exchange_sends_the_request_and_parses_a_chunked_answer() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !got.ends_with(b"\r\n\r\npayload") {
            s.read_exact(&mut byte).unwrap();
            got.push(byte[0]);
        }
        s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
            .unwrap();
        String::from_utf8(got).unwrap()
    });
    let request = http::request(
        "PUT",
        "/p",
        &[("Host", "h"), ("Connection", "close")],
        b"payload",
    );
    let r = http::exchange(addr, &request, Duration::from_secs(10)).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "abc");
    assert_eq!(
        server.join().unwrap(),
        "PUT /p HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 7\r\n\r\npayload"
    );
}

#[test]
fn blocking_exchange_fails_when_nothing_ends_the_answer() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let held = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_millis(600));
        drop(s);
    });
    let e =
        http::exchange(addr, b"GET / HTTP/1.1\r\n\r\n", Duration::from_millis(200)).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{e:?}"
    );
    held.join().unwrap();
}

#[tokio::test]
async fn scrape_reads_a_metrics_endpoint_and_refuses_other_statuses() {
    let body = "# TYPE hits_total counter\nhits_total{path=\"/a\"} 2\nhits_total{path=\"/b\"} 3\n";
    let answer: &'static [u8] = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    let ok = scripted(answer, Duration::ZERO).await;
    let text = testkit::metrics::scrape(ok).await.unwrap();
    assert_eq!(text, body);
    assert_eq!(testkit::metrics::value(&text, "hits_total", &[]), Some(5.0));
    assert_eq!(
        testkit::metrics::value(&text, "hits_total", &[("path", "/b")]),
        Some(3.0)
    );

    let missing = scripted(
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope",
        Duration::ZERO,
    )
    .await;
    let e = testkit::metrics::scrape(missing).await.unwrap_err();
    assert!(e.to_string().contains("404"), "{e}");
}

#[test]
fn response_json_panics_with_the_body() {
    let r = Response::parse(b"HTTP/1.1 200 OK\r\n\r\nnot json");
    let e = std::panic::catch_unwind(|| r.json()).unwrap_err();
    let message = e.downcast_ref::<String>().unwrap();
    assert!(message.contains("not json"), "{message}");
}
