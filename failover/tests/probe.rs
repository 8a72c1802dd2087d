//! `failover probe` against stand-ins for the external API that answer with the region headers.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::external_api::{ExternalApi, Reply};
use common::*;
use serde_json::Value;

/// external-api and service1 in us-east-1, service2 in us-west-2; service1 moves to us-west-2
/// from its third request on.
fn rehearsal(path: &str, n: usize) -> Reply {
    match path {
        "/" => Reply::ok("us-east-1", None),
        "/service1" if n >= 3 => Reply::ok("us-east-1", Some("us-west-2")),
        "/service1" => Reply::ok("us-east-1", Some("us-east-1")),
        "/service2" => Reply::ok("us-east-1", Some("us-west-2")),
        _ => Reply {
            status: 404,
            ..Reply::ok("us-east-1", None)
        },
    }
}

fn rounds(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("  ") || l.starts_with("* "))
        .filter(|l| l.contains("/service1:"))
        .collect()
}

#[test]
fn probe_prints_regions_marks_the_switch_and_summarises() {
    let api = ExternalApi::start(rehearsal);
    let url = api.url();
    let (stdout, stderr, code) = text(&run(
        &["probe", "--url", &url, "--interval", "50ms", "--count", "4"],
        None,
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let lines = rounds(&stdout);
    assert_eq!(lines.len(), 4, "{stdout}");
    let before =
        "/: 200 us-east-1  /service1: 200 us-east-1>us-east-1  /service2: 200 us-east-1>us-west-2";
    let after =
        "/: 200 us-east-1  /service1: 200 us-east-1>us-west-2  /service2: 200 us-east-1>us-west-2";
    assert!(
        lines[0].starts_with("  ") && lines[0].ends_with(before),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("  ") && lines[1].ends_with(before),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("* ")
            && lines[2].ends_with(&format!("{after}  | service1: us-east-1 -> us-west-2")),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with("  ") && lines[3].ends_with(after),
        "{}",
        lines[3]
    );
    // Each line starts with an RFC 3339 UTC timestamp.
    let stamp = lines[2][2..].split_whitespace().next().unwrap();
    assert!(humantime::parse_rfc3339(stamp).is_ok(), "{stamp}");

    assert!(
        stdout.contains(
            "summary: 4 rounds, 12 requests, 0 failed (/: 0, /service1: 0, /service2: 0)\n"
        ),
        "{stdout}"
    );
    let switch = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("service1 "))
        .expect("a service1 switch line");
    assert_eq!(
        switch.split_whitespace().collect::<Vec<_>>(),
        ["service1", stamp, "us-east-1", "->", "us-west-2"]
    );
    assert!(
        stdout.contains("external-api  none (us-east-1 throughout)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("service2      none (us-west-2 throughout)"),
        "{stdout}"
    );
}

#[test]
fn every_request_opens_a_new_connection() {
    // A pooled connection would keep reaching the old region after a DNS failover.
    let api = ExternalApi::start(rehearsal);
    let url = api.url();
    let (stdout, stderr, code) = text(&run(
        &["probe", "--url", &url, "--interval", "20ms", "--count", "4"],
        None,
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(
        api.connections.load(std::sync::atomic::Ordering::SeqCst),
        12
    );
}

#[test]
fn failed_requests_are_shown_counted_and_exit_1() {
    // service2 answers 503 on its second request, times out on its third.
    let api = ExternalApi::start(|path, n| match (path, n) {
        ("/service2", 2) => Reply {
            status: 503,
            ..Reply::ok("us-east-1", None)
        },
        ("/service2", 3) => Reply {
            delay: Duration::from_secs(5),
            ..Reply::ok("us-east-1", Some("us-west-2"))
        },
        _ => rehearsal(path, 1),
    });
    let url = api.url();
    let (stdout, stderr, code) = text(&run(
        &[
            "probe",
            "--url",
            &url,
            "--interval",
            "50ms",
            "--count",
            "4",
            "--request-timeout",
            "1s",
        ],
        None,
    ));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let lines = rounds(&stdout);
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(
        lines[1].contains(
            "/service2: 503 us-east-1>? FAILED  [1 failed so far]  | /service2: 200 -> 503"
        ),
        "{}",
        lines[1]
    );
    assert!(
        lines[2]
            .contains("/service2: timeout FAILED  [2 failed so far]  | /service2: 503 -> timeout"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].contains("| /service2: timeout -> 200"),
        "{}",
        lines[3]
    );
    assert!(
        stdout.contains(
            "summary: 4 rounds, 12 requests, 2 failed (/: 0, /service1: 0, /service2: 2)"
        ),
        "{stdout}"
    );
}

#[test]
fn without_region_headers_the_identity_body_names_the_region() {
    // The original pattern: no headers, bodies like {"service": "service1", "region": "us-west-2"}.
    let api = ExternalApi::start(|path, _| Reply {
        headers: false,
        ..match path {
            "/" => Reply::ok("us-east-1", None),
            _ => Reply::ok("us-east-1", Some("us-west-2")),
        }
    });
    let url = api.url();
    let (stdout, stderr, code) = text(&run(
        &["probe", "--url", &url, "--interval", "20ms", "--count", "1"],
        None,
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        rounds(&stdout)[0]
            .ends_with("/: 200 us-east-1  /service1: 200 ?>us-west-2  /service2: 200 ?>us-west-2"),
        "{stdout}"
    );
}

#[test]
fn unreachable_api_counts_every_request_as_failed() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let (stdout, stderr, code) = text(&run(
        &["probe", "--url", &url, "--interval", "20ms", "--count", "2"],
        None,
    ));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("/: error FAILED ("), "{stdout}");
    assert!(
        stdout.contains("summary: 2 rounds, 6 requests, 6 failed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("none (never answered successfully)"),
        "{stdout}"
    );
}

#[test]
fn sigterm_ends_the_run_with_a_summary() {
    let api = ExternalApi::start(rehearsal);
    let url = api.url();
    let mut child = failover()
        .args(["probe", "--url", &url, "--interval", "50ms"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while rounds(&seen).len() < 3 && Instant::now() < deadline {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
    }
    assert!(rounds(&seen).len() >= 3, "{seen}");
    assert!(seen.contains("until Ctrl-C"), "{seen}");
    testkit::process::signal(child.id(), testkit::process::Signal::Term).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen}{rest}");
    assert!(rest.contains(", stopped by signal\n"), "{rest}");
    assert!(rest.contains("service1  "), "switches listed: {rest}");
}

#[test]
fn duration_bounds_the_run() {
    let api = ExternalApi::start(rehearsal);
    let url = api.url();
    let started = Instant::now();
    let (stdout, stderr, code) = text(&run(
        &[
            "probe",
            "--url",
            &url,
            "--interval",
            "100ms",
            "--duration",
            "450ms",
        ],
        None,
    ));
    let took = started.elapsed();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // Rounds at 0, 100, ..., 400 ms; fewer when a loaded machine delays ticks, never more.
    let n = rounds(&stdout).len();
    assert!((2..=5).contains(&n), "{stdout}");
    assert!(stdout.contains(&format!("summary: {n} rounds")), "{stdout}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn json_lines_and_summary() {
    let api = ExternalApi::start(rehearsal);
    let url = api.url();
    let (stdout, stderr, code) = text(&run(
        &[
            "probe",
            "--url",
            &url,
            "--interval",
            "20ms",
            "--count",
            "3",
            "--json",
        ],
        None,
    ));
    assert_eq!(code, 0, "{stderr}");
    let objects: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(objects.len(), 4);
    assert_eq!(objects[0]["round"], 1);
    assert_eq!(objects[0]["targets"][1]["path"], "/service1");
    assert_eq!(objects[0]["targets"][1]["service_region"], "us-east-1");
    assert_eq!(objects[2]["changes"][0]["kind"], "switched");
    assert_eq!(objects[2]["changes"][0]["to"], "us-west-2");
    let summary = &objects[3]["summary"];
    assert_eq!(summary["requests"], 9);
    assert_eq!(summary["failed"], 0);
    assert_eq!(
        summary["apps"]["service1"]["switches"][0]["from"],
        "us-east-1"
    );
}

#[test]
fn bad_probe_options_exit_2() {
    let (_, stderr, code) = text(&run(&["probe", "--url", "ftp://127.0.0.1"], None));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--url \"ftp://127.0.0.1\""), "{stderr}");
    let (_, stderr, code) = text(&run(&["probe", "--count", "0"], None));
    assert_eq!(code, 2, "{stderr}");
    let (_, stderr, code) = text(&run(&["probe", "--count", "2", "--duration", "1s"], None));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[test]
fn with_a_dns_server_the_probe_follows_the_hostname_as_arc_local_answers_it() {
    use std::net::{IpAddr, SocketAddr};
    // The default topology's external API: 127.0.1.1 in us-east-1, 127.0.2.1 in us-west-2.
    let (east, west): (IpAddr, IpAddr) =
        ("127.0.1.1".parse().unwrap(), "127.0.2.1".parse().unwrap());
    let port = testkit::ports::free_range_on(1, &[east, west]);
    let _east = ExternalApi::start_at(SocketAddr::new(east, port), |_, _| {
        Reply::ok("us-east-1", None)
    });
    let _west = ExternalApi::start_at(SocketAddr::new(west, port), |_, _| {
        Reply::ok("us-west-2", None)
    });
    let arc = Cluster::start();
    let dns = arc.emulator().ports().dns.to_string();
    let url = format!("http://externalapi.example.com:{port}");
    let probe = |count: &str| {
        text(&run(
            &[
                "probe",
                "--url",
                &url,
                "--dns-server",
                &dns,
                "--interval",
                "20ms",
                "--count",
                count,
                "--json",
            ],
            None,
        ))
    };
    let (stdout, stderr, code) = probe("2");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(
        summary["summary"]["apps"]["external-api"]["first_region"], "us-east-1",
        "{summary}"
    );

    let doc = arc.document().clone();
    let rc = |r: &str| {
        doc.apps["external-api"].regions[r]
            .routing_control_arn
            .clone()
    };
    arc.emulator()
        .set_states(&[
            (rc("us-west-2"), recovery::ControlState::On),
            (rc("us-east-1"), recovery::ControlState::Off),
        ])
        .unwrap();
    // arc-local's answers live 1 s; the probe's resolver asks again when they run out.
    std::thread::sleep(Duration::from_millis(1100));
    let (stdout, stderr, code) = probe("2");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(
        summary["summary"]["apps"]["external-api"]["first_region"], "us-west-2",
        "{summary}"
    );

    let (_, stderr, code) = text(&run(&["probe", "--dns-server", "nonsense"], None));
    assert_eq!(code, 2);
    assert!(stderr.contains("nonsense"), "{stderr}");
}

/// service2's active region (us-east-1) cannot be reached from its second request on, so the
/// gateway serves it from us-west-2 through its regional fallback, before anyone moves the app.
#[test]
fn answers_served_by_a_gateways_regional_fallback_say_so() {
    let api = ExternalApi::start(|path, n| match path {
        "/service2" if n >= 2 => Reply {
            fallback: Some("us-west-2"),
            ..Reply::ok("us-east-1", Some("us-west-2"))
        },
        "/service2" => Reply::ok("us-east-1", Some("us-east-1")),
        "/service1" => Reply::ok("us-east-1", Some("us-east-1")),
        _ => Reply::ok("us-east-1", None),
    });
    let url = api.url();
    let (stdout, stderr, code) = text(&run(
        &["probe", "--url", &url, "--interval", "20ms", "--count", "2"],
        None,
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("  2") || l.starts_with("* "))
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].ends_with("/service2: 200 us-east-1>us-east-1") && !lines[0].contains("fallback"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("/service2: 200 us-east-1>us-west-2 (fallback to us-west-2)"),
        "{}",
        lines[1]
    );

    let (stdout, stderr, code) = text(&run(
        &[
            "probe",
            "--url",
            &url,
            "--interval",
            "20ms",
            "--count",
            "1",
            "--json",
        ],
        None,
    ));
    assert_eq!(code, 0, "{stderr}");
    let first: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["targets"][2]["path"], "/service2");
    assert_eq!(first["targets"][2]["fallback_region"], "us-west-2");
    assert_eq!(first["targets"][1]["fallback_region"], Value::Null);
}
