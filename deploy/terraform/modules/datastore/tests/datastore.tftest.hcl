# Plan-only tests with a mocked AWS provider: no credentials, no network.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }

  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }

  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
}

# Known ARNs during plan, so that the wiring between key, bucket and topic can be asserted.
override_resource {
  target          = aws_kms_key.artifacts
  override_during = plan
  values          = { arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" }
}

override_resource {
  target          = aws_sns_topic.artifacts_events
  override_during = plan
  values          = { arn = "arn:aws:sns:eu-west-1:123456789012:mlplatform-test-artifacts-events" }
}

variables {
  name                  = "mlplatform-test"
  artifacts_bucket_name = "metaflow-artifacts-test-123456789012"
  tags                  = { Project = "mlplatform" }
}

run "artifacts_bucket_is_locked_down" {
  command = plan

  assert {
    condition     = aws_s3_bucket.artifacts.bucket == "metaflow-artifacts-test-123456789012" && aws_s3_bucket.artifacts.force_destroy == false
    error_message = "The artifacts bucket must be named metaflow-artifacts-<id> and must not be force-destroyed by default."
  }

  assert {
    condition     = aws_s3_bucket_versioning.artifacts.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning must be enabled on the artifacts bucket."
  }

  assert {
    condition = alltrue([for rule in aws_s3_bucket_server_side_encryption_configuration.artifacts.rule :
      rule.apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
      rule.apply_server_side_encryption_by_default[0].kms_master_key_id == aws_kms_key.artifacts.arn &&
      rule.bucket_key_enabled
    ])
    error_message = "The artifacts bucket must default to SSE-KMS with the module's own key and an S3 bucket key."
  }

  assert {
    condition     = aws_kms_key.artifacts.enable_key_rotation && aws_kms_key.artifacts.deletion_window_in_days == 30
    error_message = "The artifacts KMS key must rotate and keep a 30-day deletion window."
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.artifacts.block_public_acls &&
      aws_s3_bucket_public_access_block.artifacts.block_public_policy &&
      aws_s3_bucket_public_access_block.artifacts.ignore_public_acls &&
      aws_s3_bucket_public_access_block.artifacts.restrict_public_buckets
    )
    error_message = "Every public access block setting must be on."
  }

  assert {
    condition     = aws_s3_bucket_ownership_controls.artifacts.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }

  assert {
    condition = anytrue([for statement in jsondecode(aws_s3_bucket_policy.artifacts.policy).Statement : try(
      statement.Effect == "Deny" && statement.Principal == "*" && statement.Action == "s3:*" &&
      statement.Condition.Bool["aws:SecureTransport"] == "false" &&
      toset(statement.Resource) == toset(["arn:aws:s3:::metaflow-artifacts-test-123456789012", "arn:aws:s3:::metaflow-artifacts-test-123456789012/*"]),
      false,
    )])
    error_message = "The bucket policy must deny every request without TLS, on the bucket and its objects."
  }

  assert {
    condition     = alltrue([for statement in jsondecode(aws_s3_bucket_policy.artifacts.policy).Statement : statement.Effect == "Deny"])
    error_message = "The artifacts bucket policy must only deny; access is granted by IAM roles."
  }

  assert {
    condition     = output.datastore_root == "s3://metaflow-artifacts-test-123456789012/metaflow" && output.datatools_root == "s3://metaflow-artifacts-test-123456789012/data" && output.users_prefix == "s3://metaflow-artifacts-test-123456789012/users"
    error_message = "The datastore, datatools and users roots must sit in the artifacts bucket."
  }

  assert {
    condition     = output.kms_key_arn == aws_kms_key.artifacts.arn && aws_s3_bucket.artifacts.tags["Project"] == "mlplatform"
    error_message = "kms_key_arn must be the artifacts key, and the bucket must carry var.tags."
  }

  assert {
    condition     = length(aws_s3_bucket_logging.artifacts) == 0
    error_message = "Access logging must be off unless access_log_bucket_name is set."
  }
}

run "lifecycle_never_touches_current_objects" {
  command = plan

  assert {
    condition = alltrue([for rule in aws_s3_bucket_lifecycle_configuration.artifacts.rule :
      length(rule.expiration) == 0 && length(rule.transition) == 0
    ])
    error_message = "No artifacts lifecycle rule may expire or transition current objects (SPEC.md, Storage lifecycle)."
  }

  assert {
    condition = alltrue([for rule in aws_s3_bucket_lifecycle_configuration.artifacts.rule :
      length(rule.filter) == 1 && length(rule.filter[0].and) == 0 && length(rule.filter[0].tag) == 0
    ])
    error_message = "Artifacts lifecycle rules apply to the whole bucket (an empty filter: no prefix, tag or size condition), so they act on every noncurrent version and unfinished upload, and on nothing else."
  }

  assert {
    condition     = [for rule in aws_s3_bucket_lifecycle_configuration.artifacts.rule : rule.id] == ["expire-noncurrent-versions", "abort-incomplete-multipart-uploads"]
    error_message = "Exactly two artifacts lifecycle rules are expected."
  }

  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.artifacts.rule[0].noncurrent_version_expiration[0].noncurrent_days == 90 && length(aws_s3_bucket_lifecycle_configuration.artifacts.rule[0].noncurrent_version_transition) == 0
    error_message = "Noncurrent versions must expire after 90 days by default, without a transition."
  }

  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.artifacts.rule[1].abort_incomplete_multipart_upload[0].days_after_initiation == 7
    error_message = "Unfinished multipart uploads must be aborted after 7 days."
  }

  assert {
    condition     = alltrue([for rule in aws_s3_bucket_lifecycle_configuration.artifacts.rule : rule.status == "Enabled"])
    error_message = "The artifacts lifecycle rules must be enabled."
  }
}

run "noncurrent_versions_can_move_to_standard_ia" {
  command = plan

  variables {
    noncurrent_version_transition_days = 30
    noncurrent_version_expiration_days = 180
  }

  assert {
    condition = alltrue([for transition in aws_s3_bucket_lifecycle_configuration.artifacts.rule[0].noncurrent_version_transition :
      transition.noncurrent_days == 30 && transition.storage_class == "STANDARD_IA"
    ]) && aws_s3_bucket_lifecycle_configuration.artifacts.rule[0].noncurrent_version_expiration[0].noncurrent_days == 180
    error_message = "The optional transition must act on noncurrent versions only."
  }

  assert {
    condition     = alltrue([for rule in aws_s3_bucket_lifecycle_configuration.artifacts.rule : length(rule.expiration) == 0 && length(rule.transition) == 0])
    error_message = "Current objects must stay untouched whatever the variables say."
  }
}

run "events_go_to_an_encrypted_topic" {
  command = plan

  assert {
    condition     = aws_sns_topic.artifacts_events.kms_master_key_id == aws_kms_key.artifacts.arn
    error_message = "The artifacts events topic must be encrypted with the artifacts key."
  }

  assert {
    condition = anytrue([for statement in jsondecode(aws_sns_topic_policy.artifacts_events.policy).Statement : try(
      statement.Effect == "Allow" && statement.Principal.Service == "s3.amazonaws.com" && statement.Action == "SNS:Publish" &&
      statement.Condition.ArnLike["aws:SourceArn"] == "arn:aws:s3:::metaflow-artifacts-test-123456789012" &&
      statement.Condition.StringEquals["aws:SourceAccount"] == "123456789012",
      false,
    )])
    error_message = "The topic policy must let only this bucket, in this account, publish."
  }

  assert {
    condition = anytrue([for statement in jsondecode(aws_kms_key.artifacts.policy).Statement : try(
      statement.Effect == "Allow" && statement.Principal.Service == "s3.amazonaws.com" &&
      contains(statement.Action, "kms:GenerateDataKey*") &&
      statement.Condition.ArnLike["aws:SourceArn"] == "arn:aws:s3:::metaflow-artifacts-test-123456789012",
      false,
    )])
    error_message = "The key policy must let S3 encrypt event messages for this bucket's topic."
  }

  assert {
    condition     = aws_s3_bucket_notification.artifacts.topic[0].topic_arn == aws_sns_topic.artifacts_events.arn && toset(aws_s3_bucket_notification.artifacts.topic[0].events) == toset(["s3:ObjectCreated:*", "s3:ObjectRemoved:*"])
    error_message = "Object created and removed events must go to the artifacts events topic."
  }
}

run "raw_bucket_gets_a_prefix_policy_and_no_lifecycle_by_default" {
  command = plan

  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.raw) == 0
    error_message = "The raw bucket's lifecycle configuration must not be managed unless manage_raw_bucket_lifecycle = true."
  }

  assert {
    condition = alltrue(flatten([for statement in jsondecode(aws_iam_policy.raw_prefix_access.policy).Statement : [
      for resource in flatten([statement.Resource]) : resource == "arn:aws:s3:::data-platform-raw" || resource == "arn:aws:s3:::data-platform-raw/appsflyer/*"
    ]]))
    error_message = "The raw access policy may only name the raw bucket and its appsflyer/ prefix."
  }

  assert {
    condition = anytrue([for statement in jsondecode(aws_iam_policy.raw_prefix_access.policy).Statement : try(
      statement.Action == "s3:ListBucket" && statement.Condition.StringLike["s3:prefix"] == ["appsflyer/*"],
      false,
    )])
    error_message = "Listing the raw bucket must be limited to the platform's prefix."
  }

  assert {
    condition = !anytrue([for statement in jsondecode(aws_iam_policy.raw_prefix_access.policy).Statement :
      anytrue([for action in flatten([statement.Action]) : strcontains(action, "Delete") || strcontains(action, "Policy") || action == "s3:*"])
    ])
    error_message = "The raw access policy must not delete objects or touch bucket policies."
  }
}

run "raw_bucket_lifecycle_when_asked" {
  command = plan

  variables {
    manage_raw_bucket_lifecycle = true
    raw_transition_days         = 45
    raw_expiration_days         = 400
    raw_bucket_kms_key_arn      = "arn:aws:kms:eu-west-1:123456789012:key/99999999-8888-7777-6666-555555555555"
  }

  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.raw) == 1 && aws_s3_bucket_lifecycle_configuration.raw[0].bucket == "data-platform-raw" && aws_s3_bucket_lifecycle_configuration.raw[0].expected_bucket_owner == "123456789012"
    error_message = "The raw lifecycle configuration must target data-platform-raw in this account."
  }

  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.raw[0].rule) == 1 && aws_s3_bucket_lifecycle_configuration.raw[0].rule[0].filter[0].prefix == "appsflyer/"
    error_message = "The only raw rule must be filtered on the AppsFlyer landing prefix."
  }

  assert {
    condition = alltrue([for transition in aws_s3_bucket_lifecycle_configuration.raw[0].rule[0].transition :
      transition.days == 45 && transition.storage_class == "STANDARD_IA"
    ]) && length(aws_s3_bucket_lifecycle_configuration.raw[0].rule[0].transition) == 1
    error_message = "AppsFlyer raw objects must move to STANDARD_IA after raw_transition_days."
  }

  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.raw[0].rule[0].expiration[0].days == 400
    error_message = "AppsFlyer raw objects must expire after raw_expiration_days."
  }

  assert {
    condition = anytrue([for statement in jsondecode(aws_iam_policy.raw_prefix_access.policy).Statement : try(
      statement.Resource == "arn:aws:kms:eu-west-1:123456789012:key/99999999-8888-7777-6666-555555555555" &&
      statement.Condition.StringEquals["kms:ViaService"] == "s3.eu-west-1.amazonaws.com",
      false,
    )])
    error_message = "With a raw bucket key, the policy must allow that key through S3 only."
  }
}

run "access_logging_when_asked" {
  command = plan

  variables {
    access_log_bucket_name = "data-platform-logs"
  }

  assert {
    condition     = aws_s3_bucket_logging.artifacts[0].target_bucket == "data-platform-logs" && aws_s3_bucket_logging.artifacts[0].target_prefix == "s3-access/metaflow-artifacts-test-123456789012/"
    error_message = "Access logs must go to access_log_bucket_name under s3-access/<bucket>/."
  }
}

run "rejects_a_bucket_name_outside_the_convention" {
  command = plan

  variables {
    artifacts_bucket_name = "my-artifacts"
  }

  expect_failures = [var.artifacts_bucket_name]
}

run "rejects_zero_day_noncurrent_retention" {
  command = plan

  variables {
    noncurrent_version_expiration_days = 0
  }

  expect_failures = [var.noncurrent_version_expiration_days]
}

run "rejects_an_empty_raw_prefix" {
  command = plan

  variables {
    raw_access_prefixes = [""]
  }

  expect_failures = [var.raw_access_prefixes]
}

run "rejects_standard_ia_before_30_days" {
  command = plan

  variables {
    manage_raw_bucket_lifecycle = true
    raw_transition_days         = 7
  }

  expect_failures = [aws_s3_bucket_lifecycle_configuration.raw]
}
