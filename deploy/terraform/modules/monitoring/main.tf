data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.name

  kms_key_arn = var.kms_key_arn != null ? var.kms_key_arn : aws_kms_key.alerts[0].arn

  topics = {
    alerts   = "${var.name}-alerts"
    critical = "${var.name}-critical"
  }
  topic_arns = { for k, t in aws_sns_topic.this : k => t.arn }
}

################################################################################
# KMS key for the topics. EventBridge and CloudWatch alarms cannot publish to a topic
# encrypted with the AWS-managed aws/sns key, so the topics get their own key.
################################################################################

data "aws_iam_policy_document" "kms" {
  count = var.kms_key_arn == null ? 1 : 0

  # In a key policy "*" means this key. The account keeps full control through IAM.
  statement {
    sid       = "AccountAdministersKey"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
  }

  # The same key may encrypt the platform's CloudWatch Logs groups (services, metadata service),
  # limited to log groups of this account and region.
  dynamic "statement" {
    for_each = var.allow_cloudwatch_logs ? [1] : []

    content {
      sid       = "CloudWatchLogsEncrypt"
      effect    = "Allow"
      actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["logs.${local.region}.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:*"]
      }
    }
  }

  statement {
    sid       = "AlertPublishersEncrypt"
    effect    = "Allow"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "alerts" {
  count = var.kms_key_arn == null ? 1 : 0

  description             = "${var.name} alert topics (SNS) and platform log groups, usable by EventBridge, CloudWatch alarms and CloudWatch Logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms[0].json

  tags = merge(var.tags, { Name = "${var.name}-alerts" })
}

resource "aws_kms_alias" "alerts" {
  count = var.kms_key_arn == null ? 1 : 0

  name          = "alias/${var.name}-alerts"
  target_key_id = aws_kms_key.alerts[0].key_id
}

################################################################################
# Topics: "alerts" notifies (mail, chat), "critical" pages.
################################################################################

resource "aws_sns_topic" "this" {
  for_each = local.topics

  name              = each.value
  display_name      = each.key == "critical" ? "${var.name} CRITICAL" : "${var.name} alerts"
  kms_master_key_id = local.kms_key_arn

  tags = merge(var.tags, { Name = each.value })
}

data "aws_iam_policy_document" "topic" {
  for_each = local.topics

  statement {
    sid    = "AccountManagesTopic"
    effect = "Allow"
    actions = [
      "SNS:AddPermission",
      "SNS:DeleteTopic",
      "SNS:GetTopicAttributes",
      "SNS:ListSubscriptionsByTopic",
      "SNS:Publish",
      "SNS:RemovePermission",
      "SNS:SetTopicAttributes",
      "SNS:Subscribe",
    ]
    resources = [aws_sns_topic.this[each.key].arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceOwner"
      values   = [local.account]
    }
  }

  statement {
    sid       = "EventBridgeAndAlarmsPublish"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this[each.key].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this[each.key].arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  for_each = local.topics

  arn    = aws_sns_topic.this[each.key].arn
  policy = data.aws_iam_policy_document.topic[each.key].json
}

resource "aws_sns_topic_subscription" "alerts" {
  for_each = { for i, s in var.alerts_subscriptions : "${i}-${s.protocol}" => s }

  topic_arn = aws_sns_topic.this["alerts"].arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

resource "aws_sns_topic_subscription" "critical" {
  for_each = { for i, s in var.critical_subscriptions : "${i}-${s.protocol}" => s }

  topic_arn = aws_sns_topic.this["critical"].arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}
