output "push_receiver_service_name" {
  description = "ECS service of the AppsFlyer Push receiver."
  value       = aws_ecs_service.push_receiver.name
}

output "push_receiver_url_path" {
  description = "Path AppsFlyer posts to on the ALB's HTTPS listener (https://<alb_host>/postback)."
  value       = "/postback"
}

output "push_receiver_target_group_arn_suffix" {
  description = "ARN suffix of the receiver's target group, for the monitoring module's health alarm."
  value       = aws_lb_target_group.push_receiver.arn_suffix
}

output "prometheus_service_name" {
  description = "ECS service of the Prometheus endpoint (`mlplatform monitor serve`)."
  value       = aws_ecs_service.prometheus.name
}

output "prometheus_scrape_target" {
  description = "host:port for a Prometheus dns_sd_configs (type A) scrape job when this module created the namespace (prometheus.<name>.internal); null otherwise (with your own namespace it is prometheus.<namespace_name>)."
  value       = length(aws_service_discovery_private_dns_namespace.this) > 0 ? "prometheus.${var.name}.internal:${var.prometheus_port}" : null
}

output "prometheus_discovery_service_arn" {
  description = "Cloud Map service the Prometheus tasks register in; null without a namespace."
  value       = try(aws_service_discovery_service.prometheus[0].arn, null)
}

output "monitor_check_rule_arn" {
  description = "EventBridge Scheduler schedule that runs `mlplatform monitor check`."
  value       = aws_scheduler_schedule.this["monitor_check"].arn
}

output "appsflyer_pull_rule_arn" {
  description = "EventBridge Scheduler schedule that runs the AppsFlyer Pull download; null when appsflyer_app_ids is empty."
  value       = try(aws_scheduler_schedule.this["appsflyer_pull"].arn, null)
}

output "task_definition_arns" {
  description = "Task definition ARN per task (push_receiver, prometheus, monitor_check, appsflyer_pull), e.g. for a one-off `aws ecs run-task`."
  value       = { for t, d in aws_ecs_task_definition.this : t => d.arn }
}

output "scheduler_role_arn" {
  description = "Role EventBridge Scheduler runs the scheduled tasks as."
  value       = aws_iam_role.scheduler.arn
}

output "log_group_name" {
  description = "Log group of every task here (streams prefixed push-receiver/, prometheus/, monitor-check/, appsflyer-pull/)."
  value       = aws_cloudwatch_log_group.services.name
}

output "audit_log_group_name" {
  description = "Log group of `monitor check`'s JSON audit events."
  value       = aws_cloudwatch_log_group.audit.name
}

output "state_access_point_id" {
  description = "EFS access point holding the alert outbox and the Push spool; null without efs_file_system_id."
  value       = try(aws_efs_access_point.state[0].id, null)
}
