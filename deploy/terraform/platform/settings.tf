# What the platform's software needs to know about what Terraform built: the Metaflow profile
# (every user's `~/.metaflowconfig/config.json`, via the user manager) and the mlplatform
# settings sections. `mlplatform configure import` turns `terraform output -json` into both.

locals {
  batch_image = "${module.ecr.batch_image_repository_url}:${var.image_tag}"

  metaflow_profile = {
    METAFLOW_DEFAULT_DATASTORE          = "s3"
    METAFLOW_DATASTORE_SYSROOT_S3       = module.datastore.datastore_root
    METAFLOW_DATATOOLS_S3ROOT           = module.datastore.datatools_root
    METAFLOW_DEFAULT_METADATA           = "service"
    METAFLOW_SERVICE_URL                = module.metadata_service.service_url
    METAFLOW_SERVICE_INTERNAL_URL       = module.metadata_service.service_url
    METAFLOW_BATCH_JOB_QUEUE            = module.compute.job_queue_name
    METAFLOW_BATCH_CONTAINER_IMAGE      = local.batch_image
    METAFLOW_ECS_S3_ACCESS_IAM_ROLE     = module.compute.job_role_arn
    METAFLOW_SFN_IAM_ROLE               = module.iam.step_functions_role_arn
    METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE = module.iam.eventbridge_role_arn
    METAFLOW_SFN_DYNAMO_DB_TABLE        = module.compute.sfn_state_table_name
    METAFLOW_SFN_STATE_MACHINE_PREFIX   = var.name
    AWS_DEFAULT_REGION                  = data.aws_region.current.name
  }

  # Sections and keys of mlplatform's settings (src/mlplatform/settings.py). Secrets appear
  # only as Secrets Manager ids: a profile never holds a secret's value.
  platform_settings = {
    metadata = {
      service_url  = module.metadata_service.service_url
      database_url = module.database.replica_database_url_template
    }
    s3 = {
      datastore_root = module.datastore.datastore_root
      raw_bucket     = var.raw_bucket_name
    }
    batch = { job_queue = module.compute.job_queue_name }
    appsflyer = {
      token_secret = var.appsflyer_token_secret_arn
      raw_root     = "s3://${var.raw_bucket_name}/appsflyer"
    }
    efs = { home_root = "/data" }
    ldap = {
      url                  = var.ldap_url
      base_dn              = var.ldap_base_dn
      bind_password_secret = var.ldap_bind_password_secret
      ca_cert_file         = "/etc/ipa/ca.crt"
    }
    jupyterhub = { api_url = "https://${var.hub_domain}/hub/api" }
    users = {
      users_bucket             = module.datastore.artifacts_bucket_name
      iam_enabled              = true
      hub_host_role_arn        = module.jupyterhub.host_role_arn
      permissions_boundary_arn = module.iam.permissions_boundary_arn
    }
    alerts = merge(
      { sns_topic_arn = module.monitoring.alerts_topic_arn },
      contains(keys(var.alert_secret_arns), "slack") ? { slack_webhook_secret = var.alert_secret_arns["slack"] } : {},
      contains(keys(var.alert_secret_arns), "pagerduty") ? { pagerduty_routing_key_secret = var.alert_secret_arns["pagerduty"] } : {},
    )
    monitoring = merge(
      { cloudwatch_namespace = "MLPlatform", publish_cloudwatch = true },
      var.daily_budget == null ? {} : { daily_budget = var.daily_budget },
    )
  }

  # The same settings reach the ECS tasks as MLPLATFORM_<SECTION>__<KEY> variables.
  service_environment = merge(
    { for pair in flatten([
      for section, entries in local.platform_settings : [
        for key, value in entries : { name = "MLPLATFORM_${upper(section)}__${upper(key)}", value = tostring(value) }
      ]
    ]) : pair.name => pair.value },
    { for key, value in local.metaflow_profile : key => value },
  )
}
