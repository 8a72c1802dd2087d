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
  description = "First DNS label of each app's hostname; the certificates cover <label>.<domain> and <label>.<region>.<domain>."
  type        = list(string)
  default     = ["externalapi", "service1", "service2"]

  validation {
    condition     = length(var.hostname_labels) > 0 && alltrue([for l in var.hostname_labels : can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", l))])
    error_message = "Each hostname label must be a single lowercase DNS label."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
}
