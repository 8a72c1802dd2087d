# Regional root, applied once per region with its own state: network, load balancer, KMS key, log bucket, ECR
# repositories, ECS cluster and one service per entry of var.apps (modules/app-service). The load balancer's
# certificate comes from infra/certificates (var.certificate_arns), applied before.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # var.apps with the root-wide defaults filled in: the image tag, and the failover mode of apps with upstreams
  # (null for the others).
  apps = {
    for app, a in var.apps : app => merge(a, {
      image_tag     = coalesce(a.image_tag, var.image_tag)
      failover_mode = length(a.upstreams) > 0 ? coalesce(a.failover_mode, var.failover_mode) : null
    })
  }

  # This region's certificate, from infra/certificates (which owns it and its validation records).
  certificate_arn = lookup(var.certificate_arns, var.region, null)

  # --- How the apps with upstreams follow their failovers. ---
  arc_document = var.arc_cluster_json == null ? null : jsondecode(var.arc_cluster_json)

  # The routing controls each app follows: every region of each of its upstreams, from the cluster document (whose
  # apps are keyed as here), unless arc_routing_control_arns names them.
  routing_control_arns = {
    for app, a in local.apps : app => var.arc_routing_control_arns != null ? var.arc_routing_control_arns : (
      local.arc_document == null ? [] : flatten([
        for u in a.upstreams : [
          for region, r in try(local.arc_document.apps[u].regions, {}) : r.routing_control_arn
        ]
      ])
    )
  }

  # dns mode: <UPSTREAM>_URL, the upstream's failover hostname, and the cluster document when given (its regional
  # URLs are where the gateway sends a request the active region could not take: regional fallback); arc mode:
  # the cluster document.
  failover_environment = {
    for app, a in local.apps : app => a.failover_mode == "arc" ? {
      GATEWAY_FAILOVER_MODE = "arc"
      ARC_CLUSTER_JSON      = var.arc_cluster_json == null ? "" : var.arc_cluster_json
      } : merge({
        for u in a.upstreams : "${upper(replace(u, "-", "_"))}_URL" => "https://${var.apps[u].hostname_label}.${var.domain_name}"
      },
      length(a.upstreams) == 0 || var.arc_cluster_json == null ? {} : { ARC_CLUSTER_JSON = var.arc_cluster_json }
    )
  }

  # In arc mode an app may read the state of the routing controls it follows, and nothing else.
  task_role_policies = {
    for app, a in local.apps : app => a.failover_mode == "arc" ? jsonencode({
      Version = "2012-10-17"
      Statement = [
        {
          Sid      = "ReadFollowedRoutingControls"
          Effect   = "Allow"
          Action   = ["route53-recovery-cluster:GetRoutingControlState"]
          Resource = local.routing_control_arns[app]
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
  }

  # Every app keeps idle keep-alive connections open longer than the load balancer does, and gets its own drain
  # deadline, which its deregistration delay covers (variables.tf).
  keepalive_environment = { KEEPALIVE_TIMEOUT = "${var.target_keepalive_timeout}s" }
  drain_environment     = { for app, a in var.apps : app => { DRAIN_TIMEOUT = "${a.drain_timeout}s" } }
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
  hostname_labels     = { for app, a in var.apps : app => a.hostname_label }
  ingress_cidr_blocks = var.alb_ingress_cidr_blocks
  access_logs_bucket  = aws_s3_bucket_policy.logs.bucket # after the policy that lets the load balancer write
  access_logs_prefix  = local.alb_logs_prefix
  deletion_protection = var.alb_deletion_protection
  idle_timeout        = var.alb_idle_timeout
  certificate_arn     = local.certificate_arn
  ssl_policy          = var.alb_ssl_policy
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
  listener_rule_priority = each.value.listener_rule_priority
  host_headers           = ["${each.value.hostname_label}.${var.domain_name}", module.alb.regional_hostnames[each.key]]

  image_repository_url       = aws_ecr_repository.app[each.key].repository_url
  image_tag                  = each.value.image_tag
  ecr_repository_arn         = aws_ecr_repository.app[each.key].arn
  container_port             = 8080
  additional_container_ports = each.value.additional_container_ports
  environment                = merge(each.value.environment, local.failover_environment[each.key], local.keepalive_environment, local.drain_environment[each.key])

  cpu                 = each.value.cpu
  memory              = each.value.memory
  desired_count       = each.value.desired_count
  min_capacity        = each.value.min_capacity
  max_capacity        = each.value.max_capacity
  cpu_target_percent  = var.cpu_target_percent
  requests_per_target = var.requests_per_target

  stop_timeout          = var.stop_timeout
  deregistration_delay  = each.value.deregistration_delay
  log_retention_days    = var.log_retention_days
  kms_key_arn           = aws_kms_key.this.arn
  task_role_policy_json = local.task_role_policies[each.key]
}

# Warns when the registered autoscaling bounds are not those of apps: an evacuation's scale step raised them. The
# scalable targets keep them (modules/app-service) until the configured bounds change.
check "autoscaling_bounds_as_configured" {
  assert {
    condition = alltrue([for app, m in module.app :
      m.autoscaling_capacity.min_capacity == local.apps[app].min_capacity && m.autoscaling_capacity.max_capacity == local.apps[app].max_capacity
    ])
    error_message = "Autoscaling bounds set outside Terraform are kept: ${join("; ", [for app, m in module.app : "${app} has ${m.autoscaling_capacity.min_capacity}-${m.autoscaling_capacity.max_capacity} tasks, apps.${app} says ${local.apps[app].min_capacity}-${local.apps[app].max_capacity}" if m.autoscaling_capacity.min_capacity != local.apps[app].min_capacity || m.autoscaling_capacity.max_capacity != local.apps[app].max_capacity])}. To keep them, write them into apps in regions/${var.region}.tfvars; to go back, apply with -replace='module.app[\"<app>\"].aws_appautoscaling_target.this' (infra/README.md, \"After an evacuation\")."
  }
}

# Warns when the apps with upstreams (the gateway) cannot reach them: without a NAT gateway the private subnets have
# no route to the public hostnames or to the ARC cluster endpoints.
check "upstream_callers_need_internet_egress" {
  assert {
    condition     = module.network.has_internet_egress || alltrue([for a in values(local.apps) : length(a.upstreams) == 0])
    error_message = "egress_mode = vpc_endpoints gives the tasks no internet route: ${join(", ", [for app, a in local.apps : app if length(a.upstreams) > 0])} cannot reach ${join(", ", distinct(flatten([for a in values(local.apps) : [for u in a.upstreams : "https://${var.apps[u].hostname_label}.${var.domain_name}"]])))} or the ARC cluster. Use nat_gateway or nat_gateway_and_vpc_endpoints."
  }
}
