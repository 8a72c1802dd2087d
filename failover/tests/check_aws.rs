//! `failover check`'s capacity check through the AWS SDK against moto's server on 127.0.0.1:
//! ECS `DescribeServices` and ELBv2 `DescribeTargetHealth` in each region, compared with the
//! active region's. Skipped, saying so, where no python has moto.

mod common;

use common::moto::Moto;
use common::regions::health_stub;
use common::*;
use recovery::{ClusterDocument, EcsService};
use serde_json::Value;

/// service1 alone, both regions answering this build's /health, with ECS blocks for `tgs`.
fn document(arc: &Cluster, tgs: &Value) -> ClusterDocument {
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
    doc
}

fn capacity_row(stdout: &str) -> (String, String) {
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().nth(3) == Some("capacity"))
        .unwrap_or_else(|| panic!("no capacity row:\n{stdout}"));
    let w: Vec<&str> = line.split_whitespace().collect();
    (w[4].to_owned(), w[5..].join(" "))
}

#[test]
fn capacity_is_read_from_ecs_and_elbv2_and_compared_with_the_active_region() {
    let Some(moto) = Moto::start() else { return };
    let tgs = moto.seed(&["create", "service1:us-east-1:2:2", "service1:us-west-2:0:0"]);
    let arc = Cluster::start();
    let doc = document(&arc, &tgs);
    let file = doc_file(&doc);
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let check = |json: bool| {
        let mut args = vec!["--cluster", file.path.as_str(), "check"];
        if json {
            args.push("--json");
        }
        text(&run_env(&args, None, &env))
    };

    // The standby has no task: the switch would fail.
    let (stdout, stderr, code) = check(false);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_eq!(
        capacity_row(&stdout),
        (
            "FAIL".into(),
            "0/0 tasks running, 0/0 targets healthy: no task running".into()
        )
    );

    // One task and one healthy target: ready, with a warning that it is below the active region.
    moto.seed(&["desired", "service1", "us-west-2", "1"]);
    moto.seed(&[
        "targets",
        tgs["service1:us-west-2"].as_str().unwrap(),
        "us-west-2",
        "1",
    ]);
    let (stdout, stderr, code) = check(false);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(
        capacity_row(&stdout),
        (
            "warn".into(),
            "1/1 tasks running, 1/1 targets healthy, below us-east-1 (2/2 tasks running, 2/2 targets healthy): a plan's scale step raises it".into()
        )
    );

    // As many as the active region: ok; the JSON carries both readings.
    moto.seed(&["desired", "service1", "us-west-2", "2"]);
    moto.seed(&[
        "targets",
        tgs["service1:us-west-2"].as_str().unwrap(),
        "us-west-2",
        "1",
    ]);
    let (stdout, stderr, code) = check(true);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let s = &v["standbys"][0];
    assert_eq!(s["checks"][3]["result"], "ok", "{s}");
    assert_eq!(
        s["target"]["capacity"],
        serde_json::json!({"desired": 2, "running": 2, "healthy_targets": 2, "targets": 2, "target_groups": 1})
    );
    assert_eq!(s["active"]["capacity"]["running"], 2);
}

#[test]
fn an_unknown_service_fails_naming_it() {
    let Some(moto) = Moto::start() else { return };
    let tgs = moto.seed(&["create", "service1:us-east-1:1:1", "service1:us-west-2:1:1"]);
    let arc = Cluster::start();
    let mut doc = document(&arc, &tgs);
    let west = doc
        .apps
        .get_mut("service1")
        .unwrap()
        .regions
        .get_mut("us-west-2")
        .unwrap();
    west.ecs.as_mut().unwrap().service = "service9".into();
    let file = doc_file(&doc);
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (stdout, stderr, code) = text(&run_env(&["--cluster", &file.path, "check"], None, &env));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let (result, detail) = capacity_row(&stdout);
    assert_eq!(result, "FAIL");
    assert_eq!(
        detail,
        "ECS service service9 not found in cluster prod (us-west-2)"
    );
    let (stdout, _, _) = text(&run_env(
        &["--cluster", &file.path, "check", "--json"],
        None,
        &env,
    ));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        v["standbys"][0]["target"]["capacity"]["error"],
        "ECS service service9 not found in cluster prod (us-west-2)"
    );
}
