variable "region" {
  description = "AWS region this root is applied to. Each region has its own state, in the Terraform workspace named like the region: the selected workspace must be this region (infra/README.md)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }

  # A plan of one region against another region's state would replace that region (its IAM roles, DNS records,
  # repositories and buckets); the default workspace is no region's state.
  validation {
    condition     = terraform.workspace == var.region
    error_message = "The selected workspace is ${terraform.workspace}, but region is ${var.region}: each region has its own state, in the workspace named after it. Run terraform workspace select ${var.region} (or select the workspace of the region you meant, with its -var-file=regions/<region>.tfvars)."
  }
}

variable "name" {
  description = "Name of the deployment: ECS cluster name and prefix of repositories, roles, log groups and buckets. Must equal the global root's cluster_name."
  type        = string
  default     = "mrapi"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}[a-z0-9]$", var.name))
    error_message = "name must be 3-16 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "domain_name" {
  description = "Domain the public hostnames live under, for example example.com."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain_name))
    error_message = "domain_name must be a lowercase DNS name such as example.com."
  }
}

variable "hosted_zone_id" {
  description = "ID of the existing public Route 53 hosted zone of domain_name (certificate validation and regional hostnames)."
  type        = string

  validation {
    condition     = can(regex("^Z[A-Z0-9]{1,31}$", var.hosted_zone_id))
    error_message = "hosted_zone_id must be a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ."
  }
}

variable "certificate_arns" {
  description = <<-EOT
    The validated ACM certificate of each region, keyed by region (infra/certificates output certificate_arns; the
    README writes it to certificates.auto.tfvars.json). This region's entry serves the HTTPS listener.
  EOT
  type        = map(string)

  validation {
    condition     = contains(keys(var.certificate_arns), var.region)
    error_message = "certificate_arns has no certificate for this region: apply infra/certificates for it first (infra/README.md)."
  }

  validation {
    condition     = alltrue([for region, arn in var.certificate_arns : can(regex("^arn:aws[a-z-]*:acm:${region}:[0-9]{12}:certificate/.+$", arn))])
    error_message = "Each certificate_arns entry must be an ACM certificate ARN of the region it is keyed by."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of this region's VPC (/16 to /22)."
  type        = string
  default     = "10.10.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 22
    error_message = "vpc_cidr must be a valid IPv4 CIDR block with a prefix length between /16 and /22."
  }
}

variable "availability_zones" {
  description = "The two (or three) availability zones of this region to use, for example [\"us-east-1a\", \"us-east-1b\"]."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3 && length(distinct(var.availability_zones)) == length(var.availability_zones) && alltrue([for az in var.availability_zones : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9][a-z]$", az))])
    error_message = "Give two or three distinct availability zones such as us-east-1a."
  }
}

variable "egress_mode" {
  description = "Egress of the private subnets: nat_gateway, vpc_endpoints or nat_gateway_and_vpc_endpoints (see infra/README.md for what each costs and allows)."
  type        = string
  default     = "nat_gateway"

  validation {
    condition     = contains(["nat_gateway", "vpc_endpoints", "nat_gateway_and_vpc_endpoints"], var.egress_mode)
    error_message = "egress_mode must be one of nat_gateway, vpc_endpoints, nat_gateway_and_vpc_endpoints."
  }
}

variable "nat_gateway_per_az" {
  description = "One NAT gateway per availability zone (true) or a single shared one (false, cheaper, loses egress with its zone)."
  type        = bool
  default     = true
}

variable "alb_deletion_protection" {
  description = "Deletion protection of the load balancer. Set false and apply before terraform destroy."
  type        = bool
  default     = true
}

variable "alb_ssl_policy" {
  description = "TLS security policy of the load balancer's HTTPS listener: a TLS 1.3 policy that accepts nothing older than TLS 1.2 (ELBSecurityPolicy-TLS13-1-2-* or -1-3-*). Default: AWS's recommended ELBSecurityPolicy-TLS13-1-2-2021-06."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  nullable    = false

  # The policy names carry the lowest version they accept: ELBSecurityPolicy-TLS13-1-0-2021-06 and -1-1- also
  # negotiate TLS 1.0 and 1.1.
  validation {
    condition     = can(regex("^ELBSecurityPolicy-TLS13-1-[23]-[A-Za-z0-9-]+$", var.alb_ssl_policy))
    error_message = "alb_ssl_policy = \"${var.alb_ssl_policy}\": must be a TLS 1.3 policy whose minimum is TLS 1.2 or 1.3 (ELBSecurityPolicy-TLS13-1-2-* or ELBSecurityPolicy-TLS13-1-3-*, such as AWS's recommended ELBSecurityPolicy-TLS13-1-2-2021-06); the TLS13-1-0 and TLS13-1-1 policies still accept TLS 1.0 and 1.1."
  }
}

variable "alb_ingress_cidr_blocks" {
  description = "IPv4 ranges allowed to reach the load balancer on ports 80 and 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.alb_ingress_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "Each range must be a valid IPv4 CIDR block."
  }
}

variable "access_log_retention_days" {
  description = "Days the load balancer access logs and VPC flow logs are kept in the log bucket."
  type        = number
  default     = 90

  validation {
    condition     = var.access_log_retention_days >= 1 && floor(var.access_log_retention_days) == var.access_log_retention_days
    error_message = "access_log_retention_days must be a positive integer."
  }
}

variable "log_bucket_force_destroy" {
  description = "Let terraform destroy delete the log bucket even when it still holds logs."
  type        = bool
  default     = false
}

variable "ecr_force_delete" {
  description = "Let terraform destroy delete the ECR repositories even when they still hold images."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the apps' CloudWatch log groups, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "image_tag" {
  description = "Image tag every app's service starts with, unless its apps entry sets image_tag: the commit SHA whose images are in ECR (the pipeline pushes commit-SHA tags and rolls newer ones out itself)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid image tag (letters, digits, _ . -, at most 128 characters)."
  }
}

variable "apps" {
  description = <<-EOT
    The apps this region runs, keyed by app name: the ECS service, container, binary (/<app>) and Dockerfile target,
    the task definition family <name>-<app> and the ECR repository <name>/<app>. Adding an app is one more entry
    (infra/README.md, "Adding an app"). Per app:
      hostname_label              first DNS label of <label>.<domain> and <label>.<region>.<domain>
      listener_rule_priority      priority of its host-header rule on the HTTPS listener (unique, 1-50000)
      image_tag                   tag its service starts with (null: var.image_tag)
      cpu, memory                 Fargate task size: CPU units (256) and MiB (512)
      desired_count               tasks at creation (2); autoscaling owns the count afterwards
      min_capacity, max_capacity  autoscaling bounds (2 and 6), registered when they change; bounds an evacuation's
                                  scale step set are kept until then (infra/README.md, "After an evacuation")
      response_timeout            seconds the app may take to answer a request (30: the gateway's routes'
                                  response_header_timeout); not passed to the app, checked against the delay below
      drain_timeout               seconds its in-flight requests get on SIGTERM (25), passed as DRAIN_TIMEOUT;
                                  below stop_timeout, when ECS kills the container
      deregistration_delay        seconds the load balancer keeps a leaving task for its in-flight requests (30);
                                  ECS deregisters a task before SIGTERM, so at least response_timeout and
                                  drain_timeout
      additional_container_ports  ports the container exposes besides 8080, not routed by the load balancer
      environment                 extra environment variables (REGION, PORT, KEEPALIVE_TIMEOUT and DRAIN_TIMEOUT are
                                  set for all)
      upstreams                   apps it calls and whose failover it follows (the gateway: service1 and service2)
      failover_mode               how it follows them: dns or arc (null: var.failover_mode); only with upstreams
  EOT
  type = map(object({
    hostname_label             = string
    listener_rule_priority     = number
    image_tag                  = optional(string)
    cpu                        = optional(number, 256)
    memory                     = optional(number, 512)
    desired_count              = optional(number, 2)
    min_capacity               = optional(number, 2)
    max_capacity               = optional(number, 6)
    response_timeout           = optional(number, 30)
    drain_timeout              = optional(number, 25)
    deregistration_delay       = optional(number, 30)
    additional_container_ports = optional(list(number), [])
    environment                = optional(map(string), {})
    upstreams                  = optional(list(string), [])
    failover_mode              = optional(string)
  }))
  nullable = false
  default = {
    gateway = {
      hostname_label             = "externalapi"
      listener_rule_priority     = 100
      additional_container_ports = [9090] # metrics admin port
      # The load balancer is the one proxy in front of the gateway: its X-Forwarded-For entry is believed.
      environment = { TRUSTED_PROXY_HOPS = "1" }
      upstreams   = ["service1", "service2"]
    }
    service1 = {
      hostname_label         = "service1"
      listener_rule_priority = 200
    }
    service2 = {
      hostname_label         = "service2"
      listener_rule_priority = 300
    }
  }

  validation {
    condition     = length(var.apps) > 0 && alltrue([for app in keys(var.apps) : can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", app))])
    error_message = "apps needs at least one app, each named by 3-32 lowercase letters, digits and hyphens, starting with a letter."
  }

  validation {
    condition = alltrue([for a in values(var.apps) : can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", a.hostname_label))]) && (
      length(distinct([for a in values(var.apps) : a.hostname_label])) == length(var.apps)
    )
    error_message = "Each app's hostname_label must be a single lowercase DNS label, and no two apps may share one."
  }

  validation {
    condition = alltrue([for a in values(var.apps) : a.listener_rule_priority >= 1 && a.listener_rule_priority <= 50000 && floor(a.listener_rule_priority) == a.listener_rule_priority]) && (
      length(distinct([for a in values(var.apps) : a.listener_rule_priority])) == length(var.apps)
    )
    error_message = "Each app's listener_rule_priority must be a whole number between 1 and 50000, unique across apps."
  }

  validation {
    condition     = alltrue([for a in values(var.apps) : a.image_tag == null || can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", a.image_tag))])
    error_message = "An app's image_tag must be null (var.image_tag) or a valid image tag."
  }

  validation {
    condition     = alltrue([for a in values(var.apps) : contains([256, 512, 1024, 2048, 4096, 8192, 16384], a.cpu) && a.memory >= 512 && a.memory <= 122880])
    error_message = "Each app's cpu must be a Fargate CPU size (256, 512, 1024, 2048, 4096, 8192 or 16384) and its memory between 512 and 122880 MiB."
  }

  validation {
    condition = alltrue([for a in values(var.apps) :
      floor(a.desired_count) == a.desired_count && floor(a.min_capacity) == a.min_capacity && floor(a.max_capacity) == a.max_capacity &&
      a.desired_count >= 0 && a.min_capacity >= 0 && a.max_capacity >= 1 && a.min_capacity <= a.max_capacity
    ])
    error_message = "Each app's desired_count and min_capacity must be non-negative whole numbers, its max_capacity a positive one, and min_capacity must not exceed max_capacity."
  }

  validation {
    condition     = alltrue([for a in values(var.apps) : alltrue([for p in a.additional_container_ports : p >= 1 && p <= 65535 && floor(p) == p && p != 8080])])
    error_message = "additional_container_ports must be whole numbers between 1 and 65535, other than the app port 8080."
  }

  validation {
    condition     = alltrue([for a in values(var.apps) : length(setintersection(keys(a.environment), ["REGION", "PORT", "KEEPALIVE_TIMEOUT", "DRAIN_TIMEOUT"])) == 0])
    error_message = "An app's environment must not set REGION, PORT, KEEPALIVE_TIMEOUT or DRAIN_TIMEOUT: every app gets them from this root (DRAIN_TIMEOUT from its drain_timeout)."
  }

  # ECS deregisters a task from the target group, waits deregistration_delay, then sends SIGTERM; the app drains for
  # drain_timeout and ECS kills it at stop_timeout. A delay shorter than a response cuts that request on every
  # deployment and scale-in (as a keep-alive shorter than the load balancer's idle timeout gives 502s).
  validation {
    condition = alltrue([for a in values(var.apps) :
      floor(a.response_timeout) == a.response_timeout && a.response_timeout >= 1 && a.response_timeout <= 3600 &&
      floor(a.drain_timeout) == a.drain_timeout && a.drain_timeout >= 1 && a.drain_timeout < var.stop_timeout &&
      floor(a.deregistration_delay) == a.deregistration_delay && a.deregistration_delay <= 3600 &&
      a.deregistration_delay >= a.response_timeout && a.deregistration_delay >= a.drain_timeout
    ])
    error_message = "Each app's deregistration_delay (whole seconds, at most 3600) must be at least its response_timeout and its drain_timeout, and its drain_timeout below stop_timeout (${var.stop_timeout} s): ${join("; ", [for app, a in var.apps : "${app}: response_timeout ${a.response_timeout}, drain_timeout ${a.drain_timeout}, deregistration_delay ${a.deregistration_delay}" if !(a.deregistration_delay >= a.response_timeout && a.deregistration_delay >= a.drain_timeout && a.drain_timeout < var.stop_timeout)])}. The load balancer drops what is still in flight when the delay ends, before the task even gets SIGTERM."
  }

  # IAM role names are global, at most 64 characters.
  validation {
    condition     = alltrue([for app in keys(var.apps) : length("${var.name}-${app}-${var.region}-execution") <= 64])
    error_message = "IAM role names are <name>-<app>-<region>-execution, at most 64 characters: ${join(", ", [for app in keys(var.apps) : "${var.name}-${app}-${var.region}-execution has ${length("${var.name}-${app}-${var.region}-execution")}" if length("${var.name}-${app}-${var.region}-execution") > 64])}. Shorten the app name or name."
  }

  validation {
    condition     = alltrue([for app, a in var.apps : alltrue([for u in a.upstreams : contains(keys(var.apps), u) && u != app])])
    error_message = "Each of an app's upstreams must be another app of apps."
  }

  validation {
    condition     = alltrue([for a in values(var.apps) : a.failover_mode == null || (contains(["dns", "arc"], coalesce(a.failover_mode, "-")) && length(a.upstreams) > 0)])
    error_message = "An app's failover_mode must be null, dns or arc, and only an app with upstreams has one."
  }
}

variable "cpu_target_percent" {
  description = "Target average CPU utilisation of every app's CPU scaling policy."
  type        = number
  default     = 60

  validation {
    condition     = var.cpu_target_percent > 0 && var.cpu_target_percent <= 100
    error_message = "cpu_target_percent must be between 1 and 100."
  }
}

variable "requests_per_target" {
  description = "Target requests per task per minute of every app's request-count scaling policy."
  type        = number
  default     = 1000

  validation {
    condition     = var.requests_per_target > 0
    error_message = "requests_per_target must be positive."
  }
}

variable "stop_timeout" {
  description = "Seconds between SIGTERM and SIGKILL for every container; must exceed every app's drain_timeout (DRAIN_TIMEOUT, 25 s by default)."
  type        = number
  default     = 30

  validation {
    condition     = var.stop_timeout >= 2 && var.stop_timeout <= 120
    error_message = "stop_timeout must be between 2 and 120 seconds."
  }
}

variable "alb_idle_timeout" {
  description = "Seconds the load balancer keeps an idle connection open, to clients and to the app tasks (AWS default 60). The apps keep idle connections open for target_keepalive_timeout, which must be longer."
  type        = number
  default     = 60

  validation {
    condition     = var.alb_idle_timeout >= 1 && var.alb_idle_timeout <= 4000 && floor(var.alb_idle_timeout) == var.alb_idle_timeout
    error_message = "alb_idle_timeout must be a whole number of seconds between 1 and 4000."
  }
}

variable "target_keepalive_timeout" {
  description = "Seconds every app keeps an idle keep-alive connection open (KEEPALIVE_TIMEOUT). It must exceed alb_idle_timeout: a target that closes an idle connection before the load balancer does gets requests on a closing connection (intermittent 502s)."
  type        = number
  default     = 75

  validation {
    condition     = floor(var.target_keepalive_timeout) == var.target_keepalive_timeout && var.target_keepalive_timeout > var.alb_idle_timeout && var.target_keepalive_timeout <= 3600
    error_message = "target_keepalive_timeout must be a whole number of seconds greater than alb_idle_timeout (the load balancer, not the target, must close idle connections) and at most 3600."
  }
}

variable "failover_mode" {
  description = "How the apps with upstreams (the gateway) follow their upstreams' failovers, unless their apps entry sets failover_mode: dns (calls https://<label>.<domain>, re-resolving) or arc (watches the upstreams' routing controls in arc_cluster_json)."
  type        = string
  default     = "dns"
  nullable    = false

  validation {
    condition     = contains(["dns", "arc"], var.failover_mode)
    error_message = "failover_mode must be dns or arc."
  }
}

variable "arc_cluster_json" {
  description = "The cluster document (infra/global output cluster_document), passed to every app with upstreams (the gateway) as ARC_CLUSTER_JSON: in arc mode it names the routing controls and regional URLs; in dns mode its regional URLs are the regional fallback. Required in arc mode; null in dns mode turns regional fallback off."
  type        = string
  default     = null

  validation {
    condition     = var.arc_cluster_json == null || can(jsondecode(var.arc_cluster_json).apps)
    error_message = "arc_cluster_json must be the JSON cluster document (with an apps object)."
  }

  # Every app in arc mode needs the document, and routing controls to follow: from the document (its upstreams'
  # entries) or from arc_routing_control_arns.
  validation {
    condition = alltrue([for app, a in var.apps : length(a.upstreams) == 0 || coalesce(a.failover_mode, var.failover_mode) != "arc" || (
      var.arc_cluster_json != null && (var.arc_routing_control_arns != null ? length(coalesce(var.arc_routing_control_arns, [])) > 0 : length(flatten([
        for u in a.upstreams : [for r in values(try(jsondecode(var.arc_cluster_json).apps[u].regions, {})) : try(r.routing_control_arn, null)]
      ])) > 0)
    )])
    error_message = "An app in arc mode (failover_mode = arc) needs arc_cluster_json (terraform -chdir=infra/global output -raw cluster_document) with its upstreams' routing controls."
  }
}

variable "arc_routing_control_arns" {
  description = "Routing control ARNs the apps in arc mode (the gateway) may read; null derives each app's from arc_cluster_json (every region of each of its upstreams)."
  type        = list(string)
  default     = null

  validation {
    condition     = var.arc_routing_control_arns == null || alltrue([for a in coalesce(var.arc_routing_control_arns, []) : can(regex("^arn:aws[a-z-]*:route53-recovery-control::[0-9]{12}:controlpanel/[^/]+/routingcontrol/[^/]+$", a))])
    error_message = "Each ARN must be a routing control ARN (arn:aws:route53-recovery-control::<account>:controlpanel/<id>/routingcontrol/<id>)."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
}

# --- Inputs this root no longer has. Declared only to stop a plan that still sets them: Terraform would otherwise
# ignore the value with a warning, and the apps would silently change (back to dns mode, back to default sizes).

variable "gateway_failover_mode" {
  description = "Removed: the apps' failover mode is failover_mode (every app with upstreams) or apps.<app>.failover_mode. Must stay unset."
  type        = string
  default     = null

  validation {
    condition     = var.gateway_failover_mode == null
    error_message = "gateway_failover_mode was replaced by failover_mode: rewrite arc.auto.tfvars.json with the arc-mode step of infra/README.md ({failover_mode: \"arc\", arc_cluster_json: ...})."
  }
}

variable "app_settings" {
  description = "Removed: each app's cpu, memory, desired_count, min_capacity and max_capacity are fields of its apps entry. Must stay unset."
  type        = any
  default     = null

  validation {
    condition     = var.app_settings == null || try(length(var.app_settings) == 0, false)
    error_message = "app_settings was folded into apps: move each app's cpu, memory, desired_count, min_capacity and max_capacity into its apps entry (infra/README.md, \"Adding an app\")."
  }
}
