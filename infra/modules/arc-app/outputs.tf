output "hostname" {
  description = "The app's failover hostname (<label>.<domain>)."
  value       = local.hostname
}

output "control_panel_arn" {
  description = "ARN of the app's control panel."
  value       = aws_route53recoverycontrolconfig_control_panel.this.arn
}

output "control_panel_name" {
  description = "Name of the app's control panel."
  value       = aws_route53recoverycontrolconfig_control_panel.this.name
}

output "routing_controls" {
  description = "The app's routing controls keyed by region: {arn, name, role}."
  value = {
    for role, region in local.roles : region => {
      arn  = aws_route53recoverycontrolconfig_routing_control.this[role].arn
      name = aws_route53recoverycontrolconfig_routing_control.this[role].name
      role = role
    }
  }
}

output "health_check_ids" {
  description = "IDs of the RECOVERY_CONTROL health checks keyed by region."
  value       = { for role, region in local.roles : region => aws_route53_health_check.this[role].id }
}

output "safety_rule_arn" {
  description = "ARN of the panel's assertion safety rule (at least one routing control On)."
  value       = aws_route53recoverycontrolconfig_safety_rule.at_least_one_on.arn
}

output "failover_records" {
  description = "The failover records keyed by type (PRIMARY, SECONDARY): {region, alias_dns_name, health_check_id}."
  value = {
    for role, region in local.roles : upper(role) => {
      region          = region
      alias_dns_name  = aws_route53_record.failover[role].alias[0].name
      health_check_id = aws_route53_record.failover[role].health_check_id
    }
  }
}

output "document" {
  description = "The app's entry of the cluster document (docs/cluster.md)."
  value = {
    hostname           = local.hostname
    control_panel_arn  = aws_route53recoverycontrolconfig_control_panel.this.arn
    control_panel_name = aws_route53recoverycontrolconfig_control_panel.this.name
    primary_region     = var.primary_region
    secondary_region   = var.secondary_region
    regions = {
      for role, region in local.roles : region => merge(
        {
          routing_control_arn  = aws_route53recoverycontrolconfig_routing_control.this[role].arn
          routing_control_name = aws_route53recoverycontrolconfig_routing_control.this[role].name
          url                  = "https://${var.hostname_label}.${region}.${var.domain_name}"
        },
        # The optional ecs block, only where var.ecs_services has the region.
        { for r, ecs in var.ecs_services : "ecs" => ecs if r == region },
      )
    }
    # The panel's safety rule as docs/cluster.md describes it: tools explain a blocked change with it (failover
    # check evaluates it before an activate), arc-local enforces it.
    safety_rules = [{
      kind              = "assertion"
      name              = aws_route53recoverycontrolconfig_safety_rule.at_least_one_on.name
      arn               = aws_route53recoverycontrolconfig_safety_rule.at_least_one_on.arn
      asserted_controls = aws_route53recoverycontrolconfig_safety_rule.at_least_one_on.asserted_controls
      rule_config = {
        type      = aws_route53recoverycontrolconfig_safety_rule.at_least_one_on.rule_config[0].type
        threshold = aws_route53recoverycontrolconfig_safety_rule.at_least_one_on.rule_config[0].threshold
        inverted  = aws_route53recoverycontrolconfig_safety_rule.at_least_one_on.rule_config[0].inverted
      }
      wait_period_ms = aws_route53recoverycontrolconfig_safety_rule.at_least_one_on.wait_period_ms
    }]
  }
}
