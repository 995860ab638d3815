output "permissions_boundary_arn" {
  description = "Permissions boundary the user manager attaches to every per-user role (settings users.permissions_boundary_arn)."
  value       = aws_iam_policy.boundary.arn
}

output "user_role_path" {
  description = "IAM path of the per-user roles and policies the user manager creates."
  value       = local.user_path
}

output "user_manager_policy_arn" {
  description = "Managed policy for whoever runs `mlplatform users` (attached to the admin role)."
  value       = aws_iam_policy.user_manager.arn
}

output "admin_role_arn" {
  description = "Platform admin role (assume with MFA)."
  value       = aws_iam_role.admin.arn
}

output "step_functions_role_arn" {
  description = "METAFLOW_SFN_IAM_ROLE."
  value       = aws_iam_role.step_functions.arn
}

output "eventbridge_role_arn" {
  description = "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE."
  value       = aws_iam_role.eventbridge.arn
}

output "state_machine_prefix" {
  description = "METAFLOW_SFN_STATE_MACHINE_PREFIX: the Step Functions and EventBridge roles and the boundary cover state machines named <prefix>*."
  value       = local.state_machine_prefix
}

output "ecs_task_execution_role_arn" {
  description = "Execution role of the services module's ECS tasks (image pull, logs, listed secrets)."
  value       = aws_iam_role.ecs_task_execution.arn
}

output "monitoring_task_role_arn" {
  description = "Task role of the scheduled `mlplatform monitor check`."
  value       = aws_iam_role.monitoring_task.arn
}

output "prometheus_task_role_arn" {
  description = "Task role of `mlplatform monitor serve` (read-only subset of the monitoring role)."
  value       = aws_iam_role.prometheus_task.arn
}

output "push_receiver_task_role_arn" {
  description = "Task role of the AppsFlyer Push receiver."
  value       = aws_iam_role.push_receiver_task.arn
}

output "appsflyer_pull_task_role_arn" {
  description = "Task role of the scheduled AppsFlyer Pull download."
  value       = aws_iam_role.appsflyer_pull_task.arn
}

output "audit_log_group_name" {
  description = "Log group the monitoring task role may write audit events to (settings monitoring.log_group)."
  value       = local.audit_log_group_name
}
