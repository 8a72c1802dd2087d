//! `failover probe`: the original test.sh done right. Every interval it GETs `URL/`,
//! `URL/service1` and `URL/service2` at once, reads which regions served each (the gateway's
//! `x-gateway-region`, the service's `x-service-region`, or the `region` of the identity body when
//! a hop sends no header), counts failures (error, timeout, non-2xx) and notes every change since
//! the previous round: an app answering from another region, or a target's status changing.
//!
//! Each request opens a new connection (no pooling), so a DNS failover shows up as soon as the
//! resolver answers the new region instead of hiding behind a pooled connection to the old one.
//!
//! [`request`] sends one request; [`rounds`] is the bookkeeping (pure, no I/O); [`poll`] drives
//! rounds until the count, the duration or a stop signal; [`render`] prints them.

pub mod render;
pub mod request;
pub mod resolver;
pub mod rounds;

use std::future::Future;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

pub use request::{BadUrl, Base, SetupError};
use rounds::{Round, Rounds, Summary, TARGETS};

use crate::error::Error;
use crate::{duration, out};

/// The arguments of `probe`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The external API's base URL (http:// or https://, optionally with a stage path). In the
    /// compose stack's `failover` container the environment sets it to the external API's hostname.
    #[arg(
        long,
        env = "FAILOVER_PROBE_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub url: String,
    /// Time between the starts of two rounds (10ms to 24h).
    #[arg(long, default_value = "5s", value_parser = duration::interval, value_name = "DURATION")]
    pub interval: Duration,
    /// Stop after N rounds.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "duration")]
    pub count: Option<u64>,
    /// Stop after this long (no round starts after it).
    #[arg(long, value_parser = duration::run_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Bound on each request, connect included (10ms to 5m).
    #[arg(long, default_value = "2s", value_parser = duration::request_timeout, value_name = "DURATION")]
    pub request_timeout: Duration,
    /// Print one JSON object per round and a summary object, instead of text lines.
    #[arg(long)]
    pub json: bool,
    /// Resolve the URL's host with this DNS server (IP:PORT) instead of the system's, e.g.
    /// arc-local's 127.0.0.1:8653 to follow the external API's hostname on one machine.
    #[arg(long, env = "FAILOVER_PROBE_DNS", value_name = "ADDR:PORT")]
    pub dns_server: Option<std::net::SocketAddr>,
}

/// When a run ends (besides a signal, which always ends it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Rounds(u64),
    After(Duration),
    Signal,
}

/// Probe settings.
#[derive(Clone, Debug)]
pub struct Options {
    pub base: Base,
    pub interval: Duration,
    pub stop: Stop,
    pub request_timeout: Duration,
    /// `--dns-server`: `None` for the system resolver.
    pub dns_server: Option<std::net::SocketAddr>,
}

/// Runs `probe`: a line (or object) per round, then the summary; exit status 1 when any request
/// failed.
pub async fn run(args: Args) -> Result<ExitCode, Error> {
    let opts = Options {
        base: Base::parse(&args.url)?,
        interval: args.interval,
        stop: match (args.count, args.duration) {
            (Some(n), _) => Stop::Rounds(n),
            (None, Some(d)) => Stop::After(d),
            (None, None) => Stop::Signal,
        },
        request_timeout: args.request_timeout,
        dns_server: args.dns_server,
    };
    let json = args.json;
    if !json {
        out::line(&render::heading(&opts));
    }
    let summary = poll(&opts, bootstrap::shutdown::signal(), |round| {
        out::line(&if json {
            render::round_json(round)
        } else {
            render::line(round)
        });
    })
    .await
    .map_err(Error::Probe)?;
    if json {
        out::line(&render::summary_json(&summary));
    } else {
        out::text(&render::summary(&summary));
    }
    Ok(if summary.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs rounds until `opts.stop` or `shutdown`, calling `on_round` after each, and returns the
/// summary. A round cut short by `shutdown` is not counted.
pub async fn poll(
    opts: &Options,
    shutdown: impl Future<Output = ()>,
    mut on_round: impl FnMut(&Round),
) -> Result<Summary, SetupError> {
    let resolver = resolver::Resolver::new(opts.dns_server)?;
    let client = request::client_with(opts.request_timeout, resolver)?;
    let urls: Vec<String> = TARGETS.iter().map(|t| opts.base.url(t.path)).collect();
    let mut rounds = Rounds::default();
    let started = Instant::now();
    let deadline = match opts.stop {
        Stop::After(d) => Some(tokio::time::Instant::from_std(started + d)),
        _ => None,
    };
    let mut ticker = tokio::time::interval(opts.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown = std::pin::pin!(shutdown);
    let until_deadline = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    let mut until_deadline = std::pin::pin!(until_deadline);
    let mut interrupted = false;
    loop {
        if let Stop::Rounds(n) = opts.stop {
            if rounds.count() >= n {
                break;
            }
        }
        tokio::select! {
            _ = ticker.tick() => {}
            _ = &mut shutdown => { interrupted = true; break; }
            _ = &mut until_deadline => break,
        }
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            break;
        }
        let time = SystemTime::now();
        let requests = TARGETS
            .iter()
            .zip(&urls)
            .map(|(t, url)| request::get(&client, url, t, opts.request_timeout));
        let answers = tokio::select! {
            answers = futures_util::future::join_all(requests) => answers,
            _ = &mut shutdown => { interrupted = true; break; }
        };
        let round = rounds.record(time, answers);
        on_round(&round);
    }
    Ok(rounds.summary(interrupted))
}
