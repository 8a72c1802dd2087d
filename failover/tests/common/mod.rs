//! Test fixtures: the real Route 53 ARC emulator (`arc_local::Emulator`, in-process, on
//! 127.0.0.1 ports the system picks) with its fault hook and its journal of calls, a stand-in
//! external API for `probe` ([`external_api`]), moto's server ([`moto`]) and a front for it that
//! takes one region away ([`region_gate`]), and helpers to run the real `failover` binary.

#![allow(dead_code)]

pub mod external_api;
pub mod moto;
pub mod region_gate;
pub mod regions;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use arc_local::{Emulator, Fault, Faults, Operation, Settings, TlsSettings};
use recovery::{ClusterDocument, ControlState, Endpoint};
use serde_json::Value;

/// service1's routing controls and safety rule in the default topology.
pub const PRIMARY_RC: &str =
    "arn:aws:route53-recovery-control::000000000000:controlpanel/service1/routingcontrol/service1-primary-rc";
pub const SECONDARY_RC: &str =
    "arn:aws:route53-recovery-control::000000000000:controlpanel/service1/routingcontrol/service1-secondary-rc";
pub const RULE_ARN: &str =
    "arn:aws:route53-recovery-control::000000000000:controlpanel/service1/safetyrule/service1-at-least-one-on";

/// arc-local serving the default topology in this process, with a state file and a cluster
/// document file of its own. Its ListRoutingControls pages hold one control each, so clients
/// must follow `NextToken`.
pub struct Cluster {
    emulator: Emulator,
    /// A cluster document file for `failover --cluster`: the five endpoints of this emulator.
    pub doc_file: String,
    /// With TLS: the emulator's CA certificate (for `--ca-file`).
    pub ca_file: Option<String>,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Every app's primary control On, the others Off (the default topology's initial states).
    pub fn start() -> Cluster {
        Cluster::start_with(false)
    }

    /// Over HTTPS, with a certificate from the emulator's own CA; the document's endpoints are
    /// `https://` URLs.
    pub fn start_tls() -> Cluster {
        Cluster::start_with(true)
    }

    /// With the states `state_of(app, region)` gives, set as an operator overriding every safety
    /// rule would.
    pub fn with_states(state_of: impl Fn(&str, &str) -> ControlState) -> Cluster {
        let cluster = Cluster::start();
        let mut batch = Vec::new();
        for (app, entry) in &cluster.document().apps {
            for (region, control) in &entry.regions {
                batch.push((control.routing_control_arn.clone(), state_of(app, region)));
            }
        }
        cluster.emulator.set_states(&batch).expect("states set");
        cluster
    }

    fn start_with(tls: bool) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("failover-test-arc-")
            .tempdir()
            .expect("a temporary directory");
        let mut settings = Settings::loopback(dir.path().join("state.json"));
        if tls {
            settings.tls = Some(TlsSettings {
                dir: dir.path().join("tls"),
                names: Vec::new(),
            });
        }
        let emulator = Emulator::start(settings).expect("arc-local starts");
        emulator.faults().add(Fault::short_pages(1));
        let doc_file = dir.path().join("cluster.json");
        std::fs::write(
            &doc_file,
            serde_json::to_string_pretty(emulator.document()).unwrap(),
        )
        .unwrap();
        Cluster {
            ca_file: emulator.ca_file().map(|p| p.display().to_string()),
            doc_file: doc_file.display().to_string(),
            emulator,
            dir,
        }
    }

    /// The cluster document that reaches this emulator.
    pub fn document(&self) -> &ClusterDocument {
        self.emulator.document()
    }

    /// The fault hook.
    pub fn faults(&self) -> &Faults {
        self.emulator.faults()
    }

    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Every data-plane call so far: (operation, JSON body).
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.emulator
            .calls()
            .into_iter()
            .map(|c| {
                let op = c.operation.map_or("?", Operation::name).to_owned();
                (op, c.input)
            })
            .collect()
    }

    /// The bodies of the calls of `op` so far.
    pub fn calls_of(&self, op: Operation) -> Vec<Value> {
        self.emulator
            .calls()
            .into_iter()
            .filter(|c| c.operation == Some(op))
            .map(|c| c.input)
            .collect()
    }

    /// The state of a routing control, as the emulator holds it.
    pub fn state_of(&self, arn: &str) -> ControlState {
        self.emulator.state(arn).expect("known control")
    }

    /// Writes `text` to a file in this cluster's directory and returns its path.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

/// The entries of the one `UpdateRoutingControlStates` call the cluster received (there must be
/// exactly one).
pub fn only_update_entries(arc: &Cluster) -> Value {
    let updates = arc.calls_of(Operation::UpdateRoutingControlStates);
    assert_eq!(updates.len(), 1, "exactly one update call: {updates:?}");
    updates[0]["UpdateRoutingControlStateEntries"].clone()
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The default topology with one endpoint, us-east-1 at `url`.
pub fn document_at(url: &str) -> ClusterDocument {
    let mut doc = recovery::local::default_document("127.0.0.1", 8600);
    doc.endpoints = vec![Endpoint {
        region: "us-east-1".into(),
        url: url.into(),
    }];
    doc
}

/// The line of `stdout` that starts with `label` (e.g. `before:`).
pub fn line_of<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} line:\n{stdout}"))
}

/// A temporary file, removed on drop.
pub struct TempFile {
    /// Its path, for the command line.
    pub path: String,
    _file: tempfile::TempPath,
}

/// Writes `text` to a fresh temporary file.
pub fn write_temp(text: &str) -> TempFile {
    let mut file = tempfile::Builder::new()
        .prefix("failover-test-")
        .suffix(".json")
        .tempfile()
        .expect("a temporary file");
    file.write_all(text.as_bytes()).unwrap();
    let file = file.into_temp_path();
    TempFile {
        path: file.display().to_string(),
        _file: file,
    }
}

/// Writes `doc` to a temporary file.
pub fn doc_file(doc: &ClusterDocument) -> TempFile {
    write_temp(&serde_json::to_string_pretty(doc).unwrap())
}

// ---------------------------------------------------------------------------------------------
// Running the binary

pub fn failover() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_failover"));
    cmd.env_remove("FAILOVER_CLUSTER")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // Reports and the audit trail under target/, never in the source tree.
        .env(
            "FAILOVER_REPORT_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("failover-reports"),
        )
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        );
    cmd
}

/// Runs `failover args...` with `stdin` and returns its output.
pub fn run(args: &[&str], stdin: Option<&str>) -> Output {
    run_env(args, stdin, &[])
}

/// [`run`] with extra environment variables.
pub fn run_env(args: &[&str], stdin: Option<&str>, envs: &[(&str, &str)]) -> Output {
    let mut cmd = failover();
    cmd.envs(envs.iter().copied());
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
