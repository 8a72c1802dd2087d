//! The recovery a run achieved, measured from the probe's raw samples only: per moved app, the
//! first answer from its new region after the first activate call and the last from its old one;
//! per app and region, the first and last answer; failed requests; p99 latency during the switch.
//! "Recovery time" runs from the first activate call to the last moved app's first answer from its
//! new region.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::sampler::Sample;

/// An app the run moved, and when its activate call started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    pub app: String,
    pub from: String,
    pub to: String,
    pub activated_at_ms: u64,
}

/// One moved app's switch, as the probe saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppRecovery {
    pub app: String,
    pub from: String,
    pub to: String,
    /// The first successful answer from `to` sent at or after the first activate call.
    pub first_new_ms: Option<u64>,
    /// The last successful answer from `from`.
    pub last_old_ms: Option<u64>,
    /// `first_new_ms` minus the first activate call's start.
    pub recovery_ms: Option<u64>,
}

/// When an app answered from a region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegionSpan {
    pub app: String,
    pub region: String,
    pub first_ms: u64,
    pub last_ms: u64,
    pub answers: u64,
}

/// The run's measured recovery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    pub samples: u64,
    pub failed: u64,
    /// Failed requests sent from the first activate call to the end of the switch window.
    pub failed_during_switch: u64,
    pub first_activate_ms: Option<u64>,
    /// From the first activate call to the last moved app's first answer from its new region;
    /// `None` when nothing moved or a moved app never answered from its new region.
    pub recovery_ms: Option<u64>,
    /// The switch window: the first activate call to the last first answer (or the last sample).
    pub window_ms: Option<(u64, u64)>,
    /// p99 latency of the requests sent in the switch window (all requests when none).
    pub p99_ms: Option<f64>,
    pub apps: Vec<AppRecovery>,
    pub spans: Vec<RegionSpan>,
}

/// The nearest-rank percentile `p` (0-100) of `values`.
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
}

/// Computes the recovery from the samples and the moves.
pub fn measure(samples: &[Sample], moved: &[Moved]) -> Recovery {
    let first_activate = moved.iter().map(|m| m.activated_at_ms).min();
    let apps: Vec<AppRecovery> = moved
        .iter()
        .map(|m| {
            let answered = |region: &str| -> Vec<u64> {
                samples
                    .iter()
                    .filter(|s| !s.failed() && s.region_of(&m.app) == Some(region))
                    .map(|s| s.at_ms)
                    .collect()
            };
            let start = first_activate.unwrap_or(0);
            let first_new = answered(&m.to).into_iter().filter(|t| *t >= start).min();
            AppRecovery {
                app: m.app.clone(),
                from: m.from.clone(),
                to: m.to.clone(),
                first_new_ms: first_new,
                last_old_ms: answered(&m.from).into_iter().max(),
                recovery_ms: first_new.map(|t| t - start),
            }
        })
        .collect();
    let recovery_ms = match (first_activate, apps.is_empty()) {
        (Some(_), false) if apps.iter().all(|a| a.recovery_ms.is_some()) => {
            apps.iter().filter_map(|a| a.recovery_ms).max()
        }
        _ => None,
    };
    let last_sample = samples.iter().map(|s| s.at_ms).max();
    let window = first_activate.map(|start| {
        let end = apps
            .iter()
            .map(|a| a.first_new_ms)
            .collect::<Option<Vec<u64>>>()
            .and_then(|v| v.into_iter().max())
            .or(last_sample)
            .unwrap_or(start)
            .max(start);
        (start, end)
    });
    let in_window = |s: &&Sample| window.is_none_or(|(a, b)| s.at_ms >= a && s.at_ms <= b);
    let mut latencies: Vec<f64> = samples
        .iter()
        .filter(in_window)
        .map(|s| s.latency_ms)
        .collect();
    let mut spans: BTreeMap<(String, String), RegionSpan> = BTreeMap::new();
    let app_names = ["external-api", "service1", "service2"];
    for s in samples.iter().filter(|s| !s.failed()) {
        for app in app_names {
            if let Some(region) = s.region_of(app) {
                let span = spans
                    .entry((app.to_owned(), region.to_owned()))
                    .or_insert(RegionSpan {
                        app: app.to_owned(),
                        region: region.to_owned(),
                        first_ms: s.at_ms,
                        last_ms: s.at_ms,
                        answers: 0,
                    });
                span.first_ms = span.first_ms.min(s.at_ms);
                span.last_ms = span.last_ms.max(s.at_ms);
                span.answers += 1;
            }
        }
    }
    Recovery {
        samples: samples.len() as u64,
        failed: samples.iter().filter(|s| s.failed()).count() as u64,
        failed_during_switch: if window.is_some() {
            samples
                .iter()
                .filter(in_window)
                .filter(|s| s.failed())
                .count() as u64
        } else {
            0
        },
        first_activate_ms: first_activate,
        recovery_ms,
        window_ms: window,
        p99_ms: percentile(&mut latencies, 99.0),
        apps,
        spans: spans.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(
        at_ms: u64,
        path: &str,
        gw: &str,
        svc: Option<&str>,
        status: u16,
        latency_ms: f64,
    ) -> Sample {
        Sample {
            at_ms,
            path: path.into(),
            status: Some(status),
            error: None,
            gateway_region: Some(gw.into()),
            service_region: svc.map(str::to_owned),
            latency_ms,
        }
    }

    #[test]
    fn recovery_runs_from_the_first_activate_to_the_last_first_new_answer() {
        let e = "us-east-1";
        let w = "us-west-2";
        let samples = vec![
            sample(0, "/service1", e, Some(e), 200, 1.0),
            sample(0, "/service2", e, Some(e), 200, 1.0),
            sample(100, "/service1", e, Some(e), 200, 2.0),
            sample(100, "/service2", e, Some(e), 502, 9.0),
            sample(200, "/service1", e, Some(w), 200, 3.0),
            sample(200, "/service2", e, Some(e), 200, 4.0),
            sample(300, "/service1", e, Some(w), 200, 5.0),
            sample(300, "/service2", e, Some(w), 200, 6.0),
            sample(400, "/service2", e, Some(w), 200, 100.0),
        ];
        let moved = vec![
            Moved {
                app: "service1".into(),
                from: e.into(),
                to: w.into(),
                activated_at_ms: 90,
            },
            Moved {
                app: "service2".into(),
                from: e.into(),
                to: w.into(),
                activated_at_ms: 95,
            },
        ];
        let r = measure(&samples, &moved);
        assert_eq!(r.first_activate_ms, Some(90));
        assert_eq!(r.apps[0].first_new_ms, Some(200));
        assert_eq!(r.apps[0].last_old_ms, Some(100));
        assert_eq!(r.apps[1].first_new_ms, Some(300));
        assert_eq!(r.apps[1].last_old_ms, Some(200));
        assert_eq!(r.recovery_ms, Some(210));
        assert_eq!(r.window_ms, Some((90, 300)));
        assert_eq!((r.samples, r.failed, r.failed_during_switch), (9, 1, 1));
        // Window samples: 100 (2, 9), 200 (3, 4), 300 (5, 6): p99 is the largest.
        assert_eq!(r.p99_ms, Some(9.0));
        let span = r
            .spans
            .iter()
            .find(|s| s.app == "service2" && s.region == e)
            .unwrap();
        assert_eq!((span.first_ms, span.last_ms, span.answers), (0, 200, 2));
        let gw = r.spans.iter().find(|s| s.app == "external-api").unwrap();
        assert_eq!((gw.first_ms, gw.last_ms, gw.answers), (0, 400, 8));
    }

    #[test]
    fn no_answer_from_the_new_region_means_no_recovery_time() {
        let samples = vec![sample(0, "/service1", "a", Some("a"), 200, 1.0)];
        let moved = vec![Moved {
            app: "service1".into(),
            from: "a".into(),
            to: "b".into(),
            activated_at_ms: 0,
        }];
        let r = measure(&samples, &moved);
        assert_eq!(r.recovery_ms, None);
        assert_eq!(measure(&samples, &[]).recovery_ms, None);
        assert_eq!(percentile(&mut [], 99.0), None);
        assert_eq!(percentile(&mut [3.0, 1.0, 2.0], 50.0), Some(2.0));
    }
}
