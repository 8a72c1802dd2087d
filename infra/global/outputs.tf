output "cluster_arn" {
  description = "ARN of the Route 53 ARC cluster."
  value       = aws_route53recoverycontrolconfig_cluster.this.arn
}

output "cluster_endpoints" {
  description = "The cluster's five regional data-plane endpoints: [{region, url}]."
  value       = local.cluster_endpoints
}

output "hostnames" {
  description = "Failover hostname of each app."
  value       = { for name, app in module.arc_app : name => app.hostname }
}

output "control_panels" {
  description = "Control panel ARN of each app."
  value       = { for name, app in module.arc_app : name => app.control_panel_arn }
}

output "routing_controls" {
  description = "Routing controls of each app keyed by region: {arn, name, role}."
  value       = { for name, app in module.arc_app : name => app.routing_controls }
}

output "health_check_ids" {
  description = "RECOVERY_CONTROL health check IDs of each app keyed by region."
  value       = { for name, app in module.arc_app : name => app.health_check_ids }
}

output "safety_rules" {
  description = "Assertion safety rule ARN of each app's control panel."
  value       = { for name, app in module.arc_app : name => app.safety_rule_arn }
}

output "failover_records" {
  description = "Failover records of each app keyed by type (PRIMARY, SECONDARY): {region, alias_dns_name, health_check_id}."
  value       = { for name, app in module.arc_app : name => app.failover_records }
}

output "gateway_routing_control_arns" {
  description = "ARNs of the routing controls the gateway follows in arc mode (service1's and service2's)."
  value       = local.gateway_routing_control_arns
}

output "cluster_document" {
  description = "The cluster document of docs/cluster.md as a JSON string: `terraform output -raw cluster_document > cluster.json`."
  value       = jsonencode(local.cluster_document)
}

output "deploy_role_arn" {
  description = "ARN of the role the GitHub deploy workflow assumes (repository variable AWS_DEPLOY_ROLE_ARN), or null."
  value       = one(aws_iam_role.deploy[*].arn)
}

output "readiness_role_arn" {
  description = "ARN of the read-only role the GitHub readiness workflow assumes (repository variable AWS_READINESS_ROLE_ARN), or null."
  value       = one(aws_iam_role.readiness[*].arn)
}

output "failover_role_arn" {
  description = "ARN of the role the GitHub evacuate workflow assumes (repository variable AWS_FAILOVER_ROLE_ARN), or null."
  value       = one(aws_iam_role.failover[*].arn)
}
