output "job_queue_arn" {
  description = "ARN of the Batch job queue."
  value       = aws_batch_job_queue.this.arn
}

output "job_queue_name" {
  description = "Name of the Batch job queue (METAFLOW_BATCH_JOB_QUEUE)."
  value       = aws_batch_job_queue.this.name
}

output "compute_environment_arns" {
  description = "ARNs of the compute environments in queue order: on-demand first, then Spot if enabled."
  value       = concat([aws_batch_compute_environment.this.arn], aws_batch_compute_environment.spot[*].arn)
}

output "job_role_arn" {
  description = "ARN of the role Metaflow tasks run with (METAFLOW_ECS_S3_ACCESS_IAM_ROLE)."
  value       = aws_iam_role.job.arn
}

output "job_role_name" {
  description = "Name of the role Metaflow tasks run with, for attaching more policies outside this module."
  value       = aws_iam_role.job.name
}

output "instance_role_arn" {
  description = "ARN of the EC2 instance role of the Batch container instances."
  value       = aws_iam_role.instance.arn
}

output "instance_profile_arn" {
  description = "ARN of the instance profile of the Batch container instances."
  value       = aws_iam_instance_profile.instance.arn
}

output "launch_template_id" {
  description = "ID of the launch template the compute environments use."
  value       = aws_launch_template.this.id
}

output "batch_submit_policy_json" {
  description = "IAM policy document (JSON) that lets a principal submit, tag (batch:TagResource), watch and stop jobs on this queue and pass the job role. Embed it in user roles, the Step Functions role or service roles."
  value       = data.aws_iam_policy_document.batch_submit.json
}

output "batch_submit_policy_arn" {
  description = "ARN of the managed policy holding batch_submit_policy_json, for attaching to roles (the user manager attaches it to per-user roles)."
  value       = aws_iam_policy.batch_submit.arn
}

output "sfn_state_table_name" {
  description = "Name of the DynamoDB table for Step Functions foreach state (METAFLOW_SFN_DYNAMO_DB_TABLE)."
  value       = aws_dynamodb_table.sfn_state.name
}

output "sfn_state_table_arn" {
  description = "ARN of the DynamoDB table for Step Functions foreach state; the Step Functions role needs read/write on it."
  value       = aws_dynamodb_table.sfn_state.arn
}

output "metaflow_config" {
  description = "The Metaflow profile keys this module owns, ready to merge into metaflow_profile_json."
  value = {
    METAFLOW_BATCH_JOB_QUEUE        = aws_batch_job_queue.this.name
    METAFLOW_ECS_S3_ACCESS_IAM_ROLE = aws_iam_role.job.arn
    METAFLOW_SFN_DYNAMO_DB_TABLE    = aws_dynamodb_table.sfn_state.name
  }
}
