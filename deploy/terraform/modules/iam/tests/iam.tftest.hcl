mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
      arn        = "arn:aws:iam::123456789012:user/test"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }
}

variables {
  name                 = "mlplatform-test"
  artifacts_bucket_arn = "arn:aws:s3:::metaflow-artifacts-test"
  kms_key_arn          = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  job_queue_arn        = "arn:aws:batch:eu-west-1:123456789012:job-queue/mlplatform-test"
  alerts_topic_arn     = "arn:aws:sns:eu-west-1:123456789012:mlplatform-test-alerts"
  admin_principal_arns = ["arn:aws:iam::123456789012:role/devops"]
  secret_arns          = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf"]
  database_secret_arn  = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf"
  tags                 = { Environment = "test" }
}

run "boundary" {
  command = plan

  assert {
    condition     = aws_iam_policy.boundary.path == "/mlplatform/" && aws_iam_policy.boundary.name == "mlplatform-test-user-boundary"
    error_message = "The boundary must live under /mlplatform/."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.boundary.statement :
      s.effect == "Allow" && try(contains(s.actions, "s3:PutObject"), false) && try(contains(s.resources, "arn:aws:s3:::metaflow-artifacts-test/*"), false)
    ])
    error_message = "The boundary must allow S3 object access on the artifacts bucket (users/ prefix included)."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.boundary.statement :
      s.effect == "Allow" && try(contains(s.actions, "batch:TagResource"), false) && try(contains(s.resources, "arn:aws:batch:eu-west-1:123456789012:job/*"), false)
    ])
    error_message = "The boundary must allow batch:TagResource on jobs (cost-allocation tags)."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.boundary.statement :
      s.effect == "Allow" && try(contains(s.actions, "batch:SubmitJob"), false) && try(contains(s.resources, "arn:aws:batch:eu-west-1:123456789012:job-queue/mlplatform-test"), false)
    ])
    error_message = "The boundary must allow submitting to the platform queue."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.boundary.statement :
      s.sid == "DenyIamChanges" && s.effect == "Deny" && try(contains(s.actions, "iam:Create*"), false) && try(contains(s.actions, "iam:Put*"), false)
    ])
    error_message = "The boundary must deny IAM changes explicitly."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.boundary.statement :
      s.effect == "Deny" && try(contains(s.actions, "iam:DeleteRolePermissionsBoundary"), false)
    ])
    error_message = "The boundary must deny its own removal."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.boundary.statement :
      s.sid == "DenyS3OutsidePlatform" && s.effect == "Deny" && try(contains(s.not_resources, "arn:aws:s3:::metaflow-artifacts-test/*"), false)
    ])
    error_message = "The boundary must deny S3 outside the platform's buckets."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.boundary.statement :
      s.sid == "DenyOtherServices" && s.effect == "Deny" && !try(contains(s.not_actions, "events:*"), false)
    ])
    error_message = "Without allow_user_sfn_deploy the boundary must deny every other service, EventBridge included."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.boundary.statement :
      !(s.effect == "Allow" && try(contains(s.actions, "states:CreateStateMachine"), false))
    ])
    error_message = "Users must not deploy state machines unless allow_user_sfn_deploy is set."
  }
}

run "user_manager_needs_boundary" {
  command = plan

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.user_manager.statement :
      try(contains(s.actions, "iam:CreateRole"), false) && s.resources == toset(["arn:aws:iam::123456789012:role/mlplatform/users/*"]) && anytrue([
        for c in s.condition : c.variable == "iam:PermissionsBoundary" && try(contains(c.values, "arn:aws:iam::123456789012:policy/mlplatform/mlplatform-test-user-boundary"), false)
      ])
    ])
    error_message = "iam:CreateRole must be limited to role/mlplatform/users/* and require the boundary."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.user_manager.statement :
      alltrue([for r in s.resources : r != "*"]) if s.effect == "Allow"
    ])
    error_message = "The user manager's allows must all name resources."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.user_manager.statement :
      s.effect == "Allow" && try(contains(s.actions, "s3:PutObject"), false) && try(contains(s.resources, "arn:aws:s3:::metaflow-artifacts-test/users/*"), false)
    ])
    error_message = "The user manager must write the users/ prefix."
  }
}

run "admin_requires_mfa" {
  command = plan

  assert {
    condition = anytrue([
      for c in data.aws_iam_policy_document.admin_trust.statement[0].condition :
      c.test == "Bool" && c.variable == "aws:MultiFactorAuthPresent" && try(contains(c.values, "true"), false)
    ])
    error_message = "Assuming the admin role must require MFA."
  }

  assert {
    condition     = aws_iam_role.admin.max_session_duration == 3600
    error_message = "Admin sessions must default to one hour."
  }
}

run "metaflow_roles" {
  command = plan

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.step_functions.statement :
      try(contains(s.actions, "batch:TagResource"), false)
    ])
    error_message = "The Step Functions role needs batch:TagResource."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.step_functions.statement :
      try(contains(s.actions, "dynamodb:PutItem"), false) && try(contains(s.resources, "arn:aws:dynamodb:eu-west-1:123456789012:table/mlplatform-test*"), false)
    ])
    error_message = "The Step Functions role must reach the state table (name pattern when no ARN is given)."
  }

  assert {
    condition     = data.aws_iam_policy_document.eventbridge.statement[0].actions == toset(["states:StartExecution"]) && data.aws_iam_policy_document.eventbridge.statement[0].resources == toset(["arn:aws:states:eu-west-1:123456789012:stateMachine:mlplatform-test*"])
    error_message = "The EventBridge role may only start the platform's state machines."
  }
}

run "task_roles" {
  command = plan

  variables {
    appsflyer_token_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:appsflyer-token-AbCdEf"
    sfn_state_table_arn        = "arn:aws:dynamodb:eu-west-1:123456789012:table/mlplatform-test-sfn-state"
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.monitoring_task.statement :
      try(contains(s.actions, "cloudwatch:PutMetricData"), false) && anytrue([for c in s.condition : c.variable == "cloudwatch:namespace" && try(contains(c.values, "MLPlatform"), false)])
    ])
    error_message = "PutMetricData must be limited to the MLPlatform namespace."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.monitoring_task.statement :
      try(contains(s.actions, "sns:Publish"), false) && s.resources == toset(["arn:aws:sns:eu-west-1:123456789012:mlplatform-test-alerts"])
    ])
    error_message = "The monitoring task may publish only to the alerts topic."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.monitoring_task.statement :
      try(contains(s.actions, "secretsmanager:GetSecretValue"), false) && try(contains(s.resources, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf"), false)
    ])
    error_message = "The monitoring task must read the metadata DB secret."
  }

  assert {
    condition     = data.aws_iam_policy_document.push_receiver_task.statement[0].actions == toset(["s3:PutObject"]) && data.aws_iam_policy_document.push_receiver_task.statement[0].resources == toset(["arn:aws:s3:::data-platform-raw/appsflyer/*"])
    error_message = "The Push receiver may only put objects under the raw bucket's appsflyer/ prefix."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.appsflyer_pull_task.statement :
      s.resources == toset(["arn:aws:s3:::data-platform-raw/appsflyer/*/part-*"]) if try(contains(s.actions, "s3:DeleteObject"), false)
    ])
    error_message = "The pull task may delete only stale part files under the AppsFlyer prefix."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.appsflyer_pull_task.statement :
      try(contains(s.actions, "secretsmanager:GetSecretValue"), false) && s.resources == toset(["arn:aws:secretsmanager:eu-west-1:123456789012:secret:appsflyer-token-AbCdEf"])
    ])
    error_message = "The pull task must read only its token secret."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.ecs_task_execution.statement :
      try(contains(s.actions, "secretsmanager:GetSecretValue"), false) && s.resources == toset(["arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf"])
    ])
    error_message = "The execution role may read only the listed secrets."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.step_functions.statement :
      s.resources == toset(["arn:aws:dynamodb:eu-west-1:123456789012:table/mlplatform-test-sfn-state"])
    ])
    error_message = "A given state table ARN must be used as is."
  }

  assert {
    condition = anytrue([
      for c in data.aws_iam_policy_document.ecs_tasks_trust.statement[0].condition :
      c.variable == "aws:SourceAccount" && try(contains(c.values, "123456789012"), false)
    ])
    error_message = "Task roles must trust only ECS tasks of this account."
  }
}

run "user_sfn_deploy_opt_in" {
  command = plan

  variables {
    allow_user_sfn_deploy = true
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.boundary.statement :
      s.effect == "Allow" && try(contains(s.actions, "states:CreateStateMachine"), false)
    ])
    error_message = "allow_user_sfn_deploy must let users create state machines under the prefix."
  }
}

run "rejects_admin_without_principals" {
  command = plan

  variables {
    admin_principal_arns = []
  }

  expect_failures = [var.admin_principal_arns]
}

run "rejects_bucket_arn_with_key" {
  command = plan

  variables {
    artifacts_bucket_arn = "arn:aws:s3:::metaflow-artifacts-test/metaflow"
  }

  expect_failures = [var.artifacts_bucket_arn]
}
