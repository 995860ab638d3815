mock_provider "aws" {
  # The mocked policy document would be a random string; IAM-consuming resources need JSON.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  name = "mlplatform-test"
  tags = { Environment = "test" }
}

run "defaults" {
  command = plan

  assert {
    condition     = toset(keys(aws_ecr_repository.this)) == toset(["batch", "notebook"])
    error_message = "The module must create the batch and notebook repositories by default."
  }

  assert {
    condition     = aws_ecr_repository.this["batch"].name == "mlplatform-test/batch" && aws_ecr_repository.this["notebook"].name == "mlplatform-test/notebook"
    error_message = "Repositories must be named <name>/batch and <name>/notebook."
  }

  assert {
    condition     = alltrue([for r in aws_ecr_repository.this : r.image_tag_mutability == "IMMUTABLE"])
    error_message = "Image tags must be immutable."
  }

  assert {
    condition     = alltrue([for r in aws_ecr_repository.this : r.image_scanning_configuration[0].scan_on_push])
    error_message = "Images must be scanned on push."
  }

  assert {
    condition     = alltrue([for r in aws_ecr_repository.this : r.encryption_configuration[0].encryption_type == "KMS"])
    error_message = "Repositories must be KMS-encrypted."
  }

  assert {
    condition     = alltrue([for r in aws_ecr_repository.this : r.force_delete == false])
    error_message = "force_delete must default to false."
  }

  assert {
    condition     = aws_ecr_repository.this["batch"].tags["Environment"] == "test"
    error_message = "Repositories must carry var.tags."
  }

  assert {
    condition     = length(aws_ecr_repository_policy.pull) == 0
    error_message = "No repository policy without pull_principal_arns."
  }
}

run "lifecycle_policy" {
  command = plan

  variables {
    keep_last_images     = 12
    untagged_expire_days = 3
  }

  assert {
    condition     = length(aws_ecr_lifecycle_policy.this) == 2
    error_message = "Every repository needs a lifecycle policy."
  }

  assert {
    condition = anytrue([
      for rule in jsondecode(aws_ecr_lifecycle_policy.this["batch"].policy).rules :
      rule.selection.tagStatus == "untagged" && rule.selection.countType == "sinceImagePushed" && rule.selection.countNumber == 3
    ])
    error_message = "Untagged images must expire after untagged_expire_days days."
  }

  assert {
    condition = anytrue([
      for rule in jsondecode(aws_ecr_lifecycle_policy.this["notebook"].policy).rules :
      rule.selection.tagStatus == "tagged" && rule.selection.countType == "imageCountMoreThan" && rule.selection.countNumber == 12
    ])
    error_message = "Only the last keep_last_images tagged images may be kept."
  }
}

run "customer_managed_key_and_cross_account_pull" {
  command = plan

  variables {
    kms_key_arn         = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    pull_principal_arns = ["arn:aws:iam::210987654321:role/batch-execution"]
  }

  assert {
    condition     = aws_ecr_repository.this["batch"].encryption_configuration[0].kms_key == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    error_message = "The customer-managed key must be used when given."
  }

  assert {
    condition     = length(aws_ecr_repository_policy.pull) == 2
    error_message = "Each repository needs a pull policy when pull_principal_arns is set."
  }
}

run "rejects_uppercase_repository" {
  command = plan

  variables {
    repositories = ["Batch"]
  }

  expect_failures = [var.repositories]
}

run "rejects_zero_images_kept" {
  command = plan

  variables {
    keep_last_images = 0
  }

  expect_failures = [var.keep_last_images]
}
