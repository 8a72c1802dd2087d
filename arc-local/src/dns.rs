//! The DNS server: Route 53 failover records for the apps' hostnames, over UDP and TCP.
//!
//! For an app's hostname, an `A` query is answered with the Route 53 failover rule (PRIMARY while
//! its routing control is On, else SECONDARY while On, else PRIMARY; [`recovery::active_region`]):
//! the addresses of the host of the active region's regional URL. An IP literal is used as is; a
//! name is resolved by arc-local with the system resolver (in compose, container names). Answers
//! carry the configured TTL and the authoritative flag. `AAAA` and other types for the hostnames
//! are answered NOERROR with no records.
//!
//! Names outside the topology are answered REFUSED (this server is authoritative for the failover
//! records only, and a stub resolver moves on to its next server). Query names are
//! case-insensitive and may end with a dot. A regional name that cannot be resolved gives SERVFAIL.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Edns, Header, HeaderCounts, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{DNSClass, RData, Record, RecordType};
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;

use crate::state::Store;
use crate::topology::RegionalHost;

/// How long resolving a regional name may take before the query fails with SERVFAIL.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a TCP connection may stay idle.
pub const TCP_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers queries from the live routing-control states.
pub struct FailoverDns {
    store: Arc<Store>,
    ttl: u32,
}

/// The answer to one question, before encoding.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    Addresses(Vec<Ipv4Addr>),
    Refused,
    ServFail,
}

impl FailoverDns {
    pub fn new(store: Arc<Store>, ttl: u32) -> FailoverDns {
        FailoverDns { store, ttl }
    }

    /// What `name` / `kind` gets now.
    pub async fn answer(&self, name: &str, class: DNSClass, kind: RecordType) -> Answer {
        let topology = self.store.topology();
        let Some(app) = topology.app_for_host(name) else {
            return Answer::Refused;
        };
        if class != DNSClass::IN {
            return Answer::Refused;
        }
        if kind != RecordType::A {
            return Answer::Addresses(Vec::new());
        }
        let states = self.store.snapshot();
        let Some(region) = topology.active_region(app, &states) else {
            return Answer::ServFail;
        };
        match topology.regional_host(app, region) {
            Some(RegionalHost::Ip(IpAddr::V4(ip))) => Answer::Addresses(vec![*ip]),
            Some(RegionalHost::Ip(IpAddr::V6(_))) => Answer::Addresses(Vec::new()),
            Some(RegionalHost::Name(host)) => {
                if topology.app_for_host(host).is_some() {
                    tracing::warn!(app, region, %host, "the regional URL names a failover hostname; refusing to resolve it through itself");
                    return Answer::ServFail;
                }
                match resolve_v4(host).await {
                    Ok(ips) if !ips.is_empty() => Answer::Addresses(ips),
                    Ok(_) => {
                        tracing::warn!(app, region, %host, "regional host has no IPv4 address");
                        Answer::ServFail
                    }
                    Err(e) => {
                        tracing::warn!(app, region, %host, error = %e, "cannot resolve the regional host");
                        Answer::ServFail
                    }
                }
            }
            None => Answer::ServFail,
        }
    }
}

/// The IPv4 addresses of `host`, from the system resolver, in its order, without duplicates.
async fn resolve_v4(host: &str) -> std::io::Result<Vec<Ipv4Addr>> {
    let addrs = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, 0)))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"))??;
    let mut out = Vec::new();
    for a in addrs {
        if let IpAddr::V4(ip) = a.ip() {
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    Ok(out)
}

#[async_trait::async_trait]
impl RequestHandler for FailoverDns {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let mut metadata = Metadata::response_from_request(&request.metadata);
        let response_edns = request.edns.as_ref().map(|req| {
            let mut edns = Edns::new();
            edns.set_max_payload(req.max_payload().max(512));
            edns.set_version(0);
            edns
        });
        let mut builder = MessageResponseBuilder::from_message_request(request);
        if let Some(edns) = &response_edns {
            builder.edns(edns);
        }

        let queries = request.queries.queries();
        let mut answers = Vec::new();
        if request.metadata.op_code != OpCode::Query {
            metadata.response_code = ResponseCode::NotImp;
        } else if queries.len() != 1 {
            metadata.response_code = ResponseCode::FormErr;
        } else {
            let query = queries[0].original();
            let name = query.name().to_ascii();
            let answer = self
                .answer(&name, query.query_class(), query.query_type())
                .await;
            tracing::debug!(%name, kind = %query.query_type(), ?answer, src = %request.src(), "dns query");
            match answer {
                Answer::Addresses(ips) => {
                    metadata.authoritative = true;
                    answers = ips
                        .into_iter()
                        .map(|ip| {
                            Record::from_rdata(query.name().clone(), self.ttl, RData::A(A(ip)))
                        })
                        .collect();
                }
                Answer::Refused => metadata.response_code = ResponseCode::Refused,
                Answer::ServFail => metadata.response_code = ResponseCode::ServFail,
            }
        }

        let response = builder.build(metadata, answers.iter(), [], [], []);
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(e) => {
                tracing::warn!(error = %e, src = %request.src(), "cannot send a DNS answer");
                let mut failed = Metadata::response_from_request(&request.metadata);
                failed.response_code = ResponseCode::ServFail;
                ResponseInfo::from(Header {
                    metadata: failed,
                    counts: HeaderCounts::default(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StateFile;
    use crate::topology::Topology;

    #[tokio::test]
    async fn answers_follow_the_failover_rule() {
        let mut doc = recovery::local::default_document("127.0.0.1", 8600);
        let app = doc.apps.get_mut("service1").unwrap();
        app.regions.get_mut("us-east-1").unwrap().url = "http://10.0.0.1:8080".into();
        app.regions.get_mut("us-west-2").unwrap().url = "http://localhost:8080".into();
        // A regional URL naming a failover hostname is never resolved through arc-local itself.
        doc.apps
            .get_mut("service2")
            .unwrap()
            .regions
            .get_mut("us-east-1")
            .unwrap()
            .url = "http://service1.example.com:8080".into();
        let topology = Arc::new(Topology::from_document(doc, "test").unwrap());
        let dir = testkit::temp::dir("arc-local-dns");
        let store =
            Arc::new(Store::open(topology, StateFile::new(dir.path().join("s.json")), 0).unwrap());
        let dns = FailoverDns::new(store.clone(), 1);

        let a = |name: &'static str, kind| {
            let dns = &dns;
            async move { dns.answer(name, DNSClass::IN, kind).await }
        };
        assert_eq!(
            a("SERVICE1.example.com.", RecordType::A).await,
            Answer::Addresses(vec!["10.0.0.1".parse().unwrap()])
        );
        assert_eq!(
            a("service1.example.com", RecordType::AAAA).await,
            Answer::Addresses(vec![])
        );
        assert_eq!(a("other.example.com", RecordType::A).await, Answer::Refused);
        // service2's active regional URL names a failover hostname.
        assert_eq!(
            a("service2.example.com", RecordType::A).await,
            Answer::ServFail
        );

        let primary = recovery::local::control_arn("service1", "service1-primary-rc");
        let secondary = recovery::local::control_arn("service1", "service1-secondary-rc");
        store
            .apply(
                &[
                    (secondary, recovery::ControlState::On),
                    (primary, recovery::ControlState::Off),
                ],
                &[],
            )
            .await
            .unwrap();
        assert_eq!(
            a("service1.example.com", RecordType::A).await,
            Answer::Addresses(vec![Ipv4Addr::LOCALHOST])
        );
    }
}
