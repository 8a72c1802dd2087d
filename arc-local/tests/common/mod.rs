//! Test helpers: start the real `arc-local` binary on free 127.0.0.1 ports with a temporary state
//! file, stop it with SIGTERM, and talk to it over real sockets (raw HTTP/1.1, HTTPS, raw DNS,
//! the AWS CLI). Processes, ports, raw HTTP and temporary directories come from testkit.

#![allow(dead_code)]

pub mod tls;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};
use serde_json::Value;
use testkit::ports::{free_port, free_range, free_tcp_udp_port};
use testkit::process::{Output, Process, Spawn, StartFailure};

pub use testkit::http::Response as HttpResponse;
pub use testkit::temp::{dir as temp_dir, TempDir};

pub const BIN: &str = env!("CARGO_BIN_EXE_arc-local");

/// Five consecutive free TCP ports, one port free for both UDP and TCP, and one more free TCP
/// port (the config API), on 127.0.0.1.
fn free_ports() -> (u16, u16, u16) {
    loop {
        let base = free_range(5);
        let dns = free_tcp_udp_port();
        let config = free_port();
        let api = base..base + 5;
        if !api.contains(&dns) && !api.contains(&config) && config != dns {
            return (base, dns, config);
        }
    }
}

/// A running `arc-local serve`.
pub struct Emulator {
    process: Option<Process>,
    pub api_port: u16,
    pub dns_port: u16,
    /// The recovery-control-config API.
    pub config_port: u16,
    pub state: PathBuf,
    pub log: PathBuf,
    pub topology: Option<PathBuf>,
    pub extra_env: Vec<(String, String)>,
}

impl Emulator {
    /// Starts with the default topology and a fresh state file in `dir`.
    pub fn start(dir: &TempDir) -> Emulator {
        Emulator::start_with(dir, None, &[])
    }

    /// Starts with an optional topology file and extra environment (ARC_LOCAL_* etc.).
    pub fn start_with(dir: &TempDir, topology: Option<&Path>, env: &[(&str, &str)]) -> Emulator {
        let mut emu = Emulator {
            process: None,
            api_port: 0,
            dns_port: 0,
            config_port: 0,
            state: dir.path().join("state.json"),
            log: dir.path().join("arc-local.log"),
            topology: topology.map(Path::to_path_buf),
            extra_env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        emu.restart();
        emu
    }

    /// (Re)starts the process on fresh free ports with the same state file and options.
    pub fn restart(&mut self) {
        assert!(self.process.is_none(), "stop it first");
        for _attempt in 0..10 {
            let (api, dns, config) = free_ports();
            let ca = self.tls_ca();
            let mut spawn = Spawn::new(BIN)
                .arg("serve")
                .args(["--api-port", &api.to_string()])
                .args(["--dns-port", &dns.to_string()])
                .args(["--config-port", &config.to_string()])
                .arg("--state")
                .arg(&self.state);
            for var in [
                "ARC_LOCAL_TOPOLOGY",
                "ARC_LOCAL_FAULTS",
                "ARC_LOCAL_TTL",
                "ARC_LOCAL_BIND",
                "ARC_LOCAL_ENDPOINT_HOST",
                "ARC_LOCAL_ACCOUNT_ID",
                "ARC_LOCAL_DEPLOY_DELAY_MS",
                "ARC_LOCAL_TLS",
                "ARC_LOCAL_TLS_DIR",
                "ARC_LOCAL_TLS_NAMES",
            ] {
                spawn = spawn.env_remove(var);
            }
            spawn = spawn
                .env("RUST_LOG", "info")
                .env("LOG_FORMAT", "json")
                .stdout(Output::File(self.log.clone()))
                .stderr(Output::File(self.log.clone()))
                .ready_when(move || healthy(api, ca.as_deref()))
                .start_timeout(Duration::from_secs(15));
            if let Some(t) = &self.topology {
                spawn = spawn.arg("--topology").arg(t);
            }
            match spawn.envs(self.extra_env.clone()).start() {
                Ok(process) => {
                    self.api_port = api;
                    self.dns_port = dns;
                    self.config_port = config;
                    self.process = Some(process);
                    return;
                }
                // Most likely a port taken between the check and the bind: try other ports.
                Err(e) if matches!(e.failure, StartFailure::Exited(_)) => {
                    eprintln!("arc-local exited during start; retrying on other ports: {e}");
                }
                Err(e) => panic!("arc-local did not become healthy: {e}"),
            }
        }
        panic!("arc-local could not start; log:\n{}", self.log_text());
    }

    /// The CA certificate file when the emulator runs with TLS (ARC_LOCAL_TLS_DIR in its env).
    pub fn tls_ca(&self) -> Option<PathBuf> {
        let on = self
            .extra_env
            .iter()
            .any(|(k, v)| k == "ARC_LOCAL_TLS" && v != "0" && v != "false");
        let dir = self
            .extra_env
            .iter()
            .find(|(k, _)| k == "ARC_LOCAL_TLS_DIR")
            .map(|(_, v)| PathBuf::from(v));
        dir.filter(|_| on).map(|d| d.join("ca.pem"))
    }

    /// A signed request to the recovery-control-config API (plain HTTP).
    pub fn config(&self, method: &str, path: &str, body: Option<&Value>) -> HttpResponse {
        config_call(self.config_port, method, path, body)
    }

    pub fn pid(&self) -> u32 {
        self.process.as_ref().expect("running").id()
    }

    /// SIGTERM, then waits for the exit.
    pub fn stop(&mut self) -> ExitStatus {
        let mut process = self.process.take().expect("running");
        process
            .stop(Duration::from_secs(15))
            .unwrap_or_else(|e| panic!("arc-local did not stop on SIGTERM: {e}"))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log's JSON lines.
    pub fn log_lines(&self) -> Vec<Value> {
        self.log_text()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The five endpoints, as a cluster document lists them.
    pub fn endpoints(&self) -> Vec<recovery::Endpoint> {
        recovery::local::ENDPOINT_REGIONS
            .iter()
            .enumerate()
            .map(|(i, region)| recovery::Endpoint {
                region: region.to_string(),
                url: format!("http://127.0.0.1:{}", self.api_port + i as u16),
            })
            .collect()
    }

    /// A signed-looking data-plane call on endpoint `i`.
    pub fn call_on(&self, i: u16, op: &str, body: &str) -> HttpResponse {
        call(self.api_port + i, op, body)
    }

    pub fn call(&self, op: &str, body: &str) -> HttpResponse {
        self.call_on(0, op, body)
    }

    pub fn state_file(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(&self.state).unwrap()).unwrap()
    }

    /// The state of `arn` in the state file.
    pub fn state_in_file(&self, arn: &str) -> String {
        self.state_file()["controls"][arn]["state"]
            .as_str()
            .unwrap_or_else(|| panic!("{arn} not in the state file"))
            .to_owned()
    }
}

/// Whether arc-local answers `GET /health` with 200 on `api`: over HTTPS trusting `ca` when given
/// (once arc-local has written it), else plain HTTP.
fn healthy(api: u16, ca: Option<&Path>) -> bool {
    match ca {
        None => get(api, "/health").map(|r| r.status) == Some(200),
        Some(ca) => {
            ca.exists()
                && tls::https(
                    api,
                    "127.0.0.1",
                    ("GET", "/health"),
                    &[],
                    b"",
                    tls::roots_from(ca),
                )
                .is_ok_and(|r| r.status == 200)
        }
    }
}

/// The error code of an AWS error answer.
pub trait ErrorType {
    /// The error code, checked to agree between the `x-amzn-errortype` header and the body's
    /// `__type`.
    fn error_type(&self) -> String;
}

impl ErrorType for HttpResponse {
    fn error_type(&self) -> String {
        let header = self
            .header("x-amzn-errortype")
            .expect("x-amzn-errortype")
            .to_owned();
        assert_eq!(self.json()["__type"], header.as_str(), "{self:?}");
        header
    }
}

/// One HTTP/1.1 exchange over a fresh connection (`Connection: close`).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    testkit::http::exchange(
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        &request_bytes(port, method, path, headers, body),
        Duration::from_secs(10),
    )
}

/// The bytes of an HTTP/1.1 request to 127.0.0.1:`port` with `Connection: close`.
pub fn request_bytes(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let host = format!("127.0.0.1:{port}");
    let length = body.len().to_string();
    let mut all = vec![
        ("Host", host.as_str()),
        ("Connection", "close"),
        ("Content-Length", length.as_str()),
    ];
    all.extend_from_slice(headers);
    testkit::http::request(method, path, &all, body)
}

pub fn get(port: u16, path: &str) -> Option<HttpResponse> {
    http(port, "GET", path, &[], b"").ok()
}

/// A data-plane call as the SDKs send it (any signature is accepted).
pub fn call(port: u16, op: &str, body: &str) -> HttpResponse {
    let target = format!("ToggleCustomerAPI.{op}");
    http(
        port,
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", &target),
            ("X-Amz-Date", "20260101T000000Z"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-west-2/route53-recovery-cluster/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000",
            ),
        ],
        body.as_bytes(),
    )
    .expect("HTTP exchange")
}

/// The SigV4-looking Authorization header of the config API (any signature is accepted).
pub const CONFIG_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-west-2/route53-recovery-control-config/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000";

/// A request to the recovery-control-config API as the SDKs send it.
pub fn config_call(port: u16, method: &str, path: &str, body: Option<&Value>) -> HttpResponse {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    http(
        port,
        method,
        path,
        &[
            ("Content-Type", "application/json"),
            ("X-Amz-Date", "20260101T000000Z"),
            ("Authorization", CONFIG_AUTH),
        ],
        body.as_bytes(),
    )
    .expect("HTTP exchange")
}

/// Percent-encodes an ARN for a path segment, as the SDKs do (`:` and `/` too).
pub fn encode(arn: &str) -> String {
    arn.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A working `aws` on PATH, or `None` after printing why the caller skips.
pub fn aws_cli(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let Some(aws) = std::env::split_paths(&path)
        .map(|dir| dir.join("aws"))
        .find(|p| p.is_file())
    else {
        println!("NOTE: skipping {test}: no `aws` on PATH (pip install awscli)");
        return None;
    };
    let broken = match Command::new(&aws).arg("--version").output() {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .to_owned(),
        ),
        Err(e) => Some(e.to_string()),
    };
    if let Some(why) = broken {
        println!(
            "NOTE: skipping {test}: {} --version fails ({why}); reinstall it with pip install awscli",
            aws.display()
        );
        return None;
    }
    Some(aws)
}

/// `aws <service> <args>` with dummy credentials and no user configuration.
pub fn aws_command(aws: &Path, home: &Path, service: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(aws);
    cmd.arg(service)
        .args(args)
        .args(["--output", "json"])
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_CA_BUNDLE")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        )
        .env("AWS_DEFAULT_REGION", "us-west-2")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .env("AWS_PAGER", "")
        .env("AWS_MAX_ATTEMPTS", "1");
    cmd
}

/// The ARN of a default-topology control (`role`: primary or secondary).
pub fn arn(app: &str, role: &str) -> String {
    recovery::local::control_arn(app, &format!("{app}-{role}-rc"))
}

/// A DNS query over UDP.
pub fn dns_udp(port: u16, name: &str, kind: RecordType) -> Message {
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let query = dns_message(name, kind);
    sock.send_to(&query.to_vec().unwrap(), (Ipv4Addr::LOCALHOST, port))
        .unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = sock.recv_from(&mut buf).expect("DNS answer over UDP");
    let answer = Message::from_vec(&buf[..n]).unwrap();
    assert_eq!(answer.metadata.id, query.metadata.id);
    answer
}

/// A DNS query over TCP (two-byte length prefix).
pub fn dns_tcp(port: u16, name: &str, kind: RecordType) -> Message {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let query = dns_message(name, kind).to_vec().unwrap();
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    stream.write_all(&framed).unwrap();
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).unwrap();
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut buf).unwrap();
    Message::from_vec(&buf).unwrap()
}

fn dns_message(name: &str, kind: RecordType) -> Message {
    let mut m = Message::query();
    m.metadata.id = testkit::fastrand::u16(..);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
    m
}
