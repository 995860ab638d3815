################################################################################
# Common
################################################################################

variable "name" {
  description = "Prefix for every resource name, e.g. \"mlplatform-prod\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lowercase letters, digits and hyphens, starting with a letter (e.g. \"mlplatform-prod\")."
  }
}

variable "tags" {
  description = "Tags for every taggable resource. They also land on the Batch EC2 instances and volumes, so put the cost-allocation tags here (e.g. team, environment, cost-center)."
  type        = map(string)
  default     = {}
}

################################################################################
# Network
################################################################################

variable "subnet_ids" {
  description = "Private subnet IDs where Batch launches its instances. Use at least two Availability Zones."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "subnet_ids needs at least one subnet ID of the form subnet-0123abcd."
  }
}

variable "security_group_ids" {
  description = "Security group IDs for the Batch instances (the network module's batch_security_group_id)."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) >= 1 && alltrue([for s in var.security_group_ids : can(regex("^sg-[0-9a-f]+$", s))])
    error_message = "security_group_ids needs at least one security group ID of the form sg-0123abcd."
  }
}

################################################################################
# Compute environments
################################################################################

variable "instance_types" {
  description = "EC2 instance types for the on-demand compute environment."
  type        = list(string)
  default     = ["c5.large"]

  validation {
    condition     = length(var.instance_types) >= 1
    error_message = "instance_types needs at least one instance type, e.g. [\"c5.large\"]."
  }
}

variable "allocation_strategy" {
  description = "Allocation strategy of the on-demand compute environment."
  type        = string
  default     = "BEST_FIT_PROGRESSIVE"

  validation {
    condition     = contains(["BEST_FIT", "BEST_FIT_PROGRESSIVE"], var.allocation_strategy)
    error_message = "allocation_strategy must be BEST_FIT or BEST_FIT_PROGRESSIVE."
  }
}

variable "min_vcpus" {
  description = "Minimum vCPUs of the on-demand compute environment. 0 lets it scale to nothing when idle. Must be <= desired_vcpus <= max_vcpus."
  type        = number
  default     = 0

  validation {
    condition     = var.min_vcpus >= 0 && floor(var.min_vcpus) == var.min_vcpus
    error_message = "min_vcpus must be a whole number >= 0."
  }
}

variable "desired_vcpus" {
  description = "vCPUs the on-demand compute environment starts with. Batch changes it afterwards, so Terraform ignores later drift. Must be between min_vcpus and max_vcpus."
  type        = number
  default     = 4

  validation {
    condition     = var.desired_vcpus >= 0 && floor(var.desired_vcpus) == var.desired_vcpus
    error_message = "desired_vcpus must be a whole number >= 0."
  }
}

variable "max_vcpus" {
  description = "Maximum vCPUs of the on-demand compute environment. This caps cost: 64 vCPUs are 32 c5.large instances."
  type        = number
  default     = 64

  validation {
    condition     = var.max_vcpus >= 1 && var.max_vcpus <= 10000 && floor(var.max_vcpus) == var.max_vcpus
    error_message = "max_vcpus must be a whole number between 1 and 10000."
  }
}

variable "ec2_image_type" {
  description = "ECS-optimized AMI family that Batch picks for the instances."
  type        = string
  default     = "ECS_AL2023"

  validation {
    condition     = contains(["ECS_AL2023", "ECS_AL2", "ECS_AL2_NVIDIA"], var.ec2_image_type)
    error_message = "ec2_image_type must be ECS_AL2023, ECS_AL2 or ECS_AL2_NVIDIA."
  }
}

variable "root_volume_size" {
  description = "Size in GiB of each instance's encrypted gp3 root volume (container images and task scratch space live there)."
  type        = number
  default     = 100

  validation {
    condition     = var.root_volume_size >= 30 && var.root_volume_size <= 16384
    error_message = "root_volume_size must be between 30 and 16384 GiB (the ECS-optimized AMI needs 30)."
  }
}

variable "ebs_kms_key_arn" {
  description = "KMS key ARN for the instance volumes. null uses the account's default EBS key. A customer key must allow the AWSServiceRoleForAutoScaling and AWSServiceRoleForBatch service-linked roles, or instances fail to start."
  type        = string
  default     = null

  validation {
    condition     = var.ebs_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.ebs_kms_key_arn))
    error_message = "ebs_kms_key_arn must be null or a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "enable_spot" {
  description = "Create a second, Spot compute environment (SPOT_CAPACITY_OPTIMIZED). The job queue uses it after the on-demand one is full."
  type        = bool
  default     = false
}

variable "spot_instance_types" {
  description = "Instance types for the Spot compute environment. null reuses instance_types. More types mean fewer interruptions."
  type        = list(string)
  default     = null
}

variable "spot_max_vcpus" {
  description = "Maximum vCPUs of the Spot compute environment (its minimum and desired are 0)."
  type        = number
  default     = 64

  validation {
    condition     = var.spot_max_vcpus >= 1 && var.spot_max_vcpus <= 10000 && floor(var.spot_max_vcpus) == var.spot_max_vcpus
    error_message = "spot_max_vcpus must be a whole number between 1 and 10000."
  }
}

variable "spot_bid_percentage" {
  description = "Highest Spot price to pay, as a percentage of the on-demand price."
  type        = number
  default     = 100

  validation {
    condition     = var.spot_bid_percentage >= 1 && var.spot_bid_percentage <= 100
    error_message = "spot_bid_percentage must be between 1 and 100."
  }
}

################################################################################
# Job queue
################################################################################

variable "job_queue_priority" {
  description = "Priority of the job queue. Higher numbers win when queues share a compute environment."
  type        = number
  default     = 1

  validation {
    condition     = var.job_queue_priority >= 0 && var.job_queue_priority <= 1000
    error_message = "job_queue_priority must be between 0 and 1000."
  }
}

variable "runnable_timeout_seconds" {
  description = "Cancel a job that stays RUNNABLE this long because it can never be placed (it asks for more vCPUs or memory than the compute environments can give). null turns this off. Jobs that only wait for capacity are not touched."
  type        = number
  default     = 1800

  validation {
    condition     = var.runnable_timeout_seconds == null ? true : (var.runnable_timeout_seconds >= 600 && var.runnable_timeout_seconds <= 86400)
    error_message = "runnable_timeout_seconds must be null or between 600 and 86400 seconds."
  }
}

################################################################################
# Data access for Metaflow tasks
################################################################################

variable "artifacts_bucket_arn" {
  description = "ARN of the Metaflow artifacts bucket (the datastore module's artifacts_bucket_arn). The job role may read and write it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.artifacts_bucket_arn))
    error_message = "artifacts_bucket_arn must be an S3 bucket ARN such as arn:aws:s3:::metaflow-artifacts-123."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the artifacts bucket (the datastore module's kms_key_arn). The job role may use it, and it also encrypts the Step Functions state table."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "job_role_policy_arns" {
  description = "Extra managed policy ARNs to attach to the job role, e.g. the datastore module's raw_prefix_access_policy_arn so tasks can read AppsFlyer raw data."
  type        = list(string)
  default     = []
}

variable "job_secret_arns" {
  description = "Secrets Manager secret ARNs that Metaflow tasks may read with @secrets (e.g. the AppsFlyer API token)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.job_secret_arns : can(regex("^arn:aws[a-z-]*:secretsmanager:", a))])
    error_message = "job_secret_arns must hold Secrets Manager ARNs (arn:aws:secretsmanager:...)."
  }
}

################################################################################
# Step Functions state table
################################################################################

variable "sfn_state_table_name" {
  description = "Name of the DynamoDB table Metaflow uses for Step Functions foreach state (METAFLOW_SFN_DYNAMO_DB_TABLE). null gives \"<name>-sfn-state\"."
  type        = string
  default     = null
}

variable "enable_sfn_state_table_deletion_protection" {
  description = "Protect the Step Functions state table against deletion. Turn off only to tear an environment down."
  type        = bool
  default     = true
}
