################################################################################
# Platform admin role: assumed by the listed principals, only with MFA. It runs the user
# manager and operates the platform (doctor, runbook actions); it is not account admin.
################################################################################

data "aws_iam_policy_document" "admin_trust" {
  statement {
    sid     = "AdminsWithMfa"
    effect  = "Allow"
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "AWS"
      identifiers = var.admin_principal_arns
    }

    condition {
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "aws:MultiFactorAuthAge"
      values   = [tostring(var.admin_mfa_max_age_seconds)]
    }
  }
}

resource "aws_iam_role" "admin" {
  name                 = "${var.name}-admin"
  path                 = var.iam_path
  description          = "mlplatform admins: user management and platform operations (MFA required)."
  assume_role_policy   = data.aws_iam_policy_document.admin_trust.json
  max_session_duration = var.admin_max_session_seconds

  tags = var.tags
}

data "aws_iam_policy_document" "admin_operate" {
  # Read-only views of the platform's services. These Describe/List/Get calls mostly support
  # no resource-level permissions.
  statement {
    sid    = "ReadPlatformState"
    effect = "Allow"
    actions = [
      "batch:DescribeComputeEnvironments",
      "batch:DescribeJobDefinitions",
      "batch:DescribeJobQueues",
      "batch:DescribeJobs",
      "batch:ListJobs",
      "cloudwatch:GetMetricData",
      "cloudwatch:ListMetrics",
      "ecs:DescribeTaskDefinition",
      "ecs:ListServices",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
      "events:ListRules",
      "rds:DescribeEvents",
      "scheduler:ListSchedules",
      "states:ListStateMachines",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "ReadPlatformAlarms"
    effect    = "Allow"
    actions   = ["cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard"]
    resources = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account}:alarm:${var.name}*", "arn:${local.partition}:cloudwatch::${local.account}:dashboard/${var.name}*"]
  }

  statement {
    sid     = "ReadPlatformCluster"
    effect  = "Allow"
    actions = ["ecs:DescribeClusters", "ecs:DescribeServices", "ecs:DescribeTasks", "ecs:ListTasks"]
    resources = [
      local.ecs_cluster_arn,
      "arn:${local.partition}:ecs:${local.region}:${local.account}:service/${local.ecs_cluster_name}/*",
      "arn:${local.partition}:ecs:${local.region}:${local.account}:task/${local.ecs_cluster_name}/*",
      "arn:${local.partition}:ecs:${local.region}:${local.account}:container-instance/${local.ecs_cluster_name}/*",
    ]
  }

  statement {
    sid     = "ReadPlatformDatabase"
    effect  = "Allow"
    actions = ["rds:DescribeDBInstances", "rds:DescribeDBSnapshots"]
    resources = [
      "arn:${local.partition}:rds:${local.region}:${local.account}:db:${var.name}*",
      "arn:${local.partition}:rds:${local.region}:${local.account}:snapshot:${var.name}*",
      "arn:${local.partition}:rds:${local.region}:${local.account}:snapshot:rds:${var.name}*",
    ]
  }

  statement {
    sid     = "ReadFileSystems"
    effect  = "Allow"
    actions = ["elasticfilesystem:DescribeAccessPoints", "elasticfilesystem:DescribeFileSystems", "elasticfilesystem:DescribeMountTargets"]
    resources = [
      "arn:${local.partition}:elasticfilesystem:${local.region}:${local.account}:file-system/*",
      "arn:${local.partition}:elasticfilesystem:${local.region}:${local.account}:access-point/*",
    ]
  }

  statement {
    sid    = "ReadPlatformLogs"
    effect = "Allow"
    actions = [
      "logs:DescribeLogStreams",
      "logs:FilterLogEvents",
      "logs:GetLogEvents",
      "logs:StartQuery",
    ]
    resources = concat(local.batch_log_group_arns, [
      "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${local.service_log_group_prefix}*:*",
      "${local.audit_log_group_arn}:*",
    ])
  }

  statement {
    sid       = "ReadPlatformAlertState"
    effect    = "Allow"
    actions   = ["sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:Publish"]
    resources = local.alert_topic_arns
  }

  dynamic "statement" {
    for_each = var.alerts_kms_key_arn == null ? [] : [var.alerts_kms_key_arn]

    content {
      sid       = "PublishEncryptedAlerts"
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

  # Runbook actions: roll or scale a service, run a one-off task (for example a migration or
  # `mlplatform doctor`), stop a stuck task, in the platform's cluster only.
  statement {
    sid       = "OperateServices"
    effect    = "Allow"
    actions   = ["ecs:UpdateService"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account}:service/${local.ecs_cluster_name}/*"]
  }

  statement {
    sid       = "RunAndStopTasks"
    effect    = "Allow"
    actions   = ["ecs:RunTask", "ecs:StopTask"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account}:task-definition/${var.name}*", "arn:${local.partition}:ecs:${local.region}:${local.account}:task/*"]

    condition {
      test     = "ArnLike"
      variable = "ecs:cluster"
      values   = [local.ecs_cluster_arn]
    }
  }

  statement {
    sid     = "PassTaskRoles"
    effect  = "Allow"
    actions = ["iam:PassRole"]
    resources = [
      aws_iam_role.ecs_task_execution.arn,
      aws_iam_role.monitoring_task.arn,
      aws_iam_role.prometheus_task.arn,
      aws_iam_role.push_receiver_task.arn,
      aws_iam_role.appsflyer_pull_task.arn,
    ]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "StopStuckJobs"
    effect    = "Allow"
    actions   = ["batch:TerminateJob", "batch:CancelJob"]
    resources = [local.batch_job_arns]
  }

  statement {
    sid       = "ToggleJobQueue"
    effect    = "Allow"
    actions   = ["batch:UpdateJobQueue"]
    resources = [local.job_queue_arn]
  }

  statement {
    sid    = "OperateStateMachines"
    effect = "Allow"
    actions = [
      "states:DescribeExecution",
      "states:DescribeStateMachine",
      "states:GetExecutionHistory",
      "states:ListExecutions",
      "states:StopExecution",
    ]
    resources = [local.state_machine_arns, local.execution_arns]
  }

  statement {
    sid       = "SnapshotAndRebootDatabase"
    effect    = "Allow"
    actions   = ["rds:CreateDBSnapshot", "rds:RebootDBInstance", "rds:AddTagsToResource"]
    resources = ["arn:${local.partition}:rds:${local.region}:${local.account}:db:${var.name}*", "arn:${local.partition}:rds:${local.region}:${local.account}:snapshot:${var.name}*"]
  }

  statement {
    sid       = "ReadArtifacts"
    effect    = "Allow"
    actions   = ["s3:ListBucket", "s3:GetObject"]
    resources = [local.artifacts_bucket_arn, "${local.artifacts_bucket_arn}/*"]
  }

  statement {
    sid       = "DecryptArtifactsThroughS3"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via]
    }
  }

  dynamic "statement" {
    for_each = length(var.secret_arns) > 0 ? [1] : []

    content {
      sid       = "ReadPlatformSecrets"
      effect    = "Allow"
      actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
      resources = var.secret_arns
    }
  }
}

resource "aws_iam_role_policy" "admin_operate" {
  name   = "operate-platform"
  role   = aws_iam_role.admin.id
  policy = data.aws_iam_policy_document.admin_operate.json
}

resource "aws_iam_role_policy_attachment" "admin_user_manager" {
  role       = aws_iam_role.admin.name
  policy_arn = aws_iam_policy.user_manager.arn
}

resource "aws_iam_role_policy_attachment" "admin_extra" {
  for_each = toset(var.admin_extra_policy_arns)

  role       = aws_iam_role.admin.name
  policy_arn = each.value
}
