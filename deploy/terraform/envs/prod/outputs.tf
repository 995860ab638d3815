output "metaflow_profile_json" {
  description = "The Metaflow profile every user gets (`mlplatform configure import` reads it)."
  value       = module.platform.metaflow_profile_json
}

output "platform_settings" {
  description = "mlplatform settings sections built from what Terraform created."
  value       = module.platform.platform_settings
}

output "environment" {
  description = "Environment name: the profile name `mlplatform configure import` writes."
  value       = module.platform.environment
}

output "hub_url" {
  description = "Where people log in to JupyterHub."
  value       = module.platform.hub_url
}

output "alb_dns_name" {
  description = "Point the hub's DNS name here."
  value       = module.platform.alb_dns_name
}

output "database_address" {
  description = "RDS endpoint for Ansible's metaflow_db_migrations."
  value       = module.platform.database_address
}

output "database_secret_arn" {
  description = "Secret holding the database master password."
  value       = module.platform.database_secret_arn
}

output "efs_dns_name" {
  description = "EFS DNS name for Ansible's efs_mount."
  value       = module.platform.efs_dns_name
}

output "ecr_repository_urls" {
  description = "Where the images are pushed."
  value       = module.platform.ecr_repository_urls
}

output "alerts_topic_arn" {
  description = "SNS topic for alerts."
  value       = module.platform.alerts_topic_arn
}

output "database_identifier" {
  description = "RDS instance identifier (Ansible snapshots it before migrating)."
  value       = module.platform.database_identifier
}

output "metadata_service_migration_url" {
  description = "The metadata service's migration endpoint (Ansible's metaflow_db_migrations)."
  value       = module.platform.metadata_service_migration_url
}
