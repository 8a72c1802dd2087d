# The README's arc-mode step, offline: infra/test.sh runs the step's own command that writes arc.auto.tfvars.json
# (with cluster.json beside this file as the global root's output) in a scratch copy of this root, then plans
# each regions/*.tfvars file exactly as the step applies it (-var-file=regions/<region>.tfvars):
#   terraform test -test-directory=arc-tests -var-file=regions/<region>.tfvars
# The apply stage (infra/apply-test.sh) does the same against emulators and checks the plan's change.

mock_provider "aws" {
  source = "../tests/mocks"
}

# What infra/certificates would write to certificates.auto.tfvars.json.
variables {
  certificate_arns = {
    us-east-1 = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
    us-west-2 = "arn:aws:acm:us-west-2:123456789012:certificate/fedcba98-7654-3210-fedc-ba9876543210"
  }
}

run "readme_arc_mode_step_switches_the_gateway" {
  command = plan

  assert {
    condition     = output.ecs_services["gateway"].failover_mode == "arc"
    error_message = "With the README's arc.auto.tfvars.json and -var-file=regions/<region>.tfvars, the gateway must run in arc mode (a value in the var file would override the auto file)."
  }

  assert {
    condition     = output.ecs_services["gateway"].environment["GATEWAY_FAILOVER_MODE"] == "arc" && !contains(keys(output.ecs_services["gateway"].environment), "SERVICE1_URL")
    error_message = "The gateway's task definition gets the arc environment."
  }

  assert {
    condition     = jsondecode(output.ecs_services["gateway"].environment["ARC_CLUSTER_JSON"]).cluster_arn == "arn:aws:route53-recovery-control::123456789012:cluster/0123abcd"
    error_message = "The gateway gets the cluster document the step wrote."
  }

  assert {
    condition     = length(jsondecode(output.ecs_services["gateway"].task_role_policy).Statement[0].Resource) == 4
    error_message = "The gateway's task role may read service1's and service2's four routing controls."
  }
}
