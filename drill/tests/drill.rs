//! The DR drill: the original rehearsal scenario under continuous traffic, in dns and arc mode,
//! plus the control plane's failure cases. Everything runs on loopback from the real binaries.

use std::time::{Duration, Instant};

use drill::scenario::converge;

/// One system at a time: each drill runs a dozen processes and measures time, on a 2-CPU machine.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
use drill::system::{Mode, Options, System};
use drill::traffic::{self, Sample};

fn assert_no_failures(samples: &[Sample], sys: &System) {
    let failed = traffic::failures(samples);
    assert!(
        failed.is_empty(),
        "{} of {} requests failed, first: {:?}\ngateway-us-east-1 log tail:\n{}",
        failed.len(),
        samples.len(),
        failed.first(),
        sys.log("gateway-us-east-1")
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Runs the scenario and checks it: every service switch within `bound`, the external API's
/// within the TTL plus one second (clients find it through DNS in every mode), no failed request.
async fn scenario(sys: &System, bound: Duration) {
    let dns_bound = Duration::from_secs(u64::from(sys.options.ttl_secs) + 1);
    let report = drill::scenario::run(sys, 300, dns_bound + Duration::from_secs(2))
        .await
        .unwrap();
    for (step, took) in &report.steps {
        println!("switch {step}: {} ms", took.as_millis());
        let limit = if step.starts_with("external-api") {
            dns_bound
        } else {
            bound
        };
        assert!(
            *took <= limit,
            "{step} took {took:?}; the bound is {limit:?}"
        );
    }
    assert_no_failures(&report.samples, sys);
    assert!(
        report.samples.len() > 500,
        "traffic ran: {} requests",
        report.samples.len()
    );
    println!("requests: {}, failed: 0", report.samples.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_in_arc_mode_moves_within_one_poll() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let sys = System::start(Options {
        mode: Mode::Arc,
        ..Options::default()
    })
    .await
    .unwrap();
    // Poll 200 ms: a switch takes at most one interval plus one call and the request in flight.
    scenario(&sys, Duration::from_millis(1000)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_in_dns_mode_moves_within_ttl_plus_one_second() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let sys = System::start(Options {
        mode: Mode::Dns,
        ttl_secs: 1,
        ..Options::default()
    })
    .await
    .unwrap();
    scenario(&sys, Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_outages_keep_the_last_known_state() {
    let _turn = ONE_AT_A_TIME.lock().await;
    // The gateways know five cluster endpoints, four of which are unreachable.
    let mut sys = System::start(Options {
        mode: Mode::Arc,
        unreachable_endpoints: 4,
        ..Options::default()
    })
    .await
    .unwrap();
    let t = traffic::start(sys.dns, sys.gateway_port, 150, 6);

    // Four of five endpoints down: switches still happen.
    sys.activate("service1", "us-west-2").await.unwrap();
    converge(
        &t,
        Instant::now(),
        "service1",
        "us-west-2",
        Duration::from_secs(3),
    )
    .await
    .unwrap();

    // All endpoints down (arc-local stopped): the gateways keep sending to the last known region
    // and say so. The client keeps its cached DNS answer for the external API meanwhile.
    let outage_from = Instant::now();
    sys.stop_arc_local();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ready = sys.gateway_ready("us-east-1").await.unwrap();
    assert_eq!(ready["upstreams"]["service1"]["healthy"], false, "{ready}");
    assert_eq!(
        ready["upstreams"]["service1"]["target"], "us-west-2",
        "{ready}"
    );
    let metrics = sys.gateway_metrics("us-east-1").await.unwrap();
    assert!(
        metrics.contains("gateway_control_plane_up{route=\"service1\"} 0"),
        "{metrics}"
    );
    let direct = format!(
        "http://{}:{}/service1",
        drill::system::address("gateway", "us-east-1"),
        sys.gateway_port
    );
    for _ in 0..20 {
        let (status, _) = traffic::get(&direct).await.unwrap();
        assert_eq!(
            status, 200,
            "served from the last known region during the outage"
        );
    }

    // arc-local back with its state file: the state is what it was, and the gateways recover.
    sys.start_arc_local().await.unwrap();
    let state = sys.client.list(None).await.unwrap();
    let on: Vec<&str> = state
        .iter()
        .filter(|c| c.state.is_on())
        .map(|c| c.name.as_str())
        .collect();
    assert!(
        on.contains(&"service1-secondary-rc") && !on.contains(&"service1-primary-rc"),
        "{on:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let ready = sys.gateway_ready("us-east-1").await.unwrap();
        if ready["upstreams"]["service1"]["healthy"] == true {
            assert_eq!(ready["upstreams"]["service1"]["target"], "us-west-2");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "gateway did not see the control plane again: {ready}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let samples: Vec<Sample> = t
        .stop()
        .await
        .into_iter()
        .filter(|s| s.started < outage_from)
        .collect();
    assert_no_failures(&samples, &sys);
}

/// A stock HTTP client pool is keyed by hostname: once connected, it keeps sending to the address
/// it first resolved, whatever DNS says later. The gateway's dns mode keeps a pool per answer and
/// drops the old one, so its traffic moves. Same DNS, same upstream, same keep-alive load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_pool_keeps_the_old_region_and_the_gateway_does_not() {
    let _turn = ONE_AT_A_TIME.lock().await;
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::connect::{dns::Name, HttpConnector};

    let sys = System::start(Options {
        mode: Mode::Dns,
        ttl_secs: 1,
        ..Options::default()
    })
    .await
    .unwrap();
    let resolver = traffic::resolver(sys.dns);
    let resolve = tower::service_fn(move |name: Name| {
        let resolver = resolver.clone();
        async move {
            let answer = resolver
                .lookup_ip(format!("{}.", name.as_str()))
                .await
                .map_err(std::io::Error::other)?;
            Ok::<_, std::io::Error>(
                answer
                    .iter()
                    .map(|ip| std::net::SocketAddr::new(ip, 0))
                    .collect::<Vec<_>>()
                    .into_iter(),
            )
        }
    });
    let stock = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Full<bytes::Bytes>>(HttpConnector::new_with_resolver(resolve));
    let stock_url = format!("http://service1.example.com:{}/", sys.service_ports.0);
    let gateway_url = format!(
        "http://{}:{}/service1",
        drill::system::address("gateway", "us-east-1"),
        sys.gateway_port
    );

    let region = |resp: &http::Response<hyper::body::Incoming>| {
        resp.headers()
            .get("x-service-region")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let warm = stock
        .request(
            http::Request::get(&stock_url)
                .body(Full::default())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(region(&warm), "us-east-1");
    warm.into_body().collect().await.unwrap();

    sys.activate("service1", "us-west-2").await.unwrap();
    let settled = Instant::now() + Duration::from_secs(u64::from(sys.options.ttl_secs) + 1);
    let (mut stock_old, mut gateway_old, mut rounds) = (0, 0, 0);
    while Instant::now() < settled + Duration::from_secs(2) {
        let resp = stock
            .request(
                http::Request::get(&stock_url)
                    .body(Full::default())
                    .unwrap(),
            )
            .await
            .unwrap();
        let stock_region = region(&resp);
        resp.into_body().collect().await.unwrap();
        let (status, _) = traffic::get(&gateway_url).await.unwrap();
        assert_eq!(status, 200);
        if Instant::now() > settled {
            rounds += 1;
            stock_old += usize::from(stock_region == "us-east-1");
            let probe =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<Full<bytes::Bytes>>();
            let resp = probe
                .request(
                    http::Request::get(&gateway_url)
                        .body(Full::default())
                        .unwrap(),
                )
                .await
                .unwrap();
            gateway_old += usize::from(region(&resp) == "us-east-1");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("after TTL + 1 s, {rounds} rounds: stock pool sent {stock_old} to the old region, the gateway {gateway_old}");
    assert!(rounds > 20);
    assert_eq!(
        stock_old, rounds,
        "the stock pool kept its connection to the old region"
    );
    assert_eq!(gateway_old, 0, "the gateway moved");
}
