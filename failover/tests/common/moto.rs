//! moto's server (the AWS API emulator from PyPI) on 127.0.0.1, for the ECS, ELBv2 and
//! Application Auto Scaling calls of `check` and the `scale` step, seeded by `tests/aws/seed.py`.
//! The python is `MOTO_PYTHON` (as scripts/prepare.sh and infra/test.sh set it) or `python3`; without
//! moto there, [`Moto::start`] returns `None` and the test says it is skipped and why.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use testkit::ports::free_port;
use testkit::process::{Process, Spawn};

/// A running moto server.
pub struct Moto {
    pub url: String,
    python: String,
    _process: Process,
}

impl Moto {
    /// Starts moto, or `None` (with a message on stderr) when no python with moto is found.
    pub fn start() -> Option<Moto> {
        let python = std::env::var("MOTO_PYTHON").unwrap_or_else(|_| "python3".into());
        let has_moto = Command::new(&python)
            .args(["-c", "import moto.server, flask, boto3"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_moto {
            eprintln!(
                "SKIPPED: {python} has no moto[server] (pip install 'moto[server]' or set MOTO_PYTHON); the AWS capacity calls are not tested"
            );
            return None;
        }
        let port = free_port();
        let process = Spawn::new(&python)
            .name("moto")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .listens_on(port)
            .start_timeout(std::time::Duration::from_secs(30))
            .start()
            .expect("moto's server starts");
        Some(Moto {
            url: format!("http://127.0.0.1:{port}"),
            python,
            _process: process,
        })
    }

    /// Runs `seed.py <url> args...` and returns its JSON output (`null` when it prints nothing).
    pub fn seed(&self, args: &[&str]) -> Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aws/seed.py");
        let out = Command::new(&self.python)
            .arg(script)
            .arg(&self.url)
            .args(args)
            .output()
            .expect("run seed.py");
        assert!(
            out.status.success(),
            "seed.py {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("seed.py prints JSON")
        }
    }

    /// The environment that points the `failover` binary's AWS clients at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }
}
