variable "name" {
  description = "Name prefix for every resource of this network (lowercase letters, digits and hyphens)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC, a /16 to /22. Subnets are carved from it with cidrsubnet(vpc_cidr, 4, n)."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 22
    error_message = "vpc_cidr must be a valid IPv4 CIDR block with a prefix length between /16 and /22."
  }
}

variable "availability_zones" {
  description = "Availability zones to spread the subnets over (two or three, all in the provider's region)."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3 && length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "Give two or three distinct availability zones."
  }

  validation {
    condition     = alltrue([for az in var.availability_zones : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9][a-z]$", az))])
    error_message = "Each availability zone must look like us-east-1a."
  }
}

variable "egress_mode" {
  description = <<-EOT
    How tasks in the private subnets reach AWS APIs and the internet:
    "nat_gateway" (NAT gateways only), "vpc_endpoints" (interface endpoints for ECR api/dkr and CloudWatch Logs, no
    internet access at all) or "nat_gateway_and_vpc_endpoints" (both: AWS API traffic stays on endpoints, everything
    else leaves by NAT). The S3 gateway endpoint is always created because it is free.
  EOT
  type        = string
  default     = "nat_gateway"

  validation {
    condition     = contains(["nat_gateway", "vpc_endpoints", "nat_gateway_and_vpc_endpoints"], var.egress_mode)
    error_message = "egress_mode must be one of nat_gateway, vpc_endpoints, nat_gateway_and_vpc_endpoints."
  }
}

variable "nat_gateway_per_az" {
  description = "Create one NAT gateway per availability zone (true, survives the loss of one zone) or a single shared one (false, cheaper)."
  type        = bool
  default     = true
}

variable "interface_endpoint_services" {
  description = "Service name suffixes (after com.amazonaws.<region>.) of the interface endpoints created when egress_mode uses VPC endpoints."
  type        = list(string)
  default     = ["ecr.api", "ecr.dkr", "logs"]

  validation {
    condition     = alltrue([for s in var.interface_endpoint_services : can(regex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$", s))])
    error_message = "Each endpoint service must be a short service name such as ecr.api or logs."
  }
}

variable "flow_log_destination_arn" {
  description = "ARN of the S3 bucket (or bucket/prefix) that receives the VPC flow logs."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]+(/.*)?$", var.flow_log_destination_arn))
    error_message = "flow_log_destination_arn must be an S3 bucket ARN such as arn:aws:s3:::my-bucket/vpc-flow-logs/."
  }
}

variable "flow_log_traffic_type" {
  description = "Which traffic the VPC flow log records: ACCEPT, REJECT or ALL."
  type        = string
  default     = "ALL"

  validation {
    condition     = contains(["ACCEPT", "REJECT", "ALL"], var.flow_log_traffic_type)
    error_message = "flow_log_traffic_type must be ACCEPT, REJECT or ALL."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
