# Plans the shipped regions/*.tfvars files offline: terraform test -test-directory=tfvars-tests -var-file=regions/<region>.tfvars
# (kept out of tests/ because plain terraform test runs have no var file).

mock_provider "aws" {
  source = "../tests/mocks"
}

# What infra/certificates would write to certificates.auto.tfvars.json (regions/*.tfvars do not set it).
variables {
  certificate_arns = {
    us-east-1 = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
    us-west-2 = "arn:aws:acm:us-west-2:123456789012:certificate/fedcba98-7654-3210-fedc-ba9876543210"
  }
}

run "tfvars_file_plans" {
  assert {
    condition     = contains(["us-east-1", "us-west-2"], var.region) && alltrue([for az in var.availability_zones : startswith(az, var.region)])
    error_message = "The availability zones must belong to the file's region."
  }

  assert {
    condition     = var.domain_name == "example.com"
    error_message = "The shipped files use example.com."
  }

  assert {
    condition     = alltrue([for app, h in output.regional_hostnames : endswith(h, ".${var.region}.example.com")])
    error_message = "Regional hostnames carry the file's region."
  }

  assert {
    condition     = alltrue([for app, s in output.ecs_services : s.environment["REGION"] == var.region])
    error_message = "Every container gets the file's region as REGION."
  }

  assert {
    condition     = alltrue([for app, s in output.ecs_services : trimsuffix(s.environment["KEEPALIVE_TIMEOUT"], "s") == tostring(var.target_keepalive_timeout)]) && var.target_keepalive_timeout > module.alb.idle_timeout
    error_message = "Every container keeps idle connections open longer than the load balancer (KEEPALIVE_TIMEOUT > idle timeout)."
  }

  assert {
    condition     = toset(keys(output.ecs_services)) == toset(["gateway", "service1", "service2"]) && alltrue([for app, s in output.ecs_services : endswith(s.image, ":${var.image_tag}")])
    error_message = "The file runs the default apps, each starting from its image_tag."
  }
}
