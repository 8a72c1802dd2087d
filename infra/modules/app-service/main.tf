# One app on ECS Fargate behind the regional load balancer: log group, execution and task roles, security group,
# target group and host-header rule, task definition, service (circuit breaker with rollback) and target-tracking
# autoscaling on CPU and on requests per target.

locals {
  full_name    = "${var.name_prefix}-${var.name}"
  cluster_name = element(split("/", var.cluster_arn), 1)
  image        = "${var.image_repository_url}:${var.image_tag}"

  # REGION and PORT are part of every binary's interface contract; they win over var.environment.
  environment = merge(var.environment, {
    REGION = var.region
    PORT   = tostring(var.container_port)
  })

  ports = concat([var.container_port], var.additional_container_ports)

  container_definition = {
    name                   = var.name
    image                  = local.image
    essential              = true
    user                   = "65532"
    readonlyRootFilesystem = true
    privileged             = false
    stopTimeout            = var.stop_timeout

    portMappings = [for p in local.ports : {
      name          = "${var.name}-${p}"
      containerPort = p
      hostPort      = p
      protocol      = "tcp"
    }]

    environment = [for k in sort(keys(local.environment)) : {
      name  = k
      value = local.environment[k]
    }]

    # The images have no shell: the binary checks its own health endpoint.
    healthCheck = {
      command     = ["CMD", "/${var.name}", "healthcheck"]
      interval    = 10
      timeout     = 5
      retries     = 3
      startPeriod = 10
    }

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = var.region
        awslogs-stream-prefix = var.name
      }
    }
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name_prefix}/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

# --- IAM: the execution role pulls the image and writes logs; the task role is what the app itself may do. ---

resource "aws_iam_role" "execution" {
  name = "${local.full_name}-${var.region}-execution"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy" "execution" {
  name = "pull-image-write-logs"
  role = aws_iam_role.execution.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "EcrAuthToken"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"]
        Resource = "*" # GetAuthorizationToken has no resource-level permissions
      },
      {
        Sid      = "PullOwnImage"
        Effect   = "Allow"
        Action   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
        Resource = [var.ecr_repository_arn]
      },
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.this.arn}:*"]
      },
    ]
  })
}

resource "aws_iam_role" "task" {
  name = "${local.full_name}-${var.region}-task"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy" "task" {
  count = var.task_role_policy_json == null ? 0 : 1

  name   = "${var.name}-task"
  role   = aws_iam_role.task.id
  policy = var.task_role_policy_json
}

# --- Network: only the load balancer reaches the container port; tasks may open HTTPS connections out. ---

resource "aws_security_group" "task" {
  name        = "${local.full_name}-task"
  description = "${var.name} tasks: app port from the load balancer, HTTPS out"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${local.full_name}-task" })
}

resource "aws_vpc_security_group_ingress_rule" "from_alb" {
  security_group_id            = aws_security_group.task.id
  description                  = "App port from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = var.alb_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "https" {
  for_each = toset(var.egress_cidr_blocks)

  security_group_id = aws_security_group.task.id
  description       = "HTTPS to AWS APIs and upstream hostnames"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

# --- Load balancer: target group and host-header rule. ---

resource "aws_lb_target_group" "this" {
  # checkov:skip=CKV_AWS_378: TLS ends at the load balancer; tasks serve plain HTTP on port 8080 inside private subnets
  name                 = substr(local.full_name, 0, 32)
  vpc_id               = var.vpc_id
  target_type          = "ip"
  protocol             = "HTTP"
  port                 = var.container_port
  deregistration_delay = var.deregistration_delay

  health_check {
    enabled             = true
    path                = var.health_check_path
    port                = tostring(var.container_port)
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

resource "aws_lb_listener_rule" "this" {
  listener_arn = var.https_listener_arn
  priority     = var.listener_rule_priority

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  condition {
    host_header {
      values = var.host_headers
    }
  }

  tags = var.tags
}

# --- Task definition and service. ---

resource "aws_ecs_task_definition" "this" {
  family                   = local.full_name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode([local.container_definition])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  tags = var.tags
}

resource "aws_ecs_service" "this" {
  name                               = var.name
  cluster                            = var.cluster_arn
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = var.desired_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = var.health_check_grace_period
  enable_execute_command             = false
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.task.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = var.name
    container_port   = var.container_port
  }

  tags = var.tags

  lifecycle {
    # The deployment pipeline registers new task definition revisions (new image tags), and autoscaling and an
    # evacuation's scale step own the task count; Terraform must not roll either back.
    ignore_changes = [task_definition, desired_count]
  }

  depends_on = [aws_lb_listener_rule.this, aws_iam_role_policy.execution]
}

# --- Autoscaling: target tracking on CPU and on requests per target. ---

# The bounds as configured. An evacuation's scale step raises the standby's minimum (and the maximum with it when
# needed) outside Terraform, with RegisterScalableTarget; the scalable target ignores such changes, so that the next
# routine apply does not shrink the region that now carries the traffic. A change of the configured bounds
# changes this object, which replaces the scalable target: registered again with the configured bounds.
resource "terraform_data" "capacity_bounds" {
  input = {
    min_capacity = var.min_capacity
    max_capacity = var.max_capacity
  }
}

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/${local.cluster_name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_capacity
  max_capacity       = var.max_capacity

  lifecycle {
    ignore_changes       = [min_capacity, max_capacity]
    replace_triggered_by = [terraform_data.capacity_bounds]
  }
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${local.full_name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }

  lifecycle {
    # Deregistering the scalable target (its replacement) deletes its scaling policies.
    replace_triggered_by = [aws_appautoscaling_target.this]
  }
}

resource "aws_appautoscaling_policy" "requests" {
  name               = "${local.full_name}-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.requests_per_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${var.alb_arn_suffix}/${aws_lb_target_group.this.arn_suffix}"
    }
  }

  lifecycle {
    # Deregistering the scalable target (its replacement) deletes its scaling policies.
    replace_triggered_by = [aws_appautoscaling_target.this]
  }
}
