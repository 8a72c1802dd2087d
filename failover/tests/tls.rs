//! `failover` against arc-local over HTTPS, as against ARC in AWS: the certificate is verified
//! with the bundled roots plus `--ca-file`, never the operating system's store (the images are
//! `FROM scratch` and have none).

mod common;

use common::*;

#[test]
fn https_endpoints_are_verified_with_the_extra_ca_and_no_os_store() {
    let arc = Cluster::start_tls();
    let ca = arc.ca_file.clone().expect("TLS is on");
    // No operating-system trust store anywhere: the answer must not depend on one.
    let no_os_store = |cmd: &mut std::process::Command| {
        cmd.env("SSL_CERT_FILE", "/nonexistent/ca-certificates.crt")
            .env("SSL_CERT_DIR", "/nonexistent/certs");
    };

    let mut cmd = failover();
    no_os_store(&mut cmd);
    let out = cmd
        .args([
            "--cluster",
            &arc.doc_file,
            "--ca-file",
            &ca,
            "status",
            "--json",
        ])
        .output()
        .unwrap();
    let (stdout, stderr, code) = text(&out);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let status: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(status.to_string().contains("us-east-1"), "{stdout}");

    let mut cmd = failover();
    no_os_store(&mut cmd);
    let out = cmd
        .args(["--cluster", &arc.doc_file, "--ca-file", &ca])
        .args(["activate", "service2", "us-west-2"])
        .output()
        .unwrap();
    let (stdout, stderr, code) = text(&out);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let secondary = recovery::local::control_arn("service2", "service2-secondary-rc");
    assert_eq!(arc.state_of(&secondary), recovery::ControlState::On);
    let before = arc.emulator().calls().len();

    // Without the CA the server is not trusted: no endpoint answers, nothing changes.
    let out = failover()
        .env_remove("ARC_CA_FILE")
        .args(["--cluster", &arc.doc_file, "--timeout", "1s", "status"])
        .output()
        .unwrap();
    let (stdout, stderr, code) = text(&out);
    assert_ne!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("no cluster endpoint answered"), "{stderr}");
    assert!(
        stderr.contains("not signed by the bundled roots") && stderr.contains("ARC_CA_FILE"),
        "the hint names the missing CA: {stderr}"
    );
    assert_eq!(
        arc.emulator().calls().len(),
        before,
        "no request got past the handshake"
    );
}

#[test]
fn tls_failures_name_https_and_the_ca_not_a_stopped_arc_local() {
    let arc = Cluster::start_tls();
    // Plain HTTP to arc-local's HTTPS port (the default topology without ARC_CA_FILE).
    let doc = std::fs::read_to_string(&arc.doc_file).unwrap();
    assert!(doc.contains("https://"), "{doc}");
    let http_doc = write_temp(&doc.replace("https://", "http://"));
    let out = failover()
        .env_remove("ARC_CA_FILE")
        .args(["--cluster", &http_doc.path, "--timeout", "1s", "status"])
        .output()
        .unwrap();
    let (stdout, stderr, code) = text(&out);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("it speaks HTTPS") && stderr.contains("ARC_CA_FILE"),
        "{stderr}"
    );
    assert!(!stderr.contains("is arc-local running?"), "{stderr}");

    // A CA from an earlier arc-local (before `docker compose down -v` made a new one).
    let other = Cluster::start_tls();
    let stale = other.ca_file.clone().unwrap();
    let out = failover()
        .args(["--cluster", &arc.doc_file, "--ca-file", &stale])
        .args(["--timeout", "1s", "status"])
        .output()
        .unwrap();
    let (stdout, stderr, code) = text(&out);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("re-copy it") && stderr.contains("ARC_CA_FILE"),
        "{stderr}"
    );
    assert!(!stderr.contains("is arc-local running?"), "{stderr}");
}

#[test]
fn a_bad_ca_file_is_refused_naming_it() {
    let ca = write_temp("not a certificate");
    let file = &ca.path;
    let out = failover()
        .args(["--ca-file", file, "status"])
        .output()
        .unwrap();
    let (_, stderr, code) = text(&out);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--ca-file") && stderr.contains(file.as_str()),
        "{stderr}"
    );
}
