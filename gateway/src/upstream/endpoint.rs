//! One place requests can be sent: a checked base URL and a client per worker thread.

use http::uri::{Authority, Scheme};
use http::HeaderValue;

use crate::client::{self, Addresses, HttpClient};
use crate::config::{UpstreamSettings, UpstreamUrl};

/// A base URL and a client per worker thread (each with its own connection pool).
pub struct Endpoint {
    pub scheme: Scheme,
    pub authority: Authority,
    pub base_path: String,
    /// The `Host` field the upstream expects: its own authority (RFC 9110 section 7.2).
    pub host: HeaderValue,
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
        Endpoint {
            scheme: url.scheme.clone(),
            authority: url.authority.clone(),
            base_path: url.base_path.clone(),
            host: url.host_header.clone(),
            clients: template.build(settings, addresses),
        }
    }

    /// The calling worker's client: its connections are driven by this thread's runtime.
    pub fn client(&self) -> &HttpClient {
        &self.clients[crate::worker::index() % self.clients.len()]
    }
}
