# Offline tests: the AWS provider is mocked (infra/tests/mocks), nothing is created. Input validation is the
# callers' (the roots' variables.tf): these tests give valid inputs only.

mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name                    = "mrapi"
  region                  = "us-east-1"
  domain_name             = "example.com"
  hostname_labels         = ["externalapi", "service1", "service2"]
  validation_record_fqdns = ["_v0.externalapi.example.com", "_v4.service1.us-east-1.example.com"]
}

run "certificate" {
  assert {
    condition = output.names == [
      "externalapi.example.com", "service1.example.com", "service2.example.com",
      "externalapi.us-east-1.example.com", "service1.us-east-1.example.com", "service2.us-east-1.example.com",
    ]
    error_message = "The certificate covers the global and this region's regional hostnames."
  }

  assert {
    condition     = aws_acm_certificate.this.validation_method == "DNS" && aws_acm_certificate.this.domain_name == "externalapi.example.com"
    error_message = "DNS validation, the first global hostname as the certificate's name."
  }

  assert {
    condition     = output.validation_records["service1.us-east-1.example.com"] == { name = "_v4.service1.us-east-1.example.com.", type = "CNAME", record = "_w4.acm-validations.aws." }
    error_message = "validation_records reports what ACM asks for, per name."
  }

  assert {
    condition     = toset(aws_acm_certificate_validation.this.validation_record_fqdns) == toset(["_v0.externalapi.example.com", "_v4.service1.us-east-1.example.com"])
    error_message = "The validation waits for the records the caller wrote."
  }

  assert {
    condition     = output.arn == "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
    error_message = "arn is the validated certificate's."
  }
}
