output "alerts_topic_arn" {
  description = "SNS topic that notifies (warning alarms, Batch and Step Functions failure events). Use it as settings alerts.sns_topic_arn for `mlplatform monitor check`."
  value       = aws_sns_topic.this["alerts"].arn
}

output "critical_topic_arn" {
  description = "SNS topic that pages (critical alarms). Subscribe the on-call integration here."
  value       = aws_sns_topic.this["critical"].arn
}

output "kms_key_arn" {
  description = "KMS key encrypting the topics and the dead-letter queue; publishers (the monitoring task role) need kms:GenerateDataKey on it. With allow_cloudwatch_logs it also serves as kms_key_arn of the services and metadata_service log groups."
  value       = local.kms_key_arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "alarm_arns" {
  description = "ARN of every infrastructure alarm, by key (rds_cpu, rds_free_storage, ..., plus events_dlq)."
  value       = merge({ for k, a in aws_cloudwatch_metric_alarm.this : k => a.arn }, { events_dlq = aws_cloudwatch_metric_alarm.events_dlq.arn })
}

output "alarm_names" {
  description = "Name of every infrastructure alarm, by key."
  value       = merge({ for k, a in aws_cloudwatch_metric_alarm.this : k => a.alarm_name }, { events_dlq = aws_cloudwatch_metric_alarm.events_dlq.alarm_name })
}

output "batch_job_failed_rule_arn" {
  description = "EventBridge rule matching FAILED jobs of the platform's Batch queue."
  value       = aws_cloudwatch_event_rule.batch_job_failed.arn
}

output "sfn_execution_failed_rule_arn" {
  description = "EventBridge rule matching FAILED, TIMED_OUT and ABORTED executions of the platform's state machines."
  value       = aws_cloudwatch_event_rule.sfn_execution_failed.arn
}

output "events_dead_letter_queue_arn" {
  description = "SQS queue holding failure events EventBridge could not deliver to SNS."
  value       = aws_sqs_queue.events_dlq.arn
}
