variable "name" {
  type        = string
  description = "Prefix for every resource name, e.g. \"mlplatform-prod\"."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "environment" {
  type        = string
  description = "Environment name (dev, prod); also the mlplatform profile `configure import` writes."
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (cost allocation: team, environment, owner)."
  default     = {}
}

variable "vpc_id" {
  type        = string
  description = "The data platform's existing VPC (10.0.0.0/16)."
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Existing private subnets (two or more AZs) for the hub, Batch, RDS and ECS tasks."
}

variable "public_subnet_ids" {
  type        = list(string)
  description = "Existing public subnets for the internet-facing ALB."
}

variable "alb_allowed_cidrs" {
  type        = list(string)
  description = "CIDRs allowed to reach the ALB on 443 (the office and VPN ranges)."
}

variable "artifacts_bucket_name" {
  type        = string
  description = "Metaflow artifacts bucket, `metaflow-artifacts-<id>`."
}

variable "raw_bucket_name" {
  type        = string
  description = "The data platform's existing raw bucket."
  default     = "data-platform-raw"
}

variable "manage_raw_bucket_lifecycle" {
  type        = bool
  description = "Let Terraform own the raw bucket's lifecycle configuration (replaces every rule on it)."
  default     = false
}

variable "efs_file_system_id" {
  type        = string
  description = "The data platform's existing EFS file system."
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate for the hub's ALB listener on 443."
}

variable "hub_domain" {
  type        = string
  description = "Public host name of JupyterHub, e.g. \"hub.dataplatform.example\"."
}

variable "admin_principal_arns" {
  type        = list(string)
  description = "Principals (SSO roles, users) allowed to assume the platform admin role."
}

variable "database_instance_class" {
  type        = string
  description = "RDS instance class of the metadata database."
  default     = "db.t3.medium"
}

variable "database_multi_az" {
  type        = bool
  description = "Run the metadata database in two AZs (standby with automatic failover)."
  default     = true
}

variable "database_backup_retention_days" {
  type        = number
  description = "Days of automated backups (point-in-time restore window), 7 or more."
  default     = 7
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the stateful and front-door resources from deletion: the database, both load balancers, the hub host and the Step Functions state table."
  default     = true
}

variable "database_read_replica" {
  type        = bool
  description = "Create a read replica for the monitoring collector's SQL queries."
  default     = false
}

variable "batch_instance_types" {
  type        = list(string)
  description = "Instance types of the Batch compute environment. The brief's c5.large has 4 GiB, of which ECS leaves jobs about 3.7: a step asking for Metaflow's default 4096 MB would wait in RUNNABLE forever, so c5.xlarge (8 GiB) is there for those steps."
  default     = ["c5.large", "c5.xlarge"]
}

variable "batch_desired_vcpus" {
  type        = number
  description = "vCPUs the Batch compute environment keeps warm."
  default     = 4
}

variable "batch_max_vcpus" {
  type        = number
  description = "Upper bound of the Batch compute environment."
  default     = 64
}

variable "batch_enable_spot" {
  type        = bool
  description = "Add a Spot compute environment behind the on-demand one."
  default     = false
}

variable "image_tag" {
  type        = string
  description = "Tag of the platform images (git sha) in ECR: Batch tasks, notebooks, ECS services."
}

variable "ldap_url" {
  type        = string
  description = "FreeIPA's LDAP endpoint the hub and the user manager use."
  default     = "ldaps://ipa.dataplatform.local:636"
}

variable "ldap_base_dn" {
  type        = string
  description = "Directory base DN."
  default     = "dc=dataplatform,dc=local"
}

variable "ldap_bind_password_secret" {
  type        = string
  description = "Secrets Manager id of the user manager's LDAP bind password."
  default     = "mlplatform/ldap-bind-password"
}

variable "appsflyer_token_secret_arn" {
  type        = string
  description = "Secrets Manager ARN of the AppsFlyer API token (created outside Terraform: no secret value in state)."
}

variable "alert_secret_arns" {
  type        = map(string)
  description = "Secrets Manager ARNs of the Slack webhook and PagerDuty routing key, by name."
  default     = {}
}

variable "daily_budget" {
  type        = number
  description = "Daily compute budget in USD for the cost alert rule; null: no budget rule."
  default     = null
}

variable "appsflyer_app_ids" {
  type        = list(string)
  description = "Apps the scheduled AppsFlyer Pull download fetches; empty: no pull task."
  default     = []
}
