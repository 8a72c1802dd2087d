//! The audit trail: every routing-control change `activate`, `deactivate`, a plan (`plan run`,
//! `evacuate`, a rollback) or the console makes writes one [`Record`]: who (the AWS caller
//! identity from STS against a cluster in AWS; the local user and host against arc-local), through
//! what, which change from which states, the safety rules evaluated on it (from the cluster
//! document, as `check` reads them), the result and when. Each record is one JSON line on stderr
//! and is appended to `audit.jsonl` in the report directory, where the console reads the last
//! ones. In AWS, CloudTrail records the same ARC calls with the caller's identity; this trail
//! adds the why (via, rules, states) and covers arc-local.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use recovery::{ArcClient, ArcError, ClusterDocument, ControlState};
use serde::{Deserialize, Serialize};

use crate::cmd::check::rules;
use crate::cmd::status;

/// The file the records are appended to, in the report directory.
pub const FILE: &str = "audit.jsonl";

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Who {
    /// `aws` (the identity from STS `GetCallerIdentity`) or `local` (user and host).
    pub kind: String,
    /// The caller's ARN, or `user@host`; `unknown` when it could not be found (see `error`).
    pub identity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Who {
    /// The person at this machine: `$USER` (or `$LOGNAME`) at the host name.
    pub fn local() -> Who {
        let user = ["USER", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| "unknown-user".into());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown-host".into());
        Who {
            kind: "local".into(),
            identity: format!("{user}@{host}"),
            account: None,
            error: None,
        }
    }

    /// The AWS caller identity (STS `GetCallerIdentity` in `region`, through the same rustls
    /// client with bundled roots as every other SDK client here), bounded by `timeout`.
    pub async fn aws(region: &str, timeout: Duration) -> Who {
        let conf = aws_config::defaults(BehaviorVersion::latest())
            .http_client(recovery::tls::http_client(None))
            .region(Region::new(region.to_owned()))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(timeout)
                    .operation_timeout(timeout)
                    .build(),
            )
            .load()
            .await;
        let sts = aws_sdk_sts::Client::new(&conf);
        let answer = tokio::time::timeout(timeout * 2, sts.get_caller_identity().send()).await;
        let unknown = |error: String| Who {
            kind: "aws".into(),
            identity: "unknown".into(),
            account: None,
            error: Some(error),
        };
        match answer {
            Ok(Ok(id)) => Who {
                kind: "aws".into(),
                identity: id.arn().unwrap_or("unknown").to_owned(),
                account: id.account().map(str::to_owned),
                error: None,
            },
            Ok(Err(e)) => unknown(format!(
                "GetCallerIdentity failed: {}",
                crate::error::Chain(&e)
            )),
            Err(_) => unknown("GetCallerIdentity timed out".into()),
        }
    }

    /// `aws` when the document's endpoints are AWS's, else `local`.
    pub async fn of(doc: &ClusterDocument, timeout: Duration) -> Who {
        let in_aws = !doc.endpoints.is_empty()
            && doc
                .endpoints
                .iter()
                .all(|e| !recovery::client::is_local(&e.url));
        match doc.endpoints.first() {
            Some(first) if in_aws => Who::aws(&first.region, timeout).await,
            _ => Who::local(),
        }
    }
}

/// One safety rule's verdict on the change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub rule: String,
    pub passes: bool,
    pub reading: String,
    /// Passed deliberately with `--override`.
    pub overridden: bool,
}

/// One routing-control change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// RFC 3339, when the change was asked for and when its answer came.
    pub started_at: String,
    pub ended_at: String,
    pub who: Who,
    /// Through what: `failover activate`, `plan "evacuate us-east-1"`, `console: ...`.
    pub via: String,
    /// `activate` or `deactivate`.
    pub action: String,
    pub app: String,
    pub region: String,
    pub cluster: String,
    /// Each region's control before the change (`null`: could not be read).
    pub from: BTreeMap<String, Option<String>>,
    /// Each region's control the change asked for.
    pub to: BTreeMap<String, String>,
    pub safety_rules: Vec<Rule>,
    /// `applied`, `refused` (a safety rule blocked it: ConflictException) or `failed`.
    pub result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Writes the records of one command or console.
#[derive(Clone, Debug)]
pub struct Trail {
    who: Who,
    via: String,
    file: PathBuf,
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

impl Trail {
    /// A trail for changes made `via` something, by `who`, appended under `report_dir`.
    pub fn new(who: Who, via: impl Into<String>, report_dir: &Path) -> Trail {
        Trail {
            who,
            via: via.into(),
            file: report_dir.join(FILE),
        }
    }

    /// The same trail, changes made through something else.
    pub fn via(&self, via: impl Into<String>) -> Trail {
        Trail {
            via: via.into(),
            ..self.clone()
        }
    }

    /// Makes the change `call` (the update of `entries` on `app`) and records it: the controls'
    /// states are read first (a failed read is recorded as unknown states and does not stop the
    /// change). Returns the call's result.
    #[allow(clippy::too_many_arguments)]
    pub async fn change(
        &self,
        doc: &ClusterDocument,
        arc: &ArcClient,
        action: &str,
        app: &str,
        region: &str,
        entries: &[(String, ControlState)],
        overrides: &[String],
        call: impl Future<Output = Result<(), ArcError>>,
    ) -> Result<(), ArcError> {
        let entry = &doc.apps[app];
        let states: Option<BTreeMap<String, ControlState>> = status::list(doc, arc, &[app])
            .await
            .ok()
            .map(|controls| controls.into_iter().map(|c| (c.arn, c.state)).collect());
        let region_of = |arn: &str| doc.control(arn).map_or("?", |(_, r)| r).to_owned();
        let from = entry
            .regions
            .iter()
            .map(|(r, e)| {
                let state = states.as_ref().map(|s| {
                    s.get(&e.routing_control_arn)
                        .map_or("Off", |s| s.as_str())
                        .to_owned()
                });
                (r.clone(), state)
            })
            .collect();
        let to = entries
            .iter()
            .map(|(arn, s)| (region_of(arn), s.as_str().to_owned()))
            .collect();
        let safety_rules = match &states {
            Some(s) => rules::evaluate(entry, s, entries)
                .into_iter()
                .map(|v| Rule {
                    overridden: entry.safety_rules.iter().any(|r| {
                        r.name() == v.rule && overrides.iter().any(|o| Some(o.as_str()) == r.arn())
                    }),
                    rule: v.rule,
                    passes: v.passes,
                    reading: v.reading,
                })
                .collect(),
            None => Vec::new(),
        };
        let started_at = now();
        let result = call.await;
        let (result_word, error) = match &result {
            Ok(()) => ("applied", None),
            Err(ArcError::Conflict(m)) => ("refused", Some(format!("ConflictException: {m}"))),
            Err(e) => ("failed", Some(e.to_string())),
        };
        self.write(&Record {
            started_at,
            ended_at: now(),
            who: self.who.clone(),
            via: self.via.clone(),
            action: action.into(),
            app: app.into(),
            region: region.into(),
            cluster: doc.cluster_arn.clone(),
            from,
            to,
            safety_rules,
            result: result_word.into(),
            error,
        });
        result
    }

    /// The record as one JSON line on stderr and appended to the file. A file that cannot be
    /// written is said on stderr; the change it records has happened either way.
    pub fn write(&self, record: &Record) {
        let line = serde_json::to_string(record).expect("a record serialises");
        eprintln!("{line}");
        if let Err(e) = append(&self.file, &line) {
            eprintln!(
                "failover: cannot append the audit record to {}: {e}",
                self.file.display()
            );
        }
    }
}

/// Appends `line` and a newline in one write (O_APPEND: lines from several processes do not
/// interleave).
fn append(file: &Path, line: &str) -> std::io::Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    f.write_all(format!("{line}\n").as_bytes())
}

/// The last `n` records of the trail in `report_dir` (oldest first), reading at most its last
/// 256 KiB; a line that is not a record is skipped.
pub fn last(report_dir: &Path, n: usize) -> std::io::Result<Vec<Record>> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut f = match std::fs::File::open(report_dir.join(FILE)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    let start = len.saturating_sub(256 * 1024);
    f.seek(SeekFrom::Start(start))?;
    let mut text = String::new();
    f.take(256 * 1024).read_to_string(&mut text)?;
    // A read that started mid-line drops that partial first line.
    let lines: Vec<&str> = text.lines().skip(usize::from(start > 0)).collect();
    let mut records: Vec<Record> = lines
        .iter()
        .rev()
        .filter_map(|l| serde_json::from_str(l).ok())
        .take(n)
        .collect();
    records.reverse();
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_records_are_read_back_in_order_skipping_other_lines() {
        let dir = tempfile::tempdir().unwrap();
        assert!(last(dir.path(), 5).unwrap().is_empty(), "no file yet");
        let trail = Trail::new(Who::local(), "test", &dir.path().join("sub"));
        let record = |app: &str| Record {
            started_at: now(),
            ended_at: now(),
            who: Who::local(),
            via: "test".into(),
            action: "activate".into(),
            app: app.into(),
            region: "us-west-2".into(),
            cluster: "arn:cluster".into(),
            from: BTreeMap::new(),
            to: BTreeMap::new(),
            safety_rules: Vec::new(),
            result: "applied".into(),
            error: None,
        };
        for app in ["a", "b", "c"] {
            trail.write(&record(app));
        }
        append(&dir.path().join("sub").join(FILE), "not a record").unwrap();
        let got = last(&dir.path().join("sub"), 2).unwrap();
        let apps: Vec<&str> = got.iter().map(|r| r.app.as_str()).collect();
        assert_eq!(apps, ["b", "c"]);
        assert_eq!(
            got[1],
            Record {
                app: "c".into(),
                ..got[1].clone()
            }
        );
        assert!(Who::local().identity.contains('@'));
    }
}
