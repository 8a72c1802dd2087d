output "service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.this.name
}

output "service_id" {
  description = "ARN of the ECS service."
  value       = aws_ecs_service.this.id
}

output "task_definition_family" {
  description = "Family of the task definition (the pipeline renders new revisions of it)."
  value       = aws_ecs_task_definition.this.family
}

output "task_definition_arn" {
  description = "ARN of the task definition revision Terraform registered."
  value       = aws_ecs_task_definition.this.arn
}

output "container_name" {
  description = "Name of the app's container in the task definition."
  value       = var.name
}

output "container_definition" {
  description = "The app's container definition as registered (an object, for tests and inspection)."
  value       = local.container_definition
}

output "deployment_circuit_breaker" {
  description = "Deployment circuit breaker settings of the service."
  value = {
    enable   = one(aws_ecs_service.this.deployment_circuit_breaker[*].enable)
    rollback = one(aws_ecs_service.this.deployment_circuit_breaker[*].rollback)
  }
}

output "assign_public_ip" {
  description = "Whether the service gives its tasks a public IP (always false)."
  value       = one(aws_ecs_service.this.network_configuration[*].assign_public_ip)
}

output "log_group_name" {
  description = "Name of the app's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_retention_days" {
  description = "Retention of the app's log group, in days."
  value       = aws_cloudwatch_log_group.this.retention_in_days
}

output "target_group_arn" {
  description = "ARN of the app's target group."
  value       = aws_lb_target_group.this.arn
}

output "target_group_health_check" {
  description = "Health check settings of the target group (path, port, matcher)."
  value = {
    path    = one(aws_lb_target_group.this.health_check[*].path)
    port    = one(aws_lb_target_group.this.health_check[*].port)
    matcher = one(aws_lb_target_group.this.health_check[*].matcher)
  }
}

output "execution_role_arn" {
  description = "ARN of the task execution role (image pull, log writes)."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "ARN of the task role (what the app may call)."
  value       = aws_iam_role.task.arn
}

output "task_role_policy" {
  description = "The task role's inline policy document (JSON), or null when the role has no permissions."
  value       = var.task_role_policy_json
}

output "security_group_id" {
  description = "ID of the tasks' security group."
  value       = aws_security_group.task.id
}

output "task_size" {
  description = "CPU units and memory (MiB) of the task definition: {cpu, memory}."
  value = {
    cpu    = tonumber(aws_ecs_task_definition.this.cpu)
    memory = tonumber(aws_ecs_task_definition.this.memory)
  }
}

output "autoscaling_capacity" {
  description = "Bounds of the service's task count under autoscaling: {min_capacity, max_capacity}, as registered (after a refresh, also what an evacuation's scale step set)."
  value = {
    min_capacity = aws_appautoscaling_target.this.min_capacity
    max_capacity = aws_appautoscaling_target.this.max_capacity
  }
}

output "deregistration_delay" {
  description = "Seconds the target group keeps a deregistering task for its in-flight requests."
  value       = tonumber(aws_lb_target_group.this.deregistration_delay)
}
