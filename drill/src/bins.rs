//! Finds the project's binaries next to the running executable, building them first if needed.

use std::path::PathBuf;
use std::sync::OnceLock;

use testkit::process::{cargo_build, target_bin_dir};

const BINARIES: [&str; 4] = ["arc-local", "gateway", "service1", "service2"];

/// The path of `name`, built by `cargo build` once per process when any binary is missing or older
/// than the sources cargo knows about (cargo decides; it is quick when nothing changed).
pub fn path(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        if let Err(e) = cargo_build(&BINARIES) {
            panic!("building the drill's binaries failed: {e}");
        }
    });
    target_bin_dir().join(name)
}
