//! Hop-by-hop header rules (RFC 9110 section 7.6.1), in one place for both directions.
//!
//! A proxy forwards a message's end-to-end fields and consumes the fields that describe only the
//! connection it arrived on. Those are: `Connection` and every field it names; `Keep-Alive`
//! (RFC 7230 appendix A.1.2); `Proxy-Connection` (non-standard, still sent by old clients); `TE`
//! (section 10.1.4, hop-by-hop, but `TE: trailers` says the client can take trailers, which stays
//! true across the gateway, so it is kept); `Transfer-Encoding` (RFC 9112 section 6.1, each hop
//! frames the body itself); `Upgrade` (section 7.8, kept only when the gateway relays the upgrade);
//! `Proxy-Authorization` / `Proxy-Authenticate` (section 11.7, meant for the proxy, never the origin).

use http::header::{
    HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION, TE, TRANSFER_ENCODING, UPGRADE,
};

static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .map(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
            .unwrap_or(false)
    })
}

/// The protocol a message asks to upgrade to: `Connection: upgrade` and an `Upgrade` field.
pub fn upgrade_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    if has_token(headers, &CONNECTION, "upgrade") {
        headers.get(UPGRADE).cloned()
    } else {
        None
    }
}

/// A response framed by both `Transfer-Encoding` and `Content-Length` was read by its
/// `Transfer-Encoding` (hyper does so); RFC 9112 section 6.3 says "an intermediary that chooses to
/// forward the message MUST first remove the received Content-Length field". Left in place, the
/// client would frame the decoded body by a length it does not have (cut short or hanging). The
/// gateway forwards the decoded body and lets its own server frame it (chunked). Call before
/// [`strip`], which drops `Transfer-Encoding` itself.
pub fn response_framing(headers: &mut HeaderMap) {
    if headers.contains_key(TRANSFER_ENCODING) {
        headers.remove(CONTENT_LENGTH);
    }
}

/// Removes every hop-by-hop field. When `upgrade` is set, the message is relaying that upgrade
/// and gets `Connection: upgrade` and `Upgrade` back.
pub fn strip(headers: &mut HeaderMap, upgrade: Option<HeaderValue>) {
    let keep_trailers = has_token(headers, &TE, "trailers");
    if headers.contains_key(CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|s| s.split(','))
            .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
        headers.remove(CONNECTION);
    }
    for name in [
        &KEEP_ALIVE,
        &PROXY_CONNECTION,
        &TE,
        &TRANSFER_ENCODING,
        &UPGRADE,
        &PROXY_AUTHORIZATION,
        &PROXY_AUTHENTICATE,
    ] {
        headers.remove(name);
    }
    if keep_trailers {
        headers.insert(TE, HeaderValue::from_static("trailers"));
    }
    if let Some(protocol) = upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, protocol);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_encoding_wins_over_content_length_in_a_response() {
        let mut h = map(&[("transfer-encoding", "chunked"), ("content-length", "3")]);
        response_framing(&mut h);
        assert!(!h.contains_key(CONTENT_LENGTH));
        let mut h = map(&[("content-length", "3")]);
        response_framing(&mut h);
        assert_eq!(h[CONTENT_LENGTH], "3");
    }

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
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
    fn removes_hop_by_hop_and_connection_named_fields() {
        let mut h = map(&[
            ("connection", "close, X-Secret"),
            ("connection", "x-other"),
            ("x-secret", "1"),
            ("x-other", "1"),
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "keep-alive"),
            ("te", "gzip"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic xyz"),
            ("x-end-to-end", "kept"),
            ("authorization", "Bearer kept"),
        ]);
        strip(&mut h, None);
        let names: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["x-end-to-end", "authorization"]);
    }

    #[test]
    fn te_trailers_survives() {
        let mut h = map(&[("te", "trailers, deflate")]);
        strip(&mut h, None);
        assert_eq!(h.get(TE).unwrap(), "trailers");
    }

    #[test]
    fn upgrades_are_relayed_only_when_asked() {
        let h = map(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket"),
        ]);
        let proto = upgrade_protocol(&h);
        assert_eq!(proto.as_ref().unwrap(), "websocket");
        let mut h2 = h.clone();
        strip(&mut h2, proto);
        assert_eq!(h2.get(CONNECTION).unwrap(), "upgrade");
        assert_eq!(h2.get(UPGRADE).unwrap(), "websocket");
        assert!(upgrade_protocol(&map(&[("upgrade", "websocket")])).is_none());
    }
}
