# Offline tests of the regional root: the AWS provider is mocked (infra/tests/mocks), nothing is created.

mock_provider "aws" {
  source = "../tests/mocks"
}

# service1's own target group, so that cluster_document_ecs can be told to name each app's.
override_resource {
  target = module.app["service1"].aws_lb_target_group.this
  values = {
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/mrapi-service1/2222222222222222"
  }
}

# Every input the assertions depend on is set here, so a local *.auto.tfvars cannot change the outcome. apps = null
# stands for the default of var.apps (gateway, service1, service2): the variable is not nullable.
variables {
  name                     = "mrapi"
  apps                     = null
  image_tag                = "0123456789abcdef0123456789abcdef01234567"
  failover_mode            = "dns"
  arc_cluster_json         = null
  arc_routing_control_arns = null
  egress_mode              = "nat_gateway"
  log_retention_days       = 365
  region                   = "us-east-1"
  availability_zones       = ["us-east-1a", "us-east-1b"]
  domain_name              = "example.com"
  hosted_zone_id           = "Z0123456789ABCDEFGHIJ"
  alb_idle_timeout         = 60
  target_keepalive_timeout = 75
  certificate_arns = {
    us-east-1 = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
    us-west-2 = "arn:aws:acm:us-west-2:123456789012:certificate/fedcba98-7654-3210-fedc-ba9876543210"
  }
}

run "every_service_is_hardened" {
  assert {
    condition     = toset(keys(output.ecs_services)) == toset(["gateway", "service1", "service2"])
    error_message = "Expected the gateway, service1 and service2 services."
  }

  assert {
    condition     = alltrue([for app, s in output.ecs_services : s.deployment_circuit_breaker.enable && s.deployment_circuit_breaker.rollback])
    error_message = "Every service needs the deployment circuit breaker with rollback."
  }

  assert {
    condition     = alltrue([for app, s in output.ecs_services : s.health_check_command == ["CMD", "/${app}", "healthcheck"]])
    error_message = "Every container health check runs /<binary> healthcheck."
  }

  assert {
    condition     = alltrue([for app, s in output.ecs_services : s.readonly_root_filesystem == true && s.user == "65532"])
    error_message = "Every container runs as 65532 with a read-only root filesystem."
  }

  assert {
    condition     = alltrue([for app, s in output.ecs_services : s.log_retention_days == 365])
    error_message = "Every log group needs a retention."
  }

  assert {
    condition     = alltrue([for app, s in output.ecs_services : s.stop_timeout == 30])
    error_message = "stopTimeout must be 30 s (every app drains for up to 25 s)."
  }

  assert {
    condition     = alltrue([for app, s in output.ecs_services : s.assign_public_ip == false])
    error_message = "No task gets a public IP."
  }

  assert {
    condition     = alltrue([for app, s in output.ecs_services : s.environment["PORT"] == "8080" && s.environment["REGION"] == "us-east-1"])
    error_message = "Every container gets REGION and PORT=8080."
  }

  assert {
    condition     = alltrue([for app, s in output.ecs_services : s.target_group_health_check == { path = "/health", port = "8080", matcher = "200" }])
    error_message = "Target groups check /health on port 8080."
  }

  assert {
    condition     = output.ecs_services["gateway"].port_mappings == [8080, 9090] && output.ecs_services["service1"].port_mappings == [8080]
    error_message = "The gateway also exposes its metrics port 9090; the services only 8080."
  }

  assert {
    condition     = alltrue([for app, s in output.ecs_services : s.execution_role_arn != null && s.task_role_arn != null]) && module.app["gateway"].execution_role_arn != null
    error_message = "Every app has an execution role and a task role."
  }
}

# The defaults of var.apps, as the apps ran before they were data: sizes, bounds, image tag.
run "default_apps" {
  assert {
    condition     = alltrue([for app, s in output.ecs_services : s.task_size == { cpu = 256, memory = 512 } && s.autoscaling_capacity == { min_capacity = 2, max_capacity = 6 }])
    error_message = "Every app defaults to 256 CPU units, 512 MiB and 2 to 6 tasks."
  }

  assert {
    condition     = alltrue([for app, s in output.ecs_services : endswith(s.image, ":0123456789abcdef0123456789abcdef01234567")])
    error_message = "Every app starts from image_tag."
  }

  assert {
    condition     = output.ecs_services["gateway"].upstreams == tolist(["service1", "service2"]) && length(output.ecs_services["service1"].upstreams) == 0
    error_message = "The gateway follows service1 and service2; the services follow nothing."
  }
}

# What the global root takes in regional_ecs_services for the cluster document's ecs blocks.
run "cluster_document_ecs_output" {
  assert {
    condition     = keys(output.cluster_document_ecs) == ["gateway", "service1", "service2"]
    error_message = "cluster_document_ecs has an entry per app."
  }

  assert {
    condition = (
      output.cluster_document_ecs["service1"].cluster == "mrapi" &&
      output.cluster_document_ecs["service1"].hostname_label == "service1" &&
      output.cluster_document_ecs["service1"].service == "service1" &&
      length(output.cluster_document_ecs["service1"].target_group_arns) == 1 && output.cluster_document_ecs["service1"].target_group_arns[0] == "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/mrapi-service1/2222222222222222"
    )
    error_message = "service1's entry names the ECS cluster, its service and its target group, with its hostname_label."
  }

  assert {
    condition     = output.cluster_document_ecs["gateway"].hostname_label == "externalapi" && output.cluster_document_ecs["gateway"].service == "gateway"
    error_message = "The gateway's entry carries hostname_label externalapi (the global root's external-api)."
  }
}

# Adding an app is data: one more entry of apps (here also one more upstream of the gateway), with its own size,
# bounds and image tag.
run "a_fourth_app_is_one_more_entry" {
  variables {
    apps = {
      gateway = {
        hostname_label             = "externalapi"
        listener_rule_priority     = 100
        additional_container_ports = [9090]
        environment                = { TRUSTED_PROXY_HOPS = "1" }
        upstreams                  = ["service1", "service2", "service3"]
      }
      service1 = { hostname_label = "service1", listener_rule_priority = 200 }
      service2 = { hostname_label = "service2", listener_rule_priority = 300 }
      service3 = {
        hostname_label         = "service3"
        listener_rule_priority = 400
        image_tag              = "fedcba9876543210fedcba9876543210fedcba98"
        cpu                    = 512
        memory                 = 1024
        min_capacity           = 1
        max_capacity           = 3
      }
    }
  }

  assert {
    condition     = toset(keys(output.ecs_services)) == toset(["gateway", "service1", "service2", "service3"])
    error_message = "service3 gets its own ECS service."
  }

  assert {
    condition     = contains([for r in aws_ecr_repository.app : r.name], "mrapi/service3") && length(aws_ecr_lifecycle_policy.app) == 4
    error_message = "service3 gets its own repository with a lifecycle policy."
  }

  assert {
    condition     = output.regional_hostnames["service3"] == "service3.us-east-1.example.com"
    error_message = "service3 gets its regional hostname."
  }

  assert {
    condition     = output.ecs_services["service3"].task_size == { cpu = 512, memory = 1024 } && output.ecs_services["service3"].autoscaling_capacity == { min_capacity = 1, max_capacity = 3 }
    error_message = "service3's size and bounds come from its entry."
  }

  assert {
    condition     = output.ecs_services["service2"].task_size == { cpu = 256, memory = 512 } && output.ecs_services["service2"].autoscaling_capacity == { min_capacity = 2, max_capacity = 6 }
    error_message = "The other apps keep the defaults."
  }

  assert {
    condition     = endswith(output.ecs_services["service3"].image, ":fedcba9876543210fedcba9876543210fedcba98") && endswith(output.ecs_services["service1"].image, ":0123456789abcdef0123456789abcdef01234567")
    error_message = "An app's image_tag wins over image_tag for that app only."
  }

  assert {
    condition     = output.ecs_services["gateway"].environment["SERVICE3_URL"] == "https://service3.example.com" && output.ecs_services["service3"].environment == { DRAIN_TIMEOUT = "25s", KEEPALIVE_TIMEOUT = "75s", PORT = "8080", REGION = "us-east-1" }
    error_message = "The gateway calls its new upstream by its failover hostname; service3 gets the common environment."
  }
}

run "dns_mode_gateway" {
  assert {
    condition     = output.ecs_services["gateway"].environment["SERVICE1_URL"] == "https://service1.example.com" && output.ecs_services["gateway"].environment["SERVICE2_URL"] == "https://service2.example.com"
    error_message = "In dns mode the gateway calls the services' failover hostnames."
  }

  assert {
    condition     = !contains(keys(output.ecs_services["gateway"].environment), "ARC_CLUSTER_JSON")
    error_message = "dns mode without a cluster document passes none (no regional fallback)."
  }

  assert {
    condition     = output.ecs_services["gateway"].environment["TRUSTED_PROXY_HOPS"] == "1"
    error_message = "Behind the ALB the gateway trusts exactly one proxy hop (the ALB's X-Forwarded-For entry)."
  }

  assert {
    condition     = output.ecs_services["gateway"].failover_mode == "dns" && output.ecs_services["service1"].failover_mode == null
    error_message = "The gateway (the app with upstreams) is in dns mode by default; apps without upstreams have no mode."
  }

  assert {
    condition     = alltrue([for app, s in output.ecs_services : s.task_role_policy == null])
    error_message = "In dns mode no task role has permissions (the gateway's neither)."
  }

  assert {
    condition     = !contains(keys(output.ecs_services["service1"].environment), "SERVICE1_URL")
    error_message = "Only the gateway gets upstream URLs."
  }
}

run "arc_mode_gateway" {
  variables {
    failover_mode = "arc"
    arc_cluster_json = jsonencode({
      version     = 1
      cluster_arn = "arn:aws:route53-recovery-control::123456789012:cluster/0123abcd"
      endpoints   = [{ region = "us-east-1", url = "https://host-aaaa.route53-recovery-cluster.us-east-1.amazonaws.com/v1" }]
      apps = {
        external-api = { regions = { us-east-1 = { routing_control_arn = "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/aaaa" } } }
        service1 = { regions = {
          us-east-1 = { routing_control_arn = "arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/aaaa" }
          us-west-2 = { routing_control_arn = "arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/bbbb" }
        } }
        service2 = { regions = {
          us-east-1 = { routing_control_arn = "arn:aws:route53-recovery-control::123456789012:controlpanel/3333/routingcontrol/aaaa" }
          us-west-2 = { routing_control_arn = "arn:aws:route53-recovery-control::123456789012:controlpanel/3333/routingcontrol/bbbb" }
        } }
      }
    })
  }

  assert {
    condition     = output.ecs_services["gateway"].environment["GATEWAY_FAILOVER_MODE"] == "arc" && jsondecode(output.ecs_services["gateway"].environment["ARC_CLUSTER_JSON"]).cluster_arn == "arn:aws:route53-recovery-control::123456789012:cluster/0123abcd"
    error_message = "arc mode passes GATEWAY_FAILOVER_MODE=arc and the cluster document."
  }

  assert {
    condition = toset(flatten([
      for s in jsondecode(output.ecs_services["gateway"].task_role_policy).Statement : s.Resource if s.Sid == "ReadFollowedRoutingControls"
      ])) == toset([
      "arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/aaaa",
      "arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/bbbb",
      "arn:aws:route53-recovery-control::123456789012:controlpanel/3333/routingcontrol/aaaa",
      "arn:aws:route53-recovery-control::123456789012:controlpanel/3333/routingcontrol/bbbb",
    ])
    error_message = "The gateway may read only service1's and service2's routing controls (not external-api's)."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(output.ecs_services["gateway"].task_role_policy).Statement :
      s.Effect == "Allow" && alltrue([for a in s.Action : startswith(a, "route53-recovery-cluster:Get") || startswith(a, "route53-recovery-cluster:List")])
    ])
    error_message = "The gateway's task role may only read routing control states, never update them."
  }

  assert {
    condition     = output.ecs_services["service1"].environment == { DRAIN_TIMEOUT = "25s", KEEPALIVE_TIMEOUT = "75s", PORT = "8080", REGION = "us-east-1" }
    error_message = "The services are unaffected by the gateway's mode."
  }
}

run "arc_mode_with_explicit_arns" {
  variables {
    failover_mode            = "arc"
    arc_cluster_json         = "{\"version\": 1, \"apps\": {}}"
    arc_routing_control_arns = ["arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/aaaa"]
  }

  assert {
    condition     = jsondecode(output.ecs_services["gateway"].task_role_policy).Statement[0].Resource == ["arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/aaaa"]
    error_message = "arc_routing_control_arns overrides the ARNs taken from the document."
  }
}

run "arc_mode_needs_cluster_document" {
  command = plan

  variables {
    failover_mode = "arc"
  }

  expect_failures = [var.arc_cluster_json]
}

run "arc_mode_needs_the_upstreams_routing_controls" {
  command = plan

  variables {
    failover_mode    = "arc"
    arc_cluster_json = "{\"version\": 1, \"apps\": {\"external-api\": {\"regions\": {\"us-east-1\": {\"routing_control_arn\": \"arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/aaaa\"}}}}}"
  }

  expect_failures = [var.arc_cluster_json]
}

# The failover mode is the app's own: its apps entry wins over the root-wide failover_mode, both ways.
run "failover_mode_per_app" {
  variables {
    failover_mode    = "dns"
    arc_cluster_json = "{\"version\": 1, \"apps\": {\"service1\": {\"regions\": {\"us-east-1\": {\"routing_control_arn\": \"arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/aaaa\"}}}}}"
    apps = {
      gateway = {
        hostname_label             = "externalapi"
        listener_rule_priority     = 100
        additional_container_ports = [9090]
        environment                = { TRUSTED_PROXY_HOPS = "1" }
        upstreams                  = ["service1", "service2"]
        failover_mode              = "arc"
      }
      service1 = { hostname_label = "service1", listener_rule_priority = 200 }
      service2 = { hostname_label = "service2", listener_rule_priority = 300 }
    }
  }

  assert {
    condition     = output.ecs_services["gateway"].failover_mode == "arc" && output.ecs_services["gateway"].environment["GATEWAY_FAILOVER_MODE"] == "arc"
    error_message = "apps.gateway.failover_mode = arc puts the gateway in arc mode while failover_mode is dns."
  }

  assert {
    condition     = jsondecode(output.ecs_services["gateway"].task_role_policy).Statement[0].Resource == ["arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/aaaa"]
    error_message = "In arc mode the gateway may read its upstreams' routing controls from the document."
  }
}

run "failover_mode_per_app_overrides_arc" {
  variables {
    failover_mode    = "arc"
    arc_cluster_json = "{\"version\": 1, \"apps\": {}}"
    apps = {
      gateway = {
        hostname_label             = "externalapi"
        listener_rule_priority     = 100
        additional_container_ports = [9090]
        environment                = { TRUSTED_PROXY_HOPS = "1" }
        upstreams                  = ["service1", "service2"]
        failover_mode              = "dns"
      }
      service1 = { hostname_label = "service1", listener_rule_priority = 200 }
      service2 = { hostname_label = "service2", listener_rule_priority = 300 }
    }
  }

  assert {
    condition     = output.ecs_services["gateway"].failover_mode == "dns" && output.ecs_services["gateway"].environment["SERVICE1_URL"] == "https://service1.example.com"
    error_message = "apps.gateway.failover_mode = dns keeps the gateway in dns mode while failover_mode is arc."
  }

  assert {
    condition     = output.ecs_services["gateway"].environment["ARC_CLUSTER_JSON"] == "{\"version\": 1, \"apps\": {}}" && !contains(keys(output.ecs_services["gateway"].environment), "GATEWAY_FAILOVER_MODE") && !contains(keys(output.ecs_services["service1"].environment), "ARC_CLUSTER_JSON")
    error_message = "In dns mode the gateway gets the cluster document when one is given (its regional URLs are the regional fallback); apps without upstreams do not."
  }
}

run "load_balancer_and_storage" {
  assert {
    condition     = output.certificate_arn == "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
    error_message = "The HTTPS listener serves this region's certificate from certificate_arns."
  }

  assert {
    condition     = length([for a in keys(module.alb) : a]) > 0 && !can(module.alb.certificate_names)
    error_message = "The regional root owns no certificate and no validation record (infra/certificates does)."
  }

  assert {
    condition     = output.load_balancer == { dns_name = "mrapi-123456789.us-east-1.elb.amazonaws.com", zone_id = "Z35SXDOTRQ7X7K" }
    error_message = "load_balancer is the {dns_name, zone_id} the global root expects."
  }

  assert {
    condition     = output.regional_hostnames == { gateway = "externalapi.us-east-1.example.com", service1 = "service1.us-east-1.example.com", service2 = "service2.us-east-1.example.com" }
    error_message = "Regional hostnames are <label>.<region>.<domain>."
  }

  assert {
    condition     = alltrue([for r in aws_ecr_repository.app : r.image_tag_mutability == "IMMUTABLE" && r.image_scanning_configuration[0].scan_on_push])
    error_message = "ECR repositories need immutable tags and scan on push."
  }

  assert {
    condition     = toset([for r in aws_ecr_repository.app : r.name]) == toset(["mrapi/gateway", "mrapi/service1", "mrapi/service2"])
    error_message = "Repositories are named <name>/<app>."
  }

  assert {
    condition     = length(aws_ecr_lifecycle_policy.app) == 3
    error_message = "Every repository needs a lifecycle policy."
  }

  assert {
    condition     = one([for s in aws_ecs_cluster.this.setting : s.value if s.name == "containerInsights"]) == "enabled"
    error_message = "Container Insights must be on."
  }

  assert {
    condition     = aws_kms_key.this.enable_key_rotation
    error_message = "The KMS key rotates."
  }

  assert {
    condition     = aws_s3_bucket_public_access_block.logs.block_public_acls && aws_s3_bucket_public_access_block.logs.restrict_public_buckets
    error_message = "The log bucket blocks public access."
  }

  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.logs.rule[*].apply_server_side_encryption_by_default[0].sse_algorithm) == "AES256"
    error_message = "The log bucket is encrypted (SSE-S3, the only kind load balancer logs support)."
  }

  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.logs.rule[0].expiration[0].days == 90
    error_message = "Logs expire after 90 days."
  }
}

run "vpc_endpoints_only_warns" {
  variables {
    egress_mode = "vpc_endpoints"
  }

  assert {
    condition     = length(module.network.nat_gateway_ids) == 0 && length(module.network.interface_endpoint_ids) == 3
    error_message = "vpc_endpoints mode has interface endpoints and no NAT gateway."
  }

  expect_failures = [check.upstream_callers_need_internet_egress]
}

run "nat_gateway_and_vpc_endpoints" {
  variables {
    egress_mode = "nat_gateway_and_vpc_endpoints"
  }

  assert {
    condition     = length(module.network.interface_endpoint_ids) == 3 && length(module.network.nat_gateway_ids) == 2
    error_message = "nat_gateway_and_vpc_endpoints creates both."
  }
}

run "apps_keep_idle_connections_longer_than_the_load_balancer" {
  assert {
    condition     = module.alb.idle_timeout == 60
    error_message = "The load balancer's idle timeout is set explicitly (60 s)."
  }

  assert {
    condition     = alltrue([for app, s in output.ecs_services : s.environment["KEEPALIVE_TIMEOUT"] == "75s"])
    error_message = "Every container (gateway, service1, service2) gets KEEPALIVE_TIMEOUT=75s."
  }
}

run "keepalive_follows_a_longer_idle_timeout" {
  variables {
    alb_idle_timeout         = 120
    target_keepalive_timeout = 130
  }

  assert {
    condition     = module.alb.idle_timeout == 120
    error_message = "alb_idle_timeout sets the load balancer's idle timeout."
  }

  assert {
    condition     = toset([for app, s in output.ecs_services : s.environment["KEEPALIVE_TIMEOUT"]]) == toset(["130s"])
    error_message = "target_keepalive_timeout reaches every container as KEEPALIVE_TIMEOUT=<seconds>s."
  }
}

run "keepalive_equal_to_idle_timeout_fails" {
  command = plan

  variables {
    alb_idle_timeout         = 75
    target_keepalive_timeout = 75
  }

  expect_failures = [var.target_keepalive_timeout]
}

run "keepalive_below_idle_timeout_fails" {
  command = plan

  variables {
    alb_idle_timeout         = 60
    target_keepalive_timeout = 30
  }

  expect_failures = [var.target_keepalive_timeout]
}

# Raising the load balancer's idle timeout alone (the keep-alive left at 75 s) is caught too.
run "idle_timeout_raised_above_keepalive_fails" {
  command = plan

  variables {
    alb_idle_timeout         = 120
    target_keepalive_timeout = 75
  }

  expect_failures = [var.target_keepalive_timeout]
}

run "needs_this_regions_certificate" {
  command = plan

  variables {
    certificate_arns = {
      us-west-2 = "arn:aws:acm:us-west-2:123456789012:certificate/fedcba98-7654-3210-fedc-ba9876543210"
    }
  }

  expect_failures = [var.certificate_arns]
}

run "rejects_bad_inputs" {
  command = plan

  variables {
    region             = "US-EAST-1"
    vpc_cidr           = "10.0.0.0/33"
    availability_zones = ["us-east-1a", "us-east-1a"]
    egress_mode        = "internet"
    failover_mode      = "consul"
    alb_idle_timeout   = 0.5
    alb_ssl_policy     = "ELBSecurityPolicy-2016-08"
    image_tag          = "bad tag"
    stop_timeout       = 300
    log_retention_days = 42
  }

  expect_failures = [
    var.region, var.vpc_cidr, var.availability_zones, var.egress_mode, var.failover_mode, var.alb_idle_timeout,
    var.alb_ssl_policy, var.image_tag, var.stop_timeout, var.log_retention_days,
  ]
}

run "rejects_a_certificate_of_another_region" {
  command = plan

  variables {
    certificate_arns = {
      us-east-1 = "arn:aws:acm:us-west-2:123456789012:certificate/fedcba98-7654-3210-fedc-ba9876543210"
    }
  }

  expect_failures = [var.certificate_arns]
}

# Inputs this root no longer has: a value left over from an older tfvars file stops the plan.
run "rejects_removed_inputs" {
  command = plan

  variables {
    gateway_failover_mode = "arc"
    app_settings          = { gateway = { cpu = 512 } }
  }

  expect_failures = [var.gateway_failover_mode, var.app_settings]
}

# Each rule of var.apps, one bad entry at a time.
run "rejects_an_unknown_upstream" {
  command = plan

  variables {
    apps = {
      gateway  = { hostname_label = "externalapi", listener_rule_priority = 100, upstreams = ["service1", "service9"] }
      service1 = { hostname_label = "service1", listener_rule_priority = 200 }
    }
  }

  expect_failures = [var.apps]
}

run "rejects_a_shared_listener_rule_priority" {
  command = plan

  variables {
    apps = {
      service1 = { hostname_label = "service1", listener_rule_priority = 200 }
      service2 = { hostname_label = "service2", listener_rule_priority = 200 }
    }
  }

  expect_failures = [var.apps]
}

run "rejects_a_shared_hostname_label" {
  command = plan

  variables {
    apps = {
      service1 = { hostname_label = "service1", listener_rule_priority = 200 }
      service2 = { hostname_label = "service1", listener_rule_priority = 300 }
    }
  }

  expect_failures = [var.apps]
}

run "rejects_a_task_size_fargate_does_not_have" {
  command = plan

  variables {
    apps = {
      service1 = { hostname_label = "service1", listener_rule_priority = 200, cpu = 300 }
    }
  }

  expect_failures = [var.apps]
}

run "rejects_min_capacity_above_max_capacity" {
  command = plan

  variables {
    apps = {
      service1 = { hostname_label = "service1", listener_rule_priority = 200, min_capacity = 4, max_capacity = 3 }
    }
  }

  expect_failures = [var.apps]
}

run "rejects_a_bad_app_image_tag" {
  command = plan

  variables {
    apps = {
      service1 = { hostname_label = "service1", listener_rule_priority = 200, image_tag = "bad tag" }
    }
  }

  expect_failures = [var.apps]
}

run "rejects_a_failover_mode_without_upstreams" {
  command = plan

  variables {
    apps = {
      service1 = { hostname_label = "service1", listener_rule_priority = 200, failover_mode = "arc" }
    }
  }

  expect_failures = [var.apps]
}

run "rejects_an_environment_that_overrides_the_root" {
  command = plan

  variables {
    apps = {
      service1 = { hostname_label = "service1", listener_rule_priority = 200, environment = { PORT = "9000" } }
    }
  }

  expect_failures = [var.apps]
}

run "rejects_bad_app_names_and_ports" {
  command = plan

  variables {
    apps = {
      Service_1 = { hostname_label = "service1", listener_rule_priority = 200, additional_container_ports = [8080] }
    }
  }

  expect_failures = [var.apps]
}

# ECS deregisters a task, waits for the target group's deregistration delay, then sends SIGTERM: the delay is what a
# request in flight gets when a task leaves, so it covers each app's response and drain timeouts.
run "deregistration_delay_covers_the_apps_timeouts" {
  assert {
    condition     = alltrue([for app, s in output.ecs_services : s.deregistration_delay == 30 && s.environment["DRAIN_TIMEOUT"] == "25s"]) && alltrue([for m in module.app : m.deregistration_delay == 30])
    error_message = "Every app's target group keeps a leaving task 30 s (the gateway's 30 s response timeout), and every app drains for 25 s (DRAIN_TIMEOUT)."
  }
}

run "deregistration_delay_per_app" {
  variables {
    apps = {
      gateway  = { hostname_label = "externalapi", listener_rule_priority = 100, response_timeout = 60, drain_timeout = 28, deregistration_delay = 60 }
      service1 = { hostname_label = "service1", listener_rule_priority = 200, response_timeout = 5, drain_timeout = 5, deregistration_delay = 5 }
    }
  }

  assert {
    condition     = output.ecs_services["gateway"].deregistration_delay == 60 && output.ecs_services["gateway"].environment["DRAIN_TIMEOUT"] == "28s"
    error_message = "The gateway's deregistration delay and drain timeout come from its apps entry."
  }

  assert {
    condition     = output.ecs_services["service1"].deregistration_delay == 5 && output.ecs_services["service1"].environment["DRAIN_TIMEOUT"] == "5s"
    error_message = "service1 has its own, shorter deregistration delay and drain timeout."
  }
}

run "rejects_a_deregistration_delay_shorter_than_the_response_timeout" {
  command = plan

  variables {
    apps = {
      gateway = { hostname_label = "externalapi", listener_rule_priority = 100, deregistration_delay = 10 }
    }
  }

  expect_failures = [var.apps]
}

run "rejects_a_deregistration_delay_shorter_than_the_drain_timeout" {
  command = plan

  variables {
    apps = {
      gateway = { hostname_label = "externalapi", listener_rule_priority = 100, response_timeout = 5, drain_timeout = 25, deregistration_delay = 20 }
    }
  }

  expect_failures = [var.apps]
}

run "rejects_a_drain_timeout_ecs_would_cut" {
  command = plan

  variables {
    stop_timeout = 20
    apps = {
      gateway = { hostname_label = "externalapi", listener_rule_priority = 100 }
    }
  }

  expect_failures = [var.apps]
}

run "rejects_drain_timeout_in_the_environment" {
  command = plan

  variables {
    apps = {
      service1 = { hostname_label = "service1", listener_rule_priority = 200, environment = { DRAIN_TIMEOUT = "5s" } }
    }
  }

  expect_failures = [var.apps]
}

# TLS 1.3 policies whose names start TLS13-1-0 and TLS13-1-1 also accept TLS 1.0 and 1.1.
run "rejects_a_tls_policy_that_accepts_tls_1_0" {
  command = plan

  variables {
    alb_ssl_policy = "ELBSecurityPolicy-TLS13-1-0-2021-06"
  }

  expect_failures = [var.alb_ssl_policy]
}

run "rejects_a_tls_policy_that_accepts_tls_1_1" {
  command = plan

  variables {
    alb_ssl_policy = "ELBSecurityPolicy-TLS13-1-1-2021-06"
  }

  expect_failures = [var.alb_ssl_policy]
}

run "accepts_a_tls_1_3_only_policy" {
  command = plan

  variables {
    alb_ssl_policy = "ELBSecurityPolicy-TLS13-1-3-2021-06"
  }

  assert {
    condition     = var.alb_ssl_policy == "ELBSecurityPolicy-TLS13-1-3-2021-06"
    error_message = "A TLS 1.3-only policy is accepted."
  }
}

run "default_tls_policy_is_awss_recommended" {
  command = plan

  assert {
    condition     = var.alb_ssl_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    error_message = "The listener defaults to AWS's recommended policy, ELBSecurityPolicy-TLS13-1-2-2021-06."
  }
}

# IAM role names are global, at most 64 characters: <name>-<app>-<region>-execution.
run "rejects_an_app_whose_role_names_exceed_64_characters" {
  command = plan

  variables {
    name = "mrapi-production"
    apps = {
      order-fulfilment-notifications = { hostname_label = "orders", listener_rule_priority = 100 }
    }
  }

  expect_failures = [var.apps]
}

run "the_workspace_is_the_region" {
  command = plan

  assert {
    condition     = terraform.workspace == var.region
    error_message = "These tests run in the region's workspace (infra/test.sh sets TF_WORKSPACE); workspace-tests cover the others."
  }
}
