# Regional root, applied once per region with its own state: network, load balancer, KMS key, log bucket, ECR
# repositories, ECS cluster and the three apps (modules/app-service). The load balancer's certificate comes from
# infra/certificates (var.certificate_arns), applied before.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Binary/Dockerfile target => hostname label, listener rule priority, image tag, extra (not routed) ports.
  apps = {
    gateway = {
      hostname_label = "externalapi"
      priority       = 100
      image_tag      = var.gateway_image_tag
      extra_ports    = [9090] # metrics admin port
    }
    service1 = {
      hostname_label = "service1"
      priority       = 200
      image_tag      = var.service1_image_tag
      extra_ports    = []
    }
    service2 = {
      hostname_label = "service2"
      priority       = 300
      image_tag      = var.service2_image_tag
      extra_ports    = []
    }
  }

  default_app_settings = {
    cpu           = 256
    memory        = 512
    desired_count = 2
    min_capacity  = 2
    max_capacity  = 6
  }

  app_settings = {
    for app in keys(local.apps) : app => merge(
      local.default_app_settings,
      { for k, v in try(var.app_settings[app], {}) : k => v if v != null },
    )
  }

  # This region's certificate, from infra/certificates (which owns it and its validation records).
  certificate_arn = lookup(var.certificate_arns, var.region, null)

  # --- Gateway failover configuration. ---
  arc_document = var.arc_cluster_json == null ? null : jsondecode(var.arc_cluster_json)

  arc_routing_control_arns = var.arc_routing_control_arns != null ? var.arc_routing_control_arns : (
    local.arc_document == null ? [] : flatten([
      for app in ["service1", "service2"] : [
        for region, r in try(local.arc_document.apps[app].regions, {}) : r.routing_control_arn
      ]
    ])
  )

  # The ALB is the one proxy in front of the gateway: its X-Forwarded-For entry is believed.
  gateway_environment = merge({ TRUSTED_PROXY_HOPS = "1" }, var.gateway_failover_mode == "arc" ? {
    GATEWAY_FAILOVER_MODE = "arc"
    ARC_CLUSTER_JSON      = var.arc_cluster_json == null ? "" : var.arc_cluster_json
    } : {
    SERVICE1_URL = "https://${local.apps.service1.hostname_label}.${var.domain_name}"
    SERVICE2_URL = "https://${local.apps.service2.hostname_label}.${var.domain_name}"
  })

  # In arc mode the gateway may read the state of the routing controls it follows, and nothing else.
  gateway_task_policy = var.gateway_failover_mode == "arc" ? jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadFollowedRoutingControls"
        Effect   = "Allow"
        Action   = ["route53-recovery-cluster:GetRoutingControlState"]
        Resource = local.arc_routing_control_arns
      },
      {
        # ListRoutingControls has no resource type in IAM: a statement scoped to routing-control ARNs never
        # matches it, so it must name "*". It is read-only (names, ARNs and states).
        Sid      = "ListRoutingControls"
        Effect   = "Allow"
        Action   = ["route53-recovery-cluster:ListRoutingControls"]
        Resource = "*"
      },
    ]
  }) : null

  # Every app keeps idle keep-alive connections open longer than the load balancer does (variables.tf).
  keepalive_environment = { KEEPALIVE_TIMEOUT = "${var.target_keepalive_timeout}s" }

  app_environment = {
    gateway  = merge(local.gateway_environment, local.keepalive_environment)
    service1 = local.keepalive_environment
    service2 = local.keepalive_environment
  }
}

module "network" {
  source = "../modules/network"

  name               = var.name
  vpc_cidr           = var.vpc_cidr
  availability_zones = var.availability_zones
  egress_mode        = var.egress_mode
  nat_gateway_per_az = var.nat_gateway_per_az
  # Named through the bucket policy so that the flow log waits for the policy that lets it write.
  flow_log_destination_arn = "arn:${local.partition}:s3:::${aws_s3_bucket_policy.logs.bucket}/${local.flow_logs_prefix}/"
}

module "alb" {
  source = "../modules/alb"

  name                = var.name
  region              = var.region
  vpc_id              = module.network.vpc_id
  vpc_cidr            = module.network.vpc_cidr
  public_subnet_ids   = module.network.public_subnet_ids
  domain_name         = var.domain_name
  hosted_zone_id      = var.hosted_zone_id
  hostname_labels     = [for app in keys(local.apps) : local.apps[app].hostname_label]
  ingress_cidr_blocks = var.alb_ingress_cidr_blocks
  access_logs_bucket  = aws_s3_bucket_policy.logs.bucket # after the policy that lets the load balancer write
  access_logs_prefix  = local.alb_logs_prefix
  deletion_protection = var.alb_deletion_protection
  idle_timeout        = var.alb_idle_timeout
  certificate_arn     = local.certificate_arn
}

module "app" {
  source   = "../modules/app-service"
  for_each = local.apps

  name        = each.key
  name_prefix = var.name
  region      = var.region
  cluster_arn = aws_ecs_cluster.this.arn

  vpc_id                 = module.network.vpc_id
  private_subnet_ids     = module.network.private_subnet_ids
  alb_security_group_id  = module.alb.security_group_id
  https_listener_arn     = module.alb.https_listener_arn
  alb_arn_suffix         = module.alb.arn_suffix
  listener_rule_priority = each.value.priority
  host_headers           = ["${each.value.hostname_label}.${var.domain_name}", module.alb.regional_hostnames[each.value.hostname_label]]

  image_repository_url       = aws_ecr_repository.app[each.key].repository_url
  image_tag                  = each.value.image_tag
  ecr_repository_arn         = aws_ecr_repository.app[each.key].arn
  container_port             = 8080
  additional_container_ports = each.value.extra_ports
  environment                = local.app_environment[each.key]

  cpu                 = local.app_settings[each.key].cpu
  memory              = local.app_settings[each.key].memory
  desired_count       = local.app_settings[each.key].desired_count
  min_capacity        = local.app_settings[each.key].min_capacity
  max_capacity        = local.app_settings[each.key].max_capacity
  cpu_target_percent  = var.cpu_target_percent
  requests_per_target = var.requests_per_target

  stop_timeout          = var.stop_timeout
  deregistration_delay  = 10
  log_retention_days    = var.log_retention_days
  kms_key_arn           = aws_kms_key.this.arn
  task_role_policy_json = each.key == "gateway" ? local.gateway_task_policy : null
}

# Warns (does not fail) when the workspace name and the region disagree: one state per region.
check "workspace_matches_region" {
  assert {
    condition     = terraform.workspace == "default" || terraform.workspace == var.region
    error_message = "The selected workspace (${terraform.workspace}) is not ${var.region}: each region needs its own state (terraform workspace select ${var.region})."
  }
}

# Warns when the gateway cannot reach its upstreams: without a NAT gateway the private subnets have no route to
# the public hostnames or to the ARC cluster endpoints.
check "gateway_needs_internet_egress" {
  assert {
    condition     = module.network.has_internet_egress
    error_message = "egress_mode = vpc_endpoints gives the tasks no internet route: the gateway cannot reach https://service1.${var.domain_name} or the ARC cluster. Use nat_gateway or nat_gateway_and_vpc_endpoints."
  }
}
