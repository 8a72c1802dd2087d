//! Global limits on a real `redis-server` (started here on a free loopback port, in a temporary
//! directory): two gateway processes share one budget; a Redis killed mid-run fails open to the
//! instance's share and is used again once it answers; a silent one costs no more than the
//! timeout; a quota in Redis resets at the period boundary (injected clock).
//!
//! Needs Debian's `redis-server` (the project's scripts install it); without it these tests say
//! so loudly and pass without running.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use gateway::config::{LimitMode, LimitsConfig, Period, QuotaSpec, Rate};
use gateway::policy::global::Global;
use gateway::policy::keys::entry;
use gateway::policy::limit::{Bucket, Limits, Refusal};
use http_body_util::Full;
use testkit::ports::free_port;
use testkit::process::{Process, Spawn};

const KEY: &str = "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk";

fn have_redis() -> bool {
    let found = std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!(
            "\n\n*** SKIPPED: redis-server is not installed (apt-get install -y redis-server); \
             global limits were NOT tested ***\n\n"
        );
    }
    found
}

/// A `redis-server` on `port`, persisting nothing, in its own temporary directory.
async fn redis(port: u16, dir: &std::path::Path) -> Process {
    Spawn::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .listens_on(port)
        .start_async()
        .await
        .unwrap()
}

fn write_keys(dir: &std::path::Path) -> std::path::PathBuf {
    let file = dir.join("keys.toml");
    std::fs::write(
        &file,
        entry(KEY, "shared-key", "", Some("p"), true).unwrap(),
    )
    .unwrap();
    file
}

fn config(
    up: SocketAddr,
    keys: &std::path::Path,
    redis_port: u16,
    plan: &str,
    extra: &str,
) -> String {
    format!(
        r#"region = "us-east-1"
[api_keys]
file = "{}"
[policy.keys]
type = "api_key"
[plan.p]
{plan}
[limits]
mode = "global"
redis_url = "redis://127.0.0.1:{redis_port}"
{extra}
[[route]]
prefix = "/svc"
upstream = "http://{up}"
policies = ["keys"]
"#,
        keys.display()
    )
}

async fn call(url: &str) -> u16 {
    let req = http::Request::get(url)
        .header("x-api-key", KEY)
        .body(Full::<Bytes>::default())
        .unwrap();
    send(req).await.0.as_u16()
}

#[tokio::test]
async fn two_gateway_processes_share_one_budget() {
    if !have_redis() {
        return;
    }
    let dir = testkit::temp::dir("global");
    let redis_port = free_port();
    let _redis = redis(redis_port, dir.path()).await;
    let up = service("service1", "us-east-1").await;
    let keys = write_keys(dir.path());
    let conf = dir.path().join("gateway.toml");
    std::fs::write(
        &conf,
        config(up, &keys, redis_port, "rate = 5\nburst = 5", ""),
    )
    .unwrap();
    let mut gateways = Vec::new();
    for _ in 0..2 {
        let port = free_port();
        let process = Spawn::new(env!("CARGO_BIN_EXE_gateway"))
            .env_clear()
            .env("GATEWAY_CONFIG", &conf)
            .env("PORT", port.to_string())
            .env("ADMIN_PORT", free_port().to_string())
            .listens_on(port)
            .start_async()
            .await
            .unwrap();
        gateways.push((process, format!("http://127.0.0.1:{port}/svc")));
    }
    let started = Instant::now();
    let run = Duration::from_secs(2);
    let hammer = |url: String| async move {
        let (mut ok, mut refused) = (0u32, 0u32);
        while started.elapsed() < run {
            match call(&url).await {
                200 => ok += 1,
                429 => refused += 1,
                other => panic!("status {other}"),
            }
        }
        (ok, refused)
    };
    let (a, b) = tokio::join!(hammer(gateways[0].1.clone()), hammer(gateways[1].1.clone()));
    let elapsed = started.elapsed().as_secs_f64();
    let admitted = a.0 + b.0;
    for (mut process, _) in gateways {
        process.terminate().unwrap();
        process.wait().unwrap();
        assert!(
            !process.stdout().contains("limit engine unreachable"),
            "{}",
            process.stdout()
        );
    }
    // The plan allows its burst and then 5 a second, across both; each alone would allow as much.
    let allowed = 5.0 + 5.0 * elapsed;
    assert!(
        f64::from(admitted) <= allowed + 1.0,
        "admitted {admitted} ({a:?} and {b:?}) in {elapsed:.2}s; the plan allows {allowed:.1}"
    );
    assert!(admitted >= 5, "admitted only {admitted}");
    assert!(
        a.1 > 0 && b.1 > 0,
        "both gateways refused some: {a:?} {b:?}"
    );
}

#[tokio::test]
async fn a_killed_redis_fails_open_to_the_share_and_recovers() {
    if !have_redis() {
        return;
    }
    let dir = testkit::temp::dir("global");
    let redis_port = free_port();
    let mut server = redis(redis_port, dir.path()).await;
    let up = service("service1", "us-east-1").await;
    let keys = write_keys(dir.path());
    let plan = "rate = 0.1\nburst = 10";
    let extra = "timeout = \"500ms\"\nretry_interval = \"300ms\"\nexpected_instances = 2";
    let gw = gateway(&config(up, &keys, redis_port, plan, extra)).await;
    let url = gw.url("/svc");
    // Loaded at start, not by the first request: the first decisions need one round trip.
    let client = redis::Client::open(format!("redis://127.0.0.1:{redis_port}")).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let hash = Global::new(
        &LimitsConfig {
            mode: LimitMode::Global,
            redis_url: Some(format!("redis://127.0.0.1:{redis_port}")),
            ..LimitsConfig::default()
        },
        None,
    )
    .unwrap()
    .script_hash()
    .to_owned();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let loaded: Vec<bool> = redis::cmd("SCRIPT")
            .arg("EXISTS")
            .arg(&hash)
            .query_async(&mut conn)
            .await
            .unwrap();
        if loaded == [true] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the script was not loaded at start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..3 {
        assert_eq!(call(&url).await, 200);
    }

    server.kill().unwrap();
    // The share of two instances: a burst of 5, counted here; every answer within the timeout.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let t = Instant::now();
        statuses.push(call(&url).await);
        assert!(
            t.elapsed() < Duration::from_millis(700),
            "waited {:?}",
            t.elapsed()
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    let m = gw.metrics().await;
    let engine = format!("127.0.0.1:{redis_port}");
    let engine = [("engine", engine.as_str())];
    assert_eq!(metric(&m, "gateway_limit_engine_up", &engine), Some(0.0));
    assert!(
        metric(&m, "gateway_limit_fail_open_total", &[]) >= Some(3.0),
        "{m}"
    );

    // A new, empty server on the same port: the budget is Redis's again (a full burst).
    let _server = redis(redis_port, dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while call(&url).await != 200 {
        assert!(Instant::now() < deadline, "never admitted again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let m = gw.metrics().await;
    assert_eq!(metric(&m, "gateway_limit_engine_up", &engine), Some(1.0));
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let size: u64 = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
    assert!(size >= 1, "the recovered decision was not made in Redis");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_silent_engine_costs_at_most_the_timeout() {
    // A listener that accepts and never answers: no redis-server needed.
    let silent = fake_upstream(|s| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(s);
    })
    .await;
    let dir = testkit::temp::dir("global");
    let up = service("service1", "us-east-1").await;
    let keys = write_keys(dir.path());
    let extra = "timeout = \"100ms\"\nretry_interval = \"10s\"\nexpected_instances = 2";
    let gw = gateway(&config(
        up,
        &keys,
        silent.port(),
        "rate = 100\nburst = 100",
        extra,
    ))
    .await;
    let t = Instant::now();
    assert_eq!(call(&gw.url("/svc")).await, 200);
    let first = t.elapsed();
    assert!(
        first >= Duration::from_millis(100) && first < Duration::from_millis(600),
        "{first:?}"
    );
    // Within the retry interval nobody waits for the engine.
    let t = Instant::now();
    for _ in 0..5 {
        assert_eq!(call(&gw.url("/svc")).await, 200);
    }
    assert!(
        t.elapsed() < Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn a_quota_in_redis_resets_at_the_period_boundary() {
    if !have_redis() {
        return;
    }
    let dir = testkit::temp::dir("global");
    let redis_port = free_port();
    let _redis = redis(redis_port, dir.path()).await;
    let limits_config = LimitsConfig {
        mode: LimitMode::Global,
        redis_url: Some(format!("redis://127.0.0.1:{redis_port}")),
        // Generous: a decision this test asks Redis for must not fall back to the local share.
        timeout: Duration::from_secs(2),
        ..LimitsConfig::default()
    };
    let now = Arc::new(AtomicU64::new(1_796_774_390)); // 2026-12-08T23:59:50Z
    let clock_now = now.clone();
    let limits = Limits::new(
        Some(Global::new(&limits_config, None).unwrap()),
        Arc::new(move || clock_now.load(Ordering::Relaxed)),
    );
    let quota = QuotaSpec {
        limit: 2,
        period: Period::Day,
    };
    let rate = Rate {
        per_second: 1000.0,
        burst: 100,
    };
    let bucket = Bucket::new("plan:q", rate, Some(quota), 1);
    let k: Arc<str> = Arc::from("k");
    limits.check(&bucket, &k).await.unwrap();
    limits.check(&bucket, &k).await.unwrap();
    assert_eq!(
        limits.check(&bucket, &k).await,
        Err(Refusal::Quota {
            resets_at: 1_796_774_400,
            retry_after: Duration::from_secs(10)
        })
    );
    now.store(1_796_774_400, Ordering::Relaxed);
    limits.check(&bucket, &k).await.unwrap();

    // Both periods were counted in Redis, under the key's own names.
    let client = redis::Client::open(limits_config.redis_url.unwrap()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let day = 1_796_774_390 / 86_400;
    for (index, used) in [(day, 2), (day + 1, 1)] {
        let key = format!("gw:{{plan:q:k}}:q:{index}");
        let got: u64 = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(got, used, "{key}");
    }
}
