//! The rules under paused time: every evaluation is at `Instant::now()` of a paused clock that the
//! tests move with `tokio::time::advance`.

use super::*;
use tokio::time::advance;

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";

fn machine(dwell: u64, cooldown: u64) -> Machine {
    Machine::new(Rules {
        home: WEST.into(),
        dwell: Duration::from_secs(dwell),
        cooldown: Duration::from_secs(cooldown),
    })
}

fn seen(active: &str, east: Health, west: Health, switch: Switch) -> Observation {
    Observation {
        active: Ok(active.into()),
        health: [(EAST.to_owned(), east), (WEST.to_owned(), west)].into(),
        switch,
    }
}

/// us-east-1 active and down, us-west-2 up, armed: the trigger for a us-west-2 watcher.
fn trigger() -> Observation {
    seen(EAST, Health::Down, Health::Up, Switch::Armed)
}

fn healthy() -> Observation {
    seen(EAST, Health::Up, Health::Up, Switch::Armed)
}

/// Evaluates every second for `secs` seconds; returns how many evaluations said Running.
async fn evaluate_for(m: &mut Machine, secs: u64, obs: &Observation) -> usize {
    let mut runs = 0;
    for _ in 0..secs {
        m.step(Instant::now(), obs);
        if matches!(m.state(), State::Running { .. }) {
            runs += 1;
            m.finished(Instant::now());
        }
        advance(Duration::from_secs(1)).await;
    }
    runs
}

fn holding() -> State {
    State::Holding {
        from: EAST.into(),
        dwell_ms: 60_000,
    }
}

#[tokio::test(start_paused = true)]
async fn the_trigger_must_hold_for_the_whole_dwell() {
    let mut m = machine(60, 600);
    assert_eq!(m.step(Instant::now(), &trigger()), Some(&holding()));
    advance(Duration::from_secs(59)).await;
    assert_eq!(m.step(Instant::now(), &trigger()), None, "still holding");
    // One evaluation without the trigger starts the count again.
    assert!(matches!(
        m.step(Instant::now(), &healthy()),
        Some(State::Watching { .. })
    ));
    assert_eq!(m.step(Instant::now(), &trigger()), Some(&holding()));
    advance(Duration::from_secs(59)).await;
    assert_eq!(m.step(Instant::now(), &trigger()), None);
    advance(Duration::from_secs(1)).await;
    assert_eq!(
        m.step(Instant::now(), &trigger()),
        Some(&State::Running { from: EAST.into() })
    );
}

#[tokio::test(start_paused = true)]
async fn an_unknown_reading_is_not_the_trigger() {
    let mut m = machine(10, 600);
    let unknown = seen(EAST, Health::Unknown, Health::Up, Switch::Armed);
    assert_eq!(evaluate_for(&mut m, 30, &unknown).await, 0);
    // Flapping every 5 s never completes a 10 s dwell.
    for _ in 0..10 {
        assert_eq!(evaluate_for(&mut m, 5, &trigger()).await, 0);
        assert_eq!(evaluate_for(&mut m, 1, &healthy()).await, 0);
    }
    let unreadable = Observation {
        active: Err("no cluster endpoint answered".into()),
        ..trigger()
    };
    assert_eq!(evaluate_for(&mut m, 30, &unreadable).await, 0);
    assert_eq!(
        m.state(),
        &State::Unknown {
            reason: "no cluster endpoint answered".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn no_second_run_within_the_cooldown() {
    let mut m = machine(10, 300);
    // The first run after the dwell (the run failed: the trigger still holds).
    assert_eq!(evaluate_for(&mut m, 11, &trigger()).await, 1);
    assert_eq!(m.state(), &State::Ran { from: EAST.into() });
    // For the rest of the cooldown the trigger holds and every dwell ends in a refusal.
    assert_eq!(evaluate_for(&mut m, 280, &trigger()).await, 0);
    assert!(
        matches!(m.state(), State::Refused { reason, .. } if reason.starts_with("cooldown")),
        "{:?}",
        m.state()
    );
    // After the cooldown, one more run; then the cooldown again.
    assert_eq!(evaluate_for(&mut m, 20, &trigger()).await, 1);
    assert_eq!(evaluate_for(&mut m, 250, &trigger()).await, 0);
}

#[tokio::test(start_paused = true)]
async fn the_kill_switch_refuses_until_it_is_armed() {
    let mut m = machine(10, 300);
    let off = seen(
        EAST,
        Health::Down,
        Health::Up,
        Switch::Disarmed("routing control watch-enabled is Off".into()),
    );
    assert_eq!(evaluate_for(&mut m, 60, &off).await, 0);
    assert_eq!(
        m.state(),
        &State::Refused {
            from: EAST.into(),
            reason: "kill switch: routing control watch-enabled is Off".into()
        }
    );
    // Armed while the trigger still holds: the dwell is already over, so it runs at once.
    assert_eq!(
        m.step(Instant::now(), &trigger()),
        Some(&State::Running { from: EAST.into() })
    );
}

#[tokio::test(start_paused = true)]
async fn traffic_only_ever_moves_into_the_home_region_and_only_when_it_is_up() {
    let mut m = machine(10, 300);
    // Home not confirmed up (down, or unknown): never a run, however long the other is down.
    for home in [Health::Down, Health::Unknown] {
        let obs = seen(EAST, Health::Down, home, Switch::Armed);
        assert_eq!(evaluate_for(&mut m, 120, &obs).await, 0);
        assert_eq!(
            m.state(),
            &State::Watching {
                active: EAST.into(),
                active_health: Health::Down,
                home_health: home
            }
        );
    }
    // Active in the home region, down or not: nothing to do (it never moves out of home).
    for home in [Health::Down, Health::Up, Health::Unknown] {
        let obs = seen(WEST, Health::Up, home, Switch::Armed);
        assert_eq!(evaluate_for(&mut m, 120, &obs).await, 0);
        assert_eq!(m.state(), &State::Home);
    }
}

#[tokio::test(start_paused = true)]
async fn after_a_run_nothing_moves_back_when_the_old_region_returns() {
    let mut m = machine(10, 30);
    assert_eq!(evaluate_for(&mut m, 11, &trigger()).await, 1);
    // The run moved the external API home; the old region comes back, goes down and up again,
    // long after the cooldown: the home watcher stays home.
    for east in [Health::Up, Health::Down, Health::Up] {
        let obs = seen(WEST, east, Health::Up, Switch::Armed);
        assert_eq!(evaluate_for(&mut m, 100, &obs).await, 0);
        assert_eq!(m.state(), &State::Home);
    }
    // The old region's own watcher sees its home (us-east-1) up and the active us-west-2 up: it
    // waits; it would act only if us-west-2 were confirmed down.
    let mut east_watcher = Machine::new(Rules {
        home: EAST.into(),
        ..m.rules().clone()
    });
    let obs = seen(WEST, Health::Up, Health::Up, Switch::Armed);
    assert_eq!(evaluate_for(&mut east_watcher, 100, &obs).await, 0);
    assert!(matches!(east_watcher.state(), State::Watching { .. }));
}

#[test]
fn sources_combine_to_down_only_when_all_agree() {
    use Health::*;
    assert_eq!(combine([]), Unknown);
    assert_eq!(combine([Down]), Down);
    assert_eq!(combine([Down, Down]), Down);
    assert_eq!(combine([Up, Up]), Up);
    assert_eq!(combine([Down, Up]), Unknown);
    assert_eq!(combine([Up, Down]), Unknown);
    assert_eq!(combine([Down, Unknown]), Unknown);
    assert_eq!(combine([Unknown, Up]), Unknown);
}
