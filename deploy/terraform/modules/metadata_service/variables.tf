################################################################################
# Common
################################################################################

variable "name" {
  description = "Prefix for every resource name, e.g. \"mlplatform-prod\". At most 27 characters, because load balancer and target group names are limited to 32."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,25}[a-z0-9]$", var.name))
    error_message = "name must be 3-27 characters of lowercase letters, digits and hyphens, starting with a letter (e.g. \"mlplatform-prod\")."
  }
}

variable "tags" {
  description = "Tags for every taggable resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Network
################################################################################

variable "vpc_id" {
  description = "ID of the existing VPC."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123abcd."
  }
}

variable "subnet_ids" {
  description = "Private subnet IDs for the tasks and the internal load balancer. Use at least two Availability Zones."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "subnet_ids needs at least one subnet ID of the form subnet-0123abcd."
  }
}

variable "security_group_id" {
  description = "Security group of the metadata service (the network module's metadata_service_security_group_id). It allows 8080/8082 from platform hosts and Batch, and the tasks use it."
  type        = string

  validation {
    condition     = can(regex("^sg-[0-9a-f]+$", var.security_group_id))
    error_message = "security_group_id must look like sg-0123abcd."
  }
}

variable "load_balancer_security_group_id" {
  description = "Security group for the internal load balancer. null puts the load balancer in security_group_id too."
  type        = string
  default     = null

  validation {
    condition     = var.load_balancer_security_group_id == null || can(regex("^sg-[0-9a-f]+$", var.load_balancer_security_group_id))
    error_message = "load_balancer_security_group_id must be null or look like sg-0123abcd."
  }
}

variable "create_load_balancer_ingress_rules" {
  description = "Add ingress rules on security_group_id that let the load balancer's group reach the tasks on the API and migration ports. Off by default because the network module already creates the self-referencing rules (metadata_from_self, migration_from_self); turn on with a separate load_balancer_security_group_id or without that network module."
  type        = bool
  default     = false
}

variable "metadata_port" {
  description = "Port of the metadata API (MF_METADATA_PORT)."
  type        = number
  default     = 8080

  validation {
    condition     = var.metadata_port >= 1024 && var.metadata_port <= 65535
    error_message = "metadata_port must be between 1024 and 65535."
  }
}

variable "migration_port" {
  description = "Port of the migration service (MF_MIGRATION_PORT)."
  type        = number
  default     = 8082

  validation {
    condition     = var.migration_port >= 1024 && var.migration_port <= 65535
    error_message = "migration_port must be between 1024 and 65535."
  }
}

variable "enable_load_balancer_deletion_protection" {
  description = "Protect the internal load balancer against deletion. Turn off only to tear an environment down."
  type        = bool
  default     = true
}

################################################################################
# Service
################################################################################

variable "image" {
  description = "Pinned metaflow-service image (tag or digest, never latest). The image runs the migration service on 8082 and the schema-compatible metadata service on 8080."
  type        = string
  default     = "netflixoss/metaflow_metadata_service:v2.5.1"

  validation {
    condition = (
      can(regex("(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$", element(split("/", var.image), length(split("/", var.image)) - 1))) &&
      !endswith(var.image, ":latest")
    )
    error_message = "image must be pinned to a tag or a sha256 digest, and the tag must not be \"latest\" (e.g. netflixoss/metaflow_metadata_service:v2.5.1)."
  }
}

variable "cpu" {
  description = "Fargate task CPU units."
  type        = number
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "cpu must be a Fargate size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "memory" {
  description = "Fargate task memory in MiB. It must fit the cpu value (e.g. 512 CPU takes 1024-4096)."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory >= 512 && var.memory <= 122880 && var.memory % 512 == 0
    error_message = "memory must be a multiple of 512 MiB between 512 and 122880."
  }
}

variable "desired_count" {
  description = "Number of tasks. Two tasks in two Availability Zones keep the API up while one is replaced."
  type        = number
  default     = 2

  validation {
    condition     = var.desired_count >= 1 && var.desired_count <= 20 && floor(var.desired_count) == var.desired_count
    error_message = "desired_count must be a whole number between 1 and 20."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the tasks. The public metaflow-service images are built for X86_64."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "health_check_grace_period_seconds" {
  description = "Seconds the service ignores failing load balancer health checks after a task starts (the image picks its version and connects to the database first)."
  type        = number
  default     = 120

  validation {
    condition     = var.health_check_grace_period_seconds >= 0 && var.health_check_grace_period_seconds <= 2147483647
    error_message = "health_check_grace_period_seconds must be >= 0."
  }
}

variable "enable_migration_endpoints" {
  description = "Serve PATCH /upgrade on the migration port (MF_MIGRATION_ENDPOINTS_ENABLED). The upgrade runbook uses it; turn it off to allow schema upgrades only from the migration tool."
  type        = bool
  default     = true
}

variable "enable_execute_command" {
  description = "Allow `aws ecs execute-command` into the tasks for debugging (audited in CloudWatch Logs)."
  type        = bool
  default     = false
}

variable "environment" {
  description = "Extra environment variables for the container, e.g. MF_METADATA_DB_POOL_MAX. Never put the database password here: it comes from Secrets Manager."
  type        = map(string)
  default     = {}

  validation {
    condition     = length([for k in keys(var.environment) : k if can(regex("(?i)(PSWD|PASSWORD|SECRET|DSN)", k))]) == 0
    error_message = "environment must not carry passwords, secrets or DSNs (MF_METADATA_DB_PSWD, MF_METADATA_DB_DSN...); the password comes from database_secret_arn."
  }
}

################################################################################
# Database
################################################################################

variable "database_address" {
  description = "Host name of the PostgreSQL instance (the database module's address)."
  type        = string

  validation {
    condition     = length(var.database_address) > 0 && !can(regex(":", var.database_address))
    error_message = "database_address must be a host name without a port."
  }
}

variable "database_port" {
  description = "Port of the PostgreSQL instance."
  type        = number
  default     = 5432

  validation {
    condition     = var.database_port >= 1 && var.database_port <= 65535
    error_message = "database_port must be between 1 and 65535."
  }
}

variable "database_name" {
  description = "Name of the metadata database."
  type        = string
  default     = "metaflow"
}

variable "database_username" {
  description = "Database user of the metadata service."
  type        = string
}

variable "database_secret_arn" {
  description = "ARN of the Secrets Manager secret that holds the database password as JSON (the RDS-managed master user secret, the database module's master_user_secret_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+", var.database_secret_arn))
    error_message = "database_secret_arn must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:...)."
  }
}

variable "database_secret_json_key" {
  description = "JSON key of the password inside the secret. RDS-managed secrets use \"password\"."
  type        = string
  default     = "password"
}

variable "database_secret_kms_key_arn" {
  description = "KMS key ARN that encrypts the database secret, if it is a customer key. null means the AWS-managed aws/secretsmanager key."
  type        = string
  default     = null

  validation {
    condition     = var.database_secret_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.database_secret_kms_key_arn))
    error_message = "database_secret_kms_key_arn must be null or a KMS key ARN."
  }
}

variable "database_ssl_mode" {
  description = "libpq SSL mode of the connection (MF_METADATA_DB_SSL_MODE). PostgreSQL 15+ on RDS forces SSL, so require is the floor."
  type        = string
  default     = "require"

  validation {
    condition     = contains(["require", "verify-ca", "verify-full"], var.database_ssl_mode)
    error_message = "database_ssl_mode must be require, verify-ca or verify-full."
  }
}

################################################################################
# Logs
################################################################################

variable "log_retention_days" {
  description = "Days to keep the service's CloudWatch logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch retention value of at least 7: 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN for the log group and ECS Exec sessions. null uses CloudWatch's own encryption. The key policy must allow the logs.<region>.amazonaws.com principal."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN."
  }
}
