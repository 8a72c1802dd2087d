//! Test helpers: start the real `arc-local` binary on free 127.0.0.1 ports with a temporary state
//! file, stop it with SIGTERM, and talk to it over real sockets (raw HTTP/1.1, HTTPS, raw DNS,
//! the AWS CLI).

#![allow(dead_code)]

pub mod tls;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_arc-local");

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "arc-local-test-{tag}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A pseudo-random number, different per call and per process.
fn random() -> u64 {
    static N: AtomicU32 = AtomicU32::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut x = t
        ^ ((std::process::id() as u64) << 32)
        ^ (N.fetch_add(1, Ordering::Relaxed) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 33)
}

/// Five consecutive free TCP ports, one port free for both UDP and TCP, and one more free TCP
/// port (the config API), on 127.0.0.1.
fn free_ports() -> (u16, u16, u16) {
    loop {
        let base = 20_000 + (random() % 40_000) as u16;
        let dns = 20_000 + (random() % 40_000) as u16;
        let config = 20_000 + (random() % 40_000) as u16;
        if (base..base + 5).contains(&dns) || (base..base + 5).contains(&config) || config == dns {
            continue;
        }
        let tcp_ok = (base..base + 5)
            .chain([dns, config])
            .all(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, p)).is_ok());
        if tcp_ok && UdpSocket::bind((Ipv4Addr::LOCALHOST, dns)).is_ok() {
            return (base, dns, config);
        }
    }
}

/// A running `arc-local serve`.
pub struct Emulator {
    child: Option<Child>,
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
            child: None,
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
        assert!(self.child.is_none(), "stop it first");
        for _attempt in 0..10 {
            let (api, dns, config) = free_ports();
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log)
                .unwrap();
            let mut cmd = Command::new(BIN);
            cmd.arg("serve")
                .arg("--api-port")
                .arg(api.to_string())
                .arg("--dns-port")
                .arg(dns.to_string())
                .arg("--config-port")
                .arg(config.to_string())
                .arg("--state")
                .arg(&self.state)
                .env_remove("ARC_LOCAL_TOPOLOGY")
                .env_remove("ARC_LOCAL_FAULTS")
                .env_remove("ARC_LOCAL_TTL")
                .env_remove("ARC_LOCAL_BIND")
                .env_remove("ARC_LOCAL_ENDPOINT_HOST")
                .env_remove("ARC_LOCAL_ACCOUNT_ID")
                .env_remove("ARC_LOCAL_DEPLOY_DELAY_MS")
                .env_remove("ARC_LOCAL_TLS")
                .env_remove("ARC_LOCAL_TLS_DIR")
                .env_remove("ARC_LOCAL_TLS_NAMES")
                .env("RUST_LOG", "info")
                .env("LOG_FORMAT", "json")
                .stdout(Stdio::from(log.try_clone().unwrap()))
                .stderr(Stdio::from(log));
            if let Some(t) = &self.topology {
                cmd.arg("--topology").arg(t);
            }
            for (k, v) in &self.extra_env {
                cmd.env(k, v);
            }
            let mut child = cmd.spawn().expect("start arc-local");
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    // Most likely a port taken between the check and the bind: try other ports.
                    eprintln!("arc-local exited during start ({status}); retrying on other ports");
                    break;
                }
                if self.healthy(api) {
                    self.api_port = api;
                    self.dns_port = dns;
                    self.config_port = config;
                    self.child = Some(child);
                    return;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!(
                        "arc-local did not become healthy; log:\n{}",
                        self.log_text()
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
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

    fn healthy(&self, api: u16) -> bool {
        match self.tls_ca() {
            None => get(api, "/health").map(|r| r.status) == Some(200),
            Some(ca) => {
                ca.exists()
                    && tls::https(
                        api,
                        "127.0.0.1",
                        ("GET", "/health"),
                        &[],
                        b"",
                        tls::roots_from(&ca),
                    )
                    .is_ok_and(|r| r.status == 200)
            }
        }
    }

    /// A signed request to the recovery-control-config API (plain HTTP).
    pub fn config(&self, method: &str, path: &str, body: Option<&Value>) -> HttpResponse {
        config_call(self.config_port, method, path, body)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGTERM, then waits for the exit.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("arc-local did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
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

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// The error code, checked to agree between the header and the body.
    pub fn error_type(&self) -> String {
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
    let mut stream = TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(&request_bytes(port, method, path, headers, body))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    Ok(parse_response(&raw))
}

/// The bytes of an HTTP/1.1 request with `Connection: close`.
pub fn request_bytes(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Parses a whole HTTP/1.1 answer (chunked bodies are decoded).
pub fn parse_response(raw: &[u8]) -> HttpResponse {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect::<Vec<_>>();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
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
    m.metadata.id = (random() & 0xffff) as u16;
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
    m
}
