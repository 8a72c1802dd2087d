variable "name" {
  description = "App name; also the container name, the binary (/<name>) and the ECS service name: gateway, service1 or service2."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "name_prefix" {
  description = "Prefix of the task family, roles, log group and target group names (the deployment's name)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-16 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "AWS region the service runs in (awslogs region)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "cluster_arn" {
  description = "ARN of the ECS cluster the service runs in."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/.+$", var.cluster_arn))
    error_message = "cluster_arn must be an ECS cluster ARN."
  }
}

variable "vpc_id" {
  description = "ID of the VPC of the target group and the task security group."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets the tasks run in (no public IP is assigned)."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "Give private subnets in at least two availability zones."
  }
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

  validation {
    condition     = var.listener_rule_priority >= 1 && var.listener_rule_priority <= 50000
    error_message = "listener_rule_priority must be between 1 and 50000."
  }
}

variable "host_headers" {
  description = "Hostnames routed to this app (the global hostname and the regional one). At most five."
  type        = list(string)

  validation {
    condition     = length(var.host_headers) >= 1 && length(var.host_headers) <= 5
    error_message = "Give one to five host headers."
  }
}

variable "image_repository_url" {
  description = "ECR repository URL of the app's image (without tag)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[a-z0-9._/-]+$", var.image_repository_url))
    error_message = "image_repository_url must be an ECR repository URL."
  }
}

variable "image_tag" {
  description = "Image tag to run (the pipeline tags images with the commit SHA)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid image tag."
  }
}

variable "ecr_repository_arn" {
  description = "ARN of the app's ECR repository; the execution role may pull from it only."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/.+$", var.ecr_repository_arn))
    error_message = "ecr_repository_arn must be an ECR repository ARN."
  }
}

variable "container_port" {
  description = "Port the app listens on (PORT) and the load balancer forwards to."
  type        = number
  default     = 8080

  validation {
    condition     = var.container_port >= 1 && var.container_port <= 65535 && floor(var.container_port) == var.container_port
    error_message = "container_port must be an integer between 1 and 65535."
  }
}

variable "additional_container_ports" {
  description = "Other ports the container exposes but the load balancer does not route (the gateway's metrics port 9090)."
  type        = list(number)
  default     = []

  validation {
    condition     = alltrue([for p in var.additional_container_ports : p >= 1 && p <= 65535 && floor(p) == p])
    error_message = "Each port must be an integer between 1 and 65535."
  }
}

variable "health_check_path" {
  description = "HTTP path the target group probes."
  type        = string
  default     = "/health"

  validation {
    condition     = startswith(var.health_check_path, "/")
    error_message = "health_check_path must start with /."
  }
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

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "cpu must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "memory" {
  description = "Task memory in MiB (must be a valid Fargate combination with cpu)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory >= 512 && var.memory <= 122880
    error_message = "memory must be between 512 and 122880 MiB."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the image: X86_64 or ARM64."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "desired_count" {
  description = "Number of tasks at creation; autoscaling owns it afterwards."
  type        = number
  default     = 2

  validation {
    condition     = var.desired_count >= 0 && floor(var.desired_count) == var.desired_count
    error_message = "desired_count must be a non-negative integer."
  }
}

variable "min_capacity" {
  description = "Autoscaling minimum number of tasks."
  type        = number
  default     = 2

  validation {
    condition     = var.min_capacity >= 0 && floor(var.min_capacity) == var.min_capacity
    error_message = "min_capacity must be a non-negative integer."
  }
}

variable "max_capacity" {
  description = "Autoscaling maximum number of tasks."
  type        = number
  default     = 6

  validation {
    condition     = var.max_capacity >= 1 && floor(var.max_capacity) == var.max_capacity
    error_message = "max_capacity must be a positive integer."
  }
}

variable "cpu_target_percent" {
  description = "Target average CPU utilisation of the CPU scaling policy."
  type        = number
  default     = 60

  validation {
    condition     = var.cpu_target_percent > 0 && var.cpu_target_percent <= 100
    error_message = "cpu_target_percent must be between 1 and 100."
  }
}

variable "requests_per_target" {
  description = "Target load balancer requests per task per minute of the request-count scaling policy."
  type        = number
  default     = 1000

  validation {
    condition     = var.requests_per_target > 0
    error_message = "requests_per_target must be positive."
  }
}

variable "stop_timeout" {
  description = "Seconds ECS waits after SIGTERM before SIGKILL; longer than the app's drain deadline (the gateway drains for up to 25 s)."
  type        = number
  default     = 30

  validation {
    condition     = var.stop_timeout >= 2 && var.stop_timeout <= 120
    error_message = "stop_timeout must be between 2 and 120 seconds (the Fargate maximum)."
  }
}

variable "deregistration_delay" {
  description = "Seconds the target group keeps a deregistering task for in-flight requests."
  type        = number
  default     = 10

  validation {
    condition     = var.deregistration_delay >= 0 && var.deregistration_delay <= 3600
    error_message = "deregistration_delay must be between 0 and 3600 seconds."
  }
}

variable "health_check_grace_period" {
  description = "Seconds after a task starts during which failing load balancer health checks are ignored."
  type        = number
  default     = 30

  validation {
    condition     = var.health_check_grace_period >= 0 && var.health_check_grace_period <= 2147483647
    error_message = "health_check_grace_period must be non-negative."
  }
}

variable "log_retention_days" {
  description = "Retention of the app's CloudWatch log group, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "egress_cidr_blocks" {
  description = "IPv4 ranges the tasks may open HTTPS connections to (ECR, CloudWatch Logs, upstream hostnames, the ARC cluster)."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.egress_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "Each egress range must be a valid IPv4 CIDR block."
  }
}

variable "task_role_policy_json" {
  description = "IAM policy document (JSON) for the task role, or null for a task role without permissions."
  type        = string
  default     = null

  validation {
    condition     = var.task_role_policy_json == null || can(jsondecode(var.task_role_policy_json))
    error_message = "task_role_policy_json must be a JSON policy document or null."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
