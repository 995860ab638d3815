data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.name

  log_group_name       = "/ecs/${var.name}/services"
  audit_log_group_name = coalesce(var.audit_log_group_name, "/mlplatform/${var.name}/audit")

  # Durable state (alert outbox + rule state, Push spool) lives on EFS when a file system is
  # given; every other path a task writes is under /tmp, a task-local volume, because the root
  # filesystem is read-only.
  use_efs       = var.efs_file_system_id != null
  efs_path      = coalesce(var.efs_state_path, "/mlplatform/${var.name}/services")
  efs_dir       = "/var/lib/mlplatform"
  stateful      = toset(["push_receiver", "monitor_check"])
  state_dir     = { for t in local.tasks : t => local.use_efs && contains(local.stateful, t) ? local.efs_dir : "/tmp/mlplatform" }
  tasks         = concat(["push_receiver", "prometheus", "monitor_check"], local.pull_enabled ? ["appsflyer_pull"] : [])
  pull_enabled  = length(var.appsflyer_app_ids) > 0
  prometheus_sg = [var.services_security_group_id, var.operations_security_group_id]

  ################################################################################
  # Settings: module defaults < var.environment < var.task_environment.<task>
  ################################################################################

  common_environment = {
    AWS_REGION                     = local.region
    AWS_DEFAULT_REGION             = local.region
    HOME                           = "/tmp"
    PYTHONUNBUFFERED               = "1"
    MLPLATFORM_APPSFLYER__RAW_ROOT = "s3://${var.raw_bucket_name}"
  }

  monitoring_environment = merge(
    var.metadata_service_url == null ? {} : { MLPLATFORM_METADATA__SERVICE_URL = var.metadata_service_url },
    var.metadata_database_url == null ? {} : { MLPLATFORM_METADATA__DATABASE_URL = var.metadata_database_url },
    var.batch_job_queue == null ? {} : { MLPLATFORM_BATCH__JOB_QUEUE = var.batch_job_queue },
    { MLPLATFORM_MONITORING__CLOUDWATCH_NAMESPACE = var.platform_metrics_namespace },
  )

  module_environment = {
    push_receiver = {}
    prometheus    = local.monitoring_environment
    monitor_check = merge(
      local.monitoring_environment,
      {
        MLPLATFORM_MONITORING__PUBLISH_CLOUDWATCH = "true"
        MLPLATFORM_MONITORING__LOG_GROUP          = local.audit_log_group_name
        MLPLATFORM_ALERTS__STATE_DB               = "${local.state_dir["monitor_check"]}/monitoring/alerts.sqlite"
      },
      { MLPLATFORM_ALERTS__SNS_TOPIC_ARN = var.alerts_topic_arn },
    )
    appsflyer_pull = var.appsflyer_token_secret_arn == null ? {} : { MLPLATFORM_APPSFLYER__TOKEN_SECRET = var.appsflyer_token_secret_arn }
  }

  task_environment = {
    for t in local.tasks : t => merge(
      local.common_environment,
      { MLPLATFORM_HOME = local.state_dir[t] },
      local.module_environment[t],
      var.environment,
      lookup(var.task_environment, t, {}),
    )
  }

  # The database password reaches only the tasks that query the database, as PGPASSWORD
  # (libpq reads it), resolved by ECS from Secrets Manager at start.
  database_password = var.database_secret_arn == null ? {} : {
    PGPASSWORD = "${var.database_secret_arn}:${var.database_secret_password_key}::"
  }

  module_secrets = {
    push_receiver  = {}
    prometheus     = local.database_password
    monitor_check  = local.database_password
    appsflyer_pull = {}
  }

  task_secrets = {
    for t in local.tasks : t => merge(local.module_secrets[t], var.secrets, lookup(var.task_secrets, t, {}))
  }

  ################################################################################
  # Commands
  ################################################################################

  # A scheduled pull covers the last N full days; days already in the manifest are skipped.
  # Dates come from Python (always in the image), app ids and reports are validated, so the
  # script has nothing to quote.
  pull_script = join("\n", [
    "set -u",
    "to=$(python3 -c 'import datetime as d; print(d.datetime.now(d.timezone.utc).date() - d.timedelta(days=1))')",
    "from=$(python3 -c 'import datetime as d; print(d.datetime.now(d.timezone.utc).date() - d.timedelta(days=${var.appsflyer_pull_days}))')",
    "rc=0",
    "for app in ${join(" ", var.appsflyer_app_ids)}; do",
    "  for report in ${join(" ", var.appsflyer_reports)}; do",
    "    mlplatform appsflyer pull --app-id \"$app\" --report \"$report\" --from \"$from\" --to \"$to\" || rc=1",
    "  done",
    "done",
    "exit $rc",
  ])

  containers = {
    push_receiver = {
      entry_point = ["mlplatform"]
      command = concat(
        ["appsflyer", "receive", "--host", "0.0.0.0", "--port", tostring(var.push_receiver_port), "--spool", "${local.state_dir["push_receiver"]}/push-spool"],
        var.push_announce_topic_arn == null ? [] : ["--sns-topic-arn", var.push_announce_topic_arn],
      )
      port   = var.push_receiver_port
      health = "http://127.0.0.1:${var.push_receiver_port}/healthz"
    }
    prometheus = {
      entry_point = ["mlplatform"]
      command     = ["monitor", "serve", "--address", "0.0.0.0", "--port", tostring(var.prometheus_port), "--interval", tostring(var.prometheus_refresh_seconds)]
      port        = var.prometheus_port
      health      = "http://127.0.0.1:${var.prometheus_port}/metrics"
    }
    monitor_check = {
      entry_point = ["mlplatform"]
      command     = ["monitor", "check", "--json"]
      port        = null
      health      = null
    }
    appsflyer_pull = {
      entry_point = ["/bin/sh", "-c"]
      command     = [local.pull_script]
      port        = null
      health      = null
    }
  }

  container_definitions = {
    for t in local.tasks : t => [merge(
      {
        name        = replace(t, "_", "-")
        image       = var.image
        essential   = true
        entryPoint  = local.containers[t].entry_point
        command     = local.containers[t].command
        environment = [for k in sort(keys(local.task_environment[t])) : { name = k, value = local.task_environment[t][k] }]
        secrets     = [for k in sort(keys(local.task_secrets[t])) : { name = k, valueFrom = local.task_secrets[t][k] }]
        portMappings = local.containers[t].port == null ? [] : [{
          containerPort = local.containers[t].port
          hostPort      = local.containers[t].port
          protocol      = "tcp"
        }]
        readonlyRootFilesystem = true
        mountPoints = concat(
          [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }],
          local.state_dir[t] == local.efs_dir ? [{ sourceVolume = "state", containerPath = local.efs_dir, readOnly = false }] : [],
        )
        linuxParameters = { initProcessEnabled = true }
        stopTimeout     = 30
        logConfiguration = {
          logDriver = "awslogs"
          options = {
            awslogs-group         = aws_cloudwatch_log_group.services.name
            awslogs-region        = local.region
            awslogs-stream-prefix = replace(t, "_", "-")
          }
        }
      },
      # Python is always in the image; curl may not be.
      [for url in compact([local.containers[t].health]) : {
        healthCheck = {
          command     = ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('${url}', timeout=3)"]
          interval    = 30
          timeout     = 5
          retries     = 3
          startPeriod = 30
        }
      }]...
    )]
  }

  task_role_arns = {
    push_receiver  = var.push_receiver_task_role_arn
    prometheus     = coalesce(var.prometheus_task_role_arn, var.monitoring_task_role_arn)
    monitor_check  = var.monitoring_task_role_arn
    appsflyer_pull = var.appsflyer_pull_task_role_arn
  }
}

################################################################################
# Logs
################################################################################

resource "aws_cloudwatch_log_group" "services" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "audit" {
  name              = local.audit_log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

################################################################################
# Durable state: an access point on the shared EFS, owned by the containers' user
################################################################################

resource "aws_efs_access_point" "state" {
  count = local.use_efs ? 1 : 0

  file_system_id = var.efs_file_system_id

  posix_user {
    uid = var.efs_posix_uid
    gid = var.efs_posix_gid
  }

  root_directory {
    path = local.efs_path

    creation_info {
      owner_uid   = var.efs_posix_uid
      owner_gid   = var.efs_posix_gid
      permissions = "0750"
    }
  }

  tags = merge(var.tags, { Name = "${var.name}-services-state" })
}

################################################################################
# Task definitions
################################################################################

resource "aws_ecs_task_definition" "this" {
  for_each = toset(local.tasks)

  family                   = "${var.name}-${replace(each.key, "_", "-")}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_sizes[each.key].cpu
  memory                   = var.task_sizes[each.key].memory
  execution_role_arn       = var.ecs_task_execution_role_arn
  task_role_arn            = local.task_role_arns[each.key]
  container_definitions    = jsonencode(local.container_definitions[each.key])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  dynamic "volume" {
    for_each = local.state_dir[each.key] == local.efs_dir ? [1] : []

    content {
      name = "state"

      efs_volume_configuration {
        file_system_id     = var.efs_file_system_id
        transit_encryption = "ENABLED"

        authorization_config {
          access_point_id = aws_efs_access_point.state[0].id
          iam             = "ENABLED"
        }
      }
    }
  }

  tags = var.tags
}
