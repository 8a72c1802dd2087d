variable "name" {
  description = "Deployment name (the regional roots' var.name, the global root's cluster_name)."
  type        = string
  default     = "mrapi"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}[a-z0-9]$", var.name))
    error_message = "name must be 3-16 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "regions" {
  description = "The deployment's two regions (those of the regional roots); each gets a certificate."
  type        = list(string)
  default     = ["us-east-1", "us-west-2"]

  validation {
    condition     = length(var.regions) == 2 && length(distinct(var.regions)) == 2 && alltrue([for r in var.regions : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", r))])
    error_message = "regions must name two different AWS regions, such as [\"us-east-1\", \"us-west-2\"]."
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
  description = "ID of the existing public Route 53 hosted zone of domain_name; the validation records are written there."
  type        = string

  validation {
    condition     = can(regex("^Z[A-Z0-9]{1,31}$", var.hosted_zone_id))
    error_message = "hosted_zone_id must be a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ."
  }
}

variable "hostname_labels" {
  description = "First DNS label of each app's hostname; the certificates cover <label>.<domain> and <label>.<region>.<domain>: two names per app on each certificate, at most names_per_certificate."
  type        = list(string)
  default     = ["externalapi", "service1", "service2"]

  validation {
    condition     = length(var.hostname_labels) > 0 && alltrue([for l in var.hostname_labels : can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", l))])
    error_message = "Each hostname label must be a single lowercase DNS label."
  }

  validation {
    condition     = length(distinct(var.hostname_labels)) * 2 <= var.names_per_certificate
    error_message = "${length(distinct(var.hostname_labels))} apps need ${length(distinct(var.hostname_labels)) * 2} names on each certificate (<label>.<domain> and <label>.<region>.<domain>), more than names_per_certificate = ${var.names_per_certificate}. ACM allows 10 domain names per certificate unless the account's quota \"Domain names per ACM Certificate\" was raised (Service Quotas, up to 100): request the increase in every region of regions, then set names_per_certificate to the new quota."
  }
}

variable "names_per_certificate" {
  description = "The account's ACM quota \"Domain names per ACM Certificate\" in the regions: 10 by default; raise it in Service Quotas before a sixth app, then set it here."
  type        = number
  default     = 10

  validation {
    condition     = var.names_per_certificate >= 1 && var.names_per_certificate <= 100 && floor(var.names_per_certificate) == var.names_per_certificate
    error_message = "names_per_certificate must be a whole number between 1 and 100 (ACM's largest quota)."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
}
