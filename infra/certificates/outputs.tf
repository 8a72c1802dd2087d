output "certificate_arns" {
  description = "The validated certificate of each region, keyed by region: the regional root's certificate_arns (infra/README.md)."
  value = {
    (var.regions[0]) = module.first.arn
    (var.regions[1]) = module.second.arn
  }
}

output "certificate_names" {
  description = "Every name each region's certificate covers, keyed by region."
  value = {
    (var.regions[0]) = module.first.names
    (var.regions[1]) = module.second.names
  }
}

output "validation_records" {
  description = "The DNS validation records this root owns, keyed by certificate name: {name, type, record}."
  value       = { for n, r in aws_route53_record.validation : n => { name = r.name, type = r.type, record = one(r.records) } }
}
