//! One probe request: the base URL it goes to ([`Base`]), the HTTP client (rustls with the bundled
//! roots, a new connection per request) and the request itself, read into an [`Answer`] with the
//! regions its hops named.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::dns::GaiResolver;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::resolver::Resolver;
use crate::hops::{Answer, Regions, Route};

/// How many body bytes are read to find a `region` when a hop sends no region header.
const BODY_LIMIT: usize = 64 * 1024;

/// A bad `--url` (exit status 2).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("--url {url:?}: {reason}")]
pub struct BadUrl {
    pub url: String,
    pub reason: &'static str,
}

/// The base URL: scheme, authority and a path prefix without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Base {
    scheme: String,
    authority: String,
    prefix: String,
}

impl Base {
    /// Parses `--url`: `http://` or `https://`, a host, optionally a path prefix (an API stage).
    pub fn parse(url: &str) -> Result<Base, BadUrl> {
        let bad = |reason: &'static str| BadUrl {
            url: url.to_owned(),
            reason,
        };
        let uri: Uri = url
            .parse()
            .map_err(|_| bad("not a URL (e.g. http://127.0.0.1:8080)"))?;
        let scheme = match uri.scheme_str() {
            Some(s @ ("http" | "https")) => s.to_owned(),
            Some(_) => return Err(bad("only http:// and https:// URLs can be probed")),
            None => return Err(bad("no scheme: write http://... or https://...")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| bad("no host"))?
            .as_str()
            .to_owned();
        if authority.contains('@') {
            return Err(bad("user info is not supported"));
        }
        if uri.query().is_some() {
            return Err(bad("a query string is not supported; give the base URL"));
        }
        Ok(Base {
            scheme,
            authority,
            prefix: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    /// The full URL of a target path.
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}://{}{}{}",
            self.scheme, self.authority, self.prefix, path
        )
    }
}

impl std::fmt::Display for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

pub(crate) type HttpClient = Client<HttpsConnector<HttpConnector<Resolver>>, Empty<Bytes>>;

/// The HTTP client could not be set up (no usable TLS configuration, or resolver).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot set up TLS for the probe: {0}")]
    Tls(#[from] rustls::Error),
    #[error(transparent)]
    Resolver(#[from] super::resolver::ResolverError),
}

/// The probe's client: HTTP and HTTPS (bundled roots), no pooling, the system resolver.
pub(crate) fn client(connect_timeout: Duration) -> Result<HttpClient, SetupError> {
    client_with(connect_timeout, Resolver::System(GaiResolver::new()))
}

/// [`client`] with the given resolver.
pub(crate) fn client_with(
    connect_timeout: Duration,
    resolver: Resolver,
) -> Result<HttpClient, SetupError> {
    let mut http = HttpConnector::new_with_resolver(resolver);
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        // A new connection per request: a pooled one would keep reaching the old region after a
        // DNS failover.
        .pool_max_idle_per_host(0)
        .build(connector))
}

/// The innermost cause of an error: the part that says what went wrong.
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// GETs `url` (the base URL of `route`) within `timeout`, reading the whole body (up to a limit)
/// so that the answering hop's identity body can name its region when its header does not.
pub(crate) async fn get(
    client: &HttpClient,
    url: &str,
    route: &Route,
    timeout: Duration,
) -> Answer {
    let request = match Request::get(url)
        .header(
            header::USER_AGENT,
            concat!("failover-probe/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::<Bytes>::new())
    {
        Ok(r) => r,
        Err(e) => return Answer::failed_with(e.to_string()),
    };
    let exchange = async {
        let response = match client.request(request).await {
            Ok(r) => r,
            Err(e) => return Answer::failed_with(root_cause(&e)),
        };
        let (parts, body) = response.into_parts();
        let mut regions = Regions::from_headers(&parts.headers);
        let body = Limited::new(body, BODY_LIMIT)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        regions.fill_from_body(route.last_hop(), &body);
        Answer::answered(parts.status.as_u16(), regions)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| Answer::failed_with("timeout"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let b = Base::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(b.url("/service1"), "http://127.0.0.1:8080/service1");
        assert_eq!(b.url("/"), "http://127.0.0.1:8080/");
        let b = Base::parse("https://api.example.com/prod").unwrap();
        assert_eq!(b.url("/"), "https://api.example.com/prod/");
        assert_eq!(b.to_string(), "https://api.example.com/prod");
        for bad in ["ftp://x", "127.0.0.1:8080", "http://x/?a=1", "not a url"] {
            let e = Base::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }
}
