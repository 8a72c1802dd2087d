variable "name" {
  description = "Deployment name; the certificate is tagged Name = <name>-<region>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}[a-z0-9]$", var.name))
    error_message = "name must be 3-16 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region of the certificate (the provider's region); part of the regional hostnames <label>.<region>.<domain>."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
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

variable "hostname_labels" {
  description = "First DNS label of each app's hostname (externalapi, service1, service2)."
  type        = list(string)

  validation {
    condition     = length(var.hostname_labels) > 0 && alltrue([for l in var.hostname_labels : can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", l))])
    error_message = "Each hostname label must be a single lowercase DNS label."
  }
}

variable "validation_record_fqdns" {
  description = "FQDNs of the DNS validation records the caller wrote for this certificate's names; the module waits until ACM has issued the certificate."
  type        = list(string)
}

variable "tags" {
  description = "Tags added to the certificate."
  type        = map(string)
  default     = {}
}
