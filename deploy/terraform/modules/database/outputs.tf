output "address" {
  description = "Host name of the primary instance."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port PostgreSQL listens on."
  value       = var.port
}

output "db_name" {
  description = "Name of the metadata database."
  value       = aws_db_instance.this.db_name
}

output "username" {
  description = "Master user name (its password is in master_user_secret_arn)."
  value       = aws_db_instance.this.username
}

output "master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret RDS manages for the master user (JSON with username and password). Give it to the metadata service as an ECS secret; never copy the password into a variable."
  value       = try(aws_db_instance.this.master_user_secret[0].secret_arn, null)
}

output "instance_identifier" {
  description = "Identifier of the primary instance (CloudWatch dimension DBInstanceIdentifier)."
  value       = aws_db_instance.this.identifier
}

output "instance_arn" {
  description = "ARN of the primary instance."
  value       = aws_db_instance.this.arn
}

output "instance_resource_id" {
  description = "Resource ID of the primary instance, for rds-db:connect policies (IAM database authentication)."
  value       = aws_db_instance.this.resource_id
}

output "database_url_template" {
  description = "PostgreSQL URL without a password, TLS required: postgresql://<user>@<host>:<port>/<db>?sslmode=require. Clients add the password from the secret (or an IAM auth token)."
  value       = "postgresql://${aws_db_instance.this.username}@${aws_db_instance.this.address}:${var.port}/${aws_db_instance.this.db_name}?sslmode=require"
}

output "replica_address" {
  description = "Host name of the read replica for the monitoring collector, or null when there is none."
  value       = try(aws_db_instance.replica[0].address, null)
}

output "replica_identifier" {
  description = "Identifier of the read replica, or null when there is none."
  value       = try(aws_db_instance.replica[0].identifier, null)
}

output "replica_database_url_template" {
  description = "Like database_url_template, for the read replica; falls back to the primary when there is no replica, so the collector always has a URL."
  value       = "postgresql://${aws_db_instance.this.username}@${try(aws_db_instance.replica[0].address, aws_db_instance.this.address)}:${var.port}/${aws_db_instance.this.db_name}?sslmode=require"
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts storage, Performance Insights, the master secret and the logs."
  value       = local.kms_key_arn
}

output "parameter_group_name" {
  description = "Name of the parameter group (rds.force_ssl = 1)."
  value       = aws_db_parameter_group.this.name
}

output "subnet_group_name" {
  description = "Name of the DB subnet group."
  value       = aws_db_subnet_group.this.name
}

output "log_group_names" {
  description = "CloudWatch log groups of the exported PostgreSQL logs, keyed by \"<instance>/<log>\"."
  value       = { for key, group in aws_cloudwatch_log_group.this : key => group.name }
}
