//! `drill`: the failover benchmark. Runs the rehearsal scenario on loopback at a fixed rate and
//! prints, per switch, the time traffic took to move and the failed requests.
//!
//! `cargo run --release -p drill -- --mode arc --rate 300` (see bench/failover.sh).

use std::time::Duration;

use clap::{Parser, ValueEnum};
use drill::system::{Mode, Options, System};

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Dns,
    Arc,
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
    let sys = System::start(Options {
        mode,
        ttl_secs: cli.ttl,
        poll_interval: cli.poll_interval,
        unreachable_endpoints: 0,
    })
    .await?;
    let report =
        drill::scenario::run(&sys, cli.rate, Duration::from_secs(u64::from(cli.ttl) + 10)).await?;
    let mode_name = if mode == Mode::Arc {
        format!("arc, poll {:?}", cli.poll_interval)
    } else {
        format!("dns, TTL {} s", cli.ttl)
    };
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
