//! An upstream: where a route's requests go, and the client that takes them there.

use std::sync::Arc;

use http::uri::{Authority, Scheme};
use http::HeaderValue;

use crate::client::{self, HttpClient};
use crate::config::UpstreamSettings;

/// A route's upstream: base URL, limits and timeouts, and its own connection pool.
pub struct Upstream {
    pub settings: UpstreamSettings,
    /// `scheme://authority` for logs and metrics.
    pub label: Arc<str>,
    scheme: Scheme,
    authority: Authority,
    base_path: String,
    host: HeaderValue,
    client: HttpClient,
}

/// Where one request goes: the parts of the upstream URI and the client to send it with.
pub struct Target<'a> {
    pub scheme: &'a Scheme,
    pub authority: &'a Authority,
    pub base_path: &'a str,
    /// The `Host` field the upstream expects: its own authority (RFC 9110 section 7.2).
    pub host: &'a HeaderValue,
    pub client: &'a HttpClient,
}

impl Upstream {
    pub fn new(
        uri: &http::Uri,
        settings: UpstreamSettings,
        tls: Arc<rustls::ClientConfig>,
    ) -> Self {
        let scheme = uri.scheme().cloned().unwrap_or(Scheme::HTTP);
        let authority = uri
            .authority()
            .cloned()
            .expect("validated: upstream URL has a host");
        let host = HeaderValue::from_str(authority.as_str())
            .expect("an authority is a valid header value");
        Self {
            client: client::build(&settings, tls),
            label: Arc::from(format!("{scheme}://{authority}")),
            base_path: uri.path().to_owned(),
            settings,
            scheme,
            authority,
            host,
        }
    }

    /// Where the next request goes.
    pub fn target(&self) -> Target<'_> {
        Target {
            scheme: &self.scheme,
            authority: &self.authority,
            base_path: &self.base_path,
            host: &self.host,
            client: &self.client,
        }
    }
}
