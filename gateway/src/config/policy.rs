//! The policy tables: `[policy.NAME]` (what a route's `policies = [...]` names, in order),
//! `[plan.NAME]` (usage plans: rate, burst and quota), `[api_keys]` (where the key set comes
//! from) and `[limits]` (whether limit state lives in the process or in Redis). Checked here;
//! [`crate::policy`] builds the running policies from the result. No secret is ever recorded
//! in the effective configuration: an inline key set and the Redis password appear only as
//! "set (not shown)".

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use super::schema::{settings, Resolver, Setting, Source, Table};
use super::{invalid, ConfigError, RouteConfig};

/// `[policy.NAME]` as written: `type` picks the policy.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PolicyFile {
    /// A key in `x-api-key` is required (403 without a known, enabled one); the key's usage plan
    /// limits it.
    ApiKey,
    /// One limit for the route, all clients together (API Gateway's route throttling).
    RateLimit { rate: f64, burst: u32 },
}

/// `[plan.NAME]` as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    rate: f64,
    burst: u32,
    #[serde(default)]
    quota: Option<u64>,
    #[serde(default)]
    period: Option<Period>,
}

/// A steady rate (requests per second) and the burst allowed above it (GCRA, a token bucket).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

/// A quota's period, in UTC: a calendar day, an ISO week (from Monday) or a calendar month.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }
}

/// Requests a key may make per period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuotaSpec {
    pub limit: u64,
    pub period: Period,
}

/// A usage plan: what one key may do.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub rate: Rate,
    pub quota: Option<QuotaSpec>,
}

/// A named policy, checked.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicySpec {
    ApiKey,
    RateLimit(Rate),
}

/// Where the key set comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum KeySource {
    /// A file, read at start and again on change or SIGHUP.
    File(String),
    /// The file's content in an environment variable (a Secrets Manager secret given to the
    /// task definition's `secrets`); read once at start.
    Inline(Secret),
}

/// A value that is never printed.
#[derive(Clone, PartialEq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(not shown)")
    }
}

/// Where limit state lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitMode {
    /// In the process, shared by its workers: exact for one instance.
    Local,
    /// In Redis, shared by every instance of the region.
    Global,
}

impl Setting for LimitMode {
    fn from_toml(v: toml::Value) -> Result<Self, String> {
        match v {
            toml::Value::String(s) => Self::from_env(&s),
            other => Err(format!("expected \"local\" or \"global\", found {other}")),
        }
    }
    fn from_env(s: &str) -> Result<Self, String> {
        match s.trim() {
            "local" => Ok(LimitMode::Local),
            "global" => Ok(LimitMode::Global),
            other => Err(format!("{other:?} is not local or global")),
        }
    }
    fn show(&self) -> String {
        match self {
            LimitMode::Local => "local".into(),
            LimitMode::Global => "global".into(),
        }
    }
    fn to_toml(&self) -> String {
        format!("{:?}", self.show())
    }
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

settings! {
    /// Where the API key set comes from. `API_KEYS` (the file's content, not a path) may be
    /// given instead of a file.
    pub struct ApiKeysConfig / ApiKeysFile {
        /// A TOML file of `[[key]]` entries (id, name, digest, plan, enabled).
        file: Option<String> = None, |_| true, "", env "API_KEYS_FILE";
        /// How often the file is checked for a change (size, modification time, content).
        reload_interval: Duration = ms(2000), |v| (ms(100)..=ms(3_600_000)).contains(v),
            "must be between 100ms and 1h";
    }
}

settings! {
    /// Where limit state lives, and how the gateway behaves when the shared engine fails.
    pub struct LimitsConfig / LimitsFile {
        /// `local` (in the process) or `global` (Redis/Valkey, one per region).
        mode: LimitMode = LimitMode::Local, |_| true, "", env "LIMITS_MODE";
        /// `redis://host:6379` or `rediss://host:6379` (TLS); no credentials: the password
        /// comes from `REDIS_PASSWORD`.
        redis_url: Option<String> = None, |v: &Option<String>| v.as_deref().is_none_or(redis_url_ok),
            "must be a redis:// or rediss:// URL without credentials (the password goes in REDIS_PASSWORD)",
            env "REDIS_URL";
        /// Bound on one limit decision in Redis (connect included); past it the request is
        /// judged by the local share instead.
        timeout: Duration = ms(50), |v| (ms(1)..=ms(5000)).contains(v),
            "must be between 1ms and 5s", env "LIMITS_TIMEOUT";
        /// Gateway instances expected in the region: while Redis cannot be reached each
        /// instance admits this share of every limit.
        expected_instances: u32 = 1, |v| (1..=10_000).contains(v), "must be 1-10000",
            env "EXPECTED_INSTANCES";
        /// While Redis is down, one request in this interval tries it again; the rest go
        /// straight to the local share.
        retry_interval: Duration = ms(1000), |v| (ms(10)..=ms(60_000)).contains(v),
            "must be between 10ms and 60s";
    }
}

fn redis_url_ok(url: &str) -> bool {
    let rest = url
        .strip_prefix("redis://")
        .or_else(|| url.strip_prefix("rediss://"));
    rest.is_some_and(|r| {
        let authority = r.split('/').next().unwrap_or("");
        !authority.is_empty() && !authority.contains('@')
    })
}

/// The policy part of the configuration, checked.
#[derive(Clone, Debug, Default)]
pub struct PolicyConfig {
    pub policies: BTreeMap<String, PolicySpec>,
    pub plans: BTreeMap<String, Plan>,
    pub keys: Option<KeySource>,
    pub api_keys: ApiKeysConfig,
    pub limits: LimitsConfig,
    pub redis_password: Option<Secret>,
}

/// The policy tables as the file holds them.
pub(super) struct PolicyTables {
    pub policy: BTreeMap<String, PolicyFile>,
    pub plan: BTreeMap<String, PlanFile>,
    pub api_keys: Option<ApiKeysFile>,
    pub limits: Option<LimitsFile>,
}

fn rate(key: &str, per_second: f64, burst: u32) -> Result<Rate, ConfigError> {
    if !(per_second > 0.0 && per_second <= 1e6) {
        return Err(invalid(
            format!("{key}.rate"),
            per_second,
            "must be above 0 and at most 1000000 (requests per second)",
        ));
    }
    if !(1..=1_000_000).contains(&burst) {
        return Err(invalid(format!("{key}.burst"), burst, "must be 1-1000000"));
    }
    Ok(Rate { per_second, burst })
}

/// Checks the policy tables against the routes that name them and records them for
/// `gateway config`.
pub(super) fn load(
    t: PolicyTables,
    env: fn(&str) -> Option<String>,
    routes: &[RouteConfig],
    effective: &mut Vec<Table>,
    warnings: &mut Vec<String>,
) -> Result<PolicyConfig, ConfigError> {
    let mut out = PolicyConfig::default();
    for (i, r) in routes.iter().enumerate() {
        for name in &r.settings.policies {
            if !t.policy.contains_key(name) {
                return Err(invalid(
                    format!("route[{i}].policies"),
                    name,
                    format!("no [policy.{name}] table defines it"),
                ));
            }
        }
    }
    let used = |name: &str| {
        routes
            .iter()
            .any(|r| r.settings.policies.iter().any(|p| p == name))
    };
    for (name, p) in t.policy {
        let key = format!("policy.{name}");
        let mut table = Table::new(&format!("[policy.{}]", quoted(&name)));
        let spec = match p {
            PolicyFile::ApiKey => {
                table.push("type", "\"api_key\"".into(), Source::File);
                PolicySpec::ApiKey
            }
            PolicyFile::RateLimit { rate: r, burst } => {
                table.push("type", "\"rate_limit\"".into(), Source::File);
                table.push("rate", r.to_string(), Source::File);
                table.push("burst", burst.to_string(), Source::File);
                PolicySpec::RateLimit(rate(&key, r, burst)?)
            }
        };
        if !used(&name) {
            warnings.push(format!(
                "[{key}] has no effect: no route names it in policies"
            ));
        }
        out.policies.insert(name, spec);
        effective.push(table);
    }
    let needs_keys = out.policies.values().any(|p| *p == PolicySpec::ApiKey);
    for (name, p) in t.plan {
        let key = format!("plan.{name}");
        let mut table = Table::new(&format!("[plan.{}]", quoted(&name)));
        table.push("rate", p.rate.to_string(), Source::File);
        table.push("burst", p.burst.to_string(), Source::File);
        let quota = match (p.quota, p.period) {
            (Some(0), _) => return Err(invalid(format!("{key}.quota"), 0, "must be at least 1")),
            (Some(limit), Some(period)) => {
                table.push("quota", limit.to_string(), Source::File);
                table.push("period", format!("{:?}", period.as_str()), Source::File);
                Some(QuotaSpec { limit, period })
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err(invalid(
                    format!("{key}.period"),
                    "",
                    "is required with a quota: \"day\", \"week\" or \"month\"",
                ))
            }
            (None, Some(period)) => {
                return Err(invalid(
                    format!("{key}.period"),
                    period.as_str(),
                    "needs a quota",
                ))
            }
        };
        let plan = Plan {
            rate: rate(&key, p.rate, p.burst)?,
            quota,
        };
        if !needs_keys {
            warnings.push(format!("[{key}] has no effect: no api_key policy"));
        }
        out.plans.insert(name, plan);
        effective.push(table);
    }

    let mut table = Table::new("[api_keys]");
    let given = t.api_keys.is_some() || env("API_KEYS_FILE").is_some() || env("API_KEYS").is_some();
    out.api_keys = t.api_keys.unwrap_or_default().resolve(
        None,
        &mut Resolver {
            env: &env,
            table: &mut table,
            prefix: "api_keys.",
        },
    )?;
    out.keys = match (env("API_KEYS"), &out.api_keys.file) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "API_KEYS",
                "(not shown)",
                "give the key set either inline (API_KEYS) or as a file (api_keys.file, API_KEYS_FILE), not both",
            ))
        }
        (Some(text), None) => {
            table.push("keys", String::new(), Source::Hidden("API_KEYS"));
            Some(KeySource::Inline(Secret(text)))
        }
        (None, Some(path)) => Some(KeySource::File(path.clone())),
        (None, None) => None,
    };
    match (needs_keys, out.keys.is_some()) {
        (true, false) => {
            return Err(invalid(
                "api_keys.file",
                "",
                "an api_key policy needs a key set: set api_keys.file, API_KEYS_FILE or API_KEYS",
            ))
        }
        (false, true) => warnings.push("[api_keys] has no effect: no api_key policy".into()),
        _ => {}
    }
    if needs_keys || given {
        effective.push(table);
    }

    let mut table = Table::new("[limits]");
    let given = t.limits.is_some();
    out.limits = t.limits.unwrap_or_default().resolve(
        None,
        &mut Resolver {
            env: &env,
            table: &mut table,
            prefix: "limits.",
        },
    )?;
    if out.limits.mode == LimitMode::Global && out.limits.redis_url.is_none() {
        return Err(invalid(
            "limits.redis_url",
            "",
            "global mode needs Redis: set limits.redis_url or REDIS_URL",
        ));
    }
    out.redis_password = env("REDIS_PASSWORD").map(Secret);
    if out.redis_password.is_some() {
        table.push("password", String::new(), Source::Hidden("REDIS_PASSWORD"));
    }
    let limited = needs_keys || out.policies.values().any(|p| p != &PolicySpec::ApiKey);
    if given && !limited {
        warnings.push("[limits] has no effect: no api_key or rate_limit policy".into());
    }
    if limited || given {
        effective.push(table);
    }
    Ok(out)
}

/// A table name as a TOML key: bare when it can be.
fn quoted(name: &str) -> String {
    if !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        name.to_owned()
    } else {
        format!("{name:?}")
    }
}
