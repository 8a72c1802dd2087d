//! The command's standard output. Each write is flushed at once (probe lines appear as rounds
//! end), and a closed stdout (`failover probe | head`) ends the command quietly with status 1
//! instead of a panic.

use std::io::Write as _;

/// Writes `text` and a newline.
pub fn line(text: &str) {
    text_raw(&format!("{text}\n"));
}

/// Writes `text` as is (several lines that end with their own newline).
pub fn text(text: &str) {
    text_raw(text);
}

fn text_raw(text: &str) {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(1);
    }
}
