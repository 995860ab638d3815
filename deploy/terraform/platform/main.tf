# The whole platform, composed once; envs/dev and envs/prod call this with their sizes, their
# backend and their provider. Modules are wired output-to-input here and nowhere else.

data "aws_region" "current" {}

locals {
  users_prefix = "users/"
}

module "network" {
  source = "../modules/network"

  name               = var.name
  tags               = var.tags
  vpc_id             = var.vpc_id
  private_subnet_ids = var.private_subnet_ids
  public_subnet_ids  = var.public_subnet_ids
  alb_allowed_cidrs  = var.alb_allowed_cidrs
}

module "datastore" {
  source = "../modules/datastore"

  name                        = var.name
  tags                        = var.tags
  artifacts_bucket_name       = var.artifacts_bucket_name
  raw_bucket_name             = var.raw_bucket_name
  manage_raw_bucket_lifecycle = var.manage_raw_bucket_lifecycle
}

module "database" {
  source = "../modules/database"

  name                    = var.name
  tags                    = var.tags
  subnet_ids              = var.private_subnet_ids
  security_group_id       = module.network.database_security_group_id
  instance_class          = var.database_instance_class
  multi_az                = var.database_multi_az
  backup_retention_period = var.database_backup_retention_days
  deletion_protection     = var.deletion_protection
  create_read_replica     = var.database_read_replica
}

module "efs" {
  source = "../modules/efs"

  name           = var.name
  tags           = var.tags
  file_system_id = var.efs_file_system_id
}

module "ecr" {
  source = "../modules/ecr"

  name        = var.name
  tags        = var.tags
  kms_key_arn = module.datastore.kms_key_arn
}

module "compute" {
  source = "../modules/compute"

  name               = var.name
  tags               = var.tags
  subnet_ids         = var.private_subnet_ids
  security_group_ids = [module.network.batch_security_group_id]
  desired_vcpus      = var.batch_desired_vcpus
  max_vcpus          = var.batch_max_vcpus
  enable_spot        = var.batch_enable_spot

  enable_sfn_state_table_deletion_protection = var.deletion_protection
  artifacts_bucket_arn                       = module.datastore.artifacts_bucket_arn
  kms_key_arn                                = module.datastore.kms_key_arn
}

module "metadata_service" {
  source = "../modules/metadata_service"

  name                = var.name
  tags                = var.tags
  vpc_id              = var.vpc_id
  subnet_ids          = var.private_subnet_ids
  security_group_id   = module.network.metadata_service_security_group_id
  database_address    = module.database.address
  database_port       = module.database.port
  database_name       = module.database.db_name
  database_username   = module.database.username
  database_secret_arn = module.database.master_user_secret_arn
  kms_key_arn         = module.datastore.kms_key_arn

  enable_load_balancer_deletion_protection = var.deletion_protection
}

module "jupyterhub" {
  source = "../modules/jupyterhub"

  name                         = var.name
  tags                         = var.tags
  vpc_id                       = var.vpc_id
  subnet_id                    = var.private_subnet_ids[0]
  public_subnet_ids            = var.public_subnet_ids
  alb_security_group_id        = module.network.alb_security_group_id
  jupyterhub_security_group_id = module.network.jupyterhub_security_group_id
  certificate_arn              = var.certificate_arn
  efs_file_system_id           = module.efs.file_system_id
  domain_name                  = var.hub_domain

  enable_alb_deletion_protection = var.deletion_protection
  enable_termination_protection  = var.deletion_protection
}

module "monitoring" {
  source = "../modules/monitoring"

  name                              = var.name
  tags                              = var.tags
  rds_instance_identifier           = module.database.instance_identifier
  rds_replica_identifier            = module.database.replica_identifier
  metadata_load_balancer_arn_suffix = module.metadata_service.load_balancer_arn_suffix
  metadata_target_group_arn_suffix  = module.metadata_service.target_group_arn_suffix
  alb_arn_suffix                    = module.jupyterhub.alb_arn_suffix
  hub_target_group_arn_suffix       = module.jupyterhub.target_group_arn_suffix
  efs_file_system_id                = module.efs.file_system_id
  batch_job_queue_arn               = module.compute.job_queue_arn
  state_machine_prefix              = var.name
}

module "iam" {
  source = "../modules/iam"

  name                 = var.name
  tags                 = var.tags
  artifacts_bucket_arn = module.datastore.artifacts_bucket_arn
  kms_key_arn          = module.datastore.kms_key_arn
  raw_bucket_name      = var.raw_bucket_name
  job_queue_arn        = module.compute.job_queue_arn
  batch_job_role_arn   = module.compute.job_role_arn
  sfn_state_table_arn  = module.compute.sfn_state_table_arn
  state_machine_prefix = var.name
  alerts_topic_arn     = module.monitoring.alerts_topic_arn
  critical_topic_arn   = module.monitoring.critical_topic_arn
  alerts_kms_key_arn   = module.monitoring.kms_key_arn
  admin_principal_arns = var.admin_principal_arns
  ecs_cluster_arn      = module.metadata_service.cluster_arn
  efs_file_system_arn  = module.efs.file_system_arn
  ecr_repository_arns  = values(module.ecr.repository_arns)

  database_secret_arn        = module.database.master_user_secret_arn
  appsflyer_token_secret_arn = var.appsflyer_token_secret_arn
  monitoring_secret_arns     = values(var.alert_secret_arns)
  secret_arns = concat(
    [module.database.master_user_secret_arn, var.appsflyer_token_secret_arn],
    values(var.alert_secret_arns),
  )
}

module "services" {
  source = "../modules/services"

  name                         = var.name
  tags                         = var.tags
  vpc_id                       = var.vpc_id
  cluster_arn                  = module.metadata_service.cluster_arn
  subnet_ids                   = var.private_subnet_ids
  operations_security_group_id = module.network.operations_security_group_id
  services_security_group_id   = module.network.services_security_group_id
  image                        = local.batch_image
  https_listener_arn           = module.jupyterhub.https_listener_arn
  alerts_topic_arn             = module.monitoring.alerts_topic_arn
  kms_key_arn                  = module.monitoring.kms_key_arn

  ecs_task_execution_role_arn  = module.iam.ecs_task_execution_role_arn
  monitoring_task_role_arn     = module.iam.monitoring_task_role_arn
  prometheus_task_role_arn     = module.iam.prometheus_task_role_arn
  push_receiver_task_role_arn  = module.iam.push_receiver_task_role_arn
  appsflyer_pull_task_role_arn = module.iam.appsflyer_pull_task_role_arn

  metadata_service_url       = module.metadata_service.service_url
  metadata_database_url      = module.database.replica_database_url_template
  database_secret_arn        = module.database.master_user_secret_arn
  batch_job_queue            = module.compute.job_queue_name
  raw_bucket_name            = var.raw_bucket_name
  appsflyer_token_secret_arn = var.appsflyer_token_secret_arn
  appsflyer_app_ids          = var.appsflyer_app_ids
  efs_file_system_id         = module.efs.file_system_id
  # The images' fixed non-root user (deploy/images): the state folder on EFS is theirs.
  efs_posix_uid = 61000
  efs_posix_gid = 61000

  environment = local.service_environment
}
