variable "name" {
  description = "App name (a key of the regional root's apps); also the container name, the binary (/<name>) and the ECS service name."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of the task family, roles, log group and target group names (the deployment's name)."
  type        = string
}

variable "region" {
  description = "AWS region the service runs in (awslogs region)."
  type        = string
}

variable "cluster_arn" {
  description = "ARN of the ECS cluster the service runs in."
  type        = string
}

variable "vpc_id" {
  description = "ID of the VPC of the target group and the task security group."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets the tasks run in (no public IP is assigned)."
  type        = list(string)
}

variable "alb_security_group_id" {
  description = "Security group of the load balancer; the only source allowed to reach the container port."
  type        = string
}

variable "https_listener_arn" {
  description = "ARN of the load balancer's HTTPS listener the host-header rule is attached to."
  type        = string
}

variable "alb_arn_suffix" {
  description = "ARN suffix of the load balancer, for the request-count-per-target scaling policy."
  type        = string
}

variable "listener_rule_priority" {
  description = "Priority of this app's host-header rule on the HTTPS listener (unique per listener)."
  type        = number
}

variable "host_headers" {
  description = "Hostnames routed to this app (the global hostname and the regional one). At most five."
  type        = list(string)
}

variable "image_repository_url" {
  description = "ECR repository URL of the app's image (without tag)."
  type        = string
}

variable "image_tag" {
  description = "Image tag to run (the pipeline tags images with the commit SHA)."
  type        = string
}

variable "ecr_repository_arn" {
  description = "ARN of the app's ECR repository; the execution role may pull from it only."
  type        = string
}

variable "container_port" {
  description = "Port the app listens on (PORT) and the load balancer forwards to."
  type        = number
  default     = 8080
}

variable "additional_container_ports" {
  description = "Other ports the container exposes but the load balancer does not route (the gateway's metrics port 9090)."
  type        = list(number)
  default     = []
}

variable "health_check_path" {
  description = "HTTP path the target group probes."
  type        = string
  default     = "/health"
}

variable "environment" {
  description = "Environment variables of the container besides REGION and PORT, which are always set."
  type        = map(string)
  default     = {}
}

variable "cpu" {
  description = "Task CPU units (256 = 0.25 vCPU)."
  type        = number
  default     = 256
}

variable "memory" {
  description = "Task memory in MiB (must be a valid Fargate combination with cpu)."
  type        = number
  default     = 512
}

variable "cpu_architecture" {
  description = "CPU architecture of the image: X86_64 or ARM64."
  type        = string
  default     = "X86_64"
}

variable "desired_count" {
  description = "Number of tasks at creation; autoscaling owns it afterwards."
  type        = number
  default     = 2
}

variable "min_capacity" {
  description = "Autoscaling minimum number of tasks, registered at creation and whenever min_capacity or max_capacity changes; a change made outside Terraform (an evacuation's scale step) is kept otherwise."
  type        = number
  default     = 2
}

variable "max_capacity" {
  description = "Autoscaling maximum number of tasks, registered like min_capacity."
  type        = number
  default     = 6
}

variable "cpu_target_percent" {
  description = "Target average CPU utilisation of the CPU scaling policy."
  type        = number
  default     = 60
}

variable "requests_per_target" {
  description = "Target load balancer requests per task per minute of the request-count scaling policy."
  type        = number
  default     = 1000
}

variable "stop_timeout" {
  description = "Seconds ECS waits after SIGTERM before SIGKILL; longer than the app's drain deadline (the gateway drains for up to 25 s)."
  type        = number
  default     = 30
}

variable "deregistration_delay" {
  description = "Seconds the target group keeps a deregistering task for its in-flight requests. ECS deregisters a task before it sends SIGTERM, so this bounds every request in flight when a task leaves (deployments, scale-in): at least the app's longest response and its drain timeout."
  type        = number
  default     = 30
}

variable "health_check_grace_period" {
  description = "Seconds after a task starts during which failing load balancer health checks are ignored."
  type        = number
  default     = 30
}

variable "log_retention_days" {
  description = "Retention of the app's CloudWatch log group, in days."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the log group."
  type        = string
}

variable "egress_cidr_blocks" {
  description = "IPv4 ranges the tasks may open HTTPS connections to (ECR, CloudWatch Logs, upstream hostnames, the ARC cluster)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "task_role_policy_json" {
  description = "IAM policy document (JSON) for the task role, or null for a task role without permissions."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
