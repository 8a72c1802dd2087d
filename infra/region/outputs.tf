output "region" {
  description = "Region of this state."
  value       = var.region
}

output "load_balancer" {
  description = "This region's load balancer as the global root expects it in regional_load_balancers: {dns_name, zone_id}."
  value = {
    dns_name = module.alb.dns_name
    zone_id  = module.alb.zone_id
  }
}

output "load_balancer_arn" {
  description = "ARN of this region's load balancer."
  value       = module.alb.arn
}

output "regional_hostnames" {
  description = "Regional hostname of each app (<label>.<region>.<domain>), answered by this region's load balancer."
  value       = module.alb.regional_hostnames
}

output "certificate_arn" {
  description = "ARN of the certificate the HTTPS listener serves (owned by infra/certificates)."
  value       = module.alb.certificate_arn
}

output "ecr_repository_urls" {
  description = "ECR repository URL of each app in this region (the pipeline pushes <url>:<commit SHA>)."
  value       = { for app, repo in aws_ecr_repository.app : app => repo.repository_url }
}

output "ecs_cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "ecs_cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "ecs_services" {
  description = "Per app: service and task definition names the pipeline deploys to, and the settings the tests check (deregistration_delay: seconds the target group keeps a leaving task; failover_mode: dns or arc for an app with upstreams, else null; task_role_policy: the task role's policy JSON, null without permissions)."
  value = {
    for app, m in module.app : app => {
      service_name               = m.service_name
      task_definition_family     = m.task_definition_family
      container_name             = m.container_name
      log_group_name             = m.log_group_name
      log_retention_days         = m.log_retention_days
      deployment_circuit_breaker = m.deployment_circuit_breaker
      assign_public_ip           = m.assign_public_ip
      health_check_command       = m.container_definition.healthCheck.command
      readonly_root_filesystem   = m.container_definition.readonlyRootFilesystem
      user                       = m.container_definition.user
      stop_timeout               = m.container_definition.stopTimeout
      port_mappings              = [for p in m.container_definition.portMappings : p.containerPort]
      environment                = { for e in m.container_definition.environment : e.name => e.value }
      target_group_health_check  = m.target_group_health_check
      execution_role_arn         = m.execution_role_arn
      task_role_arn              = m.task_role_arn
      task_role_policy           = m.task_role_policy
      image                      = m.container_definition.image
      task_size                  = m.task_size
      autoscaling_capacity       = m.autoscaling_capacity
      deregistration_delay       = m.deregistration_delay
      upstreams                  = local.apps[app].upstreams
      failover_mode              = local.apps[app].failover_mode
    }
  }
}

output "vpc_id" {
  description = "ID of the region's VPC."
  value       = module.network.vpc_id
}

output "private_subnet_ids" {
  description = "Private subnets of the tasks."
  value       = module.network.private_subnet_ids
}

output "nat_public_ips" {
  description = "Public IPv4 addresses the tasks' outbound traffic leaves from (empty without NAT)."
  value       = module.network.nat_public_ips
}

output "log_bucket" {
  description = "S3 bucket with the load balancer access logs (alb/) and VPC flow logs (vpc-flow-logs/)."
  value       = aws_s3_bucket.logs.bucket
}

output "kms_key_arn" {
  description = "ARN of the region's KMS key (log groups, ECR)."
  value       = aws_kms_key.this.arn
}

output "cluster_document_ecs" {
  description = "Per app: its ECS service as the global root expects it in regional_ecs_services (the cluster document's ecs block, docs/cluster.md): {hostname_label, cluster, service, target_group_arns}. The global root matches an entry to its app by hostname_label."
  value = {
    for app, m in module.app : app => {
      hostname_label    = var.apps[app].hostname_label
      cluster           = aws_ecs_cluster.this.name
      service           = m.service_name
      target_group_arns = [m.target_group_arn]
    }
  }
}
