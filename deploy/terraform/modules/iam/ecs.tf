################################################################################
# ECS: one task execution role (the ECS agent pulls images, writes logs, injects secrets) and
# one task role per runtime piece, each with only what its command does.
################################################################################

data "aws_iam_policy_document" "ecs_execution_trust" {
  statement {
    sid     = "EcsTasks"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ecs_task_execution" {
  name               = "${var.name}-ecs-task-execution"
  path               = var.iam_path
  description        = "ECS agent for the mlplatform services: pull images, write logs, read the listed secrets."
  assume_role_policy = data.aws_iam_policy_document.ecs_execution_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "ecs_task_execution" {
  # GetAuthorizationToken accepts only "*".
  statement {
    sid       = "EcrLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullPlatformImages"
    effect    = "Allow"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = local.ecr_repository_arns
  }

  statement {
    sid       = "WriteServiceLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.service_log_streams]
  }

  dynamic "statement" {
    for_each = length(var.secret_arns) > 0 ? [1] : []

    content {
      sid       = "InjectListedSecrets"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = var.secret_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.secrets_kms_key_arns) > 0 ? [1] : []

    content {
      sid       = "DecryptSecretsThroughSecretsManager"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = var.secrets_kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "ecs_task_execution" {
  name   = "pull-log-secrets"
  role   = aws_iam_role.ecs_task_execution.id
  policy = data.aws_iam_policy_document.ecs_task_execution.json
}

################################################################################
# Monitoring task: `mlplatform monitor check` on a schedule
################################################################################

resource "aws_iam_role" "monitoring_task" {
  name               = "${var.name}-monitoring-task"
  path               = var.iam_path
  description        = "mlplatform monitor check: read run metadata, publish metrics, audit events and alerts."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "monitoring_task" {
  dynamic "statement" {
    for_each = length(local.monitor_secret_arns) > 0 ? [1] : []

    content {
      sid       = "ReadDatabaseAndAlertSecrets"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.monitor_secret_arns
    }
  }

  # PutMetricData accepts only "*"; the namespace condition is what scopes it.
  statement {
    sid       = "PutPlatformMetrics"
    effect    = "Allow"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.platform_metrics_namespace]
    }
  }

  statement {
    sid       = "WriteAuditEvents"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.audit_log_group_arn}:log-stream:*"]
  }

  statement {
    sid       = "PublishAlerts"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = local.alert_topic_arns
  }

  dynamic "statement" {
    for_each = var.alerts_kms_key_arn == null ? [] : [var.alerts_kms_key_arn]

    content {
      sid       = "EncryptAlertsThroughSns"
      effect    = "Allow"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sns.${local.region}.amazonaws.com"]
      }
    }
  }

  # Queue depth (the Batch queue > 50 jobs rule): these APIs support no resource-level permissions.
  statement {
    sid       = "ReadBatchQueue"
    effect    = "Allow"
    actions   = ["batch:ListJobs", "batch:DescribeJobs", "batch:DescribeJobQueues"]
    resources = ["*"]
  }

  statement {
    sid       = "ListDatastore"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.artifacts_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [var.datastore_prefix, "${var.datastore_prefix}*"]
    }
  }

  statement {
    sid       = "ReadDatastore"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${local.artifacts_bucket_arn}/${var.datastore_prefix}*"]
  }

  statement {
    sid       = "DecryptDatastoreThroughS3"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via]
    }
  }

  dynamic "statement" {
    for_each = var.efs_file_system_arn == null ? [] : [var.efs_file_system_arn]

    content {
      sid       = "MountStateVolume"
      effect    = "Allow"
      actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
      resources = [statement.value]

      condition {
        test     = "Bool"
        variable = "elasticfilesystem:AccessedViaMountTarget"
        values   = ["true"]
      }
    }
  }
}

resource "aws_iam_role_policy" "monitoring_task" {
  name   = "monitor-check"
  role   = aws_iam_role.monitoring_task.id
  policy = data.aws_iam_policy_document.monitoring_task.json
}

################################################################################
# Prometheus task: `mlplatform monitor serve` (reads what check reads, publishes nothing)
################################################################################

resource "aws_iam_role" "prometheus_task" {
  name               = "${var.name}-prometheus-task"
  path               = var.iam_path
  description        = "mlplatform monitor serve: read run metadata for the Prometheus endpoint."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "prometheus_task" {
  dynamic "statement" {
    for_each = length(local.database_secret_arns) > 0 ? [1] : []

    content {
      sid       = "ReadDatabaseSecret"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.database_secret_arns
    }
  }

  statement {
    sid       = "ReadBatchQueue"
    effect    = "Allow"
    actions   = ["batch:ListJobs", "batch:DescribeJobs", "batch:DescribeJobQueues"]
    resources = ["*"]
  }

  statement {
    sid       = "ListDatastore"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.artifacts_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [var.datastore_prefix, "${var.datastore_prefix}*"]
    }
  }

  statement {
    sid       = "ReadDatastore"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${local.artifacts_bucket_arn}/${var.datastore_prefix}*"]
  }

  statement {
    sid       = "DecryptDatastoreThroughS3"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via]
    }
  }
}

resource "aws_iam_role_policy" "prometheus_task" {
  name   = "monitor-serve"
  role   = aws_iam_role.prometheus_task.id
  policy = data.aws_iam_policy_document.prometheus_task.json
}

################################################################################
# AppsFlyer Push receiver: writes closed hours under the AppsFlyer prefix of the raw bucket
################################################################################

resource "aws_iam_role" "push_receiver_task" {
  name               = "${var.name}-push-receiver-task"
  path               = var.iam_path
  description        = "mlplatform appsflyer receive: land Push API partitions under s3://${var.raw_bucket_name}/${var.appsflyer_prefix}."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "push_receiver_task" {
  statement {
    sid       = "LandPushPartitions"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = [local.appsflyer_objects]
  }

  dynamic "statement" {
    for_each = length(local.raw_kms_keys) > 0 ? [1] : []

    content {
      sid       = "EncryptThroughS3"
      effect    = "Allow"
      actions   = ["kms:GenerateDataKey", "kms:Encrypt"]
      resources = local.raw_kms_keys

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.s3_via]
      }
    }
  }

  dynamic "statement" {
    for_each = var.push_announce_topic_arn == null ? [] : [var.push_announce_topic_arn]

    content {
      sid       = "AnnouncePartitions"
      effect    = "Allow"
      actions   = ["sns:Publish"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.push_announce_kms_key_arn == null ? [] : [var.push_announce_kms_key_arn]

    content {
      sid       = "EncryptAnnouncementsThroughSns"
      effect    = "Allow"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sns.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.efs_file_system_arn == null ? [] : [var.efs_file_system_arn]

    content {
      sid       = "MountSpoolVolume"
      effect    = "Allow"
      actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
      resources = [statement.value]

      condition {
        test     = "Bool"
        variable = "elasticfilesystem:AccessedViaMountTarget"
        values   = ["true"]
      }
    }
  }
}

resource "aws_iam_role_policy" "push_receiver_task" {
  name   = "appsflyer-receive"
  role   = aws_iam_role.push_receiver_task.id
  policy = data.aws_iam_policy_document.push_receiver_task.json
}

################################################################################
# AppsFlyer Pull download: reads its token, lands days (and their manifest) under the prefix
################################################################################

resource "aws_iam_role" "appsflyer_pull_task" {
  name               = "${var.name}-appsflyer-pull-task"
  path               = var.iam_path
  description        = "mlplatform appsflyer pull: read the API token, land reports under s3://${var.raw_bucket_name}/${var.appsflyer_prefix}."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "appsflyer_pull_task" {
  dynamic "statement" {
    for_each = var.appsflyer_token_secret_arn == null ? [] : [var.appsflyer_token_secret_arn]

    content {
      sid       = "ReadApiToken"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  # ListBucket: without it a missing _manifest.json reads as AccessDenied, not as "no days yet".
  statement {
    sid       = "ListAppsFlyerPrefix"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.raw_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [var.appsflyer_prefix, "${var.appsflyer_prefix}*"]
    }
  }

  statement {
    sid       = "LandReports"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [local.appsflyer_objects]
  }

  # Landed raw data is append-only, with one exception the pull makes itself: a re-pulled day
  # drops the part files an interrupted earlier pull left beyond the new count.
  statement {
    sid       = "DropStaleParts"
    effect    = "Allow"
    actions   = ["s3:DeleteObject"]
    resources = ["${local.raw_bucket_arn}/${var.appsflyer_prefix}*/part-*"]
  }

  dynamic "statement" {
    for_each = length(local.raw_kms_keys) > 0 ? [1] : []

    content {
      sid       = "UseRawKeyThroughS3"
      effect    = "Allow"
      actions   = ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"]
      resources = local.raw_kms_keys

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.s3_via]
      }
    }
  }
}

resource "aws_iam_role_policy" "appsflyer_pull_task" {
  name   = "appsflyer-pull"
  role   = aws_iam_role.appsflyer_pull_task.id
  policy = data.aws_iam_policy_document.appsflyer_pull_task.json
}
