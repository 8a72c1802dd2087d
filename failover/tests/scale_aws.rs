//! The plans' `scale` step through the AWS SDK against moto's server on 127.0.0.1: the dry run
//! lists the calls and changes nothing; the run raises the standby's ECS desired count and its
//! autoscaling minimum to the active region's running count and waits for healthy targets; a
//! deadline that passes fails the step. Skipped, saying so, where no python has moto.

mod common;

use std::time::{Duration, Instant};

use common::moto::Moto;
use common::regions::health_stub;
use common::*;
use recovery::EcsService;
use serde_json::{json, Value};

const SCALE: &str = r#"
[[step]]
kind = "scale"
apps = ["service1"]
to = "us-west-2"
share = SHARE
timeout = "TIMEOUT"
"#;

fn plan(arc: &Cluster, share: &str, timeout: &str) -> String {
    arc.write(
        &format!("scale-{share}.toml"),
        &SCALE.replace("SHARE", share).replace("TIMEOUT", timeout),
    )
}

#[test]
fn scale_raises_the_standby_and_waits_for_healthy_targets() {
    let Some(moto) = Moto::start() else { return };
    let tgs = moto.seed(&["create", "service1:us-east-1:2:2", "service1:us-west-2:1:1"]);
    let arc = Cluster::start();
    let mut doc = arc.document().clone();
    doc.apps.retain(|name, _| name == "service1");
    let url = health_stub(bootstrap::build_info::health_body());
    for (region, entry) in doc.apps.get_mut("service1").unwrap().regions.iter_mut() {
        entry.url = url.clone();
        entry.ecs = Some(EcsService {
            cluster: "prod".into(),
            service: "service1".into(),
            target_group_arns: vec![tgs[format!("service1:{region}")]
                .as_str()
                .unwrap()
                .to_owned()],
            min_tasks: None,
        });
    }
    let file = doc_file(&doc);
    let reports = tempfile::tempdir().unwrap();
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run_plan = |plan: &str, extra: &[&str]| {
        let dir = reports.path().display().to_string();
        let mut args = vec![
            "--cluster",
            file.path.as_str(),
            "plan",
            "run",
            plan,
            "--report-dir",
            &dir,
            "--poll-interval",
            "200ms",
        ];
        args.extend_from_slice(extra);
        text(&run_env(&args, None, &env))
    };
    let west = || moto.seed(&["read", "service1", "us-west-2"]);
    assert_eq!(
        west(),
        json!({"desired": 1, "running": 1, "min": 1, "max": 4})
    );

    // Dry run: the calls, not made.
    let to_two = plan(&arc, "1.0", "20s");
    let (stdout, stderr, code) = run_plan(&to_two, &["--dry-run"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("service1: us-east-1 runs 2 tasks; us-west-2 needs 2 (1 of it), has 1/1 tasks running, 1/1 targets healthy"), "{stdout}");
    assert!(
        stdout.contains(
            "call: would call ecs:UpdateService prod/service1 desiredCount 2 (us-west-2)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("call: would call application-autoscaling:RegisterScalableTarget service/prod/service1 min 2 (us-west-2)"), "{stdout}");
    assert_eq!(west()["desired"], 1, "a dry run changes nothing");

    // The run: the new task's target registers a moment after the scale-up (as ECS would).
    let tg = tgs["service1:us-west-2"].as_str().unwrap().to_owned();
    let registrar = {
        let python = std::env::var("MOTO_PYTHON").unwrap_or_else(|_| "python3".into());
        let url = moto.url.clone();
        std::thread::spawn(move || {
            let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aws/seed.py");
            let read = || -> Value {
                let out = std::process::Command::new(&python)
                    .arg(&seed)
                    .args([&url, "read", "service1", "us-west-2"])
                    .output()
                    .unwrap();
                serde_json::from_slice(&out.stdout).unwrap()
            };
            let deadline = Instant::now() + Duration::from_secs(20);
            while read()["desired"] != 2 {
                assert!(Instant::now() < deadline, "the scale-up never came");
                std::thread::sleep(Duration::from_millis(100));
            }
            std::thread::sleep(Duration::from_millis(600));
            let status = std::process::Command::new(&python)
                .arg(&seed)
                .args([&url, "targets", &tg, "us-west-2", "1"])
                .status()
                .unwrap();
            assert!(status.success());
        })
    };
    let started = Instant::now();
    let (stdout, stderr, code) = run_plan(&to_two, &[]);
    registrar.join().unwrap();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "it waited for the target"
    );
    assert!(stdout.contains("call: application-autoscaling:RegisterScalableTarget service/prod/service1 min 2 max 4 (us-west-2)"), "{stdout}");
    assert!(
        stdout.contains("call: ecs:UpdateService prod/service1 desiredCount 2 (us-west-2)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("service1: us-west-2 ready: 2/2 tasks running, 2/2 targets healthy"),
        "{stdout}"
    );
    assert_eq!(
        west(),
        json!({"desired": 2, "running": 2, "min": 2, "max": 4})
    );

    // Twice the active region's tasks, with no target coming: the deadline fails the step.
    let (stdout, stderr, code) = run_plan(&plan(&arc, "2.0", "1s"), &[]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("service1: us-west-2 not ready within 1s: 4/4 tasks running, 2/2 targets healthy (wanted 4 running and healthy)"),
        "{stdout}"
    );
    assert_eq!(west()["min"], 4);
}
