################################################################################
# Scheduled tasks on EventBridge Scheduler: `mlplatform monitor check` and the AppsFlyer Pull
# download. The schedules' role may run only these task definitions in this cluster and pass
# only their roles.
################################################################################

locals {
  scheduled = { for t in ["monitor_check", "appsflyer_pull"] : t => t if contains(local.tasks, t) }

  schedule = {
    monitor_check = {
      expression = var.monitor_check_schedule
      # A check that could not start within 5 minutes is superseded by the next one.
      max_age  = 300
      attempts = 2
      # The operations group reaches PostgreSQL and the metadata API; the services group
      # reaches EFS, where the alert outbox lives.
      security_groups = concat([var.operations_security_group_id], local.use_efs ? [var.services_security_group_id] : [])
    }
    appsflyer_pull = {
      expression      = var.appsflyer_pull_schedule
      max_age         = 3600
      attempts        = 5
      security_groups = [var.services_security_group_id]
    }
  }
}

resource "aws_scheduler_schedule_group" "this" {
  name = var.name

  tags = var.tags
}

data "aws_iam_policy_document" "scheduler_trust" {
  statement {
    sid     = "EventBridgeScheduler"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name}-scheduler"
  path               = "/mlplatform/"
  description        = "EventBridge Scheduler: run the ${var.name} monitor check and AppsFlyer pull tasks."
  assume_role_policy = data.aws_iam_policy_document.scheduler_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "RunScheduledTasks"
    effect    = "Allow"
    actions   = ["ecs:RunTask"]
    resources = flatten([for t in keys(local.scheduled) : [aws_ecs_task_definition.this[t].arn_without_revision, "${aws_ecs_task_definition.this[t].arn_without_revision}:*"]])

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  statement {
    sid       = "TagStartedTasks"
    effect    = "Allow"
    actions   = ["ecs:TagResource"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account}:task/*"]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "DecryptSchedulePayload"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "PassTaskRoles"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = distinct(concat([var.ecs_task_execution_role_arn], [for t in keys(local.scheduled) : local.task_role_arns[t]]))

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "run-scheduled-tasks"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "this" {
  for_each = local.scheduled

  name                         = "${var.name}-${replace(each.key, "_", "-")}"
  group_name                   = aws_scheduler_schedule_group.this.name
  description                  = each.key == "monitor_check" ? "mlplatform monitor check: evaluate the alert rules and send what they raise." : "mlplatform appsflyer pull: land the last ${var.appsflyer_pull_days} days of Pull API raw data."
  schedule_expression          = local.schedule[each.key].expression
  schedule_expression_timezone = var.schedule_timezone
  kms_key_arn                  = var.kms_key_arn
  state                        = "ENABLED"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.cluster_arn
    role_arn = aws_iam_role.scheduler.arn

    ecs_parameters {
      task_definition_arn     = aws_ecs_task_definition.this[each.key].arn
      launch_type             = "FARGATE"
      platform_version        = "LATEST"
      task_count              = 1
      enable_ecs_managed_tags = true
      propagate_tags          = "TASK_DEFINITION"

      network_configuration {
        subnets          = var.subnet_ids
        security_groups  = local.schedule[each.key].security_groups
        assign_public_ip = false
      }
    }

    retry_policy {
      maximum_event_age_in_seconds = local.schedule[each.key].max_age
      maximum_retry_attempts       = local.schedule[each.key].attempts
    }
  }
}

################################################################################
# Who watches the watcher: a scheduled task that stops with a non-zero exit code (or never
# starts) is reported on the alerts topic. `monitor check` exits non-zero when it could not
# deliver an alert, so this also catches a broken alert path.
################################################################################

resource "aws_cloudwatch_event_rule" "scheduled_task_failed" {
  name        = "${var.name}-scheduled-task-failed"
  description = "A ${var.name} scheduled task (monitor check, AppsFlyer pull) stopped with an error."
  event_pattern = jsonencode({
    source      = ["aws.ecs"]
    detail-type = ["ECS Task State Change"]
    detail = {
      clusterArn = [var.cluster_arn]
      lastStatus = ["STOPPED"]
      group      = [for t in keys(local.scheduled) : "family:${aws_ecs_task_definition.this[t].family}"]
      "$or" = [
        { containers = { exitCode = [{ anything-but = 0 }] } },
        { stopCode = ["TaskFailedToStart"] },
      ]
    }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "scheduled_task_failed" {
  rule      = aws_cloudwatch_event_rule.scheduled_task_failed.name
  target_id = "sns-alerts"
  arn       = var.alerts_topic_arn

  input_transformer {
    input_paths = {
      group  = "$.detail.group"
      reason = "$.detail.stoppedReason"
      code   = "$.detail.stopCode"
      task   = "$.detail.taskArn"
      time   = "$.time"
    }
    input_template = "\"[${var.name}] Scheduled task <group> stopped with an error at <time> (<code>: <reason>). Task: <task>. Logs: ${local.log_group_name}.\""
  }
}
