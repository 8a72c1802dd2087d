# Offline tests: the AWS provider is mocked (infra/tests/mocks), nothing is created. Input validation is the
# callers' (the roots' variables.tf): these tests give valid inputs only.

mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name               = "mrapi"
  region             = "us-east-1"
  vpc_id             = "vpc-0123456789abcdef0"
  vpc_cidr           = "10.10.0.0/16"
  public_subnet_ids  = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  domain_name        = "example.com"
  hosted_zone_id     = "Z0123456789ABCDEFGHIJ"
  hostname_labels    = { gateway = "externalapi", service1 = "service1", service2 = "service2" }
  access_logs_bucket = "mrapi-logs-us-east-1-123456789012"
  certificate_arn    = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
}

run "load_balancer" {
  assert {
    condition     = aws_lb.this.drop_invalid_header_fields == true
    error_message = "drop_invalid_header_fields must be true."
  }

  assert {
    condition     = aws_lb.this.enable_deletion_protection == true
    error_message = "Deletion protection is on by default."
  }

  assert {
    condition     = aws_lb.this.access_logs[0].enabled && aws_lb.this.access_logs[0].bucket == "mrapi-logs-us-east-1-123456789012"
    error_message = "Access logs must go to the log bucket."
  }

  assert {
    condition     = aws_lb_listener.https.ssl_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06" && aws_lb_listener.https.protocol == "HTTPS"
    error_message = "The HTTPS listener must use the TLS 1.3 policy."
  }

  assert {
    condition     = aws_lb_listener.http.default_action[0].type == "redirect" && aws_lb_listener.http.default_action[0].redirect[0].protocol == "HTTPS" && aws_lb_listener.http.default_action[0].redirect[0].status_code == "HTTP_301"
    error_message = "HTTP must redirect to HTTPS."
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.targets.from_port == 8080 && aws_vpc_security_group_egress_rule.targets.cidr_ipv4 == "10.10.0.0/16"
    error_message = "The load balancer may only reach port 8080 inside the VPC."
  }
}

run "certificate_and_regional_hostnames" {
  assert {
    condition     = aws_lb_listener.https.certificate_arn == "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
    error_message = "The HTTPS listener serves the region's certificate."
  }

  assert {
    condition     = aws_route53_record.regional["gateway"].name == "externalapi.us-east-1.example.com" && aws_route53_record.regional["service2"].alias[0].name == "mrapi-123456789.us-east-1.elb.amazonaws.com"
    error_message = "Each regional hostname must alias this region's load balancer."
  }

  assert {
    condition     = output.regional_hostnames == { gateway = "externalapi.us-east-1.example.com", service1 = "service1.us-east-1.example.com", service2 = "service2.us-east-1.example.com" }
    error_message = "Regional hostnames are <label>.<region>.<domain>, keyed by app name."
  }
}
