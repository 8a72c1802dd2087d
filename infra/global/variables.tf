variable "domain_name" {
  description = "Domain the public hostnames live under (example.com gives externalapi.example.com, service1.example.com, service2.example.com)."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain_name))
    error_message = "domain_name must be a lowercase DNS name such as example.com."
  }
}

variable "hosted_zone_id" {
  description = "ID of the existing public Route 53 hosted zone of domain_name; the failover records are created in it."
  type        = string

  validation {
    condition     = can(regex("^Z[A-Z0-9]{1,31}$", var.hosted_zone_id))
    error_message = "hosted_zone_id must be a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ."
  }
}

variable "cluster_name" {
  description = "Name of the Route 53 ARC cluster; also the deployment's name prefix (the regional roots' var.name)."
  type        = string
  default     = "mrapi"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}[a-z0-9]$", var.cluster_name))
    error_message = "cluster_name must be 3-16 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "apps" {
  description = <<-EOT
    The apps that fail over independently, keyed by their name in the cluster document. hostname_label is the first
    label of the app's hostname; primary_region answers the PRIMARY failover record (routing control <app>-primary-rc),
    secondary_region the SECONDARY one (<app>-secondary-rc).
  EOT
  type = map(object({
    hostname_label   = string
    primary_region   = optional(string, "us-east-1")
    secondary_region = optional(string, "us-west-2")
  }))
  default = {
    external-api = { hostname_label = "externalapi" }
    service1     = { hostname_label = "service1" }
    service2     = { hostname_label = "service2" }
  }

  validation {
    condition     = length(var.apps) > 0 && alltrue([for name, _ in var.apps : can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", name))])
    error_message = "App names must be lowercase letters, digits and hyphens."
  }

  validation {
    condition     = alltrue([for a in values(var.apps) : can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", a.hostname_label))])
    error_message = "Each hostname_label must be a single lowercase DNS label."
  }

  validation {
    condition = alltrue([for a in values(var.apps) :
      can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", a.primary_region)) && can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", a.secondary_region)) && a.primary_region != a.secondary_region
    ])
    error_message = "Each app needs two different AWS regions (such as us-east-1 and us-west-2) as primary_region and secondary_region."
  }

  validation {
    condition     = alltrue([for a in values(var.apps) : contains(keys(var.regional_load_balancers), a.primary_region) && contains(keys(var.regional_load_balancers), a.secondary_region)])
    error_message = "regional_load_balancers must have the load balancer of every app's primary_region and secondary_region (apply the regional root in each of them first)."
  }
}

variable "regional_load_balancers" {
  description = <<-EOT
    The regional roots' load balancers, keyed by region: { "us-east-1" = { dns_name = "...", zone_id = "..." }, ... }.
    Copy them from `terraform output -json load_balancer` of each regional root (see infra/README.md).
  EOT
  type = map(object({
    dns_name = string
    zone_id  = string
  }))

  validation {
    condition     = length(var.regional_load_balancers) >= 2 && alltrue([for r in keys(var.regional_load_balancers) : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", r))])
    error_message = "Give the load balancers of at least two regions, keyed by region name."
  }

  validation {
    condition     = alltrue([for lb in values(var.regional_load_balancers) : can(regex("^[A-Za-z0-9.-]+\\.elb\\.amazonaws\\.com$", lb.dns_name)) && can(regex("^Z[A-Z0-9]+$", lb.zone_id))])
    error_message = "Each load balancer needs an ELB dns_name (...elb.amazonaws.com) and a hosted zone_id."
  }
}

variable "regional_ecs_services" {
  description = <<-EOT
    Optional: the regional roots' ECS services, keyed by region, then by the regional root's app name:
    { "us-east-1" = { gateway = { hostname_label = "externalapi", cluster = "mrapi", service = "gateway",
    target_group_arns = ["arn:aws:elasticloadbalancing:..."] }, ... }, ... }. Copy them from
    `terraform output -json cluster_document_ecs` of each regional root (see infra/README.md). Each global app gets,
    in each of its regions, the entry with its hostname_label as the cluster document's ecs block
    {cluster, service, target_group_arns} (docs/cluster.md), which `failover check` and the plans' scale step read.
    Empty (the default): the document has no ecs block.
  EOT
  type = map(map(object({
    hostname_label    = string
    cluster           = string
    service           = string
    target_group_arns = list(string)
  })))
  default  = {}
  nullable = false

  validation {
    condition = alltrue([for region, services in var.regional_ecs_services :
      can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", region)) &&
      length(distinct([for s in values(services) : s.hostname_label])) == length(services) &&
      alltrue([for s in values(services) :
        trimspace(s.cluster) != "" && trimspace(s.service) != "" &&
        alltrue([for tg in s.target_group_arns : can(regex("^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:targetgroup/[^/]+/[^/]+$", tg))])
      ])
    ])
    error_message = "regional_ecs_services must be keyed by region name, each region's entries with distinct hostname_label values, a non-empty cluster and service, and target group ARNs (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>)."
  }
}

variable "safety_rule_wait_period_ms" {
  description = "Wait period of each control panel's assertion safety rule, in milliseconds."
  type        = number
  default     = 5000

  validation {
    condition     = var.safety_rule_wait_period_ms >= 0 && floor(var.safety_rule_wait_period_ms) == var.safety_rule_wait_period_ms
    error_message = "safety_rule_wait_period_ms must be a non-negative integer."
  }
}

variable "evaluate_target_health" {
  description = "Let the failover records also consider the load balancers' own health (false: the routing controls alone decide)."
  type        = bool
  default     = false
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose deploy workflow may assume the deployment role via OIDC; null creates no role."
  type        = string
  default     = null

  validation {
    condition     = var.github_repository == null || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

variable "github_environment" {
  description = "GitHub environment the deploy job runs in; only that environment's tokens may assume the deployment role."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,255}$", var.github_environment))
    error_message = "github_environment must be a GitHub environment name."
  }
}

variable "github_branch" {
  description = "The repository's default branch: only deploy jobs of this branch may assume the deployment role."
  type        = string
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{1,255}$", var.github_branch))
    error_message = "github_branch must be a branch name (no wildcards)."
  }
}

variable "github_readiness_environment" {
  description = "GitHub environment of the readiness workflow (.github/workflows/readiness.yml); only that environment's jobs on github_branch may assume the read-only readiness role, created with the deployment role (github_repository set). null creates no readiness role."
  type        = string
  default     = "readiness"

  validation {
    condition     = var.github_readiness_environment == null || can(regex("^[A-Za-z0-9_.-]{1,255}$", coalesce(var.github_readiness_environment, "-")))
    error_message = "github_readiness_environment must be a GitHub environment name, or null."
  }
}

variable "github_failover_environment" {
  description = "GitHub environment of the evacuate workflow (.github/workflows/evacuate.yml); only that environment's jobs on github_branch may assume the failover role (scale the standby's ECS services, change this cluster's routing controls without overriding a safety rule), created with the deployment role (github_repository set). Give the environment required reviewers. null creates no failover role."
  type        = string
  default     = "failover"

  validation {
    condition     = var.github_failover_environment == null || can(regex("^[A-Za-z0-9_.-]{1,255}$", coalesce(var.github_failover_environment, "-")))
    error_message = "github_failover_environment must be a GitHub environment name, or null."
  }
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC identity provider (false when the account already has one)."
  type        = bool
  default     = true
}

variable "deploy_regions" {
  description = "Regions the deployment role may push images and roll out services in (the regions of the regional roots)."
  type        = list(string)
  default     = ["us-east-1", "us-west-2"]

  validation {
    condition     = alltrue([for r in var.deploy_regions : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", r))])
    error_message = "Each deploy region must be an AWS region name such as us-east-1."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
}
