################################################################################
# Naming and placement
################################################################################

variable "name" {
  type        = string
  description = "Prefix for resource names, e.g. \"mlplatform-prod\"."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,26}$", var.name))
    error_message = "name must be 1-27 lowercase letters, digits or '-' (the push receiver target group is <name>-push, at most 32 characters)."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every taggable resource (propagated to the ECS tasks)."
  default     = {}
}

variable "cluster_arn" {
  type        = string
  description = "ECS cluster the tasks run in (metadata_service output cluster_arn), so they sit beside the metadata service."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/.+$", var.cluster_arn))
    error_message = "cluster_arn must be an ECS cluster ARN."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the subnets (network output vpc_id)."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123456789abcdef0."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets for the tasks (network output private_subnet_ids). Tasks get no public IP."

  validation {
    condition     = length(var.subnet_ids) > 0 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must list at least one subnet id (subnet-...)."
  }
}

variable "services_security_group_id" {
  type        = string
  description = "Security group of the Push receiver and Prometheus tasks (network output services_security_group_id): ALB to the receiver port, scrapers to the Prometheus port, EFS."

  validation {
    condition     = can(regex("^sg-[0-9a-f]{8,17}$", var.services_security_group_id))
    error_message = "services_security_group_id must look like sg-0123456789abcdef0."
  }
}

variable "operations_security_group_id" {
  type        = string
  description = "Security group that may reach PostgreSQL and the metadata service (network output operations_security_group_id); the monitor check and Prometheus tasks use it."

  validation {
    condition     = can(regex("^sg-[0-9a-f]{8,17}$", var.operations_security_group_id))
    error_message = "operations_security_group_id must look like sg-0123456789abcdef0."
  }
}

################################################################################
# Image and roles
################################################################################

variable "image" {
  type        = string
  description = "Container image with the mlplatform CLI, pinned by tag or digest (for example the ecr module's batch repository URL with an immutable tag)."

  validation {
    condition     = can(regex("^[^\\s]+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$", var.image)) && !endswith(var.image, ":latest")
    error_message = "image must be pinned: <repository>:<tag> (not :latest) or <repository>@sha256:<digest>."
  }
}

variable "cpu_architecture" {
  type        = string
  description = "CPU architecture the image is built for."
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "ecs_task_execution_role_arn" {
  type        = string
  description = "Execution role of every task here (iam output ecs_task_execution_role_arn): image pull, logs, the secrets in `secrets`/`task_secrets`."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.ecs_task_execution_role_arn))
    error_message = "ecs_task_execution_role_arn must be an IAM role ARN."
  }
}

variable "monitoring_task_role_arn" {
  type        = string
  description = "Task role of `mlplatform monitor check` (iam output monitoring_task_role_arn)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.monitoring_task_role_arn))
    error_message = "monitoring_task_role_arn must be an IAM role ARN."
  }
}

variable "prometheus_task_role_arn" {
  type        = string
  description = "Task role of `mlplatform monitor serve` (iam output prometheus_task_role_arn). Null uses monitoring_task_role_arn."
  default     = null

  validation {
    condition     = var.prometheus_task_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.prometheus_task_role_arn))
    error_message = "prometheus_task_role_arn must be an IAM role ARN or null."
  }
}

variable "push_receiver_task_role_arn" {
  type        = string
  description = "Task role of the AppsFlyer Push receiver (iam output push_receiver_task_role_arn)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.push_receiver_task_role_arn))
    error_message = "push_receiver_task_role_arn must be an IAM role ARN."
  }
}

variable "appsflyer_pull_task_role_arn" {
  type        = string
  description = "Task role of the scheduled AppsFlyer Pull download (iam output appsflyer_pull_task_role_arn)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.appsflyer_pull_task_role_arn))
    error_message = "appsflyer_pull_task_role_arn must be an IAM role ARN."
  }
}

################################################################################
# Settings that reach the containers
################################################################################

variable "environment" {
  type        = map(string)
  description = "Plain settings for every container, as MLPLATFORM_<SECTION>__<KEY> (and other non-secret) environment variables. Secrets never go here: use `secrets`."
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.environment) : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k))])
    error_message = "environment keys must be valid variable names (letters, digits, '_')."
  }

  validation {
    condition     = alltrue([for k in keys(var.environment) : !can(regex("(?i)(PASSWORD|PASSWD|PSWD|SECRET_KEY|API_TOKEN|WEBHOOK_URL|ROUTING_KEY|ACCESS_KEY)$", k))])
    error_message = "environment must not carry secrets (a key ends in PASSWORD, API_TOKEN, WEBHOOK_URL, ROUTING_KEY, ...): put it in `secrets` as a Secrets Manager ARN."
  }

  validation {
    condition     = alltrue([for v in values(var.environment) : !can(regex("://[^/@:\\s]+:[^/@\\s]+@", v))])
    error_message = "environment values must not embed credentials in URLs (user:password@host): keep the password in `secrets`, e.g. PGPASSWORD."
  }
}

variable "secrets" {
  type        = map(string)
  description = "Secrets for every container: environment variable name -> Secrets Manager secret ARN (optionally with a :json-key:: suffix) or SSM parameter ARN. ECS resolves them at start; the values never appear in the task definition."
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.secrets : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k)) && can(regex("^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:|ssm:[a-z0-9-]+:[0-9]{12}:parameter/)", v))])
    error_message = "secrets must map variable names to Secrets Manager secret ARNs or SSM parameter ARNs, never to values."
  }
}

variable "task_environment" {
  type = object({
    push_receiver  = optional(map(string), {})
    prometheus     = optional(map(string), {})
    monitor_check  = optional(map(string), {})
    appsflyer_pull = optional(map(string), {})
  })
  description = "Extra plain settings for one task only; they override `environment` and the module's defaults."
  default     = {}

  validation {
    condition = alltrue(flatten([for task, env in var.task_environment : [
      for k, v in env : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k)) && !can(regex("(?i)(PASSWORD|PASSWD|PSWD|SECRET_KEY|API_TOKEN|WEBHOOK_URL|ROUTING_KEY|ACCESS_KEY)$", k)) && !can(regex("://[^/@:\\s]+:[^/@\\s]+@", v))
    ]]))
    error_message = "task_environment must hold valid variable names and no secrets or credentials in URLs: use task_secrets."
  }
}

variable "task_secrets" {
  type = object({
    push_receiver  = optional(map(string), {})
    prometheus     = optional(map(string), {})
    monitor_check  = optional(map(string), {})
    appsflyer_pull = optional(map(string), {})
  })
  description = "Secrets for one task only (e.g. the Slack webhook for monitor_check), same form as `secrets`. Give each task only what its command reads."
  default     = {}

  validation {
    condition = alltrue(flatten([for task, s in var.task_secrets : [
      for k, v in s : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k)) && can(regex("^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:|ssm:[a-z0-9-]+:[0-9]{12}:parameter/)", v))
    ]]))
    error_message = "task_secrets must map variable names to Secrets Manager or SSM parameter ARNs."
  }
}

variable "metadata_service_url" {
  type        = string
  description = "Metaflow metadata service URL (metadata_service output service_url); sets MLPLATFORM_METADATA__SERVICE_URL for the monitoring tasks."
  default     = null
}

variable "metadata_database_url" {
  type        = string
  description = "PostgreSQL URL of the metadata database WITHOUT password (database output database_url_template, or the replica's), for the SQL collector: MLPLATFORM_METADATA__DATABASE_URL. The password comes from database_secret_arn as PGPASSWORD."
  default     = null

  validation {
    condition     = var.metadata_database_url == null || can(regex("^postgres(ql)?://[^:/@\\s]+@[^\\s]+$", coalesce(var.metadata_database_url, "postgresql://u@h")))
    error_message = "metadata_database_url must be postgresql://user@host:port/db?... with no password in it."
  }
}

variable "database_secret_arn" {
  type        = string
  description = "Secrets Manager secret holding the database credentials as JSON (database output master_user_secret_arn); its password key becomes PGPASSWORD in the monitoring and Prometheus containers."
  default     = null

  validation {
    condition     = var.database_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@!-]+$", coalesce(var.database_secret_arn, "arn:aws:secretsmanager:x:000000000000:secret:x")))
    error_message = "database_secret_arn must be a Secrets Manager secret ARN without a JSON-key suffix."
  }
}

variable "database_secret_password_key" {
  type        = string
  description = "JSON key of the password inside database_secret_arn (RDS-managed secrets use \"password\")."
  default     = "password"
}

variable "batch_job_queue" {
  type        = string
  description = "AWS Batch job queue name or ARN (compute output job_queue_name) for the queue depth rule: MLPLATFORM_BATCH__JOB_QUEUE."
  default     = null
}

variable "alerts_topic_arn" {
  type        = string
  description = "SNS alerts topic (monitoring output alerts_topic_arn): `monitor check` publishes there (MLPLATFORM_ALERTS__SNS_TOPIC_ARN), and a scheduled task that fails is reported there."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:.+$", var.alerts_topic_arn))
    error_message = "alerts_topic_arn must be an SNS topic ARN."
  }
}

variable "platform_metrics_namespace" {
  type        = string
  description = "CloudWatch namespace `monitor check` publishes into (it is switched on here: MLPLATFORM_MONITORING__PUBLISH_CLOUDWATCH=true)."
  default     = "MLPlatform"

  validation {
    condition     = length(var.platform_metrics_namespace) >= 1 && length(var.platform_metrics_namespace) <= 255 && !startswith(var.platform_metrics_namespace, "AWS/")
    error_message = "platform_metrics_namespace must be 1-255 characters and must not start with AWS/."
  }
}

variable "audit_log_group_name" {
  type        = string
  description = "Log group for `monitor check`'s JSON audit events, created here (MLPLATFORM_MONITORING__LOG_GROUP). Null uses /mlplatform/<name>/audit, the iam module's default."
  default     = null
}

variable "raw_bucket_name" {
  type        = string
  description = "Raw landing bucket; MLPLATFORM_APPSFLYER__RAW_ROOT is s3://<bucket> (data lands under appsflyer/)."
  default     = "data-platform-raw"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.raw_bucket_name))
    error_message = "raw_bucket_name must be a valid S3 bucket name."
  }
}

################################################################################
# Durable state on EFS (alert outbox and rule state, Push receiver spool)
################################################################################

variable "efs_file_system_id" {
  type        = string
  description = "EFS file system for the services' durable state. Strongly recommended: without it the alert outbox/rule state of the scheduled `monitor check` and the Push receiver's write-ahead spool live on task storage and are lost when a task ends (repeated or lost alerts, lost postbacks)."
  default     = null

  validation {
    condition     = var.efs_file_system_id == null || can(regex("^fs-[0-9a-f]{8,40}$", coalesce(var.efs_file_system_id, "fs-00000000")))
    error_message = "efs_file_system_id must look like fs-0123456789abcdef0 or be null."
  }
}

variable "efs_state_path" {
  type        = string
  description = "Directory on the file system for the state access point. Null uses /mlplatform/<name>/services."
  default     = null

  validation {
    condition     = var.efs_state_path == null || can(regex("^(/[A-Za-z0-9._-]+)+$", coalesce(var.efs_state_path, "/x")))
    error_message = "efs_state_path must be an absolute path like /mlplatform/prod/services."
  }
}

variable "efs_posix_uid" {
  type        = number
  description = "POSIX user id the containers write the state volume as (the image's non-root user)."
  default     = 1000

  validation {
    condition     = var.efs_posix_uid >= 1 && var.efs_posix_uid <= 4294967294
    error_message = "efs_posix_uid must be a non-root uid (>= 1)."
  }
}

variable "efs_posix_gid" {
  type        = number
  description = "POSIX group id for the state volume."
  default     = 1000

  validation {
    condition     = var.efs_posix_gid >= 1 && var.efs_posix_gid <= 4294967294
    error_message = "efs_posix_gid must be a non-root gid (>= 1)."
  }
}

################################################################################
# AppsFlyer Push receiver (ECS service behind the shared ALB)
################################################################################

variable "https_listener_arn" {
  type        = string
  description = "HTTPS listener of the shared ALB (jupyterhub output https_listener_arn); a rule forwards the postback path to the receiver."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:listener/app/.+$", var.https_listener_arn))
    error_message = "https_listener_arn must be an application load balancer listener ARN."
  }
}

variable "push_receiver_port" {
  type        = number
  description = "Port the receiver listens on in its container (network module push_receiver_port)."
  default     = 8000

  validation {
    condition     = var.push_receiver_port >= 1024 && var.push_receiver_port <= 65535
    error_message = "push_receiver_port must be between 1024 and 65535 (the container runs as a non-root user)."
  }
}

variable "push_receiver_path_patterns" {
  type        = list(string)
  description = "ALB path patterns forwarded to the receiver. The ALB does not rewrite paths, so these must be paths the receiver serves: it answers POST/GET /postback."
  default     = ["/postback"]

  validation {
    condition     = length(var.push_receiver_path_patterns) >= 1 && length(var.push_receiver_path_patterns) <= 4 && alltrue([for p in var.push_receiver_path_patterns : startswith(p, "/postback")])
    error_message = "push_receiver_path_patterns must list 1-4 patterns starting with /postback (the only path the receiver serves besides /healthz)."
  }
}

variable "push_receiver_host_headers" {
  type        = list(string)
  description = "Host names the postback rule also requires (e.g. [\"appsflyer.example.com\"]); empty: any host on the listener."
  default     = []
}

variable "push_receiver_source_cidrs" {
  type        = list(string)
  description = "Source CIDRs allowed to post (AppsFlyer's published Push API IP ranges); empty: whatever the ALB security group lets in."
  default     = []

  validation {
    condition     = length(var.push_receiver_source_cidrs) <= 4 && alltrue([for c in var.push_receiver_source_cidrs : can(cidrhost(c, 0))])
    error_message = "push_receiver_source_cidrs must hold at most 4 valid CIDR blocks (ALB rule condition limit)."
  }
}

variable "listener_rule_priority" {
  type        = number
  description = "Priority of the postback rule on the HTTPS listener (unique per listener)."
  default     = 100

  validation {
    condition     = var.listener_rule_priority >= 1 && var.listener_rule_priority <= 50000
    error_message = "listener_rule_priority must be between 1 and 50000."
  }
}

variable "push_receiver_desired_count" {
  type        = number
  description = "Receiver tasks: 1, or 0 to pause. Never more: every task rolls its own write-ahead files into the same hourly part-00000.parquet, so two would overwrite each other's hours."
  default     = 1

  validation {
    condition     = contains([0, 1], var.push_receiver_desired_count)
    error_message = "push_receiver_desired_count must be 0 or 1 (two receivers would overwrite each other's hourly partitions)."
  }
}

variable "push_announce_topic_arn" {
  type        = string
  description = "SNS topic the receiver announces closed partitions on (--sns-topic-arn); null: no announcements."
  default     = null
}

################################################################################
# Prometheus endpoint (`mlplatform monitor serve`)
################################################################################

variable "prometheus_port" {
  type        = number
  description = "Port of /metrics (network module prometheus_port)."
  default     = 9108

  validation {
    condition     = var.prometheus_port >= 1024 && var.prometheus_port <= 65535
    error_message = "prometheus_port must be between 1024 and 65535."
  }
}

variable "prometheus_refresh_seconds" {
  type        = number
  description = "Seconds between two refreshes of the numbers behind /metrics (each refresh queries the database)."
  default     = 60

  validation {
    condition     = var.prometheus_refresh_seconds >= 10
    error_message = "prometheus_refresh_seconds must be at least 10."
  }
}

variable "prometheus_desired_count" {
  type        = number
  description = "Prometheus endpoint tasks (0 pauses it)."
  default     = 1

  validation {
    condition     = var.prometheus_desired_count >= 0 && var.prometheus_desired_count <= 3
    error_message = "prometheus_desired_count must be between 0 and 3."
  }
}

variable "service_discovery_namespace_id" {
  type        = string
  description = "Existing Cloud Map private DNS namespace to register the Prometheus endpoint in. Null with create_service_discovery_namespace creates <name>.internal."
  default     = null
}

variable "create_service_discovery_namespace" {
  type        = bool
  description = "Create the private DNS namespace <name>.internal in vpc_id when service_discovery_namespace_id is null, so scrapers find the endpoint at prometheus.<name>.internal:<port>. False and no id: no DNS name."
  default     = true
}

################################################################################
# Schedules
################################################################################

variable "monitor_check_schedule" {
  type        = string
  description = "When `mlplatform monitor check` runs (EventBridge Scheduler rate() or cron())."
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^(rate\\(\\d+ (minute|minutes|hour|hours|day|days)\\)|cron\\(.+\\))$", var.monitor_check_schedule))
    error_message = "monitor_check_schedule must be rate(<n> <unit>) or cron(<6 fields>)."
  }
}

variable "appsflyer_pull_schedule" {
  type        = string
  description = "When the AppsFlyer Pull download runs (EventBridge Scheduler expression)."
  default     = "cron(0 3 * * ? *)"

  validation {
    condition     = can(regex("^(rate\\(\\d+ (minute|minutes|hour|hours|day|days)\\)|cron\\(.+\\))$", var.appsflyer_pull_schedule))
    error_message = "appsflyer_pull_schedule must be rate(<n> <unit>) or cron(<6 fields>)."
  }
}

variable "schedule_timezone" {
  type        = string
  description = "Time zone of cron() schedules."
  default     = "UTC"
}

variable "appsflyer_app_ids" {
  type        = list(string)
  description = "Apps the Pull download fetches (iOS id<digits> or Android package). Empty: no pull task or schedule."
  default     = []

  validation {
    condition     = alltrue([for a in var.appsflyer_app_ids : can(regex("^(id[0-9]+|[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z0-9_]+)+)$", a))])
    error_message = "appsflyer_app_ids must be iOS ids (id123456789) or Android package names (com.example.app)."
  }
}

variable "appsflyer_reports" {
  type        = list(string)
  description = "Reports the Pull download fetches per app (mlplatform report ids)."
  default     = ["installs", "in_app_events", "organic_installs", "organic_in_app_events"]

  validation {
    condition = length(var.appsflyer_reports) > 0 && alltrue([for r in var.appsflyer_reports : contains([
      "installs", "in_app_events", "uninstalls", "reinstalls", "organic_installs",
      "organic_in_app_events", "retargeting_installs", "retargeting_in_app_events",
    ], r)])
    error_message = "appsflyer_reports must list report ids: installs, in_app_events, uninstalls, reinstalls, organic_installs, organic_in_app_events, retargeting_installs, retargeting_in_app_events."
  }
}

variable "appsflyer_pull_days" {
  type        = number
  description = "Each pull covers the last N full days (UTC) up to yesterday; days already landed are skipped, so N > 1 fills gaps after an outage."
  default     = 3

  validation {
    condition     = var.appsflyer_pull_days >= 1 && var.appsflyer_pull_days <= 90 && floor(var.appsflyer_pull_days) == var.appsflyer_pull_days
    error_message = "appsflyer_pull_days must be a whole number from 1 to 90 (the Pull API's lookback)."
  }
}

variable "appsflyer_token_secret_arn" {
  type        = string
  description = "Secrets Manager secret with the Pull API token; the pull task reads it with its own role (MLPLATFORM_APPSFLYER__TOKEN_SECRET)."
  default     = null
}

################################################################################
# Sizes, logs, encryption
################################################################################

variable "task_sizes" {
  type = object({
    push_receiver  = optional(object({ cpu = number, memory = number }), { cpu = 512, memory = 1024 })
    prometheus     = optional(object({ cpu = number, memory = number }), { cpu = 512, memory = 1024 })
    monitor_check  = optional(object({ cpu = number, memory = number }), { cpu = 512, memory = 1024 })
    appsflyer_pull = optional(object({ cpu = number, memory = number }), { cpu = 1024, memory = 4096 })
  })
  description = "Fargate CPU units and memory (MiB) per task."
  default     = {}

  validation {
    condition     = alltrue([for t, s in var.task_sizes : contains([256, 512, 1024, 2048, 4096, 8192, 16384], s.cpu) && s.memory >= 2 * s.cpu && s.memory <= s.cpu * 8])
    error_message = "task_sizes: cpu must be a Fargate size (256..16384) and memory between 2 x and 8 x cpu MiB."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the service and audit log groups."
  default     = 365

  validation {
    condition     = contains([7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value of at least 7 days (7, 14, 30, 60, 90, ..., 365, 400, ...)."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key for the log groups and the schedules; its policy must allow CloudWatch Logs (logs.<region>.amazonaws.com). Null: AWS-owned keys."
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", coalesce(var.kms_key_arn, "arn:aws:kms:x:000000000000:key/x")))
    error_message = "kms_key_arn must be a KMS key ARN or null."
  }
}
