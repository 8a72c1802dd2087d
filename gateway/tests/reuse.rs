//! Upstream connection reuse over real sockets: requests sent one after another through the
//! gateway use one upstream connection, whatever way the upstream frames its answer
//! (content-length, chunked, an empty chunked body, chunked with trailers). The upstream is raw
//! TCP and counts the connections it accepts.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How many requests each test sends, one after another.
const REQUESTS: usize = 20;

/// An upstream that answers every request with `answer` (a whole HTTP/1.1 response) and keeps
/// the connection open; returns its address and the count of connections it accepted.
async fn upstream(answer: &'static [u8]) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(s, answer));
        }
    });
    (addr, accepted)
}

/// Answers each request head (the gateway sends these GETs without a body) with `answer`.
async fn serve(mut s: TcpStream, answer: &'static [u8]) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.drain(..end + 4);
            if s.write_all(answer).await.is_err() {
                return;
            }
        }
    }
}

/// Sends `REQUESTS` GETs one after another on one client connection to a gateway routing to an
/// upstream that answers `answer`; checks each body and returns how many upstream connections
/// were opened.
async fn upstream_connections(answer: &'static [u8], want_body: &str) -> usize {
    let (addr, accepted) = upstream(answer).await;
    let gw = gateway_to("reuse", &format!("http://{addr}"), "", "").await;
    let stream = TcpStream::connect(gw.addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    for i in 0..REQUESTS {
        sender.ready().await.unwrap();
        let req = http::Request::get("/reuse/x")
            .header("host", "gateway.example.com")
            .body(Full::default())
            .unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(10), sender.send_request(req))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        assert_eq!(resp.status(), 200, "request {i}");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, want_body.as_bytes(), "request {i}");
    }
    let n = accepted.load(Ordering::SeqCst);
    gw.shutdown().await;
    n
}

#[tokio::test]
async fn content_length_answers_reuse_one_upstream_connection() {
    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
    assert_eq!(upstream_connections(answer, "ok").await, 1);
}

#[tokio::test]
async fn chunked_answers_reuse_one_upstream_connection() {
    let answer =
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n3\r\n!!!\r\n0\r\n\r\n";
    assert_eq!(upstream_connections(answer, "ok!!!").await, 1);
}

#[tokio::test]
async fn empty_chunked_answers_reuse_one_upstream_connection() {
    let answer = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_eq!(upstream_connections(answer, "").await, 1);
}

#[tokio::test]
async fn chunked_answers_with_trailers_reuse_one_upstream_connection() {
    let answer = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n\r\n2\r\nok\r\n0\r\nx-checksum: 1234\r\n\r\n";
    assert_eq!(upstream_connections(answer, "ok").await, 1);
}
