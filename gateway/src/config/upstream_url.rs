//! An upstream URL as the gateway uses it: checked once at start-up (scheme, host, no query,
//! fragment or credentials), with the `Host` field and port requests to it carry.

use http::uri::{Authority, Scheme};
use http::HeaderValue;

/// An upstream URL, checked: http or https, a host, no query, fragment or credentials.
#[derive(Clone, Debug, PartialEq)]
pub struct UpstreamUrl {
    pub scheme: Scheme,
    pub authority: Authority,
    /// The path requests are appended to (`/` or empty for none).
    pub base_path: String,
    /// The `Host` field the upstream expects: its own authority (RFC 9110 section 7.2).
    pub host_header: HeaderValue,
}

impl UpstreamUrl {
    /// Parses and checks an upstream URL; the reason names what is wrong.
    pub fn parse(url: &str) -> Result<UpstreamUrl, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| e.to_string())?;
        let scheme = match uri.scheme_str() {
            Some("http") => Scheme::HTTP,
            Some("https") => Scheme::HTTPS,
            _ => return Err("must be an http:// or https:// URL".into()),
        };
        let Some(authority) = uri
            .authority()
            .filter(|_| uri.host().is_some_and(|h| !h.is_empty()))
        else {
            return Err("must name a host".into());
        };
        if uri.query().is_some() || url.contains('#') {
            return Err("must not have a query or fragment".into());
        }
        if authority.as_str().contains('@') {
            return Err("must not carry credentials".into());
        }
        let host_header = HeaderValue::from_str(authority.as_str())
            .map_err(|_| "the host is not a valid Host field".to_owned())?;
        Ok(UpstreamUrl {
            scheme,
            authority: authority.clone(),
            base_path: uri.path().to_owned(),
            host_header,
        })
    }

    /// The host without IPv6 brackets.
    pub fn host(&self) -> &str {
        self.authority.host().trim_matches(|c| c == '[' || c == ']')
    }

    /// The port requests go to: the URL's, else the scheme's (RFC 9110 section 4.2).
    pub fn port(&self) -> u16 {
        self.authority
            .port_u16()
            .unwrap_or(if self.scheme == Scheme::HTTPS {
                443
            } else {
                80
            })
    }

    /// `scheme://authority`, for logs and metrics.
    pub fn label(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }
}
