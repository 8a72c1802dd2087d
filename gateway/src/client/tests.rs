//! The client and its pool against raw upstreams on loopback: reuse, a connection the
//! upstream closed, the idle timeout and bound, and a failed connect handing the request back.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use http_body_util::BodyExt as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::body::BodySlot;

/// An upstream that answers every request with `ok`; `close_after` ends each connection after
/// that many answers. Counts the connections it accepted, and those that reached end of file
/// (the gateway closed them).
struct Upstream {
    port: u16,
    accepted: Arc<AtomicUsize>,
    closed_by_peer: Arc<AtomicUsize>,
}

async fn upstream(close_after: Option<usize>) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let closed_by_peer = Arc::new(AtomicUsize::new(0));
    let (a, c) = (accepted.clone(), closed_by_peer.clone());
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(s, close_after, c.clone()));
        }
    });
    Upstream {
        port,
        accepted,
        closed_by_peer,
    }
}

async fn serve(mut s: TcpStream, close_after: Option<usize>, closed: Arc<AtomicUsize>) {
    let mut answered = 0;
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 1024];
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                closed.fetch_add(1, Ordering::SeqCst);
                return;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.drain(..end + 4);
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await;
            answered += 1;
            if close_after == Some(answered) {
                return;
            }
        }
    }
}

fn client(port: u16, settings: UpstreamSettings) -> HttpClient {
    HttpClient::new(
        &settings,
        tls_config(),
        Addresses::system(),
        format!("http://127.0.0.1:{port}/").parse().unwrap(),
    )
}

fn get() -> Request<RequestBody> {
    let mut req = Request::new(BodySlot::new(Body::empty(), 0).attempt());
    *req.uri_mut() = Uri::from_static("/x");
    req.headers_mut()
        .insert(http::header::HOST, http::HeaderValue::from_static("up"));
    req
}

/// Sends a GET and reads the answer to its end; the body is dropped after, as the server does.
async fn roundtrip(c: &HttpClient) -> String {
    let Ok(resp) = c.request(get()).await else {
        panic!("request failed")
    };
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

/// Lets the connection drivers run (they mark a connection ready for the next request).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

#[tokio::test]
async fn requests_one_after_another_share_one_connection() {
    let up = upstream(None).await;
    let c = client(up.port, UpstreamSettings::default());
    for _ in 0..5 {
        assert_eq!(roundtrip(&c).await, "ok");
        settle().await;
    }
    assert_eq!(up.accepted.load(Ordering::SeqCst), 1);
    assert_eq!(c.idle(), 1);
}

#[tokio::test]
async fn a_connection_the_upstream_closed_is_not_used_again() {
    let up = upstream(Some(1)).await;
    let c = client(up.port, UpstreamSettings::default());
    for _ in 0..3 {
        assert_eq!(roundtrip(&c).await, "ok");
        settle().await;
    }
    assert_eq!(up.accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn idle_connections_are_closed_at_the_idle_timeout_and_not_used_after_it() {
    let up = upstream(None).await;
    let settings = UpstreamSettings {
        pool_idle_timeout: Duration::from_millis(200),
        ..UpstreamSettings::default()
    };
    let c = client(up.port, settings);
    assert_eq!(roundtrip(&c).await, "ok");
    settle().await;
    assert_eq!(c.idle(), 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(c.idle(), 0, "the reaper dropped it");
    assert_eq!(
        up.closed_by_peer.load(Ordering::SeqCst),
        1,
        "and its socket was closed"
    );
    assert_eq!(roundtrip(&c).await, "ok");
    assert_eq!(up.accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_pool_keeps_at_most_pool_max_idle_connections() {
    let up = upstream(None).await;
    let settings = UpstreamSettings {
        pool_max_idle: 1,
        ..UpstreamSettings::default()
    };
    let c = client(up.port, settings);
    let (a, b, d) = tokio::join!(roundtrip(&c), roundtrip(&c), roundtrip(&c));
    assert_eq!((a.as_str(), b.as_str(), d.as_str()), ("ok", "ok", "ok"));
    settle().await;
    assert_eq!(up.accepted.load(Ordering::SeqCst), 3);
    assert_eq!(c.idle(), 1);
    settle().await;
    assert_eq!(
        up.closed_by_peer.load(Ordering::SeqCst),
        2,
        "the others were closed"
    );
}

#[tokio::test]
async fn a_failed_connect_hands_the_request_back_unsent() {
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = client(port, UpstreamSettings::default());
    let Err(failed) = c.request(get()).await else {
        panic!("nothing listens there")
    };
    assert!(failed.error.is_connect());
    let back = failed.request.expect("the request comes back");
    assert_eq!(back.uri(), "/x");
    assert_eq!(back.headers()[http::header::HOST], "up");
}

#[tokio::test]
async fn a_response_dropped_before_its_end_does_not_return_its_connection() {
    let up = upstream(None).await;
    let c = client(up.port, UpstreamSettings::default());
    let Ok(resp) = c.request(get()).await else {
        panic!("request failed")
    };
    drop(resp);
    settle().await;
    assert_eq!(c.idle(), 0);
    assert_eq!(roundtrip(&c).await, "ok");
    assert_eq!(up.accepted.load(Ordering::SeqCst), 2);
}
