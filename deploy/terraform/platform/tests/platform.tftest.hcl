# The composition applied against a mocked AWS: every module wires up, and what the software
# imports (the Metaflow profile, the settings sections) is complete and holds no secret value.

mock_provider "aws" {
  source = "../tests/mocks"
}

override_data {
  target = module.network.data.aws_subnet.private["subnet-0aaa1111bbbb2222c"]
  values = { id = "subnet-0aaa1111bbbb2222c", vpc_id = "vpc-0123456789abcdef0", availability_zone = "eu-west-1a" }
}

override_data {
  target = module.network.data.aws_subnet.private["subnet-0ddd3333eeee4444f"]
  values = { id = "subnet-0ddd3333eeee4444f", vpc_id = "vpc-0123456789abcdef0", availability_zone = "eu-west-1b" }
}

variables {
  name                       = "mlplatform-test"
  environment                = "test"
  vpc_id                     = "vpc-0123456789abcdef0"
  private_subnet_ids         = ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"]
  public_subnet_ids          = ["subnet-0123aaaa4567bbbb8", "subnet-0987cccc6543dddd2"]
  alb_allowed_cidrs          = ["203.0.113.0/24"]
  artifacts_bucket_name      = "metaflow-artifacts-test"
  efs_file_system_id         = "fs-0123456789abcdef0"
  certificate_arn            = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  hub_domain                 = "hub.test.example"
  admin_principal_arns       = ["arn:aws:iam::123456789012:role/DevOps"]
  appsflyer_token_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mlplatform/appsflyer-token-AbCdEf"
  alert_secret_arns = {
    slack     = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mlplatform/slack-webhook-AbCdEf"
    pagerduty = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mlplatform/pagerduty-key-AbCdEf"
  }
  image_tag    = "0123abc"
  daily_budget = 250
}

run "composes_and_exports_settings" {
  command = apply

  assert {
    condition     = jsondecode(output.metaflow_profile_json)["METAFLOW_BATCH_CONTAINER_IMAGE"] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlplatform-mock:0123abc"
    error_message = "Batch tasks run the platform image at the deployed tag"
  }

  assert {
    condition     = jsondecode(output.metaflow_profile_json)["METAFLOW_SFN_STATE_MACHINE_PREFIX"] == "mlplatform-test"
    error_message = "state machines carry the platform's prefix (the failure events rule matches it)"
  }

  assert {
    condition     = endswith(output.platform_settings.metadata.database_url, "sslmode=require") && !strcontains(output.platform_settings.metadata.database_url, ":@")
    error_message = "the collector's database URL requires TLS and carries no password"
  }

  assert {
    condition     = output.platform_settings.alerts.slack_webhook_secret == var.alert_secret_arns["slack"] && output.platform_settings.alerts.pagerduty_routing_key_secret == var.alert_secret_arns["pagerduty"]
    error_message = "alert endpoints are named by their secrets"
  }

  assert {
    condition     = output.platform_settings.monitoring.daily_budget == 250
    error_message = "the budget reaches the cost alert rule"
  }

  assert {
    condition     = output.hub_url == "https://hub.test.example"
    error_message = "the hub's URL is its public host name"
  }
}

run "rejects_a_bad_name" {
  command = plan

  variables {
    name = "ML Platform"
  }

  expect_failures = [var.name]
}
