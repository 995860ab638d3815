locals {
  user_roles_arn_pattern = "arn:${local.partition}:iam::${local.account_id}:role${var.user_roles_path}*"
  hub_secrets_pattern    = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${var.name}/jupyterhub/*"
}

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    sid     = "EC2AssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = "${var.name}-jupyterhub-"
  description        = "JupyterHub host of ${var.name}: SSM, CloudWatch agent, hub secrets, and assuming the per-user roles."
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = {
    AmazonSSMManagedInstanceCore = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
    CloudWatchAgentServerPolicy  = "arn:${local.partition}:iam::aws:policy/CloudWatchAgentServerPolicy"
  }

  role       = aws_iam_role.this.name
  policy_arn = each.value
}

data "aws_iam_policy_document" "hub" {
  # The spawner assumes mlplatform-user-<name> and hands the session to that user's server.
  # The per-user roles are the user manager's; they trust this role (host_role_arn).
  statement {
    sid       = "AssumePerUserRoles"
    actions   = ["sts:AssumeRole", "sts:TagSession"]
    resources = [local.user_roles_arn_pattern]
  }

  statement {
    sid       = "ReadHubSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = concat([local.hub_secrets_pattern], var.hub_secret_arns)
  }

  dynamic "statement" {
    for_each = var.secrets_kms_key_arn == null ? [] : [var.secrets_kms_key_arn]
    content {
      sid       = "DecryptHubSecrets"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "hub" {
  name   = "jupyterhub"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.hub.json
}

resource "aws_iam_instance_profile" "this" {
  name_prefix = "${var.name}-jupyterhub-"
  role        = aws_iam_role.this.name

  tags = var.tags
}

# Trust policy for the per-user roles, for the user manager to copy: only this host role may
# assume them.
data "aws_iam_policy_document" "user_role_trust" {
  statement {
    sid     = "JupyterHubHostAssumesUserRole"
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.this.arn]
    }
  }
}
