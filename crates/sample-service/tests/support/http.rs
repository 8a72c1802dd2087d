// Small HTTP helpers shared by the service tests (included with `include!`).

#[allow(dead_code)]
async fn call(
    method: &str,
    url: &str,
    body: &'static str,
) -> (axum::http::StatusCode, axum::http::HeaderMap, String) {
    call_with(
        method,
        url,
        &[("content-type", "application/json")],
        body.into(),
    )
    .await
}

/// A GET's response status, or the client's error (a connection closed before the answer).
#[allow(dead_code)]
async fn response_status(
    url: &str,
) -> Result<axum::http::StatusCode, hyper_util::client::legacy::Error> {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>()
        .get(url.parse().unwrap())
        .await
        .map(|resp| resp.status())
}

/// Like [`call`], with the request's headers and a body of any size.
#[allow(dead_code)]
async fn call_with(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: bytes::Bytes,
) -> (axum::http::StatusCode, axum::http::HeaderMap, String) {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let mut req = axum::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(http_body_util::Full::new(body)).unwrap();
    let resp = tokio::time::timeout(std::time::Duration::from_secs(10), client.request(req))
        .await
        .unwrap()
        .unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}
