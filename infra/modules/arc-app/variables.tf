variable "app_name" {
  description = "Name of the app in the cluster document and of its control panel: external-api, service1 or service2."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.app_name))
    error_message = "app_name must be lowercase letters, digits and hyphens, starting with a letter (at most 32 characters)."
  }
}

variable "cluster_arn" {
  description = "ARN of the Route 53 ARC cluster that hosts the app's control panel."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:route53-recovery-control::[0-9]{12}:cluster/.+$", var.cluster_arn))
    error_message = "cluster_arn must be a Route 53 ARC cluster ARN."
  }
}

variable "domain_name" {
  description = "Domain the hostnames live under, for example example.com."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain_name))
    error_message = "domain_name must be a lowercase DNS name such as example.com."
  }
}

variable "hostname_label" {
  description = "First DNS label of the app's hostname: the failover record is <label>.<domain>, the regional URLs https://<label>.<region>.<domain>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.hostname_label))
    error_message = "hostname_label must be a single lowercase DNS label."
  }
}

variable "hosted_zone_id" {
  description = "ID of the public Route 53 hosted zone of domain_name."
  type        = string

  validation {
    condition     = can(regex("^Z[A-Z0-9]{1,31}$", var.hosted_zone_id))
    error_message = "hosted_zone_id must be a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ."
  }
}

variable "primary_region" {
  description = "Region whose load balancer answers the PRIMARY failover record (its routing control is named <app>-primary-rc)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.primary_region))
    error_message = "primary_region must be an AWS region name such as us-east-1."
  }
}

variable "secondary_region" {
  description = "Region whose load balancer answers the SECONDARY failover record (its routing control is named <app>-secondary-rc)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.secondary_region))
    error_message = "secondary_region must be an AWS region name such as us-west-2."
  }
}

variable "load_balancers" {
  description = "Regional load balancers keyed by region, each {dns_name, zone_id} (the regional roots' load_balancer output). Must contain the primary and the secondary region."
  type = map(object({
    dns_name = string
    zone_id  = string
  }))
}

variable "safety_rule_wait_period_ms" {
  description = "Wait period of the assertion safety rule, in milliseconds."
  type        = number
  default     = 5000

  validation {
    condition     = var.safety_rule_wait_period_ms >= 0 && floor(var.safety_rule_wait_period_ms) == var.safety_rule_wait_period_ms
    error_message = "safety_rule_wait_period_ms must be a non-negative integer."
  }
}

variable "evaluate_target_health" {
  description = "Let the failover records also consider the load balancer's own health (false: the routing controls alone decide)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to the health checks (ARC resources take no tags)."
  type        = map(string)
  default     = {}
}
