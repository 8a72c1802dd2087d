//! The evidence of a run (with [`super::timeline`]'s HTML page): one JSON file (the plan, every step with its start, end, result, lines,
//! calls and gate readings, the rollback, the moves, the measured recovery and the probe's raw
//! samples) and one Markdown page for people, both in the report directory, named after the plan
//! and the start time.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::recovery::{Moved, Recovery};
use super::sampler::Sample;
use super::StepRecord;

/// Everything a run leaves behind.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub plan: String,
    pub dry_run: bool,
    pub started_at: String,
    pub ended_at: String,
    /// `succeeded`, `failed`, `dry_run` or `dry_run_failed`.
    pub outcome: String,
    pub failure: Option<String>,
    /// Every step's warnings (`<step>: <warning>`): the reads that failed and what was used.
    pub warnings: Vec<String>,
    pub probe_url: Option<String>,
    pub steps: Vec<StepRecord>,
    pub rollback: Vec<StepRecord>,
    pub moved: Vec<Moved>,
    pub recovery: Option<Recovery>,
    pub samples: Vec<Sample>,
}

/// A report that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the report to {path}: {source}")]
pub struct WriteError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

/// A file-name-safe form of the plan name.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() {
        "plan".into()
    } else {
        s
    }
}

/// The files of one report.
#[derive(Clone, Debug)]
pub struct Written {
    pub json: PathBuf,
    pub markdown: PathBuf,
    /// The same page as self-contained HTML, with the timeline chart.
    pub html: PathBuf,
}

/// Writes `<dir>/<plan>-<time>.json`, `.md` and `.html`; returns their paths.
pub fn write(dir: &Path, report: &RunReport) -> Result<Written, WriteError> {
    let fail = |path: &Path| {
        let path = path.display().to_string();
        move |source| WriteError { path, source }
    };
    std::fs::create_dir_all(dir).map_err(fail(dir))?;
    let stamp: String = report
        .started_at
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let base = format!("{}-{stamp}", slug(&report.plan));
    let json_path = dir.join(format!("{base}.json"));
    let md_path = dir.join(format!("{base}.md"));
    let json = serde_json::to_string_pretty(report).expect("the report serialises");
    std::fs::write(&json_path, json + "\n").map_err(fail(&json_path))?;
    std::fs::write(&md_path, markdown(report)).map_err(fail(&md_path))?;
    let html_path = dir.join(format!("{base}.html"));
    std::fs::write(&html_path, super::timeline::html(report)).map_err(fail(&html_path))?;
    Ok(Written {
        json: json_path,
        markdown: md_path,
        html: html_path,
    })
}

fn ms(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v} ms"))
}

fn steps_table(out: &mut String, steps: &[StepRecord]) {
    out.push_str("| # | step | apps | to | start | end | took | result |\n|---|---|---|---|---|---|---|---|\n");
    for (i, s) in steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} ms | {} ms | {} ms | {} |",
            i + 1,
            s.name,
            s.apps.join(", "),
            s.to.as_deref().unwrap_or(""),
            s.started_ms,
            s.ended_ms,
            s.ended_ms.saturating_sub(s.started_ms),
            s.result
        );
    }
    for s in steps {
        if s.lines.is_empty() && s.calls.is_empty() && s.warnings.is_empty() && s.error.is_none() {
            continue;
        }
        let _ = writeln!(out, "\n**{}**\n", s.name);
        for l in &s.lines {
            let _ = writeln!(out, "- {l}");
        }
        for w in &s.warnings {
            let _ = writeln!(out, "- warning: {w}");
        }
        for c in &s.calls {
            let _ = writeln!(out, "- call: `{c}`");
        }
        if let Some(e) = &s.error {
            let _ = writeln!(out, "- **failed: {e}**");
        }
    }
}

/// The human page.
pub fn markdown(r: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}: {}\n", r.plan, r.outcome);
    let _ = writeln!(
        out,
        "- started {}, ended {}{}",
        r.started_at,
        r.ended_at,
        if r.dry_run {
            " (dry run: nothing was changed)"
        } else {
            ""
        }
    );
    if let Some(f) = &r.failure {
        let _ = writeln!(out, "- stopped: {f}");
    }
    for w in &r.warnings {
        let _ = writeln!(out, "- warning: {w}");
    }
    if let Some(u) = &r.probe_url {
        let _ = writeln!(out, "- probe: {u}");
    }
    let _ = writeln!(
        out,
        "\nTimes are milliseconds since the run started.\n\n## Steps\n"
    );
    steps_table(&mut out, &r.steps);
    if !r.rollback.is_empty() {
        out.push_str("\n## Rollback\n\n");
        steps_table(&mut out, &r.rollback);
    }
    let gates: Vec<_> = r.steps.iter().flat_map(|s| &s.gate).collect();
    if !gates.is_empty() {
        out.push_str("\n## Gate readings\n\n| app | standby | active | check | result | detail |\n|---|---|---|---|---|---|\n");
        for a in gates {
            for c in &a.checks {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    a.app,
                    a.region,
                    a.active_region,
                    c.check,
                    c.result.as_str(),
                    c.detail.replace('|', "\\|")
                );
            }
        }
    }
    out.push_str("\n## Recovery, measured by the probe\n\n");
    match &r.recovery {
        None => out.push_str("No probe ran (no probe URL).\n"),
        Some(rec) => {
            let _ = writeln!(
                out,
                "- recovery time (first activate call to the last app's first answer from its new region): **{}**",
                ms(rec.recovery_ms)
            );
            let _ = writeln!(
                out,
                "- requests: {}, failed: {} ({} during the switch)",
                rec.samples, rec.failed, rec.failed_during_switch
            );
            let _ = writeln!(
                out,
                "- p99 latency during the switch: {}",
                rec.p99_ms
                    .map_or_else(|| "-".into(), |v| format!("{v:.1} ms"))
            );
            if let Some((a, b)) = rec.window_ms {
                let _ = writeln!(out, "- switch window: {a} ms to {b} ms");
            }
            if !rec.apps.is_empty() {
                out.push_str("\n| app | from | to | first answer from `to` | last answer from `from` | recovery |\n|---|---|---|---|---|---|\n");
                for a in &rec.apps {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} | {} | {} |",
                        a.app,
                        a.from,
                        a.to,
                        ms(a.first_new_ms),
                        ms(a.last_old_ms),
                        ms(a.recovery_ms)
                    );
                }
            }
            if !rec.spans.is_empty() {
                out.push_str("\n| app | region | first answer | last answer | answers |\n|---|---|---|---|---|\n");
                for s in &rec.spans {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} ms | {} ms | {} |",
                        s.app, s.region, s.first_ms, s.last_ms, s.answers
                    );
                }
            }
        }
    }
    out.push_str("\nThe raw samples are in the JSON report (`samples`).\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_file_name_safe() {
        assert_eq!(super::slug("evacuate us-east-1"), "evacuate-us-east-1");
        assert_eq!(super::slug("../../etc"), "etc");
        assert_eq!(super::slug("!!"), "plan");
    }
}
