mock_provider "aws" {
  # Mocked computed values (ARNs) are known during plan, so assertions can read them.
  override_during = plan

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:eu-west-1:123456789012:mocked"
    }
  }

  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    }
  }

  mock_resource "aws_cloudwatch_metric_alarm" {
    defaults = {
      arn = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:mocked"
    }
  }

  mock_resource "aws_cloudwatch_event_rule" {
    defaults = {
      arn = "arn:aws:events:eu-west-1:123456789012:rule/mocked"
    }
  }

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:mocked"
    }
  }
}

variables {
  name                              = "mlplatform-test"
  rds_instance_identifier           = "mlplatform-test"
  metadata_load_balancer_arn_suffix = "net/mlplatform-test-meta/0123456789abcdef"
  metadata_target_group_arn_suffix  = "targetgroup/mlplatform-test-meta/0123456789abcdef"
  alb_arn_suffix                    = "app/mlplatform-test-hub/0123456789abcdef"
  hub_target_group_arn_suffix       = "targetgroup/mlplatform-test-hub/0123456789abcdef"
  efs_file_system_id                = "fs-0123456789abcdef0"
  batch_job_queue_arn               = "arn:aws:batch:eu-west-1:123456789012:job-queue/mlplatform-test-queue"
  tags                              = { Environment = "test" }
}

run "topics_encrypted" {
  command = plan

  assert {
    condition     = toset(keys(aws_sns_topic.this)) == toset(["alerts", "critical"])
    error_message = "There must be an alerts and a critical topic."
  }

  assert {
    condition     = alltrue([for t in aws_sns_topic.this : t.kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"])
    error_message = "Both topics must be encrypted with the module's customer-managed key."
  }

  assert {
    condition     = aws_kms_key.alerts[0].enable_key_rotation
    error_message = "The topic key must rotate."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.topic["alerts"].statement :
      s.effect == "Allow" && try(contains(s.actions, "sns:Publish"), false) && anytrue([
        for p in s.principals : p.type == "Service" && contains(p.identifiers, "events.amazonaws.com") && contains(p.identifiers, "cloudwatch.amazonaws.com")
      ])
    ])
    error_message = "EventBridge and CloudWatch must be allowed to publish to the topics."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.kms[0].statement :
      anytrue([for p in s.principals : p.type == "Service" && contains(p.identifiers, "events.amazonaws.com")])
    ])
    error_message = "The key policy must let EventBridge use the key."
  }
}

run "key_serves_log_groups" {
  command = plan

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.kms[0].statement :
      anytrue([for p in s.principals : contains(p.identifiers, "logs.eu-west-1.amazonaws.com")])
    ])
    error_message = "With allow_cloudwatch_logs the key must let CloudWatch Logs encrypt the platform's log groups."
  }
}

run "infrastructure_alarms_only" {
  command = plan

  assert {
    condition = toset(keys(aws_cloudwatch_metric_alarm.this)) == toset([
      "rds_cpu", "rds_free_storage", "rds_connections", "metadata_unhealthy_hosts",
      "metadata_no_healthy_hosts", "alb_5xx", "hub_unhealthy", "efs_burst_credits", "efs_io_limit",
    ])
    error_message = "Exactly the infrastructure alarms must exist (no replica or push receiver alarm without their inputs)."
  }

  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.this : a.namespace != "MLPlatform"])
    error_message = "No alarm may watch the platform's own metrics: the rule engine owns run-level alerts."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["rds_cpu"].metric_name == "CPUUtilization" && aws_cloudwatch_metric_alarm.this["rds_cpu"].threshold == 80 && aws_cloudwatch_metric_alarm.this["rds_cpu"].dimensions["DBInstanceIdentifier"] == "mlplatform-test"
    error_message = "The RDS CPU alarm must watch the metadata database at 80%."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["rds_free_storage"].comparison_operator == "LessThanThreshold" && aws_cloudwatch_metric_alarm.this["rds_free_storage"].alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:mocked"])
    error_message = "Low free storage must alarm."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["metadata_no_healthy_hosts"].namespace == "AWS/NetworkELB" && aws_cloudwatch_metric_alarm.this["metadata_no_healthy_hosts"].metric_name == "HealthyHostCount" && aws_cloudwatch_metric_alarm.this["metadata_no_healthy_hosts"].threshold == 1 && aws_cloudwatch_metric_alarm.this["metadata_no_healthy_hosts"].treat_missing_data == "breaching"
    error_message = "The metadata service alarm must fire on HealthyHostCount < 1 of its NLB, and on missing data."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["metadata_unhealthy_hosts"].dimensions["TargetGroup"] == "targetgroup/mlplatform-test-meta/0123456789abcdef"
    error_message = "Target health alarms need the TargetGroup dimension."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["alb_5xx"].metric_name == "HTTPCode_ELB_5XX_Count" && aws_cloudwatch_metric_alarm.this["hub_unhealthy"].metric_name == "UnHealthyHostCount"
    error_message = "The ALB must alarm on its own 5xx and on an unhealthy hub target."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["efs_burst_credits"].metric_name == "BurstCreditBalance" && aws_cloudwatch_metric_alarm.this["efs_io_limit"].metric_name == "PercentIOLimit"
    error_message = "EFS must alarm on burst credits and the I/O limit."
  }

  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.this : a.actions_enabled && length(a.alarm_actions) == 1 && length(a.ok_actions) == 1])
    error_message = "Every alarm must notify a topic when it fires and when it clears."
  }
}

run "optional_alarms_and_overrides" {
  command = plan

  variables {
    rds_replica_identifier                = "mlplatform-test-replica"
    create_push_receiver_alarm            = true
    push_receiver_target_group_arn_suffix = "targetgroup/mlplatform-test-push/0123456789abcdef"
    metadata_load_balancer_type           = "application"
    alarm_severity_overrides              = { metadata_no_healthy_hosts = "critical" }
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["rds_replica_lag"].metric_name == "ReplicaLag" && aws_cloudwatch_metric_alarm.this["rds_replica_lag"].dimensions["DBInstanceIdentifier"] == "mlplatform-test-replica"
    error_message = "A replica id must add a replica lag alarm."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["push_receiver_unhealthy"].dimensions["TargetGroup"] == "targetgroup/mlplatform-test-push/0123456789abcdef"
    error_message = "A push receiver target group must add its health alarm."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["metadata_no_healthy_hosts"].namespace == "AWS/ApplicationELB"
    error_message = "An application load balancer must use the AWS/ApplicationELB namespace."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["metadata_no_healthy_hosts"].tags["Severity"] == "critical"
    error_message = "Severity overrides must apply."
  }
}

run "failure_events" {
  command = plan

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.batch_job_failed.event_pattern)["detail-type"] == ["Batch Job State Change"] && jsondecode(aws_cloudwatch_event_rule.batch_job_failed.event_pattern).detail.status == ["FAILED"]
    error_message = "The Batch rule must match FAILED job state changes."
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.batch_job_failed.event_pattern).detail.jobQueue == ["arn:aws:batch:eu-west-1:123456789012:job-queue/mlplatform-test-queue"]
    error_message = "The Batch rule must match only the platform's job queue."
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.sfn_execution_failed.event_pattern)["detail-type"] == ["Step Functions Execution Status Change"] && toset(jsondecode(aws_cloudwatch_event_rule.sfn_execution_failed.event_pattern).detail.status) == toset(["FAILED", "TIMED_OUT", "ABORTED"])
    error_message = "The Step Functions rule must match FAILED, TIMED_OUT and ABORTED executions."
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.sfn_execution_failed.event_pattern).detail.stateMachineArn[0].prefix == "arn:aws:states:eu-west-1:123456789012:stateMachine:mlplatform-test"
    error_message = "The Step Functions rule must match only the platform's state machines by prefix."
  }

  assert {
    condition     = strcontains(aws_cloudwatch_event_target.batch_job_failed.input_transformer[0].input_template, "<job_name>") && strcontains(aws_cloudwatch_event_target.sfn_execution_failed.input_transformer[0].input_template, "<status>")
    error_message = "Failure events must be turned into a readable message."
  }

  assert {
    condition     = aws_cloudwatch_event_target.batch_job_failed.arn == "arn:aws:sns:eu-west-1:123456789012:mocked" && length(aws_cloudwatch_event_target.batch_job_failed.dead_letter_config) == 1
    error_message = "Failure events go to SNS, with a dead-letter queue."
  }
}

run "all_state_machines" {
  command = plan

  variables {
    state_machine_prefix = ""
  }

  assert {
    condition     = !contains(keys(jsondecode(aws_cloudwatch_event_rule.sfn_execution_failed.event_pattern).detail), "stateMachineArn")
    error_message = "An empty prefix must match every state machine."
  }
}

run "dashboard" {
  command = plan

  assert {
    condition     = aws_cloudwatch_dashboard.this.dashboard_name == "mlplatform-test"
    error_message = "The dashboard must be named after the platform."
  }

  assert {
    condition = alltrue([
      for metric in ["SuccessRate", "Runs", "QueueWaitP50", "CostUSD", "BatchQueueDepth"] :
      strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "\"${metric}\"")
    ])
    error_message = "The dashboard must show the platform's custom metrics under the names the code publishes."
  }

  assert {
    condition     = strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "\"MLPlatform\"") && strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "AWS/RDS") && strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "AWS/NetworkELB") && strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "AWS/ApplicationELB") && strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "AWS/EFS")
    error_message = "The dashboard must cover the platform metrics, RDS, the metadata service, the ALB and EFS."
  }
}

run "rejects_plain_http_subscription" {
  command = plan

  variables {
    critical_subscriptions = [{ protocol = "http", endpoint = "http://pager.example.com/hook" }]
  }

  expect_failures = [var.critical_subscriptions]
}

run "rejects_unknown_severity" {
  command = plan

  variables {
    alarm_severity_overrides = { rds_cpu = "page-everyone" }
  }

  expect_failures = [var.alarm_severity_overrides]
}

run "rejects_nlb_as_alb" {
  command = plan

  variables {
    alb_arn_suffix = "net/mlplatform-test-meta/0123456789abcdef"
  }

  expect_failures = [var.alb_arn_suffix]
}
