//! An app's serving capacity in one region, from the AWS APIs: the ECS service's desired and
//! running task counts (`DescribeServices`) and its target groups' healthy targets
//! (`DescribeTargetHealth`); and the `scale` step's writes (`UpdateService`,
//! `RegisterScalableTarget` for the autoscaling minimum); and the capacity record the readiness
//! runs keep for when the region being left cannot be read ([`record`]).
//!
//! The SDK clients use the same HTTPS client as the routing-control client
//! ([`recovery::tls::http_client`]: rustls with the bundled roots, never the operating system's
//! store, which `FROM scratch` images do not have). Credentials come from the usual AWS chain;
//! `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_ECS`, `..._ELASTIC_LOAD_BALANCING_V2`,
//! `..._APPLICATION_AUTO_SCALING`) points them at an emulator. Every call is bounded by the
//! client's call timeout.

pub mod record;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum;
use recovery::EcsService;
use serde::Serialize;

/// A capacity call that failed.
#[derive(Debug, thiserror::Error)]
pub enum CapacityError {
    #[error("{call} in {region} failed: {message}")]
    Call {
        call: &'static str,
        region: String,
        message: String,
    },
    #[error("ECS service {service} not found in cluster {cluster} ({region})")]
    NoService {
        cluster: String,
        service: String,
        region: String,
    },
}

/// An ECS service's capacity in one region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Capacity {
    pub desired: u32,
    pub running: u32,
    /// Healthy targets summed over the service's target groups.
    pub healthy_targets: u32,
    /// Every registered target (any state) over those target groups.
    pub targets: u32,
    /// How many target groups were read (the document's `target_group_arns`).
    pub target_groups: u32,
}

impl std::fmt::Display for Capacity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} tasks running", self.running, self.desired)?;
        if self.target_groups > 0 {
            write!(
                f,
                ", {}/{} targets healthy",
                self.healthy_targets, self.targets
            )?;
        }
        Ok(())
    }
}

/// The AWS clients behind capacity reads and scaling, one configuration for every region.
pub struct CapacityClient {
    shared: SdkConfig,
}

/// The service's error code and message, or the innermost cause of a failed exchange. (The SDK
/// crates share one `SdkError` and one `ProvideErrorMetadata`.)
fn describe<E, R>(e: aws_sdk_ecs::error::SdkError<E, R>) -> String
where
    E: aws_sdk_ecs::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    use aws_sdk_ecs::error::SdkError;
    match &e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            format!(
                "{}: {}",
                err.code().unwrap_or("error"),
                err.message().unwrap_or("")
            )
        }
        SdkError::TimeoutError(_) => "timed out".into(),
        _ => {
            let mut cur: &(dyn std::error::Error + 'static) = &e;
            while let Some(next) = cur.source() {
                cur = next;
            }
            cur.to_string()
        }
    }
}

impl CapacityClient {
    /// Loads the AWS configuration (credential chain, endpoint overrides) with the bundled-roots
    /// HTTPS client, each call bounded by `call_timeout` and retried by the SDK at most twice.
    pub async fn new(call_timeout: Duration) -> CapacityClient {
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
            .load()
            .await;
        CapacityClient { shared }
    }

    fn ecs(&self, region: &str) -> aws_sdk_ecs::Client {
        let conf = aws_sdk_ecs::config::Builder::from(&self.shared)
            .region(Region::new(region.to_owned()))
            .build();
        aws_sdk_ecs::Client::from_conf(conf)
    }

    fn elb(&self, region: &str) -> aws_sdk_elasticloadbalancingv2::Client {
        let conf = aws_sdk_elasticloadbalancingv2::config::Builder::from(&self.shared)
            .region(Region::new(region.to_owned()))
            .build();
        aws_sdk_elasticloadbalancingv2::Client::from_conf(conf)
    }

    fn autoscaling(&self, region: &str) -> aws_sdk_applicationautoscaling::Client {
        let conf = aws_sdk_applicationautoscaling::config::Builder::from(&self.shared)
            .region(Region::new(region.to_owned()))
            .build();
        aws_sdk_applicationautoscaling::Client::from_conf(conf)
    }

    /// The service's desired and running counts and its target groups' healthy targets.
    pub async fn read(&self, region: &str, svc: &EcsService) -> Result<Capacity, CapacityError> {
        let call = |call: &'static str| {
            move |message: String| CapacityError::Call {
                call,
                region: region.to_owned(),
                message,
            }
        };
        let out = self
            .ecs(region)
            .describe_services()
            .cluster(&svc.cluster)
            .services(&svc.service)
            .send()
            .await
            .map_err(|e| call("ecs:DescribeServices")(describe(e)))?;
        let service = out
            .services()
            .iter()
            .find(|s| s.status() != Some("INACTIVE"))
            .ok_or_else(|| CapacityError::NoService {
                cluster: svc.cluster.clone(),
                service: svc.service.clone(),
                region: region.to_owned(),
            })?;
        let count = |n: i32| u32::try_from(n).unwrap_or(0);
        let mut capacity = Capacity {
            desired: count(service.desired_count()),
            running: count(service.running_count()),
            healthy_targets: 0,
            targets: 0,
            target_groups: u32::try_from(svc.target_group_arns.len()).unwrap_or(u32::MAX),
        };
        let elb = self.elb(region);
        for tg in &svc.target_group_arns {
            let health = elb
                .describe_target_health()
                .target_group_arn(tg)
                .send()
                .await
                .map_err(|e| call("elasticloadbalancing:DescribeTargetHealth")(describe(e)))?;
            for d in health.target_health_descriptions() {
                capacity.targets += 1;
                if d.target_health().and_then(|h| h.state())
                    == Some(&TargetHealthStateEnum::Healthy)
                {
                    capacity.healthy_targets += 1;
                }
            }
        }
        Ok(capacity)
    }

    /// The service's autoscaling minimum and maximum (`DescribeScalableTargets`), `None` when no
    /// scalable target is registered for it.
    pub async fn limits(
        &self,
        region: &str,
        svc: &EcsService,
    ) -> Result<Option<(u32, u32)>, CapacityError> {
        let targets = self
            .autoscaling(region)
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_ids(resource_id(svc))
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .send()
            .await
            .map_err(|e| CapacityError::Call {
                call: "application-autoscaling:DescribeScalableTargets",
                region: region.to_owned(),
                message: describe(e),
            })?;
        Ok(targets.scalable_targets().first().map(|t| {
            (
                u32::try_from(t.min_capacity()).unwrap_or(0),
                u32::try_from(t.max_capacity()).unwrap_or(0),
            )
        }))
    }

    /// Raises the service's desired count to `desired` and its autoscaling minimum to `desired`
    /// (`RegisterScalableTarget` keeps the maximum at least as high). Returns the calls made.
    pub async fn scale(
        &self,
        region: &str,
        svc: &EcsService,
        desired: u32,
    ) -> Result<Vec<String>, CapacityError> {
        let call = |call: &'static str| {
            move |message: String| CapacityError::Call {
                call,
                region: region.to_owned(),
                message,
            }
        };
        let mut calls = Vec::new();
        let resource = resource_id(svc);
        let aas = self.autoscaling(region);
        let targets = aas
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_ids(&resource)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .send()
            .await
            .map_err(|e| call("application-autoscaling:DescribeScalableTargets")(describe(e)))?;
        if let Some(target) = targets.scalable_targets().first() {
            let max = u32::try_from(target.max_capacity())
                .unwrap_or(0)
                .max(desired);
            let min = u32::try_from(target.min_capacity())
                .unwrap_or(0)
                .max(desired);
            aas.register_scalable_target()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(&resource)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .min_capacity(to_i32(min))
                .max_capacity(to_i32(max))
                .send()
                .await
                .map_err(|e| call("application-autoscaling:RegisterScalableTarget")(describe(e)))?;
            calls.push(format!(
                "application-autoscaling:RegisterScalableTarget {resource} min {min} max {max} ({region})"
            ));
        }
        self.ecs(region)
            .update_service()
            .cluster(&svc.cluster)
            .service(&svc.service)
            .desired_count(to_i32(desired))
            .send()
            .await
            .map_err(|e| call("ecs:UpdateService")(describe(e)))?;
        calls.push(format!(
            "ecs:UpdateService {}/{} desiredCount {desired} ({region})",
            svc.cluster, svc.service
        ));
        Ok(calls)
    }
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Application Auto Scaling's resource id of an ECS service: `service/<cluster>/<service>`
/// (names, not ARNs).
pub fn resource_id(svc: &EcsService) -> String {
    let name = |s: &str| s.rsplit('/').next().unwrap_or(s).to_owned();
    format!("service/{}/{}", name(&svc.cluster), name(&svc.service))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_take_names_from_arns() {
        let svc = EcsService {
            cluster: "arn:aws:ecs:us-west-2:123456789012:cluster/prod".into(),
            service: "arn:aws:ecs:us-west-2:123456789012:service/prod/service1".into(),
            target_group_arns: Vec::new(),
            min_tasks: None,
        };
        assert_eq!(resource_id(&svc), "service/prod/service1");
        let svc = EcsService {
            cluster: "prod".into(),
            service: "service1".into(),
            target_group_arns: Vec::new(),
            min_tasks: None,
        };
        assert_eq!(resource_id(&svc), "service/prod/service1");
    }
}
