//! One place requests can be sent: a checked base URL, a client per worker thread, and the
//! endpoint's outlier state ([`super::outlier`]).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::body::Body;
use http::header::HOST;
use http::uri::Authority;
use http::{HeaderValue, Method, Uri};

use super::outlier::Outlier;
use crate::body::BodySlot;
use crate::client::{self, Addresses, HttpClient};
use crate::config::{UpstreamSettings, UpstreamUrl};

/// A base URL and a client per worker thread (each with its own connection pool).
pub struct Endpoint {
    pub authority: Authority,
    pub base_path: String,
    /// The `Host` field the upstream expects: its own authority (RFC 9110 section 7.2).
    pub host: HeaderValue,
    /// Consecutive connect failures and ejection.
    pub outlier: Outlier,
    /// The socket addresses this endpoint connects to when they are known without a lookup (a
    /// dns answer, an IP-address URL): how a dns answer is matched to its region.
    pub addresses: Box<[SocketAddr]>,
    clients: Box<[HttpClient]>,
}

impl Endpoint {
    /// An endpoint for `url` whose clients connect to `addresses` (the system resolver's
    /// answer, or a fixed set a dns follower resolved).
    pub fn new(
        url: &UpstreamUrl,
        settings: &UpstreamSettings,
        template: &client::Template,
        addresses: Addresses,
    ) -> Endpoint {
        let port = url.port();
        let known: Box<[SocketAddr]> = match (&addresses, url.host().parse::<IpAddr>()) {
            (Addresses::Fixed(ips), _) => ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect(),
            (Addresses::System(_), Ok(ip)) => Box::new([SocketAddr::new(ip, port)]),
            (Addresses::System(_), Err(_)) => Box::new([]),
        };
        let origin = Uri::builder()
            .scheme(url.scheme.clone())
            .authority(url.authority.clone())
            .path_and_query("/")
            .build()
            .expect("a checked upstream URL has a valid scheme and authority");
        Endpoint {
            authority: url.authority.clone(),
            base_path: url.base_path.clone(),
            host: url.host_header.clone(),
            outlier: Outlier::default(),
            addresses: known,
            clients: template.build(settings, addresses, &origin),
        }
    }

    /// The calling worker's client: its connections are driven by this thread's runtime.
    pub fn client(&self) -> &HttpClient {
        &self.clients[crate::worker::index() % self.clients.len()]
    }

    /// Asks the endpoint's `/health` (the services' and the gateway's liveness endpoint) within
    /// `timeout`: true for a 2xx answer.
    pub async fn probe(&self, timeout: Duration) -> bool {
        let mut req = http::Request::new(BodySlot::new(Body::empty(), 0).attempt());
        *req.method_mut() = Method::GET;
        *req.uri_mut() = Uri::from_static("/health");
        req.headers_mut().insert(HOST, self.host.clone());
        match tokio::time::timeout(timeout, self.client().request(req)).await {
            Ok(Ok(resp)) => resp.status().is_success(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Real sockets on loopback: a host with several addresses is tried address by address
    //! (hyper-util's connector, within one `connect_timeout`) before any other region.

    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// Answers `/health` with 200 on `127.0.0.1`, once per connection.
    async fn health_on_127_0_0_1() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
            }
        });
        port
    }

    #[tokio::test]
    async fn the_next_address_of_a_host_is_tried_before_giving_up() {
        let port = health_on_127_0_0_1().await;
        let url = UpstreamUrl::parse(&format!("http://service1.example.com:{port}")).unwrap();
        let settings = UpstreamSettings {
            connect_timeout: Duration::from_millis(500),
            ..UpstreamSettings::default()
        };
        // 127.0.0.3 refuses (nothing listens there on that port); 127.0.0.1 answers.
        let ips: Arc<[IpAddr]> =
            Arc::from(["127.0.0.3".parse().unwrap(), "127.0.0.1".parse().unwrap()]);
        let ep = Endpoint::new(
            &url,
            &settings,
            &client::Template::new(1),
            Addresses::Fixed(ips),
        );
        assert_eq!(ep.addresses.len(), 2);
        let started = std::time::Instant::now();
        assert!(
            ep.probe(Duration::from_secs(2)).await,
            "the second address answered"
        );
        assert!(started.elapsed() < Duration::from_millis(500));
        // Only addresses that refuse: the probe fails fast, and nothing else is tried.
        let dead: Arc<[IpAddr]> =
            Arc::from(["127.0.0.3".parse().unwrap(), "127.0.0.4".parse().unwrap()]);
        let ep = Endpoint::new(
            &url,
            &settings,
            &client::Template::new(1),
            Addresses::Fixed(dead),
        );
        assert!(!ep.probe(Duration::from_secs(2)).await);
    }

    #[tokio::test]
    async fn an_address_that_hangs_gets_its_share_of_the_connect_timeout_then_the_next_is_tried() {
        let port = health_on_127_0_0_1().await;
        // 127.0.0.5 on the same port: a listener whose accept queue is full drops new SYNs, so a
        // connect there hangs like a black hole.
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind(SocketAddr::new("127.0.0.5".parse().unwrap(), port))
            .unwrap();
        let hole = sock.listen(0).unwrap();
        let mut fillers = Vec::new();
        for _ in 0..4 {
            let connect = tokio::net::TcpStream::connect(hole.local_addr().unwrap());
            if let Ok(Ok(c)) = tokio::time::timeout(Duration::from_millis(200), connect).await {
                fillers.push(c);
            }
        }
        let url = UpstreamUrl::parse(&format!("http://service1.example.com:{port}")).unwrap();
        let settings = UpstreamSettings {
            connect_timeout: Duration::from_millis(600),
            ..UpstreamSettings::default()
        };
        let ips: Arc<[IpAddr]> =
            Arc::from(["127.0.0.5".parse().unwrap(), "127.0.0.1".parse().unwrap()]);
        let ep = Endpoint::new(
            &url,
            &settings,
            &client::Template::new(1),
            Addresses::Fixed(ips),
        );
        let started = std::time::Instant::now();
        assert!(
            ep.probe(Duration::from_secs(2)).await,
            "the second address answered"
        );
        let took = started.elapsed();
        // Half of the 600 ms for the first address, then the second at once.
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_millis(600),
            "{took:?}"
        );
        drop(hole);
    }
}
