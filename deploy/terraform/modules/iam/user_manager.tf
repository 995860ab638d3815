################################################################################
# Policy for whoever runs `mlplatform users` (the admin role gets it; attach it to a CI role or
# an operator group as needed). It can create and change roles and policies only under
# <iam_path>users/, and only roles that carry the permissions boundary above.
################################################################################

data "aws_iam_policy_document" "user_manager" {
  # iam:PermissionsBoundary is set on these calls: the role must end up with our boundary.
  statement {
    sid    = "ChangeUserRolesWithBoundary"
    effect = "Allow"
    actions = [
      "iam:CreateRole",
      "iam:PutRolePermissionsBoundary",
      "iam:PutRolePolicy",
      "iam:DeleteRolePolicy",
      "iam:DetachRolePolicy",
    ]
    resources = [local.user_role_arns]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.boundary_arn]
    }
  }

  statement {
    sid       = "AttachOnlyUserPolicies"
    effect    = "Allow"
    actions   = ["iam:AttachRolePolicy"]
    resources = [local.user_role_arns]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.boundary_arn]
    }

    condition {
      test     = "ArnLike"
      variable = "iam:PolicyARN"
      values   = [local.user_policy_arns]
    }
  }

  # These calls carry no boundary condition key; they touch only roles under the users path,
  # and whatever they change stays inside the boundary.
  statement {
    sid    = "ReadAndTagUserRoles"
    effect = "Allow"
    actions = [
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListRolePolicies",
      "iam:ListAttachedRolePolicies",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
    ]
    resources = [local.user_role_arns]
  }

  statement {
    sid    = "ManageUserPolicies"
    effect = "Allow"
    actions = [
      "iam:CreatePolicy",
      "iam:GetPolicy",
      "iam:GetPolicyVersion",
      "iam:ListPolicyVersions",
      "iam:CreatePolicyVersion",
      "iam:DeletePolicyVersion",
      "iam:TagPolicy",
    ]
    resources = [local.user_policy_arns]
  }

  statement {
    sid       = "ReadBoundary"
    effect    = "Allow"
    actions   = ["iam:GetPolicy", "iam:GetPolicyVersion"]
    resources = [local.boundary_arn]
  }

  statement {
    sid       = "ListUserPrefixes"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.artifacts_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [var.users_prefix, "${var.users_prefix}*", var.user_archive_prefix, "${var.user_archive_prefix}*"]
    }
  }

  statement {
    sid    = "WriteUserPrefixes"
    effect = "Allow"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = [
      "${local.artifacts_bucket_arn}/${var.users_prefix}*",
      "${local.artifacts_bucket_arn}/${var.user_archive_prefix}*",
    ]
  }

  statement {
    sid       = "UseArtifactsKeyThroughS3"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via]
    }
  }

  statement {
    sid    = "DenyBoundaryRemoval"
    effect = "Deny"
    actions = [
      "iam:DeleteRolePermissionsBoundary",
      "iam:DeleteUserPermissionsBoundary",
    ]
    resources = ["*"]
  }

  statement {
    sid    = "DenyChangingGuardrails"
    effect = "Deny"
    actions = [
      "iam:CreatePolicyVersion",
      "iam:DeletePolicy",
      "iam:DeletePolicyVersion",
      "iam:SetDefaultPolicyVersion",
      "iam:TagPolicy",
      "iam:UntagPolicy",
    ]
    resources = [local.boundary_arn, local.user_manager_policy_arn]
  }
}

resource "aws_iam_policy" "user_manager" {
  name        = local.user_manager_policy_name
  path        = var.iam_path
  description = "Lets the mlplatform user manager create per-user roles under ${local.user_path} (only with the ${local.boundary_name} boundary) and write the users/ prefix."
  policy      = data.aws_iam_policy_document.user_manager.json

  tags = var.tags
}
