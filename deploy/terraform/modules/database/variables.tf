################################################################################
# Naming and tags
################################################################################

variable "name" {
  description = "Prefix for every resource name, for example \"mlplatform-prod\". The instance is \"<name>-metadata\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must be 3-40 characters of lowercase letters, digits and single hyphens, starting with a letter (for example \"mlplatform-prod\")."
  }
}

variable "tags" {
  description = "Tags applied to every taggable resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Network
################################################################################

variable "subnet_ids" {
  description = "Private subnet IDs for the DB subnet group, in at least two Availability Zones (multi-AZ)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "subnet_ids needs at least two IDs like \"subnet-0123456789abcdef0\"."
  }
}

variable "security_group_id" {
  description = "Security group of the database (network module's database_security_group_id: 5432 from the metadata service and operations only)."
  type        = string

  validation {
    condition     = can(regex("^sg-[0-9a-f]{8,17}$", var.security_group_id))
    error_message = "security_group_id must look like \"sg-0123456789abcdef0\"."
  }
}

variable "port" {
  description = "Port PostgreSQL listens on."
  type        = number
  default     = 5432

  validation {
    condition     = var.port >= 1150 && var.port <= 65535 && floor(var.port) == var.port
    error_message = "port must be a whole number between 1150 and 65535 (an RDS rule)."
  }
}

################################################################################
# Engine and size
################################################################################

variable "engine_version" {
  description = "PostgreSQL version. A major version alone (\"16\") lets RDS pick its default minor version and keeps the plan clean when minor versions auto-upgrade; a full version (\"16.8\") pins it. The parameter group family follows the major version."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^(1[6-9]|[2-9][0-9])(\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must be PostgreSQL 16 or newer, as \"16\" or \"16.8\". Versions 11 to 15 are out of standard support or close to it."
  }
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t3.medium"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "instance_class must be an RDS class such as \"db.t3.medium\"."
  }
}

variable "allocated_storage" {
  description = "Initial storage in GiB (gp3)."
  type        = number
  default     = 100

  validation {
    condition     = var.allocated_storage >= 20 && var.allocated_storage <= 65536 && floor(var.allocated_storage) == var.allocated_storage
    error_message = "allocated_storage must be a whole number of GiB between 20 and 65536."
  }
}

variable "max_allocated_storage" {
  description = "Upper limit in GiB for storage autoscaling. Must be larger than allocated_storage."
  type        = number
  default     = 500

  validation {
    condition     = var.max_allocated_storage <= 65536 && floor(var.max_allocated_storage) == var.max_allocated_storage
    error_message = "max_allocated_storage must be a whole number of GiB, at most 65536."
  }
}

variable "multi_az" {
  description = "Run a synchronous standby in a second Availability Zone (the 99.9 % uptime target needs it)."
  type        = bool
  default     = true
}

variable "db_name" {
  description = "Name of the metadata database."
  type        = string
  default     = "metaflow"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,62}$", var.db_name)) && !contains(["postgres", "rdsadmin", "template0", "template1"], var.db_name)
    error_message = "db_name must start with a letter, hold letters, digits and underscores, and not be a reserved name."
  }
}

variable "username" {
  description = "Master user name. Its password is generated and rotated by RDS in Secrets Manager, never passed in."
  type        = string
  default     = "metaflow"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,62}$", var.username)) && !contains(["postgres", "rdsadmin", "admin", "root", "public"], lower(var.username))
    error_message = "username must start with a letter, hold letters, digits and underscores, and not be a reserved name."
  }
}

################################################################################
# Protection and recovery
################################################################################

variable "backup_retention_period" {
  description = "Days of automated backups (point-in-time recovery). At least 7."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_period >= 7 && var.backup_retention_period <= 35 && floor(var.backup_retention_period) == var.backup_retention_period
    error_message = "backup_retention_period must be a whole number of days between 7 and 35."
  }
}

variable "backup_window" {
  description = "Daily UTC window for automated backups, hh24:mi-hh24:mi. Must not overlap maintenance_window."
  type        = string
  default     = "02:00-03:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$", var.backup_window))
    error_message = "backup_window must look like \"02:00-03:00\" (UTC)."
  }
}

variable "maintenance_window" {
  description = "Weekly UTC maintenance window, ddd:hh24:mi-ddd:hh24:mi."
  type        = string
  default     = "sun:03:30-sun:04:30"

  validation {
    condition     = can(regex("^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_window))
    error_message = "maintenance_window must look like \"sun:03:30-sun:04:30\" (UTC)."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the instance (and the replica) until this is turned off."
  type        = bool
  default     = true
}

variable "apply_immediately" {
  description = "Apply changes now instead of in the next maintenance window."
  type        = bool
  default     = false
}

variable "allow_major_version_upgrade" {
  description = "Allow a change of engine_version to a new major version. Take a snapshot and read the upgrade runbook first."
  type        = bool
  default     = false
}

variable "ca_cert_identifier" {
  description = "RDS certificate authority for the server certificate clients verify."
  type        = string
  default     = "rds-ca-rsa2048-g1"
}

################################################################################
# Encryption, monitoring and logs
################################################################################

variable "create_kms_key" {
  description = "Create a dedicated, rotating KMS key for the database. Set false to use kms_key_arn instead (a boolean, so that the plan never depends on an ARN known only after apply)."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for storage, Performance Insights, the master user secret and the log groups, used when create_kms_key = false. Its policy must let CloudWatch Logs (logs.<region>.amazonaws.com) use it."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "performance_insights_retention_period" {
  description = "Days of Performance Insights history: 7 (free), a multiple of 31 up to 713, or 731."
  type        = number
  default     = 7

  validation {
    condition     = contains([7, 731], var.performance_insights_retention_period) || (var.performance_insights_retention_period % 31 == 0 && var.performance_insights_retention_period >= 31 && var.performance_insights_retention_period <= 713)
    error_message = "performance_insights_retention_period must be 7, a multiple of 31 up to 713, or 731."
  }
}

variable "monitoring_interval" {
  description = "Seconds between Enhanced Monitoring samples; 0 turns Enhanced Monitoring off."
  type        = number
  default     = 60

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval)
    error_message = "monitoring_interval must be one of 0, 1, 5, 10, 15, 30, 60."
  }
}

variable "create_monitoring_role" {
  description = "Create the Enhanced Monitoring role when monitoring_interval > 0. Set false to use monitoring_role_arn instead."
  type        = bool
  default     = true
}

variable "monitoring_role_arn" {
  description = "Existing IAM role for Enhanced Monitoring, used when create_monitoring_role = false."
  type        = string
  default     = null
}

variable "enabled_cloudwatch_logs_exports" {
  description = "PostgreSQL logs exported to CloudWatch Logs."
  type        = list(string)
  default     = ["postgresql", "upgrade"]

  validation {
    condition     = contains(var.enabled_cloudwatch_logs_exports, "postgresql") && alltrue([for log in var.enabled_cloudwatch_logs_exports : contains(["postgresql", "upgrade", "iam-db-auth-error"], log)])
    error_message = "enabled_cloudwatch_logs_exports must include \"postgresql\" and may add \"upgrade\" and \"iam-db-auth-error\"."
  }
}

variable "log_retention_days" {
  description = "Days the exported PostgreSQL logs are kept in CloudWatch Logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value (for example 30, 90, 365, 731)."
  }
}

variable "log_min_duration_statement" {
  description = "Log statements slower than this many milliseconds; -1 turns slow-query logging off."
  type        = number
  default     = 1000

  validation {
    condition     = var.log_min_duration_statement >= -1 && floor(var.log_min_duration_statement) == var.log_min_duration_statement
    error_message = "log_min_duration_statement must be -1 or a whole number of milliseconds."
  }
}

variable "parameters" {
  description = "Extra PostgreSQL parameters for the parameter group. rds.force_ssl, log_statement and log_min_duration_statement are set by the module."
  type = list(object({
    name         = string
    value        = string
    apply_method = optional(string, "immediate")
  }))
  default = []

  validation {
    condition     = alltrue([for parameter in var.parameters : !contains(["rds.force_ssl", "log_statement", "log_min_duration_statement"], parameter.name)])
    error_message = "parameters must not override rds.force_ssl, log_statement or log_min_duration_statement; the module sets them."
  }
}

################################################################################
# Read replica for the monitoring collector
################################################################################

variable "create_read_replica" {
  description = "Create a read replica that the monitoring collector queries, so that its reads never load the primary."
  type        = bool
  default     = false
}

variable "replica_instance_class" {
  description = "Instance class of the read replica. null uses instance_class."
  type        = string
  default     = null

  validation {
    condition     = var.replica_instance_class == null ? true : can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.replica_instance_class))
    error_message = "replica_instance_class must be null or an RDS class such as \"db.t3.medium\"."
  }
}
