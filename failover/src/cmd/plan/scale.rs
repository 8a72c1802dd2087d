//! The `scale` step: raise the target region's ECS desired count (and autoscaling minimum) to
//! what [`super::sizing`] chooses, then wait for running tasks and healthy targets. The region
//! being left is only read, best-effort within `--source-timeout`; everything else (the
//! target's reads and writes, and the wait) is in the target region.

use std::time::{Duration, Instant, SystemTime};

use recovery::EcsService;

use super::sizing::{self, Known};
use super::steps::{active_regions, Ctx};
use super::StepRecord;
use crate::capacity::{Capacity, CapacityClient};

/// The best-effort read of the source region's running count.
async fn source_running(
    ctx: &Ctx<'_>,
    aws: &CapacityClient,
    from: &str,
    source: Option<&EcsService>,
) -> Result<u32, String> {
    let Some(source) = source else {
        return Err(format!("{from} has no ECS service in the cluster document"));
    };
    let limit = ctx.clients.source_timeout;
    match tokio::time::timeout(limit, aws.read(from, source)).await {
        Ok(Ok(c)) => Ok(c.running),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "ecs:DescribeServices in {from}: no answer within {} (--source-timeout)",
            humantime::format_duration(limit)
        )),
    }
}

/// `scale` (see the module doc).
pub async fn scale(
    ctx: &Ctx<'_>,
    rec: &mut StepRecord,
    apps: &[String],
    to: &str,
    share: f64,
    timeout: Duration,
) {
    let active = match active_regions(ctx, apps).await {
        Ok(a) => a,
        Err(e) => return rec.fail(e),
    };
    for app in apps {
        let entry = &ctx.doc.apps[app];
        let from = &active[app];
        if from == to {
            rec.line(format!("{app}: already active in {to}, nothing to scale"));
            continue;
        }
        let (Some(target), Some(aws)) = (entry.regions[to].ecs.as_ref(), ctx.clients.aws.as_ref())
        else {
            rec.line(format!("{app}: not applicable (no ECS): nothing to scale"));
            continue;
        };
        let (src, now) = tokio::join!(
            source_running(ctx, aws, from, entry.regions[from].ecs.as_ref()),
            aws.read(to, target)
        );
        let now = match now {
            Ok(n) => n,
            Err(e) => return rec.fail(format!("{app}: {e}")),
        };
        let record = ctx.opts.capacity_record.as_ref();
        let mut known = Known {
            app,
            from,
            to,
            share,
            source: src,
            recorded: record.and_then(|r| r.get(app, from)),
            record_given: record.is_some(),
            floor: target.min_tasks,
            standby_max: None,
            standby_desired: now.desired,
            now: SystemTime::now(),
        };
        if sizing::needs_standby_max(&known) {
            match aws.limits(to, target).await {
                Ok(limits) => known.standby_max = limits.map(|(_, max)| max),
                Err(e) => return rec.fail(format!("{app}: {e}")),
            }
        }
        let sized = sizing::size(&known);
        if let Some(w) = sized.warning {
            rec.warn(w);
        }
        let want = sized.want;
        rec.line(format!("{app}: {}, has {now}", sized.line));
        if now.desired < want {
            if ctx.opts.dry_run {
                rec.call(format!(
                    "would call application-autoscaling:RegisterScalableTarget service/{}/{} min {want} ({to})",
                    target.cluster, target.service
                ));
                rec.call(format!(
                    "would call ecs:UpdateService {}/{} desiredCount {want} ({to})",
                    target.cluster, target.service
                ));
                continue;
            }
            match aws.scale(to, target, want).await {
                Ok(calls) => calls.into_iter().for_each(|c| rec.call(c)),
                Err(e) => return rec.fail(format!("{app}: {e}")),
            }
        }
        if ctx.opts.dry_run {
            continue;
        }
        match wait(ctx, aws, app, to, target, want, timeout).await {
            Ok(cap) => rec.line(format!("{app}: {to} ready: {cap}")),
            Err(e) => return rec.fail(e),
        }
    }
}

/// Waits until `to` runs `want` tasks with as many healthy targets (its capacity then), or
/// `timeout` passes.
async fn wait(
    ctx: &Ctx<'_>,
    aws: &CapacityClient,
    app: &str,
    to: &str,
    target: &EcsService,
    want: u32,
    timeout: Duration,
) -> Result<Capacity, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let cap: Capacity = aws
            .read(to, target)
            .await
            .map_err(|e| format!("{app}: {e}"))?;
        let healthy_enough = cap.target_groups == 0 || cap.healthy_targets >= want;
        if cap.running >= want && healthy_enough {
            return Ok(cap);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{app}: {to} not ready within {}: {cap} (wanted {want} running and healthy)",
                humantime::format_duration(timeout)
            ));
        }
        tokio::time::sleep(ctx.opts.poll_interval.min(deadline - Instant::now())).await;
    }
}
