//! The routes made from the apps the gateway is given, when the file lists no `[[route]]`: every
//! app of the cluster document but the gateway's own, and every `<APP>_URL` variable
//! (`ORDERS_URL` routes `/orders`, `ORDER_HISTORY_URL` routes `/order-history`; `<APP>_PREFIX`
//! overrides the prefix). `SERVICE1_URL` and `SERVICE2_URL` are two instances of the rule. A
//! variable or an app that cannot be routed is an error or a warning that names it, never a
//! silent drop.

use std::collections::BTreeMap;

use recovery::ClusterDocument;

use super::route::{FailoverMode, FileRoute, Origin};
use super::schema::Source;
use super::upstream_url::UpstreamUrl;
use super::{invalid, ConfigError};

/// Variables of the platforms the gateway runs on (ECS, AWS SDKs, CI runners) that end in `_URL`
/// but name no app: they are not read as routes (a warning says so).
const PLATFORM_PREFIXES: [&str; 5] = ["AWS_", "ECS_", "GITHUB_", "ACTIONS_", "RUNNER_"];

/// The gateway's own settings that end in `_URL` (the global limits' engine): never an app.
const OWN_SETTINGS: [&str; 1] = ["REDIS_URL"];

/// `GATEWAY_FAILOVER_MODE` (default dns) and where it came from.
pub(super) fn mode(env: fn(&str) -> Option<String>) -> Result<(FailoverMode, Source), ConfigError> {
    match env("GATEWAY_FAILOVER_MODE").as_deref() {
        None => Ok((FailoverMode::Dns, Source::Default)),
        Some("dns") => Ok((FailoverMode::Dns, Source::env("GATEWAY_FAILOVER_MODE"))),
        Some("arc") => Ok((FailoverMode::Arc, Source::env("GATEWAY_FAILOVER_MODE"))),
        Some(other) => Err(invalid(
            "GATEWAY_FAILOVER_MODE",
            other,
            "must be dns or arc",
        )),
    }
}

/// The app an `<APP>_URL` variable names (`ORDER_HISTORY_URL` -> `order-history`), if `name` has
/// that shape: upper-case letters, digits and single underscores.
pub(super) fn app_of_var(name: &str, suffix: &str) -> Option<String> {
    let stem = name.strip_suffix(suffix)?;
    let shaped = !stem.is_empty()
        && stem.split('_').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        });
    shaped.then(|| stem.to_ascii_lowercase().replace('_', "-"))
}

/// The variable `<APP><suffix>` of an app (`order-history` -> `ORDER_HISTORY_URL`), as the
/// regional Terraform root writes it.
pub(super) fn var_of_app(app: &str, suffix: &str) -> String {
    format!("{}{suffix}", app.to_ascii_uppercase().replace('-', "_"))
}

/// The `<APP>_URL` variables among `names`, by app, each with its value; platform variables are
/// left out with a warning.
fn url_vars(
    names: &[String],
    env: fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for name in names {
        let Some(app) = app_of_var(name, "_URL") else {
            continue;
        };
        let Some(value) = env(name) else { continue };
        if OWN_SETTINGS.contains(&name.as_str()) {
            continue;
        }
        if let Some(platform) = PLATFORM_PREFIXES.iter().find(|p| name.starts_with(*p)) {
            warnings.push(format!(
                "{name} is not read as a route: {platform}* variables belong to the platform (route the app with a [[route]] table)"
            ));
            continue;
        }
        out.insert(app, (name.clone(), value));
    }
    out
}

/// The routes of the apps the gateway is given: the document's (but [`recovery::GATEWAY_APP`]) and, in dns
/// mode, every `<APP>_URL`. In dns mode an app of the document without `<APP>_URL` goes to
/// `https://<hostname>`, its failover record (what the regional Terraform root sets); in arc mode
/// the document's regional URLs are used and an `<APP>_URL` of an app it lacks is a warning.
pub(super) fn routes(
    names: &[String],
    env: fn(&str) -> Option<String>,
    (mode, mode_source): (FailoverMode, Source),
    doc: Option<&ClusterDocument>,
    warnings: &mut Vec<String>,
) -> Result<Vec<FileRoute>, ConfigError> {
    let mut urls = url_vars(names, env, warnings);
    let prefix_of = |app: &str, default: String, source: Source| {
        let var = var_of_app(app, "_PREFIX");
        match env(&var) {
            Some(prefix) => (prefix, Source::env(var)),
            None => (default, source),
        }
    };
    let mut routes = Vec::new();
    for (app, default_prefix, entry) in doc.into_iter().flat_map(|d| d.routed_apps()) {
        let (upstream, upstream_source) = match urls.remove(app) {
            Some((var, value)) => {
                // Checked in arc mode too, where the document's URLs are used: a bad value is a mistake.
                UpstreamUrl::parse(&value).map_err(|reason| invalid(&var, &value, reason))?;
                (Some(value), Source::env(var))
            }
            None if mode == FailoverMode::Dns => (
                Some(format!("https://{}", entry.hostname)),
                Source::Document,
            ),
            None => (None, Source::Document),
        };
        let (prefix, prefix_source) = prefix_of(app, default_prefix, Source::Document);
        routes.push(FileRoute::from_app(
            prefix,
            upstream,
            mode,
            Some(app.to_owned()),
            Origin {
                app: app.to_owned(),
                prefix: prefix_source,
                upstream: upstream_source,
                failover: mode_source.clone(),
                arc_app: Source::Document,
            },
        ));
    }
    for (app, (var, value)) in urls {
        if mode == FailoverMode::Arc {
            warnings.push(format!(
                "{var} has no effect: arc mode routes the cluster document's apps, and it has no app {app:?} (apps: {})",
                doc.map(ClusterDocument::app_names).unwrap_or_default()
            ));
            continue;
        }
        let (prefix, prefix_source) = prefix_of(&app, format!("/{app}"), Source::env(var.clone()));
        routes.push(FileRoute::from_app(
            prefix,
            Some(value),
            mode,
            None,
            Origin {
                app: app.clone(),
                prefix: prefix_source,
                upstream: Source::env(var),
                failover: mode_source.clone(),
                arc_app: Source::Default,
            },
        ));
    }
    routes.sort_by(|a, b| a.app().cmp(b.app()));
    stray_prefixes(names, env, &routes, warnings);
    if routes.is_empty() {
        return Err(ConfigError::NoRoutes);
    }
    Ok(routes)
}

/// `<APP>_PREFIX` variables whose app is not routed (a misspelt app name): a warning each.
fn stray_prefixes(
    names: &[String],
    env: fn(&str) -> Option<String>,
    routes: &[FileRoute],
    warnings: &mut Vec<String>,
) {
    for name in names {
        let Some(app) = app_of_var(name, "_PREFIX") else {
            continue;
        };
        if env(name).is_none()
            || PLATFORM_PREFIXES.iter().any(|p| name.starts_with(p))
            || routes.iter().any(|r| r.app() == app)
        {
            continue;
        }
        warnings.push(format!(
            "{name} has no effect: no {} and no app {app:?} in the cluster document",
            var_of_app(&app, "_URL")
        ));
    }
}

/// With `[[route]]` tables in the file, the apps the gateway is given some other way that no
/// route serves: a warning for each `<APP>_URL` and each app of the cluster document.
pub(super) fn unrouted(
    file_routes: &[FileRoute],
    names: &[String],
    env: fn(&str) -> Option<String>,
    doc: Option<&ClusterDocument>,
    warnings: &mut Vec<String>,
) {
    let routed = |app: &str| file_routes.iter().any(|r| r.app() == app);
    let mut ignored = Vec::new();
    for (app, (var, _)) in url_vars(names, env, &mut ignored) {
        if !routed(&app) {
            warnings.push(format!(
                "{var} has no effect: the file's [[route]] tables are the routes (add one with prefix = \"/{app}\")"
            ));
        }
    }
    if env("GATEWAY_FAILOVER_MODE").is_some() {
        warnings.push(
            "GATEWAY_FAILOVER_MODE has no effect: the file's [[route]] tables set failover per route"
                .into(),
        );
    }
    for (app, prefix, _) in doc.into_iter().flat_map(|d| d.routed_apps()) {
        if !routed(app) {
            warnings.push(format!(
                "the cluster document's app {app:?} has no route: add a [[route]] with prefix = {prefix:?} and arc_app = {app:?}"
            ));
        }
    }
}
