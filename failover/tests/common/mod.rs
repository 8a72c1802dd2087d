//! Test fixtures: a fake Route 53 ARC data plane speaking awsJson1_0, a fake external API for
//! `probe`, and helpers to run the real `failover` binary against them. Everything listens on
//! 127.0.0.1 with an OS-assigned port.

#![allow(dead_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::Router;
use recovery::{ClusterDocument, ControlState, Endpoint};
use serde_json::{json, Value};

/// Serves `router` on 127.0.0.1 from a background thread; returns its address.
pub fn serve(router: Router) -> SocketAddr {
    serve_counting(router).0
}

/// Like [`serve`], and counts accepted TCP connections.
pub fn serve_counting(router: Router) -> (SocketAddr, Arc<AtomicUsize>) {
    use axum::serve::ListenerExt as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)
                .unwrap()
                .tap_io(move |_| {
                    counter.fetch_add(1, Ordering::SeqCst);
                });
            axum::serve(listener, router).await.unwrap();
        });
    });
    (addr, accepted)
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------------
// Fake ARC data plane

#[derive(Clone, Debug)]
pub struct Control {
    pub arn: String,
    pub name: String,
    pub panel_arn: String,
    pub panel_name: String,
    pub state: ControlState,
}

/// A safety rule the fake enforces by refusing every update that does not override it.
#[derive(Clone, Debug)]
pub struct Block {
    pub rule_arn: String,
    pub message: String,
}

#[derive(Default)]
pub struct ArcState {
    pub controls: Vec<Control>,
    /// Every call: (operation from X-Amz-Target, JSON body).
    pub calls: Vec<(String, Value)>,
    pub block: Option<Block>,
    /// Refuse ListRoutingControls with AccessDeniedException (an IAM policy allowing updates only).
    pub deny_list: bool,
}

pub struct FakeArc {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<ArcState>>,
}

impl FakeArc {
    /// A fake cluster holding every control of `doc`, with the states given by `state_of`.
    pub fn start(doc: &ClusterDocument, state_of: impl Fn(&str, &str) -> ControlState) -> FakeArc {
        let mut controls = Vec::new();
        for (app_name, app) in &doc.apps {
            for (region, entry) in &app.regions {
                controls.push(Control {
                    arn: entry.routing_control_arn.clone(),
                    name: entry.routing_control_name.clone(),
                    panel_arn: app.control_panel_arn.clone(),
                    panel_name: app.control_panel_name.clone(),
                    state: state_of(app_name, region),
                });
            }
        }
        let state = Arc::new(Mutex::new(ArcState {
            controls,
            ..ArcState::default()
        }));
        let router = Router::new()
            .route("/", post(arc_handler))
            .with_state(state.clone());
        FakeArc {
            addr: serve(router),
            state,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn calls(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().calls.clone()
    }

    pub fn calls_of(&self, op: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|(o, _)| o == op)
            .map(|(_, b)| b)
            .collect()
    }

    pub fn block(&self, rule_arn: &str, message: &str) {
        self.state.lock().unwrap().block = Some(Block {
            rule_arn: rule_arn.into(),
            message: message.into(),
        });
    }

    pub fn state_of(&self, arn: &str) -> ControlState {
        self.state
            .lock()
            .unwrap()
            .controls
            .iter()
            .find(|c| c.arn == arn)
            .map(|c| c.state)
            .expect("known control")
    }
}

fn aws_json(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/x-amz-json-1.0")],
        body.to_string(),
    )
        .into_response()
}

fn aws_error(status: StatusCode, code: &str, message: &str, extra: Value) -> Response {
    let mut body = json!({"__type": code, "message": message});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let mut resp = aws_json(status, body);
    resp.headers_mut()
        .insert("x-amzn-errortype", code.parse().unwrap());
    resp
}

fn control_json(c: &Control) -> Value {
    json!({
        "ControlPanelArn": c.panel_arn,
        "ControlPanelName": c.panel_name,
        "RoutingControlArn": c.arn,
        "RoutingControlName": c.name,
        "RoutingControlState": c.state.as_str(),
        "Owner": "000000000000",
    })
}

async fn arc_handler(
    State(state): State<Arc<Mutex<ArcState>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(op) = target.strip_prefix("ToggleCustomerAPI.") else {
        return aws_error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            target,
            json!({}),
        );
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut st = state.lock().unwrap();
    st.calls.push((op.to_owned(), body.clone()));
    match op {
        "ListRoutingControls" if st.deny_list => aws_error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "not authorized to perform route53-recovery-cluster:ListRoutingControls",
            json!({}),
        ),
        "ListRoutingControls" => {
            let panel = body.get("ControlPanelArn").and_then(Value::as_str);
            let listed: Vec<Value> = st
                .controls
                .iter()
                .filter(|c| panel.is_none_or(|p| c.panel_arn == p))
                .map(control_json)
                .collect();
            // One control per page, to exercise NextToken.
            let start: usize = body
                .get("NextToken")
                .and_then(Value::as_str)
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let mut out = json!({"RoutingControls": listed.get(start..(start + 1).min(listed.len())).unwrap_or_default()});
            if start + 1 < listed.len() {
                out["NextToken"] = json!((start + 1).to_string());
            }
            aws_json(StatusCode::OK, out)
        }
        "GetRoutingControlState" => {
            let arn = body["RoutingControlArn"].as_str().unwrap_or("");
            match st.controls.iter().find(|c| c.arn == arn) {
                Some(c) => aws_json(
                    StatusCode::OK,
                    json!({"RoutingControlArn": c.arn, "RoutingControlState": c.state.as_str(), "RoutingControlName": c.name}),
                ),
                None => aws_error(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFoundException",
                    "no such routing control",
                    json!({"resourceId": arn, "resourceType": "RoutingControl"}),
                ),
            }
        }
        "UpdateRoutingControlStates" | "UpdateRoutingControlState" => {
            let entries: Vec<(String, String)> = if op == "UpdateRoutingControlState" {
                vec![(
                    body["RoutingControlArn"].as_str().unwrap_or("").to_owned(),
                    body["RoutingControlState"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                )]
            } else {
                body["UpdateRoutingControlStateEntries"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|e| {
                        (
                            e["RoutingControlArn"].as_str().unwrap_or("").to_owned(),
                            e["RoutingControlState"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            };
            let overrides: Vec<&str> = body["SafetyRulesToOverride"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(block) = &st.block {
                if !overrides.contains(&block.rule_arn.as_str()) {
                    return aws_error(
                        StatusCode::CONFLICT,
                        "ConflictException",
                        &block.message,
                        json!({"resourceId": block.rule_arn, "resourceType": "SafetyRule"}),
                    );
                }
            }
            for (arn, state) in &entries {
                let Ok(state) = state.parse::<ControlState>() else {
                    return aws_error(
                        StatusCode::BAD_REQUEST,
                        "ValidationException",
                        "bad state",
                        json!({}),
                    );
                };
                match st.controls.iter_mut().find(|c| &c.arn == arn) {
                    Some(c) => c.state = state,
                    None => {
                        return aws_error(
                            StatusCode::NOT_FOUND,
                            "ResourceNotFoundException",
                            "no such routing control",
                            json!({"resourceId": arn, "resourceType": "RoutingControl"}),
                        )
                    }
                }
            }
            aws_json(StatusCode::OK, json!({}))
        }
        other => aws_error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            other,
            json!({}),
        ),
    }
}

/// service1's routing controls and safety rule in the default topology.
pub const PRIMARY_RC: &str =
    "arn:aws:route53-recovery-control::000000000000:controlpanel/service1/routingcontrol/service1-primary-rc";
pub const SECONDARY_RC: &str =
    "arn:aws:route53-recovery-control::000000000000:controlpanel/service1/routingcontrol/service1-secondary-rc";
pub const RULE_ARN: &str =
    "arn:aws:route53-recovery-control::000000000000:controlpanel/service1/safetyrule/service1-at-least-one-on";

/// The default topology with one endpoint: `url`.
pub fn document_at(url: &str) -> ClusterDocument {
    let mut doc = recovery::local::default_document("127.0.0.1", 8600);
    doc.endpoints = vec![Endpoint {
        region: "us-east-1".into(),
        url: url.into(),
    }];
    doc
}

/// The entries of the one `UpdateRoutingControlStates` call the fake received (there must be
/// exactly one).
pub fn only_update_entries(arc: &FakeArc) -> Value {
    let updates = arc.calls_of("UpdateRoutingControlStates");
    assert_eq!(updates.len(), 1, "exactly one update call: {updates:?}");
    updates[0]["UpdateRoutingControlStateEntries"].clone()
}

/// The line of `stdout` that starts with `label` (e.g. `before:`).
pub fn line_of<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} line:\n{stdout}"))
}

static FILES: AtomicUsize = AtomicUsize::new(0);

/// Writes `text` to a fresh file under the temp dir and returns its path.
pub fn write_temp(text: &str) -> String {
    let path = std::env::temp_dir().join(format!(
        "failover-test-{}-{}.json",
        std::process::id(),
        FILES.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Writes `doc` to a temp file and returns its path.
pub fn doc_file(doc: &ClusterDocument) -> String {
    write_temp(&serde_json::to_string_pretty(doc).unwrap())
}

// ---------------------------------------------------------------------------------------------
// Running the binary

pub fn failover() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_failover"));
    cmd.env_remove("FAILOVER_CLUSTER")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        );
    cmd
}

/// Runs `failover args...` with `stdin` and returns its output.
pub fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = failover();
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run failover");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).unwrap();
    }
    drop(pipe);
    // Read the pipes on threads so a chatty child cannot block, and bound the run: a command
    // that does not stop fails the test instead of hanging it.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut b).map(|_| b)
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut b).map(|_| b)
    });
    let deadline = std::time::Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("failover {args:?} did not finish within {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().unwrap().unwrap(),
        stderr: err.join().unwrap().unwrap(),
    }
}

/// How long one run of the binary may take in a test.
pub const RUN_LIMIT: Duration = Duration::from_secs(30);

pub fn text(out: &Output) -> (String, String, i32) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

// ---------------------------------------------------------------------------------------------
// Fake external API for probe

/// How the fake answers one request.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub gateway: Option<&'static str>,
    pub service: Option<&'static str>,
    pub delay: Duration,
    /// Whether the region headers are sent (the original pattern sent only the body).
    pub headers: bool,
}

impl Reply {
    pub fn ok(gateway: &'static str, service: Option<&'static str>) -> Reply {
        Reply {
            status: 200,
            gateway: Some(gateway),
            service,
            delay: Duration::ZERO,
            headers: true,
        }
    }
}

/// Decides the reply from the path and how many requests that path has had (1 for the first).
pub type Script = Arc<dyn Fn(&str, usize) -> Reply + Send + Sync>;

#[derive(Clone)]
struct ApiState {
    script: Script,
    counts: Arc<Mutex<std::collections::HashMap<String, usize>>>,
}

async fn api_handler(State(st): State<ApiState>, uri: axum::http::Uri) -> Response {
    let path = uri.path().to_owned();
    let n = {
        let mut counts = st.counts.lock().unwrap();
        let n = counts.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let reply = (st.script)(&path, n);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let service = match path.as_str() {
        "/" => "external-api",
        p => p.trim_start_matches('/'),
    };
    let region = reply.service.or(reply.gateway).unwrap_or("unknown");
    let status = StatusCode::from_u16(reply.status).unwrap();
    let body = if status.is_success() {
        bootstrap::identity_body(service, region)
    } else {
        format!("{status}")
    };
    let mut resp = (status, body).into_response();
    if !reply.headers {
        return resp;
    }
    if let Some(g) = reply.gateway {
        resp.headers_mut()
            .insert(bootstrap::GATEWAY_REGION_HEADER, g.parse().unwrap());
    }
    if let Some(s) = reply.service {
        resp.headers_mut()
            .insert(bootstrap::SERVICE_REGION_HEADER, s.parse().unwrap());
    }
    resp
}

/// A fake external API and the TCP connections it accepted.
pub struct FakeApi {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicUsize>,
}

impl FakeApi {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Starts a fake external API answering `/`, `/service1` and `/service2` by `script`.
pub fn fake_api(script: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> FakeApi {
    let state = ApiState {
        script: Arc::new(script),
        counts: Arc::default(),
    };
    let (addr, connections) =
        serve_counting(Router::new().fallback(any(api_handler)).with_state(state));
    FakeApi { addr, connections }
}

// ---------------------------------------------------------------------------------------------
// The real arc-local

/// The `arc-local` binary of this build profile, built by `cargo build -p arc-local` once per test
/// process (quick when it is up to date).
pub fn arc_local_bin() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let exe = std::env::current_exe().expect("the test executable has a path");
    let mut dir = exe.parent().expect("it is in a directory").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "arc-local"]);
        if dir.ends_with("release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "building arc-local failed");
    });
    dir.join("arc-local")
}

/// A running `arc-local` with the default topology on free 127.0.0.1 ports, a state file of its
/// own, and the cluster document that reaches it (all five endpoints).
pub struct ArcLocal {
    child: std::process::Child,
    dir: std::path::PathBuf,
    pub api_port: u16,
    /// A cluster document file for `failover --cluster`.
    pub doc_file: String,
    /// With TLS: arc-local's CA certificate (for `--ca-file`).
    pub ca_file: Option<String>,
}

impl ArcLocal {
    pub fn start() -> ArcLocal {
        Self::start_with(false)
    }

    /// arc-local serving HTTPS with a certificate from its own CA; the document's endpoints are
    /// `https://` URLs.
    pub fn start_tls() -> ArcLocal {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> ArcLocal {
        let bin = arc_local_bin();
        let dir = std::env::temp_dir().join(format!(
            "failover-test-arc-{}-{}",
            std::process::id(),
            FILES.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for _attempt in 0..10 {
            let (api_port, dns_port) = free_ports();
            let tls_dir = dir.join("tls");
            let mut cmd = Command::new(&bin);
            cmd.arg("serve");
            if tls {
                cmd.args(["--tls", "--tls-dir"]).arg(&tls_dir);
            }
            let mut child = cmd
                .args(["--api-port", &api_port.to_string()])
                .args(["--config-port", &closed_port().to_string()])
                .args(["--dns-port", &dns_port.to_string(), "--bind", "127.0.0.1"])
                .arg("--state")
                .arg(dir.join("state.json"))
                .env_remove("ARC_LOCAL_TOPOLOGY")
                .env_remove("ARC_LOCAL_FAULTS")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start arc-local");
            let deadline = std::time::Instant::now() + RUN_LIMIT;
            loop {
                if child.try_wait().unwrap().is_some() {
                    break; // most likely a port taken meanwhile: other ports
                }
                let ca = tls_dir.join("ca.pem");
                let up = if tls {
                    ca.exists() && std::net::TcpStream::connect(("127.0.0.1", api_port)).is_ok()
                } else {
                    healthy(api_port)
                };
                if up {
                    let mut doc = recovery::local::default_document("127.0.0.1", api_port);
                    if tls {
                        for e in doc.endpoints.iter_mut() {
                            e.url = e.url.replacen("http://", "https://", 1);
                        }
                    }
                    return ArcLocal {
                        child,
                        dir,
                        api_port,
                        doc_file: doc_file(&doc),
                        ca_file: tls.then(|| ca.display().to_string()),
                    };
                }
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("arc-local did not answer /health within {RUN_LIMIT:?}");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("arc-local could not start");
    }
}

impl Drop for ArcLocal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Five consecutive free TCP ports and one more free for UDP and TCP, on 127.0.0.1.
fn free_ports() -> (u16, u16) {
    loop {
        let base = closed_port();
        if base > u16::MAX - 6 {
            continue;
        }
        let dns = base + 5;
        let free = (base..=dns).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        if free && std::net::UdpSocket::bind(("127.0.0.1", dns)).is_ok() {
            return (base, dns);
        }
    }
}

/// Whether `GET /health` answers 200 on 127.0.0.1:`port`.
fn healthy(port: u16) -> bool {
    use std::io::Read as _;
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}
