# State moves of earlier versions of this root, so that `terraform apply` moves existing objects to their new
# addresses instead of destroying and re-creating them.

# Each app's regional hostname record is keyed by app name (the keys of var.apps), no longer by hostname label. Only
# the gateway's key changes (label externalapi); service1's and service2's labels equal their names.
moved {
  from = module.alb.aws_route53_record.regional["externalapi"]
  to   = module.alb.aws_route53_record.regional["gateway"]
}
