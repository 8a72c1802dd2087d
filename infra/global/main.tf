# Global root, applied once: the Route 53 ARC cluster, and per app a control panel, two routing controls
# (one per region), an assertion safety rule, RECOVERY_CONTROL health checks and the PRIMARY/SECONDARY failover
# records (modules/arc-app). The regional load balancers come in through var.regional_load_balancers, the regional
# ECS services (the cluster document's optional ecs blocks) through var.regional_ecs_services.

resource "aws_route53recoverycontrolconfig_cluster" "this" {
  name = var.cluster_name
}

module "arc_app" {
  source   = "../modules/arc-app"
  for_each = var.apps

  app_name                   = each.key
  cluster_arn                = aws_route53recoverycontrolconfig_cluster.this.arn
  domain_name                = var.domain_name
  hostname_label             = each.value.hostname_label
  hosted_zone_id             = var.hosted_zone_id
  primary_region             = each.value.primary_region
  secondary_region           = each.value.secondary_region
  load_balancers             = var.regional_load_balancers
  ecs_services               = local.app_ecs_services[each.key]
  safety_rule_wait_period_ms = var.safety_rule_wait_period_ms
  evaluate_target_health     = var.evaluate_target_health
}

locals {
  # Per app and region, the ecs block of the cluster document: the regional entry with the app's hostname_label
  # (the regional root names the external API's service gateway, the global root the app external-api).
  app_ecs_services = {
    for name, app in var.apps : name => {
      for region, services in var.regional_ecs_services : region => one([
        for s in values(services) : {
          cluster           = s.cluster
          service           = s.service
          target_group_arns = s.target_group_arns
        } if s.hostname_label == app.hostname_label
      ]) if contains([app.primary_region, app.secondary_region], region) && anytrue([for s in values(services) : s.hostname_label == app.hostname_label])
    }
  }

  cluster_endpoints = [
    for e in aws_route53recoverycontrolconfig_cluster.this.cluster_endpoints : {
      region = e.region
      url    = e.endpoint
    }
  ]

  # docs/cluster.md. jsonencode writes object keys in lexical order; JSON readers do not care about key order.
  cluster_document = {
    version     = 1
    cluster_arn = aws_route53recoverycontrolconfig_cluster.this.arn
    endpoints   = local.cluster_endpoints
    apps        = { for name, app in module.arc_app : name => app.document }
  }

  # The routing controls the gateway follows in arc mode (its upstreams service1 and service2).
  gateway_upstreams = [for name in ["service1", "service2"] : name if contains(keys(var.apps), name)]
  gateway_routing_control_arns = flatten([
    for name in local.gateway_upstreams : [for rc in values(module.arc_app[name].routing_controls) : rc.arn]
  ])
}
