output "service_url" {
  description = "URL of the metadata API on the internal load balancer (METAFLOW_SERVICE_URL and METAFLOW_SERVICE_INTERNAL_URL)."
  value       = "http://${aws_lb.this.dns_name}:${var.metadata_port}"
}

output "migration_url" {
  description = "URL of the migration service (GET /db_schema_status, PATCH /upgrade) on the internal load balancer."
  value       = "http://${aws_lb.this.dns_name}:${var.migration_port}"
}

output "cluster_arn" {
  description = "ARN of the ECS cluster; the services module runs its tasks here too."
  value       = aws_ecs_cluster.this.arn
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "Name of the ECS service, for `aws ecs update-service --force-new-deployment` and alarms."
  value       = aws_ecs_service.this.name
}

output "load_balancer_arn" {
  description = "ARN of the internal network load balancer."
  value       = aws_lb.this.arn
}

output "load_balancer_arn_suffix" {
  description = "ARN suffix of the internal network load balancer, for CloudWatch alarm dimensions."
  value       = aws_lb.this.arn_suffix
}

output "load_balancer_dns_name" {
  description = "DNS name of the internal network load balancer."
  value       = aws_lb.this.dns_name
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the metadata API target group (port 8080), for CloudWatch alarm dimensions."
  value       = aws_lb_target_group.this["metadata"].arn_suffix
}

output "migration_target_group_arn_suffix" {
  description = "ARN suffix of the migration service target group (port 8082)."
  value       = aws_lb_target_group.this["migration"].arn_suffix
}

output "log_group_name" {
  description = "Name of the CloudWatch log group of the service."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the CloudWatch log group of the service."
  value       = aws_cloudwatch_log_group.this.arn
}

output "task_execution_role_arn" {
  description = "ARN of the task execution role (image pull, logs, database secret)."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "ARN of the task role of the service."
  value       = aws_iam_role.task.arn
}

output "metaflow_config" {
  description = "The Metaflow profile keys this module owns, ready to merge into metaflow_profile_json."
  value = {
    METAFLOW_DEFAULT_METADATA     = "service"
    METAFLOW_SERVICE_URL          = "http://${aws_lb.this.dns_name}:${var.metadata_port}"
    METAFLOW_SERVICE_INTERNAL_URL = "http://${aws_lb.this.dns_name}:${var.metadata_port}"
  }
}
