//! HTTPS on the data plane and the config API (`ARC_LOCAL_TLS=1`): a client that trusts the CA
//! arc-local writes reaches every port; a client that does not trust it, or asks for a name the
//! certificate does not carry, is refused; plain HTTP gets no answer; a restart keeps the CA.

mod common;

use std::process::Command;

use common::tls::{https, roots_from};
use common::{arn, temp_dir, Emulator, BIN};
use serde_json::json;

const SIGNED: (&str, &str) = (
    "Authorization",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/route53-recovery-cluster/aws4_request, SignedHeaders=host, Signature=abc",
);

fn data_plane(op: &str) -> [(&'static str, String); 3] {
    [
        ("Content-Type", "application/x-amz-json-1.0".to_owned()),
        ("X-Amz-Target", format!("ToggleCustomerAPI.{op}")),
        (SIGNED.0, SIGNED.1.to_owned()),
    ]
}

fn headers<'a>(h: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    h.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn https_with_the_local_ca_is_trusted_and_refused_without_it() {
    let dir = temp_dir("tls");
    let tls_dir = dir.path().join("tls");
    let tls_dir_s = tls_dir.display().to_string();
    let mut emu = Emulator::start_with(
        &dir,
        None,
        &[
            ("ARC_LOCAL_TLS", "1"),
            ("ARC_LOCAL_TLS_DIR", &tls_dir_s),
            ("ARC_LOCAL_TLS_NAMES", "arc-local,arc.example.com"),
        ],
    );
    let ca = emu.tls_ca().expect("TLS on");
    let ca_pem = std::fs::read_to_string(&ca).unwrap();
    assert!(
        ca_pem.starts_with("-----BEGIN CERTIFICATE-----"),
        "{ca_pem}"
    );

    // Trusting the CA: every data-plane port answers over HTTPS, for each of its names.
    let list = data_plane("ListRoutingControls");
    for i in 0..5 {
        let r = https(
            emu.api_port + i,
            "127.0.0.1",
            ("POST", "/"),
            &headers(&list),
            b"{}",
            roots_from(&ca),
        )
        .unwrap_or_else(|e| panic!("endpoint {i}: {e}"));
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json()["RoutingControls"].as_array().unwrap().len(), 6);
    }
    let get = data_plane("GetRoutingControlState");
    let body = json!({"RoutingControlArn": arn("service1", "primary")}).to_string();
    for name in ["localhost", "arc-local", "arc.example.com"] {
        let r = https(
            emu.api_port,
            name,
            ("POST", "/"),
            &headers(&get),
            body.as_bytes(),
            roots_from(&ca),
        )
        .unwrap_or_else(|e| panic!("as {name}: {e}"));
        assert_eq!(r.json()["RoutingControlState"], "On", "{r:?}");
    }
    // The config API too, and its clusters name https:// endpoints.
    let r = https(
        emu.config_port,
        "127.0.0.1",
        ("GET", "/cluster"),
        &[("Authorization", common::CONFIG_AUTH)],
        b"",
        roots_from(&ca),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json()["Clusters"][0]["ClusterEndpoints"][0]["Endpoint"],
        format!("https://127.0.0.1:{}", emu.api_port).as_str()
    );

    // Not trusting it: refused during the handshake, with no roots or with the public CAs.
    let public = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for (what, roots) in [
        ("no roots", rustls::RootCertStore::empty()),
        ("the public CAs", public),
    ] {
        let e = https(
            emu.api_port,
            "127.0.0.1",
            ("POST", "/"),
            &headers(&list),
            b"{}",
            roots,
        )
        .expect_err(what);
        assert!(
            e.contains("UnknownIssuer") || e.contains("invalid peer certificate"),
            "{what}: {e}"
        );
    }
    // A name the certificate does not carry.
    let e = https(
        emu.api_port,
        "other.example.com",
        ("POST", "/"),
        &headers(&list),
        b"{}",
        roots_from(&ca),
    )
    .expect_err("a name not in the certificate");
    assert!(
        e.contains("NotValidForName") || e.contains("not valid for"),
        "{e}"
    );
    // Plain HTTP on a TLS port gets no HTTP answer.
    let plain = common::http(emu.api_port, "GET", "/health", &[], b"");
    assert!(plain.map_or(true, |r| r.status == 0), "plain HTTP answered");

    // The healthcheck subcommand speaks HTTPS when TLS is on.
    let hc = |tls: bool| {
        let mut cmd = Command::new(BIN);
        cmd.args(["healthcheck", "--api-port", &emu.api_port.to_string()])
            .env_remove("ARC_LOCAL_TLS")
            .env_remove("ARC_LOCAL_TLS_DIR");
        if tls {
            cmd.env("ARC_LOCAL_TLS", "1")
                .env("ARC_LOCAL_TLS_DIR", &tls_dir);
        }
        cmd.output().unwrap()
    };
    let out = hc(true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!hc(false).status.success());

    // A restart keeps the CA: clients given ca.pem keep trusting arc-local.
    assert!(emu.stop().success());
    emu.restart();
    assert_eq!(std::fs::read_to_string(&ca).unwrap(), ca_pem);
    let r = https(
        emu.api_port,
        "localhost",
        ("POST", "/"),
        &headers(&get),
        body.as_bytes(),
        roots_from(&ca),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn tls_needs_a_directory() {
    let out = Command::new(BIN)
        .args(["--tls", "--api-port", "1", "--dns-port", "1"])
        .env_remove("ARC_LOCAL_TLS_DIR")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--tls-dir"), "{stderr}");
}

#[test]
fn aws_cli_over_https_with_the_ca_bundle() {
    let Some(aws) = common::aws_cli("the AWS CLI HTTPS test") else {
        return;
    };
    let dir = temp_dir("tls-awscli");
    let tls_dir = dir.path().join("tls").display().to_string();
    let emu = Emulator::start_with(
        &dir,
        None,
        &[("ARC_LOCAL_TLS", "true"), ("ARC_LOCAL_TLS_DIR", &tls_dir)],
    );
    let ca = emu.tls_ca().unwrap().display().to_string();
    let run = |service: &str, endpoint: String, args: &[&str], bundle: bool| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", &endpoint]);
        if bundle {
            all.extend(["--ca-bundle", &ca]);
        }
        common::aws_command(&aws, dir.path(), service, &all)
            .output()
            .unwrap()
    };
    let config = format!("https://localhost:{}", emu.config_port);
    let out = run(
        "route53-recovery-control-config",
        config.clone(),
        &["list-clusters"],
        true,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = format!("https://127.0.0.1:{}", emu.api_port + 1);
    let out = run(
        "route53-recovery-cluster",
        data.clone(),
        &[
            "get-routing-control-state",
            "--routing-control-arn",
            &arn("service2", "primary"),
        ],
        true,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(state["RoutingControlState"], "On");
    // Without the CA bundle the CLI refuses the certificate.
    let out = run(
        "route53-recovery-control-config",
        config,
        &["list-clusters"],
        false,
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SSL") || stderr.contains("certificate"),
        "{stderr}"
    );
}
