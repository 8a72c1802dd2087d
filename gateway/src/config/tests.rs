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

pub(super) fn load(
    file: Option<&str>,
    vars: &'static [(&'static str, &'static str)],
) -> Result<Config, ConfigError> {
    let names: Vec<String> = vars.iter().map(|(k, _)| k.to_string()).collect();
    Config::load_with_names(
        Sources {
            file: file.map(|t| ("gateway.toml".to_string(), t.to_string())),
            env: env_with(vars),
        },
        &names,
    )
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

#[test]
fn errors_name_where_a_value_came_from() {
    let e = load(
        Some("region = \"nowhere 1\"\n[[route]]\nprefix = \"/a\"\nupstream = \"http://x\""),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("region = \"nowhere 1\""),
        "the file's key, not REGION: {e}"
    );
    let e = load(
        Some("[[route]]\nprefix = \"/a\"\nupstream = \"http://x\""),
        &[("REGION", "us-east-1"), ("PORT", "0")],
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("server.port (from PORT) = \"0\""), "{e}");
    let e = load(
        Some("[defaults]\nconnect_timeout = \"2m\"\n[[route]]\nprefix = \"/a\"\nupstream = \"http://x\""),
        &[("REGION", "us-east-1")],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("route[0].connect_timeout (from [defaults])"),
        "{e}"
    );
    let e = load(
        None,
        &[
            ("REGION", "us-east-1"),
            ("SERVICE1_URL", "http://x"),
            ("ARC_POLL_INTERVAL", "1h"),
        ],
    );
    assert!(e.is_ok(), "ARC_* without an arc route is only a warning");
}

#[test]
fn settings_that_do_nothing_are_warned_about() {
    let c = load(
        Some("[arc]\npoll_interval = \"2s\"\n[dns]\nmin_ttl = \"5s\"\n[[route]]\nprefix = \"/a\"\nupstream = \"http://10.0.0.1\""),
        &[("REGION", "us-east-1"), ("ARC_POLL_INTERVAL", "2s")],
    )
    .unwrap();
    assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
    assert!(c.warnings[0].starts_with("[arc] has no effect"));
    assert!(c.warnings[1].starts_with("ARC_POLL_INTERVAL has no effect"));
    assert!(c.warnings[2].starts_with("[dns] / DNS_SERVER has no effect"));
    let quiet = load(
        Some("[[route]]\nprefix = \"/a\"\nupstream = \"http://service1.example.com\""),
        &[("REGION", "us-east-1")],
    )
    .unwrap();
    assert!(quiet.warnings.is_empty(), "{:?}", quiet.warnings);
}

#[test]
fn worker_threads_follow_the_services_rule() {
    for (v, ok) in [("1", true), ("1024", true), ("0", false), ("1025", false)] {
        let vars: &'static [(&'static str, &'static str)] = Box::leak(Box::new([
            ("REGION", "us-east-1"),
            ("SERVICE1_URL", "http://x"),
            ("WORKER_THREADS", v),
        ]));
        assert_eq!(load(None, vars).is_ok(), ok, "WORKER_THREADS={v}");
        assert_eq!(
            bootstrap::runtime::WORKERS.contains(&v.parse().unwrap()),
            ok
        );
    }
}

#[test]
fn the_effective_configuration_parses_back_to_the_same() {
    let text = r#"
        [server]
        trusted_proxy_hops = 1
        [defaults]
        connect_timeout = "500ms"
        [dns]
        server = "127.0.0.1:5353"
        [[route]]
        prefix = "/service1"
        upstream = "http://service1.example.com:8080/base"
        retries = 0
        [[route]]
        prefix = "/"
        upstream = "http://10.0.0.1"
        strip_prefix = false
    "#;
    let c = load(Some(text), &[("REGION", "eu-west-1"), ("PORT", "8081")]).unwrap();
    let printed = c.to_toml();
    assert!(printed.contains("region = \"eu-west-1\""), "{printed}");
    assert!(printed.contains("# env REGION"), "{printed}");
    assert!(printed.contains("port = 8081"), "{printed}");
    assert!(printed.contains("# env PORT"), "{printed}");
    assert!(
        printed.contains("connect_timeout = \"500ms\"") && printed.contains("# [defaults]"),
        "{printed}"
    );
    let again = load(Some(&printed), &[]).unwrap();
    assert_eq!(again.region, c.region);
    assert_eq!(again.server, c.server);
    assert_eq!(again.dns, c.dns);
    assert_eq!(again.routes.len(), c.routes.len());
    for (a, b) in again.routes.iter().zip(&c.routes) {
        assert_eq!(
            (&a.prefix, a.strip_prefix, &a.settings),
            (&b.prefix, b.strip_prefix, &b.settings)
        );
    }
}

/// The loopback cluster document as `ARC_CLUSTER_JSON` text.
fn local_document() -> &'static str {
    let doc = recovery::local::default_document("127.0.0.1", 4566);
    Box::leak(serde_json::to_string(&doc).unwrap().into_boxed_str())
}

#[test]
fn the_cluster_document_gives_dns_mode_routes_their_regional_urls() {
    static VARS: std::sync::OnceLock<[(&str, &str); 3]> = std::sync::OnceLock::new();
    let vars = VARS.get_or_init(|| {
        [
            ("REGION", "us-east-1"),
            ("SERVICE1_URL", "http://service1.example.com:8080"),
            ("ARC_CLUSTER_JSON", local_document()),
        ]
    });
    let c = load(None, vars).unwrap();
    assert!(matches!(c.routes[0].target, RouteTarget::Dns { .. }));
    let regions: Vec<_> = c.routes[0]
        .regional
        .iter()
        .map(|(r, u)| (r.as_str(), u.label()))
        .collect();
    assert_eq!(
        regions,
        [
            ("us-east-1", "http://127.0.1.2:8080".to_owned()),
            ("us-west-2", "http://127.0.2.2:8080".to_owned())
        ]
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // A document that cannot be read is an error in dns mode too, naming the variable.
    let e = load(
        None,
        &[
            ("REGION", "us-east-1"),
            ("SERVICE1_URL", "http://service1.example.com"),
            ("ARC_CLUSTER_FILE", "/nonexistent.json"),
        ],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("arc.cluster_file (from ARC_CLUSTER_FILE)"),
        "{e}"
    );
}

#[test]
fn regional_urls_are_checked_and_named() {
    let route = |regional: &str| {
        format!("region = \"us-east-1\"\n[[route]]\nprefix = \"/a\"\nupstream = \"http://a.example.com\"\nregional = {{ {regional} }}\n")
    };
    let c = load(
        Some(&route(
            r#"us-east-1 = "http://10.0.1.2:8080", us-west-2 = "http://10.0.2.2:8080""#,
        )),
        &[],
    )
    .unwrap();
    assert_eq!(c.routes[0].regional.len(), 2);
    assert_eq!(c.routes[0].regional[1].0, "us-west-2");
    let e = load(Some(&route(r#"us-west-2 = "ftp://10.0.2.2""#)), &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("route[0].regional.us-west-2 = \"ftp://10.0.2.2\""),
        "{e}"
    );
    let e = load(Some(&route(r#"Nowhere = "http://10.0.2.2""#)), &[])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("route[0].regional.Nowhere"), "{e}");
    let e = load(
        Some("region = \"us-east-1\"\n[defaults]\neject_base = \"5s\"\neject_max = \"1s\"\n[[route]]\nprefix = \"/a\"\nupstream = \"http://10.0.0.1\""),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("route[0].eject_max"), "{e}");
    let e = load(
        Some("region = \"us-east-1\"\n[defaults]\nfallback = \"yes\"\n[[route]]\nprefix = \"/a\"\nupstream = \"http://10.0.0.1\""),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("fallback = \"yes\"") && e.contains("expected true or false"),
        "{e}"
    );
}
