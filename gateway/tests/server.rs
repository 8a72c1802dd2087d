//! Client-facing protections, malformed input over raw TCP, health endpoints and the drain.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

async fn one_service(server_extra: &str) -> TestGateway {
    let s = service("service1", "us-east-1").await;
    gateway_to("service1", &format!("http://{s}"), "", server_extra).await
}

#[tokio::test]
async fn slowloris_connections_are_closed_at_the_header_read_timeout() {
    let gw = one_service("header_read_timeout = \"300ms\"").await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    let start = Instant::now();
    s.write_all(b"GET /service1 HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = s.write_all(b"X-Slow: 1\r\n").await;
    }
    let answer = read_until_close(&mut s, Duration::from_secs(5)).await;
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(2), "closed after {elapsed:?}");
    assert!(!answer.contains("200 OK"), "{answer}");
}

#[tokio::test]
async fn oversized_heads_get_431() {
    let gw = one_service("max_header_bytes = 8192\nmax_headers = 20").await;
    let big = format!(
        "GET /service1 HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(10_000)
    );
    let answer = raw(gw.addr, big.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    let mut many = String::from("GET /service1 HTTP/1.1\r\nHost: x\r\n");
    for i in 0..25 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let answer = raw(gw.addr, many.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    let fine = "GET /service1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert!(raw(gw.addr, fine.as_bytes())
        .await
        .starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn content_length_with_transfer_encoding_is_refused() {
    let gw = one_service("").await;
    let smuggle = "POST /service1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n";
    let answer = raw(gw.addr, smuggle.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("ambiguous_framing"), "{answer}");
}

#[tokio::test]
async fn no_spelling_of_a_path_steps_outside_its_route() {
    let s1 = service("service1", "us-east-1").await;
    let s2 = service("service2", "us-west-2").await;
    let gw = gateway(&format!(
        "region = \"us-east-1\"\n[[route]]\nprefix = \"/service1\"\nupstream = \"http://{s1}/\"\n[[route]]\nprefix = \"/service2\"\nupstream = \"http://{s2}\"\n"
    ))
    .await;
    let request =
        |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    // Normalised, then routed on the normalised path: the upstream sees exactly that.
    for (path, upstream_path, service) in [
        ("/service1/./headers", "/headers", "service1"),
        ("/service1/a/../headers", "/headers", "service1"),
        ("/service1/%2e%2e/service2/headers", "/headers", "service2"),
        (
            "/service2/%2E%2E/service1/x/%2e%2e/headers",
            "/headers",
            "service1",
        ),
        ("/%73ervice1/headers", "/headers", "service1"),
    ] {
        let answer = raw(gw.addr, request(path).as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{path}: {answer}");
        assert!(
            answer.contains(&format!("x-service-name: {service}")),
            "{path}: {answer}"
        );
        assert!(
            answer.contains(&format!("\"path\":\"{upstream_path}\"")),
            "{path}: {answer}"
        );
    }
    // Climbing out of a route lands on the gateway's own table, never on the upstream's parent.
    let answer = raw(gw.addr, request("/service1/../../etc/passwd").as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    // Encoded separators, double encoding and backslashes are refused outright.
    for path in [
        "/service1/..%2fadmin",
        "/service1/%2F..%2F",
        "/service1/%252e%252e/admin",
        "/service1/%5c..%5cadmin",
        "/service1/a%00",
    ] {
        let answer = raw(gw.addr, request(path).as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{path}: {answer}");
        assert!(answer.contains("bad_path"), "{path}: {answer}");
    }
}

#[tokio::test]
async fn malformed_requests_get_4xx_not_a_crash() {
    let gw = one_service("").await;
    for junk in [
        &b"NOT HTTP AT ALL\r\n\r\n"[..],
        b"GET /service1 HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET /service1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"GET /service1 HTTP/9.9\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ] {
        let answer = raw(gw.addr, junk).await;
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
            "{junk:?}: {answer}"
        );
    }
    assert_eq!(get(&gw.url("/health")).await.0, 200, "still serving");
}

#[tokio::test]
async fn health_and_readiness() {
    let gw = one_service("").await;
    let (status, _, body) = get(&gw.url("/health")).await;
    assert_eq!(
        (status.as_u16(), json(&body)["status"].as_str()),
        (200, Some("ok"))
    );
    let (status, _, body) = get(&gw.url("/ready")).await;
    assert_eq!(
        (status.as_u16(), json(&body)["status"].as_str()),
        (200, Some("ready"))
    );
}

/// Sends a GET on an open connection.
async fn send_get(s: &mut TcpStream) {
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
}

/// The status line of the answer on `s`, if one arrives within `limit`.
async fn status_line(s: &mut TcpStream, limit: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(limit, s.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.lines().next().map(str::to_owned)
}

#[tokio::test]
async fn max_connections_holds_across_all_worker_threads() {
    // Two workers share one limit of two connections: a third client waits in the backlog
    // (whichever worker it reaches) until one of the first two leaves.
    let gw = one_service("max_connections = 2\nworkers = 2").await;
    let ok = Some("HTTP/1.1 200 OK".to_owned());
    let mut first = TcpStream::connect(gw.addr).await.unwrap();
    let mut second = TcpStream::connect(gw.addr).await.unwrap();
    for s in [&mut first, &mut second] {
        send_get(s).await;
        assert_eq!(status_line(s, Duration::from_secs(5)).await, ok);
    }
    let mut third = TcpStream::connect(gw.addr).await.unwrap();
    send_get(&mut third).await;
    assert_eq!(
        status_line(&mut third, Duration::from_millis(500)).await,
        None,
        "a third connection was served beyond max_connections"
    );
    drop(first);
    // The request already sent is answered once a slot frees.
    assert_eq!(status_line(&mut third, Duration::from_secs(5)).await, ok);
    drop(second);
}

#[tokio::test]
async fn an_edge_labels_requests_with_the_called_gateways_region() {
    // edge (us-east-1) -> inner gateway (us-west-2) -> service (us-east-1): the edge's upstream is
    // the inner gateway, so its upstream_region is us-west-2, not the service's region.
    // Both share the process-wide recorder; the inner one counts its request under us-east-1.
    let s = service("service1", "us-east-1").await;
    let inner = gateway(&format!(
        "region = \"us-west-2\"\n[[route]]\nprefix = \"/edged\"\nupstream = \"http://{s}\"\n"
    ))
    .await;
    let edge = gateway_to(
        "edged",
        &format!("http://{}", inner.addr),
        "strip_prefix = false",
        "",
    )
    .await;
    let (status, headers, body) = get(&edge.url("/edged")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-gateway-region"], "us-west-2");
    assert_eq!(headers["x-service-region"], "us-east-1");
    let m = edge.metrics().await;
    assert_eq!(
        metric(
            &m,
            "gateway_requests_total",
            &[
                ("route", "edged"),
                ("status", "200"),
                ("upstream_region", "us-west-2")
            ]
        ),
        Some(1.0),
        "{m}"
    );
}

#[tokio::test]
async fn metrics_are_served_on_the_admin_port_only() {
    // The recorder is process-wide: this test owns the route name "metered".
    let s = service("service1", "us-west-2").await;
    let gw = gateway_to("metered", &format!("http://{s}"), "", "").await;
    for _ in 0..3 {
        get(&gw.url("/metered")).await;
    }
    get(&gw.url("/metered/status/503")).await;
    let m = gw.metrics().await;
    assert_eq!(
        metric(
            &m,
            "gateway_requests_total",
            &[
                ("route", "metered"),
                ("status", "200"),
                ("upstream_region", "us-west-2")
            ]
        ),
        Some(3.0),
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "gateway_requests_total",
            &[("route", "metered"), ("status", "503")]
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &m,
            "gateway_request_duration_seconds_count",
            &[("route", "metered")]
        ),
        Some(4.0)
    );
    assert!(m.contains("gateway_request_duration_seconds_bucket{route=\"metered\",le=\"0.005\"}"));
    assert_eq!(
        get(&gw.url("/metrics")).await.0,
        404,
        "not on the public port"
    );
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_and_refuses_new_ones() {
    let mut gw = one_service("drain_timeout = \"5s\"").await;
    let url = gw.url("/service1/delay?ms=700");
    let in_flight = tokio::spawn(async move { get(&url).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let addr = gw.addr;
    gw.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "listener closed once draining"
    );
    let (status, _, body) = in_flight.await.unwrap();
    assert_eq!(status, 200, "in-flight request finished: {body}");
    gw.shutdown_wait().await;
}
