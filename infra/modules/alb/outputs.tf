output "arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "arn_suffix" {
  description = "ARN suffix of the load balancer (CloudWatch dimension, request-count scaling label)."
  value       = aws_lb.this.arn_suffix
}

output "dns_name" {
  description = "DNS name of the load balancer (the alias target of the global failover records)."
  value       = aws_lb.this.dns_name
}

output "zone_id" {
  description = "Canonical hosted zone ID of the load balancer (the alias zone of the global failover records)."
  value       = aws_lb.this.zone_id
}

output "security_group_id" {
  description = "ID of the load balancer's security group; app tasks allow their port from it."
  value       = aws_security_group.alb.id
}

output "https_listener_arn" {
  description = "ARN of the HTTPS listener; apps attach their host-header rules to it."
  value       = aws_lb_listener.https.arn
}

output "http_listener_arn" {
  description = "ARN of the HTTP listener (redirects to HTTPS)."
  value       = aws_lb_listener.http.arn
}

output "certificate_arn" {
  description = "ARN of the HTTPS listener's certificate."
  value       = aws_lb_listener.https.certificate_arn
}

output "regional_hostnames" {
  description = "Regional hostname (<label>.<region>.<domain>) of each app, keyed by app name."
  value       = local.regional_hostnames
}

output "idle_timeout" {
  description = "Seconds the load balancer keeps an idle connection open; targets must keep theirs open longer."
  value       = aws_lb.this.idle_timeout
}
