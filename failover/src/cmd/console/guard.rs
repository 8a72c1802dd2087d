//! What keeps a web page other than the console's own from driving it (the defences Jupyter and
//! similar local consoles use), applied to every request in one middleware:
//!
//! - **Host**: only the names the console serves are answered (`localhost`, `127.0.0.1`, `[::1]`,
//!   the listen address, and `--allow-host` names; any port, since compose may publish another).
//!   A page on another site that rebinds its DNS name to 127.0.0.1 still sends its own name in
//!   `Host` (RFC 9110 section 7.2), so it is refused before anything runs.
//! - **Origin**: a state-changing request (anything but GET and HEAD) that carries an `Origin`
//!   (browsers send one on every cross-origin and every POST fetch, RFC 6454 section 7.3) must
//!   carry the console's own: `http://` and the request's `Host`.
//! - **Secret**: a per-start secret (or `--secret`), printed in the start-up URL as `?token=`.
//!   Opening that URL exchanges it for an `HttpOnly; SameSite=Strict` cookie (RFC 6265bis
//!   section 4.1.2.7: never sent by another site's requests) and redirects to the clean URL;
//!   every other request needs the cookie (or `Authorization: Bearer <secret>` for scripts).
//! - **Framing and scripts**: every answer carries a `Content-Security-Policy` with
//!   `frame-ancestors 'none'` (and `X-Frame-Options: DENY` for older browsers), so the typed
//!   confirmation cannot be clickjacked, and the page runs only its own script file.
//!
//! Refusals are JSON: `{"error": "..."}` with 403 (foreign Host or Origin) or 401 (no secret).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// The cookie that carries the secret after the start-up URL was opened.
pub const COOKIE: &str = "failover_console";
/// The page's policy: its own script and style files, fetches to itself, no frames, no forms
/// posted elsewhere.
pub const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/// A report's policy: no script at all; its own inline styles.
pub const REPORT_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The shortest `--secret` accepted.
pub const MIN_SECRET_LEN: usize = 16;

/// Who may talk to the console.
#[derive(Clone, Debug)]
pub struct Guard {
    /// Host names answered (lower case, IPv6 in brackets), ports not compared.
    hosts: Vec<String>,
    secret: String,
}

/// A `--secret` that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("--secret (or FAILOVER_CONSOLE_SECRET) must be at least {MIN_SECRET_LEN} visible ASCII characters with no spaces, ; or ,")]
pub struct BadSecret;

/// A fresh secret: 32 random bytes from the operating system, as hex.
pub fn new_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Checks a secret given on the command line (it goes into a cookie and a URL unchanged).
pub fn check_secret(s: &str) -> Result<(), BadSecret> {
    let ok = s.len() >= MIN_SECRET_LEN
        && s.bytes()
            .all(|c| c.is_ascii_graphic() && !b";,\"\\%&+#?=".contains(&c));
    ok.then_some(()).ok_or(BadSecret)
}

impl Guard {
    /// The guard of a console listening on `listen`, also answering `extra_hosts`.
    pub fn new(listen: SocketAddr, extra_hosts: &[String], secret: String) -> Guard {
        let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .map(|h| (*h).to_owned())
            .collect();
        if !listen.ip().is_unspecified() {
            hosts.push(host_of_ip(listen.ip()));
        }
        for h in extra_hosts {
            hosts.push(host_name(h).to_ascii_lowercase());
        }
        hosts.dedup();
        Guard { hosts, secret }
    }

    /// The start-up URL: the clean URL with the secret to exchange.
    pub fn url(&self, listen: SocketAddr) -> String {
        let host = if listen.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            host_of_ip(listen.ip())
        };
        format!("http://{host}:{}/?token={}", listen.port(), self.secret)
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        self.hosts.contains(&name)
    }

    fn has_secret(&self, headers: &HeaderMap) -> bool {
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .any(|(k, v)| k == COOKIE && same(v, &self.secret));
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|v| same(v.trim(), &self.secret));
        cookie || bearer
    }
}

/// `127.0.0.1` or `[::1]`, as in a `Host` field.
fn host_of_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// The name part of a `Host` value: `[::1]:8700` gives `[::1]`, `localhost:8700` `localhost`.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// Compares two secrets in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// The `token` query parameter, if any.
fn token(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|kv| kv.strip_prefix("token="))
}

/// The middleware: Host, Origin and secret checks, then the security headers on every answer.
pub async fn check(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let mut resp = admit(&guard, req, next).await;
    let h = resp.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(PAGE_POLICY));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

async fn admit(guard: &Guard, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !guard.host_allowed(host) {
        return refuse(
            StatusCode::FORBIDDEN,
            format!(
                "Host {host:?} is not a name this console serves ({}; --allow-host adds one)",
                guard.hosts.join(", ")
            ),
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        if let Some(origin) = headers.get(header::ORIGIN) {
            let own = format!("http://{host}");
            if origin.as_bytes() != own.as_bytes() {
                return refuse(
                    StatusCode::FORBIDDEN,
                    format!(
                        "Origin {:?} is not this console's ({own}): a page elsewhere cannot change anything here",
                        String::from_utf8_lossy(origin.as_bytes())
                    ),
                );
            }
        }
    }
    if req.method() == Method::GET && req.uri().path() == "/" {
        if let Some(t) = token(req.uri().query()) {
            if !same(t, &guard.secret) {
                return refuse(
                    StatusCode::UNAUTHORIZED,
                    "the token in the URL is not this console's (it changes at every start: use the URL it printed)".into(),
                );
            }
            let cookie = format!(
                "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
                guard.secret
            );
            return (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, "/".to_owned()),
                    (header::SET_COOKIE, cookie),
                    (header::CACHE_CONTROL, "no-store".to_owned()),
                ],
            )
                .into_response();
        }
    }
    if !guard.has_secret(headers) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "open the URL the console printed at start-up (it carries this run's secret), or send Authorization: Bearer <secret>".into(),
        );
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_compared_without_ports() {
        let g = Guard::new("0.0.0.0:8700".parse().unwrap(), &[], "s".repeat(20));
        for ok in [
            "127.0.0.1:8700",
            "localhost:9000",
            "LOCALHOST",
            "[::1]:8700",
        ] {
            assert!(g.host_allowed(ok), "{ok}");
        }
        for no in [
            "attacker.example",
            "attacker.example:8700",
            "0.0.0.0:8700",
            "",
            "[::2]:1",
        ] {
            assert!(!g.host_allowed(no), "{no}");
        }
        let g = Guard::new(
            "10.0.0.5:8700".parse().unwrap(),
            &["console.example.com:8700".into()],
            "s".repeat(20),
        );
        assert!(g.host_allowed("10.0.0.5:8700"));
        assert!(g.host_allowed("console.example.com"));
        assert_eq!(
            g.url("10.0.0.5:8700".parse().unwrap()),
            format!("http://10.0.0.5:8700/?token={}", "s".repeat(20))
        );
    }

    #[test]
    fn secrets_are_checked_and_fresh_ones_differ() {
        assert!(check_secret("short").is_err());
        assert!(check_secret("has a space in it ok").is_err());
        assert!(check_secret("semi;colon-semi;colon").is_err());
        assert!(check_secret("0123456789abcdef").is_ok());
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(check_secret(&a).is_ok());
        assert!(same(&a, &a.clone()) && !same(&a, &b) && !same(&a, "x"));
    }
}
