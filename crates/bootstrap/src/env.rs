//! The environment contract shared by every binary: `REGION`/`AWS_REGION` and `PORT`.
//!
//! Errors name the variable and the bad value so an operator can fix a task definition
//! without reading code.

use std::str::FromStr;
use std::time::Duration;

/// The port every binary listens on when `PORT` is unset.
pub const DEFAULT_PORT: u16 = 8080;

/// A variable of the environment contract held a value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{name}={value:?} is not valid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
    #[error("neither REGION nor AWS_REGION is set; set REGION to the AWS region this instance runs in, e.g. REGION=us-east-1")]
    MissingRegion,
}

/// Reads a variable; an unset or empty variable is `None`.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Parses an optional variable, naming the variable and value in the error.
pub fn parse<T>(name: &'static str) -> Result<Option<T>, EnvError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(None),
        Some(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|e: T::Err| EnvError::Invalid {
                name,
                reason: e.to_string(),
                value,
            }),
    }
}

/// The region this instance runs in: `REGION`, else `AWS_REGION` (set by ECS/Fargate).
pub fn region() -> Result<String, EnvError> {
    let region = var("REGION")
        .or_else(|| var("AWS_REGION"))
        .ok_or(EnvError::MissingRegion)?;
    validate_region(&region).map_err(|reason| EnvError::Invalid {
        name: if var("REGION").is_some() {
            "REGION"
        } else {
            "AWS_REGION"
        },
        value: region.clone(),
        reason,
    })?;
    Ok(region)
}

/// A region name is lower-case letters, digits and dashes, as AWS spells them (`us-east-1`).
pub fn validate_region(region: &str) -> Result<(), String> {
    let ok = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err("expected an AWS region name such as us-east-1".into())
    }
}

/// The listening port: `PORT`, default 8080. Port 0 is refused: a service must be reachable at a known port.
pub fn port() -> Result<u16, EnvError> {
    port_var("PORT", DEFAULT_PORT)
}

/// The address to listen on: `BIND`, default `0.0.0.0` (every interface, as a container needs).
pub fn bind() -> Result<std::net::IpAddr, EnvError> {
    Ok(parse::<std::net::IpAddr>("BIND")?.unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])))
}

/// A port from `name`, or `default` when unset.
pub fn port_var(name: &'static str, default: u16) -> Result<u16, EnvError> {
    let port = parse::<u16>(name)?.unwrap_or(default);
    if port == 0 {
        return Err(EnvError::Invalid {
            name,
            value: "0".into(),
            reason: "port 0 is not a fixed port".into(),
        });
    }
    Ok(port)
}

/// Default idle keep-alive for client connections: above an AWS ALB's default idle timeout (60 s),
/// so the load balancer, not the target, closes idle connections (nginx's default is also 75 s).
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(75);
/// Default bound on a request head (and on a new connection's first byte).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time in-flight requests get to finish on SIGTERM (ECS waits 30 s before SIGKILL).
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(25);

/// A duration from `name` in humantime form (`75s`, `500ms`, `2m`); zero is refused.
pub fn duration_var(name: &'static str) -> Result<Option<Duration>, EnvError> {
    let Some(value) = var(name) else {
        return Ok(None);
    };
    match humantime::parse_duration(value.trim()) {
        Ok(d) if !d.is_zero() => Ok(Some(d)),
        Ok(_) => Err(EnvError::Invalid {
            name,
            value,
            reason: "must be longer than zero".into(),
        }),
        Err(e) => Err(EnvError::Invalid {
            name,
            reason: format!("{e} (expected a duration such as 75s or 500ms)"),
            value,
        }),
    }
}

/// How long an idle keep-alive client connection stays open: `KEEPALIVE_TIMEOUT`, default 75 s.
pub fn keepalive_timeout() -> Result<Duration, EnvError> {
    Ok(duration_var("KEEPALIVE_TIMEOUT")?.unwrap_or(DEFAULT_KEEPALIVE_TIMEOUT))
}

/// How long a client has to send a request head: `HEADER_READ_TIMEOUT`, default 10 s.
pub fn header_read_timeout() -> Result<Duration, EnvError> {
    Ok(duration_var("HEADER_READ_TIMEOUT")?.unwrap_or(DEFAULT_HEADER_READ_TIMEOUT))
}

/// How long in-flight requests get on SIGTERM: `DRAIN_TIMEOUT`, default 25 s.
pub fn drain_timeout() -> Result<Duration, EnvError> {
    Ok(duration_var("DRAIN_TIMEOUT")?.unwrap_or(DEFAULT_DRAIN_TIMEOUT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        assert!(validate_region("us-east-1").is_ok());
        assert!(validate_region("eu-central-2").is_ok());
        assert!(validate_region("US-EAST-1").is_err());
        assert!(validate_region("us east").is_err());
        assert!(validate_region("-us").is_err());
        assert!(validate_region("").is_err());
    }
}
