//! The regional endpoints `check` and the plans read: the real `service1` and `service2` binaries,
//! one process per app and region on 127.0.0.1 ports the system picks, and a cluster document
//! whose regional URLs point at them (the external API left out: the services stand for every
//! app). Also a stand-in `/health` answering any build, for the "different build" cases.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use axum::routing::get;
use axum::Router;
use recovery::ClusterDocument;
use testkit::ports::free_port;
use testkit::process::{cargo_build, target_bin_dir, Process, Spawn};

/// The path of a project binary (`service1`, `service2` or `gateway`), built once per test
/// process (cargo decides what is out of date; quick when nothing is).
pub fn bin(name: &str) -> PathBuf {
    static SERVICES: OnceLock<()> = OnceLock::new();
    static GATEWAY: OnceLock<()> = OnceLock::new();
    let (once, packages) = if name == "gateway" {
        (&GATEWAY, &["gateway"][..])
    } else {
        (&SERVICES, &["service1", "service2"][..])
    };
    once.get_or_init(|| {
        cargo_build(packages).unwrap_or_else(|e| panic!("building {packages:?}: {e}"));
    });
    target_bin_dir().join(name)
}

/// service1 and service2, each in us-east-1 and us-west-2.
pub struct Regions {
    /// (app, region) to its process.
    pub processes: BTreeMap<(String, String), Process>,
    /// (app, region) to its base URL.
    pub urls: BTreeMap<(String, String), String>,
}

impl Regions {
    pub fn start() -> Regions {
        let mut processes = BTreeMap::new();
        let mut urls = BTreeMap::new();
        for app in ["service1", "service2"] {
            for region in ["us-east-1", "us-west-2"] {
                let port = free_port();
                let process = Spawn::new(bin(app))
                    .name(format!("{app}-{region}"))
                    .env("REGION", region)
                    .env("PORT", port.to_string())
                    .env("BIND", "127.0.0.1")
                    .env("LOG_FORMAT", "text")
                    .env("RUST_LOG", "warn")
                    .listens_on(port)
                    .start()
                    .unwrap_or_else(|e| panic!("{app} in {region} starts: {e}"));
                let key = (app.to_owned(), region.to_owned());
                urls.insert(key.clone(), format!("http://127.0.0.1:{port}"));
                processes.insert(key, process);
            }
        }
        Regions { processes, urls }
    }

    /// Stops one app's process in one region (SIGKILL: a region that is gone).
    pub fn kill(&mut self, app: &str, region: &str) {
        let p = self
            .processes
            .get_mut(&(app.to_owned(), region.to_owned()))
            .expect("a started process");
        p.kill().expect("kill");
    }

    /// `doc` (arc-local's) without the external API, the services' regional URLs pointing here.
    pub fn document(&self, doc: &ClusterDocument) -> ClusterDocument {
        let mut doc = doc.clone();
        doc.apps.remove("external-api");
        for ((app, region), url) in &self.urls {
            doc.apps
                .get_mut(app)
                .unwrap()
                .regions
                .get_mut(region)
                .unwrap()
                .url = url.clone();
        }
        doc
    }
}

/// The gateway (us-east-1) on 127.0.0.1 in arc mode: it reads the services' routing controls
/// through the cluster document at `doc_file` every 100 ms and calls their regional URLs; its URL.
pub fn gateway(doc_file: &str) -> (Process, String) {
    let port = free_port();
    let process = Spawn::new(bin("gateway"))
        .name("gateway-us-east-1")
        .env("REGION", "us-east-1")
        .env("PORT", port.to_string())
        .env("ADMIN_PORT", free_port().to_string())
        .env("BIND", "127.0.0.1")
        .env("GATEWAY_FAILOVER_MODE", "arc")
        .env("ARC_CLUSTER_FILE", doc_file)
        .env("ARC_POLL_INTERVAL", "100ms")
        .env("LOG_FORMAT", "text")
        .env("RUST_LOG", "warn")
        .listens_on(port)
        .start()
        .expect("the gateway starts");
    (process, format!("http://127.0.0.1:{port}"))
}

/// A `/health` on 127.0.0.1 answering `body` (200, JSON), from a background thread; its URL.
pub fn health_stub(body: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().route(
        "/health",
        get(move || async move { ([("content-type", "application/json")], body) }),
    );
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, router).await.unwrap();
        });
    });
    format!("http://{addr}")
}
