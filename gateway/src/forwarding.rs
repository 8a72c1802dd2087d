//! The forwarding headers the gateway adds: `X-Forwarded-For`, `X-Forwarded-Proto`,
//! `X-Forwarded-Host` (de facto standards) and `Forwarded` (RFC 7239).
//!
//! Trust is explicit: `trusted_proxy_hops` is the number of proxies in front of the gateway (1
//! behind an ALB). With 0, a client talks to the gateway directly and any forwarding header it sent
//! is a claim nobody vouches for, so it is dropped and replaced. With N > 0, incoming values are
//! kept and the gateway appends its own hop, and the client address is the one N hops back.

use std::net::{IpAddr, SocketAddr};

use http::header::{HeaderMap, HeaderName, HeaderValue, FORWARDED, HOST};

pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Applies the forwarding rules for one hop.
#[derive(Clone, Copy, Debug)]
pub struct Forwarding {
    pub trusted_proxy_hops: usize,
}

impl Forwarding {
    /// Rewrites the forwarding headers of a request that arrived from `peer` over `proto`, with the
    /// client's `Host` field. Returns the client's address as far as the trusted hops vouch for it.
    pub fn apply(&self, headers: &mut HeaderMap, peer: SocketAddr, proto: &'static str) -> IpAddr {
        let peer_ip = peer.ip().to_canonical();
        let host = headers.get(HOST).cloned();
        let trusted = self.trusted_proxy_hops > 0;

        // X-Forwarded-For: the chain of addresses, client first.
        let mut chain: Vec<String> = if trusted {
            headers
                .get_all(&X_FORWARDED_FOR)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|s| s.split(','))
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        } else {
            Vec::new()
        };
        chain.push(peer_ip.to_string());
        let client = chain
            .len()
            .checked_sub(1 + self.trusted_proxy_hops)
            .and_then(|i| chain[i].parse::<IpAddr>().ok())
            .or_else(|| chain.first().and_then(|s| s.parse().ok()))
            .unwrap_or(peer_ip);
        set(headers, &X_FORWARDED_FOR, &chain.join(", "));

        // X-Forwarded-Proto / -Host: the nearest trusted proxy knows what the client used.
        if !(trusted && headers.contains_key(&X_FORWARDED_PROTO)) {
            headers.insert(&X_FORWARDED_PROTO, HeaderValue::from_static(proto));
        }
        if !(trusted && headers.contains_key(&X_FORWARDED_HOST)) {
            match &host {
                Some(h) => {
                    headers.insert(&X_FORWARDED_HOST, h.clone());
                }
                None => {
                    headers.remove(&X_FORWARDED_HOST);
                }
            }
        }

        // Forwarded: one element per hop (RFC 7239 section 4); IPv6 and ports need quoting.
        let mut element = match peer_ip {
            IpAddr::V4(ip) => format!("for={ip}"),
            IpAddr::V6(ip) => format!("for=\"[{ip}]\""),
        };
        if let Some(h) = host.as_ref().and_then(|h| h.to_str().ok()) {
            element.push_str(";host=");
            push_token_or_quoted(&mut element, h);
        }
        element.push_str(";proto=");
        element.push_str(proto);
        let forwarded = if trusted {
            let previous: Vec<&str> = headers
                .get_all(FORWARDED)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            if previous.is_empty() {
                element
            } else {
                format!("{}, {element}", previous.join(", "))
            }
        } else {
            element
        };
        set(headers, &FORWARDED, &forwarded);
        client
    }
}

fn set(headers: &mut HeaderMap, name: &HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(v) => {
            headers.insert(name, v);
        }
        Err(_) => {
            headers.remove(name);
        }
    }
}

/// RFC 7239 section 4: a value is a token, or a quoted-string when it has other characters (':' in host:port).
fn push_token_or_quoted(out: &mut String, value: &str) {
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if value.chars().all(is_tchar) {
        out.push_str(value);
    } else {
        out.push('"');
        for c in value.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn untrusted_client_headers_are_replaced() {
        let mut h = headers(&[
            ("host", "api.example.com"),
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example.com"),
            ("forwarded", "for=6.6.6.6"),
        ]);
        let client = Forwarding {
            trusted_proxy_hops: 0,
        }
        .apply(&mut h, "192.0.2.7:5000".parse().unwrap(), "http");
        assert_eq!(client.to_string(), "192.0.2.7");
        assert_eq!(h["x-forwarded-for"], "192.0.2.7");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "api.example.com");
        assert_eq!(
            h["forwarded"],
            "for=192.0.2.7;host=api.example.com;proto=http"
        );
    }

    #[test]
    fn trusted_hops_append() {
        let mut h = headers(&[
            ("host", "api.example.com:8443"),
            ("x-forwarded-for", "198.51.100.1, 203.0.113.9"),
            ("x-forwarded-proto", "https"),
            ("forwarded", "for=198.51.100.1;proto=https"),
        ]);
        // The ALB (10.0.0.5 here, the peer) is the one trusted hop: the client is the last XFF entry.
        let client = Forwarding {
            trusted_proxy_hops: 1,
        }
        .apply(&mut h, "[::ffff:10.0.0.5]:1".parse().unwrap(), "http");
        assert_eq!(client.to_string(), "203.0.113.9");
        assert_eq!(h["x-forwarded-for"], "198.51.100.1, 203.0.113.9, 10.0.0.5");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(
            h["forwarded"],
            "for=198.51.100.1;proto=https, for=10.0.0.5;host=\"api.example.com:8443\";proto=http"
        );
    }

    #[test]
    fn ipv6_is_quoted_and_short_chains_fall_back() {
        let mut h = headers(&[]);
        let client = Forwarding {
            trusted_proxy_hops: 3,
        }
        .apply(&mut h, "[2001:db8::1]:9".parse().unwrap(), "http");
        assert_eq!(client.to_string(), "2001:db8::1");
        assert_eq!(h["forwarded"], "for=\"[2001:db8::1]\";proto=http");
        assert!(!h.contains_key("x-forwarded-host"));
    }
}
