//! Finds the project's binaries next to the running executable, building them first if needed.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

const BINARIES: [&str; 4] = ["arc-local", "gateway", "service1", "service2"];

/// The directory of the binaries of this build profile (`target/debug` or `target/release`).
fn dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the running executable has a path");
    let mut dir = exe.parent().expect("it is in a directory").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// The path of `name`, built by `cargo build` once per process when any binary is missing or older
/// than the sources cargo knows about (cargo decides; it is quick when nothing changed).
pub fn path(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = dir();
        let release = dir.ends_with("release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.arg("build").arg("--quiet");
        if release {
            cmd.arg("--release");
        }
        for b in BINARIES {
            cmd.args(["-p", b]);
        }
        // Tests run from the package directory; cargo finds the workspace from there.
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "building the drill's binaries failed");
    });
    dir().join(name)
}
