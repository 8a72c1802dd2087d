//! `drill`: the failover benchmark. Runs the rehearsal scenario on loopback at a fixed rate and
//! prints, per switch, the time traffic took to move and the failed requests.
//!
//! `cargo run --release -p drill -- --mode arc --rate 300` (see bench/failover.sh);
//! `--scenario unplanned` kills the active region's service1 instead and reports regional fallback.

use std::time::Duration;

use clap::{Parser, ValueEnum};
use drill::system::{Mode, Options, System};

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Dns,
    Arc,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ScenarioArg {
    /// The original rehearsal: routing controls flipped under traffic.
    Planned,
    /// The active region's service1 killed under traffic, nobody flipping a control.
    Unplanned,
}

#[derive(Parser)]
#[command(about = "Runs the DR drill on loopback and prints switch times and failed requests.")]
struct Cli {
    #[arg(long, value_enum, default_value = "arc")]
    mode: ModeArg,
    /// Requests per second, in all.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=5000))]
    rate: u32,
    /// arc mode: how often the gateways read the routing controls.
    #[arg(long, default_value = "200ms", value_parser = humantime_duration)]
    poll_interval: Duration,
    /// dns mode: TTL of the failover records, in seconds.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=300))]
    ttl: u32,
    #[arg(long, value_enum, default_value = "planned")]
    scenario: ScenarioArg,
    /// unplanned: how long service1 stays down.
    #[arg(long, default_value = "10s", value_parser = humantime_duration)]
    outage: Duration,
}

fn humantime_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mode = match cli.mode {
        ModeArg::Dns => Mode::Dns,
        ModeArg::Arc => Mode::Arc,
    };
    let mut sys = System::start(Options {
        mode,
        ttl_secs: cli.ttl,
        poll_interval: cli.poll_interval,
        unreachable_endpoints: 0,
    })
    .await?;
    let mode_name = if mode == Mode::Arc {
        format!("arc, poll {:?}", cli.poll_interval)
    } else {
        format!("dns, TTL {} s", cli.ttl)
    };
    if cli.scenario == ScenarioArg::Unplanned {
        let limit = Duration::from_secs(30);
        let r = drill::unplanned::run(&mut sys, cli.rate, cli.outage, limit).await?;
        println!(
            "# drill: unplanned, {mode_name}, {} req/s offered, service1 us-east-1 killed for {:?}",
            cli.rate, cli.outage
        );
        let ms = |d: Option<Duration>| d.map_or("never".into(), |d| d.as_millis().to_string());
        println!(
            "first fallback answer {:>6} ms after the kill",
            ms(r.first_fallback)
        );
        println!(
            "returned              {:>6} ms after the restart",
            r.returned.as_millis()
        );
        println!(
            "requests {}  served by us-west-2 for service1 {}  failed {} (in flight at the kill {}, after it {})",
            r.samples.len(),
            r.served_by_standby(),
            r.failures().len(),
            r.failed_in_flight().len(),
            r.failed_after_kill().len()
        );
        println!("request ids handled by both regions: {}", r.twice.len());
        for f in r.failures().iter().take(5) {
            println!(
                "  failed: {} {} {:?}",
                f.route.path,
                f.answer.status.unwrap_or(0),
                f.answer.error
            );
        }
        return Ok(());
    }
    let report =
        drill::scenario::run(&sys, cli.rate, Duration::from_secs(u64::from(cli.ttl) + 10)).await?;
    println!("# drill: {mode_name}, {} req/s offered", cli.rate);
    for (step, took) in &report.steps {
        println!("switch {step:28} moved in {:5} ms", took.as_millis());
    }
    let failed = report.failures();
    println!("requests {}  failed {}", report.samples.len(), failed.len());
    for f in failed.iter().take(5) {
        println!(
            "  failed: {} {} {:?}",
            f.route.path,
            f.answer.status.unwrap_or(0),
            f.answer.error
        );
    }
    Ok(())
}
