# Mocked AWS data and resources for the regional root's offline tests: ARN-shaped defaults so that
# resources which parse ARNs plan. Shared by tests/ and tfvars-tests/.

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

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:us-east-1:123456789012:key/01234567-89ab-cdef-0123-456789abcdef"
    key_id = "01234567-89ab-cdef-0123-456789abcdef"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn = "arn:aws:s3:::mrapi-logs-us-east-1-123456789012"
  }
}

mock_resource "aws_vpc" {
  defaults = {
    arn        = "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0123456789abcdef0"
    cidr_block = "10.10.0.0/16"
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

mock_resource "aws_ecr_repository" {
  defaults = {
    arn            = "arn:aws:ecr:us-east-1:123456789012:repository/mrapi/app"
    repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mrapi/app"
    registry_id    = "123456789012"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/mrapi/app"
  }
}

mock_resource "aws_ecs_cluster" {
  defaults = {
    arn = "arn:aws:ecs:us-east-1:123456789012:cluster/mrapi"
    id  = "arn:aws:ecs:us-east-1:123456789012:cluster/mrapi"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::123456789012:role/mrapi-app-us-east-1-task"
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

mock_resource "aws_vpc_endpoint" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:vpc-endpoint/vpce-0123456789abcdef0"
  }
}

mock_resource "aws_default_security_group" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0default000000000"
  }
}

mock_resource "aws_eip" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:elastic-ip/eipalloc-0123456789abcdef0"
  }
}

mock_resource "aws_internet_gateway" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:internet-gateway/igw-0123456789abcdef0"
  }
}

mock_resource "aws_kms_alias" {
  defaults = {
    arn            = "arn:aws:kms:us-east-1:123456789012:alias/mrapi"
    target_key_arn = "arn:aws:kms:us-east-1:123456789012:key/01234567-89ab-cdef-0123-456789abcdef"
  }
}

mock_resource "aws_route_table" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:route-table/rtb-0123456789abcdef0"
  }
}

mock_resource "aws_subnet" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0123456789abcdef0"
  }
}

mock_resource "aws_vpc_security_group_egress_rule" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:security-group-rule/sgr-0fedcba9876543210"
  }
}

mock_resource "aws_vpc_security_group_ingress_rule" {
  defaults = {
    arn = "arn:aws:ec2:us-east-1:123456789012:security-group-rule/sgr-0123456789abcdef0"
  }
}
