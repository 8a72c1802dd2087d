//! Failover DNS over real sockets: hickory's resolver pointed at the emulator's port, and raw
//! queries for the edge cases (other types, other names, case, TCP).

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{dns_tcp, dns_udp, temp_dir, Emulator, TempDir};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::Resolver;

const TTL: u32 = 7;

/// service1: us-east-1 at 127.0.0.11, us-west-2 at `localhost` (resolved by arc-local itself).
/// external-api: us-east-1 at 127.0.0.21, us-west-2 at 127.0.0.22.
/// service2: us-east-1 at `service1.example.com`, a failover hostname (never resolved).
fn topology(dir: &TempDir) -> std::path::PathBuf {
    let mut doc = recovery::local::default_document("127.0.0.1", 8600);
    let set = |doc: &mut recovery::ClusterDocument, app: &str, region: &str, url: &str| {
        doc.apps
            .get_mut(app)
            .unwrap()
            .regions
            .get_mut(region)
            .unwrap()
            .url = url.into();
    };
    set(&mut doc, "service1", "us-east-1", "http://127.0.0.11:8080");
    set(&mut doc, "service1", "us-west-2", "http://localhost:8080");
    set(&mut doc, "external-api", "us-east-1", "https://127.0.0.21");
    set(&mut doc, "external-api", "us-west-2", "https://127.0.0.22/");
    set(
        &mut doc,
        "service2",
        "us-east-1",
        "http://service1.example.com:8080",
    );
    let path = dir.path().join("topology.json");
    std::fs::write(&path, serde_json::to_string(&doc).unwrap()).unwrap();
    path
}

/// A resolver that asks only the emulator (UDP), with no cache so every lookup is a query.
fn resolver(port: u16) -> Resolver<TokioRuntimeProvider> {
    let mut udp = ConnectionConfig::udp();
    udp.port = port;
    let ns = NameServerConfig::new(IpAddr::V4(Ipv4Addr::LOCALHOST), true, vec![udp]);
    let config = ResolverConfig::from_parts(None, vec![], vec![ns]);
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.attempts = 1;
    Resolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(opts)
        .build()
        .unwrap()
}

/// The A records of `name`, with their TTLs.
async fn a_records(port: u16, name: &str) -> Vec<(Ipv4Addr, u32)> {
    let lookup = resolver(port)
        .lookup(name, RecordType::A)
        .await
        .unwrap_or_else(|e| panic!("lookup {name}: {e}"));
    lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some((a.0, r.ttl)),
            _ => None,
        })
        .collect()
}

/// service1's us-west-2 control On and its us-east-1 control Off, in one call.
fn fail_over_service1(emu: &Emulator) {
    let r = emu.call(
        "UpdateRoutingControlStates",
        &serde_json::json!({"UpdateRoutingControlStateEntries": [
            {"RoutingControlArn": common::arn("service1", "secondary"), "RoutingControlState": "On"},
            {"RoutingControlArn": common::arn("service1", "primary"), "RoutingControlState": "Off"},
        ]})
        .to_string(),
    );
    assert_eq!(r.status, 200, "{r:?}");
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn dns_answers_follow_routing_controls_with_the_ttl() {
    let dir = temp_dir("dns");
    let topology = topology(&dir);
    let emu = Emulator::start_with(&dir, Some(&topology), &[("ARC_LOCAL_TTL", "7")]);
    let port = emu.dns_port;

    // Before: primaries On.
    assert_eq!(
        a_records(port, "service1.example.com.").await,
        [(ip("127.0.0.11"), TTL)]
    );
    assert_eq!(
        a_records(port, "externalapi.example.com.").await,
        [(ip("127.0.0.21"), TTL)]
    );

    // service1 fails over to us-west-2, whose URL names `localhost`: arc-local resolves it.
    fail_over_service1(&emu);
    assert_eq!(
        a_records(port, "service1.example.com.").await,
        [(Ipv4Addr::LOCALHOST, TTL)]
    );
    // external-api did not move.
    assert_eq!(
        a_records(port, "externalapi.example.com.").await,
        [(ip("127.0.0.21"), TTL)]
    );

    // Both On: PRIMARY wins (failover rule), for external-api.
    let r = emu.call(
        "UpdateRoutingControlState",
        &serde_json::json!({"RoutingControlArn": common::arn("external-api", "secondary"), "RoutingControlState": "On"}).to_string(),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        a_records(port, "externalapi.example.com.").await,
        [(ip("127.0.0.21"), TTL)]
    );
    // Primary Off: SECONDARY.
    let r = emu.call(
        "UpdateRoutingControlState",
        &serde_json::json!({"RoutingControlArn": common::arn("external-api", "primary"), "RoutingControlState": "Off"}).to_string(),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        a_records(port, "externalapi.example.com.").await,
        [(ip("127.0.0.22"), TTL)]
    );
    // Both Off (rule overridden): PRIMARY again, as Route 53 answers when no record is healthy.
    let r = emu.call(
        "UpdateRoutingControlState",
        &serde_json::json!({
            "RoutingControlArn": common::arn("external-api", "secondary"),
            "RoutingControlState": "Off",
            "SafetyRulesToOverride": ["external-api-at-least-one-on"],
        })
        .to_string(),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        a_records(port, "externalapi.example.com.").await,
        [(ip("127.0.0.21"), TTL)]
    );
}

#[test]
fn dns_edge_cases_over_udp_and_tcp() {
    let dir = temp_dir("dns-edge");
    let topology = topology(&dir);
    let emu = Emulator::start_with(&dir, Some(&topology), &[]);
    let port = emu.dns_port;

    // Case-insensitive, with or without the trailing dot; authoritative; default TTL 1.
    for name in ["SERVICE1.Example.Com.", "service1.example.com"] {
        let m = dns_udp(port, name, RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert!(m.metadata.authoritative);
        assert_eq!(m.answers.len(), 1, "{m:?}");
        assert_eq!(m.answers[0].ttl, 1);
        assert_eq!(m.answers[0].data, RData::A(ip("127.0.0.11").into()));
    }

    // AAAA and other types for a hostname: NOERROR, no answers.
    for kind in [RecordType::AAAA, RecordType::TXT, RecordType::MX] {
        let m = dns_udp(port, "service1.example.com.", kind);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{kind}");
        assert!(m.answers.is_empty(), "{kind}: {m:?}");
    }

    // Names outside the topology: REFUSED.
    for name in [
        "example.com.",
        "www.service1.example.com.",
        "service3.example.com.",
    ] {
        let m = dns_udp(port, name, RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::Refused, "{name}");
        assert!(m.answers.is_empty());
    }

    // A regional URL arc-local cannot answer with (here one naming a failover hostname): SERVFAIL.
    let m = dns_udp(port, "service2.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);

    // TCP answers the same.
    let m = dns_tcp(port, "Service1.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].data, RData::A(ip("127.0.0.11").into()));
    let m = dns_tcp(port, "nothing.example.org.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
}

/// `arc-local` with no topology serves regions on loopback addresses, so its DNS answers every
/// hostname outside containers too (`dig @127.0.0.1 -p 8653 service1.example.com`).
#[test]
fn the_default_topology_answers_loopback_addresses() {
    let dir = temp_dir("dns-default");
    let emu = Emulator::start(&dir);
    let port = emu.dns_port;
    for (name, expected) in [
        ("externalapi.example.com.", "127.0.1.1"),
        ("service1.example.com.", "127.0.1.2"),
        ("service2.example.com.", "127.0.1.3"),
    ] {
        let m = dns_udp(port, name, RecordType::A);
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::NoError,
            "{name}: {m:?}"
        );
        assert_eq!(m.answers.len(), 1, "{name}: {m:?}");
        assert_eq!(m.answers[0].data, RData::A(ip(expected).into()), "{name}");
    }

    // Failed over, service1 is answered with its us-west-2 address.
    fail_over_service1(&emu);
    let m = dns_tcp(port, "service1.example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{m:?}");
    assert_eq!(m.answers[0].data, RData::A(ip("127.0.2.2").into()));
}
