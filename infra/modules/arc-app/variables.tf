variable "app_name" {
  description = "Name of the app in the cluster document and of its control panel (a key of the global root's apps: external-api, service1, ...)."
  type        = string
}

variable "cluster_arn" {
  description = "ARN of the Route 53 ARC cluster that hosts the app's control panel."
  type        = string
}

variable "domain_name" {
  description = "Domain the hostnames live under, for example example.com."
  type        = string
}

variable "hostname_label" {
  description = "First DNS label of the app's hostname: the failover record is <label>.<domain>, the regional URLs https://<label>.<region>.<domain>."
  type        = string
}

variable "hosted_zone_id" {
  description = "ID of the public Route 53 hosted zone of domain_name."
  type        = string
}

variable "primary_region" {
  description = "Region whose load balancer answers the PRIMARY failover record (its routing control is named <app>-primary-rc)."
  type        = string
}

variable "secondary_region" {
  description = "Region whose load balancer answers the SECONDARY failover record (its routing control is named <app>-secondary-rc)."
  type        = string
}

variable "load_balancers" {
  description = "Regional load balancers keyed by region, each {dns_name, zone_id} (the regional roots' load_balancer output). Must contain the primary and the secondary region."
  type = map(object({
    dns_name = string
    zone_id  = string
  }))
}

variable "ecs_services" {
  description = "The app's ECS service in each region, keyed by region: {cluster, service, target_group_arns} (the cluster document's optional ecs block, docs/cluster.md). A region without an entry gets no ecs block."
  type = map(object({
    cluster           = string
    service           = string
    target_group_arns = list(string)
  }))
  default  = {}
  nullable = false
}

variable "safety_rule_wait_period_ms" {
  description = "Wait period of the assertion safety rule, in milliseconds."
  type        = number
  default     = 5000
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
