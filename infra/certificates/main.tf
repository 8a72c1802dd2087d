# Certificates root, applied once before the regional roots: each region's ACM certificate and the one set of DNS
# validation records they share.
#
# ACM asks for the same validation record (CNAME) for a name in every region, so the global hostnames'
# records (externalapi.example.com, ...) are the same for both regions' certificates. Written by both regional
# roots they had two owners, and destroying one region deleted records the other region's certificate needs to
# renew. Here each record has one owner: this root, which outlives the regional roots (destroyed last).

locals {
  global_hostnames = [for l in var.hostname_labels : "${l}.${var.domain_name}"]

  # Every certificate name of every region, each written once. The records come from the first region's
  # certificate where both ask for the name (the global hostnames), else from the region that asks for it.
  names = toset(concat(module.first.names, module.second.names))
  validation_records = merge(
    module.second.validation_records,
    module.first.validation_records,
  )
}

module "first" {
  source    = "../modules/certificate"
  providers = { aws = aws.first }

  name                    = var.name
  region                  = var.regions[0]
  domain_name             = var.domain_name
  hostname_labels         = var.hostname_labels
  validation_record_fqdns = [for n in module.first.names : aws_route53_record.validation[n].fqdn]
}

module "second" {
  source    = "../modules/certificate"
  providers = { aws = aws.second }

  name                    = var.name
  region                  = var.regions[1]
  domain_name             = var.domain_name
  hostname_labels         = var.hostname_labels
  validation_record_fqdns = [for n in module.second.names : aws_route53_record.validation[n].fqdn]
}

resource "aws_route53_record" "validation" {
  provider = aws.first
  for_each = local.names

  zone_id = var.hosted_zone_id
  name    = local.validation_records[each.key].name
  type    = local.validation_records[each.key].type
  records = [local.validation_records[each.key].record]
  ttl     = 300
}

# The one record per global hostname is right for both certificates only while ACM asks both regions for the same
# record. Should it ever differ, say so (the second region's certificate would then not validate).
check "one_validation_record_per_name" {
  assert {
    condition = alltrue([
      for n in local.global_hostnames : try(module.first.validation_records[n] == module.second.validation_records[n], false)
    ])
    error_message = "ACM asks ${var.regions[0]} and ${var.regions[1]} for different validation records of the same name; the second region's certificate cannot validate with the shared records."
  }
}
