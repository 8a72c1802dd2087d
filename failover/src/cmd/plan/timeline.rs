//! The report as one self-contained HTML page (no script, no external file): the outcome and
//! recovery figures, a timeline chart of the probe's samples (one row per app, a mark per answer
//! coloured by the region that served it, failed answers in red, a line at each activate call
//! with its label on a row of its own (calls a few milliseconds apart would otherwise print their
//! labels over each other), and each step's span underneath), and the steps.

use std::fmt::Write as _;

use super::report::RunReport;
use super::sampler::Sample;

/// The apps on the chart, the probe path that shows each, and which hop names its region.
const ROWS: [(&str, &str); 3] = [
    ("external-api", "/"),
    ("service1", "/service1"),
    ("service2", "/service2"),
];
const COLOURS: [&str; 3] = ["#2f6fd6", "#d9822b", "#7a4fc9"];
const FAILED: &str = "#b3261e";

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn region_of<'a>(s: &'a Sample, app: &str) -> Option<&'a str> {
    s.region_of(app)
}

/// The page.
pub fn html(r: &RunReport) -> String {
    let mut regions: Vec<String> = Vec::new();
    for s in &r.samples {
        for (app, _) in ROWS {
            if let Some(reg) = region_of(s, app) {
                if !regions.iter().any(|x| x == reg) {
                    regions.push(reg.to_owned());
                }
            }
        }
    }
    let colour = |reg: Option<&str>| {
        reg.and_then(|x| regions.iter().position(|y| y == x))
            .map_or("#777", |i| COLOURS[i.min(COLOURS.len() - 1)])
    };
    let end = r
        .samples
        .iter()
        .map(|s| s.at_ms)
        .chain(r.steps.iter().map(|s| s.ended_ms))
        .max()
        .unwrap_or(0)
        .max(1);
    let (left, width, row) = (100.0, 820.0, 30.0);
    let x = |t: u64| left + t as f64 / end as f64 * width;
    // One label row per activate call, under the app rows, then the steps.
    let (label_row, labels_top) = (12.0, 15.0 + row * ROWS.len() as f64);
    let steps_top = labels_top + label_row * r.moved.len().max(1) as f64;
    let height = steps_top + 18.0 * r.steps.len() as f64 + 40.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" font-family="sans-serif" font-size="12">"#,
        left + width + 20.0
    );
    for (i, (app, path)) in ROWS.iter().enumerate() {
        let y = 10.0 + row * i as f64;
        let _ = write!(svg, r#"<text x="4" y="{}">{app}</text>"#, y + 13.0);
        for s in r.samples.iter().filter(|s| s.path == *path) {
            let (fill, top, h) = if s.failed() {
                (FAILED, y - 3.0, 24.0)
            } else {
                (colour(region_of(s, app)), y, 18.0)
            };
            let _ = write!(
                svg,
                r#"<rect class="sample" x="{:.1}" y="{top}" width="2" height="{h}" fill="{fill}"><title>{} ms {} {} {}</title></rect>"#,
                x(s.at_ms),
                s.at_ms,
                escape(&s.path),
                s.status.map_or_else(
                    || escape(s.error.as_deref().unwrap_or("error")),
                    |c| c.to_string()
                ),
                region_of(s, app).unwrap_or("")
            );
        }
    }
    for (i, m) in r.moved.iter().enumerate() {
        let label_y = labels_top + label_row * (i as f64 + 1.0) - 2.0;
        let _ = write!(
            svg,
            r##"<line class="activate" x1="{0:.1}" x2="{0:.1}" y1="4" y2="{1}" stroke="#1d2330" stroke-dasharray="3,3"/><text class="activate-label" x="{2:.1}" y="{3}" font-size="10">activate {4}</text>"##,
            x(m.activated_at_ms),
            label_y - 9.0,
            x(m.activated_at_ms) + 2.0,
            label_y,
            escape(&m.app)
        );
    }
    for (i, s) in r.steps.iter().enumerate() {
        let y = steps_top + 14.0 + 18.0 * i as f64;
        let fill = match s.result.as_str() {
            "failed" => FAILED,
            "not_run" => "#ccc",
            _ => "#8aa4c8",
        };
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{y}" width="{:.1}" height="12" fill="{fill}"/><text x="4" y="{}">{}</text>"#,
            x(s.started_ms),
            (x(s.ended_ms) - x(s.started_ms)).max(2.0),
            y + 10.0,
            escape(&format!("{} {}", s.kind, s.result))
        );
    }
    let legend: Vec<String> = regions
        .iter()
        .enumerate()
        .map(|(i, reg)| {
            format!(
                r#"<span style="color:{}">&#9632; {}</span>"#,
                COLOURS[i.min(2)],
                escape(reg)
            )
        })
        .collect();
    svg.push_str("</svg>");

    let mut out = String::new();
    let _ = write!(
        out,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{0}: {1}</title>
<style>body{{font:14px/1.4 sans-serif;margin:1.5em;color:#1d2330}}table{{border-collapse:collapse}}td,th{{border:1px solid #d5d9e0;padding:.2em .5em;text-align:left}}.failed{{color:{FAILED};font-weight:600}}</style>
</head><body><h1>{0}: {1}</h1>"#,
        escape(&r.plan),
        escape(&r.outcome)
    );
    let _ = write!(
        out,
        "<p>started {}, ended {}{}</p>",
        escape(&r.started_at),
        escape(&r.ended_at),
        if r.dry_run {
            " (dry run: nothing was changed)"
        } else {
            ""
        }
    );
    if let Some(f) = &r.failure {
        let _ = write!(out, r#"<p class="failed">stopped: {}</p>"#, escape(f));
    }
    match &r.recovery {
        Some(rec) => {
            let _ = write!(
                out,
                r#"<p>recovery time (first activate call to the last app's first answer from its new region): <b id="recovery">{}</b>; requests {}, failed <b id="failed">{}</b> ({} during the switch); p99 during the switch {}</p>"#,
                rec.recovery_ms
                    .map_or_else(|| "not measured".into(), |v| format!("{v} ms")),
                rec.samples,
                rec.failed,
                rec.failed_during_switch,
                rec.p99_ms
                    .map_or_else(|| "-".into(), |v| format!("{v:.1} ms"))
            );
        }
        None => out.push_str("<p>No probe ran (no probe URL).</p>"),
    }
    let _ = write!(
        out,
        "<h2>Timeline (ms since the start; probe: {})</h2>{svg}<p>{} <span style=\"color:{FAILED}\">&#9632; failed</span></p>",
        escape(r.probe_url.as_deref().unwrap_or("none")),
        legend.join(" ")
    );
    out.push_str("<h2>Steps</h2><table><tr><th>#</th><th>step</th><th>apps</th><th>to</th><th>start</th><th>end</th><th>result</th><th>detail</th></tr>");
    for (i, s) in r.steps.iter().chain(&r.rollback).enumerate() {
        let detail: Vec<String> = s
            .lines
            .iter()
            .map(|l| escape(l))
            .chain(s.warnings.iter().map(|w| format!("warning: {}", escape(w))))
            .chain(
                s.calls
                    .iter()
                    .map(|c| format!("call: <code>{}</code>", escape(c))),
            )
            .chain(
                s.error
                    .iter()
                    .map(|e| format!(r#"<span class="failed">{}</span>"#, escape(e))),
            )
            .collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ms</td><td>{} ms</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            escape(&s.name),
            escape(&s.apps.join(", ")),
            escape(s.to.as_deref().unwrap_or("")),
            s.started_ms,
            s.ended_ms,
            escape(&s.result),
            detail.join("<br>")
        );
    }
    out.push_str("</table><p>The raw samples are in the JSON report.</p></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::super::recovery::Moved;
    use super::super::report::RunReport;

    /// The `y` of every activate label in the page.
    fn label_rows(page: &str) -> Vec<String> {
        page.split(r#"<text class="activate-label""#)
            .skip(1)
            .map(|t| {
                let y = &t[t.find(" y=\"").expect("a y") + 4..];
                y[..y.find('"').expect("quoted")].to_owned()
            })
            .collect()
    }

    #[test]
    fn activate_labels_close_in_time_get_rows_of_their_own() {
        let moved = |app: &str, at| Moved {
            app: app.into(),
            from: "us-east-1".into(),
            to: "us-west-2".into(),
            activated_at_ms: at,
        };
        let report = RunReport {
            plan: "evacuate us-east-1".into(),
            dry_run: false,
            started_at: String::new(),
            ended_at: String::new(),
            outcome: "succeeded".into(),
            failure: None,
            warnings: Vec::new(),
            probe_url: None,
            steps: Vec::new(),
            rollback: Vec::new(),
            moved: vec![
                moved("service1", 1000),
                moved("service2", 1003),
                moved("external-api", 1010),
            ],
            recovery: None,
            samples: Vec::new(),
        };
        let rows = label_rows(&super::html(&report));
        assert_eq!(rows.len(), 3, "{rows:?}");
        let mut distinct = rows.clone();
        distinct.dedup();
        assert_eq!(distinct, rows, "each label on its own row");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            super::escape(r#"<a href="x">&</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
