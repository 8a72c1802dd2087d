//! The process harness against a real child (the kit's `testkit-fixture` binary).

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use testkit::ports::free_port;
use testkit::process::{signal, Output, Signal, Spawn, StartFailure};

const FIXTURE: &str = env!("CARGO_BIN_EXE_testkit-fixture");

/// Whether `pid` is still a process of this fixture (a reaped id may be reused by another).
fn fixture_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.contains("(testkit-fixtur"))
}

#[test]
fn a_process_that_exits_early_fails_the_start_with_its_stderr() {
    let port = free_port();
    let err = Spawn::new(FIXTURE)
        .args(["out", "half-way", "err", "REGION is not set", "exit", "3"])
        .listens_on(port)
        .start()
        .unwrap_err();
    assert!(
        matches!(err.failure, StartFailure::Exited(s) if s.code() == Some(3)),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.starts_with("testkit-fixture"), "{message}");
    assert!(message.contains("exited before it was ready"), "{message}");
    assert!(
        message.contains(&port.to_string()),
        "names the port: {message}"
    );
    assert!(
        message.contains("--- stderr ---\nREGION is not set"),
        "{message}"
    );
    assert!(message.contains("--- stdout ---\nhalf-way"), "{message}");
    // unwrap() shows the same text.
    assert_eq!(format!("{err:?}"), message);
}

#[test]
fn a_process_that_never_listens_times_out_with_what_it_printed_and_is_killed() {
    let started = Instant::now();
    let err = Spawn::new(FIXTURE)
        .name("silent")
        .args(["err", "still loading", "wait"])
        .listens_on(free_port())
        .start_timeout(Duration::from_millis(400))
        .start()
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err.failure, StartFailure::TimedOut(_)), "{err}");
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(10),
        "{took:?}"
    );
    let message = err.to_string();
    assert!(message.contains("silent"), "{message}");
    assert!(message.contains("was not ready after 400ms"), "{message}");
    assert!(message.contains("still loading"), "{message}");
}

#[test]
fn a_missing_program_is_a_spawn_failure() {
    let err = Spawn::new("/nonexistent/binary").start().unwrap_err();
    assert!(matches!(err.failure, StartFailure::Spawn(_)), "{err}");
    assert!(
        err.to_string().contains("binary could not be started"),
        "{err}"
    );
}

#[test]
fn start_waits_for_every_port_and_the_readiness_check() {
    let (a, b) = (free_port(), free_port());
    let marker = testkit::temp::dir("kit-ready");
    let file = marker.path().join("ready");
    let seen = file.clone();
    let started = Instant::now();
    let mut p = Spawn::new(FIXTURE)
        .args(["listen", &a.to_string(), "sleep", "300"])
        .args(["listen", &b.to_string(), "wait"])
        .listens_on(a)
        .listens_on(b)
        .ready_when(move || seen.exists())
        .start_timeout(Duration::from_secs(30))
        .spawn()
        .unwrap();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(600));
        std::fs::write(file, "").unwrap();
    });
    p.wait_ready().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(600));
    std::net::TcpStream::connect(("127.0.0.1", b)).unwrap();
}

#[test]
fn sigterm_without_a_shell_ends_the_process_and_output_is_collected() {
    let port = free_port();
    let mut p = Spawn::new(FIXTURE)
        .args([
            "out",
            "one",
            "err",
            "two",
            "listen",
            &port.to_string(),
            "wait",
        ])
        .listens_on(port)
        .start()
        .unwrap();
    p.terminate().unwrap();
    let status = p
        .wait_timeout(Duration::from_secs(10))
        .unwrap()
        .expect("exited");
    assert_eq!(status.signal(), Some(15), "{status:?}");
    assert_eq!(p.stdout(), "one\n");
    assert_eq!(p.stderr(), "two\n");
    // Once reaped, the id may be another process's: signalling is refused.
    assert!(p.signal(Signal::Term).is_err());
}

#[test]
fn stop_reports_the_exit_status() {
    let mut p = Spawn::new(FIXTURE).arg("wait").spawn().unwrap();
    let status = p.stop(Duration::from_secs(10)).unwrap();
    assert_eq!(status.signal(), Some(15));
}

#[tokio::test]
async fn async_start_and_wait_leave_the_runtime_free() {
    // The readiness check needs a task of this (single-threaded) runtime to run: a blocking wait
    // would starve it and time out.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicBool::new(false));
    let flag = accepted.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            flag.store(true, Ordering::SeqCst);
        }
    });
    let port = free_port();
    let mut p = Spawn::new(FIXTURE)
        .args(["listen", &port.to_string(), "sleep", "300"])
        .listens_on(port)
        .ready_when(move || {
            let _ = std::net::TcpStream::connect(addr);
            accepted.load(Ordering::SeqCst)
        })
        .start_timeout(Duration::from_secs(20))
        .start_async()
        .await
        .unwrap();
    let status = p
        .wait_timeout_async(Duration::from_secs(10))
        .await
        .unwrap()
        .expect("exits after its last step");
    assert!(status.success());
}

#[test]
fn dropping_a_process_kills_and_reaps_it() {
    let p = Spawn::new(FIXTURE).arg("wait").spawn().unwrap();
    let pid = p.id();
    assert!(fixture_alive(pid));
    drop(p);
    assert!(!fixture_alive(pid), "{pid} still running after drop");
}

#[test]
fn a_failed_start_kills_the_process() {
    let dir = testkit::temp::dir("kit-pid");
    let pid_file = dir.path().join("pid");
    let err = Spawn::new(FIXTURE)
        .arg("pidfile")
        .arg(&pid_file)
        .arg("wait")
        .ready_when(|| false)
        .start_timeout(Duration::from_millis(500))
        .start()
        .unwrap_err();
    assert!(matches!(err.failure, StartFailure::TimedOut(_)), "{err}");
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .expect("the fixture ran")
        .trim()
        .parse()
        .unwrap();
    assert!(!fixture_alive(pid), "{pid} left running");
}

#[test]
fn environment_arguments_and_the_free_signal_function() {
    let mut p = Spawn::new(FIXTURE)
        .env_clear()
        .env("KEPT", "yes")
        .args(["env", "KEPT", "env", "HOME", "wait"])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.stdout().lines().count() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(p.stdout(), "yes\n<unset>\n");
    signal(p.id(), Signal::Int).unwrap();
    let status = p.wait().unwrap();
    assert_eq!(status.signal(), Some(2));
}

#[test]
fn output_to_a_shared_file_is_appended_and_quoted_on_failure() {
    let dir = testkit::temp::dir("kit-log");
    let log = dir.path().join("both.log");
    std::fs::write(&log, "earlier run\n").unwrap();
    let err = Spawn::new(FIXTURE)
        .args(["out", "to stdout", "err", "to stderr", "exit", "1"])
        .stdout(Output::File(log.clone()))
        .stderr(Output::File(log.clone()))
        .listens_on(free_port())
        .start()
        .unwrap_err();
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text, "earlier run\nto stdout\nto stderr\n");
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "--- stderr ({}) ---\n{}",
            log.display(),
            text.trim_end()
        )),
        "{message}"
    );
    assert!(
        !message.contains("--- stdout"),
        "the file is quoted once: {message}"
    );
}

#[test]
fn the_target_directory_holds_this_build_s_binaries() {
    let dir = testkit::process::target_bin_dir();
    assert_eq!(Path::new(FIXTURE).parent().unwrap(), dir);
}
