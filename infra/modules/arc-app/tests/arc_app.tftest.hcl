# Offline tests: the AWS provider is mocked (infra/tests/mocks), nothing is created. Input validation is the
# callers' (the roots' variables.tf): these tests give valid inputs only.

mock_provider "aws" {
  source = "../../tests/mocks"
}

override_resource {
  target = aws_route53recoverycontrolconfig_routing_control.this["primary"]
  values = {
    arn = "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/aaaa"
  }
}

override_resource {
  target = aws_route53recoverycontrolconfig_routing_control.this["secondary"]
  values = {
    arn = "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/bbbb"
  }
}

override_resource {
  target = aws_route53_health_check.this["primary"]
  values = {
    id = "11111111-1111-1111-1111-111111111111"
  }
}

override_resource {
  target = aws_route53_health_check.this["secondary"]
  values = {
    id = "22222222-2222-2222-2222-222222222222"
  }
}

variables {
  app_name         = "service1"
  cluster_arn      = "arn:aws:route53-recovery-control::123456789012:cluster/0123abcd"
  domain_name      = "example.com"
  hostname_label   = "service1"
  hosted_zone_id   = "Z0123456789ABCDEFGHIJ"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  load_balancers = {
    us-east-1 = { dns_name = "mrapi-1.us-east-1.elb.amazonaws.com", zone_id = "Z35SXDOTRQ7X7K" }
    us-west-2 = { dns_name = "mrapi-2.us-west-2.elb.amazonaws.com", zone_id = "Z1H1FL5HABSF5" }
  }
}

run "controls_and_records" {
  assert {
    condition     = aws_route53recoverycontrolconfig_control_panel.this.name == "service1"
    error_message = "The control panel is named after the app."
  }

  assert {
    condition     = aws_route53recoverycontrolconfig_routing_control.this["primary"].name == "service1-primary-rc" && aws_route53recoverycontrolconfig_routing_control.this["secondary"].name == "service1-secondary-rc"
    error_message = "Routing controls are named <app>-primary-rc and <app>-secondary-rc."
  }

  assert {
    condition     = aws_route53_health_check.this["primary"].type == "RECOVERY_CONTROL" && aws_route53_health_check.this["primary"].routing_control_arn == "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/aaaa"
    error_message = "The primary health check follows the primary routing control."
  }

  assert {
    condition     = aws_route53_health_check.this["secondary"].routing_control_arn == "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/bbbb"
    error_message = "The secondary health check follows the secondary routing control."
  }

  assert {
    condition     = aws_route53_record.failover["primary"].failover_routing_policy[0].type == "PRIMARY" && aws_route53_record.failover["primary"].alias[0].name == "mrapi-1.us-east-1.elb.amazonaws.com" && aws_route53_record.failover["primary"].alias[0].zone_id == "Z35SXDOTRQ7X7K"
    error_message = "PRIMARY must alias the primary region's load balancer."
  }

  assert {
    condition     = aws_route53_record.failover["secondary"].failover_routing_policy[0].type == "SECONDARY" && aws_route53_record.failover["secondary"].alias[0].name == "mrapi-2.us-west-2.elb.amazonaws.com"
    error_message = "SECONDARY must alias the secondary region's load balancer."
  }

  assert {
    condition     = aws_route53_record.failover["primary"].health_check_id == "11111111-1111-1111-1111-111111111111" && aws_route53_record.failover["secondary"].health_check_id == "22222222-2222-2222-2222-222222222222"
    error_message = "Each failover record carries its own health check."
  }

  assert {
    condition     = aws_route53_record.failover["primary"].name == "service1.example.com" && aws_route53_record.failover["secondary"].name == "service1.example.com"
    error_message = "Both records are for the app's hostname."
  }

  assert {
    condition = (
      aws_route53recoverycontrolconfig_safety_rule.at_least_one_on.rule_config[0].type == "ATLEAST" &&
      aws_route53recoverycontrolconfig_safety_rule.at_least_one_on.rule_config[0].threshold == 1 &&
      aws_route53recoverycontrolconfig_safety_rule.at_least_one_on.rule_config[0].inverted == false &&
      length(aws_route53recoverycontrolconfig_safety_rule.at_least_one_on.asserted_controls) == 2 &&
      aws_route53recoverycontrolconfig_safety_rule.at_least_one_on.wait_period_ms == 5000
    )
    error_message = "The safety rule asserts at least one of the two controls is On."
  }

  assert {
    condition = jsonencode(output.document) == jsonencode({
      hostname           = "service1.example.com"
      control_panel_arn  = "arn:aws:route53-recovery-control::123456789012:controlpanel/1111"
      control_panel_name = "service1"
      primary_region     = "us-east-1"
      secondary_region   = "us-west-2"
      regions = {
        us-east-1 = {
          routing_control_arn  = "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/aaaa"
          routing_control_name = "service1-primary-rc"
          url                  = "https://service1.us-east-1.example.com"
        }
        us-west-2 = {
          routing_control_arn  = "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/bbbb"
          routing_control_name = "service1-secondary-rc"
          url                  = "https://service1.us-west-2.example.com"
        }
      }
      safety_rules = [{
        kind              = "assertion"
        name              = "service1-at-least-one-on"
        arn               = "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/safetyrule/9999"
        asserted_controls = ["arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/aaaa", "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/bbbb"]
        rule_config       = { type = "ATLEAST", threshold = 1, inverted = false }
        wait_period_ms    = 5000
      }]
    })
    error_message = "The app's cluster document entry (with its safety rule) does not match docs/cluster.md."
  }
}

run "swapped_regions" {
  variables {
    primary_region   = "us-west-2"
    secondary_region = "us-east-1"
  }

  assert {
    condition     = aws_route53_record.failover["primary"].alias[0].name == "mrapi-2.us-west-2.elb.amazonaws.com" && aws_route53_record.failover["secondary"].alias[0].name == "mrapi-1.us-east-1.elb.amazonaws.com"
    error_message = "PRIMARY follows the chosen primary region."
  }

  assert {
    condition     = output.routing_controls["us-west-2"].name == "service1-primary-rc"
    error_message = "The primary routing control belongs to the primary region."
  }
}

run "document_without_ecs" {
  assert {
    condition     = alltrue([for region, r in output.document.regions : keys(r) == ["routing_control_arn", "routing_control_name", "url"]])
    error_message = "Without ecs_services no region of the document has an ecs block."
  }
}

run "document_with_ecs" {
  variables {
    ecs_services = {
      us-west-2 = {
        cluster           = "mrapi"
        service           = "service1"
        target_group_arns = ["arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/mrapi-service1/0123456789abcdef"]
      }
    }
  }

  assert {
    condition = jsonencode(output.document.regions["us-west-2"].ecs) == jsonencode({
      cluster           = "mrapi"
      service           = "service1"
      target_group_arns = ["arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/mrapi-service1/0123456789abcdef"]
    })
    error_message = "A region named in ecs_services carries its ecs block."
  }

  assert {
    condition     = keys(output.document.regions["us-east-1"]) == ["routing_control_arn", "routing_control_name", "url"]
    error_message = "A region missing from ecs_services has no ecs block."
  }
}
