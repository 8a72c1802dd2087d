# One region's ACM certificate for the apps' global hostnames (<label>.<domain>) and this region's regional
# hostnames (<label>.<region>.<domain>), validated by DNS. The validation records themselves belong to the caller
# (infra/certificates writes each record once, for every region's certificate): this module only requests the
# certificate, reports the records ACM asks for, and waits until the given records have validated it.

locals {
  global_hostnames   = [for l in var.hostname_labels : "${l}.${var.domain_name}"]
  regional_hostnames = { for l in var.hostname_labels : l => "${l}.${var.region}.${var.domain_name}" }
  names              = concat(local.global_hostnames, values(local.regional_hostnames))
}

resource "aws_acm_certificate" "this" {
  domain_name               = local.names[0]
  subject_alternative_names = slice(local.names, 1, length(local.names))
  validation_method         = "DNS"

  options {
    certificate_transparency_logging_preference = "ENABLED"
  }

  tags = merge(var.tags, { Name = "${var.name}-${var.region}" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_acm_certificate_validation" "this" {
  certificate_arn         = aws_acm_certificate.this.arn
  validation_record_fqdns = var.validation_record_fqdns
}
