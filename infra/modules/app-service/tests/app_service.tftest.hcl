# Offline tests: the AWS provider is mocked (infra/tests/mocks), nothing is created. Input validation is the
# callers' (the roots' variables.tf): these tests give valid inputs only.

mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name                       = "gateway"
  name_prefix                = "mrapi"
  region                     = "us-east-1"
  cluster_arn                = "arn:aws:ecs:us-east-1:123456789012:cluster/mrapi"
  vpc_id                     = "vpc-0123456789abcdef0"
  private_subnet_ids         = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  alb_security_group_id      = "sg-0aaaaaaaaaaaaaaaa"
  https_listener_arn         = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/mrapi/0123456789abcdef/0123456789abcdef"
  alb_arn_suffix             = "app/mrapi/0123456789abcdef"
  listener_rule_priority     = 100
  host_headers               = ["externalapi.example.com", "externalapi.us-east-1.example.com"]
  image_repository_url       = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mrapi/gateway"
  image_tag                  = "0123456789abcdef0123456789abcdef01234567"
  ecr_repository_arn         = "arn:aws:ecr:us-east-1:123456789012:repository/mrapi/gateway"
  kms_key_arn                = "arn:aws:kms:us-east-1:123456789012:key/01234567-89ab-cdef-0123-456789abcdef"
  additional_container_ports = [9090]
  environment = {
    SERVICE1_URL = "https://service1.example.com"
    PORT         = "1234"
  }
}

run "task_definition" {
  assert {
    condition     = aws_ecs_task_definition.this.network_mode == "awsvpc" && aws_ecs_task_definition.this.requires_compatibilities == toset(["FARGATE"])
    error_message = "Tasks run on Fargate in awsvpc mode."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].readonlyRootFilesystem == true
    error_message = "The root filesystem must be read-only."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].user == "65532"
    error_message = "The container must run as user 65532."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].healthCheck.command == ["CMD", "/gateway", "healthcheck"]
    error_message = "The container health check must run the binary's healthcheck subcommand."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].stopTimeout == 30
    error_message = "stopTimeout must cover the gateway's 25 s drain deadline."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].image == "123456789012.dkr.ecr.us-east-1.amazonaws.com/mrapi/gateway:0123456789abcdef0123456789abcdef01234567"
    error_message = "The image is the repository URL with the given tag."
  }

  assert {
    condition     = [for p in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].portMappings : p.containerPort] == [8080, 9090]
    error_message = "The container exposes 8080 and the metrics port 9090."
  }

  assert {
    condition = {
      for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name => e.value
    } == { PORT = "8080", REGION = "us-east-1", SERVICE1_URL = "https://service1.example.com" }
    error_message = "REGION and PORT=8080 must always be set and win over var.environment."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].logConfiguration.logDriver == "awslogs"
    error_message = "Logs go to CloudWatch with awslogs."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 365 && aws_cloudwatch_log_group.this.kms_key_id != null
    error_message = "The log group needs a retention and a KMS key."
  }
}

run "service" {
  assert {
    condition     = aws_ecs_service.this.deployment_circuit_breaker[0].enable && aws_ecs_service.this.deployment_circuit_breaker[0].rollback
    error_message = "The deployment circuit breaker must be on with rollback."
  }

  assert {
    condition     = aws_ecs_service.this.network_configuration[0].assign_public_ip == false
    error_message = "Tasks must not get a public IP."
  }

  assert {
    condition     = aws_ecs_service.this.network_configuration[0].subnets == toset(["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"])
    error_message = "Tasks run in the private subnets."
  }

  assert {
    condition     = aws_lb_target_group.this.health_check[0].path == "/health" && aws_lb_target_group.this.health_check[0].port == "8080"
    error_message = "The target group checks /health on port 8080."
  }

  assert {
    condition     = aws_lb_target_group.this.deregistration_delay == "30" && output.deregistration_delay == 30
    error_message = "The target group keeps a deregistering task 30 s by default (the gateway's response timeout)."
  }

  assert {
    condition     = toset(flatten([for c in aws_lb_listener_rule.this.condition : [for h in c.host_header : h.values]])) == toset(["externalapi.example.com", "externalapi.us-east-1.example.com"])
    error_message = "The listener rule routes the global and the regional hostname."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.from_alb.from_port == 8080 && aws_vpc_security_group_ingress_rule.from_alb.referenced_security_group_id == "sg-0aaaaaaaaaaaaaaaa"
    error_message = "Only the load balancer reaches port 8080 (the metrics port is not opened)."
  }
}

run "autoscaling" {
  assert {
    condition     = aws_appautoscaling_target.this.resource_id == "service/mrapi/gateway"
    error_message = "The scalable target is the service."
  }

  assert {
    condition     = aws_appautoscaling_policy.cpu.target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].predefined_metric_type == "ECSServiceAverageCPUUtilization"
    error_message = "Expected a CPU target-tracking policy."
  }

  assert {
    condition     = aws_appautoscaling_policy.requests.target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].resource_label == "app/mrapi/0123456789abcdef/targetgroup/mrapi-app/0123456789abcdef"
    error_message = "The request-count policy must name the load balancer and target group."
  }
}

run "least_privilege_roles" {
  assert {
    condition     = aws_iam_role.execution.name != aws_iam_role.task.name
    error_message = "Execution and task roles must be separate."
  }

  assert {
    condition     = length(aws_iam_role_policy.task) == 0
    error_message = "Without a policy the task role has no permissions."
  }

  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.execution.policy).Statement : s.Resource if s.Sid == "PullOwnImage"
    ])) == toset(["arn:aws:ecr:us-east-1:123456789012:repository/mrapi/gateway"])
    error_message = "The execution role may pull from the app's own repository only."
  }
}

run "task_role_policy" {
  variables {
    task_role_policy_json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"route53-recovery-cluster:GetRoutingControlState\",\"Resource\":\"arn:aws:route53-recovery-control::123456789012:controlpanel/1/routingcontrol/2\"}]}"
  }

  assert {
    condition     = length(aws_iam_role_policy.task) == 1
    error_message = "The task role gets the given policy."
  }
}

# The scalable target ignores bounds changed outside Terraform (an evacuation's scale step; the apply stage shows
# that against moto), but a change of the configured bounds still registers them: the target is replaced.
run "configured_bounds_are_registered" {
  variables {
    min_capacity = 4
    max_capacity = 8
  }

  assert {
    condition     = aws_appautoscaling_target.this.min_capacity == 4 && aws_appautoscaling_target.this.max_capacity == 8 && output.autoscaling_capacity == { min_capacity = 4, max_capacity = 8 }
    error_message = "A changed min_capacity or max_capacity must be registered, despite the scalable target ignoring changes made outside Terraform."
  }

  assert {
    condition     = terraform_data.capacity_bounds.output == { min_capacity = 4, max_capacity = 8 }
    error_message = "capacity_bounds carries the configured bounds."
  }
}
