variable "region" {
  description = "AWS region this root is applied to (one state per region, see infra/README.md)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
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
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3 && alltrue([for az in var.availability_zones : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9][a-z]$", az))])
    error_message = "Give two or three availability zones such as us-east-1a."
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

variable "gateway_image_tag" {
  description = "Image tag the gateway service starts with (the pipeline pushes commit-SHA tags and rolls newer ones out itself)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.gateway_image_tag))
    error_message = "gateway_image_tag must be a valid image tag."
  }
}

variable "service1_image_tag" {
  description = "Image tag the service1 service starts with."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.service1_image_tag))
    error_message = "service1_image_tag must be a valid image tag."
  }
}

variable "service2_image_tag" {
  description = "Image tag the service2 service starts with."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.service2_image_tag))
    error_message = "service2_image_tag must be a valid image tag."
  }
}

variable "app_settings" {
  description = "Per-app size and scaling overrides keyed by gateway, service1, service2: {cpu, memory, desired_count, min_capacity, max_capacity}. Unset fields default to 256 CPU units, 512 MiB, 2, 2 and 6."
  type = map(object({
    cpu           = optional(number)
    memory        = optional(number)
    desired_count = optional(number)
    min_capacity  = optional(number)
    max_capacity  = optional(number)
  }))
  default = {}

  validation {
    condition     = alltrue([for k in keys(var.app_settings) : contains(["gateway", "service1", "service2"], k)])
    error_message = "app_settings keys must be gateway, service1 or service2."
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
  description = "Seconds between SIGTERM and SIGKILL for every container; must exceed the apps' drain deadline (DRAIN_TIMEOUT, 25 s by default)."
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
  description = "Seconds every app (gateway, service1, service2) keeps an idle keep-alive connection open (KEEPALIVE_TIMEOUT). It must exceed alb_idle_timeout: a target that closes an idle connection before the load balancer does gets requests on a closing connection (intermittent 502s)."
  type        = number
  default     = 75

  validation {
    condition     = floor(var.target_keepalive_timeout) == var.target_keepalive_timeout && var.target_keepalive_timeout > var.alb_idle_timeout && var.target_keepalive_timeout <= 3600
    error_message = "target_keepalive_timeout must be a whole number of seconds greater than alb_idle_timeout (the load balancer, not the target, must close idle connections) and at most 3600."
  }
}

variable "gateway_failover_mode" {
  description = "How the gateway follows service1/service2 failovers: dns (calls https://service1.<domain>, re-resolving) or arc (watches the routing controls of arc_cluster_json)."
  type        = string
  default     = "dns"

  validation {
    condition     = contains(["dns", "arc"], var.gateway_failover_mode)
    error_message = "gateway_failover_mode must be dns or arc."
  }
}

variable "arc_cluster_json" {
  description = "The cluster document (infra/global output cluster_document) passed to the gateway as ARC_CLUSTER_JSON in arc mode; null in dns mode."
  type        = string
  default     = null

  validation {
    condition     = var.arc_cluster_json == null || can(jsondecode(var.arc_cluster_json).apps)
    error_message = "arc_cluster_json must be the JSON cluster document (with an apps object)."
  }
}

variable "arc_routing_control_arns" {
  description = "Routing control ARNs the gateway may read in arc mode; null derives them from arc_cluster_json (every region of service1 and service2)."
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
