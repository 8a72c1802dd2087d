# One app's failover controls: a control panel, a routing control per region, an assertion safety rule
# (at least one control On), a RECOVERY_CONTROL health check per routing control and the PRIMARY/SECONDARY alias
# failover records of the app's hostname.

locals {
  hostname = "${var.hostname_label}.${var.domain_name}"

  # role => region. The role names the routing control and the failover record type.
  roles = {
    primary   = var.primary_region
    secondary = var.secondary_region
  }
}

resource "aws_route53recoverycontrolconfig_control_panel" "this" {
  name        = var.app_name
  cluster_arn = var.cluster_arn
}

resource "aws_route53recoverycontrolconfig_routing_control" "this" {
  for_each = local.roles

  name              = "${var.app_name}-${each.key}-rc"
  cluster_arn       = var.cluster_arn
  control_panel_arn = aws_route53recoverycontrolconfig_control_panel.this.arn
}

# Refuses any change that would leave every routing control of the panel Off (traffic would go nowhere).
resource "aws_route53recoverycontrolconfig_safety_rule" "at_least_one_on" {
  name              = "${var.app_name}-at-least-one-on"
  control_panel_arn = aws_route53recoverycontrolconfig_control_panel.this.arn
  wait_period_ms    = var.safety_rule_wait_period_ms
  asserted_controls = [for role in ["primary", "secondary"] : aws_route53recoverycontrolconfig_routing_control.this[role].arn]

  rule_config {
    type      = "ATLEAST"
    threshold = 1
    inverted  = false
  }
}

# Healthy while its routing control is On.
resource "aws_route53_health_check" "this" {
  for_each = local.roles

  type                = "RECOVERY_CONTROL"
  routing_control_arn = aws_route53recoverycontrolconfig_routing_control.this[each.key].arn

  tags = merge(var.tags, { Name = "${var.app_name}-${each.key}-rc" })
}

resource "aws_route53_record" "failover" {
  # checkov:skip=CKV2_AWS_23: the alias targets are the regional roots' load balancers, kept in other states and passed in as variables
  for_each = local.roles

  zone_id         = var.hosted_zone_id
  name            = local.hostname
  type            = "A"
  set_identifier  = "${var.app_name}-${each.key}-${each.value}"
  health_check_id = aws_route53_health_check.this[each.key].id

  failover_routing_policy {
    type = upper(each.key)
  }

  alias {
    name                   = var.load_balancers[each.value].dns_name
    zone_id                = var.load_balancers[each.value].zone_id
    evaluate_target_health = var.evaluate_target_health
  }
}
