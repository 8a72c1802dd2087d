variable "name" {
  description = "Deployment name; the certificate is tagged Name = <name>-<region>."
  type        = string
}

variable "region" {
  description = "Region of the certificate (the provider's region); part of the regional hostnames <label>.<region>.<domain>."
  type        = string
}

variable "domain_name" {
  description = "Domain the public hostnames live under, for example example.com."
  type        = string
}

variable "hostname_labels" {
  description = "First DNS label of each app's hostname (externalapi, service1, service2)."
  type        = list(string)
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
