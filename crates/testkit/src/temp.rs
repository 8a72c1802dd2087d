//! Temporary directories, removed (with everything in them) when the value is dropped.

pub use tempfile::TempDir;

/// A new empty directory under the system's temporary directory, named `<tag>-` and a random
/// suffix, so that concurrent tests and processes never share one.
///
/// Panics if the directory cannot be created (a test cannot go on without it).
pub fn dir(tag: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("{tag}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("creating a temporary directory for {tag}: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn directories_are_distinct_tagged_and_removed_on_drop() {
        let a = super::dir("kit");
        let b = super::dir("kit");
        assert_ne!(a.path(), b.path());
        let name = a.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert!(name.starts_with("kit-"), "{name}");
        std::fs::write(a.path().join("f"), "x").unwrap();
        let path = a.path().to_path_buf();
        drop(a);
        assert!(!path.exists());
        assert!(b.path().is_dir());
    }
}
