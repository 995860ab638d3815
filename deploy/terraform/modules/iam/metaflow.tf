################################################################################
# Roles Metaflow's Step Functions integration names in each user's profile:
# METAFLOW_SFN_IAM_ROLE (the state machines run as it) and
# METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE (EventBridge schedules start executions as it).
################################################################################

data "aws_iam_policy_document" "step_functions_trust" {
  statement {
    sid     = "StepFunctions"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "step_functions" {
  name               = "${var.name}-step-functions"
  path               = var.iam_path
  description        = "METAFLOW_SFN_IAM_ROLE: Step Functions state machines of ${local.state_machine_prefix}_* submit AWS Batch jobs and keep foreach state in DynamoDB."
  assume_role_policy = data.aws_iam_policy_document.step_functions_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "step_functions" {
  statement {
    sid       = "SubmitToPlatformQueue"
    effect    = "Allow"
    actions   = ["batch:SubmitJob"]
    resources = concat([local.job_queue_arn], local.job_definition_arns)
  }

  # batch:TagResource: the jobs carry Metaflow's cost-allocation tags.
  statement {
    sid       = "TagAndStopJobs"
    effect    = "Allow"
    actions   = ["batch:TagResource", "batch:TerminateJob"]
    resources = [local.batch_job_arns]
  }

  statement {
    sid       = "DescribeJobs"
    effect    = "Allow"
    actions   = ["batch:DescribeJobs"]
    resources = ["*"]
  }

  # The .sync Batch integration waits on job state through this AWS-managed rule.
  statement {
    sid       = "ManagedBatchEventsRule"
    effect    = "Allow"
    actions   = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
    resources = [local.batch_events_rule]
  }

  statement {
    sid       = "ForeachState"
    effect    = "Allow"
    actions   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [local.sfn_state_table_arn]
  }

  # Execution logging (METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN): the log-delivery APIs accept
  # only "*" as their resource.
  statement {
    sid    = "ExecutionLogDelivery"
    effect = "Allow"
    actions = [
      "logs:CreateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:DescribeLogGroups",
      "logs:DescribeResourcePolicies",
      "logs:GetLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:UpdateLogDelivery",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "step_functions" {
  name   = "metaflow-step-functions"
  role   = aws_iam_role.step_functions.id
  policy = data.aws_iam_policy_document.step_functions.json
}

data "aws_iam_policy_document" "eventbridge_trust" {
  statement {
    sid     = "EventBridge"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "eventbridge" {
  name               = "${var.name}-eventbridge-sfn"
  path               = var.iam_path
  description        = "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE: EventBridge schedules start executions of ${local.state_machine_prefix}_* state machines."
  assume_role_policy = data.aws_iam_policy_document.eventbridge_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "eventbridge" {
  statement {
    sid       = "StartPlatformStateMachines"
    effect    = "Allow"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arns]
  }
}

resource "aws_iam_role_policy" "eventbridge" {
  name   = "start-state-machines"
  role   = aws_iam_role.eventbridge.id
  policy = data.aws_iam_policy_document.eventbridge.json
}
