# Offline tests: the AWS provider is mocked, nothing is created.

mock_provider "aws" {
  mock_resource "aws_acm_certificate" {
    defaults = {
      arn = "arn:aws:acm:us-west-2:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
      domain_validation_options = [
        { domain_name = "externalapi.example.com", resource_record_name = "_a1.externalapi.example.com.", resource_record_type = "CNAME", resource_record_value = "_b1.acm-validations.aws." },
        { domain_name = "service1.us-west-2.example.com", resource_record_name = "_a5.service1.us-west-2.example.com.", resource_record_type = "CNAME", resource_record_value = "_b5.acm-validations.aws." },
      ]
    }
  }
}

variables {
  name                    = "mrapi"
  region                  = "us-west-2"
  domain_name             = "example.com"
  hostname_labels         = ["externalapi", "service1", "service2"]
  validation_record_fqdns = ["_a1.externalapi.example.com", "_a5.service1.us-west-2.example.com"]
}

run "certificate" {
  assert {
    condition = output.names == [
      "externalapi.example.com", "service1.example.com", "service2.example.com",
      "externalapi.us-west-2.example.com", "service1.us-west-2.example.com", "service2.us-west-2.example.com",
    ]
    error_message = "The certificate covers the global and this region's regional hostnames."
  }

  assert {
    condition     = aws_acm_certificate.this.validation_method == "DNS" && aws_acm_certificate.this.domain_name == "externalapi.example.com"
    error_message = "DNS validation, the first global hostname as the certificate's name."
  }

  assert {
    condition     = output.validation_records["service1.us-west-2.example.com"] == { name = "_a5.service1.us-west-2.example.com.", type = "CNAME", record = "_b5.acm-validations.aws." }
    error_message = "validation_records reports what ACM asks for, per name."
  }

  assert {
    condition     = toset(aws_acm_certificate_validation.this.validation_record_fqdns) == toset(["_a1.externalapi.example.com", "_a5.service1.us-west-2.example.com"])
    error_message = "The validation waits for the records the caller wrote."
  }

  assert {
    condition     = output.arn == "arn:aws:acm:us-west-2:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
    error_message = "arn is the validated certificate's."
  }
}
