//! `failover console`: a small web page on loopback (default 127.0.0.1:8700) that shows, live,
//! every app's routing controls, active region and standby readiness, which region serves each hop
//! (the console's own probe, as a timeline of the last minutes), and the runs started from it. It
//! can activate an app in another region and evacuate a region, each typed out as confirmation and
//! run as a plan with the same gates as the command line (an activation is gate, activate and
//! verify), with each run's report linked. The page is plain HTML, CSS and JS embedded in the
//! binary ([`page.html`](page.html), `page.css`, `page.js`); [`live`] keeps what it shows, and
//! [`guard`] keeps any page but its own from driving it (Host and Origin checked, a per-start
//! secret exchanged for a cookie, no framing). The last records of the audit trail
//! ([`crate::audit`]) are shown too.

pub mod guard;
pub mod live;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::cluster::Cluster;
use crate::cmd::check::Clients;
use crate::cmd::plan::file::{self, PlanFile, StepFile};
use crate::cmd::plan::{builtin, execution, RunArgs};
use crate::cmd::probe::{request, resolver, Base};
use crate::document::Loaded;
use crate::error::Error;
use crate::{duration, out};
use live::{Live, Run, Shared};

const PAGE: &str = include_str!("page.html");
const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");
/// How many audit records the page shows.
const AUDIT_SHOWN: usize = 10;

/// The arguments of `console`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where the page is served. Loopback unless you mean it: the page can move traffic, so any
    /// other address also takes --allow-remote.
    #[arg(long, default_value = "127.0.0.1:8700", value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    /// Allow --listen on an address that is not loopback (e.g. 0.0.0.0:8700 inside a container
    /// whose port is published on the host's 127.0.0.1). The page still takes the secret: --secret,
    /// or this start's random one, printed in the URL.
    #[arg(long)]
    pub allow_remote: bool,
    /// The secret the page's URL carries (at least 16 characters). Default: a new random one
    /// at each start, printed in the URL.
    #[arg(
        long,
        env = "FAILOVER_CONSOLE_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub secret: Option<String>,
    /// Another host name the page may be reached by (besides localhost, 127.0.0.1, [::1] and
    /// the listen address), e.g. console.example.com. Repeatable.
    #[arg(long, value_name = "NAME")]
    pub allow_host: Vec<String>,
    /// Time between two reads of the routing controls (10ms to 24h).
    #[arg(long, default_value = "1s", value_parser = duration::interval, value_name = "DURATION")]
    pub refresh: Duration,
    /// Time between two readiness checks (10ms to 24h); the page can ask for one at any time.
    #[arg(long, default_value = "30s", value_parser = duration::interval, value_name = "DURATION")]
    pub check_interval: Duration,
    /// How much of the probe's timeline the page shows (10ms to 24h).
    #[arg(long, default_value = "5m", value_parser = duration::interval, value_name = "DURATION")]
    pub window: Duration,
    /// How runs from the page go (their probe, reports, timeouts); --probe-url also drives the
    /// console's own probe, every --probe-interval.
    #[command(flatten)]
    pub run: RunArgs,
}

struct App {
    live: Shared,
    cluster: Arc<Cluster>,
    loaded: Arc<Loaded>,
    run: RunArgs,
    report_dir: PathBuf,
    probe_url: Option<String>,
    wake: Arc<tokio::sync::Notify>,
}

type Ctx = Arc<App>;

/// The secret to use, or why the console refuses to start: a non-loopback --listen without
/// --allow-remote. Every start has a secret: the one given, or a new random one (32 bytes), which
/// only the console's own output shows (in compose: `docker compose logs console`).
fn secret(args: &Args) -> Result<String, Error> {
    if let Some(s) = &args.secret {
        guard::check_secret(s).map_err(|e| Error::ConsoleUsage(e.to_string()))?;
    }
    if !args.listen.ip().is_loopback() && !args.allow_remote {
        return Err(Error::ConsoleUsage(format!(
            "--listen {} is not a loopback address: whoever reaches it can move traffic. To mean it, add --allow-remote (the page still takes this start's secret, or --secret / FAILOVER_CONSOLE_SECRET), and publish the port on 127.0.0.1 only",
            args.listen
        )));
    }
    match &args.secret {
        Some(s) => Ok(s.clone()),
        None => guard::new_secret()
            .map_err(|e| Error::ConsoleUsage(format!("cannot make a secret: {e}"))),
    }
}

/// Runs the console until SIGTERM/SIGINT.
pub async fn run(args: Args, cluster: Cluster) -> Result<ExitCode, Error> {
    let secret = secret(&args)?;
    let loaded = Arc::new(cluster.load()?);
    let cluster = Arc::new(cluster);
    let doc = Arc::new(loaded.document.clone());
    let arc = Arc::new(cluster.client(&loaded).await);
    let clients = Arc::new(Clients::new(&doc, &args.run.probes).await?);
    let live: Shared = Arc::new(std::sync::Mutex::new(Live::default()));
    let wake = Arc::new(tokio::sync::Notify::new());
    tokio::spawn(live::follow_status(
        live.clone(),
        doc.clone(),
        arc.clone(),
        args.refresh,
    ));
    tokio::spawn(live::follow_readiness(
        live.clone(),
        doc.clone(),
        arc.clone(),
        clients.clone(),
        args.check_interval,
        wake.clone(),
    ));
    if let Some(url) = &args.run.probe_url {
        let base = Base::parse(url)?;
        let client = request::client_with(
            args.run.request_timeout,
            resolver::Resolver::new(args.run.probe_dns).map_err(|e| Error::Probe(e.into()))?,
        )
        .map_err(Error::Probe)?;
        tokio::spawn(live::follow_probe(
            live.clone(),
            client,
            base,
            args.run.probe_interval.max(Duration::from_millis(200)),
            args.run.request_timeout,
            args.window,
        ));
    }
    let ctx: Ctx = Arc::new(App {
        live,
        cluster,
        loaded,
        report_dir: args.run.report_dir.clone(),
        probe_url: args.run.probe_url.clone(),
        run: args.run,
        wake,
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Error::Listen(args.listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Listen(args.listen, e))?;
    let guard = Arc::new(guard::Guard::new(addr, &args.allow_host, secret));
    let router = Router::new()
        .route("/", get(page))
        .route("/console.css", get(style))
        .route("/console.js", get(script))
        .route("/api/state", get(state))
        .route("/api/check", post(check_now))
        .route("/api/activate", post(activate))
        .route("/api/evacuate", post(evacuate))
        .route("/reports/{name}", get(report))
        .with_state(ctx)
        .layer(axum::middleware::from_fn_with_state(
            guard.clone(),
            guard::check,
        ));
    out::line(&format!(
        "failover console on {} (Ctrl-C to stop; the URL carries this run's secret: open it, the page keeps it in a cookie)",
        guard.url(addr)
    ));
    axum::serve(listener, router)
        .with_graceful_shutdown(bootstrap::shutdown::signal())
        .await
        .map_err(|e| Error::Listen(addr, e))?;
    Ok(ExitCode::SUCCESS)
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAGE,
    )
        .into_response()
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

async fn state(State(ctx): State<Ctx>) -> Response {
    let audit = crate::audit::last(&ctx.report_dir, AUDIT_SHOWN);
    let live = ctx.live.lock().expect("live state");
    let mut view = live::view(&live, ctx.probe_url.as_deref());
    match audit {
        Ok(records) => view["audit"] = json!(records),
        Err(e) => view["audit_error"] = json!(format!("{}: {e}", ctx.report_dir.display())),
    }
    Json(view).into_response()
}

async fn check_now(State(ctx): State<Ctx>) -> Response {
    ctx.wake.notify_one();
    Json(json!({"checking": true})).into_response()
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

#[derive(Deserialize)]
struct ActivateBody {
    app: String,
    region: String,
    /// The app's name, typed by the person.
    confirm: String,
}

#[derive(Deserialize)]
struct EvacuateBody {
    region: String,
    /// The region, typed by the person.
    confirm: String,
}

/// Starts `plan` in the background as run `what`; refuses while another run goes.
fn start(ctx: &Ctx, what: String, plan: file::Plan) -> Response {
    let id = {
        let mut live = ctx.live.lock().expect("live state");
        if live.runs.iter().any(|r| r.state == "running") {
            return refuse(StatusCode::CONFLICT, "another run is in progress".into());
        }
        let id = live.runs.len() as u64 + 1;
        live.runs.push(Run {
            id,
            what: what.clone(),
            started: live::now_ms(),
            state: "running".into(),
            failure: None,
            recovery_ms: None,
            failed_requests: None,
            reports: Vec::new(),
        });
        id
    };
    let ctx2 = ctx.clone();
    let via = format!("console: {what}");
    tokio::spawn(async move {
        let mut run = ctx2.run.clone();
        // The person confirmed in the page by typing the name.
        run.yes = true;
        run.via = Some(via);
        let result = execution::execute_with_report(plan, &run, &ctx2.cluster, &ctx2.loaded)
            .await
            .map_err(|e| e.chain().to_string());
        live::finish(&ctx2.live, id, result);
        ctx2.wake.notify_one();
    });
    Json(json!({ "run": id, "what": what })).into_response()
}

async fn activate(State(ctx): State<Ctx>, Json(body): Json<ActivateBody>) -> Response {
    if body.confirm != body.app {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("type the app's name ({}) to confirm", body.app),
        );
    }
    let step = |kind: &str| StepFile {
        kind: kind.into(),
        apps: vec![body.app.clone()],
        to: Some(body.region.clone()),
        ..StepFile::default()
    };
    let file = PlanFile {
        name: Some(format!("activate {} {}", body.app, body.region)),
        probe_url: None,
        step: vec![step("gate"), step("activate"), step("verify")],
    };
    match file::check(&file, &ctx.loaded.document) {
        Ok(plan) => start(
            &ctx,
            format!("activate {} in {}", body.app, body.region),
            plan,
        ),
        Err(e) => refuse(StatusCode::BAD_REQUEST, e),
    }
}

async fn evacuate(State(ctx): State<Ctx>, Json(body): Json<EvacuateBody>) -> Response {
    if body.confirm != body.region {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("type the region ({}) to confirm", body.region),
        );
    }
    let file = match builtin::evacuate(&ctx.loaded.document, &body.region, None) {
        Ok(f) => f,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e.to_string()),
    };
    match file::check(&file, &ctx.loaded.document) {
        Ok(plan) => start(&ctx, format!("evacuate {}", body.region), plan),
        Err(e) => refuse(StatusCode::BAD_REQUEST, e),
    }
}

/// A report file of a run started here (only those: no other path is served).
async fn report(State(ctx): State<Ctx>, Path(name): Path<String>) -> Response {
    let known = ctx
        .live
        .lock()
        .expect("live state")
        .runs
        .iter()
        .any(|r| r.reports.contains(&name));
    if !known {
        return refuse(
            StatusCode::NOT_FOUND,
            format!("no report {name:?} from this console"),
        );
    }
    let kind = if name.ends_with(".json") {
        "application/json"
    } else if name.ends_with(".html") {
        "text/html; charset=utf-8"
    } else {
        "text/markdown; charset=utf-8"
    };
    match tokio::fs::read(ctx.report_dir.join(&name)).await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, kind),
                (header::CONTENT_SECURITY_POLICY, guard::REPORT_POLICY),
            ],
            body,
        )
            .into_response(),
        Err(e) => refuse(StatusCode::NOT_FOUND, format!("{name}: {e}")),
    }
}
