# Offline tests: the AWS provider is mocked (infra/tests/mocks), nothing is created. Input validation is the
# callers' (the roots' variables.tf): these tests give valid inputs only.

mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name                     = "mrapi"
  vpc_cidr                 = "10.10.0.0/16"
  availability_zones       = ["us-east-1a", "us-east-1b"]
  flow_log_destination_arn = "arn:aws:s3:::mrapi-logs/vpc-flow-logs/"
}

run "nat_gateway_per_az" {
  assert {
    condition     = length(aws_subnet.private) == 2 && length(aws_subnet.public) == 2
    error_message = "Expected two public and two private subnets."
  }

  assert {
    condition     = alltrue([for s in aws_subnet.private : !s.map_public_ip_on_launch])
    error_message = "Private subnets must not assign public IPs."
  }

  assert {
    condition     = aws_subnet.private["us-east-1a"].cidr_block == "10.10.128.0/20" && aws_subnet.public["us-east-1b"].cidr_block == "10.10.16.0/20"
    error_message = "Subnet CIDRs are not carved as documented."
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 2 && length(aws_route.private_nat) == 2
    error_message = "Expected one NAT gateway and one default route per zone."
  }

  assert {
    condition     = length(aws_vpc_endpoint.interface) == 0
    error_message = "nat_gateway mode must not create interface endpoints."
  }

  assert {
    condition     = aws_vpc_endpoint.s3.vpc_endpoint_type == "Gateway" && aws_vpc_endpoint.s3.service_name == "com.amazonaws.us-east-1.s3"
    error_message = "The S3 gateway endpoint is always created."
  }

  assert {
    condition     = aws_flow_log.this.log_destination_type == "s3" && aws_flow_log.this.traffic_type == "ALL"
    error_message = "VPC flow logs must go to S3."
  }

  assert {
    condition     = output.has_internet_egress
    error_message = "NAT mode has internet egress."
  }
}

run "single_nat_gateway" {
  variables {
    nat_gateway_per_az = false
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_route.private_nat) == 2
    error_message = "Expected one shared NAT gateway routed from both private route tables."
  }
}

run "vpc_endpoints_only" {
  variables {
    egress_mode = "vpc_endpoints"
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 0 && length(aws_route.private_nat) == 0 && length(aws_eip.nat) == 0
    error_message = "vpc_endpoints mode must not create NAT gateways."
  }

  assert {
    condition     = toset(keys(aws_vpc_endpoint.interface)) == toset(["ecr.api", "ecr.dkr", "logs"])
    error_message = "Expected interface endpoints for ECR api, ECR dkr and CloudWatch Logs."
  }

  assert {
    condition     = alltrue([for ep in aws_vpc_endpoint.interface : ep.private_dns_enabled && ep.vpc_endpoint_type == "Interface"])
    error_message = "Interface endpoints need private DNS."
  }

  assert {
    condition     = !output.has_internet_egress
    error_message = "vpc_endpoints mode has no internet egress."
  }
}

run "both" {
  variables {
    egress_mode = "nat_gateway_and_vpc_endpoints"
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 2 && length(aws_vpc_endpoint.interface) == 3
    error_message = "Both NAT gateways and interface endpoints are expected."
  }
}
