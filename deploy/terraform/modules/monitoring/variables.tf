################################################################################
# Naming
################################################################################

variable "name" {
  type        = string
  description = "Prefix for resource names, e.g. \"mlplatform-prod\". Alarms, topics and rules are named <name>-<what>."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,31}$", var.name))
    error_message = "name must be 1-32 lowercase letters, digits or '-'."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every taggable resource."
  default     = {}
}

################################################################################
# Topics
################################################################################

variable "kms_key_arn" {
  type        = string
  description = "Existing customer-managed KMS key for the SNS topics. Its policy must let events.amazonaws.com and cloudwatch.amazonaws.com use it. Null creates a dedicated key with that policy (recommended: the AWS-managed aws/sns key cannot be used by EventBridge or CloudWatch alarms)."
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN or null."
  }
}

variable "allow_cloudwatch_logs" {
  type        = bool
  description = "Let CloudWatch Logs use the created key too, so the services and metadata service log groups can be encrypted with it (pass output kms_key_arn as their kms_key_arn)."
  default     = true
}

variable "alerts_subscriptions" {
  type = list(object({
    protocol = string
    endpoint = string
  }))
  description = "Subscriptions of the alerts topic (notify, do not page), each { protocol, endpoint }: e.g. an email list or a Slack/Chatbot HTTPS endpoint."
  default     = []

  validation {
    condition     = alltrue([for s in var.alerts_subscriptions : contains(["email", "email-json", "https", "sqs", "lambda", "firehose"], s.protocol)])
    error_message = "alerts_subscriptions protocols must be one of email, email-json, https, sqs, lambda, firehose (never plain http)."
  }
}

variable "critical_subscriptions" {
  type = list(object({
    protocol = string
    endpoint = string
  }))
  description = "Subscriptions of the critical topic (these page), each { protocol, endpoint }: e.g. the PagerDuty CloudWatch integration URL over HTTPS."
  default     = []

  validation {
    condition     = alltrue([for s in var.critical_subscriptions : contains(["email", "email-json", "https", "sqs", "lambda", "firehose"], s.protocol)])
    error_message = "critical_subscriptions protocols must be one of email, email-json, https, sqs, lambda, firehose (never plain http)."
  }
}

################################################################################
# What is watched
################################################################################

variable "rds_instance_identifier" {
  type        = string
  description = "Identifier of the metadata database instance (database module output instance_identifier)."

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,62}$", var.rds_instance_identifier))
    error_message = "rds_instance_identifier must be a valid RDS instance identifier."
  }
}

variable "rds_replica_identifier" {
  type        = string
  description = "Identifier of the read replica, when the database module creates one; adds a replica lag alarm."
  default     = null

  validation {
    condition     = var.rds_replica_identifier == null || can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,62}$", var.rds_replica_identifier))
    error_message = "rds_replica_identifier must be a valid RDS instance identifier or null."
  }
}

variable "metadata_load_balancer_arn_suffix" {
  type        = string
  description = "ARN suffix of the metadata service's internal load balancer (metadata_service output load_balancer_arn_suffix), e.g. net/<name>/<id>."

  validation {
    condition     = can(regex("^(net|app)/[^/]+/[0-9a-f]+$", var.metadata_load_balancer_arn_suffix))
    error_message = "metadata_load_balancer_arn_suffix must look like net/<name>/<id> or app/<name>/<id>."
  }
}

variable "metadata_target_group_arn_suffix" {
  type        = string
  description = "ARN suffix of the metadata API target group (metadata_service output target_group_arn_suffix)."

  validation {
    condition     = can(regex("^targetgroup/[^/]+/[0-9a-f]+$", var.metadata_target_group_arn_suffix))
    error_message = "metadata_target_group_arn_suffix must look like targetgroup/<name>/<id>."
  }
}

variable "metadata_load_balancer_type" {
  type        = string
  description = "Type of the metadata service load balancer: \"network\" (the metadata_service module's internal NLB) or \"application\". Picks the CloudWatch namespace."
  default     = "network"

  validation {
    condition     = contains(["network", "application"], var.metadata_load_balancer_type)
    error_message = "metadata_load_balancer_type must be \"network\" or \"application\"."
  }
}

variable "alb_arn_suffix" {
  type        = string
  description = "ARN suffix of the shared ALB in front of JupyterHub and the Push receiver (jupyterhub output alb_arn_suffix)."

  validation {
    condition     = can(regex("^app/[^/]+/[0-9a-f]+$", var.alb_arn_suffix))
    error_message = "alb_arn_suffix must look like app/<name>/<id> (an application load balancer)."
  }
}

variable "hub_target_group_arn_suffix" {
  type        = string
  description = "ARN suffix of the JupyterHub target group (jupyterhub output target_group_arn_suffix)."

  validation {
    condition     = can(regex("^targetgroup/[^/]+/[0-9a-f]+$", var.hub_target_group_arn_suffix))
    error_message = "hub_target_group_arn_suffix must look like targetgroup/<name>/<id>."
  }
}

variable "create_push_receiver_alarm" {
  type        = bool
  description = "Add a health alarm for the Push receiver's target group (then set push_receiver_target_group_arn_suffix). A plain bool, because the suffix is only known after the services module applies."
  default     = false
}

variable "push_receiver_target_group_arn_suffix" {
  type        = string
  description = "ARN suffix of the Push receiver target group (services output push_receiver_target_group_arn_suffix), for create_push_receiver_alarm."
  default     = null

  validation {
    condition     = var.push_receiver_target_group_arn_suffix == null || can(regex("^targetgroup/[^/]+/[0-9a-f]+$", coalesce(var.push_receiver_target_group_arn_suffix, "targetgroup/x/0")))
    error_message = "push_receiver_target_group_arn_suffix must look like targetgroup/<name>/<id> or be null."
  }
}

variable "efs_file_system_id" {
  type        = string
  description = "The shared EFS file system (efs output file_system_id)."

  validation {
    condition     = can(regex("^fs-[0-9a-f]{8,40}$", var.efs_file_system_id))
    error_message = "efs_file_system_id must look like fs-0123456789abcdef0."
  }
}

variable "batch_job_queue_arn" {
  type        = string
  description = "ARN of the platform's AWS Batch job queue; only its FAILED jobs are reported."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:batch:[a-z0-9-]+:[0-9]{12}:job-queue/.+$", var.batch_job_queue_arn))
    error_message = "batch_job_queue_arn must be an AWS Batch job queue ARN."
  }
}

variable "state_machine_prefix" {
  type        = string
  description = "Only Step Functions state machines whose name starts with this are reported (METAFLOW_SFN_STATE_MACHINE_PREFIX; iam output state_machine_prefix). Null uses var.name; \"\" reports every state machine in the account."
  default     = null

  validation {
    condition     = var.state_machine_prefix == null || can(regex("^[A-Za-z0-9_-]{0,40}$", coalesce(var.state_machine_prefix, "x")))
    error_message = "state_machine_prefix must be at most 40 letters, digits, '_' or '-'."
  }
}

variable "platform_metrics_namespace" {
  type        = string
  description = "CloudWatch namespace `mlplatform monitor check` publishes into (settings monitoring.cloudwatch_namespace); shown on the dashboard, never alarmed on."
  default     = "MLPlatform"

  validation {
    condition     = length(var.platform_metrics_namespace) >= 1 && length(var.platform_metrics_namespace) <= 255 && !startswith(var.platform_metrics_namespace, "AWS/")
    error_message = "platform_metrics_namespace must be 1-255 characters and must not start with AWS/."
  }
}

################################################################################
# Thresholds
################################################################################

variable "rds_cpu_threshold_percent" {
  type        = number
  description = "Alarm when the database's average CPU stays above this for evaluation_periods."
  default     = 80

  validation {
    condition     = var.rds_cpu_threshold_percent > 0 && var.rds_cpu_threshold_percent <= 100
    error_message = "rds_cpu_threshold_percent must be in (0, 100]."
  }
}

variable "rds_free_storage_threshold_bytes" {
  type        = number
  description = "Alarm when free storage falls below this many bytes (storage autoscaling should act first; this alarm means it could not)."
  default     = 10737418240

  validation {
    condition     = var.rds_free_storage_threshold_bytes >= 1073741824
    error_message = "rds_free_storage_threshold_bytes must be at least 1 GiB (1073741824)."
  }
}

variable "rds_connections_threshold" {
  type        = number
  description = "Alarm when database connections exceed this (db.t3.medium allows about 400; the metadata service pools at most MF_METADATA_DB_POOL_MAX per task)."
  default     = 300

  validation {
    condition     = var.rds_connections_threshold >= 1
    error_message = "rds_connections_threshold must be at least 1."
  }
}

variable "rds_replica_lag_threshold_seconds" {
  type        = number
  description = "Alarm when the read replica lags more than this many seconds."
  default     = 300

  validation {
    condition     = var.rds_replica_lag_threshold_seconds >= 1
    error_message = "rds_replica_lag_threshold_seconds must be at least 1."
  }
}

variable "alb_5xx_threshold" {
  type        = number
  description = "Alarm when the ALB itself answers more than this many 5xx responses per period (502/503/504: no healthy or responsive target)."
  default     = 10

  validation {
    condition     = var.alb_5xx_threshold >= 0
    error_message = "alb_5xx_threshold must not be negative."
  }
}

variable "efs_burst_credit_threshold_bytes" {
  type        = number
  description = "Alarm when EFS burst credits fall below this (bursting throughput mode only; elastic and provisioned modes publish no credits, so the alarm stays OK)."
  default     = 549755813888

  validation {
    condition     = var.efs_burst_credit_threshold_bytes >= 0
    error_message = "efs_burst_credit_threshold_bytes must not be negative."
  }
}

variable "efs_percent_io_limit_threshold" {
  type        = number
  description = "Alarm when EFS PercentIOLimit (General Purpose mode) stays above this."
  default     = 95

  validation {
    condition     = var.efs_percent_io_limit_threshold > 0 && var.efs_percent_io_limit_threshold <= 100
    error_message = "efs_percent_io_limit_threshold must be in (0, 100]."
  }
}

variable "period_seconds" {
  type        = number
  description = "Alarm evaluation period."
  default     = 300

  validation {
    condition     = contains([60, 300, 900, 3600], var.period_seconds)
    error_message = "period_seconds must be 60, 300, 900 or 3600."
  }
}

variable "evaluation_periods" {
  type        = number
  description = "Consecutive breaching periods before an alarm fires."
  default     = 3

  validation {
    condition     = var.evaluation_periods >= 1 && var.evaluation_periods <= 24
    error_message = "evaluation_periods must be between 1 and 24."
  }
}

variable "alarm_severity_overrides" {
  type        = map(string)
  description = "Per-alarm severity overrides: \"critical\" sends to the critical (paging) topic, \"warning\" to the alerts topic. Keys: rds_cpu, rds_free_storage, rds_connections, rds_replica_lag, metadata_unhealthy_hosts, metadata_no_healthy_hosts, alb_5xx, hub_unhealthy, push_receiver_unhealthy, efs_burst_credits, efs_io_limit."
  default     = {}

  validation {
    condition     = alltrue([for v in values(var.alarm_severity_overrides) : contains(["warning", "critical"], v)])
    error_message = "alarm_severity_overrides values must be \"warning\" or \"critical\"."
  }

  validation {
    condition = alltrue([for k in keys(var.alarm_severity_overrides) : contains([
      "rds_cpu", "rds_free_storage", "rds_connections", "rds_replica_lag", "metadata_unhealthy_hosts",
      "metadata_no_healthy_hosts", "alb_5xx", "hub_unhealthy", "push_receiver_unhealthy",
      "efs_burst_credits", "efs_io_limit",
    ], k)])
    error_message = "alarm_severity_overrides has an unknown alarm key; see the variable description for the list."
  }
}
