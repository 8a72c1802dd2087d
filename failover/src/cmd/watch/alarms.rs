//! The CloudWatch trigger: the states of the alarms named in the watch configuration
//! (`DescribeAlarms`), read in one region (us-east-1 for alarms on Route 53 health checks, whose
//! metrics live there). The client is built like the ECS and ELBv2 clients
//! ([`crate::capacity`]): the bundled-roots HTTPS client of [`recovery::tls::http_client`], the
//! usual credential chain, `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_CLOUDWATCH`) for an emulator,
//! each attempt bounded.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudwatch::types::StateValue;

use super::machine::Health;

/// What one alarm's state means for its region.
pub fn health_of(state: Option<&StateValue>) -> Health {
    match state {
        Some(StateValue::Alarm) => Health::Down,
        Some(StateValue::Ok) => Health::Up,
        _ => Health::Unknown,
    }
}

/// Reads the named alarms in one region.
pub struct Alarms {
    client: aws_sdk_cloudwatch::Client,
    region: String,
}

impl Alarms {
    /// A client for `region`, each attempt bounded by `call_timeout` and tried at most 3 times.
    pub async fn new(region: &str, call_timeout: Duration) -> Alarms {
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .http_client(recovery::tls::http_client(None))
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(call_timeout)
                    .operation_attempt_timeout(call_timeout)
                    .operation_timeout(call_timeout * 3)
                    .build(),
            )
            .region(Region::new(region.to_owned()))
            .load()
            .await;
        Alarms {
            client: aws_sdk_cloudwatch::Client::new(&shared),
            region: region.to_owned(),
        }
    }

    /// The state of each named alarm (metric and composite alarms), by name: up for OK, down
    /// for ALARM, unknown for INSUFFICIENT_DATA and for an alarm that does not exist. Err when
    /// the call failed.
    pub async fn read(&self, names: &[String]) -> Result<BTreeMap<String, Health>, String> {
        let mut states: BTreeMap<String, Health> =
            names.iter().map(|n| (n.clone(), Health::Unknown)).collect();
        // DescribeAlarms takes at most 100 names per call.
        for chunk in names.chunks(100) {
            let mut token = None;
            loop {
                let out = self
                    .client
                    .describe_alarms()
                    .set_alarm_names(Some(chunk.to_vec()))
                    .alarm_types(aws_sdk_cloudwatch::types::AlarmType::MetricAlarm)
                    .alarm_types(aws_sdk_cloudwatch::types::AlarmType::CompositeAlarm)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "cloudwatch:DescribeAlarms in {}: {}",
                            self.region,
                            describe(&e)
                        )
                    })?;
                let metric = out
                    .metric_alarms()
                    .iter()
                    .map(|a| (a.alarm_name(), a.state_value()));
                let composite = out
                    .composite_alarms()
                    .iter()
                    .map(|a| (a.alarm_name(), a.state_value()));
                for (name, state) in metric.chain(composite) {
                    if let Some(name) = name {
                        states.insert(name.to_owned(), health_of(state));
                    }
                }
                token = out.next_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(states)
    }
}

fn describe<E, R>(e: &aws_sdk_cloudwatch::error::SdkError<E, R>) -> String
where
    E: aws_sdk_cloudwatch::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    use aws_sdk_cloudwatch::error::SdkError;
    match e {
        SdkError::ServiceError(s) => format!(
            "{}: {}",
            s.err().code().unwrap_or("error"),
            s.err().message().unwrap_or("")
        ),
        SdkError::TimeoutError(_) => "timed out".into(),
        _ => {
            let mut cur: &(dyn std::error::Error + 'static) = e;
            while let Some(next) = cur.source() {
                cur = next;
            }
            cur.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarm_states_map_to_region_health() {
        assert_eq!(health_of(Some(&StateValue::Alarm)), Health::Down);
        assert_eq!(health_of(Some(&StateValue::Ok)), Health::Up);
        assert_eq!(
            health_of(Some(&StateValue::InsufficientData)),
            Health::Unknown
        );
        assert_eq!(health_of(None), Health::Unknown);
    }
}
