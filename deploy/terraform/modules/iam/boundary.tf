################################################################################
# Permissions boundary for the per-user roles
#
# The user manager (not Terraform) creates one role per user, mlplatform-user-<name>, under
# <iam_path>users/, and must attach this boundary (the user_manager policy refuses otherwise).
# A role's effective rights are the intersection of its own policy and this boundary, so the
# boundary is the most any user can ever get, whatever the user policy says.
################################################################################

data "aws_iam_policy_document" "boundary" {
  statement {
    sid       = "ListArtifactsBucket"
    effect    = "Allow"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
    resources = [local.artifacts_bucket_arn]
  }

  # The datastore is shared and content-addressed, so a run reads and writes the whole bucket's
  # objects; users/<name>/ is narrowed per user by the user policy, not here.
  statement {
    sid    = "ReadWriteArtifacts"
    effect = "Allow"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${local.artifacts_bucket_arn}/*"]
  }

  statement {
    sid       = "ListAppsFlyerRaw"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.raw_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [var.appsflyer_prefix, "${var.appsflyer_prefix}*"]
    }
  }

  statement {
    sid       = "ReadAppsFlyerRaw"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = [local.appsflyer_objects]
  }

  statement {
    sid       = "UseBucketKeysThroughS3"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
    resources = local.s3_kms_keys

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via]
    }
  }

  statement {
    sid       = "SubmitToPlatformQueue"
    effect    = "Allow"
    actions   = ["batch:SubmitJob"]
    resources = concat([local.job_queue_arn], local.job_definition_arns)
  }

  statement {
    sid       = "RegisterMetaflowJobDefinitions"
    effect    = "Allow"
    actions   = ["batch:RegisterJobDefinition", "batch:TagResource"]
    resources = local.job_definition_arns
  }

  # batch:TagResource on jobs: Metaflow's cost-allocation tags (METAFLOW_BATCH_EMIT_TAGS) are
  # applied at submission and fail the submit without it (outerbounds/metaflow-tools#35).
  statement {
    sid       = "ManageOwnJobs"
    effect    = "Allow"
    actions   = ["batch:TagResource", "batch:TerminateJob", "batch:CancelJob"]
    resources = [local.batch_job_arns]
  }

  # These Batch read APIs support no resource-level permissions.
  statement {
    sid    = "DescribeBatch"
    effect = "Allow"
    actions = [
      "batch:DescribeJobs",
      "batch:ListJobs",
      "batch:DescribeJobQueues",
      "batch:DescribeComputeEnvironments",
      "batch:DescribeJobDefinitions",
    ]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.batch_job_role_arn == null ? [] : [var.batch_job_role_arn]

    content {
      sid       = "PassBatchJobRole"
      effect    = "Allow"
      actions   = ["iam:PassRole"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "ReadBatchLogs"
    effect    = "Allow"
    actions   = ["logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams"]
    resources = local.batch_log_group_arns
  }

  statement {
    sid       = "ListStateMachines"
    effect    = "Allow"
    actions   = ["states:ListStateMachines"]
    resources = ["*"]
  }

  statement {
    sid    = "DescribePlatformStateMachines"
    effect = "Allow"
    actions = [
      "states:DescribeStateMachine",
      "states:ListExecutions",
      "states:DescribeExecution",
      "states:GetExecutionHistory",
    ]
    resources = [local.state_machine_arns, local.execution_arns]
  }

  dynamic "statement" {
    for_each = var.allow_user_sfn_deploy ? [1] : []

    content {
      sid    = "DeployPlatformStateMachines"
      effect = "Allow"
      actions = [
        "states:CreateStateMachine",
        "states:UpdateStateMachine",
        "states:StartExecution",
        "states:StopExecution",
        "states:TagResource",
      ]
      resources = [local.state_machine_arns, local.execution_arns]
    }
  }

  dynamic "statement" {
    for_each = var.allow_user_sfn_deploy ? [1] : []

    content {
      sid    = "SchedulePlatformStateMachines"
      effect = "Allow"
      actions = [
        "events:PutRule",
        "events:PutTargets",
        "events:DescribeRule",
        "events:DisableRule",
      ]
      resources = ["arn:${local.partition}:events:${local.region}:${local.account}:rule/${local.state_machine_prefix}*"]
    }
  }

  dynamic "statement" {
    for_each = var.allow_user_sfn_deploy ? [1] : []

    content {
      sid       = "PassOrchestrationRoles"
      effect    = "Allow"
      actions   = ["iam:PassRole"]
      resources = [aws_iam_role.step_functions.arn, aws_iam_role.eventbridge.arn]
    }
  }

  # --- Explicit denies: they hold even if a user policy, or a later edit of this boundary,
  # --- allows more.

  statement {
    sid    = "DenyIamChanges"
    effect = "Deny"
    actions = [
      "iam:Add*",
      "iam:Attach*",
      "iam:Change*",
      "iam:Create*",
      "iam:Deactivate*",
      "iam:Delete*",
      "iam:Detach*",
      "iam:Enable*",
      "iam:Put*",
      "iam:Remove*",
      "iam:Reset*",
      "iam:Resync*",
      "iam:Set*",
      "iam:Tag*",
      "iam:Untag*",
      "iam:Update*",
      "iam:Upload*",
    ]
    resources = ["*"]
  }

  statement {
    sid    = "DenyBoundaryRemoval"
    effect = "Deny"
    actions = [
      "iam:DeleteRolePermissionsBoundary",
      "iam:DeleteUserPermissionsBoundary",
      "iam:PutRolePermissionsBoundary",
      "iam:PutUserPermissionsBoundary",
      "iam:CreatePolicyVersion",
      "iam:DeletePolicy",
      "iam:DeletePolicyVersion",
      "iam:SetDefaultPolicyVersion",
    ]
    resources = ["*"]
  }

  statement {
    sid    = "DenyS3OutsidePlatform"
    effect = "Deny"
    actions = [
      "s3:*",
    ]
    not_resources = [
      local.artifacts_bucket_arn,
      "${local.artifacts_bucket_arn}/*",
      local.raw_bucket_arn,
      local.appsflyer_objects,
    ]
  }

  statement {
    sid           = "DenyKmsOutsidePlatform"
    effect        = "Deny"
    actions       = ["kms:*"]
    not_resources = local.s3_kms_keys
  }

  statement {
    sid           = "DenySubmitOutsidePlatform"
    effect        = "Deny"
    actions       = ["batch:SubmitJob"]
    not_resources = concat([local.job_queue_arn], local.job_definition_arns)
  }

  statement {
    sid    = "DenyOtherServices"
    effect = "Deny"
    not_actions = concat(
      ["s3:*", "kms:*", "batch:*", "logs:*", "states:*", "iam:PassRole"],
      var.allow_user_sfn_deploy ? ["events:*"] : [],
    )
    resources = ["*"]
  }
}

resource "aws_iam_policy" "boundary" {
  name        = local.boundary_name
  path        = var.iam_path
  description = "Permissions boundary of the per-user roles the mlplatform user manager creates under ${local.user_path}."
  policy      = data.aws_iam_policy_document.boundary.json

  tags = var.tags
}
