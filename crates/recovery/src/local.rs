//! The project's default topology, as the local emulator (`arc-local`) serves it with no arguments
//! and as the `failover` command assumes when no cluster document is given.
//!
//! Three apps (`external-api`, `service1`, `service2`), each with us-east-1 primary and us-west-2
//! secondary, hostnames under `example.com`, and five data-plane endpoints on consecutive ports from
//! [`DEFAULT_API_PORT`], as a real cluster has five regional endpoints.
//!
//! Regional URLs are loopback addresses, one per app and region, so the topology works on one
//! machine without containers: `http://127.0.<region>.<app>:8080`, region 1 for us-east-1 and 2 for
//! us-west-2, app 1 for the external API, 2 for service1, 3 for service2 (service1 in us-east-1 is
//! `http://127.0.1.2:8080`; start it with `BIND=127.0.1.2`). The compose stack serves its own
//! topology with container names instead (`compose/cluster.json`).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::cluster::{AppEntry, ClusterDocument, Endpoint, RegionEntry, VERSION};
use crate::model::{RuleConfig, RuleType, SafetyRule};

/// First data-plane port; the five endpoints use this port and the four after it.
pub const DEFAULT_API_PORT: u16 = 8600;
/// The DNS port arc-local answers on by default (53 inside the compose network).
pub const DEFAULT_DNS_PORT: u16 = 8653;
/// The regions of the five emulated endpoints, in port order.
pub const ENDPOINT_REGIONS: [&str; 5] = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "ap-northeast-1",
    "ap-southeast-2",
];
/// The apps of the default topology: name, hostname label, and the last octet of its regional
/// addresses.
pub const APPS: [(&str, &str, u8); 3] = [
    ("external-api", "externalapi", 1),
    ("service1", "service1", 2),
    ("service2", "service2", 3),
];
pub const PRIMARY: &str = "us-east-1";
pub const SECONDARY: &str = "us-west-2";
/// The regions of the default topology, primary first, with the third octet of their addresses.
pub const REGIONS: [(&str, u8); 2] = [(PRIMARY, 1), (SECONDARY, 2)];
/// The port of every regional URL of the default topology (every binary's default `PORT`).
pub const REGIONAL_PORT: u16 = 8080;
pub const DOMAIN: &str = "example.com";
const ACCOUNT: &str = "000000000000";

/// The ARN arc-local gives a control panel.
pub fn panel_arn(app: &str) -> String {
    format!("arn:aws:route53-recovery-control::{ACCOUNT}:controlpanel/{app}")
}

/// The ARN arc-local gives a routing control.
pub fn control_arn(app: &str, control_name: &str) -> String {
    format!("{}/routingcontrol/{control_name}", panel_arn(app))
}

/// The loopback address of an app's instance in a region of the default topology
/// (`127.0.<region>.<app>`), or `None` for an app or region it does not have.
pub fn regional_address(app: &str, region: &str) -> Option<Ipv4Addr> {
    let (_, _, a) = APPS.iter().find(|(name, _, _)| *name == app)?;
    let (_, r) = REGIONS.iter().find(|(name, _)| *name == region)?;
    Some(Ipv4Addr::new(127, 0, *r, *a))
}

/// The default topology with endpoints at `http://<api_host>:<api_port + i>` and regional URLs
/// `http://127.0.<region>.<app>:8080` ([`regional_address`]).
pub fn default_document(api_host: &str, api_port: u16) -> ClusterDocument {
    let endpoints = ENDPOINT_REGIONS
        .iter()
        .enumerate()
        .map(|(i, region)| Endpoint {
            region: (*region).to_owned(),
            url: format!("http://{api_host}:{}", api_port + i as u16),
        })
        .collect();
    let apps = APPS
        .iter()
        .map(|(app, label, a)| {
            let regions: BTreeMap<String, RegionEntry> = ["primary", "secondary"]
                .iter()
                .zip(REGIONS)
                .map(|(role, (region, r))| {
                    let name = format!("{app}-{role}-rc");
                    let address = Ipv4Addr::new(127, 0, r, *a);
                    (
                        region.to_owned(),
                        RegionEntry {
                            routing_control_arn: control_arn(app, &name),
                            routing_control_name: name,
                            url: format!("http://{address}:{REGIONAL_PORT}"),
                            ecs: None,
                        },
                    )
                })
                .collect();
            let rule = SafetyRule::Assertion {
                name: format!("{app}-at-least-one-on"),
                arn: Some(format!(
                    "{}/safetyrule/{app}-at-least-one-on",
                    panel_arn(app)
                )),
                asserted_controls: regions
                    .values()
                    .map(|r| r.routing_control_arn.clone())
                    .collect(),
                rule_config: RuleConfig {
                    kind: RuleType::Atleast,
                    threshold: 1,
                    inverted: false,
                },
                wait_period_ms: 5000,
            };
            (
                (*app).to_owned(),
                AppEntry {
                    prefix: None,
                    hostname: format!("{label}.{DOMAIN}"),
                    control_panel_arn: panel_arn(app),
                    control_panel_name: (*app).to_owned(),
                    primary_region: PRIMARY.into(),
                    secondary_region: SECONDARY.into(),
                    regions,
                    safety_rules: vec![rule],
                },
            )
        })
        .collect();
    ClusterDocument {
        version: VERSION,
        cluster_arn: format!("arn:aws:route53-recovery-control::{ACCOUNT}:cluster/arc-local"),
        endpoints,
        apps,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_document_is_valid() {
        let doc = super::default_document("127.0.0.1", super::DEFAULT_API_PORT);
        doc.validate().unwrap();
        assert!(doc.is_local());
        assert_eq!(doc.endpoints.len(), 5);
        assert_eq!(
            doc.apps["service1"].regions["us-west-2"].routing_control_name,
            "service1-secondary-rc"
        );
        assert_eq!(doc.apps["external-api"].hostname, "externalapi.example.com");
        assert_eq!(
            doc.apps["external-api"].regions["us-east-1"].url,
            "http://127.0.1.1:8080"
        );
        assert_eq!(
            doc.apps["service2"].regions["us-west-2"].url,
            "http://127.0.2.3:8080"
        );
    }

    #[test]
    fn regional_addresses_are_distinct_loopback_addresses() {
        let mut seen = Vec::new();
        for (app, _, _) in super::APPS {
            for (region, _) in super::REGIONS {
                let ip = super::regional_address(app, region).unwrap();
                assert!(
                    ip.is_loopback() && !seen.contains(&ip),
                    "{app} {region}: {ip}"
                );
                seen.push(ip);
            }
        }
        assert_eq!(super::regional_address("service3", "us-east-1"), None);
        assert_eq!(super::regional_address("service1", "eu-west-1"), None);
    }
}
