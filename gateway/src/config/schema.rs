//! How a setting is declared: once, with its type, default, range and environment variable, in a
//! [`settings!`] table. The table generates the resolved struct the gateway runs with, the
//! all-optional struct a TOML table is read into, and the step that merges file, `[defaults]`,
//! environment and default, checks the range and records where each value came from
//! ([`Source`]), so every error names the key and its origin and `gateway config` can print the
//! effective configuration.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use super::ConfigError;

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Default,
    /// The configuration file, at this key.
    File,
    /// The file's `[defaults]` table (a route setting the route did not set).
    Defaults,
    /// An environment variable (a fixed one such as `PORT`, or an app's `ORDERS_URL`).
    Env(Cow<'static, str>),
    /// An environment variable holding a secret: recorded as set, its value never shown.
    Hidden(&'static str),
    /// The cluster document (an app the gateway routes because the document lists it).
    Document,
}

impl Source {
    /// The environment variable `name`.
    pub fn env(name: impl Into<Cow<'static, str>>) -> Source {
        Source::Env(name.into())
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File => f.write_str("file"),
            Source::Defaults => f.write_str("[defaults]"),
            Source::Env(name) => write!(f, "env {name}"),
            Source::Hidden(name) => write!(f, "env {name}; a secret, not shown"),
            Source::Document => f.write_str("cluster document"),
        }
    }
}

/// A key as errors name it: `server.port`, or `server.port (from PORT)` when the environment set it.
pub fn key_of(key: &str, source: &Source) -> String {
    match source {
        Source::Env(name) => format!("{key} (from {name})"),
        Source::Hidden(name) => format!("{key} (from {name})"),
        Source::Defaults => format!("{key} (from [defaults])"),
        Source::Document => format!("{key} (from the cluster document)"),
        Source::Default | Source::File => key.to_owned(),
    }
}

/// One line of the effective configuration: a key, its value as TOML, and where it came from.
#[derive(Clone, Debug)]
pub struct Entry {
    pub key: &'static str,
    pub value: String,
    pub source: Source,
}

/// A table of the effective configuration (`[server]`, a `[[route]]`, ...).
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// `[server]`, `[[route]]`, or empty for the top level.
    pub header: String,
    pub entries: Vec<Entry>,
}

impl Table {
    pub fn new(header: &str) -> Table {
        Table {
            header: header.to_owned(),
            entries: Vec::new(),
        }
    }

    pub fn push(&mut self, key: &'static str, value: String, source: Source) {
        self.entries.push(Entry { key, value, source });
    }
}

/// A type a setting can have: read from TOML or an environment variable, shown in errors and in
/// the effective configuration.
pub trait Setting: Sized + Clone {
    /// From the file's TOML value.
    fn from_toml(v: toml::Value) -> Result<Self, String>;
    /// From an environment variable's text.
    fn from_env(s: &str) -> Result<Self, String>;
    /// As errors show it.
    fn show(&self) -> String;
    /// As TOML, for `gateway config`.
    fn to_toml(&self) -> String;
}

/// serde `deserialize_with` for an optional setting of any [`Setting`] type.
pub fn opt<'de, D: Deserializer<'de>, T: Setting>(d: D) -> Result<Option<T>, D::Error> {
    let v = toml::Value::deserialize(d)?;
    T::from_toml(v).map(Some).map_err(D::Error::custom)
}

impl Setting for Duration {
    fn from_toml(v: toml::Value) -> Result<Self, String> {
        match v {
            toml::Value::String(s) => {
                Self::from_env(&s).map_err(|e| format!("{s:?} is not a duration: {e}"))
            }
            other => Err(format!(
                "expected a duration such as \"2s\" or \"500ms\", found {other}"
            )),
        }
    }
    fn from_env(s: &str) -> Result<Self, String> {
        humantime::parse_duration(s.trim())
            .map_err(|e| format!("{e} (expected a duration such as 75s)"))
    }
    fn show(&self) -> String {
        format!("{self:?}")
    }
    fn to_toml(&self) -> String {
        format!("\"{}\"", humantime::format_duration(*self))
    }
}

macro_rules! integer_setting {
    ($($t:ty),*) => {$(
        impl Setting for $t {
            fn from_toml(v: toml::Value) -> Result<Self, String> {
                match v {
                    toml::Value::Integer(i) => <$t>::try_from(i)
                        .map_err(|_| format!("{i} is out of range for this setting")),
                    other => Err(format!("expected a whole number, found {other}")),
                }
            }
            fn from_env(s: &str) -> Result<Self, String> {
                s.trim().parse().map_err(|e: std::num::ParseIntError| e.to_string())
            }
            fn show(&self) -> String {
                self.to_string()
            }
            fn to_toml(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
integer_setting!(u16, u32, u64, usize);

macro_rules! text_setting {
    ($($t:ty),*) => {$(
        impl Setting for $t {
            fn from_toml(v: toml::Value) -> Result<Self, String> {
                match v {
                    toml::Value::String(s) => Self::from_env(&s),
                    other => Err(format!("expected a string, found {other}")),
                }
            }
            fn from_env(s: &str) -> Result<Self, String> {
                s.trim().parse().map_err(|e: <$t as std::str::FromStr>::Err| e.to_string())
            }
            fn show(&self) -> String {
                self.to_string()
            }
            fn to_toml(&self) -> String {
                format!("{:?}", self.to_string())
            }
        }
    )*};
}
text_setting!(IpAddr, SocketAddr, String);

impl Setting for bool {
    fn from_toml(v: toml::Value) -> Result<Self, String> {
        match v {
            toml::Value::Boolean(b) => Ok(b),
            other => Err(format!("expected true or false, found {other}")),
        }
    }
    fn from_env(s: &str) -> Result<Self, String> {
        match s.trim() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(format!("{other:?} is not true or false")),
        }
    }
    fn show(&self) -> String {
        self.to_string()
    }
    fn to_toml(&self) -> String {
        self.to_string()
    }
}

/// A list of names (a route's `policies`): a TOML array of strings; in the environment, the
/// names separated by commas.
impl Setting for Vec<String> {
    fn from_toml(v: toml::Value) -> Result<Self, String> {
        match v {
            toml::Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    toml::Value::String(s) => Ok(s),
                    other => Err(format!("expected a string, found {other}")),
                })
                .collect(),
            other => Err(format!(
                "expected a list of names such as [\"keys\"], found {other}"
            )),
        }
    }
    fn from_env(s: &str) -> Result<Self, String> {
        Ok(s.split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect())
    }
    fn show(&self) -> String {
        self.join(",")
    }
    fn to_toml(&self) -> String {
        let items: Vec<String> = self.iter().map(|n| format!("{n:?}")).collect();
        format!("[{}]", items.join(", "))
    }
}

/// An optional setting (a path, a DNS server): absent unless given. Shown as a comment when unset.
impl<T: Setting> Setting for Option<T> {
    fn from_toml(v: toml::Value) -> Result<Self, String> {
        T::from_toml(v).map(Some)
    }
    fn from_env(s: &str) -> Result<Self, String> {
        T::from_env(s).map(Some)
    }
    fn show(&self) -> String {
        self.as_ref().map_or_else(String::new, T::show)
    }
    fn to_toml(&self) -> String {
        self.as_ref().map_or_else(String::new, T::to_toml)
    }
}

/// One setting as a [`settings!`] table declares it.
pub struct Spec<T> {
    pub key: &'static str,
    pub env: Option<&'static str>,
    pub default: T,
    pub check: fn(&T) -> bool,
    pub reason: &'static str,
}

/// What one setting's resolution needs: the environment reader and where to record the result.
pub struct Resolver<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub table: &'a mut Table,
    /// The key prefix errors use: `server.`, `route[0].`.
    pub prefix: &'a str,
}

impl Resolver<'_> {
    /// Picks environment, file, `[defaults]` or default (in that order of precedence), checks
    /// the value and records it.
    pub fn one<T: Setting>(
        &mut self,
        spec: Spec<T>,
        file: Option<T>,
        defaults: Option<T>,
    ) -> Result<T, ConfigError> {
        let key = spec.key;
        let (value, source) = match spec
            .env
            .and_then(|name| (self.env)(name).map(|v| (name, v)))
        {
            Some((name, text)) => {
                let v = T::from_env(&text).map_err(|e| ConfigError::Invalid {
                    key: key_of(&format!("{}{key}", self.prefix), &Source::env(name)),
                    value: text.clone(),
                    reason: e,
                })?;
                (v, Source::env(name))
            }
            None => match (file, defaults) {
                (Some(v), _) => (v, Source::File),
                (None, Some(v)) => (v, Source::Defaults),
                (None, None) => (spec.default, Source::Default),
            },
        };
        if !(spec.check)(&value) {
            return Err(ConfigError::Invalid {
                key: key_of(&format!("{}{key}", self.prefix), &source),
                value: value.show(),
                reason: spec.reason.to_owned(),
            });
        }
        self.table.push(key, value.to_toml(), source);
        Ok(value)
    }
}

/// Declares a table of settings once. For `settings! { pub struct Server / ServerFile { ... } }`:
/// `Server` holds every value, set; `ServerFile` is what the file's table is read into (every
/// field optional, unknown keys refused); `ServerFile::resolve` merges the file, a fallback
/// table (`[defaults]` for routes), the environment and the defaults, checks each value and
/// records its source. A field reads
/// `name: Type = default, |v| range check, "reason", env "VAR"` (the env part optional).
macro_rules! settings {
    (
        $(#[$meta:meta])*
        pub struct $name:ident / $file:ident {
            $(
                $(#[doc = $doc:literal])*
                $field:ident : $ty:ty = $default:expr, $check:expr, $reason:expr $(, env $env:literal)?;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        #[doc = concat!("The file's form of [`", stringify!($name), "`]: every key optional.")]
        #[derive(Clone, Debug, Default, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $file {
            $(
                #[serde(default, deserialize_with = "crate::config::schema::opt")]
                pub $field: Option<$ty>,
            )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self { $( $field: $default, )* }
            }
        }

        impl $file {
            /// Every value set: environment, then this table, then `fallback`, then the default.
            pub fn resolve(
                self,
                fallback: Option<&$file>,
                r: &mut crate::config::schema::Resolver<'_>,
            ) -> Result<$name, crate::config::ConfigError> {
                let d = <$name>::default();
                Ok($name {
                    $(
                        $field: r.one::<$ty>(
                            crate::config::schema::Spec {
                                key: stringify!($field),
                                env: settings!(@env $($env)?),
                                default: d.$field,
                                check: {
                                    let check: fn(&$ty) -> bool = $check;
                                    check
                                },
                                reason: $reason,
                            },
                            self.$field,
                            fallback.and_then(|f| f.$field.clone()),
                        )?,
                    )*
                })
            }
        }
    };
    (@env $env:literal) => { Some($env) };
    (@env) => { None };
}
pub(crate) use settings;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_from_toml_and_env_alike() {
        assert_eq!(
            Duration::from_toml(toml::Value::String("1m".into())),
            Ok(Duration::from_secs(60))
        );
        assert_eq!(Duration::from_env(" 75s "), Ok(Duration::from_secs(75)));
        assert!(Duration::from_toml(toml::Value::Integer(5)).is_err());
        assert_eq!(u16::from_toml(toml::Value::Integer(8080)), Ok(8080));
        assert!(u16::from_toml(toml::Value::Integer(70000)).is_err());
        assert!(u16::from_env("80a").is_err());
        assert_eq!(Duration::from_secs(90).to_toml(), "\"1m 30s\"");
        assert_eq!(
            "10.0.0.2:53".parse::<SocketAddr>().unwrap().to_toml(),
            "\"10.0.0.2:53\""
        );
    }

    #[test]
    fn keys_name_their_origin() {
        assert_eq!(
            key_of("server.port", &Source::env("PORT")),
            "server.port (from PORT)"
        );
        assert_eq!(key_of("server.port", &Source::File), "server.port");
    }
}
