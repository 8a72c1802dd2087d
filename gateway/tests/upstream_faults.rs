//! Upstream faults: each gets 502 or 504 with a JSON body carrying the request id, never 400;
//! retries happen only where the request cannot have reached the upstream.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

async fn closed_port() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

fn assert_error(
    status: http::StatusCode,
    headers: &http::HeaderMap,
    body: &str,
    want: u16,
    code: &str,
) {
    assert_eq!(status, want, "{body}");
    let j = json(body);
    assert_eq!(j["error"], code, "{body}");
    assert_eq!(j["request_id"], headers["x-request-id"].to_str().unwrap());
    assert_eq!(headers["content-type"], "application/json");
}

#[tokio::test]
async fn refused_connection_is_502_after_bounded_retries() {
    let addr = closed_port().await;
    let gw = gateway_to("refused", &format!("http://{addr}"), "retries = 2", "").await;
    let (status, headers, body) = get(&gw.url("/refused")).await;
    assert_error(status, &headers, &body, 502, "upstream_connect");
    let m = gw.metrics().await;
    assert_eq!(
        metric(
            &m,
            "gateway_upstream_retries_total",
            &[("route", "refused")]
        ),
        Some(2.0),
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "gateway_upstream_errors_total",
            &[("route", "refused"), ("kind", "upstream_connect")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn retries_wait_the_configured_backoff() {
    // Retry N waits N x retry_backoff: 150 ms, then 300 ms, before the 502.
    let addr = closed_port().await;
    let gw = gateway_to(
        "slowretry",
        &format!("http://{addr}"),
        "retries = 2\nretry_backoff = \"150ms\"",
        "",
    )
    .await;
    let started = Instant::now();
    let (status, headers, body) = get(&gw.url("/slowretry")).await;
    let took = started.elapsed();
    assert_error(status, &headers, &body, 502, "upstream_connect");
    assert!(took >= Duration::from_millis(450), "502 after {took:?}");
}

#[tokio::test]
async fn a_failed_connect_is_retried_and_then_succeeds() {
    // The upstream comes up 30 ms after the first connect is refused; the retry after 20+40 ms finds it.
    let addr = closed_port().await;
    let gw = gateway_to("late", &format!("http://{addr}"), "retries = 3", "").await;
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let l = TcpListener::bind(addr).await.unwrap();
        axum::serve(
            l,
            sample_service::router(
                sample_service::ServiceInfo::new("late", "us-east-1"),
                Default::default(),
            ),
        )
        .await
        .unwrap();
    });
    let (status, _, body) = get(&gw.url("/late")).await;
    assert_eq!(status, 200, "{body}");
    let m = gw.metrics().await;
    assert!(metric(&m, "gateway_upstream_retries_total", &[("route", "late")]).unwrap() >= 1.0);
}

#[tokio::test]
async fn reset_and_malformed_responses_are_502() {
    let reset = fake_upstream(|mut s| async move {
        let _ = read_head(&mut s).await;
        #[allow(deprecated)] // SO_LINGER 0 is exactly how a test makes a reset.
        let _ = s.set_linger(Some(Duration::ZERO));
        drop(s); // RST
    })
    .await;
    let gw = gateway_to("reset", &format!("http://{reset}"), "retries = 0", "").await;
    let (status, headers, body) = get(&gw.url("/reset")).await;
    assert_error(status, &headers, &body, 502, "upstream_closed");

    let garbage = fake_upstream(|mut s| async move {
        let _ = read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 abc definitely not http\r\n\r\n")
            .await;
    })
    .await;
    let gw = gateway_to("garbage", &format!("http://{garbage}"), "", "").await;
    let (status, headers, body) = get(&gw.url("/garbage")).await;
    assert_error(status, &headers, &body, 502, "upstream_malformed");

    let upgrade_liar = fake_upstream(|mut s| async move {
        let _ = read_head(&mut s).await;
        let _ = s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n").await;
    })
    .await;
    let gw = gateway_to("liar", &format!("http://{upgrade_liar}"), "", "").await;
    let (status, headers, body) = get(&gw.url("/liar")).await;
    assert_error(status, &headers, &body, 502, "upstream_malformed");
}

#[tokio::test]
async fn a_silent_upstream_is_504_at_the_response_header_timeout() {
    let silent = fake_upstream(|mut s| async move {
        let _ = read_head(&mut s).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let gw = gateway_to(
        "silent",
        &format!("http://{silent}"),
        "response_header_timeout = \"300ms\"",
        "",
    )
    .await;
    let start = Instant::now();
    let (status, headers, body) = get(&gw.url("/silent")).await;
    assert_error(status, &headers, &body, 504, "upstream_timeout");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_connect_that_hangs_is_504_at_the_connect_timeout() {
    // A listener whose accept queue is full drops new SYNs, so connects hang like a black hole.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = sock.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(c)) = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            fillers.push(c);
        }
    }
    let gw = gateway_to(
        "blackhole",
        &format!("http://{addr}"),
        "connect_timeout = \"200ms\"\nretries = 0",
        "",
    )
    .await;
    let start = Instant::now();
    let (status, headers, body) = get(&gw.url("/blackhole")).await;
    assert_error(status, &headers, &body, 504, "upstream_connect_timeout");
    assert!(start.elapsed() < Duration::from_secs(3));
    drop(listener);
}

#[tokio::test]
async fn a_body_that_outlives_the_total_timeout_is_cut() {
    let s = service("service1", "us-east-1").await;
    let gw = gateway_to(
        "service1",
        &format!("http://{s}"),
        "total_timeout = \"700ms\"\nresponse_header_timeout = \"500ms\"",
        "",
    )
    .await;
    let req = http::Request::get(gw.url("/service1/stream?count=10&interval_ms=200"))
        .body(http_body_util::Full::<bytes::Bytes>::default())
        .unwrap();
    let resp = client().request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let start = Instant::now();
    assert!(
        resp.into_body().collect().await.is_err(),
        "stream must be cut at the total timeout"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_pooled_connection_closed_by_the_upstream_is_retried_transparently() {
    // The upstream answers once per connection and then closes it without saying so (no
    // `Connection: close`): the next request finds a dead pooled connection before writing a byte.
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let up = fake_upstream(move |mut s| {
        count.fetch_add(1, Ordering::SeqCst);
        async move {
            let _ = read_head(&mut s).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .await;
            let _ = s.shutdown().await;
        }
    })
    .await;
    let gw = gateway_to("flaky", &format!("http://{up}"), "", "").await;
    for i in 0..5 {
        let (status, _, body) = get(&gw.url("/flaky")).await;
        assert_eq!((status.as_u16(), body.as_str()), (200, "ok"), "request {i}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 5);
}
