output "repository_urls" {
  description = "Repository URL per short name, e.g. { batch = \"<account>.dkr.ecr.<region>.amazonaws.com/<name>/batch\" }."
  value       = { for k, r in aws_ecr_repository.this : k => r.repository_url }
}

output "repository_arns" {
  description = "Repository ARN per short name, for pull permissions (ECS task execution role, Batch execution role)."
  value       = { for k, r in aws_ecr_repository.this : k => r.arn }
}

output "repository_names" {
  description = "Full repository name per short name (<name>/<short_name>)."
  value       = { for k, r in aws_ecr_repository.this : k => r.name }
}

output "batch_image_repository_url" {
  description = "URL of the AWS Batch task image repository; with a tag it becomes METAFLOW_BATCH_CONTAINER_IMAGE. Null when \"batch\" is not in repositories."
  value       = try(aws_ecr_repository.this["batch"].repository_url, null)
}

output "notebook_image_repository_url" {
  description = "URL of the JupyterHub single-user image repository. Null when \"notebook\" is not in repositories."
  value       = try(aws_ecr_repository.this["notebook"].repository_url, null)
}

output "registry_id" {
  description = "Registry (account) id holding the repositories; METAFLOW_BATCH_CONTAINER_REGISTRY is <registry_id>.dkr.ecr.<region>.amazonaws.com."
  value       = try(values(aws_ecr_repository.this)[0].registry_id, null)
}
