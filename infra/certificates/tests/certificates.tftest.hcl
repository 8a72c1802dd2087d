# Offline tests of the certificates root: the AWS providers are mocked (infra/tests/mocks), nothing is created.

mock_provider "aws" {
  alias  = "first"
  source = "../tests/mocks"
}

mock_provider "aws" {
  alias  = "second"
  source = "../tests/mocks"
}

override_resource {
  target = module.second.aws_acm_certificate.this
  values = {
    arn = "arn:aws:acm:us-west-2:123456789012:certificate/fedcba98-7654-3210-fedc-ba9876543210"
    domain_validation_options = [
      { domain_name = "externalapi.example.com", resource_record_name = "_v0.externalapi.example.com.", resource_record_type = "CNAME", resource_record_value = "_w0.acm-validations.aws." },
      { domain_name = "service1.example.com", resource_record_name = "_v1.service1.example.com.", resource_record_type = "CNAME", resource_record_value = "_w1.acm-validations.aws." },
      { domain_name = "service2.example.com", resource_record_name = "_v2.service2.example.com.", resource_record_type = "CNAME", resource_record_value = "_w2.acm-validations.aws." },
      { domain_name = "externalapi.us-west-2.example.com", resource_record_name = "_v6.externalapi.us-west-2.example.com.", resource_record_type = "CNAME", resource_record_value = "_w6.acm-validations.aws." },
      { domain_name = "service1.us-west-2.example.com", resource_record_name = "_v7.service1.us-west-2.example.com.", resource_record_type = "CNAME", resource_record_value = "_w7.acm-validations.aws." },
      { domain_name = "service2.us-west-2.example.com", resource_record_name = "_v8.service2.us-west-2.example.com.", resource_record_type = "CNAME", resource_record_value = "_w8.acm-validations.aws." },
    ]
  }
}

# Every input the assertions depend on is set here, so a local terraform.tfvars cannot change the outcome.
variables {
  name            = "mrapi"
  regions         = ["us-east-1", "us-west-2"]
  domain_name     = "example.com"
  hosted_zone_id  = "Z0123456789ABCDEFGHIJ"
  hostname_labels = ["externalapi", "service1", "service2"]
}

run "one_record_per_name" {
  assert {
    condition = output.certificate_names == {
      us-east-1 = ["externalapi.example.com", "service1.example.com", "service2.example.com", "externalapi.us-east-1.example.com", "service1.us-east-1.example.com", "service2.us-east-1.example.com"]
      us-west-2 = ["externalapi.example.com", "service1.example.com", "service2.example.com", "externalapi.us-west-2.example.com", "service1.us-west-2.example.com", "service2.us-west-2.example.com"]
    }
    error_message = "Each region's certificate covers the global hostnames and that region's regional hostnames."
  }

  # 3 global names (asked for by both certificates) + 3 regional names per region, each written once.
  assert {
    condition     = length(aws_route53_record.validation) == 9 && toset(keys(aws_route53_record.validation)) == toset(flatten(values(output.certificate_names)))
    error_message = "Every certificate name of both regions has exactly one validation record."
  }

  assert {
    condition     = alltrue([for r in aws_route53_record.validation : !r.allow_overwrite])
    error_message = "No record is written by two owners: allow_overwrite stays off."
  }

  assert {
    condition     = aws_route53_record.validation["service1.example.com"].name == "_v1.service1.example.com." && aws_route53_record.validation["service1.example.com"].records == toset(["_w1.acm-validations.aws."]) && aws_route53_record.validation["service1.example.com"].type == "CNAME"
    error_message = "Validation records come from the certificates' validation options."
  }

  assert {
    condition     = aws_route53_record.validation["service2.us-west-2.example.com"].name == "_v8.service2.us-west-2.example.com."
    error_message = "The second region's regional names get their records too."
  }

  assert {
    condition     = alltrue([for r in aws_route53_record.validation : r.zone_id == "Z0123456789ABCDEFGHIJ"])
    error_message = "The records go into the hosted zone."
  }

  assert {
    condition = output.certificate_arns == {
      us-east-1 = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
      us-west-2 = "arn:aws:acm:us-west-2:123456789012:certificate/fedcba98-7654-3210-fedc-ba9876543210"
    }
    error_message = "certificate_arns maps each region to its own validated certificate (the regional roots' input)."
  }

  assert {
    condition     = toset(module.first.names) == toset([for n in module.first.names : n if contains(keys(aws_route53_record.validation), n)])
    error_message = "The first region's certificate waits for a record of each of its names."
  }
}

# Should ACM ever ask the two regions for different records of one name, the check says so.
run "different_records_per_region_warn" {
  state_key = "different_records"

  override_resource {
    target = module.second.aws_acm_certificate.this
    values = {
      arn = "arn:aws:acm:us-west-2:123456789012:certificate/fedcba98-7654-3210-fedc-ba9876543210"
      domain_validation_options = [
        { domain_name = "externalapi.example.com", resource_record_name = "_x0.externalapi.example.com.", resource_record_type = "CNAME", resource_record_value = "_y0.acm-validations.aws." },
        { domain_name = "service1.example.com", resource_record_name = "_v1.service1.example.com.", resource_record_type = "CNAME", resource_record_value = "_w1.acm-validations.aws." },
        { domain_name = "service2.example.com", resource_record_name = "_v2.service2.example.com.", resource_record_type = "CNAME", resource_record_value = "_w2.acm-validations.aws." },
        { domain_name = "externalapi.us-west-2.example.com", resource_record_name = "_v6.externalapi.us-west-2.example.com.", resource_record_type = "CNAME", resource_record_value = "_w6.acm-validations.aws." },
        { domain_name = "service1.us-west-2.example.com", resource_record_name = "_v7.service1.us-west-2.example.com.", resource_record_type = "CNAME", resource_record_value = "_w7.acm-validations.aws." },
        { domain_name = "service2.us-west-2.example.com", resource_record_name = "_v8.service2.us-west-2.example.com.", resource_record_type = "CNAME", resource_record_value = "_w8.acm-validations.aws." },
      ]
    }
  }

  expect_failures = [check.one_validation_record_per_name]
}

run "rejects_bad_inputs" {
  command = plan

  variables {
    regions     = ["us-east-1", "us-east-1"]
    domain_name = "Example.COM"
  }

  expect_failures = [var.regions, var.domain_name]
}

# ACM's default quota is 10 names per certificate: five apps fit (two names each), a sixth does not.
run "rejects_a_sixth_app_over_the_acm_quota" {
  command = plan

  variables {
    hostname_labels = ["externalapi", "service1", "service2", "orders", "billing", "search"]
  }

  expect_failures = [var.hostname_labels]
}
