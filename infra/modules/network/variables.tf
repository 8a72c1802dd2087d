variable "name" {
  description = "Name prefix for every resource of this network (lowercase letters, digits and hyphens)."
  type        = string
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC, a /16 to /22. Subnets are carved from it with cidrsubnet(vpc_cidr, 4, n)."
  type        = string
}

variable "availability_zones" {
  description = "Availability zones to spread the subnets over (two or three, all in the provider's region)."
  type        = list(string)
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
}

variable "flow_log_destination_arn" {
  description = "ARN of the S3 bucket (or bucket/prefix) that receives the VPC flow logs."
  type        = string
}

variable "flow_log_traffic_type" {
  description = "Which traffic the VPC flow log records: ACCEPT, REJECT or ALL."
  type        = string
  default     = "ALL"
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
