# Global root, applied once: the Route 53 ARC cluster, and per app a control panel, two routing controls
# (one per region), an assertion safety rule, RECOVERY_CONTROL health checks and the PRIMARY/SECONDARY failover
# records (modules/arc-app). The regional load balancers come in through var.regional_load_balancers.

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
  safety_rule_wait_period_ms = var.safety_rule_wait_period_ms
  evaluate_target_health     = var.evaluate_target_health
}

locals {
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
