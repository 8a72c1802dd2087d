//! What each step kind does, against the cluster, the regions and AWS: `gate`, `scale`
//! ([`super::scale`]), `approve`, `activate` and `verify`. In a dry run every read happens (gates are evaluated for
//! real) and every write is listed as the call it would be, never sent.

use std::time::{Duration, Instant};

use recovery::{ArcError, ClusterDocument};

use super::file::Action;
use super::recovery::Moved;
use super::sampler::millis;
use super::{Options, StepRecord};
use crate::cmd::check::{assess, rules, source, Clients, Level};
use crate::cmd::probe::request::{self, HttpClient};
use crate::cmd::probe::rounds::TARGETS;
use crate::cmd::probe::Base;
use crate::cmd::status;
use crate::health;

/// What a step needs from the run.
pub struct Ctx<'a> {
    pub doc: &'a ClusterDocument,
    pub arc: &'a recovery::ArcClient,
    pub clients: &'a Clients,
    pub opts: &'a Options,
    pub probe: Option<Base>,
    /// The client for the probe URL (its resolver: `--probe-dns` or the system's).
    pub probe_http: HttpClient,
    pub epoch: Instant,
    /// Where each routing-control change is recorded (`None` in a dry run: nothing changes).
    pub audit: Option<crate::audit::Trail>,
}

/// The region each app is active in now, from the routing controls.
pub async fn active_regions(
    ctx: &Ctx<'_>,
    apps: &[String],
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let names: Vec<&str> = apps.iter().map(String::as_str).collect();
    let st = status::fetch(ctx.doc, ctx.arc, &names)
        .await
        .map_err(|e| crate::error::Chain(&e).to_string())?;
    Ok(st
        .apps
        .into_iter()
        .map(|(name, a)| (name, a.active_region))
        .collect())
}

/// `gate`: the chosen readiness checks of `to` for every app; fails when any of them fails.
pub async fn gate(
    ctx: &Ctx<'_>,
    rec: &mut StepRecord,
    apps: &[String],
    to: &str,
    checks: &[String],
) {
    let controls = match status::list(ctx.doc, ctx.arc, &[]).await {
        Ok(c) => c,
        Err(e) => return rec.fail(crate::error::Chain(&e).to_string()),
    };
    let st = status::from_controls(ctx.doc, &controls, &[]);
    let probes = ctx.clients.probes();
    let mut failed = Vec::new();
    for app in apps {
        let entry = &ctx.doc.apps[app];
        let active = &st.apps[app].active_region;
        if active == to {
            let reading = assess::read_region(entry, to, &probes).await;
            if reading.health.healthy() || !checks.iter().any(|c| c == "health") {
                rec.line(format!("{app}: already active in {to}"));
                continue;
            }
            failed.push(format!("{app} health"));
            rec.line(format!(
                "{app}: active in {to}, which is not healthy: {}",
                reading.health.error.as_deref().unwrap_or("")
            ));
            continue;
        }
        let (target, source) = tokio::join!(
            assess::read_region(entry, to, &probes),
            source::read(entry, active, &probes)
        );
        if let Some(failed) = source::failures(&source) {
            rec.warn(format!(
                "{app}: best-effort read of {active} (the region being left) failed, gated on {to} alone: {failed}"
            ));
        }
        let mut a = assess::assess(app, entry, target, source, &controls);
        a.checks.retain(|c| checks.iter().any(|k| k == c.check));
        a.ready = a.checks.iter().all(|c| c.result != Level::Fail);
        for c in &a.checks {
            rec.line(format!(
                "{app} {to} {}: {} {}",
                c.check,
                c.result.as_str(),
                c.detail
            ));
            if c.result == Level::Fail {
                failed.push(format!("{app} {}", c.check));
            }
        }
        rec.gate.push(a);
    }
    if !failed.is_empty() {
        rec.fail(format!("gate failed: {}", failed.join(", ")));
    }
}

/// `approve`: show what follows and wait for `yes` on stdin, up to `timeout`.
pub async fn approve(
    ctx: &Ctx<'_>,
    rec: &mut StepRecord,
    message: &str,
    timeout: Duration,
    upcoming: &[String],
) {
    let then = if upcoming.is_empty() {
        "nothing else".to_owned()
    } else {
        upcoming.join("; ")
    };
    if ctx.opts.dry_run {
        rec.line(format!("would ask: {message} (then: {then})"));
        return;
    }
    if ctx.opts.yes {
        rec.line(format!("approved by --yes: {message}"));
        return;
    }
    crate::out::text(&format!(
        "{message}\n  then: {then}\ntype yes to go ahead: "
    ));
    let read = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|n| (n, line))
    });
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(Ok((0, _)))) => {
            rec.fail("not approved: no answer (stdin closed); pass --yes to approve in automation")
        }
        Ok(Ok(Ok((_, line)))) if matches!(line.trim(), "yes" | "y") => {
            rec.line(format!("approved: {message}"));
        }
        Ok(Ok(Ok((_, line)))) => rec.fail(format!("not approved: answered {:?}", line.trim())),
        Ok(_) => rec.fail("not approved: cannot read stdin"),
        Err(_) => rec.fail(format!(
            "not approved: no answer within {}",
            humantime::format_duration(timeout)
        )),
    }
}

/// `activate`: one `UpdateRoutingControlStates` call per app not yet active in `to`, the apps
/// at once when `parallel`. Records each move.
pub async fn activate(
    ctx: &Ctx<'_>,
    rec: &mut StepRecord,
    apps: &[String],
    to: &str,
    parallel: bool,
    moved: &mut Vec<Moved>,
) {
    let active = match active_regions(ctx, apps).await {
        Ok(a) => a,
        Err(e) => return rec.fail(e),
    };
    let mut pending = Vec::new();
    for app in apps {
        let from = active[app].clone();
        if from == to {
            rec.line(format!("{app}: already active in {to}"));
            continue;
        }
        let entries = rules::activate_entries(&ctx.doc.apps[app], to);
        let described: Vec<String> = entries
            .iter()
            .map(|(arn, state)| {
                let (_, region) = ctx.doc.control(arn).unwrap_or(("?", "?"));
                format!(
                    "{} {state}",
                    ctx.doc.apps[app].regions[region].routing_control_name
                )
            })
            .collect();
        let call = format!("UpdateRoutingControlStates {app}: {}", described.join(", "));
        if ctx.opts.dry_run {
            rec.call(format!("would call {call}"));
            continue;
        }
        pending.push((app.clone(), from, entries, call));
    }
    let send = |(app, from, entries, call): (String, String, Vec<_>, String)| async move {
        // When the call itself starts (after the audit trail's read of the states before).
        let at = std::sync::atomic::AtomicU64::new(0);
        let update = async {
            at.store(
                millis(ctx.epoch.elapsed()),
                std::sync::atomic::Ordering::Relaxed,
            );
            ctx.arc.update(&entries, &[]).await
        };
        let result = match &ctx.audit {
            Some(trail) => {
                trail
                    .change(
                        ctx.doc,
                        ctx.arc,
                        "activate",
                        &app,
                        to,
                        &entries,
                        &[],
                        update,
                    )
                    .await
            }
            None => update.await,
        };
        (app, from, at.into_inner(), call, result)
    };
    let results = if parallel {
        futures_util::future::join_all(pending.into_iter().map(send)).await
    } else {
        let mut out = Vec::new();
        for p in pending {
            let r = send(p).await;
            let failed = r.4.is_err();
            out.push(r);
            if failed {
                break;
            }
        }
        out
    };
    for (app, from, at, call, result) in results {
        match result {
            Ok(()) => {
                rec.call(call);
                moved.push(Moved {
                    app,
                    from,
                    to: to.to_owned(),
                    activated_at_ms: at,
                });
            }
            Err(ArcError::Conflict(m)) => rec.fail(format!("{app}: blocked by a safety rule: {m}")),
            Err(e) => rec.fail(format!(
                "{app}: UpdateRoutingControlStates failed (check `failover status`: a call that timed out may still have been applied): {e}"
            )),
        }
    }
}

/// `verify`: every app answers from `to` through the probe URL (the gateway hop for the
/// external API, the service hop for a service), within `timeout`. Without a probe URL, the
/// routing controls and the region's `/health`.
pub async fn verify(
    ctx: &Ctx<'_>,
    rec: &mut StepRecord,
    apps: &[String],
    to: &str,
    timeout: Duration,
) {
    let Some(base) = &ctx.probe else {
        if ctx.opts.dry_run {
            rec.line(format!(
                "would read the routing controls and {to}'s /health (no probe URL)"
            ));
            return;
        }
        let active = match active_regions(ctx, apps).await {
            Ok(a) => a,
            Err(e) => return rec.fail(e),
        };
        for app in apps {
            let h = health::read(
                &ctx.clients.http,
                &ctx.doc.apps[app].regions[to].url,
                ctx.clients.health_timeout,
            )
            .await;
            if active[app] != to {
                return rec.fail(format!(
                    "{app}: the routing controls make {} active, not {to}",
                    active[app]
                ));
            }
            if !h.healthy() {
                return rec.fail(format!(
                    "{app}: {to} is active but {}: {}",
                    h.url,
                    h.error.unwrap_or_default()
                ));
            }
            rec.line(format!(
                "{app}: active in {to} and healthy (no probe URL: the hops were not probed)"
            ));
        }
        return;
    };
    let checks: Vec<(&String, &crate::hops::Route)> = apps
        .iter()
        .filter_map(|app| {
            TARGETS
                .iter()
                .find(|t| t.app() == app.as_str())
                .map(|route| (app, route))
        })
        .collect();
    if ctx.opts.dry_run {
        for (app, route) in &checks {
            rec.line(format!(
                "would probe {} until {app} answers from {to} (within {})",
                base.url(route.path),
                humantime::format_duration(timeout)
            ));
        }
        return;
    }
    let deadline = Instant::now() + timeout;
    for (app, route) in checks {
        let url = base.url(route.path);
        loop {
            let answer = request::get(&ctx.probe_http, &url, route, ctx.opts.request_timeout).await;
            let region = answer.region_of(route, app).map(str::to_owned);
            if !answer.failed() && region.as_deref() == Some(to) {
                rec.line(format!("{app}: {url} answered from {to}"));
                break;
            }
            if Instant::now() >= deadline {
                return rec.fail(format!(
                    "{app}: {url} still not answering from {to} after {} (last: {} from {})",
                    humantime::format_duration(timeout),
                    answer.status_label(),
                    region.as_deref().unwrap_or("no region")
                ));
            }
            tokio::time::sleep(ctx.opts.probe_interval).await;
        }
    }
}

/// Runs one step's action.
pub async fn run(
    ctx: &Ctx<'_>,
    rec: &mut StepRecord,
    action: &Action,
    apps: &[String],
    parallel: bool,
    upcoming: &[String],
    moved: &mut Vec<Moved>,
) {
    match action {
        Action::Gate { to, checks } => gate(ctx, rec, apps, to, checks).await,
        Action::Scale { to, share, timeout } => {
            super::scale::scale(ctx, rec, apps, to, *share, *timeout).await
        }
        Action::Approve { message, timeout } => {
            approve(ctx, rec, message, *timeout, upcoming).await
        }
        Action::Activate { to } => activate(ctx, rec, apps, to, parallel, moved).await,
        Action::Verify { to, timeout } => verify(ctx, rec, apps, to, *timeout).await,
    }
}
