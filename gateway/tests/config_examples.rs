//! Every TOML example in the documentation is a configuration the gateway accepts, and
//! `gateway config` prints an effective configuration that loads back to the same.

use std::path::{Path, PathBuf};
use std::process::Command;

use gateway::config::{Config, Sources};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The fenced ```toml blocks of a Markdown file, or of a Rust file's `//!` docs.
fn toml_blocks(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line
            .strip_prefix("//! ")
            .or(line.strip_prefix("//!"))
            .unwrap_or(line);
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```toml") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

/// Markdown files of the repository (not under target/ or .git/).
fn markdown(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                markdown(&path, out);
            }
        } else if name.ends_with(".md") {
            out.push(path);
        }
    }
}

fn load(text: &str, region: bool) -> Result<Config, gateway::config::ConfigError> {
    Config::load(Sources {
        file: Some(("example.toml".into(), text.into())),
        env: if region {
            |name| (name == "REGION").then(|| "us-east-1".to_owned())
        } else {
            |_| None
        },
    })
}

#[test]
fn every_toml_example_in_the_docs_is_accepted() {
    let mut files = Vec::new();
    markdown(&root(), &mut files);
    // failover's TOML examples are plan files (`failover plan run`), checked by failover's tests.
    files.retain(|f| !f.starts_with(root().join("failover")));
    files.push(root().join("gateway/src/config/mod.rs"));
    let mut checked = 0;
    for file in &files {
        for block in toml_blocks(file) {
            let config = load(&block, true)
                .unwrap_or_else(|e| panic!("{}: example refused: {e}\n{block}", file.display()));
            assert!(
                config.warnings.is_empty(),
                "{}: example has settings that do nothing: {:?}",
                file.display(),
                config.warnings
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "README.md and config/mod.rs hold examples; found {checked}"
    );
}

#[test]
fn gateway_config_prints_what_loads_back() {
    let readme = toml_blocks(&root().join("README.md"));
    let file = std::env::temp_dir().join(format!("gateway-config-{}.toml", std::process::id()));
    std::fs::write(&file, &readme[0]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("config")
        .env_clear()
        .env("GATEWAY_CONFIG", &file)
        .env("REGION", "eu-west-1")
        .env("PORT", "8181")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(
        printed.contains("# env REGION") && printed.contains("# env PORT"),
        "{printed}"
    );
    let again = load(&printed, false).unwrap();
    assert_eq!(again.region, "eu-west-1");
    assert_eq!(again.server.port, 8181);
    let original = load(&readme[0], true).unwrap();
    assert_eq!(again.routes.len(), original.routes.len());
    for (a, b) in again.routes.iter().zip(&original.routes) {
        assert_eq!((&a.prefix, &a.settings), (&b.prefix, &b.settings));
    }

    let bad = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("config")
        .env_clear()
        .env("REGION", "us-east-1")
        .env("SERVICE1_URL", "http://service1.example.com")
        .env("KEEPALIVE_TIMEOUT", "soon")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("server.keepalive_timeout (from KEEPALIVE_TIMEOUT) = \"soon\""),
        "{err}"
    );
}
