//! The project's default topology, as the local emulator (`arc-local`) serves it with no arguments
//! and as the `failover` command assumes when no cluster document is given.
//!
//! Three apps (`external-api`, `service1`, `service2`), each with us-east-1 primary and us-west-2
//! secondary, hostnames under `example.com`, regional URLs named like the compose services
//! (`http://service1-us-east-1:8080`), and five data-plane endpoints on consecutive ports from
//! [`DEFAULT_API_PORT`], as a real cluster has five regional endpoints.

use std::collections::BTreeMap;

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
/// The apps of the default topology, with their hostname labels and the compose service naming their regional instances.
pub const APPS: [(&str, &str, &str); 3] = [
    ("external-api", "externalapi", "gateway"),
    ("service1", "service1", "service1"),
    ("service2", "service2", "service2"),
];
pub const PRIMARY: &str = "us-east-1";
pub const SECONDARY: &str = "us-west-2";
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

/// The default topology with endpoints at `http://<api_host>:<api_port + i>` and regional URLs
/// `http://<service>-<region>:8080`.
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
        .map(|(app, label, service)| {
            let regions: BTreeMap<String, RegionEntry> =
                [("primary", PRIMARY), ("secondary", SECONDARY)]
                    .iter()
                    .map(|(role, region)| {
                        let name = format!("{app}-{role}-rc");
                        (
                            (*region).to_owned(),
                            RegionEntry {
                                routing_control_arn: control_arn(app, &name),
                                routing_control_name: name,
                                url: format!("http://{service}-{region}:8080"),
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
            "http://gateway-us-east-1:8080"
        );
    }
}
