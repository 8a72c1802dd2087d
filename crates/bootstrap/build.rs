//! Sets `BUILD_COMMIT` from the checkout when asked to (`BUILD_COMMIT_FROM_GIT=1`, as the
//! Dockerfile's source path does, whose context carries `.git`'s HEAD and refs and nothing else of
//! it) and the build environment did not set it: the image's `/health` then names the commit it was
//! built from. A `BUILD_COMMIT` set by the caller (the deploy workflow, `scripts/build-static.sh`,
//! the Dockerfile's `REVISION` build argument) wins; `unknown` counts as not set. Off by default:
//! a commit would otherwise rebuild every crate of the workspace in a developer's loop.
//!
//! Reads the files git keeps (HEAD, the branch's ref or `packed-refs`, a worktree's `commondir`)
//! rather than running `git`, which the Rust build image does not have.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=BUILD_COMMIT");
    println!("cargo:rerun-if-env-changed=BUILD_COMMIT_FROM_GIT");
    if env::var("BUILD_COMMIT_FROM_GIT").as_deref() != Ok("1") {
        return;
    }
    let given = env::var("BUILD_COMMIT").unwrap_or_default();
    if !given.is_empty() && given != "unknown" {
        return;
    }
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let Some(git_dir) = manifest.ancestors().find_map(git_dir) else {
        return;
    };
    if let Some(commit) = head_commit(&git_dir) {
        println!("cargo:rustc-env=BUILD_COMMIT={commit}");
    }
}

/// The git directory of a checkout rooted at `dir`: `.git` itself, or the one a worktree's `.git`
/// file points to.
fn git_dir(dir: &Path) -> Option<PathBuf> {
    let dot_git = dir.join(".git");
    if dot_git.join("HEAD").is_file() {
        return Some(dot_git);
    }
    let text = fs::read_to_string(&dot_git).ok()?;
    let path = PathBuf::from(text.strip_prefix("gitdir:")?.trim());
    Some(if path.is_absolute() {
        path
    } else {
        dir.join(path)
    })
}

/// The commit HEAD names, following one symbolic ref; `None` when the files are not there.
fn head_commit(git_dir: &Path) -> Option<String> {
    let head_path = git_dir.join("HEAD");
    watch(&head_path);
    let head = fs::read_to_string(&head_path).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref:").map(str::trim) else {
        return is_commit(head).then(|| head.to_string());
    };
    // Branch refs live in the common directory of a worktree's repository.
    let common = fs::read_to_string(git_dir.join("commondir"))
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|_| git_dir.to_path_buf());
    // A commit creates or rewrites the branch's loose ref: watch its directory too, since a packed
    // ref's loose file does not exist yet.
    if let Some(dir) = common.join(reference).parent() {
        watch(dir);
    }
    for dir in [git_dir, common.as_path()] {
        let loose = dir.join(reference);
        if loose.is_file() {
            watch(&loose);
            let commit = fs::read_to_string(&loose).ok()?.trim().to_string();
            return is_commit(&commit).then_some(commit);
        }
    }
    let packed = common.join("packed-refs");
    watch(&packed);
    fs::read_to_string(&packed).ok()?.lines().find_map(|line| {
        let (commit, name) = line.split_once(' ')?;
        (name == reference && is_commit(commit)).then(|| commit.to_string())
    })
}

fn is_commit(s: &str) -> bool {
    s.len() >= 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Rebuild when the file changes. Only files that exist: a missing one would rerun this every build.
fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
