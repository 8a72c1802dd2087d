//! The route table: which upstream a normalised path goes to, and the path the upstream receives.
//!
//! Longest prefix wins, and a prefix matches only whole segments: `/service1` matches `/service1`
//! and `/service1/items` but never `/service10`.

use std::sync::Arc;

use crate::policy::Chain;
use crate::upstream::Upstream;

/// A route: its prefix, its policies and the upstream behind it.
pub struct Route {
    pub name: Arc<str>,
    pub prefix: String,
    pub strip_prefix: bool,
    pub upstream: Arc<Upstream>,
    pub policies: Chain,
}

/// Routes ordered longest prefix first.
pub struct RouteTable {
    routes: Vec<Arc<Route>>,
}

impl RouteTable {
    pub fn new(mut routes: Vec<Route>) -> Self {
        routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        Self {
            routes: routes.into_iter().map(Arc::new).collect(),
        }
    }

    /// The route for a normalised path, if any.
    pub fn find(&self, path: &str) -> Option<&Arc<Route>> {
        self.routes.iter().find(|r| matches_prefix(path, &r.prefix))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Route>> {
        self.routes.iter()
    }
}

fn matches_prefix(path: &str, prefix: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The path the upstream receives: the upstream URL's base path joined with the request path,
/// minus the route prefix when the route strips it. Never empty.
pub fn upstream_path(base: &str, prefix: &str, strip: bool, path: &str) -> String {
    let rest = if strip && prefix != "/" {
        &path[prefix.len()..]
    } else {
        path
    };
    let base = base.trim_end_matches('/');
    let mut out = String::with_capacity(base.len() + rest.len() + 1);
    out.push_str(base);
    out.push_str(rest);
    if out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_segments_only() {
        assert!(matches_prefix("/service1", "/service1"));
        assert!(matches_prefix("/service1/", "/service1"));
        assert!(matches_prefix("/service1/items", "/service1"));
        assert!(!matches_prefix("/service10", "/service1"));
        assert!(!matches_prefix("/service", "/service1"));
    }

    #[test]
    fn upstream_paths() {
        assert_eq!(upstream_path("/", "/service1", true, "/service1"), "/");
        assert_eq!(upstream_path("", "/service1", true, "/service1/"), "/");
        assert_eq!(
            upstream_path("/", "/service1", true, "/service1/items/7"),
            "/items/7"
        );
        assert_eq!(
            upstream_path("/api/", "/service1", true, "/service1/items"),
            "/api/items"
        );
        assert_eq!(
            upstream_path("/api", "/service1", true, "/service1"),
            "/api"
        );
        assert_eq!(
            upstream_path("/", "/service1", false, "/service1/items"),
            "/service1/items"
        );
    }
}
