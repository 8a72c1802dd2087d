variable "name" {
  description = "Name of the load balancer and prefix of its security group (lowercase letters, digits and hyphens, at most 28 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,26}[a-z0-9]$", var.name))
    error_message = "name must be 3-28 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "AWS region of this load balancer; it is part of the regional hostnames <label>.<region>.<domain>."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "vpc_id" {
  description = "ID of the VPC the load balancer lives in."
  type        = string
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC; the load balancer may only send traffic to targets inside it."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be a valid IPv4 CIDR block."
  }
}

variable "public_subnet_ids" {
  description = "Public subnets (at least two, in different availability zones) for the internet-facing load balancer."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "An application load balancer needs subnets in at least two availability zones."
  }
}

variable "target_port" {
  description = "Port the targets listen on; the load balancer's security group may only reach this port inside the VPC."
  type        = number
  default     = 8080

  validation {
    condition     = var.target_port >= 1 && var.target_port <= 65535 && floor(var.target_port) == var.target_port
    error_message = "target_port must be an integer between 1 and 65535."
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
  description = "ID of the public Route 53 hosted zone of domain_name (the regional hostnames go there)."
  type        = string

  validation {
    condition     = can(regex("^Z[A-Z0-9]{1,31}$", var.hosted_zone_id))
    error_message = "hosted_zone_id must be a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ."
  }
}

variable "hostname_labels" {
  description = "First DNS label of each app's hostname (externalapi, service1, service2); each gets a regional hostname <label>.<region>.<domain>."
  type        = list(string)

  validation {
    condition     = length(var.hostname_labels) > 0 && alltrue([for l in var.hostname_labels : can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", l))])
    error_message = "Each hostname label must be a single lowercase DNS label."
  }
}

variable "certificate_arn" {
  description = "ARN of this region's validated ACM certificate for <label>.<domain> and <label>.<region>.<domain> (infra/certificates output certificate_arns)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "ssl_policy" {
  description = "TLS security policy of the HTTPS listener; must be a TLS 1.3 policy."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = startswith(var.ssl_policy, "ELBSecurityPolicy-TLS13-")
    error_message = "ssl_policy must be one of the ELBSecurityPolicy-TLS13-* policies."
  }
}

variable "ingress_cidr_blocks" {
  description = "IPv4 ranges allowed to connect to the load balancer on ports 80 and 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.ingress_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "Each ingress range must be a valid IPv4 CIDR block."
  }
}

variable "access_logs_bucket" {
  description = "Name of the S3 bucket that receives the load balancer's access logs (its policy must let Elastic Load Balancing write)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_logs_bucket))
    error_message = "access_logs_bucket must be an S3 bucket name."
  }
}

variable "access_logs_prefix" {
  description = "Key prefix of the access logs inside the bucket."
  type        = string
  default     = "alb"
}

variable "deletion_protection" {
  description = "Turn on deletion protection of the load balancer (set false and apply before destroying)."
  type        = bool
  default     = true
}

variable "idle_timeout" {
  description = "Seconds the load balancer keeps an idle connection open, on the client side and to its targets. Targets must keep idle connections open longer, or the load balancer sends requests on connections they are closing (502)."
  type        = number
  default     = 60

  validation {
    condition     = var.idle_timeout >= 1 && var.idle_timeout <= 4000
    error_message = "idle_timeout must be between 1 and 4000 seconds."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
