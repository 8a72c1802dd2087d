//! The server's connection deadlines and drain, over real sockets with small durations.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use sample_service::{router, serve_with, Limits, ServeSettings, ServiceInfo};
use testkit::http::{read_response, wait_closed};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

include!("support/http.rs");

const HEADER_READ: Duration = Duration::from_millis(400);
const KEEPALIVE: Duration = Duration::from_millis(1500);

fn settings(drain: Duration) -> ServeSettings {
    ServeSettings {
        header_read_timeout: HEADER_READ,
        keepalive_timeout: KEEPALIVE,
        drain_timeout: drain,
    }
}

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<bool>,
}

impl Server {
    async fn start(settings: ServeSettings) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_with(
            listener,
            router(ServiceInfo::new("service1", "us-east-1"), Limits::default()),
            settings,
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            addr,
            stop: Some(stop),
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Starts the drain (what SIGTERM does in the binary).
    fn shutdown(&mut self) {
        let _ = self.stop.take().unwrap().send(());
    }
}

/// Sends one keep-alive request on `conn` and reads its whole response (nothing may follow it);
/// returns the status line.
async fn exchange(conn: &mut TcpStream, path: &str) -> String {
    conn.write_all(format!("GET {path} HTTP/1.1\r\nhost: service1.example.com\r\n\r\n").as_bytes())
        .await
        .unwrap();
    read_response(conn, Duration::from_secs(10))
        .await
        .unwrap()
        .status_line
}

#[tokio::test]
async fn idle_keep_alive_outlasts_header_read_and_ends_at_keepalive() {
    let server = Server::start(settings(Duration::from_secs(5))).await;
    let mut conn = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(exchange(&mut conn, "/health").await, "HTTP/1.1 200 OK");

    // Idle for well over header_read: the connection is still there for the next request.
    tokio::time::sleep(HEADER_READ * 2).await;
    assert_eq!(exchange(&mut conn, "/").await, "HTTP/1.1 200 OK");

    // Then idle until keepalive closes it, counted from the end of the last response.
    let idle = wait_closed(&mut conn, KEEPALIVE * 4).await.unwrap();
    assert!(
        idle >= KEEPALIVE - Duration::from_millis(100) && idle < KEEPALIVE * 2,
        "closed after {idle:?}, keepalive is {KEEPALIVE:?}"
    );
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_header_read() {
    let server = Server::start(settings(Duration::from_secs(5))).await;
    let mut conn = TcpStream::connect(server.addr).await.unwrap();
    let silent = wait_closed(&mut conn, KEEPALIVE * 4).await.unwrap();
    assert!(
        silent >= HEADER_READ - Duration::from_millis(100) && silent < KEEPALIVE,
        "closed after {silent:?}, header_read is {HEADER_READ:?}"
    );
}

#[tokio::test]
async fn a_request_head_must_arrive_within_header_read() {
    let server = Server::start(settings(Duration::from_secs(5))).await;
    let mut conn = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(exchange(&mut conn, "/health").await, "HTTP/1.1 200 OK");
    // A head that starts on a kept-alive connection and never ends (slowloris).
    conn.write_all(b"GET /health HTTP/1.1\r\nhost: serv")
        .await
        .unwrap();
    let cut = wait_closed(&mut conn, KEEPALIVE * 4).await.unwrap();
    assert!(
        cut >= HEADER_READ - Duration::from_millis(100) && cut < KEEPALIVE,
        "cut after {cut:?}, header_read is {HEADER_READ:?}"
    );
}

#[tokio::test]
async fn no_deadline_while_a_request_is_served_or_after_an_upgrade() {
    let server = Server::start(settings(Duration::from_secs(5))).await;
    // A response that takes longer than both deadlines.
    let mut conn = TcpStream::connect(server.addr).await.unwrap();
    let slow = format!("/delay?ms={}", (KEEPALIVE + HEADER_READ).as_millis());
    assert_eq!(exchange(&mut conn, &slow).await, "HTTP/1.1 200 OK");
    assert_eq!(exchange(&mut conn, "/health").await, "HTTP/1.1 200 OK");

    // A WebSocket outlives the keep-alive deadline.
    let url = server.url("/ws").replace("http://", "ws://");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    tokio::time::sleep(KEEPALIVE + HEADER_READ).await;
    ws.send(tokio_tungstenite::tungstenite::Message::text("still here"))
        .await
        .unwrap();
    let msg = ws.next().await.unwrap().unwrap();
    assert_eq!(msg.into_text().unwrap().as_str(), "still here");
}

#[tokio::test]
async fn drain_lets_requests_in_flight_finish_and_closes_idle_connections() {
    let mut server = Server::start(settings(Duration::from_secs(5))).await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(exchange(&mut idle, "/health").await, "HTTP/1.1 200 OK");

    let url = server.url("/delay?ms=600");
    let slow = tokio::spawn(async move { call("GET", &url, "").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    server.shutdown();

    // The idle keep-alive connection is closed at once, not at keepalive.
    let closed = wait_closed(&mut idle, Duration::from_secs(3))
        .await
        .unwrap();
    assert!(
        closed < HEADER_READ,
        "idle connection closed after {closed:?}"
    );

    let (status, _, body) = slow.await.unwrap();
    assert_eq!(status, 200, "the request in flight finishes: {body}");
    assert!(server.task.await.unwrap(), "drained within the deadline");
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "the drain ends with the last request ({took:?})"
    );
    // The listener is closed.
    assert!(TcpStream::connect(server.addr).await.is_err());
}

#[tokio::test]
async fn drain_deadline_closes_requests_still_in_flight() {
    let drain = Duration::from_millis(500);
    let mut server = Server::start(settings(drain)).await;
    let url = server.url("/delay?ms=10000");
    let slow = tokio::spawn(async move { response_status(&url).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    server.shutdown();
    let drained = tokio::time::timeout(Duration::from_secs(5), server.task)
        .await
        .expect("serve_with returns soon after the drain deadline")
        .unwrap();
    let took = start.elapsed();
    assert!(!drained, "a request was still in flight");
    assert!(
        took >= drain - Duration::from_millis(50) && took < drain + Duration::from_secs(1),
        "returned after {took:?}, drain deadline {drain:?}"
    );
    let answer = tokio::time::timeout(Duration::from_secs(2), slow)
        .await
        .expect("the cut request ends at once")
        .unwrap();
    assert!(
        answer.is_err(),
        "the request cut by the deadline gets no answer"
    );
}
