# A plan in a workspace other than its region's is refused: infra/test.sh runs this file in the default workspace
# and, with TF_WORKSPACE, in another region's workspace (terraform test -test-directory=workspace-tests). Planned
# against us-west-2's state, regions/us-east-1.tfvars would replace that region's IAM roles, DNS records,
# repositories and log bucket.

mock_provider "aws" {
  source = "../tests/mocks"
}

variables {
  region             = "us-east-1"
  availability_zones = ["us-east-1a", "us-east-1b"]
  domain_name        = "example.com"
  hosted_zone_id     = "Z0123456789ABCDEFGHIJ"
  image_tag          = "0123456789abcdef0123456789abcdef01234567"
  certificate_arns = {
    us-east-1 = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
    us-west-2 = "arn:aws:acm:us-west-2:123456789012:certificate/fedcba98-7654-3210-fedc-ba9876543210"
  }
}

run "refuses_a_workspace_that_is_not_the_region" {
  command = plan

  assert {
    condition     = terraform.workspace != var.region
    error_message = "Run this file in a workspace other than us-east-1 (default, or TF_WORKSPACE=us-west-2)."
  }

  expect_failures = [var.region]
}
