# Mocked AWS resources for the certificates root's offline tests: ARN-shaped defaults, and the validation options
# ACM would give for every name of both regions (the same record for a name in every region).

mock_resource "aws_acm_certificate" {
  defaults = {
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
    domain_validation_options = [
      { domain_name = "externalapi.example.com", resource_record_name = "_v0.externalapi.example.com.", resource_record_type = "CNAME", resource_record_value = "_w0.acm-validations.aws." },
      { domain_name = "service1.example.com", resource_record_name = "_v1.service1.example.com.", resource_record_type = "CNAME", resource_record_value = "_w1.acm-validations.aws." },
      { domain_name = "service2.example.com", resource_record_name = "_v2.service2.example.com.", resource_record_type = "CNAME", resource_record_value = "_w2.acm-validations.aws." },
      { domain_name = "externalapi.us-east-1.example.com", resource_record_name = "_v3.externalapi.us-east-1.example.com.", resource_record_type = "CNAME", resource_record_value = "_w3.acm-validations.aws." },
      { domain_name = "service1.us-east-1.example.com", resource_record_name = "_v4.service1.us-east-1.example.com.", resource_record_type = "CNAME", resource_record_value = "_w4.acm-validations.aws." },
      { domain_name = "service2.us-east-1.example.com", resource_record_name = "_v5.service2.us-east-1.example.com.", resource_record_type = "CNAME", resource_record_value = "_w5.acm-validations.aws." },
      { domain_name = "externalapi.us-west-2.example.com", resource_record_name = "_v6.externalapi.us-west-2.example.com.", resource_record_type = "CNAME", resource_record_value = "_w6.acm-validations.aws." },
      { domain_name = "service1.us-west-2.example.com", resource_record_name = "_v7.service1.us-west-2.example.com.", resource_record_type = "CNAME", resource_record_value = "_w7.acm-validations.aws." },
      { domain_name = "service2.us-west-2.example.com", resource_record_name = "_v8.service2.us-west-2.example.com.", resource_record_type = "CNAME", resource_record_value = "_w8.acm-validations.aws." },
    ]
  }
}

mock_resource "aws_acm_certificate_validation" {
  defaults = {
    certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
  }
}
