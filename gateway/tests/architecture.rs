//! The invariants ARCHITECTURE.md states that a machine can check, checked on the source.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                out.push((p, text));
            }
        }
    }
    out.sort();
    out
}

/// The gateway's top-level module a file belongs to (`upstream` for `upstream/dns.rs`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

/// Code without comments (so a doc link or a why-comment is not a use).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn no_gateway_module_imports_one_that_imports_it() {
    let src = root().join("gateway/src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let modules: BTreeSet<String> = sources(&src)
        .iter()
        .map(|(p, _)| module_of(&src, p))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    for (path, text) in sources(&src) {
        let from = module_of(&src, &path);
        if from == "lib" || from == "main" {
            continue;
        }
        let code = code(&text);
        for to in &modules {
            let used = code.contains(&format!("crate::{to}::"))
                || code.contains(&format!("crate::{to};"))
                || code.contains(&format!("crate::{{{to}"))
                || code.contains("crate::{")
                    && code.split("crate::{").skip(1).any(|list| {
                        list.split('}').next().unwrap_or("").split(',').any(|item| {
                            let item = item.trim();
                            item == to
                                || item.starts_with(&format!("{to}::"))
                                || item.starts_with(&format!("{to} "))
                        })
                    });
            if used && *to != from {
                graph.entry(from.clone()).or_default().insert(to.clone());
            }
        }
    }
    // Depth-first search for a cycle.
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| *p == m) {
            let mut cycle: Vec<String> = path[i..].iter().map(|s| s.to_string()).collect();
            cycle.push(m.to_owned());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m);
        for next in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m);
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        if let Some(cycle) = visit(m, &graph, &mut Vec::new(), &mut done) {
            panic!("import cycle among gateway modules: {}", cycle.join(" -> "));
        }
    }
    assert!(
        graph.contains_key("pipeline"),
        "the graph was read: {graph:?}"
    );
}

#[test]
fn no_gateway_source_file_is_over_400_lines() {
    for (path, text) in sources(&root().join("gateway/src")) {
        let lines = text.lines().count();
        assert!(lines <= 420, "{} has {lines} lines", path.display());
    }
}

#[test]
fn anyhow_only_in_binaries_main() {
    for dir in [
        "gateway",
        "arc-local",
        "failover",
        "crates/bootstrap",
        "crates/recovery",
        "crates/sample-service",
    ] {
        for (path, text) in sources(&root().join(dir).join("src")) {
            if path.file_name().is_some_and(|n| n == "main.rs") {
                continue;
            }
            assert!(
                !code(&text).contains("anyhow"),
                "{} uses anyhow; library code returns typed errors",
                path.display()
            );
        }
    }
}

/// The gateway's source files as `(path under gateway/src, code without comments)`.
fn gateway_code() -> Vec<(String, String)> {
    let src = root().join("gateway/src");
    sources(&src)
        .into_iter()
        .map(|(path, text)| {
            let name = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, code(&text))
        })
        .collect()
}

#[test]
fn hop_by_hop_fields_are_handled_only_in_hop_rs() {
    for (name, code) in gateway_code() {
        if name == "hop.rs" {
            continue;
        }
        for field in [
            "UPGRADE",
            "TRANSFER_ENCODING",
            "TE",
            "TRAILER",
            "PROXY_AUTHENTICATE",
            "PROXY_AUTHORIZATION",
        ] {
            assert!(
                !code.contains(&format!("header::{field},"))
                    && !code.contains(&format!("header::{field})"))
                    && !code.contains(&format!("header::{field};"))
                    && !code.contains(&format!(" {field},")),
                "{name} names the hop-by-hop field {field}; hop-by-hop rules live in hop.rs"
            );
        }
        // `Connection: close` to end a connection is the server's; every other use is hop.rs's.
        if name != "server.rs" {
            assert!(
                !code.contains("header::CONNECTION"),
                "{name} handles Connection"
            );
        }
    }
}

#[test]
fn only_followers_switch_an_upstream() {
    for (name, code) in gateway_code() {
        if name == "upstream/follow.rs" || name == "upstream/mod.rs" {
            continue;
        }
        assert!(
            !code.contains(".switch("),
            "{name} switches an upstream; only the follower loop (upstream/follow.rs) does"
        );
    }
}

/// The backticked names in `text` that look like a file or directory: `pool.rs`, `client/`,
/// `page.html`, `scripts/drill.sh`.
fn file_names(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| {
            // `/`, `/health`: URL paths, not files.
            !t.is_empty()
                && !t.starts_with('/')
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
                && [".rs", ".html", ".sh", ".md", ".toml", "/"]
                    .iter()
                    .any(|end| t.ends_with(end))
        })
        .map(str::to_owned)
        .collect()
}

/// Every path under `dir`, relative to it.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                if rel != "target" && !rel.starts_with('.') {
                    out.push(format!("{rel}/"));
                    stack.push(p);
                }
            } else {
                out.push(rel);
            }
        }
    }
    out
}

#[test]
fn every_file_the_code_map_names_exists() {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let map = doc
        .split("## Code map")
        .nth(1)
        .expect("a code map")
        .split("\n## ")
        .next()
        .unwrap();
    let mut checked = 0;
    let mut missing = Vec::new();
    for section in map.split("\n### ").skip(1) {
        // `### \`crates/recovery\`` is read under crates/recovery/src; `### Containers` at the root.
        let heading = section.lines().next().unwrap();
        let base = match heading.split('`').nth(1) {
            Some(dir) if root().join(dir).join("src").is_dir() => root().join(dir).join("src"),
            Some(dir) => root().join(dir),
            None => root(),
        };
        let (here, everywhere) = (tree(&base), tree(&root()));
        for name in file_names(section) {
            // A name is found at the section's root, or as the end of a path under it (`pool.rs`
            // in the `client/` row), or from the repository's root (`gateway/tests/fallback.rs`).
            let found = here
                .iter()
                .any(|p| p == &name || p.ends_with(&format!("/{name}")))
                || everywhere.contains(&name);
            checked += 1;
            if !found {
                missing.push(format!("{name} (under {})", base.display()));
            }
        }
    }
    assert!(checked > 80, "the code map names files ({checked} read)");
    assert!(
        missing.is_empty(),
        "the code map names files that do not exist: {missing:?}"
    );
}
