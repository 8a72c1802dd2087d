# terraform -chdir=infra/region workspace select -or-create us-east-1
# terraform -chdir=infra/region apply -var-file=regions/us-east-1.tfvars
region             = "us-east-1"
availability_zones = ["us-east-1a", "us-east-1b"]
vpc_cidr           = "10.10.0.0/16"

domain_name    = "example.com"
hosted_zone_id = "Z0123456789ABCDEFGHIJ"

egress_mode        = "nat_gateway"
nat_gateway_per_az = true

# Image tag every app's service starts with: the commit SHA whose images are in ECR (the pipeline rolls newer ones
# out). The apps themselves (gateway, service1, service2) are the default of var.apps; an app that should start
# from another tag sets image_tag in its apps entry.
image_tag = "0123456789abcdef0123456789abcdef01234567"

# failover_mode (dns by default) and arc_cluster_json are deliberately not set here: arc mode comes from
# arc.auto.tfvars.json (infra/README.md, "The gateway in arc mode"), and a value in this file, applied with
# -var-file after every *.auto.tfvars, would silently override it. certificate_arns comes from
# certificates.auto.tfvars.json the same way.
