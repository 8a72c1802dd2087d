# The one set of mocked AWS data and resources for every `terraform test` of the roots and modules under infra/
# (mock_provider "aws" { source = "../tests/mocks" } in a root, "../../tests/mocks" in a module). Computed
# attributes get ARN- and ID-shaped defaults, so that everything that parses or pattern-matches them plans. A
# test that needs a particular value sets it with override_resource / override_data in its own file.

# --- Data sources. ---

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition = "aws"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "us-east-1"
  }
}

mock_data "aws_elb_service_account" {
  defaults = {
    arn = "arn:aws:iam::127311923021:root"
  }
}

mock_data "aws_iam_openid_connect_provider" {
  defaults = {
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
  }
}

# --- Network (modules/network). ---

mock_resource "aws_vpc" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0123456789abcdef0"
  }
}

mock_resource "aws_default_security_group" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0default000000000"
  }
}

mock_resource "aws_internet_gateway" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:internet-gateway/igw-0123456789abcdef0"
  }
}

mock_resource "aws_subnet" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0123456789abcdef0"
  }
}

mock_resource "aws_route_table" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:route-table/rtb-0123456789abcdef0"
  }
}

mock_resource "aws_eip" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:elastic-ip/eipalloc-0123456789abcdef0"
  }
}

mock_resource "aws_vpc_endpoint" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:vpc-endpoint/vpce-0123456789abcdef0"
  }
}

mock_resource "aws_flow_log" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:vpc-flow-log/fl-0123456789abcdef0"
  }
}

mock_resource "aws_security_group" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0"
  }
}

mock_resource "aws_vpc_security_group_ingress_rule" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:security-group-rule/sgr-0123456789abcdef0"
  }
}

mock_resource "aws_vpc_security_group_egress_rule" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:security-group-rule/sgr-0fedcba9876543210"
  }
}

# --- Load balancer (modules/alb) and the apps' target groups and rules (modules/app-service). ---

mock_resource "aws_lb" {
  defaults = {
    arn        = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/mrapi/0123456789abcdef"
    arn_suffix = "app/mrapi/0123456789abcdef"
    dns_name   = "mrapi-123456789.us-east-1.elb.amazonaws.com"
    zone_id    = "Z35SXDOTRQ7X7K"
  }
}

mock_resource "aws_lb_listener" {
  defaults = {
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/mrapi/0123456789abcdef/0123456789abcdef"
  }
}

mock_resource "aws_lb_listener_rule" {
  defaults = {
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/mrapi/0123456789abcdef/0123456789abcdef/0123456789abcdef"
  }
}

mock_resource "aws_lb_target_group" {
  defaults = {
    arn        = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/mrapi-app/0123456789abcdef"
    arn_suffix = "targetgroup/mrapi-app/0123456789abcdef"
  }
}

# --- KMS, logs, ECR, ECS, IAM, autoscaling (the regional root and modules/app-service). ---

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:us-east-1:123456789012:key/01234567-89ab-cdef-0123-456789abcdef"
    key_id = "01234567-89ab-cdef-0123-456789abcdef"
  }
}

mock_resource "aws_kms_alias" {
  defaults = {
    arn            = "arn:aws:kms:us-east-1:123456789012:alias/mrapi"
    target_key_arn = "arn:aws:kms:us-east-1:123456789012:key/01234567-89ab-cdef-0123-456789abcdef"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn = "arn:aws:s3:::mrapi-logs-us-east-1-123456789012"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/mrapi/app"
  }
}

mock_resource "aws_ecr_repository" {
  defaults = {
    arn            = "arn:aws:ecr:us-east-1:123456789012:repository/mrapi/app"
    repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mrapi/app"
    registry_id    = "123456789012"
  }
}

mock_resource "aws_ecs_cluster" {
  defaults = {
    arn = "arn:aws:ecs:us-east-1:123456789012:cluster/mrapi"
    id  = "arn:aws:ecs:us-east-1:123456789012:cluster/mrapi"
  }
}

mock_resource "aws_ecs_task_definition" {
  defaults = {
    arn                  = "arn:aws:ecs:us-east-1:123456789012:task-definition/mrapi-app:1"
    arn_without_revision = "arn:aws:ecs:us-east-1:123456789012:task-definition/mrapi-app"
  }
}

mock_resource "aws_ecs_service" {
  defaults = {
    id = "arn:aws:ecs:us-east-1:123456789012:service/mrapi/app"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::123456789012:role/mrapi-app-us-east-1-task"
  }
}

mock_resource "aws_iam_openid_connect_provider" {
  defaults = {
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
  }
}

mock_resource "aws_appautoscaling_target" {
  defaults = {
    arn = "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/0123456789abcdef"
  }
}

mock_resource "aws_appautoscaling_policy" {
  defaults = {
    arn = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:01234567-89ab-cdef-0123-456789abcdef:resource/ecs/service/mrapi/app:policyName/cpu"
  }
}

# --- Certificates (infra/certificates, modules/certificate): the validation options ACM gives for every name of
# both regions (the same record for a name in every region). ---

mock_resource "aws_acm_certificate" {
  defaults = {
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
    domain_validation_options = [
      { domain_name = "externalapi.example.com", resource_record_name = "_v0.externalapi.example.com.", resource_record_type = "CNAME", resource_record_value = "_w0.acm-validations.aws." },
      { domain_name = "service1.example.com", resource_record_name = "_v1.service1.example.com.", resource_record_type = "CNAME", resource_record_value = "_w1.acm-validations.aws." },
      { domain_name = "service2.example.com", resource_record_name = "_v2.service2.example.com.", resource_record_type = "CNAME", resource_record_value = "_w2.acm-validations.aws." },
      { domain_name = "externalapi.us-east-1.example.com", resource_record_name = "_v3.externalapi.us-east-1.example.com.", resource_record_type = "CNAME", resource_record_value = "_w3.acm-validations.aws." },
      { domain_name = "service1.us-east-1.example.com", resource_record_name = "_v4.service1.us-east-1.example.com.", resource_record_type = "CNAME", resource_record_value = "_w4.acm-validations.aws." },
      { domain_name = "service2.us-east-1.example.com", resource_record_name = "_v5.service2.us-east-1.example.com.", resource_record_type = "CNAME", resource_record_value = "_w5.acm-validations.aws." },
      { domain_name = "externalapi.us-west-2.example.com", resource_record_name = "_v6.externalapi.us-west-2.example.com.", resource_record_type = "CNAME", resource_record_value = "_w6.acm-validations.aws." },
      { domain_name = "service1.us-west-2.example.com", resource_record_name = "_v7.service1.us-west-2.example.com.", resource_record_type = "CNAME", resource_record_value = "_w7.acm-validations.aws." },
      { domain_name = "service2.us-west-2.example.com", resource_record_name = "_v8.service2.us-west-2.example.com.", resource_record_type = "CNAME", resource_record_value = "_w8.acm-validations.aws." },
    ]
  }
}

mock_resource "aws_acm_certificate_validation" {
  defaults = {
    certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
  }
}

# --- Route 53 ARC and health checks (infra/global, modules/arc-app). ---

mock_resource "aws_route53recoverycontrolconfig_cluster" {
  defaults = {
    arn = "arn:aws:route53-recovery-control::123456789012:cluster/0123abcd"
    cluster_endpoints = [
      { region = "us-east-1", endpoint = "https://host-aaaa.route53-recovery-cluster.us-east-1.amazonaws.com/v1" },
      { region = "us-west-2", endpoint = "https://host-bbbb.route53-recovery-cluster.us-west-2.amazonaws.com/v1" },
      { region = "eu-west-1", endpoint = "https://host-cccc.route53-recovery-cluster.eu-west-1.amazonaws.com/v1" },
      { region = "ap-northeast-1", endpoint = "https://host-dddd.route53-recovery-cluster.ap-northeast-1.amazonaws.com/v1" },
      { region = "ap-southeast-2", endpoint = "https://host-eeee.route53-recovery-cluster.ap-southeast-2.amazonaws.com/v1" },
    ]
  }
}

mock_resource "aws_route53recoverycontrolconfig_control_panel" {
  defaults = {
    arn = "arn:aws:route53-recovery-control::123456789012:controlpanel/1111"
  }
}

mock_resource "aws_route53recoverycontrolconfig_routing_control" {
  defaults = {
    arn = "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/0000"
  }
}

mock_resource "aws_route53recoverycontrolconfig_safety_rule" {
  defaults = {
    arn = "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/safetyrule/9999"
  }
}

mock_resource "aws_route53_health_check" {
  defaults = {
    arn = "arn:aws:route53:::healthcheck/01234567-89ab-cdef-0123-456789abcdef"
  }
}
