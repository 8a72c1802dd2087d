//! Plans against arc-local in-process, the real service1 and service2 binaries in both regions
//! on loopback and (for the probe) the real gateway in arc mode: `evacuate` under a running probe
//! with its report checked against the probe's raw samples, `--dry-run`, a failing gate that stops
//! the run before any control changes, rollback, approval, and plan-file errors.

mod common;

use arc_local::Operation;
use common::regions::{gateway, Regions};
use common::*;
use recovery::ControlState::{Off, On};
use serde_json::Value;

/// arc-local, the four service processes and a document (no external API) pointing at them.
struct Stack {
    arc: Cluster,
    regions: Regions,
    doc: TempFile,
    reports: tempfile::TempDir,
}

impl Stack {
    fn start() -> Stack {
        let arc = Cluster::start();
        let regions = Regions::start();
        let doc = doc_file(&regions.document(arc.document()));
        Stack {
            arc,
            regions,
            doc,
            reports: tempfile::Builder::new()
                .prefix("failover-test-reports-")
                .tempdir()
                .unwrap(),
        }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> (String, String, i32) {
        let dir = self.reports.path().display().to_string();
        let mut all = vec!["--cluster", self.doc.path.as_str()];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--report-dir", &dir, "--poll-interval", "100ms"]);
        text(&run(&all, stdin))
    }

    fn updates(&self) -> Vec<Value> {
        self.arc.calls_of(Operation::UpdateRoutingControlStates)
    }

    fn state(&self, app: &str, region: &str) -> recovery::ControlState {
        self.arc
            .state_of(&self.arc.document().apps[app].regions[region].routing_control_arn)
    }

    /// The JSON report named on stdout.
    fn report(&self, stdout: &str) -> Value {
        let path = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("report: "))
            .find(|p| p.ends_with(".json"))
            .unwrap_or_else(|| panic!("no JSON report path:\n{stdout}"));
        assert!(path.starts_with(&self.reports.path().display().to_string()));
        for ext in [".md", ".html"] {
            let other = path.replace(".json", ext);
            assert!(stdout.contains(&format!("report: {other}")), "{stdout}");
            assert!(std::path::Path::new(&other).exists());
        }
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }
}

#[test]
fn evacuate_moves_the_services_with_no_failed_request_and_reports_what_the_probe_saw() {
    let stack = Stack::start();
    let (_gw, url) = gateway(&stack.doc.path);
    let (stdout, stderr, code) = stack.run(
        &[
            "evacuate",
            "us-east-1",
            "--yes",
            "--probe-url",
            &url,
            "--probe-interval",
            "50ms",
            "--probe-tail",
            "1s",
        ],
        None,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for app in ["service1", "service2"] {
        assert_eq!(
            (stack.state(app, "us-east-1"), stack.state(app, "us-west-2")),
            (Off, On)
        );
    }
    // One update call per service, each as activate sends it.
    assert_eq!(stack.updates().len(), 2, "{:?}", stack.updates());
    assert!(stdout.contains("approved by --yes"), "{stdout}");
    assert!(
        stdout.contains("scale service1, service2 -> us-west-2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("service1: not applicable (no ECS): nothing to scale"),
        "{stdout}"
    );

    let report = stack.report(&stdout);
    assert_eq!(report["outcome"], "succeeded");
    assert_eq!(report["plan"], "evacuate us-east-1");
    let kinds: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["gate", "scale", "approve", "activate", "verify"]);
    for s in report["steps"].as_array().unwrap() {
        assert_eq!(s["result"], "ok", "{s}");
        assert!(s["ended_ms"].as_u64() >= s["started_ms"].as_u64());
    }
    assert_eq!(
        report["steps"][0]["gate"].as_array().unwrap().len(),
        2,
        "gate readings kept"
    );

    // The report's figures, recomputed from its raw samples.
    let samples = report["samples"].as_array().unwrap();
    assert!(
        samples.len() > 10,
        "the probe ran during the switch: {}",
        samples.len()
    );
    let failed = samples
        .iter()
        .filter(|s| {
            !s["error"].is_null() || !(200..300).contains(&s["status"].as_u64().unwrap_or(0))
        })
        .count();
    let rec = &report["recovery"];
    assert_eq!(rec["samples"].as_u64(), Some(samples.len() as u64));
    assert_eq!(rec["failed"].as_u64(), Some(failed as u64));
    assert_eq!(failed, 0, "planned failover loses no request");
    let moved = report["moved"].as_array().unwrap();
    assert_eq!(moved.len(), 2);
    let first_activate = moved
        .iter()
        .map(|m| m["activated_at_ms"].as_u64().unwrap())
        .min()
        .unwrap();
    assert_eq!(rec["first_activate_ms"].as_u64(), Some(first_activate));
    let mut last_first_new = 0;
    for m in moved {
        let app = m["app"].as_str().unwrap();
        let path = format!("/{app}");
        let first_new = samples
            .iter()
            .filter(|s| s["path"] == path.as_str() && s["service_region"] == "us-west-2")
            .map(|s| s["at_ms"].as_u64().unwrap())
            .filter(|t| *t >= first_activate)
            .min()
            .expect("the app answered from us-west-2");
        let last_old = samples
            .iter()
            .filter(|s| s["path"] == path.as_str() && s["service_region"] == "us-east-1")
            .map(|s| s["at_ms"].as_u64().unwrap())
            .max()
            .expect("the app answered from us-east-1 before");
        let a = rec["apps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["app"] == app)
            .unwrap();
        assert_eq!(a["first_new_ms"].as_u64(), Some(first_new), "{app}");
        assert_eq!(a["last_old_ms"].as_u64(), Some(last_old), "{app}");
        assert!(
            last_old < first_new + 1000,
            "{app}: the old region stopped answering soon after"
        );
        last_first_new = last_first_new.max(first_new);
    }
    let recovery_ms = rec["recovery_ms"].as_u64().unwrap();
    assert_eq!(recovery_ms, last_first_new - first_activate);
    assert!(
        recovery_ms < 3000,
        "arc mode polls every 100 ms: {recovery_ms} ms"
    );
    // p99 over the switch window, nearest rank.
    let (start, end) = (
        rec["window_ms"][0].as_u64().unwrap(),
        rec["window_ms"][1].as_u64().unwrap(),
    );
    let mut lat: Vec<f64> = samples
        .iter()
        .filter(|s| (start..=end).contains(&s["at_ms"].as_u64().unwrap()))
        .map(|s| s["latency_ms"].as_f64().unwrap())
        .collect();
    lat.sort_by(f64::total_cmp);
    let rank = ((0.99 * lat.len() as f64).ceil() as usize).clamp(1, lat.len());
    assert_eq!(rec["p99_ms"].as_f64(), Some(lat[rank - 1]));
    assert!(
        stdout.contains(&format!("recovery: {recovery_ms} ms")),
        "{stdout}"
    );
    // The HTML page: a mark per sample on the timeline, a line per activate call, the figures.
    let json_path = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("report: "))
        .find(|p| p.ends_with(".json"))
        .unwrap();
    let html = std::fs::read_to_string(json_path.replace(".json", ".html")).unwrap();
    assert_eq!(
        html.matches(r#"<rect class="sample""#).count(),
        samples.len()
    );
    assert_eq!(html.matches(r#"<line class="activate""#).count(), 2);
    assert!(
        html.contains(&format!(r#"<b id="recovery">{recovery_ms} ms</b>"#)),
        "{html}"
    );
    assert!(html.contains(r#"failed <b id="failed">0</b>"#));
    assert!(
        !html.contains("<script") && !html.contains("src="),
        "self-contained"
    );
}

#[test]
fn a_dry_run_evaluates_gates_lists_the_calls_and_changes_nothing() {
    let stack = Stack::start();
    let (stdout, stderr, code) = stack.run(&["evacuate", "us-east-1", "--dry-run"], None);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("(dry run: nothing will be changed)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("service2 us-west-2 health: ok"),
        "gates are read for real:\n{stdout}"
    );
    for app in ["service1", "service2"] {
        assert!(
            stdout.contains(&format!(
                "call: would call UpdateRoutingControlStates {app}: {app}-primary-rc Off, {app}-secondary-rc On"
            )),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains("would ask: Move service1, service2 out of us-east-1 to us-west-2?"),
        "{stdout}"
    );
    assert!(stack.updates().is_empty());
    assert_eq!(stack.state("service1", "us-east-1"), On);
    let report = stack.report(&stdout);
    assert_eq!(report["outcome"], "dry_run");
    assert_eq!(report["dry_run"], true);
    assert!(report["moved"].as_array().unwrap().is_empty());
}

#[test]
fn a_region_being_left_that_never_answers_costs_the_source_timeout_and_a_warning() {
    let mut stack = Stack::start();
    // us-east-1's load balancers take connections and never answer (a listener that never
    // accepts: the kernel completes the handshake).
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", hole.local_addr().unwrap());
    let mut doc = stack.regions.document(stack.arc.document());
    for app in ["service1", "service2"] {
        stack.regions.kill(app, "us-east-1");
        doc.apps
            .get_mut(app)
            .unwrap()
            .regions
            .get_mut("us-east-1")
            .unwrap()
            .url = url.clone();
    }
    stack.doc = doc_file(&doc);
    let started = std::time::Instant::now();
    let (stdout, stderr, code) = stack.run(
        &[
            "evacuate",
            "us-east-1",
            "--yes",
            "--health-timeout",
            "20s",
            "--source-timeout",
            "300ms",
        ],
        None,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the gate waited on us-east-1 for longer than --source-timeout: {:?}",
        started.elapsed()
    );
    let report = stack.report(&stdout);
    assert_eq!(report["outcome"], "succeeded");
    for app in ["service1", "service2"] {
        let warning = format!("step[0] gate: {app}: best-effort read of us-east-1 (the region being left) failed, gated on us-west-2 alone: GET {url}/health: no answer within 300ms (--source-timeout)");
        assert!(
            report["warnings"]
                .as_array()
                .unwrap()
                .contains(&Value::from(warning.as_str())),
            "{warning}\n{:#}",
            report["warnings"]
        );
        assert!(
            stdout.contains(&format!("warning: {}", &warning["step[0] gate: ".len()..])),
            "{stdout}"
        );
        assert_eq!(
            (stack.state(app, "us-east-1"), stack.state(app, "us-west-2")),
            (Off, On)
        );
    }
}

#[test]
fn a_failing_gate_stops_the_run_before_any_control_changes_and_says_why() {
    let mut stack = Stack::start();
    stack.regions.kill("service2", "us-west-2");
    let (stdout, stderr, code) = stack.run(&["evacuate", "us-east-1", "--yes"], None);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("FAILED"), "{stdout}");
    assert!(
        stdout
            .contains("failed: step[0] gate failed: gate failed: service2 health, service2 build"),
        "{stdout}"
    );
    assert!(stack.updates().is_empty(), "no control changed");
    let report = stack.report(&stdout);
    assert_eq!(report["outcome"], "failed");
    let results: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        ["failed", "not_run", "not_run", "not_run", "not_run"]
    );
    let reading = &report["steps"][0]["gate"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["app"] == "service2")
        .unwrap()["target"]["health"];
    assert!(reading["error"].is_string(), "{reading}");
}

const HALF_PLAN: &str = r#"
name = "service1 west, then a check that fails"
[[step]]
kind = "activate"
apps = ["service1"]
to = "us-west-2"
[[step]]
kind = "verify"
apps = ["service2"]
to = "us-west-2"
timeout = "1s"
"#;

#[test]
fn a_failure_after_a_move_offers_the_way_back_or_rolls_back() {
    let stack = Stack::start();
    let plan = stack.arc.write("half.toml", HALF_PLAN);

    let (stdout, stderr, code) = stack.run(&["plan", "run", &plan], None);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("the routing controls make us-east-1 active, not us-west-2"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "failover --cluster {} activate service1 us-east-1",
            stack.doc.path
        )),
        "{stdout}"
    );
    assert_eq!(
        stack.state("service1", "us-west-2"),
        On,
        "not rolled back without the flag"
    );

    // Back to the start, then with --rollback-on-failure.
    let (_, _, code) = stack.run(
        &[
            "plan",
            "run",
            &stack.arc.write(
                "back.toml",
                "[[step]]\nkind = \"activate\"\napps = [\"service1\"]\nto = \"us-east-1\"\n",
            ),
        ],
        None,
    );
    assert_eq!(code, 0);
    let (stdout, stderr, code) = stack.run(&["plan", "run", &plan, "--rollback-on-failure"], None);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_eq!(
        (
            stack.state("service1", "us-east-1"),
            stack.state("service1", "us-west-2")
        ),
        (On, Off)
    );
    let report = stack.report(&stdout);
    let rollback: Vec<(&str, &str)> = report["rollback"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["kind"].as_str().unwrap(), s["result"].as_str().unwrap()))
        .collect();
    assert_eq!(rollback, [("gate", "ok"), ("activate", "ok")]);
    assert_eq!(report["moved"][0]["app"], "service1");
    assert!(report["rollback"][0]["lines"][0]
        .as_str()
        .unwrap()
        .starts_with("service1 us-east-1: healthy, "));
}

#[test]
fn approval_is_needed_without_yes_and_plan_files_are_checked() {
    let stack = Stack::start();
    // stdin closed: not approved, nothing sent.
    let (stdout, stderr, code) = stack.run(&["evacuate", "us-east-1"], Some(""));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("not approved: no answer (stdin closed); pass --yes"),
        "{stdout}"
    );
    assert!(stack.updates().is_empty());
    // A person typing "no".
    let (stdout, _, code) = stack.run(&["evacuate", "us-east-1"], Some("no\n"));
    assert_eq!(code, 1);
    assert!(stdout.contains("not approved: answered \"no\""), "{stdout}");
    // "yes" goes ahead.
    let (stdout, _, code) = stack.run(&["evacuate", "us-east-1"], Some("yes\n"));
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stack.updates().len(), 2);

    let bad = stack.arc.write(
        "bad.toml",
        "[[step]]\nkind = \"activate\"\napps = [\"service1\"]\nto = \"eu-west-9\"\n",
    );
    let (stdout, stderr, code) = stack.run(&["plan", "run", &bad], None);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert_eq!(
        stderr.trim(),
        format!("failover: plan file {bad}: step[0].to = \"eu-west-9\": not a region of service1 (regions: us-east-1, us-west-2)")
    );
    let (_, stderr, code) = stack.run(&["evacuate", "eu-west-9"], None);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("\"eu-west-9\" is not a region of any app"),
        "{stderr}"
    );
}

#[test]
fn the_built_in_plan_prints_as_a_plan_file_that_runs() {
    let stack = Stack::start();
    let (stdout, _, code) = text(&run(
        &[
            "--cluster",
            &stack.doc.path,
            "evacuate",
            "us-east-1",
            "--print-plan",
        ],
        None,
    ));
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("name = \"evacuate us-east-1\""),
        "{stdout}"
    );
    let plan = stack.arc.write("printed.toml", &stdout);
    let (stdout, stderr, code) = stack.run(&["plan", "run", &plan, "--dry-run"], None);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("[5/5] step[4] verify: verify service1, service2 -> us-west-2"),
        "{stdout}"
    );
}
