//! `arc-local`: the command line of the `arc_local` library. Parses the options into
//! [`arc_local::Settings`], then serves a local Route 53 ARC cluster data plane on five ports, the
//! recovery-control-config API on one more, and Route 53 failover DNS for the apps' hostnames
//! (`serve`, the default), optionally over HTTPS; checks a running instance (`healthcheck`), or
//! prints the cluster document it serves (`document`).

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use arc_local::{EndpointFault, Settings, TlsSettings, TopologySource};
use clap::{Args, Parser, Subcommand};
use recovery::local::{DEFAULT_API_PORT, DEFAULT_DNS_PORT, ENDPOINT_REGIONS};

const ABOUT: &str = "A local Route 53 ARC cluster (routing-control data plane and recovery-control-config API) and Route 53 failover DNS.";

const LONG_ABOUT: &str = "\
A local Route 53 ARC cluster (routing-control data plane and recovery-control-config API) and
Route 53 failover DNS, to rehearse failovers offline.

The data plane speaks the AWS wire protocol (awsJson1_0, X-Amz-Target ToggleCustomerAPI.*) on five
consecutive ports, like a cluster's five regional endpoints, so the AWS SDKs and the AWS CLI work
against it (e.g. `aws route53-recovery-cluster list-routing-controls --endpoint-url
http://127.0.0.1:8600 --region us-west-2`). The recovery-control-config API (REST-JSON: clusters,
control panels, routing controls, safety rules, tags) answers on one more port, by default 8610
(`aws route53-recovery-control-config list-clusters --endpoint-url http://127.0.0.1:8610 --region
us-west-2`, or Terraform's aws_route53recoverycontrolconfig_* resources); what it creates is served
by the data plane and kept in the state file. Requests must carry a SigV4 Authorization header, but
signatures are NOT verified: any credentials are accepted. Bind to loopback (the default) or a
private network only. With --tls, every API port serves HTTPS with a certificate from a local CA
made at start-up (its certificate: <tls-dir>/ca.pem).

Safety rules (the topology's and those created through the config API) are enforced (apps
without rules get 'at least one control On'); wait periods are not. Every accepted change is written to the state file before it is
acknowledged. Each app's hostname is answered over DNS (UDP and TCP) with Route 53 failover
semantics; other names are REFUSED.";

#[derive(Parser)]
#[command(name = "arc-local", version = bootstrap::build_info::long_version(), about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    options: Options,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the data plane, the config API and DNS until SIGTERM/SIGINT (the default).
    Serve,
    /// Exit 0 when the local instance answers GET /health on the first API port (over HTTPS,
    /// trusting <tls-dir>/ca.pem, when --tls is on).
    Healthcheck,
    /// Print the cluster document (JSON) of the topology this instance serves, with its endpoints.
    Document {
        /// Host to put in the endpoint URLs.
        #[arg(long, value_name = "HOST", default_value = "127.0.0.1")]
        api_host: String,
    },
}

#[derive(Args)]
struct Options {
    /// Cluster document to serve (docs/cluster.md); its endpoint URLs are informational.
    /// Default: the project's default topology, its regions on loopback (service1 in us-east-1 at
    /// http://127.0.1.2:8080, in us-west-2 at http://127.0.2.2:8080; gateway .1, service2 .3).
    #[arg(long, global = true, env = "ARC_LOCAL_TOPOLOGY", value_name = "FILE")]
    topology: Option<PathBuf>,

    /// State file: restored on start, rewritten atomically on every accepted change.
    #[arg(
        long,
        global = true,
        env = "ARC_LOCAL_STATE",
        value_name = "FILE",
        default_value = "arc-local-state.json"
    )]
    state: PathBuf,

    /// Address to listen on (API and DNS).
    #[arg(long, global = true, env = "ARC_LOCAL_BIND", value_name = "IP", default_value = "127.0.0.1", value_parser = parse_bind)]
    bind: IpAddr,

    /// First data-plane port; the five endpoints listen on it and the next four.
    #[arg(long, global = true, env = "ARC_LOCAL_API_PORT", value_name = "N", default_value_t = DEFAULT_API_PORT, value_parser = parse_api_port)]
    api_port: u16,

    /// DNS port (UDP and TCP).
    #[arg(long, global = true, env = "ARC_LOCAL_DNS_PORT", value_name = "N", default_value_t = DEFAULT_DNS_PORT, value_parser = parse_dns_port)]
    dns_port: u16,

    /// TTL of DNS answers, in seconds.
    #[arg(long, global = true, env = "ARC_LOCAL_TTL", value_name = "SECONDS", default_value_t = 1, value_parser = parse_ttl)]
    ttl: u32,

    /// Port of the recovery-control-config API. Default: the first data-plane port + 10 (8610).
    #[arg(long, global = true, env = "ARC_LOCAL_CONFIG_PORT", value_name = "N", value_parser = parse_config_port)]
    config_port: Option<u16>,

    /// Host in the endpoint URLs that clusters report (ClusterEndpoints): how clients reach this
    /// instance. Default: the listen address, or 127.0.0.1 when listening on all addresses.
    #[arg(long, global = true, env = "ARC_LOCAL_ENDPOINT_HOST", value_name = "HOST", value_parser = parse_host)]
    endpoint_host: Option<String>,

    /// AWS account ID in the ARNs (and Owner) of what the config API creates.
    #[arg(long, global = true, env = "ARC_LOCAL_ACCOUNT_ID", value_name = "ID", default_value = "000000000000", value_parser = parse_account)]
    account_id: String,

    /// How long, in milliseconds, what the config API creates stays PENDING (and what it
    /// deletes PENDING_DELETION) before it is DEPLOYED (or gone).
    #[arg(long, global = true, env = "ARC_LOCAL_DEPLOY_DELAY_MS", value_name = "MS", default_value_t = 0, value_parser = parse_delay)]
    deploy_delay_ms: u64,

    /// Serve the five data-plane ports and the config port over HTTPS, with a server
    /// certificate signed by a local CA (made in --tls-dir at the first start, reused after).
    #[arg(long, global = true, env = "ARC_LOCAL_TLS", action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    tls: bool,

    /// Directory of the TLS files: ca.pem (the CA certificate to give clients), ca-key.pem,
    /// server.pem. Needed with --tls.
    #[arg(long, global = true, env = "ARC_LOCAL_TLS_DIR", value_name = "DIR")]
    tls_dir: Option<PathBuf>,

    /// More names (DNS names or IP addresses) for the server certificate, comma-separated, e.g.
    /// arc-local for compose; localhost, 127.0.0.1, ::1 and the endpoint host are always in it.
    #[arg(
        long,
        global = true,
        env = "ARC_LOCAL_TLS_NAMES",
        value_name = "NAMES",
        value_delimiter = ','
    )]
    tls_names: Vec<String>,

    /// Endpoints that fail every data-plane call, to rehearse endpoint outages: comma-separated
    /// ENDPOINT=FAULT, ENDPOINT an endpoint region (us-east-1, us-west-2, eu-west-1,
    /// ap-northeast-1, ap-southeast-2, in port order) or 0-4, FAULT unavailable, throttling,
    /// internal or denied.
    #[arg(long, global = true, env = "ARC_LOCAL_FAULTS", value_name = "LIST", default_value = "", value_parser = parse_faults)]
    faults: Faults,
}

/// The fault of each of the five endpoints.
#[derive(Clone, Debug, Default)]
struct Faults([Option<EndpointFault>; 5]);

fn parse_bind(s: &str) -> Result<IpAddr, String> {
    s.trim().parse().map_err(|_| {
        "not an IP address (--bind / ARC_LOCAL_BIND), e.g. 127.0.0.1 or 0.0.0.0".into()
    })
}

fn parse_port(s: &str, max: u16, what: &str) -> Result<u16, String> {
    match s.trim().parse::<u16>() {
        Ok(p) if (1..=max).contains(&p) => Ok(p),
        _ => Err(format!("{what} must be a port from 1 to {max}")),
    }
}

fn parse_api_port(s: &str) -> Result<u16, String> {
    parse_port(
        s,
        u16::MAX - 4,
        "--api-port / ARC_LOCAL_API_PORT (the first of five consecutive ports)",
    )
}

fn parse_dns_port(s: &str) -> Result<u16, String> {
    parse_port(s, u16::MAX, "--dns-port / ARC_LOCAL_DNS_PORT")
}

fn parse_config_port(s: &str) -> Result<u16, String> {
    parse_port(s, u16::MAX, "--config-port / ARC_LOCAL_CONFIG_PORT")
}

fn parse_host(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() || s.contains(['/', ' ', '@', '?', '#']) {
        return Err(format!(
            "--endpoint-host / ARC_LOCAL_ENDPOINT_HOST {s:?} is not a host name or address"
        ));
    }
    Ok(s.to_owned())
}

fn parse_account(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err("--account-id / ARC_LOCAL_ACCOUNT_ID must be 12 digits".into())
    }
}

fn parse_delay(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(ms) if ms <= 3_600_000 => Ok(ms),
        _ => Err(
            "--deploy-delay-ms / ARC_LOCAL_DEPLOY_DELAY_MS must be a number of milliseconds from 0 to 3600000"
                .into(),
        ),
    }
}

fn parse_ttl(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(t) if t <= i32::MAX as u32 => Ok(t),
        _ => Err("--ttl / ARC_LOCAL_TTL must be a number of seconds from 0 to 2147483647".into()),
    }
}

fn parse_faults(s: &str) -> Result<Faults, String> {
    let mut faults = Faults::default();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (endpoint, fault) = item.split_once('=').ok_or_else(|| {
            format!("--faults / ARC_LOCAL_FAULTS: {item:?} is not ENDPOINT=FAULT")
        })?;
        let endpoint = endpoint.trim();
        let index = ENDPOINT_REGIONS
            .iter()
            .position(|r| *r == endpoint)
            .or_else(|| endpoint.parse::<usize>().ok().filter(|i| *i < 5))
            .ok_or_else(|| {
                format!(
                    "--faults / ARC_LOCAL_FAULTS: {endpoint:?} is not an endpoint ({} or 0-4)",
                    ENDPOINT_REGIONS.join(", ")
                )
            })?;
        faults.0[index] = Some(
            fault
                .trim()
                .parse::<EndpointFault>()
                .map_err(|e| format!("--faults / ARC_LOCAL_FAULTS: {e}"))?,
        );
    }
    Ok(faults)
}

/// An error and its causes on one line, without repeating a cause its parent already quotes.
fn describe(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text
}

fn main() -> ExitCode {
    // An empty ARC_LOCAL_* variable means "not set", as for the other binaries' variables.
    for (name, value) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("ARC_LOCAL_") && value.to_string_lossy().trim().is_empty() {
            std::env::remove_var(&*name);
        }
    }
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            bootstrap::logging::init();
            let result = bootstrap::runtime::build()
                .context("cannot start")
                .and_then(|rt| rt.block_on(serve(cli.options)));
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    let e = describe(&e);
                    tracing::error!(error = %e, "arc-local stopped on an error");
                    eprintln!("arc-local: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Healthcheck => healthcheck(&cli.options),
        Command::Document { api_host } => match document(&cli.options, &api_host) {
            Ok(text) => {
                use std::io::Write;
                match writeln!(std::io::stdout().lock(), "{text}") {
                    Ok(()) => ExitCode::SUCCESS,
                    // `arc-local document | head`: the reader has what it wanted.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("arc-local: cannot write the document: {e}");
                        ExitCode::FAILURE
                    }
                }
            }
            Err(e) => {
                eprintln!("arc-local: {}", describe(&e));
                ExitCode::FAILURE
            }
        },
    }
}

fn healthcheck(options: &Options) -> ExitCode {
    let result = (|| -> anyhow::Result<()> {
        let timeout = bootstrap::env::parse::<u64>("HEALTHCHECK_TIMEOUT_MS")?.map_or(
            bootstrap::healthcheck::DEFAULT_TIMEOUT,
            Duration::from_millis,
        );
        let ca_file = match options.tls {
            true => Some(
                options
                    .tls_dir
                    .as_deref()
                    .context(
                        "--tls needs --tls-dir DIR (ARC_LOCAL_TLS_DIR), where the CA certificate is",
                    )?
                    .join(arc_local::CA_FILE),
            ),
            false => None,
        };
        arc_local::healthcheck(options.api_port, ca_file.as_deref(), timeout)?;
        Ok(())
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("healthcheck failed: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

fn document(options: &Options, api_host: &str) -> anyhow::Result<String> {
    if api_host.is_empty() || api_host.contains(['/', ' ']) {
        anyhow::bail!("--api-host {api_host:?} is not a host name or address");
    }
    let doc = settings(options).cluster_document(api_host)?;
    Ok(serde_json::to_string_pretty(&doc)?)
}

/// The library's settings from the options.
fn settings(options: &Options) -> Settings {
    Settings {
        topology: options
            .topology
            .clone()
            .map_or(TopologySource::Default, TopologySource::File),
        state_file: options.state.clone(),
        bind: options.bind,
        api_port: options.api_port,
        config_port: options.config_port,
        dns_port: options.dns_port,
        ttl: options.ttl,
        endpoint_host: options.endpoint_host.clone(),
        account_id: options.account_id.clone(),
        deploy_delay_ms: options.deploy_delay_ms,
        tls: options.tls.then(|| TlsSettings {
            dir: options.tls_dir.clone().unwrap_or_default(),
            names: options.tls_names.clone(),
        }),
        endpoint_faults: options.faults.0,
    }
}

async fn serve(options: Options) -> anyhow::Result<()> {
    if options.tls && options.tls_dir.is_none() {
        anyhow::bail!(
            "--tls needs --tls-dir DIR (ARC_LOCAL_TLS_DIR): where the CA certificate is written"
        );
    }
    let settings = settings(&options);
    arc_local::serve(settings, bootstrap::shutdown::signal()).await?;
    Ok(())
}
