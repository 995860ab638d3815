################################################################################
# EventBridge: failed AWS Batch jobs and failed Step Functions executions -> alerts topic.
#
# These are the raw per-job / per-execution events (retries included), sent as readable text
# to the notifying topic. Paging for a failed pipeline is the rule engine's pipeline-failed
# alert, which dedups and resolves; see README.
################################################################################

locals {
  state_machine_prefix = var.state_machine_prefix == null ? var.name : var.state_machine_prefix

  batch_failed_pattern = {
    source      = ["aws.batch"]
    detail-type = ["Batch Job State Change"]
    detail = {
      status   = ["FAILED"]
      jobQueue = [var.batch_job_queue_arn]
    }
  }

  # Prefix matching on the state machine ARN keeps other teams' state machines out.
  sfn_failed_pattern = {
    source      = ["aws.states"]
    detail-type = ["Step Functions Execution Status Change"]
    detail = merge(
      { status = ["FAILED", "TIMED_OUT", "ABORTED"] },
      local.state_machine_prefix == "" ? {} : {
        stateMachineArn = [{ prefix = "arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${local.state_machine_prefix}" }]
      },
    )
  }
}

resource "aws_cloudwatch_event_rule" "batch_job_failed" {
  name          = "${var.name}-batch-job-failed"
  description   = "AWS Batch jobs of the platform queue that end FAILED."
  event_pattern = jsonencode(local.batch_failed_pattern)

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "batch_job_failed" {
  rule      = aws_cloudwatch_event_rule.batch_job_failed.name
  target_id = "sns-alerts"
  arn       = aws_sns_topic.this["alerts"].arn

  input_transformer {
    input_paths = {
      job_name  = "$.detail.jobName"
      job_id    = "$.detail.jobId"
      reason    = "$.detail.statusReason"
      container = "$.detail.container.reason"
      log       = "$.detail.container.logStreamName"
      queue     = "$.detail.jobQueue"
      time      = "$.time"
      region    = "$.region"
    }
    input_template = "\"[${var.name}] AWS Batch job <job_name> FAILED at <time>. Reason: <reason> <container>. Log stream: <log>. Queue: <queue>. Job: https://<region>.console.aws.amazon.com/batch/home?region=<region>#jobs/detail/<job_id>\""
  }

  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
}

resource "aws_cloudwatch_event_rule" "sfn_execution_failed" {
  name          = "${var.name}-sfn-execution-failed"
  description   = "Step Functions executions of ${local.state_machine_prefix == "" ? "any state machine" : "${local.state_machine_prefix}* state machines"} that end FAILED, TIMED_OUT or ABORTED."
  event_pattern = jsonencode(local.sfn_failed_pattern)

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "sfn_execution_failed" {
  rule      = aws_cloudwatch_event_rule.sfn_execution_failed.name
  target_id = "sns-alerts"
  arn       = aws_sns_topic.this["alerts"].arn

  input_transformer {
    input_paths = {
      name          = "$.detail.name"
      status        = "$.detail.status"
      state_machine = "$.detail.stateMachineArn"
      execution     = "$.detail.executionArn"
      time          = "$.time"
      region        = "$.region"
    }
    input_template = "\"[${var.name}] Step Functions execution <name> of <state_machine> ended <status> at <time>. Execution: https://<region>.console.aws.amazon.com/states/home?region=<region>#/v2/executions/details/<execution>\""
  }

  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
}

################################################################################
# Dead-letter queue: an event EventBridge could not deliver to SNS (for example a broken key
# policy) is kept here for 14 days instead of being lost, and an alarm says so.
################################################################################

resource "aws_sqs_queue" "events_dlq" {
  name                      = "${var.name}-alert-events-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = local.kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "events_dlq" {
  statement {
    sid       = "EventBridgeDeadLetters"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events_dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.batch_job_failed.arn, aws_cloudwatch_event_rule.sfn_execution_failed.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "events_dlq" {
  queue_url = aws_sqs_queue.events_dlq.id
  policy    = data.aws_iam_policy_document.events_dlq.json
}

resource "aws_cloudwatch_metric_alarm" "events_dlq" {
  alarm_name          = "${var.name}-alert-events-undelivered"
  alarm_description   = "[critical] EventBridge could not deliver Batch/Step Functions failure events to SNS; they wait in ${aws_sqs_queue.events_dlq.name}. Check the alerts topic's policy and KMS key."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.events_dlq.name }
  statistic           = "Maximum"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  period              = var.period_seconds
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"

  actions_enabled = true
  alarm_actions   = [aws_sns_topic.this["critical"].arn]

  tags = merge(var.tags, { Severity = "critical" })
}
