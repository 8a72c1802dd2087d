//! Regional fallback over real sockets: a request that never reached the active region's
//! endpoint goes to the next region's; one that may have reached it moves only when it is
//! idempotent and the route opted in; consecutive connect failures eject the endpoint.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use http_body_util::Full;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

async fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

/// A gateway whose route `/svc` goes to `active`, with `active` as us-east-1 and `standby` as
/// us-west-2 in its `regional` table.
async fn two_regions(active: SocketAddr, standby: SocketAddr, extra: &str) -> TestGateway {
    gateway(&format!(
        "region = \"us-east-1\"\n[[route]]\nprefix = \"/svc\"\nupstream = \"http://{active}\"\n\
         regional = {{ us-east-1 = \"http://{active}\", us-west-2 = \"http://{standby}\" }}\n{extra}\n"
    ))
    .await
}

/// An upstream that counts requests and answers each with 200 `standby`.
async fn counting_standby() -> (SocketAddr, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    let addr = fake_upstream(move |mut s| {
        let count = count.clone();
        async move {
            loop {
                let head = read_head(&mut s).await;
                if !head.ends_with("\r\n\r\n") {
                    break;
                }
                count.fetch_add(1, Ordering::SeqCst);
                let answer: &[u8] = if head.starts_with("HEAD ") {
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                } else {
                    b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nstandby"
                };
                let _ = s.write_all(answer).await;
            }
        }
    })
    .await;
    (addr, seen)
}

/// An upstream that reads a request (head and whatever body arrives with it) and closes the
/// connection without answering: the request may have been handled.
async fn reads_then_closes() -> (SocketAddr, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    let addr = fake_upstream(move |mut s| {
        count.fetch_add(1, Ordering::SeqCst);
        async move {
            let _ = read_head(&mut s).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(s);
        }
    })
    .await;
    (addr, seen)
}

fn request(method: &str, url: &str, body: &'static str) -> http::Request<Full<Bytes>> {
    http::Request::builder()
        .method(method)
        .uri(url)
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

#[tokio::test]
async fn a_refused_connect_goes_to_the_next_region_for_any_method() {
    let standby = service("service1", "us-west-2").await;
    let gw = two_regions(closed_port().await, standby, "eject_after = 0").await;
    let (status, headers, body) = send(request("POST", &gw.url("/svc/echo"), "order 7")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "order 7");
    assert_eq!(headers["x-gateway-fallback"], "us-west-2");
    assert_eq!(headers["x-service-region"], "us-west-2");
    let m = gw.metrics().await;
    let fallbacks = |m: &str| {
        metric(
            m,
            "gateway_fallback_requests_total",
            &[("route", "svc"), ("region", "us-west-2")],
        )
    };
    assert_eq!(fallbacks(&m), Some(1.0), "{m}");
    assert_eq!(
        metric(&m, "gateway_upstream_retries_total", &[("route", "svc")]),
        None,
        "no retry against the dead region first"
    );
    // Turned off: the old answer, after the bounded retries on the active endpoint.
    let off = two_regions(closed_port().await, standby, "fallback = false").await;
    let (status, headers, _) = send(request("POST", &off.url("/svc/echo"), "x")).await;
    assert_eq!(status, 502);
    assert!(!headers.contains_key("x-gateway-fallback"));
}

#[tokio::test]
async fn a_connect_timeout_goes_to_the_next_region_within_the_deadline() {
    // A listener whose accept queue is full drops new SYNs: connects hang like a black hole.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = sock.listen(0).unwrap();
    let hole = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(c)) = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(hole),
        )
        .await
        {
            fillers.push(c);
        }
    }
    let standby = service("service1", "us-west-2").await;
    let gw = two_regions(hole, standby, "connect_timeout = \"300ms\"").await;
    let started = Instant::now();
    let (status, headers, body) = get(&gw.url("/svc/")).await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-gateway-fallback"], "us-west-2");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(2),
        "one connect timeout, then the standby: {took:?}"
    );
    drop(listener);
}

#[tokio::test]
async fn a_post_that_may_have_been_written_is_not_sent_twice() {
    let (active, active_seen) = reads_then_closes().await;
    let (standby, standby_seen) = counting_standby().await;
    // Opted in for idempotent requests: a POST still never moves once written.
    let gw = two_regions(active, standby, "fallback_idempotent = true").await;
    let (status, headers, body) = send(request("POST", &gw.url("/svc/orders"), "{}")).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(json(&body)["error"], "upstream_closed");
    assert!(!headers.contains_key("x-gateway-fallback"));
    assert_eq!(active_seen.load(Ordering::SeqCst), 1);
    assert_eq!(
        standby_seen.load(Ordering::SeqCst),
        0,
        "the standby never saw it"
    );
}

#[tokio::test]
async fn an_idempotent_request_moves_after_a_write_only_when_the_route_opts_in() {
    let (active, _) = reads_then_closes().await;
    let (standby, standby_seen) = counting_standby().await;
    let default = two_regions(active, standby, "").await;
    let (status, _, _) = get(&default.url("/svc/items/7")).await;
    assert_eq!(status, 502, "not opted in: the GET fails where it was sent");
    assert_eq!(standby_seen.load(Ordering::SeqCst), 0);

    let opted = two_regions(active, standby, "fallback_idempotent = true").await;
    for method in ["GET", "DELETE", "HEAD"] {
        let (status, headers, _) = send(request(method, &opted.url("/svc/items/7"), "")).await;
        assert_eq!(status, 200, "{method}");
        assert_eq!(headers["x-gateway-fallback"], "us-west-2", "{method}");
    }
    assert_eq!(standby_seen.load(Ordering::SeqCst), 3);
    // A PUT is idempotent, but its body went to the active region and cannot be sent again.
    let (status, _, _) = send(request("PUT", &opted.url("/svc/items/7"), "{\"n\":1}")).await;
    assert_eq!(status, 502);
    assert_eq!(standby_seen.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn consecutive_connect_failures_eject_the_active_endpoint_until_its_health_answers() {
    // The active region's port is closed now and opens later.
    let active = closed_port().await;
    let standby = service("service1", "us-west-2").await;
    let gw = two_regions(
        active,
        standby,
        "eject_after = 2\neject_base = \"200ms\"\neject_max = \"400ms\"",
    )
    .await;
    for _ in 0..3 {
        let (status, headers, _) = get(&gw.url("/svc/")).await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-gateway-fallback"], "us-west-2");
    }
    let (_, _, ready) = get(&gw.url("/ready")).await;
    let ready = json(&ready);
    assert_eq!(
        ready["upstreams"]["svc"]["ejected"],
        serde_json::json!(["us-east-1"])
    );
    assert_eq!(
        ready["upstreams"]["svc"]["regions"],
        serde_json::json!(["us-east-1", "us-west-2"])
    );
    let m = gw.metrics().await;
    assert_eq!(
        metric(
            &m,
            "gateway_upstream_endpoint_ejected",
            &[("route", "svc"), ("region", "us-east-1")]
        ),
        Some(1.0),
        "{m}"
    );

    // The region comes back: its /health answers, the probe restores it, traffic returns.
    let listener = TcpListener::bind(active).await.unwrap();
    let app = sample_service::router(
        sample_service::ServiceInfo::new("service1", "us-east-1"),
        sample_service::Limits::default(),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, headers, _) = get(&gw.url("/svc/")).await;
        assert_eq!(status, 200);
        if headers["x-service-region"] == "us-east-1" {
            assert!(!headers.contains_key("x-gateway-fallback"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "traffic did not return within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let m = gw.metrics().await;
    assert_eq!(
        metric(
            &m,
            "gateway_upstream_endpoint_ejected",
            &[("route", "svc"), ("region", "us-east-1")]
        ),
        Some(0.0)
    );
    let (_, _, ready) = get(&gw.url("/ready")).await;
    assert_eq!(
        json(&ready)["upstreams"]["svc"]["ejected"],
        serde_json::json!([])
    );
}

#[tokio::test]
async fn consecutive_5xx_eject_when_the_route_asks_and_the_5xx_are_not_resent() {
    // A load balancer whose region lost its targets: it accepts and answers 503 to everything,
    // its /health included, so the probe keeps the region out.
    let active = fake_upstream(|mut s| async move {
        while read_head(&mut s).await.ends_with("\r\n\r\n") {
            let _ = s
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    })
    .await;
    let (standby, standby_seen) = counting_standby().await;
    let gw = two_regions(
        active,
        standby,
        "eject_after_5xx = 2\neject_base = \"200ms\"",
    )
    .await;
    for _ in 0..2 {
        let (status, headers, _) = get(&gw.url("/svc/items")).await;
        assert_eq!(status, 503, "a 5xx answer is returned as it is");
        assert!(!headers.contains_key("x-gateway-fallback"));
    }
    assert_eq!(standby_seen.load(Ordering::SeqCst), 0, "nothing resent");
    let (status, headers, _) = get(&gw.url("/svc/items")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-gateway-fallback"], "us-west-2");
    assert_eq!(standby_seen.load(Ordering::SeqCst), 1);
    // Probes at 200 ms and after find /health still 503: the region stays out.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (_, _, ready) = get(&gw.url("/ready")).await;
    assert_eq!(
        json(&ready)["upstreams"]["svc"]["ejected"],
        serde_json::json!(["us-east-1"])
    );
    // Off by default: 5xx answers never eject.
    let default = two_regions(active, standby, "").await;
    for _ in 0..5 {
        let (status, _, _) = get(&default.url("/svc/items")).await;
        assert_eq!(status, 503);
    }
}

/// An upstream that answers every request with 503 and `server`, as an AWS load balancer whose
/// target group has no registered target does (`awselb/2.0`), or as an application does.
async fn answers_503(server: &'static str) -> (SocketAddr, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    let addr = fake_upstream(move |mut s| {
        let count = count.clone();
        async move {
            loop {
                let head = read_head(&mut s).await;
                if !head.ends_with("\r\n\r\n") {
                    break;
                }
                count.fetch_add(1, Ordering::SeqCst);
                let answer = format!(
                    "HTTP/1.1 503 Service Temporarily Unavailable\r\nServer: {server}\r\nContent-Length: 0\r\n\r\n"
                );
                let _ = s.write_all(answer.as_bytes()).await;
            }
        }
    })
    .await;
    (addr, seen)
}

/// As [`two_regions`], on its own route (`/lb`): the tests share one metrics recorder.
async fn behind_lb(active: SocketAddr, standby: SocketAddr, extra: &str) -> TestGateway {
    gateway(&format!(
        "region = \"us-east-1\"\n[[route]]\nprefix = \"/lb\"\nupstream = \"http://{active}\"\n\
         regional = {{ us-east-1 = \"http://{active}\", us-west-2 = \"http://{standby}\" }}\n{extra}\n"
    ))
    .await
}

#[tokio::test]
async fn a_load_balancers_own_503_moves_like_a_refused_connect_and_an_applications_does_not() {
    let (standby, standby_seen) = counting_standby().await;
    // The ALB of a region whose tasks are gone: it accepts the connection, no target sees it.
    let (alb, alb_seen) = answers_503("awselb/2.0").await;
    let gw = behind_lb(alb, standby, "eject_after = 0").await;
    let (status, headers, body) = send(request("GET", &gw.url("/lb/items"), "")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "standby");
    assert_eq!(headers["x-gateway-fallback"], "us-west-2");
    assert_eq!(alb_seen.load(Ordering::SeqCst), 1);
    assert_eq!(standby_seen.load(Ordering::SeqCst), 1);

    // An application's own 503 may have done work: it is the answer, nothing is resent.
    let (app, app_seen) = answers_503("service1").await;
    let gw = behind_lb(app, standby, "eject_after = 0").await;
    let (status, headers, _) = send(request("GET", &gw.url("/lb/items"), "")).await;
    assert_eq!(status, 503);
    assert!(!headers.contains_key("x-gateway-fallback"));
    assert_eq!(app_seen.load(Ordering::SeqCst), 1);
    assert_eq!(
        standby_seen.load(Ordering::SeqCst),
        1,
        "the standby saw nothing more"
    );

    // Turned off, the load balancer's 503 is the answer.
    let off = behind_lb(alb, standby, "fallback = false").await;
    let (status, _, _) = send(request("GET", &off.url("/lb/items"), "")).await;
    assert_eq!(status, 503);
    assert_eq!(standby_seen.load(Ordering::SeqCst), 1);
}
