################################################################################
# Naming
################################################################################

variable "name" {
  type        = string
  description = "Prefix for resource names, e.g. \"mlplatform-prod\". Also the default Step Functions state machine prefix."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,31}$", var.name))
    error_message = "name must be 1-32 lowercase letters, digits or '-', starting with a letter or digit (IAM role names stay under 64 characters)."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every taggable resource."
  default     = {}
}

variable "iam_path" {
  type        = string
  description = "IAM path of the roles and policies this module creates. Per-user roles live under <iam_path>users/ and are not Terraform's."
  default     = "/mlplatform/"

  validation {
    condition     = can(regex("^/([A-Za-z0-9_+=,.@-]+/)+$", var.iam_path))
    error_message = "iam_path must start and end with '/', e.g. /mlplatform/."
  }
}

################################################################################
# Storage
################################################################################

variable "artifacts_bucket_arn" {
  type        = string
  description = "ARN of the Metaflow artifacts bucket (datastore module output artifacts_bucket_arn)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.artifacts_bucket_arn))
    error_message = "artifacts_bucket_arn must be a bucket ARN, arn:aws:s3:::<bucket>, with no key part."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key encrypting the artifacts bucket (datastore module output kms_key_arn)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<id>."
  }
}

variable "datastore_prefix" {
  type        = string
  description = "Key prefix of the Metaflow datastore in the artifacts bucket (datastore_root is s3://<bucket>/<prefix>). The monitoring tasks read it."
  default     = "metaflow/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.datastore_prefix))
    error_message = "datastore_prefix must be a key prefix ending in '/', without a leading '/', e.g. metaflow/."
  }
}

variable "users_prefix" {
  type        = string
  description = "Key prefix of the per-user areas in the artifacts bucket (users/<name>/), written by the user manager."
  default     = "users/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.users_prefix))
    error_message = "users_prefix must be a key prefix ending in '/', without a leading '/', e.g. users/."
  }
}

variable "user_archive_prefix" {
  type        = string
  description = "Key prefix where the user manager archives an offboarded user's home (archive/users/<name>/...)."
  default     = "archive/users/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.user_archive_prefix))
    error_message = "user_archive_prefix must be a key prefix ending in '/', without a leading '/'."
  }
}

variable "raw_bucket_name" {
  type        = string
  description = "Name of the existing raw landing bucket (not managed here)."
  default     = "data-platform-raw"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.raw_bucket_name))
    error_message = "raw_bucket_name must be a valid S3 bucket name."
  }
}

variable "appsflyer_prefix" {
  type        = string
  description = "The platform's prefix in the raw bucket; AppsFlyer data lands under it."
  default     = "appsflyer/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.appsflyer_prefix))
    error_message = "appsflyer_prefix must be a key prefix ending in '/', without a leading '/', e.g. appsflyer/."
  }
}

variable "raw_bucket_kms_key_arn" {
  type        = string
  description = "KMS key of the raw bucket when it uses SSE-KMS with a customer-managed key; null when it uses SSE-S3."
  default     = null

  validation {
    condition     = var.raw_bucket_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.raw_bucket_kms_key_arn))
    error_message = "raw_bucket_kms_key_arn must be a KMS key ARN or null."
  }
}

variable "efs_file_system_arn" {
  type        = string
  description = "ARN of the EFS file system holding the services' durable state (alert outbox, push spool), mounted with IAM authorization; null when the tasks mount no EFS."
  default     = null

  validation {
    condition     = var.efs_file_system_arn == null || can(regex("^arn:aws[a-z-]*:elasticfilesystem:[a-z0-9-]+:[0-9]{12}:file-system/fs-[0-9a-f]+$", var.efs_file_system_arn))
    error_message = "efs_file_system_arn must be an EFS file system ARN or null."
  }
}

################################################################################
# Compute and orchestration
################################################################################

variable "job_queue_arn" {
  type        = string
  description = "ARN of the platform's AWS Batch job queue (compute module output job_queue_arn)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:batch:[a-z0-9-]+:[0-9]{12}:job-queue/.+$", var.job_queue_arn))
    error_message = "job_queue_arn must be an AWS Batch job queue ARN."
  }
}

variable "batch_job_role_arn" {
  type        = string
  description = "The Batch job role (METAFLOW_ECS_S3_ACCESS_IAM_ROLE, compute module output job_role_arn). User roles may pass it when Metaflow registers a job definition; null leaves iam:PassRole out of the boundary."
  default     = null

  validation {
    condition     = var.batch_job_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.batch_job_role_arn))
    error_message = "batch_job_role_arn must be an IAM role ARN or null."
  }
}

variable "batch_job_definition_prefix" {
  type        = string
  description = "Name prefix of the job definitions Metaflow registers (it names them metaflow_<hash>)."
  default     = "metaflow_"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.batch_job_definition_prefix))
    error_message = "batch_job_definition_prefix must be letters, digits, '_' or '-'."
  }
}

variable "batch_log_group_name" {
  type        = string
  description = "CloudWatch Logs group AWS Batch jobs write to; users may read it."
  default     = "/aws/batch/job"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#-]{1,512}$", var.batch_log_group_name))
    error_message = "batch_log_group_name must be a valid log group name."
  }
}

variable "state_machine_prefix" {
  type        = string
  description = "METAFLOW_SFN_STATE_MACHINE_PREFIX: Metaflow names state machines <prefix>_<flow>. Null uses var.name."
  default     = null

  validation {
    condition     = var.state_machine_prefix == null || can(regex("^[A-Za-z0-9_-]{1,40}$", coalesce(var.state_machine_prefix, "x")))
    error_message = "state_machine_prefix must be 1-40 letters, digits, '_' or '-'."
  }
}

variable "sfn_state_table_arn" {
  type        = string
  description = "ARN of the DynamoDB table Metaflow's Step Functions integration keeps foreach state in (METAFLOW_SFN_DYNAMO_DB_TABLE). Null allows tables named <name>* in this account and region."
  default     = null

  validation {
    condition     = var.sfn_state_table_arn == null || can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/.+$", var.sfn_state_table_arn))
    error_message = "sfn_state_table_arn must be a DynamoDB table ARN or null."
  }
}

variable "allow_user_sfn_deploy" {
  type        = bool
  description = "Let the permissions boundary allow `step-functions create` from user roles (state machines and EventBridge schedules under the platform prefix). Off: users only list and describe; production schedules are deployed by admins."
  default     = false
}

variable "ecs_cluster_arn" {
  type        = string
  description = "ARN of the ECS cluster running the platform services (metadata_service module output cluster_arn). The admin role may update, run and stop tasks there. Null allows clusters named <name>*."
  default     = null

  validation {
    condition     = var.ecs_cluster_arn == null || can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/.+$", var.ecs_cluster_arn))
    error_message = "ecs_cluster_arn must be an ECS cluster ARN or null."
  }
}

variable "ecr_repository_arns" {
  type        = list(string)
  description = "ECR repositories the ECS task execution role may pull from (ecr module output repository_arns). Empty allows repositories named <name>/*."
  default     = []

  validation {
    condition     = alltrue([for a in var.ecr_repository_arns : can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/.+$", a))])
    error_message = "ecr_repository_arns must hold ECR repository ARNs."
  }
}

variable "service_log_group_prefix" {
  type        = string
  description = "Log group name prefix of the platform's ECS tasks; the execution role may write only there. Null uses /ecs/<name>."
  default     = null

  validation {
    condition     = var.service_log_group_prefix == null || can(regex("^/[A-Za-z0-9_./#-]{1,500}$", coalesce(var.service_log_group_prefix, "/x")))
    error_message = "service_log_group_prefix must start with '/' and be a valid log group name."
  }
}

################################################################################
# Monitoring and alerts
################################################################################

variable "alerts_topic_arn" {
  type        = string
  description = "SNS topic the monitoring task publishes alerts to (monitoring module output alerts_topic_arn)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:.+$", var.alerts_topic_arn))
    error_message = "alerts_topic_arn must be an SNS topic ARN."
  }
}

variable "critical_topic_arn" {
  type        = string
  description = "Optional second SNS topic (critical) the monitoring task may publish to."
  default     = null

  validation {
    condition     = var.critical_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:.+$", var.critical_topic_arn))
    error_message = "critical_topic_arn must be an SNS topic ARN or null."
  }
}

variable "alerts_kms_key_arn" {
  type        = string
  description = "KMS key encrypting the alert topics (monitoring module output kms_key_arn); publishers need it. Null when the topics are not KMS-encrypted with a customer-managed key."
  default     = null

  validation {
    condition     = var.alerts_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.alerts_kms_key_arn))
    error_message = "alerts_kms_key_arn must be a KMS key ARN or null."
  }
}

variable "platform_metrics_namespace" {
  type        = string
  description = "CloudWatch namespace the monitoring task may put metrics into (settings monitoring.cloudwatch_namespace)."
  default     = "MLPlatform"

  validation {
    condition     = length(var.platform_metrics_namespace) >= 1 && length(var.platform_metrics_namespace) <= 255 && !startswith(var.platform_metrics_namespace, "AWS/")
    error_message = "platform_metrics_namespace must be 1-255 characters and must not start with AWS/."
  }
}

variable "audit_log_group_name" {
  type        = string
  description = "CloudWatch Logs group for the monitoring task's JSON audit events (settings monitoring.log_group). Null uses /mlplatform/<name>/audit, which the services module creates."
  default     = null

  validation {
    condition     = var.audit_log_group_name == null || can(regex("^/[A-Za-z0-9_./#-]{1,500}$", coalesce(var.audit_log_group_name, "/x")))
    error_message = "audit_log_group_name must start with '/' and be a valid log group name."
  }
}

variable "push_announce_topic_arn" {
  type        = string
  description = "SNS topic the Push receiver announces closed partitions on (its --sns-topic-arn); null when it announces nothing."
  default     = null

  validation {
    condition     = var.push_announce_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:.+$", var.push_announce_topic_arn))
    error_message = "push_announce_topic_arn must be an SNS topic ARN or null."
  }
}

variable "push_announce_kms_key_arn" {
  type        = string
  description = "KMS key of push_announce_topic_arn when it is encrypted with a customer-managed key."
  default     = null

  validation {
    condition     = var.push_announce_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.push_announce_kms_key_arn))
    error_message = "push_announce_kms_key_arn must be a KMS key ARN or null."
  }
}

################################################################################
# Secrets
################################################################################

variable "secret_arns" {
  type        = list(string)
  description = "Secrets Manager secrets the ECS task execution role may read to inject into containers (ECS `secrets`): the metadata DB secret, webhook URLs, routing keys, the AppsFlyer token. Base ARNs, without a :json-key:: suffix."
  default     = []

  validation {
    condition     = alltrue([for a in var.secret_arns : can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@!-]+$", a))])
    error_message = "secret_arns must hold Secrets Manager secret ARNs without a JSON-key suffix."
  }
}

variable "secrets_kms_key_arns" {
  type        = list(string)
  description = "Customer-managed KMS keys encrypting those secrets; the execution role may decrypt through Secrets Manager only. Empty when they use the AWS-managed key."
  default     = []

  validation {
    condition     = alltrue([for a in var.secrets_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", a))])
    error_message = "secrets_kms_key_arns must hold KMS key ARNs."
  }
}

variable "database_secret_arn" {
  type        = string
  description = "The metadata database secret (database module output master_user_secret_arn). The monitoring and Prometheus task roles may read it; null when the tasks get the password only through ECS secrets."
  default     = null

  validation {
    condition     = var.database_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.database_secret_arn))
    error_message = "database_secret_arn must be a Secrets Manager secret ARN or null."
  }
}

variable "monitoring_secret_arns" {
  type        = list(string)
  description = "Further secrets the monitoring task reads itself through settings such as alerts.slack_webhook_secret and alerts.pagerduty_routing_key_secret."
  default     = []

  validation {
    condition     = alltrue([for a in var.monitoring_secret_arns : can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", a))])
    error_message = "monitoring_secret_arns must hold Secrets Manager secret ARNs."
  }
}

variable "appsflyer_token_secret_arn" {
  type        = string
  description = "Secret holding the AppsFlyer Pull API V2 token (settings appsflyer.token_secret); the pull task role may read it."
  default     = null

  validation {
    condition     = var.appsflyer_token_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.appsflyer_token_secret_arn))
    error_message = "appsflyer_token_secret_arn must be a Secrets Manager secret ARN or null."
  }
}

################################################################################
# Admin role
################################################################################

variable "admin_principal_arns" {
  type        = list(string)
  description = "IAM users, roles or accounts allowed to assume the platform admin role (always with MFA)."

  validation {
    condition     = length(var.admin_principal_arns) > 0 && alltrue([for p in var.admin_principal_arns : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:", p))])
    error_message = "admin_principal_arns must list at least one IAM principal ARN (arn:aws:iam::<account>:...)."
  }
}

variable "admin_mfa_max_age_seconds" {
  type        = number
  description = "How old the caller's MFA authentication may be when assuming the admin role."
  default     = 3600

  validation {
    condition     = var.admin_mfa_max_age_seconds >= 300 && var.admin_mfa_max_age_seconds <= 43200
    error_message = "admin_mfa_max_age_seconds must be between 300 and 43200."
  }
}

variable "admin_max_session_seconds" {
  type        = number
  description = "Maximum session length of the admin role."
  default     = 3600

  validation {
    condition     = var.admin_max_session_seconds >= 3600 && var.admin_max_session_seconds <= 43200
    error_message = "admin_max_session_seconds must be between 3600 and 43200 (IAM's limits)."
  }
}

variable "admin_extra_policy_arns" {
  type        = list(string)
  description = "Further managed policies attached to the admin role (for example a company break-glass policy)."
  default     = []

  validation {
    condition     = alltrue([for a in var.admin_extra_policy_arns : can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", a))])
    error_message = "admin_extra_policy_arns must hold IAM policy ARNs."
  }
}
