//! An evacuation from a region that does not answer, on the emulators: arc-local for the
//! routing controls, the real service1 and service2 processes (us-east-1's stopped), and moto's
//! server for ECS, ELBv2 and Application Auto Scaling behind a front that refuses, or never
//! answers, every call signed for us-east-1. `check` and `evacuate` (dry run and run) complete,
//! gated on us-west-2 alone; the standby is sized from the capacity record the readiness run
//! kept, or from its autoscaling maximum without one; the report names the reads that failed;
//! and nothing but reads is sent to us-east-1. Skipped, saying so, where no python has moto.

mod common;

use std::time::{Duration, Instant};

use common::moto::Moto;
use common::region_gate::{Down, RegionGate};
use common::regions::Regions;
use common::*;
use recovery::{ClusterDocument, ControlState, EcsService};
use serde_json::{json, Value};

const APPS: [&str; 2] = ["service1", "service2"];

/// The services' document with an ECS block per app and region for the target groups `tgs`.
fn document(arc: &Cluster, regions: &Regions, tgs: &Value) -> ClusterDocument {
    let mut doc = regions.document(arc.document());
    for app in APPS {
        for (region, entry) in doc.apps.get_mut(app).unwrap().regions.iter_mut() {
            entry.ecs = Some(EcsService {
                cluster: "prod".into(),
                service: app.into(),
                target_group_arns: vec![tgs[format!("{app}:{region}")]
                    .as_str()
                    .unwrap()
                    .to_owned()],
                min_tasks: None,
            });
        }
    }
    doc
}

fn report(stdout: &str) -> Value {
    let path = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("report: "))
        .find(|p| p.ends_with(".json"))
        .unwrap_or_else(|| panic!("no JSON report path:\n{stdout}"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn warnings(report: &Value) -> Vec<String> {
    report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_evacuation_from_a_region_that_does_not_answer_completes_on_the_target_alone() {
    let Some(moto) = Moto::start() else { return };
    let tgs = moto.seed(&[
        "create",
        "service1:us-east-1:3:3",
        "service2:us-east-1:2:2",
        "service1:us-west-2:1:3",
        "service2:us-west-2:1:3",
    ]);
    let gate = RegionGate::start(&moto.url);
    let arc = Cluster::start();
    let mut regions = Regions::start();
    let file = doc_file(&document(&arc, &regions, &tgs));
    let reports = tempfile::tempdir().unwrap();
    let record = reports.path().join("capacity.json");
    let record = record.to_str().unwrap();
    let env = gate.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let failover = |args: &[&str]| {
        let dir = reports.path().display().to_string();
        let mut all = vec!["--cluster", file.path.as_str()];
        all.extend_from_slice(args);
        if args.contains(&"evacuate") {
            all.extend_from_slice(&["--report-dir", &dir, "--poll-interval", "200ms"]);
        }
        let started = Instant::now();
        let (stdout, stderr, code) = text(&run_env(&all, None, &env));
        (stdout, stderr, code, started.elapsed())
    };
    let west = |app: &str| moto.seed(&["read", app, "us-west-2"]);

    // The readiness run while both regions answer keeps us-east-1's running counts.
    let (stdout, stderr, code, _) = failover(&["check", "--record-capacity", record]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(record).unwrap()).unwrap();
    assert_eq!(kept["apps"]["service1"]["us-east-1"]["running"], 3);
    assert_eq!(kept["apps"]["service2"]["us-east-1"]["running"], 2);
    assert_eq!(kept["apps"]["service2"]["us-west-2"]["running"], 1);

    // us-east-1 goes: its services stop and its AWS endpoints never answer.
    for app in APPS {
        regions.kill(app, "us-east-1");
    }
    gate.set("us-east-1", Some(Down::Hang));
    gate.take_calls("us-east-1");

    // `check` reads us-east-1 within --source-timeout (the AWS calls alone could take 3 x 5 s).
    let (stdout, stderr, code, took) = failover(&[
        "check",
        "--source-timeout",
        "500ms",
        "--record-capacity",
        record,
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(took < Duration::from_secs(5), "check took {took:?}");
    assert!(
        stdout.contains("us-east-1 unknown: no answer within 500ms (--source-timeout)"),
        "{stdout}"
    );
    let after: Value = serde_json::from_str(&std::fs::read_to_string(record).unwrap()).unwrap();
    assert_eq!(
        after["apps"]["service1"]["us-east-1"], kept["apps"]["service1"]["us-east-1"],
        "a region that cannot be read keeps its recorded entry"
    );

    // A dry run without the record: gated on us-west-2 alone, sized from its autoscaling maximum.
    let (stdout, stderr, code, took) = failover(&[
        "evacuate",
        "us-east-1",
        "--dry-run",
        "--source-timeout",
        "500ms",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(took < Duration::from_secs(10), "the dry run took {took:?}");
    let r = report(&stdout);
    assert_eq!(r["outcome"], "dry_run", "{stdout}");
    let w = warnings(&r);
    for app in APPS {
        assert!(
            w.iter().any(|w| w.starts_with(&format!("step[0] gate: {app}: best-effort read of us-east-1 (the region being left) failed, gated on us-west-2 alone: GET http://127.0.0.1:")) && w.contains("no answer within 500ms")),
            "{w:#?}"
        );
        assert!(
            w.contains(&format!("step[1] scale: {app}: reading us-east-1 failed (ecs:DescribeServices in us-east-1: no answer within 500ms (--source-timeout)) and no capacity record was given (--capacity-record); used us-west-2's autoscaling maximum: 4")),
            "{w:#?}"
        );
        assert!(
            stdout.contains(&format!(
                "call: would call ecs:UpdateService prod/{app} desiredCount 4 (us-west-2)"
            )),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains("its own are left out: "),
        "no routing-control call waits on us-east-1's cluster endpoint: {stdout}"
    );
    assert_eq!(west("service1")["desired"], 1, "a dry run changes nothing");

    // The run, us-east-1 refusing every connection, sized from the record the readiness run kept.
    gate.set("us-east-1", Some(Down::Refuse));
    let (stdout, stderr, code, _) = failover(&[
        "evacuate",
        "us-east-1",
        "--yes",
        "--capacity-record",
        record,
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let r = report(&stdout);
    assert_eq!(r["outcome"], "succeeded", "{stdout}");
    let w = warnings(&r);
    assert!(
        w.iter().any(|w| w.starts_with("step[1] scale: service1: reading us-east-1 failed (ecs:DescribeServices in us-east-1") && w.contains("sized us-west-2 from the capacity record of ") && w.ends_with(": 3 running tasks")),
        "{w:#?}"
    );
    assert!(
        w.iter().any(|w| w.starts_with("step[1] scale: service2: ") && w.ends_with(": 2 running tasks")),
        "{w:#?}"
    );
    assert_eq!(
        west("service1"),
        json!({"desired": 3, "running": 3, "min": 3, "max": 4})
    );
    assert_eq!(west("service2")["desired"], 2);
    for app in APPS {
        let doc = arc.document();
        let state = |region: &str| arc.state_of(&doc.apps[app].regions[region].routing_control_arn);
        assert_eq!(
            (state("us-east-1"), state("us-west-2")),
            (ControlState::Off, ControlState::On),
            "{app} moved"
        );
    }
    let asked = gate.take_calls("us-east-1");
    assert!(!asked.is_empty(), "us-east-1 was read (best-effort)");
    assert!(
        asked.iter().all(|op| op.starts_with("Describe")),
        "only reads were sent to us-east-1: {asked:?}"
    );
}
