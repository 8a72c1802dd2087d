//! The unplanned scenario on loopback, in both modes: the active region's service1 is killed under
//! mixed traffic and restarted; the gateways serve from the standby meanwhile, with no control
//! flipped. The figures are printed; the assertions are the invariants, with bounds loose
//! enough for a loaded 2-CPU machine.

use std::time::Duration;

use drill::system::{Mode, Options, System};

/// One system at a time: each drill runs a dozen processes and measures time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn unplanned(mode: Mode) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut sys = System::start(Options {
        mode,
        ..Options::default()
    })
    .await
    .unwrap();
    // A shorter outage than the binary's 10 s default keeps CI time modest; the ejection still
    // sees two failed probes (1 s, then 2 s later).
    let r = drill::unplanned::run(
        &mut sys,
        200,
        Duration::from_secs(4),
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    println!(
        "{mode:?}: requests {}, from us-west-2 {}, failed {} (in flight {}), first fallback {:?}, returned {:?}",
        r.samples.len(),
        r.served_by_standby(),
        r.failures().len(),
        r.failed_in_flight().len(),
        r.first_fallback,
        r.returned
    );
    assert!(r.twice.is_empty(), "handled by both regions: {:?}", r.twice);
    let after = r.failed_after_kill();
    assert!(
        after.is_empty(),
        "{} requests that started after the kill failed, first: {:?}\n{}",
        after.len(),
        after.first(),
        sys.log("gateway-us-east-1")
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(r.served_by_standby() > 50, "the standby served the outage");
    let first = r.first_fallback.expect("the standby answered");
    assert!(
        first < Duration::from_secs(2),
        "first fallback answer after {first:?}"
    );
    // Restored by the probe that follows the restart: at most eject_max (10 s) later.
    assert!(
        r.returned < Duration::from_secs(12),
        "returned after {:?}",
        r.returned
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplanned_loss_in_arc_mode_is_served_from_the_standby() {
    unplanned(Mode::Arc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplanned_loss_in_dns_mode_is_served_from_the_standby() {
    unplanned(Mode::Dns).await;
}
