output "arn" {
  description = "ARN of the certificate, once validated (the regional root's HTTPS listener uses it)."
  value       = aws_acm_certificate_validation.this.certificate_arn
}

output "names" {
  description = "Every name the certificate covers: <label>.<domain> and <label>.<region>.<domain>."
  value       = local.names
}

output "regional_hostnames" {
  description = "Regional hostname (<label>.<region>.<domain>) of each app, keyed by hostname label."
  value       = local.regional_hostnames
}

output "validation_records" {
  description = "The DNS record ACM asks for, per certificate name: {name, type, record}."
  value = {
    for dvo in aws_acm_certificate.this.domain_validation_options : dvo.domain_name => {
      name   = dvo.resource_record_name
      type   = dvo.resource_record_type
      record = dvo.resource_record_value
    }
  }
}
