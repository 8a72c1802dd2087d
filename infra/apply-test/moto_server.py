#!/usr/bin/env python3
"""moto's server with the few patches the apply stage needs (each listed in infra/README.md, "Emulator gaps").

    moto_server.py -H 127.0.0.1 -p PORT        the same arguments as moto_server

- Application Auto Scaling: moto has no ListTagsForResource, TagResource or UntagResource and drops the tags of
  RegisterScalableTarget. The AWS provider tags every scalable target (default_tags) and reads the tags back
  after creating one, retrying the server error until its timeout. Patched: tags are kept per target ARN.
- EC2 flow logs to S3: moto takes the whole destination after "arn:aws:s3:::" for the bucket name, so a key prefix
  (bucket/vpc-flow-logs/) fails as a missing bucket, and it drops DestinationOptions (Parquet, hourly partitions),
  which Terraform then plans to replace. Patched: the bucket is checked without the prefix, the destination and
  its options are kept as given.
- ECS services: moto drops healthCheckGracePeriodSeconds, enableECSManagedTags and availabilityZoneRebalancing,
  so every plan would update every service. Patched: kept as given on create and update.
- Security group rules that reference a security group: moto drops their description (it only reads the
  description of CIDR rules), so every plan would update the rule. Patched: read from the referenced group too.
- Route 53 RECOVERY_CONTROL health checks: moto drops RoutingControlArn and reports an HTTP check's port, interval
  and threshold instead, so Terraform would replace every health check. Patched: the routing control is kept and
  the check is reported as AWS reports one of this type.
"""

import json
import sys

from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.ec2.models.flow_logs import FlowLogsBackend
from moto.ec2.models.security_groups import SecurityGroupRule
from moto.ec2.responses.flow_logs import FlowLogs as FlowLogsResponse
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.route53.models import HealthCheck
from moto.route53.responses import Route53
from moto.server import main

_TAGS: dict[str, dict[str, str]] = {}

_register = ApplicationAutoScalingResponse.register_scalable_target


def register_scalable_target(self):
    body = _register(self)
    arn = json.loads(body or "{}").get("ScalableTargetARN")
    tags = self._get_param("Tags")
    if arn and tags:
        _TAGS.setdefault(arn, {}).update(tags)
    return body


def list_tags_for_resource(self):
    return json.dumps({"Tags": _TAGS.get(self._get_param("ResourceARN"), {})})


def tag_resource(self):
    _TAGS.setdefault(self._get_param("ResourceARN"), {}).update(self._get_param("Tags") or {})
    return "{}"


def untag_resource(self):
    tags = _TAGS.get(self._get_param("ResourceARN"), {})
    for key in self._get_param("TagKeys") or []:
        tags.pop(key, None)
    return "{}"


ApplicationAutoScalingResponse.register_scalable_target = register_scalable_target
ApplicationAutoScalingResponse.list_tags_for_resource = list_tags_for_resource
ApplicationAutoScalingResponse.tag_resource = tag_resource
ApplicationAutoScalingResponse.untag_resource = untag_resource

_create_flow_logs = FlowLogsBackend.create_flow_logs


def create_flow_logs(self, **kwargs):
    destination = kwargs.get("log_destination")
    if kwargs.get("log_destination_type") == "s3" and destination and "/" in destination:
        kwargs["log_destination"] = destination.split("/", 1)[0]
        flow_logs, errors = _create_flow_logs(self, **kwargs)
        for fl in flow_logs:
            fl.log_destination = destination
        return flow_logs, errors
    return _create_flow_logs(self, **kwargs)


_create_flow_logs_response = FlowLogsResponse.create_flow_logs


def create_flow_logs_response(self):
    result = _create_flow_logs_response(self)
    options = self._get_param("DestinationOptions")
    if options:
        for fl in self.ec2_backend.describe_flow_logs(result.result["FlowLogIds"], []):
            fl.destination_options = {
                "FileFormat": options.get("FileFormat", "plain-text"),
                "HiveCompatiblePartitions": str(options.get("HiveCompatiblePartitions", "false")).lower() == "true",
                "PerHourPartition": str(options.get("PerHourPartition", "false")).lower() == "true",
            }
    return result


FlowLogsBackend.create_flow_logs = create_flow_logs
FlowLogsResponse.create_flow_logs = create_flow_logs_response

_SERVICE_FIELDS = ("healthCheckGracePeriodSeconds", "enableECSManagedTags", "availabilityZoneRebalancing")


def _keep_service_fields(original):
    def wrapper(self):
        result = original(self)
        service = result.result.get("service")
        for field in _SERVICE_FIELDS:
            value = self._get_param(field)
            if service is not None and value is not None:
                setattr(service, field, value)
        return result

    return wrapper


EC2ContainerServiceResponse.create_service = _keep_service_fields(EC2ContainerServiceResponse.create_service)
EC2ContainerServiceResponse.update_service = _keep_service_fields(EC2ContainerServiceResponse.update_service)

SecurityGroupRule.description = property(
    lambda self: self.ip_range.get("Description") or (self.source_group or {}).get("Description")
)

_create_health_check = Route53.create_health_check


def create_health_check(self):
    result = _create_health_check(self)
    arn = (self._get_param("HealthCheckConfig") or {}).get("RoutingControlArn")
    if arn:
        result.result["HealthCheck"].routing_control_arn = arn
    return result


_health_check_config = HealthCheck.health_check_config


def health_check_config(self):
    if self.type_ != "RECOVERY_CONTROL":
        return _health_check_config.fget(self)
    return {
        "Type": self.type_,
        "RoutingControlArn": getattr(self, "routing_control_arn", None),
        "Inverted": self.inverted,
        "Disabled": self.disabled,
    }


Route53.create_health_check = create_health_check
HealthCheck.health_check_config = property(health_check_config)

if __name__ == "__main__":
    main(sys.argv[1:])
