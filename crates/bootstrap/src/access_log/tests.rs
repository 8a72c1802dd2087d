//! Batching per loop turn and per thread, JSON escaping, timestamps.

use super::*;

/// The lines waiting in this thread's buffer.
fn waiting() -> usize {
    MINE.with(|mine| lock(&mine.0).buf.len())
}

/// On this thread: a line on a runtime waits for the end of the turn, a full buffer is
/// written at once, a runtime that stops writes what waits, and a line off a runtime is
/// written at once.
#[test]
fn access_lines_wait_for_the_end_of_the_loop_turn_and_never_longer() {
    let line = b"{\"message\":\"request\"}\n";
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        batch(line);
        batch(line);
        assert_eq!(
            waiting(),
            2 * line.len(),
            "two lines wait for this turn to end"
        );
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        assert_eq!(waiting(), 0, "written once the turn ended");

        set_buffer_bytes(2 * line.len());
        batch(line);
        assert_eq!(waiting(), line.len());
        batch(line);
        assert_eq!(waiting(), 0, "a full buffer is written at once");
        set_buffer_bytes(DEFAULT_BUFFER_BYTES);

        batch(line);
        assert_eq!(waiting(), line.len());
    });
    drop(rt);
    assert_eq!(waiting(), 0, "the stopping runtime's flush task wrote it");

    batch(line);
    assert_eq!(waiting(), 0, "off a runtime: written at once");
}

/// On a multi-thread runtime the flush task would take the worker's LIFO slot and run right
/// after the task that made the line: a write per line. Lines made by many tasks in one turn
/// go out in a few writes, each thread's lines from its own buffer, none lost.
#[test]
fn on_a_multi_thread_runtime_lines_of_a_turn_share_a_write() {
    const LINES: usize = 1000;
    let line = b"{\"message\":\"request\",\"batched\":true}\n";
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let before = WRITES.load(Ordering::Relaxed);
    let used = rt.block_on(async {
        let used = tokio::spawn(async {
            let tasks: Vec<_> = (0..LINES)
                .map(|_| {
                    tokio::spawn(async {
                        batch(line);
                        MINE.with(|mine| mine.0.clone())
                    })
                })
                .collect();
            let mut used = Vec::new();
            for t in tasks {
                used.push(t.await.unwrap());
            }
            used
        })
        .await
        .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        used
    });
    let writes = WRITES.load(Ordering::Relaxed) - before;
    assert!(
        (1..LINES / 20).contains(&writes),
        "{LINES} lines took {writes} writes"
    );
    let left: usize = used.iter().map(|b| lock(b).buf.len()).sum();
    assert_eq!(left, 0, "every worker's lines were written");
}

#[test]
fn strings_are_escaped_as_serde_json_does() {
    for s in [
        "plain",
        "quote \" and backslash \\",
        "tab\tnew\nline\rcr",
        "\u{0}\u{1}\u{1f}\u{7f}",
        "utf-8: caf\u{e9} \u{1f600}",
        "",
    ] {
        let mut out = Vec::new();
        escape_into(&mut out, s);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(s).unwrap()
        );
    }
}

#[test]
fn timestamps_match_rfc3339_with_micros_across_seconds() {
    let mut stamp = Stamp {
        second: u64::MAX,
        text: [0; 19],
    };
    let base = UNIX_EPOCH + std::time::Duration::from_micros(1_764_570_909_000_042);
    for offset_us in [0, 1, 999_957, 999_958, 61_000_000, 86_400_000_000] {
        let t = base + std::time::Duration::from_micros(offset_us);
        let mut out = Vec::new();
        stamp.write(&mut out, t);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            humantime::format_rfc3339_micros(t).to_string()
        );
    }
}

#[test]
fn fields_make_a_json_object() {
    let mut f = Fields { buf: Vec::new() };
    f.str("a", "x\"y").num("n", 42).str("b", "");
    f.buf[0] = b'{';
    f.buf.push(b'}');
    let v: serde_json::Value = serde_json::from_slice(&f.buf).unwrap();
    assert_eq!(v, serde_json::json!({"a": "x\"y", "n": 42, "b": ""}));
}
