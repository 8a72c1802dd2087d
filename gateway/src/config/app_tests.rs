//! The rules of the routes made from the apps the gateway is given (`app_routes`): one test per rule.

use super::tests::load;
use super::*;

/// `load` with variables made at run time (leaked: a test's table must be `'static`).
fn load_with(file: Option<&str>, vars: Vec<(&'static str, String)>) -> Result<Config, ConfigError> {
    let vars: Vec<(&'static str, &'static str)> = vars
        .into_iter()
        .map(|(k, v)| (k, &*Box::leak(v.into_boxed_str())))
        .collect();
    load(file, Box::leak(vars.into_boxed_slice()))
}

/// The loopback document with external-api, service1 and `orders` (service2's entry renamed).
fn document_with_orders(prefix: Option<&str>) -> String {
    let mut doc = recovery::local::default_document("127.0.0.1", 4566);
    let mut orders = doc.apps.remove("service2").unwrap();
    orders.hostname = "orders.example.com".into();
    orders.prefix = prefix.map(str::to_owned);
    doc.apps.insert("orders".into(), orders);
    serde_json::to_string(&doc).unwrap()
}

fn prefixes(c: &Config) -> Vec<&str> {
    c.routes.iter().map(|r| r.prefix.as_str()).collect()
}

#[test]
fn every_app_url_variable_is_a_route_named_after_it() {
    let c = load(
        None,
        &[
            ("REGION", "us-east-1"),
            ("ORDERS_URL", "http://127.0.0.1:8081"),
            ("BILLING_URL", "http://billing.example.com:8080"),
            ("ORDER_HISTORY_URL", "http://127.0.0.1:8082/history"),
        ],
    )
    .unwrap();
    assert_eq!(prefixes(&c), ["/billing", "/order-history", "/orders"]);
    assert!(
        matches!(&c.routes[0].target, RouteTarget::Dns { host, .. } if host == "billing.example.com")
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let printed = c.to_toml();
    assert!(
        printed.contains("prefix = \"/orders\"") && printed.contains("# env ORDERS_URL"),
        "{printed}"
    );
    assert!(!printed.contains("SERVICE1_URL"), "{printed}");
}

#[test]
fn a_prefix_variable_moves_an_apps_prefix_and_a_stray_one_is_named() {
    let c = load(
        None,
        &[
            ("REGION", "us-east-1"),
            ("ORDERS_URL", "http://127.0.0.1:8081"),
            ("ORDERS_PREFIX", "/api/orders"),
            ("BILING_PREFIX", "/billing"),
        ],
    )
    .unwrap();
    assert_eq!(prefixes(&c), ["/api/orders"]);
    assert!(c.to_toml().contains("# env ORDERS_PREFIX"));
    assert_eq!(
        c.warnings,
        ["BILING_PREFIX has no effect: no BILING_URL and no app \"biling\" in the cluster document"]
    );
    let e = load(
        None,
        &[
            ("REGION", "us-east-1"),
            ("ORDERS_URL", "http://127.0.0.1:8081"),
            ("ORDERS_PREFIX", "orders"),
        ],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("ORDERS_PREFIX = \"orders\": must start with '/'"),
        "{e}"
    );
}

#[test]
fn a_bad_app_url_is_an_error_naming_the_variable_and_platform_variables_are_not_routes() {
    let e = load(
        None,
        &[
            ("REGION", "us-east-1"),
            ("ORDERS_URL", "orders.example.com"),
        ],
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("ORDERS_URL = \"orders.example.com\""), "{e}");
    let c = load(
        None,
        &[
            ("REGION", "us-east-1"),
            ("ORDERS_URL", "http://127.0.0.1:8081"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            // The global limits' engine, a setting of the gateway's own: not an app.
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("lower_url", "http://127.0.0.1:1"),
        ],
    )
    .unwrap();
    assert_eq!(prefixes(&c), ["/orders"]);
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(c.warnings[0].starts_with("GITHUB_SERVER_URL is not read as a route"));
}

#[test]
fn arc_mode_routes_every_app_of_the_document_but_the_gateways_own() {
    let c = load_with(
        None,
        vec![
            ("REGION", "us-east-1".into()),
            ("GATEWAY_FAILOVER_MODE", "arc".into()),
            ("SERVICE1_URL", "http://service1.example.com:8080".into()),
            ("BILLING_URL", "http://billing.example.com:8080".into()),
            ("ARC_CLUSTER_JSON", document_with_orders(None)),
        ],
    )
    .unwrap();
    assert_eq!(prefixes(&c), ["/orders", "/service1"]);
    assert!(matches!(&c.routes[0].target, RouteTarget::Arc { app, .. } if app == "orders"));
    assert_eq!(c.routes[0].regional[1].1.label(), "http://127.0.2.3:8080");
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(
        c.warnings[0].starts_with("BILLING_URL has no effect: arc mode routes the cluster document's apps, and it has no app \"billing\" (apps: external-api, orders, service1)"),
        "{:?}",
        c.warnings
    );
    let printed = c.to_toml();
    assert!(
        printed.contains("failover = \"arc\"") && printed.contains("# env GATEWAY_FAILOVER_MODE"),
        "{printed}"
    );
    assert!(printed.contains("# cluster document"), "{printed}");
    assert!(
        !printed
            .lines()
            .any(|l| l.starts_with("failover") && l.contains("SERVICE1_URL")),
        "the mode did not come from SERVICE1_URL: {printed}"
    );
    // The printed configuration loads back as a file, with the same routes.
    let again = load_with(
        Some(&printed),
        vec![("ARC_CLUSTER_JSON", document_with_orders(None))],
    )
    .unwrap();
    assert_eq!(prefixes(&again), prefixes(&c));
    assert!(
        !again
            .warnings
            .iter()
            .any(|w| w.contains("orders") || w.contains("service1")),
        "{:?}",
        again.warnings
    );
}

#[test]
fn the_documents_prefix_is_used_and_dns_mode_calls_an_apps_failover_record() {
    let c = load_with(
        None,
        vec![
            ("REGION", "us-east-1".into()),
            ("SERVICE1_URL", "http://service1.example.com:8080".into()),
            (
                "ARC_CLUSTER_JSON",
                document_with_orders(Some("/api/orders")),
            ),
        ],
    )
    .unwrap();
    assert_eq!(prefixes(&c), ["/api/orders", "/service1"]);
    match &c.routes[0].target {
        RouteTarget::Dns { url, host } => {
            assert_eq!(url.label(), "https://orders.example.com");
            assert_eq!(host, "orders.example.com");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.routes[0].regional.len(),
        2,
        "the document's regional URLs"
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn a_file_route_naming_an_unknown_app_is_an_error_listing_the_apps() {
    let file = "region = \"us-east-1\"\n[[route]]\nprefix = \"/service1\"\nfailover = \"arc\"\n[[route]]\nprefix = \"/service2\"\nfailover = \"arc\"\n";
    let e = load_with(
        Some(file),
        vec![("ARC_CLUSTER_JSON", document_with_orders(None))],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("route[1].arc_app = \"service2\": no app \"service2\" in the cluster document (apps: external-api, orders, service1)"),
        "{e}"
    );
    // A document app no file route serves, and an `<APP>_URL` the file ignores, are named.
    let file = "region = \"us-east-1\"\n[[route]]\nprefix = \"/service1\"\nfailover = \"arc\"\n";
    let c = load_with(
        Some(file),
        vec![
            ("ARC_CLUSTER_JSON", document_with_orders(None)),
            ("BILLING_URL", "http://billing.example.com".into()),
        ],
    )
    .unwrap();
    assert_eq!(prefixes(&c), ["/service1"]);
    assert_eq!(
        c.warnings,
        [
            "BILLING_URL has no effect: the file's [[route]] tables are the routes (add one with prefix = \"/billing\")",
            "the cluster document's app \"orders\" has no route: add a [[route]] with prefix = \"/orders\" and arc_app = \"orders\"",
        ]
    );
}

#[test]
fn no_app_at_all_is_an_error_that_says_how_to_give_one() {
    let e = load(None, &[("REGION", "us-east-1")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("ORDERS_URL routes /orders"), "{e}");
}
