//! What every binary of the project needs at start-up and shutdown.
//!
//! The interface contract says every binary reads `REGION` (falling back to `AWS_REGION`) and `PORT`
//! (default 8080), logs JSON lines by default, stops cleanly on SIGTERM/SIGINT, and offers a
//! `healthcheck` subcommand for container images that have no shell, and reports its build
//! ([`build_info`]) in `/health`. Each of those lives in one
//! module here so the binaries only wire them together.

pub mod access_log;
pub mod build_info;
pub mod conn;
pub mod env;
pub mod healthcheck;
pub mod logging;
pub mod request_id;
pub mod runtime;
pub mod shutdown;

/// Response header in which a service names the region that served the request.
pub const SERVICE_REGION_HEADER: &str = "x-service-region";
/// Response header in which a service names itself.
pub const SERVICE_NAME_HEADER: &str = "x-service-name";
/// Response header in which the gateway (the external API) names the region it ran in.
pub const GATEWAY_REGION_HEADER: &str = "x-gateway-region";

/// The identity body of the original pattern, byte for byte: `{"service": "service1", "region": "us-east-1"}`
/// (key order service, region; a space after each colon and comma).
pub fn identity_body(service: &str, region: &str) -> String {
    let quote = |s: &str| serde_json_escape(s);
    format!(
        "{{\"service\": {}, \"region\": {}}}",
        quote(service),
        quote(region)
    )
}

/// A JSON string literal for `s` (quotes and escapes), without pulling serde into every caller.
fn serde_json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn identity_body_matches_the_original_bytes() {
        assert_eq!(
            super::identity_body("service1", "us-east-1"),
            r#"{"service": "service1", "region": "us-east-1"}"#
        );
        assert_eq!(
            super::identity_body("a\"b", "x"),
            r#"{"service": "a\"b", "region": "x"}"#
        );
    }
}
