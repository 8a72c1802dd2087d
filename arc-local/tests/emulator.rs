//! The library: an emulator started in-process on ports the system picks, reached with the
//! routing-control client of `recovery`, shut down on drop; and its fault hook, call by call.

use std::time::{Duration, Instant};

use arc_local::{Emulator, ErrorCode, Fault, Operation, Settings, TlsSettings};
use recovery::ControlState::{Off, On};
use recovery::{ArcClient, ArcError, ClientOptions, Endpoint};
use testkit::temp::TempDir;

fn arn(app: &str, role: &str) -> String {
    recovery::local::control_arn(app, &format!("{app}-{role}-rc"))
}

/// An emulator with the default topology and its directory.
fn start(tag: &str) -> (Emulator, TempDir) {
    let dir = testkit::temp::dir(tag);
    let emu = Emulator::start(Settings::loopback(dir.path().join("state.json"))).unwrap();
    (emu, dir)
}

/// A client of the given endpoints only, with `timeout` per attempt.
async fn client(endpoints: &[Endpoint], timeout: Duration) -> ArcClient {
    let options = ClientOptions {
        call_timeout: timeout,
        ..ClientOptions::default()
    };
    ArcClient::new(endpoints, options).await
}

/// A client of endpoint `i` only.
async fn client_of(emu: &Emulator, i: usize) -> ArcClient {
    client(&emu.endpoints()[i..=i], Duration::from_secs(5)).await
}

/// The reasons in an `Unreachable` error.
fn reasons(e: ArcError) -> Vec<String> {
    match e {
        ArcError::Unreachable(reasons) => reasons,
        other => panic!("not Unreachable: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_emulator_serves_its_ports_and_stops_on_drop() {
    let (emu, _dir) = start("emulator-ports");
    let (other, _other_dir) = start("emulator-ports-2");
    let ports = *emu.ports();
    let mut all: Vec<u16> = ports.data_plane.iter().map(|a| a.port()).collect();
    all.extend([ports.config.port(), ports.dns.port()]);
    all.extend(other.ports().data_plane.iter().map(|a| a.port()));
    let mut distinct = all.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), all.len(), "side by side: {all:?}");
    assert!(ports.data_plane.iter().all(|a| a.ip().is_loopback()));

    // The document's endpoints are this emulator's ports, in region order.
    let doc = emu.document();
    assert_eq!(doc.endpoints.len(), 5);
    for (e, addr) in doc.endpoints.iter().zip(ports.data_plane) {
        assert_eq!(e.url, format!("http://127.0.0.1:{}", addr.port()));
    }
    assert_eq!(doc.endpoints[0].region, "us-east-1");
    assert_eq!(doc.apps.len(), 3);

    let arc = client(emu.endpoints(), Duration::from_secs(5)).await;
    let controls = arc.list(None).await.unwrap();
    assert_eq!(controls.len(), 6);
    assert_eq!(emu.state(&arn("service1", "primary")), Some(On));
    assert_eq!(emu.state("arn:nope"), None);

    // The config API and the healthcheck answer on their ports.
    let health = ports.config.port();
    let checked = tokio::task::spawn_blocking(move || {
        arc_local::healthcheck(health, None, Duration::from_secs(2))
    });
    checked.await.unwrap().unwrap();

    drop(emu);
    for addr in ports.data_plane.iter().chain([&ports.config]) {
        let refused = tokio::net::TcpStream::connect(addr).await;
        assert!(refused.is_err(), "{addr} still answers after drop");
    }
    // The other emulator is untouched.
    assert_eq!(
        client_of(&other, 0).await.list(None).await.unwrap().len(),
        6
    );
    other.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn set_states_overrides_the_safety_rules_and_is_kept() {
    let dir = testkit::temp::dir("emulator-states");
    let state = dir.path().join("state.json");
    let emu = Emulator::start(Settings::loopback(&state)).unwrap();
    // Both Off breaks the default "at least one On" rule; an operator override may do it.
    let both_off = [
        (arn("service1", "primary"), Off),
        (arn("service1", "secondary"), Off),
    ];
    emu.set_states(&both_off).unwrap();
    assert_eq!(emu.state(&arn("service1", "primary")), Some(Off));
    let unknown = emu.set_states(&[("arn:aws:nope".into(), On)]).unwrap_err();
    assert!(unknown.to_string().contains("arn:aws:nope"), "{unknown}");
    drop(emu);
    // Restarted on the same state file: the states are kept.
    let emu = Emulator::start(Settings::loopback(&state)).unwrap();
    assert_eq!(emu.state(&arn("service1", "secondary")), Some(Off));
    assert_eq!(emu.state(&arn("service1", "primary")), Some(Off));
}

#[tokio::test(flavor = "multi_thread")]
async fn error_faults_answer_with_the_models_codes() {
    let (emu, _dir) = start("emulator-errors");
    let faults = emu.faults();
    let list = Operation::ListRoutingControls;
    // Codes a client retries elsewhere.
    for (code, name) in [
        (ErrorCode::Throttling, "ThrottlingException"),
        (ErrorCode::InternalServer, "InternalServerException"),
        (
            ErrorCode::EndpointTemporarilyUnavailable,
            "EndpointTemporarilyUnavailableException",
        ),
    ] {
        faults.add(Fault::error(code).on(list).times(1));
        let e = client_of(&emu, 1).await.list(None).await.unwrap_err();
        assert_eq!(
            reasons(e),
            [format!(
                "us-west-2: {name}: cluster endpoint us-west-2 is configured to fail: {}",
                match code {
                    ErrorCode::Throttling => "rate exceeded",
                    ErrorCode::InternalServer => "internal error",
                    _ => "it is temporarily unavailable, try another cluster endpoint",
                }
            )]
        );
    }
    // Codes that end the call at once, with the message given.
    let cases = [
        (ErrorCode::AccessDenied, ArcError::AccessDenied("m1".into())),
        (ErrorCode::ResourceNotFound, ArcError::NotFound("m2".into())),
        (ErrorCode::Validation, ArcError::Validation("m3".into())),
        (ErrorCode::Conflict, ArcError::Conflict("m4".into())),
    ];
    for (code, expected) in cases {
        let message = match &expected {
            ArcError::AccessDenied(m)
            | ArcError::NotFound(m)
            | ArcError::Validation(m)
            | ArcError::Conflict(m) => m.clone(),
            _ => unreachable!(),
        };
        faults.add(Fault::error(code).message(&message).times(1));
        let all = client(emu.endpoints(), Duration::from_secs(5)).await;
        assert_eq!(
            all.get_state(&arn("service1", "primary")).await,
            Err(expected)
        );
    }
    // Every fault has run out: calls succeed again, and the journal has each answer.
    assert_eq!(client_of(&emu, 1).await.list(None).await.unwrap().len(), 6);
    let answered: Vec<(Option<u16>, Option<&str>)> =
        emu.calls().iter().map(|c| (c.status, c.error)).collect();
    assert_eq!(
        answered,
        [
            (Some(429), Some("ThrottlingException")),
            (Some(500), Some("InternalServerException")),
            (Some(503), Some("EndpointTemporarilyUnavailableException")),
            (Some(403), Some("AccessDeniedException")),
            (Some(404), Some("ResourceNotFoundException")),
            (Some(400), Some("ValidationException")),
            (Some(409), Some("ConflictException")),
            (Some(200), None),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_select_calls_by_operation_endpoint_and_count() {
    let (emu, _dir) = start("emulator-select");
    let id = emu.faults().add(
        Fault::error(ErrorCode::Throttling)
            .on(Operation::GetRoutingControlState)
            .at_endpoint(arc_local::endpoint_index("eu-west-1").unwrap())
            .times(2),
    );
    let rc = arn("service2", "primary");
    // Another operation, another endpoint: untouched.
    assert_eq!(client_of(&emu, 2).await.list(None).await.unwrap().len(), 6);
    assert_eq!(client_of(&emu, 0).await.get_state(&rc).await, Ok(On));
    // Twice refused, then served.
    let eu = client_of(&emu, 2).await;
    assert!(eu.get_state(&rc).await.is_err());
    assert_eq!(emu.faults().remaining(id), Some(1));
    assert!(eu.get_state(&rc).await.is_err());
    assert_eq!(emu.faults().remaining(id), Some(0));
    assert_eq!(eu.get_state(&rc).await, Ok(On));

    // The journal: endpoint, region, operation and body of each call.
    let calls = emu.calls();
    let gets: Vec<_> = calls
        .iter()
        .filter(|c| c.operation == Some(Operation::GetRoutingControlState))
        .collect();
    assert_eq!(gets.len(), 4);
    assert_eq!(
        (gets[0].endpoint, gets[0].region.as_str()),
        (0, "us-east-1")
    );
    assert_eq!(gets[1].region, "eu-west-1");
    assert_eq!(gets[1].input["RoutingControlArn"], rc.as_str());
    emu.clear_calls();
    assert!(emu.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn delays_time_out_short_clients_and_drops_close_the_connection() {
    let (emu, _dir) = start("emulator-slow");
    let list = Operation::ListRoutingControls;
    emu.faults()
        .add(Fault::delay(Duration::from_millis(1500)).on(list).times(1));
    let impatient = client(&emu.endpoints()[..1], Duration::from_millis(300)).await;
    assert_eq!(
        reasons(impatient.list(None).await.unwrap_err()),
        ["us-east-1: timed out"]
    );

    emu.faults()
        .add(Fault::delay(Duration::from_millis(500)).on(list).times(1));
    let patient = client_of(&emu, 0).await;
    let started = Instant::now();
    assert_eq!(patient.list(None).await.unwrap().len(), 6);
    assert!(started.elapsed() >= Duration::from_millis(500));

    emu.faults().add(Fault::drop_connection().times(1));
    let e = client_of(&emu, 3).await.list(None).await.unwrap_err();
    assert_eq!(
        reasons(e),
        ["ap-northeast-1: unreachable: connection closed before message completed"]
    );
    // The next call on that endpoint is served.
    assert_eq!(client_of(&emu, 3).await.list(None).await.unwrap().len(), 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn short_pages_make_clients_follow_tokens() {
    let (emu, _dir) = start("emulator-pages");
    emu.faults().add(Fault::short_pages(1));
    let listed = client_of(&emu, 0).await.list(None).await.unwrap();
    assert_eq!(listed.len(), 6);
    let lists: Vec<_> = emu
        .calls()
        .into_iter()
        .filter(|c| c.operation == Some(Operation::ListRoutingControls))
        .collect();
    assert_eq!(lists.len(), 6, "one page per control");
    assert!(lists[0].input.get("NextToken").is_none());
    assert!(lists[1..].iter().all(|c| c.input["NextToken"].is_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conflict_fault_spares_updates_that_override_its_rule() {
    let (emu, _dir) = start("emulator-conflict");
    let rule =
        "arn:aws:route53-recovery-control::000000000000:controlpanel/service1/safetyrule/gate";
    emu.faults().add(
        Fault::conflict(rule, "gate closed")
            .on(Operation::UpdateRoutingControlStates)
            .unless_overriding(rule),
    );
    let arc = client(emu.endpoints(), Duration::from_secs(5)).await;
    let flip = [
        (arn("service1", "secondary"), On),
        (arn("service1", "primary"), Off),
    ];
    assert_eq!(
        arc.update(&flip, &[]).await,
        Err(ArcError::Conflict("gate closed".into()))
    );
    assert_eq!(
        emu.state(&arn("service1", "primary")),
        Some(On),
        "nothing changed"
    );
    arc.update(&flip, &[rule.to_owned()]).await.unwrap();
    assert_eq!(emu.state(&arn("service1", "primary")), Some(Off));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_endpoint_refuses_connections_until_it_is_back() {
    let dir = testkit::temp::dir("emulator-reach");
    let mut settings = Settings::loopback(dir.path().join("state.json"));
    settings.tls = Some(TlsSettings {
        dir: dir.path().join("tls"),
        names: Vec::new(),
    });
    let emu = Emulator::start(settings).unwrap();
    let ca = emu.ca_file().expect("TLS is on").to_path_buf();
    assert!(emu.endpoints()[0].url.starts_with("https://127.0.0.1:"));
    let options = ClientOptions {
        call_timeout: Duration::from_secs(5),
        extra_ca: Some(recovery::tls::ExtraCa::from_file(ca.to_str().unwrap()).unwrap()),
    };
    let first = ArcClient::new(&emu.endpoints()[..1], options.clone()).await;
    assert_eq!(first.list(None).await.unwrap().len(), 6);

    emu.set_reachable(0, false).unwrap();
    let addr = emu.ports().data_plane[0];
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "refused"
    );
    let e = ArcClient::new(&emu.endpoints()[..1], options.clone())
        .await
        .list(None)
        .await
        .unwrap_err();
    let reasons = reasons(e);
    assert!(
        reasons[0].starts_with("us-east-1: unreachable: Connection refused"),
        "{reasons:?}"
    );
    // The client moves on to the endpoints that answer.
    assert_eq!(
        ArcClient::new(emu.endpoints(), options.clone())
            .await
            .list(None)
            .await
            .unwrap()
            .len(),
        6
    );

    emu.set_reachable(0, true).unwrap();
    assert_eq!(emu.ports().data_plane[0], addr, "the same address");
    let again = ArcClient::new(&emu.endpoints()[..1], options.clone()).await;
    assert_eq!(again.list(None).await.unwrap().len(), 6);
}
