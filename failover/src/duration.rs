//! The duration flags and their bounds: `--timeout`, `--interval`, `--request-timeout` and
//! `--duration`, parsed for clap with a message naming the value.

use std::time::Duration;

/// A duration flag's value that is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum DurationError {
    #[error("{given:?} is not a duration like 2s or 500ms: {reason}")]
    NotADuration {
        given: String,
        reason: humantime::DurationError,
    },
    #[error(
        "{given:?} is out of range ({} to {})",
        humantime::format_duration(*min),
        humantime::format_duration(*max)
    )]
    OutOfRange {
        given: String,
        min: Duration,
        max: Duration,
    },
}

fn bounded(s: &str, min: Duration, max: Duration) -> Result<Duration, DurationError> {
    let d = humantime::parse_duration(s).map_err(|reason| DurationError::NotADuration {
        given: s.to_owned(),
        reason,
    })?;
    if d < min || d > max {
        return Err(DurationError::OutOfRange {
            given: s.to_owned(),
            min,
            max,
        });
    }
    Ok(d)
}

/// `--timeout`: one routing-control call against one endpoint, 10ms to 60s.
pub fn call_timeout(s: &str) -> Result<Duration, DurationError> {
    bounded(s, Duration::from_millis(10), Duration::from_secs(60))
}

/// `probe --interval`: 10ms to 24h.
pub fn interval(s: &str) -> Result<Duration, DurationError> {
    bounded(s, Duration::from_millis(10), Duration::from_secs(24 * 3600))
}

/// `probe --request-timeout`: 10ms to 5m.
pub fn request_timeout(s: &str) -> Result<Duration, DurationError> {
    bounded(s, Duration::from_millis(10), Duration::from_secs(300))
}

/// `probe --duration`: 1ms to 366 days.
pub fn run_duration(s: &str) -> Result<Duration, DurationError> {
    bounded(
        s,
        Duration::from_millis(1),
        Duration::from_secs(366 * 24 * 3600),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_bounded() {
        assert_eq!(call_timeout("2s").unwrap(), Duration::from_secs(2));
        let err = |r: Result<Duration, DurationError>| r.unwrap_err().to_string();
        assert_eq!(
            err(call_timeout("0s")),
            "\"0s\" is out of range (10ms to 1m)"
        );
        assert!(err(call_timeout("2h")).contains("out of range"));
        assert!(
            err(call_timeout("soon")).starts_with("\"soon\" is not a duration like 2s or 500ms: ")
        );
        assert!(interval("24h").is_ok() && interval("25h").is_err());
        assert!(request_timeout("5m").is_ok() && request_timeout("5m1s").is_err());
        assert!(run_duration("1ms").is_ok() && run_duration("0s").is_err());
    }
}
