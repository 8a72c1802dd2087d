//! The configuration loader's rules, one test per rule.

use std::time::Duration;

use super::route::validate_prefix;
use super::*;

fn env_with(vars: &'static [(&'static str, &'static str)]) -> fn(&str) -> Option<String> {
    // A fn pointer cannot capture, so tests use a thread-local table.
    VARS.with(|v| *v.borrow_mut() = vars);
    |name| {
        VARS.with(|v| {
            v.borrow()
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }
}
thread_local! {
    static VARS: std::cell::RefCell<&'static [(&'static str, &'static str)]> = const { std::cell::RefCell::new(&[]) };
}

fn load(
    file: Option<&str>,
    vars: &'static [(&'static str, &'static str)],
) -> Result<Config, ConfigError> {
    Config::load(Sources {
        file: file.map(|t| ("gateway.toml".to_string(), t.to_string())),
        env: env_with(vars),
    })
}

#[test]
fn env_urls_are_enough() {
    let c = load(
        None,
        &[
            ("REGION", "us-east-1"),
            ("SERVICE1_URL", "http://s1:8080"),
            ("SERVICE2_URL", "https://service2.example.com/base"),
        ],
    )
    .unwrap();
    assert_eq!(c.routes.len(), 2);
    assert_eq!(c.routes[0].prefix, "/service1");
    assert!(
        matches!(&c.routes[1].target, RouteTarget::Dns { url, .. } if url.base_path == "/base")
    );
    assert!(c.routes[0].strip_prefix);
    assert_eq!(c.server.port, 8080);
    assert_eq!(c.routes[0].settings, UpstreamSettings::default());
}

#[test]
fn aws_region_is_the_fallback() {
    let c = load(
        None,
        &[("AWS_REGION", "us-west-2"), ("SERVICE1_URL", "http://s1")],
    )
    .unwrap();
    assert_eq!(c.region, "us-west-2");
}

#[test]
fn errors_name_key_and_value() {
    let e = load(
        None,
        &[("REGION", "us-east-1"), ("SERVICE1_URL", "ftp://x")],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("SERVICE1_URL") && e.contains("ftp://x"), "{e}");
    let e = load(
        None,
        &[
            ("REGION", "us-east-1"),
            ("PORT", "80a"),
            ("SERVICE1_URL", "http://x"),
        ],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("PORT") && e.contains("80a"), "{e}");
    let e = load(
        Some("[[route]]\nprefix = \"/a/\"\nupstream = \"http://x\""),
        &[("REGION", "us-east-1")],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("route[0].prefix") && e.contains("\"/a/\""),
        "{e}"
    );
    let e = load(
        Some("[defaults]\nretries = 9\n[[route]]\nprefix = \"/a\"\nupstream = \"http://x\""),
        &[("REGION", "us-east-1")],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("route[0].retries") && e.contains('9'), "{e}");
    let e = load(
        Some("[[route]]\nprefix = \"/a\"\nupstream = \"http://x\"\nretry_backoff = \"1m\""),
        &[("REGION", "us-east-1")],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("route[0].retry_backoff") && e.contains("60s"),
        "{e}"
    );
    let e = load(
        Some("[[route]]\nprefix = \"/a\"\nupstream = \"http://x\""),
        &[("REGION", "us-east-1"), ("WORKER_THREADS", "0")],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("workers") && e.contains("\"0\""), "{e}");
    let e = load(
        Some("[server]\nmax_headers = 0\n[[route]]\nprefix = \"/a\"\nupstream = \"http://x\""),
        &[("REGION", "us-east-1")],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("server.max_headers"), "{e}");
    let e = load(
        Some("[[route]]\nprefix = \"/a\"\nupstream = \"http://x\"\nbogus = 1"),
        &[("REGION", "us-east-1")],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("bogus"), "{e}");
    let e = load(
        Some("[[route]]\nprefix = \"/a\"\nupstream = \"http://x\"\ntotal_timeout = \"soon\""),
        &[("REGION", "us-east-1")],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("total_timeout") || e.contains("soon"), "{e}");
    assert!(matches!(
        load(None, &[("REGION", "us-east-1")]),
        Err(ConfigError::NoRoutes)
    ));
    assert!(matches!(
        load(None, &[("SERVICE1_URL", "http://x")]),
        Err(ConfigError::Env(_))
    ));
}

#[test]
fn file_routes_defaults_and_overrides() {
    let text = r#"
        region = "eu-west-1"
        [server]
        trusted_proxy_hops = 1
        [defaults]
        connect_timeout = "500ms"
        [[route]]
        prefix = "/service1"
        upstream = "http://a:1"
        [[route]]
        prefix = "/service1/admin"
        upstream = "http://b:2"
        strip_prefix = false
        connect_timeout = "1s"
    "#;
    let c = load(Some(text), &[("TRUSTED_PROXY_HOPS", "2")]).unwrap();
    assert_eq!(c.region, "eu-west-1");
    assert_eq!(c.server.trusted_proxy_hops, 2, "env wins over the file");
    assert_eq!(
        c.routes[0].settings.connect_timeout,
        Duration::from_millis(500)
    );
    assert_eq!(c.routes[1].settings.connect_timeout, Duration::from_secs(1));
    assert!(!c.routes[1].strip_prefix);
    assert_eq!(c.routes[1].name, "service1/admin");
    let dup = "[[route]]\nprefix = \"/a\"\nupstream = \"http://x\"\n[[route]]\nprefix = \"/a\"\nupstream = \"http://y\"";
    assert!(load(Some(dup), &[("REGION", "us-east-1")])
        .unwrap_err()
        .to_string()
        .contains("same prefix"));
}

#[test]
fn prefixes() {
    assert!(validate_prefix("/service1").is_ok());
    assert!(validate_prefix("/a/b").is_ok());
    assert!(validate_prefix("/").is_ok(), "catch-all");
    for bad in [
        "", "a", "/a/", "/a//b", "/a/../b", "/health", "/a%2f", "/a b",
    ] {
        assert!(validate_prefix(bad).is_err(), "{bad}");
    }
}
