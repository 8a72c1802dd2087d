//! The attempt decision ([`attempt::decide`]) for every outcome, and the two head shapes.

use std::time::Duration;

use axum::body::Body;
use http::{HeaderMap, HeaderValue, Method};
use tokio::time::Instant;

use super::attempt::{decide, Fields, Head, Next, Outcome, Policy};
use crate::body::BodySlot;
use crate::config::UpstreamSettings;

const ALL: [Outcome; 6] = [
    Outcome::Answered,
    Outcome::NoTarget,
    Outcome::ConnectFailed,
    Outcome::Closed,
    Outcome::Failed,
    Outcome::TimedOut,
];

fn policy(fallback: bool, fallback_idempotent: bool, method: Method, now: Instant) -> Policy {
    let settings = UpstreamSettings {
        fallback,
        fallback_idempotent,
        retries: 2,
        retry_backoff: Duration::from_millis(20),
        ..UpstreamSettings::default()
    };
    Policy::new(&settings, &method, now + Duration::from_secs(1))
}

/// The decision with a region to move to (`region`), noting whether it looked for one.
fn step(outcome: Outcome, p: &Policy, retries: u32, untouched: bool, region: bool) -> (Next, bool) {
    let mut looked = false;
    let next = decide(outcome, p, retries, untouched, Instant::now(), || {
        looked = true;
        region
    });
    (next, looked)
}

#[tokio::test(start_paused = true)]
async fn an_answer_is_returned_and_no_region_is_looked_for() {
    let p = policy(true, true, Method::GET, Instant::now());
    assert_eq!(
        step(Outcome::Answered, &p, 0, true, true),
        (Next::Answer, false)
    );
}

#[tokio::test(start_paused = true)]
async fn a_load_balancers_503_moves_when_fallback_allows_else_is_the_answer() {
    let on = policy(true, false, Method::POST, Instant::now());
    assert_eq!(
        step(Outcome::NoTarget, &on, 0, true, true),
        (Next::Move, true)
    );
    // No region left, or the body already streamed: the 503 itself is the answer.
    assert_eq!(
        step(Outcome::NoTarget, &on, 0, true, false),
        (Next::Answer, true)
    );
    assert_eq!(
        step(Outcome::NoTarget, &on, 0, false, true),
        (Next::Answer, false)
    );
    let off = policy(false, true, Method::GET, Instant::now());
    assert_eq!(
        step(Outcome::NoTarget, &off, 0, true, true),
        (Next::Answer, false)
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_connect_moves_first_then_retries_with_growing_backoff_then_fails() {
    let now = Instant::now();
    let p = policy(true, false, Method::POST, now);
    assert_eq!(
        step(Outcome::ConnectFailed, &p, 0, true, true),
        (Next::Move, true)
    );
    // No region: retry N waits N x retry_backoff, up to `retries`.
    assert_eq!(
        step(Outcome::ConnectFailed, &p, 0, true, false),
        (Next::RetryAt(now + Duration::from_millis(20)), true)
    );
    assert_eq!(
        step(Outcome::ConnectFailed, &p, 1, true, false),
        (Next::RetryAt(now + Duration::from_millis(40)), true)
    );
    assert_eq!(
        step(Outcome::ConnectFailed, &p, 2, true, false),
        (Next::Fail, true)
    );
    // A body that started to stream cannot be sent again: neither moved nor retried.
    assert_eq!(
        step(Outcome::ConnectFailed, &p, 0, false, true),
        (Next::Fail, false)
    );
    // Without fallback it retries and never looks for a region.
    let off = policy(false, false, Method::GET, now);
    assert_eq!(
        step(Outcome::ConnectFailed, &off, 0, true, true),
        (Next::RetryAt(now + Duration::from_millis(20)), false)
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_that_would_start_at_the_answer_deadline_fails_now() {
    let now = Instant::now();
    let settings = UpstreamSettings {
        fallback: false,
        retries: 5,
        retry_backoff: Duration::from_millis(400),
        ..UpstreamSettings::default()
    };
    let p = Policy::new(&settings, &Method::GET, now + Duration::from_secs(1));
    assert_eq!(
        decide(Outcome::ConnectFailed, &p, 0, true, now, || false),
        Next::RetryAt(now + Duration::from_millis(400))
    );
    // The second retry would wait until 400 + 800 ms, past the 1 s deadline.
    let later = now + Duration::from_millis(400);
    assert_eq!(
        decide(Outcome::ConnectFailed, &p, 1, true, later, || false),
        Next::Fail
    );
}

#[tokio::test(start_paused = true)]
async fn a_closed_connection_moves_only_an_idempotent_request_where_allowed() {
    let now = Instant::now();
    let get = policy(true, true, Method::GET, now);
    assert_eq!(
        step(Outcome::Closed, &get, 0, true, true),
        (Next::Move, true)
    );
    assert_eq!(
        step(Outcome::Closed, &get, 0, true, false),
        (Next::Fail, true)
    );
    assert_eq!(
        step(Outcome::Closed, &get, 0, false, true),
        (Next::Fail, false)
    );
    let post = policy(true, true, Method::POST, now);
    assert_eq!(
        step(Outcome::Closed, &post, 0, true, true),
        (Next::Fail, false)
    );
    let off = policy(true, false, Method::GET, now);
    assert_eq!(
        step(Outcome::Closed, &off, 0, true, true),
        (Next::Fail, false)
    );
    // Never retried on the same endpoint: it may have been handled.
    assert_eq!(
        step(Outcome::Closed, &get, 0, true, false),
        (Next::Fail, true)
    );
}

#[tokio::test(start_paused = true)]
async fn other_failures_and_timeouts_fail_at_once() {
    let p = policy(true, true, Method::GET, Instant::now());
    for outcome in [Outcome::Failed, Outcome::TimedOut] {
        assert_eq!(step(outcome, &p, 0, true, true), (Next::Fail, false));
    }
}

#[tokio::test(start_paused = true)]
async fn nothing_moves_or_retries_once_the_body_has_streamed() {
    let p = policy(true, true, Method::GET, Instant::now());
    for outcome in ALL {
        let (next, looked) = step(outcome, &p, 0, false, true);
        assert!(
            matches!(next, Next::Answer | Next::Fail) && !looked,
            "{outcome:?}: {next:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_head_is_resendable_exactly_when_a_request_that_reached_a_connection_may_move() {
    let now = Instant::now();
    assert!(policy(true, false, Method::POST, now).resends(true));
    assert!(!policy(true, false, Method::POST, now).resends(false));
    assert!(policy(false, true, Method::PUT, now).resends(false));
    assert!(!policy(false, true, Method::POST, now).resends(true));
    assert!(!policy(false, false, Method::GET, now).resends(true));
}

fn fields() -> Fields {
    let mut headers = HeaderMap::new();
    headers.insert("x-a", HeaderValue::from_static("1"));
    Fields {
        method: Method::PUT,
        uri: "/x?y".parse().unwrap(),
        headers,
    }
}

#[test]
fn a_resendable_head_gives_every_attempt_the_whole_head() {
    let slot = BodySlot::new(Body::empty(), 0);
    let mut head = Head::new(fields(), true);
    for _ in 0..3 {
        let req = head.request(None, &slot).expect("a copy each time");
        assert_eq!(req.method(), Method::PUT);
        assert_eq!(req.uri(), "/x?y");
        assert_eq!(req.headers()["x-a"], "1");
    }
}

#[test]
fn a_head_sent_once_gives_no_second_request_only_the_one_handed_back() {
    let slot = BodySlot::new(Body::empty(), 0);
    let mut head = Head::new(fields(), false);
    let first = head.request(None, &slot).expect("the first request");
    assert_eq!(first.headers()["x-a"], "1");
    assert!(
        head.request(None, &slot).is_none(),
        "no request from an emptied head"
    );
    let again = head
        .request(Some(first), &slot)
        .expect("an unsent request goes again");
    assert_eq!(again.headers()["x-a"], "1");
}
