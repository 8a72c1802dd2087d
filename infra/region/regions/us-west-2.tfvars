# terraform -chdir=infra/region workspace select -or-create us-west-2
# terraform -chdir=infra/region apply -var-file=regions/us-west-2.tfvars
region             = "us-west-2"
availability_zones = ["us-west-2a", "us-west-2b"]
vpc_cidr           = "10.20.0.0/16"

domain_name    = "example.com"
hosted_zone_id = "Z0123456789ABCDEFGHIJ"

egress_mode        = "nat_gateway"
nat_gateway_per_az = true

# Image tags the services start with: the commit SHA whose images are in ECR (the pipeline rolls newer ones out).
gateway_image_tag  = "0123456789abcdef0123456789abcdef01234567"
service1_image_tag = "0123456789abcdef0123456789abcdef01234567"
service2_image_tag = "0123456789abcdef0123456789abcdef01234567"

# dns (default) or arc; arc also needs arc_cluster_json, e.g.
#   -var gateway_failover_mode=arc -var "arc_cluster_json=$(terraform -chdir=infra/global output -raw cluster_document)"
gateway_failover_mode = "dns"
