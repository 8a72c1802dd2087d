//! Bring your own services: the real `gateway` binary routes every app it is given, from
//! `<APP>_URL` variables alone or from the cluster document in arc mode (arc-local serving that
//! document, in this process), and refuses to start on a route to an app the document lacks.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use arc_local::{Emulator, Settings, TopologySource};
use common::*;
use recovery::local::{control_arn, panel_arn};
use recovery::{AppEntry, ArcClient, ClientOptions, ClusterDocument, ControlState};
use testkit::ports::free_port;
use testkit::process::{Process, Spawn};

const BIN: &str = env!("CARGO_BIN_EXE_gateway");

/// Starts the binary with only `envs` (and free ports); its process and base URL.
async fn start(envs: &[(&str, String)]) -> (Process, String) {
    let port = free_port();
    let process = Spawn::new(BIN)
        .env_clear()
        .env("PORT", port.to_string())
        .env("ADMIN_PORT", free_port().to_string())
        .env("BIND", "127.0.0.1")
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .listens_on(port)
        .start_async()
        .await
        .unwrap();
    (process, format!("http://127.0.0.1:{port}"))
}

/// The service and region that answered `GET <base><path>/`.
async fn who(base: &str, path: &str) -> (String, String) {
    let (status, _, body) = get(&format!("{base}{path}/")).await;
    assert_eq!(status, 200, "{path}: {body}");
    let v = json(&body);
    (
        v["service"].as_str().unwrap().to_owned(),
        v["region"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_gateway_given_only_orders_url_and_billing_url_routes_both() {
    let orders = service("orders", "us-east-1").await;
    let billing = service("billing", "us-east-1").await;
    let (_gw, base) = start(&[
        ("REGION", "us-east-1".into()),
        ("ORDERS_URL", format!("http://{orders}")),
        ("BILLING_URL", format!("http://{billing}")),
    ])
    .await;
    assert_eq!(who(&base, "/orders").await.0, "orders");
    assert_eq!(who(&base, "/billing").await.0, "billing");
    let (status, _, _) = get(&format!("{base}/service1/")).await;
    assert_eq!(status, 404, "no app service1 was given");
}

/// An app of a document: control panel and routing controls named as arc-local names them, its
/// regional URLs `urls` (region to address), us-east-1 primary.
fn app(name: &str, urls: &BTreeMap<&str, SocketAddr>) -> AppEntry {
    let regions: serde_json::Map<String, serde_json::Value> =
        [("us-east-1", "primary"), ("us-west-2", "secondary")]
            .into_iter()
            .map(|(region, role)| {
                let control = format!("{name}-{role}-rc");
                let url = urls.get(region).map_or_else(
                    || format!("http://{name}.{region}.example.com"),
                    |a| format!("http://{a}"),
                );
                let entry = serde_json::json!({
                    "routing_control_arn": control_arn(name, &control),
                    "routing_control_name": control,
                    "url": url,
                });
                (region.to_owned(), entry)
            })
            .collect();
    serde_json::from_value(serde_json::json!({
        "hostname": format!("{name}.example.com"),
        "control_panel_arn": panel_arn(name),
        "control_panel_name": name,
        "primary_region": "us-east-1",
        "secondary_region": "us-west-2",
        "regions": regions,
    }))
    .unwrap()
}

/// A document of external-api, service1 and orders (endpoints: arc-local gives its own).
fn document(
    service1: &BTreeMap<&str, SocketAddr>,
    orders: &BTreeMap<&str, SocketAddr>,
) -> ClusterDocument {
    let mut doc = recovery::local::default_document("127.0.0.1", 8600);
    doc.apps.clear();
    doc.apps
        .insert("external-api".into(), app("external-api", &BTreeMap::new()));
    doc.apps
        .insert("service1".into(), app("service1", service1));
    doc.apps.insert("orders".into(), app("orders", orders));
    doc
}

#[test]
fn arc_mode_routes_every_app_of_the_document_and_follows_an_activation_within_a_poll() {
    let dir = testkit::temp::dir("gateway-apps");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (service1, orders) = rt.block_on(async {
        let service1 = BTreeMap::from([("us-east-1", service("service1", "us-east-1").await)]);
        let orders = BTreeMap::from([
            ("us-east-1", service("orders", "us-east-1").await),
            ("us-west-2", service("orders", "us-west-2").await),
        ]);
        (service1, orders)
    });
    let settings = Settings {
        topology: TopologySource::Document(Box::new(document(&service1, &orders))),
        ..Settings::loopback(dir.path().join("state.json"))
    };
    let emulator = Emulator::start(settings).expect("arc-local starts with the document");
    let served = emulator.document().clone();
    let doc_file = dir.path().join("cluster.json");
    std::fs::write(&doc_file, serde_json::to_string(&served).unwrap()).unwrap();
    let poll = Duration::from_millis(300);

    rt.block_on(async {
        let (_gw, base) = start(&[
            ("REGION", "us-east-1".into()),
            ("GATEWAY_FAILOVER_MODE", "arc".into()),
            ("ARC_CLUSTER_FILE", doc_file.display().to_string()),
            ("ARC_POLL_INTERVAL", format!("{}ms", poll.as_millis())),
        ])
        .await;
        assert_eq!(
            who(&base, "/orders").await,
            ("orders".into(), "us-east-1".into())
        );
        assert_eq!(
            who(&base, "/service1").await,
            ("service1".into(), "us-east-1".into())
        );
        let (status, _, _) = get(&format!("{base}/external-api/")).await;
        assert_eq!(status, 404, "the gateway's own app is not a route");

        // `failover activate orders us-west-2`: both of orders' controls in one call.
        let client = ArcClient::new(&served.endpoints, ClientOptions::default()).await;
        let controls = &served.apps["orders"].regions;
        client
            .update(
                &[
                    (
                        controls["us-west-2"].routing_control_arn.clone(),
                        ControlState::On,
                    ),
                    (
                        controls["us-east-1"].routing_control_arn.clone(),
                        ControlState::Off,
                    ),
                ],
                &[],
            )
            .await
            .expect("arc-local accepts the activation");
        let switched = Instant::now();
        loop {
            if who(&base, "/orders").await.1 == "us-west-2" {
                break;
            }
            // One poll interval, plus one call and a loaded machine's scheduling.
            assert!(
                switched.elapsed() < poll + Duration::from_millis(700),
                "/orders still in us-east-1 after {:?}",
                switched.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            who(&base, "/service1").await.1,
            "us-east-1",
            "service1 fails over independently"
        );
    });
    drop(emulator);
}

#[test]
fn a_route_to_an_app_the_document_lacks_stops_the_start_naming_it_and_the_known_apps() {
    let dir = testkit::temp::dir("gateway-apps");
    let doc_file = dir.path().join("cluster.json");
    let doc = document(&BTreeMap::new(), &BTreeMap::new());
    std::fs::write(&doc_file, serde_json::to_string(&doc).unwrap()).unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        "region = \"us-east-1\"\n[[route]]\nprefix = \"/service1\"\nfailover = \"arc\"\n[[route]]\nprefix = \"/service2\"\nfailover = \"arc\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .env_clear()
        .env("PORT", free_port().to_string())
        .env("GATEWAY_CONFIG", &config)
        .env("ARC_CLUSTER_FILE", &doc_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("route[1].arc_app = \"service2\": no app \"service2\" in the cluster document (apps: external-api, orders, service1)"),
        "{err}"
    );
}
