output "metaflow_profile_json" {
  description = "The Metaflow profile every user gets (`mlplatform configure import` reads it)."
  value       = jsonencode(local.metaflow_profile)
}

output "platform_settings" {
  description = "mlplatform settings sections built from what Terraform created."
  value       = local.platform_settings
}

output "hub_url" {
  description = "Where people log in to JupyterHub."
  value       = "https://${var.hub_domain}"
}

output "alb_dns_name" {
  description = "Point the hub's DNS name (CNAME or alias) here."
  value       = module.jupyterhub.alb_dns_name
}

output "metadata_service_url" {
  description = "The metadata service behind its internal load balancer."
  value       = module.metadata_service.service_url
}

output "database_address" {
  description = "RDS endpoint of the metadata database (Ansible's metaflow_db_migrations uses it)."
  value       = module.database.address
}

output "database_secret_arn" {
  description = "Secrets Manager secret holding the database master password (managed by RDS)."
  value       = module.database.master_user_secret_arn
}

output "efs_users_access_point_id" {
  description = "EFS access point of the users' homes (/data)."
  value       = module.efs.users_access_point_id
}

output "efs_dns_name" {
  description = "EFS DNS name for the hosts' nfs4 mounts (Ansible's efs_mount)."
  value       = module.efs.dns_name
}

output "ecr_repository_urls" {
  description = "Where `deploy/images` pushes the Batch and notebook images."
  value       = module.ecr.repository_urls
}

output "alerts_topic_arn" {
  description = "SNS topic for alerts; subscribe e-mail, chat or PagerDuty to it."
  value       = module.monitoring.alerts_topic_arn
}

output "environment" {
  description = "Environment name: the profile name `mlplatform configure import` writes."
  value       = var.environment
}

output "database_identifier" {
  description = "RDS instance identifier (Ansible snapshots it before migrating)."
  value       = module.database.instance_identifier
}

output "metadata_service_migration_url" {
  description = "The metadata service's migration endpoint on 8082 (Ansible's metaflow_db_migrations)."
  value       = module.metadata_service.migration_url
}
