//! Forwarding behaviour over real sockets: routing, methods and paths, headers, streaming, upgrades.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use tokio::io::AsyncWriteExt;

async fn two_services() -> TestGateway {
    let s1 = service("service1", "us-east-1").await;
    let s2 = service("service2", "us-west-2").await;
    gateway(&format!(
        r#"region = "us-east-1"
        [[route]]
        prefix = "/service1"
        upstream = "http://{s1}"
        [[route]]
        prefix = "/service2"
        upstream = "http://{s2}"
        "#
    ))
    .await
}

#[tokio::test]
async fn root_answers_the_original_body_and_services_show_both_regions() {
    let gw = two_services().await;
    let (status, headers, body) = get(&gw.url("/")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        r#"{"service": "external-api", "region": "us-east-1"}"#
    );
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-gateway-region"], "us-east-1");

    let (status, headers, body) = get(&gw.url("/service1")).await;
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"service": "service1", "region": "us-east-1"}"#);
    assert_eq!(headers["x-gateway-region"], "us-east-1");
    assert_eq!(headers["x-service-region"], "us-east-1");

    let (_, headers, body) = get(&gw.url("/service2")).await;
    assert_eq!(body, r#"{"service": "service2", "region": "us-west-2"}"#);
    assert_eq!(headers["x-gateway-region"], "us-east-1");
    assert_eq!(headers["x-service-region"], "us-west-2");
}

#[tokio::test]
async fn every_method_sub_path_and_query_is_forwarded() {
    let gw = two_services().await;
    let put = http::Request::put(gw.url("/service1/items/7"))
        .header("content-type", "application/json")
        .body(Full::from(r#"{"colour": "blue"}"#))
        .unwrap();
    let (status, _, body) = send(put).await;
    assert_eq!(status, 201, "{body}");
    let (status, _, body) = get(&gw.url("/service1/items/7")).await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["value"]["colour"], "blue");
    let (_, _, body) = get(&gw.url("/service1/items?prefix=7&limit=5")).await;
    assert_eq!(json(&body)["items"][0]["id"], "7");
    let (_, _, body) = get(&gw.url("/service2/headers?a=1&b=%20x")).await;
    let seen = json(&body);
    assert_eq!(seen["path"], "/headers");
    assert_eq!(seen["query"], "a=1&b=%20x");
    let del = http::Request::delete(gw.url("/service1/items/7"))
        .body(Full::default())
        .unwrap();
    assert_eq!(send(del).await.0, 204);
    let patch = http::Request::patch(gw.url("/service1/status/418"))
        .body(Full::default())
        .unwrap();
    assert_eq!(
        send(patch).await.0,
        405,
        "the service's own answer to PATCH comes back"
    );
    let head = http::Request::head(gw.url("/service1"))
        .body(Full::default())
        .unwrap();
    assert_eq!(send(head).await.0, 200);
    let options = http::Request::options(gw.url("/service2/"))
        .body(Full::default())
        .unwrap();
    assert_eq!(send(options).await.1["x-service-region"], "us-west-2");
}

#[tokio::test]
async fn longest_prefix_wins_and_unknown_paths_are_404() {
    let a = service("a", "us-east-1").await;
    let b = service("b", "us-west-2").await;
    let gw = gateway(&format!(
        r#"region = "us-east-1"
        [[route]]
        prefix = "/service1"
        upstream = "http://{a}"
        [[route]]
        prefix = "/service1/special"
        upstream = "http://{b}"
        strip_prefix = false
        "#
    ))
    .await;
    let (_, _, body) = get(&gw.url("/service1/headers")).await;
    assert_eq!(json(&body)["path"], "/headers");
    let (_, h, _) = get(&gw.url("/service1/special")).await;
    assert_eq!(h["x-service-name"], "b");
    let (status, _, body) = get(&gw.url("/service10")).await;
    assert_eq!(status, 404);
    assert_eq!(json(&body)["error"], "not_found");
    assert_eq!(get(&gw.url("/nothing/here")).await.0, 404);
}

#[tokio::test]
async fn request_id_is_generated_propagated_and_returned() {
    let gw = two_services().await;
    let (_, headers, body) = get(&gw.url("/service1/headers")).await;
    let generated = headers["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    assert_eq!(json(&body)["headers"]["x-request-id"], generated.as_str());

    let req = http::Request::get(gw.url("/service1/headers"))
        .header("x-request-id", "client-chosen-42")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .body(Full::default())
        .unwrap();
    let (_, headers, body) = send(req).await;
    assert_eq!(headers["x-request-id"], "client-chosen-42");
    let seen = json(&body);
    assert_eq!(seen["headers"]["x-request-id"], "client-chosen-42");
    assert_eq!(
        seen["headers"]["traceparent"],
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    );
    let (_, headers, _) = get(&gw.url("/nope")).await;
    assert!(
        headers.contains_key("x-request-id"),
        "errors carry the id too"
    );
}

#[tokio::test]
async fn host_is_the_upstreams_and_hop_by_hop_fields_stay_behind() {
    let s = service("service1", "us-east-1").await;
    let gw = gateway_to("service1", &format!("http://{s}"), "", "").await;
    let req = http::Request::get(gw.url("/service1/headers"))
        .header("host", "api.example.com")
        .header("connection", "x-private")
        .header("x-private", "secret")
        .header("keep-alive", "timeout=5")
        .header("proxy-connection", "keep-alive")
        .header("proxy-authorization", "Basic Zm9vOmJhcg==")
        .header("te", "trailers")
        .header("upgrade", "h2c")
        .header("authorization", "Bearer end-to-end")
        .body(Full::default())
        .unwrap();
    let (_, _, body) = send(req).await;
    let h = &json(&body)["headers"];
    assert_eq!(h["host"], s.to_string());
    for gone in [
        "x-private",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "upgrade",
    ] {
        assert!(
            h.get(gone).is_none(),
            "{gone} must not reach the upstream: {h}"
        );
    }
    assert_eq!(h["te"], "trailers");
    assert_eq!(h["authorization"], "Bearer end-to-end");
    assert_eq!(h["x-forwarded-host"], "api.example.com");

    // Response side: an upstream's hop-by-hop fields do not reach the client.
    let up = fake_upstream(|mut s| async move {
        let _ = read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nConnection: x-hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=9\r\nProxy-Authenticate: Basic\r\nX-End: 2\r\nContent-Length: 2\r\n\r\nok")
            .await;
    })
    .await;
    let gw2 = gateway_to("x", &format!("http://{up}"), "", "").await;
    let (status, headers, body) = get(&gw2.url("/x")).await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "ok"));
    assert!(
        headers.get("x-hop").is_none()
            && headers.get("keep-alive").is_none()
            && headers.get("proxy-authenticate").is_none()
    );
    assert_eq!(headers["x-end"], "2");
}

#[tokio::test]
async fn forwarding_headers_replace_untrusted_and_append_trusted() {
    let s = service("service1", "us-east-1").await;
    let forged = |gw: &TestGateway| {
        http::Request::get(gw.url("/service1/headers"))
            .header("host", "api.example.com")
            .header("x-forwarded-for", "203.0.113.9")
            .header("x-forwarded-proto", "https")
            .header("forwarded", "for=203.0.113.9;proto=https")
            .body(Full::default())
            .unwrap()
    };
    let direct = gateway_to("service1", &format!("http://{s}"), "", "").await;
    let (_, _, body) = send(forged(&direct)).await;
    let h = &json(&body)["headers"];
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(
        h["forwarded"],
        "for=127.0.0.1;host=api.example.com;proto=http"
    );

    let behind_lb = gateway_to(
        "service1",
        &format!("http://{s}"),
        "",
        "trusted_proxy_hops = 1",
    )
    .await;
    let (_, _, body) = send(forged(&behind_lb)).await;
    let h = &json(&body)["headers"];
    assert_eq!(h["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "https");
    assert_eq!(
        h["forwarded"],
        "for=203.0.113.9;proto=https, for=127.0.0.1;host=api.example.com;proto=http"
    );
}

/// The echo comes back chunk by chunk while the request is still being sent: neither direction
/// is buffered whole.
#[tokio::test]
async fn bodies_stream_both_ways() {
    let s = service("service1", "us-east-1").await;
    let gw = gateway_to("service1", &format!("http://{s}"), "", "").await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::convert::Infallible>>(4);
    let body = StreamBody::new(tokio_stream_from(rx));
    let req = http::Request::post(gw.url("/service1/echo"))
        .body(body)
        .unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    tx.send(Ok(Frame::data(Bytes::from_static(b"first chunk;"))))
        .await
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(5), client.request(req))
        .await
        .expect("response head arrives before the request body is finished")
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("first chunk echoed while the request is still open")
        .unwrap()
        .unwrap();
    assert_eq!(first.into_data().unwrap(), "first chunk;");
    tx.send(Ok(Frame::data(Bytes::from_static(b"second"))))
        .await
        .unwrap();
    drop(tx);
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(rest, "second");
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn streamed_responses_arrive_over_time() {
    let s = service("service1", "us-east-1").await;
    let gw = gateway_to("service1", &format!("http://{s}"), "", "").await;
    let start = Instant::now();
    let req = http::Request::get(gw.url("/service1/stream?count=3&interval_ms=400"))
        .body(Full::<Bytes>::default())
        .unwrap();
    let resp = client().request(req).await.unwrap();
    let mut body = resp.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let first_at = start.elapsed();
    assert!(String::from_utf8_lossy(&first).contains("\"seq\":0"));
    let rest = body.collect().await.unwrap().to_bytes();
    let all_at = start.elapsed();
    assert_eq!(String::from_utf8_lossy(&rest).lines().count(), 2);
    assert!(
        first_at < Duration::from_millis(350),
        "first line after {first_at:?}: buffered?"
    );
    assert!(all_at >= Duration::from_millis(800));
}

#[tokio::test]
async fn oversized_bodies_get_413_before_the_upstream_is_contacted() {
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    let up = fake_upstream(move |mut s| {
        seen.fetch_add(1, Ordering::SeqCst);
        async move {
            let _ = read_head(&mut s).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    })
    .await;
    let gw = gateway_to("up", &format!("http://{up}"), "max_body_bytes = 1024", "").await;
    let req = http::Request::post(gw.url("/up/echo"))
        .body(Full::from(vec![b'x'; 2048]))
        .unwrap();
    let (status, _, body) = send(req).await;
    assert_eq!(status, 413);
    assert_eq!(json(&body)["error"], "body_too_large");
    assert!(json(&body)["request_id"].as_str().unwrap().len() > 10);
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "upstream was never contacted"
    );
    let ok = http::Request::post(gw.url("/up/echo"))
        .body(Full::from(vec![b'x'; 1000]))
        .unwrap();
    assert_eq!(send(ok).await.0, 200);

    // Without Content-Length the limit still holds: the stream is cut and the client gets 413.
    let s = service("service1", "us-east-1").await;
    let gw = gateway_to(
        "service1",
        &format!("http://{s}"),
        "max_body_bytes = 1024",
        "",
    )
    .await;
    let chunks = futures_util::stream::iter(
        (0..8)
            .map(|_| Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(vec![b'y'; 512])))),
    );
    let req = http::Request::post(gw.url("/service1/echo"))
        .body(StreamBody::new(chunks))
        .unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let resp = client.request(req).await.unwrap();
    if resp.status() == 200 {
        // The echo may have started before the limit tripped; then the body must not complete.
        assert!(
            resp.into_body().collect().await.is_err(),
            "over-limit body must not be echoed whole"
        );
    } else {
        assert_eq!(resp.status(), 413);
    }
}

#[tokio::test]
async fn websocket_upgrades_pass_through() {
    let s = service("service1", "us-east-1").await;
    let gw = gateway_to("service1", &format!("http://{s}"), "", "").await;
    let url = format!("ws://{}/service1/ws", gw.addr);
    let (mut ws, resp) = tokio_tungstenite::connect_async(url)
        .await
        .expect("upgrade succeeds");
    assert_eq!(resp.status(), 101);
    assert_eq!(resp.headers()["x-gateway-region"], "us-east-1");
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::text("hello over the gateway"))
        .await
        .unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        echoed.into_text().unwrap().as_str(),
        "hello over the gateway"
    );
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    let echoed = ws.next().await.unwrap().unwrap();
    assert_eq!(echoed.into_data().as_ref(), &[1, 2, 3]);
    ws.close(None).await.unwrap();
}
