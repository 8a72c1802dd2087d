//! Where the cluster document comes from: `--cluster FILE`, `--cluster -` (stdin), or, with
//! neither, arc-local's default topology on 127.0.0.1: over HTTPS when a CA file is given (arc-local
//! with `--tls`, as compose runs it), else plain HTTP.
//!
//! The file may hold the document object or the JSON string `terraform output -json
//! cluster_document` prints; [`ClusterDocument::parse`] accepts both.

use std::io::Read;
use std::path::Path;

use recovery::local::{default_document, DEFAULT_API_PORT};
use recovery::{ClusterDocument, DocumentError};

/// The host arc-local's default topology is reached on when no document is given.
pub const DEFAULT_HOST: &str = "127.0.0.1";

/// Printed after an unreachable-cluster error when no document was given.
pub const DEFAULT_UNREACHABLE_HINT: &str = "hint: no --cluster given, so this is arc-local's default topology at 127.0.0.1:8600-8604: is arc-local running? For a real cluster, pass --cluster FILE.";

/// A loaded document and where it came from, for messages.
#[derive(Debug)]
pub struct Loaded {
    pub document: ClusterDocument,
    /// `None` for the built-in default topology.
    pub source: Option<String>,
}

impl Loaded {
    /// `<cluster arn> (<n> endpoints, <where from>)`, for the status heading.
    pub fn describe(&self) -> String {
        let doc = &self.document;
        let from = match self.source.as_deref() {
            None => "arc-local default topology, no --cluster given".to_owned(),
            Some("-") => "from stdin".to_owned(),
            Some(s) => format!("from {s}"),
        };
        format!(
            "{} ({} endpoint{}, {from})",
            doc.cluster_arn,
            doc.endpoints.len(),
            if doc.endpoints.len() == 1 { "" } else { "s" }
        )
    }
}

/// Loads the document named by `--cluster` (a path or `-`), or the default topology (with
/// `https://` endpoints when `tls`).
pub fn load(arg: Option<&str>, tls: bool) -> Result<Loaded, DocumentError> {
    match arg {
        None => {
            let mut document = default_document(DEFAULT_HOST, DEFAULT_API_PORT);
            if tls {
                for e in document.endpoints.iter_mut() {
                    e.url = e.url.replacen("http://", "https://", 1);
                }
            }
            Ok(Loaded {
                document,
                source: None,
            })
        }
        Some("") => Err(DocumentError::Invalid {
            path: String::new(),
            message: "--cluster (or FAILOVER_CLUSTER) is empty: give a file, or - for stdin".into(),
        }),
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|error| DocumentError::Read {
                    path: "(stdin)".into(),
                    error,
                })?;
            let document = ClusterDocument::parse(&text).map_err(|e| match e {
                DocumentError::Invalid { message, .. } => DocumentError::Invalid {
                    path: " (stdin)".into(),
                    message,
                },
                other => other,
            })?;
            Ok(Loaded {
                document,
                source: Some("-".into()),
            })
        }
        Some(path) => Ok(Loaded {
            document: ClusterDocument::load(Path::new(path))?,
            source: Some(path.to_owned()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_topology_is_https_when_a_ca_is_given() {
        let plain = load(None, false).unwrap().document;
        let tls = load(None, true).unwrap().document;
        assert!(plain
            .endpoints
            .iter()
            .all(|e| e.url.starts_with("http://127.0.0.1:")));
        assert!(tls
            .endpoints
            .iter()
            .all(|e| e.url.starts_with("https://127.0.0.1:")));
        assert_eq!(plain.endpoints.len(), tls.endpoints.len());
    }

    #[test]
    fn no_argument_means_the_local_default_topology() {
        let loaded = load(None, false).unwrap();
        assert!(loaded.source.is_none());
        assert!(loaded
            .describe()
            .ends_with("(5 endpoints, arc-local default topology, no --cluster given)"));
        assert_eq!(loaded.document.endpoints[0].url, "http://127.0.0.1:8600");
        assert_eq!(loaded.document.endpoints[4].url, "http://127.0.0.1:8604");
    }

    #[test]
    fn empty_and_missing_files_are_errors_naming_the_value() {
        assert!(load(Some(""), false)
            .unwrap_err()
            .to_string()
            .contains("empty"));
        let e = load(Some("/nonexistent/cluster.json"), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/cluster.json"), "{e}");
    }
}
