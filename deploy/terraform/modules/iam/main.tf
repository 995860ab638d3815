data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.name

  # ARNs are built from names, not from the resources, so a policy may name itself or the
  # boundary without a dependency cycle.
  boundary_name            = "${var.name}-user-boundary"
  boundary_arn             = "arn:${local.partition}:iam::${local.account}:policy${var.iam_path}${local.boundary_name}"
  user_manager_policy_name = "${var.name}-user-manager"
  user_manager_policy_arn  = "arn:${local.partition}:iam::${local.account}:policy${var.iam_path}${local.user_manager_policy_name}"
  user_path                = "${var.iam_path}users/"
  user_role_arns           = "arn:${local.partition}:iam::${local.account}:role${local.user_path}*"
  user_policy_arns         = "arn:${local.partition}:iam::${local.account}:policy${local.user_path}*"

  artifacts_bucket_arn = var.artifacts_bucket_arn
  raw_bucket_arn       = "arn:${local.partition}:s3:::${var.raw_bucket_name}"
  appsflyer_objects    = "${local.raw_bucket_arn}/${var.appsflyer_prefix}*"
  s3_via               = "s3.${local.region}.amazonaws.com"
  s3_kms_keys          = compact([var.kms_key_arn, var.raw_bucket_kms_key_arn])
  raw_kms_keys         = compact([var.raw_bucket_kms_key_arn])

  job_queue_arn        = var.job_queue_arn
  job_definition_arns  = ["arn:${local.partition}:batch:${local.region}:${local.account}:job-definition/${var.batch_job_definition_prefix}*"]
  batch_job_arns       = "arn:${local.partition}:batch:${local.region}:${local.account}:job/*"
  batch_log_group_arns = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${var.batch_log_group_name}:*"]

  state_machine_prefix = coalesce(var.state_machine_prefix, var.name)
  state_machine_arns   = "arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${local.state_machine_prefix}*"
  execution_arns       = "arn:${local.partition}:states:${local.region}:${local.account}:execution:${local.state_machine_prefix}*:*"
  sfn_state_table_arn  = coalesce(var.sfn_state_table_arn, "arn:${local.partition}:dynamodb:${local.region}:${local.account}:table/${var.name}*")
  batch_events_rule    = "arn:${local.partition}:events:${local.region}:${local.account}:rule/StepFunctionsGetEventsForBatchJobsRule"

  ecs_cluster_arn          = coalesce(var.ecs_cluster_arn, "arn:${local.partition}:ecs:${local.region}:${local.account}:cluster/${var.name}*")
  ecs_cluster_name         = replace(local.ecs_cluster_arn, "/^.*:cluster\\//", "")
  ecr_repository_arns      = length(var.ecr_repository_arns) > 0 ? var.ecr_repository_arns : ["arn:${local.partition}:ecr:${local.region}:${local.account}:repository/${var.name}/*"]
  service_log_group_prefix = coalesce(var.service_log_group_prefix, "/ecs/${var.name}")
  service_log_streams      = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${local.service_log_group_prefix}*:log-stream:*"
  audit_log_group_name     = coalesce(var.audit_log_group_name, "/mlplatform/${var.name}/audit")
  audit_log_group_arn      = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${local.audit_log_group_name}"

  alert_topic_arns     = compact([var.alerts_topic_arn, var.critical_topic_arn])
  monitor_secret_arns  = compact(concat([var.database_secret_arn], var.monitoring_secret_arns))
  database_secret_arns = compact([var.database_secret_arn])

  # Trust for ECS tasks: only tasks of this account may assume the roles (confused deputy).
  ecs_source_arn = "arn:${local.partition}:ecs:${local.region}:${local.account}:*"
}

################################################################################
# Shared trust policies
################################################################################

data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    sid     = "EcsTasks"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.ecs_source_arn]
    }
  }
}
