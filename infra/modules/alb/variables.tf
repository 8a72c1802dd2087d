variable "name" {
  description = "Name of the load balancer and prefix of its security group (lowercase letters, digits and hyphens, at most 28 characters)."
  type        = string
}

variable "region" {
  description = "AWS region of this load balancer; it is part of the regional hostnames <label>.<region>.<domain>."
  type        = string
}

variable "vpc_id" {
  description = "ID of the VPC the load balancer lives in."
  type        = string
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC; the load balancer may only send traffic to targets inside it."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets (at least two, in different availability zones) for the internet-facing load balancer."
  type        = list(string)
}

variable "target_port" {
  description = "Port the targets listen on; the load balancer's security group may only reach this port inside the VPC."
  type        = number
  default     = 8080
}

variable "domain_name" {
  description = "Domain the public hostnames live under, for example example.com."
  type        = string
}

variable "hosted_zone_id" {
  description = "ID of the public Route 53 hosted zone of domain_name (the regional hostnames go there)."
  type        = string
}

variable "hostname_labels" {
  description = "First DNS label of each app's hostname, keyed by app name ({ gateway = \"externalapi\", ... }); each app gets a regional hostname <label>.<region>.<domain>, keyed by its name."
  type        = map(string)
}

variable "certificate_arn" {
  description = "ARN of this region's validated ACM certificate for <label>.<domain> and <label>.<region>.<domain> (infra/certificates output certificate_arns)."
  type        = string
}

variable "ssl_policy" {
  description = "TLS security policy of the HTTPS listener (a TLS 1.3 policy with TLS 1.2 or 1.3 as its minimum, ELBSecurityPolicy-TLS13-1-2-* or -1-3-*)."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "ingress_cidr_blocks" {
  description = "IPv4 ranges allowed to connect to the load balancer on ports 80 and 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "access_logs_bucket" {
  description = "Name of the S3 bucket that receives the load balancer's access logs (its policy must let Elastic Load Balancing write)."
  type        = string
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
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
