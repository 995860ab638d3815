provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

locals {
  tags = {
    project     = "mlplatform"
    environment = "dev"
    managed_by  = "terraform"
  }
}

module "platform" {
  source = "../../platform"

  name        = "mlplatform-dev"
  environment = "dev"
  tags        = local.tags

  vpc_id                     = var.vpc_id
  private_subnet_ids         = var.private_subnet_ids
  public_subnet_ids          = var.public_subnet_ids
  alb_allowed_cidrs          = var.alb_allowed_cidrs
  artifacts_bucket_name      = "metaflow-artifacts-${var.artifacts_bucket_id}"
  efs_file_system_id         = var.efs_file_system_id
  certificate_arn            = var.certificate_arn
  hub_domain                 = var.hub_domain
  admin_principal_arns       = var.admin_principal_arns
  appsflyer_token_secret_arn = var.appsflyer_token_secret_arn
  alert_secret_arns          = var.alert_secret_arns
  image_tag                  = var.image_tag
  daily_budget               = var.daily_budget

  # dev: one AZ, shorter backups, cheaper and disposable; the same modules as prod.
  database_multi_az              = false
  database_backup_retention_days = 7
  deletion_protection            = false
  database_read_replica          = false
  batch_desired_vcpus            = 0
  batch_max_vcpus                = 16
  batch_enable_spot              = true
}
