data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Built from the name (not read from the resource) so that policies are known at plan time.
  artifacts_bucket_arn = "arn:${local.partition}:s3:::${var.artifacts_bucket_name}"
  raw_bucket_arn       = "arn:${local.partition}:s3:::${var.raw_bucket_name}"
  raw_access_prefixes  = var.raw_access_prefixes == null ? [var.appsflyer_prefix] : var.raw_access_prefixes
}

################################################################################
# KMS key for the artifacts bucket and its event topic
################################################################################

resource "aws_kms_key" "artifacts" {
  description             = "${var.name}: Metaflow artifacts bucket ${var.artifacts_bucket_name} and its event topic"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = local.kms_key_policy

  tags = merge(var.tags, { Name = "${var.name}-artifacts" })
}

resource "aws_kms_alias" "artifacts" {
  name          = "alias/${var.name}-artifacts"
  target_key_id = aws_kms_key.artifacts.key_id
}

locals {
  kms_key_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          # Without this statement IAM policies could not grant use of the key.
          Sid       = "AccountRootManagesKeyThroughIam"
          Effect    = "Allow"
          Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
          Action    = "kms:*"
          Resource  = "*"
        },
        {
          # S3 encrypts event messages for the KMS-encrypted SNS topic with this key.
          Sid       = "S3PublishesEventsToEncryptedTopic"
          Effect    = "Allow"
          Principal = { Service = "s3.amazonaws.com" }
          Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
          Resource  = "*"
          Condition = {
            StringEquals = { "aws:SourceAccount" = local.account_id }
            ArnLike      = { "aws:SourceArn" = local.artifacts_bucket_arn }
          }
        },
      ],
      length(var.kms_key_administrator_arns) == 0 ? [] : [
        {
          Sid       = "KeyAdministrators"
          Effect    = "Allow"
          Principal = { AWS = var.kms_key_administrator_arns }
          Action = [
            "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
            "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
            "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
          ]
          Resource = "*"
        },
      ],
    )
  })
}

################################################################################
# Artifacts bucket: metaflow-artifacts-<id>
################################################################################

resource "aws_s3_bucket" "artifacts" {
  # checkov:skip=CKV_AWS_144: cross-region replication is not required; versioning plus noncurrent-version retention is the recovery path, and S3 already stores across Availability Zones
  bucket        = var.artifacts_bucket_name
  force_destroy = var.force_destroy

  tags = merge(var.tags, { Name = var.artifacts_bucket_name })
}

resource "aws_s3_bucket_ownership_controls" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.artifacts.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_policy" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  policy = local.artifacts_bucket_policy

  # The policy must not race the public access block.
  depends_on = [aws_s3_bucket_public_access_block.artifacts]
}

locals {
  artifacts_bucket_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [local.artifacts_bucket_arn, "${local.artifacts_bucket_arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "DenyTlsOlderThan12"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [local.artifacts_bucket_arn, "${local.artifacts_bucket_arn}/*"]
        Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      },
      {
        # Uploads without an encryption header get the bucket's KMS default; an upload that
        # asks for another algorithm (for example SSE-S3) is refused.
        Sid       = "DenyUploadsNotUsingKms"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = "${local.artifacts_bucket_arn}/*"
        Condition = {
          StringNotEquals = { "s3:x-amz-server-side-encryption" = "aws:kms" }
          Null            = { "s3:x-amz-server-side-encryption" = "false" }
        }
      },
    ]
  })
}

# Lifecycle: ONLY noncurrent versions and unfinished uploads. Metaflow's datastore is
# content-addressed, so one current object can serve runs old and new; expiring or
# transitioning current objects would break them (SPEC.md, "Storage lifecycle").
resource "aws_s3_bucket_lifecycle_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    dynamic "noncurrent_version_transition" {
      for_each = var.noncurrent_version_transition_days == null ? [] : [var.noncurrent_version_transition_days]

      content {
        noncurrent_days = noncurrent_version_transition.value
        storage_class   = "STANDARD_IA"
      }
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_upload_days
    }
  }

  # A rule change must not apply before versioning exists.
  depends_on = [aws_s3_bucket_versioning.artifacts]

  lifecycle {
    precondition {
      condition     = var.noncurrent_version_transition_days == null ? true : var.noncurrent_version_transition_days < var.noncurrent_version_expiration_days
      error_message = "noncurrent_version_transition_days must be smaller than noncurrent_version_expiration_days."
    }
  }
}

resource "aws_s3_bucket_logging" "artifacts" {
  count = var.access_log_bucket_name == null ? 0 : 1

  bucket        = aws_s3_bucket.artifacts.id
  target_bucket = var.access_log_bucket_name
  target_prefix = coalesce(var.access_log_prefix, "s3-access/${var.artifacts_bucket_name}/")
}

################################################################################
# Event notifications: artifacts bucket -> SNS (KMS-encrypted)
################################################################################

resource "aws_sns_topic" "artifacts_events" {
  name              = "${var.name}-artifacts-events"
  kms_master_key_id = aws_kms_key.artifacts.arn

  tags = merge(var.tags, { Name = "${var.name}-artifacts-events" })
}

resource "aws_sns_topic_policy" "artifacts_events" {
  arn = aws_sns_topic.artifacts_events.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "S3PublishesArtifactsEvents"
        Effect    = "Allow"
        Principal = { Service = "s3.amazonaws.com" }
        Action    = "SNS:Publish"
        Resource  = aws_sns_topic.artifacts_events.arn
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = local.artifacts_bucket_arn }
        }
      },
    ]
  })
}

resource "aws_s3_bucket_notification" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  topic {
    topic_arn     = aws_sns_topic.artifacts_events.arn
    events        = var.notification_events
    filter_prefix = var.notification_filter_prefix
  }

  # S3 tests publishing when the notification is created: the topic policy must exist first.
  depends_on = [aws_sns_topic_policy.artifacts_events]
}

################################################################################
# Existing raw bucket (data-platform-raw): an identity policy, never a bucket policy
################################################################################

resource "aws_iam_policy" "raw_prefix_access" {
  name        = "${var.name}-raw-prefix-access"
  description = "Read and write the platform's prefixes of ${var.raw_bucket_name}; nothing else of that bucket."
  policy      = local.raw_prefix_access_policy

  tags = var.tags
}

locals {
  raw_prefix_access_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid       = "ListPlatformPrefixes"
          Effect    = "Allow"
          Action    = "s3:ListBucket"
          Resource  = local.raw_bucket_arn
          Condition = { StringLike = { "s3:prefix" = [for prefix in local.raw_access_prefixes : "${prefix}*"] } }
        },
        {
          Sid      = "LocateBucket"
          Effect   = "Allow"
          Action   = "s3:GetBucketLocation"
          Resource = local.raw_bucket_arn
        },
        {
          # No s3:DeleteObject: landed raw data is append-only; retention is the lifecycle's job.
          Sid    = "ReadWritePlatformPrefixes"
          Effect = "Allow"
          Action = [
            "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject",
            "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
          ]
          Resource = [for prefix in local.raw_access_prefixes : "${local.raw_bucket_arn}/${prefix}*"]
        },
      ],
      var.raw_bucket_kms_key_arn == null ? [] : [
        {
          Sid       = "UseRawBucketKeyThroughS3"
          Effect    = "Allow"
          Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
          Resource  = var.raw_bucket_kms_key_arn
          Condition = { StringEquals = { "kms:ViaService" = "s3.${data.aws_region.current.name}.amazonaws.com" } }
        },
      ],
    )
  })
}

# WARNING: a bucket has exactly one lifecycle configuration. Creating this resource REPLACES
# every lifecycle rule already on the raw bucket, and destroying it deletes them all.
# That is why it is off by default (manage_raw_bucket_lifecycle = false); see README.md.
resource "aws_s3_bucket_lifecycle_configuration" "raw" {
  count = var.manage_raw_bucket_lifecycle ? 1 : 0

  # checkov:skip=CKV_AWS_300: the platform owns only the AppsFlyer prefix of the data platform's raw bucket; its rule aborts unfinished uploads there, and a bucket-wide rule would act on the data platform's prefixes
  bucket                = var.raw_bucket_name
  expected_bucket_owner = local.account_id

  rule {
    id     = "appsflyer-landing"
    status = "Enabled"

    filter {
      prefix = var.appsflyer_prefix
    }

    dynamic "transition" {
      for_each = var.raw_transition_days == null ? [] : [var.raw_transition_days]

      content {
        days          = transition.value
        storage_class = var.raw_transition_storage_class
      }
    }

    dynamic "expiration" {
      for_each = var.raw_expiration_days == null ? [] : [var.raw_expiration_days]

      content {
        days = expiration.value
      }
    }

    noncurrent_version_expiration {
      noncurrent_days = var.raw_noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_upload_days
    }
  }

  lifecycle {
    precondition {
      condition     = var.raw_transition_days != null || var.raw_expiration_days != null
      error_message = "With manage_raw_bucket_lifecycle = true, set raw_transition_days, raw_expiration_days or both."
    }

    precondition {
      condition     = var.raw_transition_days == null || var.raw_expiration_days == null ? true : var.raw_transition_days < var.raw_expiration_days
      error_message = "raw_transition_days must be smaller than raw_expiration_days."
    }

    precondition {
      condition     = var.raw_transition_days == null ? true : !contains(["STANDARD_IA", "ONEZONE_IA"], var.raw_transition_storage_class) || var.raw_transition_days >= 30
      error_message = "S3 moves objects to STANDARD_IA or ONEZONE_IA only after at least 30 days: raise raw_transition_days."
    }
  }
}
