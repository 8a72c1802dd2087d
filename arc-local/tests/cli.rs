//! The command line: bad values name the flag or variable and the value, `document` prints the
//! served cluster document, `healthcheck` reports by exit code, `--help` says signatures are not
//! verified, and a topology file's apps are served with default safety rules.

mod common;

use std::process::{Command, Output};

use common::{temp_dir, Emulator, BIN};

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for var in [
        "ARC_LOCAL_TOPOLOGY",
        "ARC_LOCAL_STATE",
        "ARC_LOCAL_BIND",
        "ARC_LOCAL_API_PORT",
        "ARC_LOCAL_DNS_PORT",
        "ARC_LOCAL_TTL",
        "ARC_LOCAL_FAULTS",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_values_name_the_flag_or_variable_and_the_value() {
    for (args, env, names, value) in [
        (&["--api-port", "abc"][..], &[][..], "--api-port", "abc"),
        (
            &[],
            &[("ARC_LOCAL_API_PORT", "70000")][..],
            "ARC_LOCAL_API_PORT",
            "70000",
        ),
        (&["--api-port", "65533"], &[], "--api-port", "65533"),
        (
            &[],
            &[("ARC_LOCAL_DNS_PORT", "0")],
            "ARC_LOCAL_DNS_PORT",
            "'0'",
        ),
        (&[], &[("ARC_LOCAL_TTL", "soon")], "ARC_LOCAL_TTL", "soon"),
        (&["--ttl=-1"], &[], "--ttl", "-1"),
        (
            &[],
            &[("ARC_LOCAL_BIND", "localhost")],
            "ARC_LOCAL_BIND",
            "localhost",
        ),
        (&["--faults", "us-east-1=sleepy"], &[], "--faults", "sleepy"),
        (
            &[],
            &[("ARC_LOCAL_FAULTS", "moon=unavailable")],
            "ARC_LOCAL_FAULTS",
            "moon",
        ),
    ] {
        let out = run(args, env);
        let err = stderr(&out);
        assert!(!out.status.success(), "{args:?} {env:?} should fail");
        assert!(
            err.contains(names) && err.contains(value),
            "{args:?} {env:?}: {err}"
        );
    }
}

#[test]
fn bad_topology_files_are_reported_with_their_path() {
    let dir = temp_dir("cli-topology");
    let missing = dir.path().join("missing.json");
    let out = run(&["--topology", missing.to_str().unwrap(), "document"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("missing.json"), "{}", stderr(&out));

    let bad = dir.path().join("bad.json");
    let mut doc = recovery::local::default_document("127.0.0.1", 8600);
    if let recovery::SafetyRule::Assertion {
        asserted_controls, ..
    } = &mut doc.apps.get_mut("service2").unwrap().safety_rules[0]
    {
        asserted_controls[0] =
            "arn:aws:route53-recovery-control::000000000000:controlpanel/x/routingcontrol/y".into();
    }
    std::fs::write(&bad, serde_json::to_string(&doc).unwrap()).unwrap();
    let out = run(
        &["document"],
        &[("ARC_LOCAL_TOPOLOGY", bad.to_str().unwrap())],
    );
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("bad.json")
            && err.contains("apps.service2.safety_rules[0].asserted_controls[0]"),
        "{err}"
    );
}

#[test]
fn document_prints_the_served_topology() {
    let out = run(
        &["document", "--api-host", "arc-local", "--api-port", "9100"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = recovery::ClusterDocument::parse(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let urls: Vec<&str> = doc.endpoints.iter().map(|e| e.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "http://arc-local:9100",
            "http://arc-local:9101",
            "http://arc-local:9102",
            "http://arc-local:9103",
            "http://arc-local:9104"
        ]
    );
    assert_eq!(doc.apps.len(), 3);
    assert_eq!(doc.apps["service1"].safety_rules.len(), 1);

    // Default host 127.0.0.1 and port 8600; a topology file's apps, with the default rule added.
    let dir = temp_dir("cli-document");
    let mut file_doc = recovery::local::default_document("10.1.2.3", 1234);
    for app in file_doc.apps.values_mut() {
        app.safety_rules.clear();
    }
    file_doc.apps.remove("service2");
    let path = dir.path().join("topology.json");
    // As `terraform output -json` prints it: a JSON string holding the document.
    std::fs::write(
        &path,
        serde_json::to_string(&serde_json::to_string(&file_doc).unwrap()).unwrap(),
    )
    .unwrap();
    let out = run(&["--topology", path.to_str().unwrap(), "document"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = recovery::ClusterDocument::parse(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert_eq!(doc.endpoints[0].url, "http://127.0.0.1:8600");
    assert_eq!(doc.apps.len(), 2);
    assert_eq!(
        doc.apps["external-api"].safety_rules[0].name(),
        "external-api-at-least-one-on"
    );
}

#[test]
fn healthcheck_reports_by_exit_code() {
    let dir = temp_dir("cli-health");
    let mut emu = Emulator::start(&dir);
    let port = emu.api_port.to_string();
    let out = run(&["healthcheck"], &[("ARC_LOCAL_API_PORT", &port)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["healthcheck", "--api-port", &port], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(emu.stop().success());
    let out = run(&["healthcheck", "--api-port", &port], &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("healthcheck failed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_says_signatures_are_not_verified() {
    let out = run(&["--help"], &[]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("signatures are NOT verified"), "{help}");
    for option in [
        "ARC_LOCAL_TOPOLOGY",
        "ARC_LOCAL_STATE",
        "ARC_LOCAL_BIND",
        "ARC_LOCAL_API_PORT",
        "ARC_LOCAL_DNS_PORT",
        "ARC_LOCAL_TTL",
    ] {
        assert!(help.contains(option), "{option} in --help");
    }
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = temp_dir("cli-port");
    let state = dir.path().join("s.json");
    // The API ports start at the taken port.
    let out = run(
        &[
            "--api-port",
            &port.to_string(),
            "--dns-port",
            "1",
            "--state",
            state.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && err.contains("--api-port"),
        "{err}"
    );
}

/// The workspace root (the parent of this package).
fn workspace() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The compose stack gives arc-local `compose/cluster.json` (the default topology with container
/// names as regional URLs, which the gateways and the failover container read too), since the
/// built-in default serves loopback addresses. Its endpoints are HTTPS (compose runs arc-local
/// with TLS). The file is what arc-local serves from it, as scripts/drill.sh checks.
#[test]
fn compose_serves_its_cluster_document_the_default_with_container_urls() {
    let root = workspace();
    let file = root.join("compose/cluster.json");
    let text = std::fs::read_to_string(&file).unwrap();
    let doc = recovery::ClusterDocument::parse(&text).unwrap();

    let mut expected = recovery::local::default_document("arc-local", 8600);
    for e in expected.endpoints.iter_mut() {
        e.url = e.url.replacen("http://", "https://", 1);
    }
    for (app, entry) in expected.apps.iter_mut() {
        let service = if app == "external-api" {
            "gateway"
        } else {
            app
        };
        for (region, r) in entry.regions.iter_mut() {
            r.url = format!("http://{service}-{region}:8080");
        }
    }
    assert_eq!(
        doc, expected,
        "compose/cluster.json drifted from the default topology"
    );

    let out = run(
        &[
            "--tls",
            "--topology",
            file.to_str().unwrap(),
            "document",
            "--api-host",
            "arc-local",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), text);

    let compose = std::fs::read_to_string(root.join("compose.yaml")).unwrap();
    for line in [
        "ARC_LOCAL_TOPOLOGY: /etc/arc/cluster.json",
        "- ./compose/cluster.json:/etc/arc/cluster.json:ro",
        "ARC_LOCAL_TLS: \"1\"",
        "ARC_CA_FILE: /arc/tls/ca.pem",
    ] {
        assert!(compose.contains(line), "compose.yaml lacks {line:?}");
    }
}

/// `cargo run -p arc-local` (from the workspace root or the package directory) writes
/// `arc-local-state.json` in the current directory, and a temporary copy beside it while writing;
/// git ignores both.
#[test]
fn the_default_state_file_is_ignored_by_git() {
    let root = workspace();
    let inside = Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["rev-parse", "--is-inside-work-tree"])
        .output();
    if !inside.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: {} is not a git work tree", root.display());
        return;
    }
    for path in [
        "arc-local-state.json",
        ".arc-local-state.json.tmp-4242",
        "arc-local/arc-local-state.json",
    ] {
        let status = Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(["check-ignore", "-q", "--no-index", path])
            .status()
            .unwrap();
        assert!(status.success(), "git does not ignore {path}");
    }
}
