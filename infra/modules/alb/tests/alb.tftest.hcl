# Offline tests: the AWS provider is mocked, nothing is created.

mock_provider "aws" {
  mock_resource "aws_lb" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/mrapi/0123456789abcdef"
      arn_suffix = "app/mrapi/0123456789abcdef"
      dns_name   = "mrapi-123456789.us-east-1.elb.amazonaws.com"
      zone_id    = "Z35SXDOTRQ7X7K"
    }
  }

  mock_resource "aws_lb_listener" {
    defaults = {
      arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/mrapi/0123456789abcdef/0123456789abcdef"
    }
  }

  mock_resource "aws_security_group" {
    defaults = {
      arn = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0"
    }
  }

  mock_resource "aws_vpc_security_group_egress_rule" {
    defaults = {
      arn = "arn:aws:ec2:us-east-1:123456789012:security-group-rule/sgr-0fedcba9876543210"
    }
  }

  mock_resource "aws_vpc_security_group_ingress_rule" {
    defaults = {
      arn = "arn:aws:ec2:us-east-1:123456789012:security-group-rule/sgr-0123456789abcdef0"
    }
  }
}

variables {
  name               = "mrapi"
  region             = "us-east-1"
  vpc_id             = "vpc-0123456789abcdef0"
  vpc_cidr           = "10.10.0.0/16"
  public_subnet_ids  = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  domain_name        = "example.com"
  hosted_zone_id     = "Z0123456789ABCDEFGHIJ"
  hostname_labels    = ["externalapi", "service1", "service2"]
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
    condition     = aws_route53_record.regional["service2"].name == "service2.us-east-1.example.com" && aws_route53_record.regional["service2"].alias[0].name == "mrapi-123456789.us-east-1.elb.amazonaws.com"
    error_message = "Each regional hostname must alias this region's load balancer."
  }

  assert {
    condition     = output.regional_hostnames["externalapi"] == "externalapi.us-east-1.example.com"
    error_message = "Regional hostnames are <label>.<region>.<domain>."
  }
}

run "rejects_weak_tls_policy" {
  command = plan

  variables {
    ssl_policy      = "ELBSecurityPolicy-2016-08"
    region          = "useast1"
    certificate_arn = "arn:aws:iam::123456789012:server-certificate/mrapi"
  }

  expect_failures = [var.ssl_policy, var.region, var.certificate_arn]
}
