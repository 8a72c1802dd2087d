output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "IDs of the public subnets (load balancer, NAT gateways), in availability-zone order."
  value       = [for az in var.availability_zones : aws_subnet.public[az].id]
}

output "private_subnet_ids" {
  description = "IDs of the private subnets (ECS tasks), in availability-zone order."
  value       = [for az in var.availability_zones : aws_subnet.private[az].id]
}

output "private_route_table_ids" {
  description = "IDs of the private route tables, keyed by availability zone."
  value       = { for az, rt in aws_route_table.private : az => rt.id }
}

output "nat_gateway_ids" {
  description = "IDs of the NAT gateways, keyed by availability zone (empty when egress_mode is vpc_endpoints)."
  value       = { for az, nat in aws_nat_gateway.this : az => nat.id }
}

output "nat_public_ips" {
  description = "Public IPv4 addresses the tasks' internet traffic leaves from (empty without NAT gateways)."
  value       = [for eip in aws_eip.nat : eip.public_ip]
}

output "has_internet_egress" {
  description = "True when the private subnets have a route to the internet (a NAT gateway)."
  value       = local.use_nat
}

output "interface_endpoint_ids" {
  description = "IDs of the interface VPC endpoints, keyed by service (empty when egress_mode is nat_gateway)."
  value       = { for svc, ep in aws_vpc_endpoint.interface : svc => ep.id }
}

output "s3_gateway_endpoint_id" {
  description = "ID of the S3 gateway endpoint."
  value       = aws_vpc_endpoint.s3.id
}
