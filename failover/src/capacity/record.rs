//! The capacity record: the last running task count read per app and region, with when it was
//! read. `failover check --record-capacity FILE` keeps it up to date (a region that cannot be
//! read keeps its earlier entry); `failover evacuate --capacity-record FILE` sizes the standby
//! from it when the region being left cannot be read. The readiness workflow keeps the file
//! outside AWS (a workflow artefact), so it survives the outage it is for.
//!
//! The file is JSON: `{"version": 1, "cluster_arn": "...", "apps": {"<app>": {"<region>":
//! {"running": 4, "desired": 4, "healthy_targets": 4, "recorded_at": "<RFC 3339>"}}}}`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::Capacity;

/// The only version this build reads and writes.
pub const VERSION: u32 = 1;

/// A capacity record that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("capacity record {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("capacity record {path} is not a capacity record: {message}")]
    Invalid { path: String, message: String },
    #[error(
        "capacity record {path} is for cluster {found}, not {expected} (the cluster document's)"
    )]
    OtherCluster {
        path: String,
        found: String,
        expected: String,
    },
}

/// The record: per app, per region, the last capacity read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityRecord {
    pub version: u32,
    pub cluster_arn: String,
    pub apps: BTreeMap<String, BTreeMap<String, Recorded>>,
}

/// One region's capacity when it was last read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    pub running: u32,
    pub desired: u32,
    pub healthy_targets: u32,
    /// RFC 3339, UTC.
    pub recorded_at: String,
}

impl Recorded {
    /// How long ago it was read, as `1h 5m` (seconds dropped), or `unknown` for a time this
    /// build cannot parse.
    pub fn age(&self, now: SystemTime) -> String {
        match humantime::parse_rfc3339(&self.recorded_at) {
            Ok(at) => {
                let secs = now.duration_since(at).map_or(0, |d| d.as_secs());
                let rounded = std::time::Duration::from_secs(secs - secs % 60);
                if secs < 60 {
                    "under a minute".into()
                } else {
                    humantime::format_duration(rounded).to_string()
                }
            }
            Err(_) => "unknown".into(),
        }
    }
}

impl CapacityRecord {
    /// An empty record for `cluster_arn`.
    pub fn new(cluster_arn: &str) -> CapacityRecord {
        CapacityRecord {
            version: VERSION,
            cluster_arn: cluster_arn.to_owned(),
            apps: BTreeMap::new(),
        }
    }

    /// Reads a record and checks that it is for `cluster_arn`.
    pub fn load(path: &Path, cluster_arn: &str) -> Result<CapacityRecord, RecordError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| RecordError::Io {
            path: shown.clone(),
            source,
        })?;
        let record: CapacityRecord =
            serde_json::from_str(&text).map_err(|e| RecordError::Invalid {
                path: shown.clone(),
                message: e.to_string(),
            })?;
        if record.version != VERSION {
            return Err(RecordError::Invalid {
                path: shown,
                message: format!("version {} (this build reads {VERSION})", record.version),
            });
        }
        if record.cluster_arn != cluster_arn {
            return Err(RecordError::OtherCluster {
                path: shown,
                found: record.cluster_arn,
                expected: cluster_arn.to_owned(),
            });
        }
        Ok(record)
    }

    /// The record at `path` when there is one (else a new one), with `readings` written over it:
    /// a region read now replaces its entry, the others stay as they were. Written through a
    /// temporary file and a rename, so a reader never sees half a record.
    pub fn update_file(
        path: &Path,
        cluster_arn: &str,
        readings: &[(&str, &str, &Capacity)],
        now: SystemTime,
    ) -> Result<CapacityRecord, RecordError> {
        let mut record = if path.exists() {
            CapacityRecord::load(path, cluster_arn)?
        } else {
            CapacityRecord::new(cluster_arn)
        };
        for (app, region, c) in readings {
            record.set(app, region, c, now);
        }
        let io = |source| RecordError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let json = serde_json::to_string_pretty(&record).expect("a record serialises") + "\n";
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(record)
    }

    /// Notes `c` as `app`'s capacity in `region` at `at`.
    pub fn set(&mut self, app: &str, region: &str, c: &Capacity, at: SystemTime) {
        self.apps.entry(app.to_owned()).or_default().insert(
            region.to_owned(),
            Recorded {
                running: c.running,
                desired: c.desired,
                healthy_targets: c.healthy_targets,
                recorded_at: humantime::format_rfc3339_seconds(at).to_string(),
            },
        );
    }

    /// `app`'s last recorded capacity in `region`.
    pub fn get(&self, app: &str, region: &str) -> Option<&Recorded> {
        self.apps.get(app).and_then(|r| r.get(region))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn cap(running: u32) -> Capacity {
        Capacity {
            desired: running,
            running,
            healthy_targets: running,
            targets: running,
            target_groups: 1,
        }
    }

    #[test]
    fn a_region_not_read_keeps_its_entry_and_the_file_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capacity.json");
        let t0 = humantime::parse_rfc3339("2026-01-02T03:04:05Z").unwrap();
        CapacityRecord::update_file(
            &path,
            "arn:c",
            &[
                ("service1", "us-east-1", &cap(4)),
                ("service1", "us-west-2", &cap(1)),
            ],
            t0,
        )
        .unwrap();
        let t1 = t0 + Duration::from_secs(1800);
        let r =
            CapacityRecord::update_file(&path, "arn:c", &[("service1", "us-west-2", &cap(2))], t1)
                .unwrap();
        assert_eq!(r, CapacityRecord::load(&path, "arn:c").unwrap());
        let east = r.get("service1", "us-east-1").unwrap();
        assert_eq!(
            (east.running, east.recorded_at.as_str()),
            (4, "2026-01-02T03:04:05Z")
        );
        assert_eq!(r.get("service1", "us-west-2").unwrap().running, 2);
        assert_eq!(east.age(t1 + Duration::from_secs(59)), "30m");
        assert_eq!(east.age(t0 + Duration::from_secs(5)), "under a minute");
        assert!(r.get("service2", "us-east-1").is_none());

        let other = CapacityRecord::load(&path, "arn:other").unwrap_err();
        assert!(other
            .to_string()
            .contains("is for cluster arn:c, not arn:other"));
        std::fs::write(
            &path,
            "{\"version\": 2, \"cluster_arn\": \"arn:c\", \"apps\": {}}",
        )
        .unwrap();
        let newer = CapacityRecord::load(&path, "arn:c")
            .unwrap_err()
            .to_string();
        assert!(newer.contains("version 2 (this build reads 1)"), "{newer}");
        std::fs::write(&path, "[]").unwrap();
        assert!(CapacityRecord::load(&path, "arn:c")
            .unwrap_err()
            .to_string()
            .contains("is not a capacity record"));
        let missing = CapacityRecord::load(&dir.path().join("none.json"), "arn:c").unwrap_err();
        assert!(matches!(missing, RecordError::Io { .. }));
    }
}
