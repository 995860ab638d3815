# The production composition planned against a mocked AWS: the brief's numbers reach the
# resources, and the outputs the software imports are complete and carry no secret.

mock_provider "aws" {
  source = "../../tests/mocks"
}

override_data {
  target = module.platform.module.network.data.aws_subnet.private["subnet-0aaa1111bbbb2222c"]
  values = { id = "subnet-0aaa1111bbbb2222c", vpc_id = "vpc-0123456789abcdef0", availability_zone = "eu-west-1a" }
}

override_data {
  target = module.platform.module.network.data.aws_subnet.private["subnet-0ddd3333eeee4444f"]
  values = { id = "subnet-0ddd3333eeee4444f", vpc_id = "vpc-0123456789abcdef0", availability_zone = "eu-west-1b" }
}

variables {
  vpc_id                     = "vpc-0123456789abcdef0"
  private_subnet_ids         = ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"]
  public_subnet_ids          = ["subnet-0123aaaa4567bbbb8", "subnet-0987cccc6543dddd2"]
  alb_allowed_cidrs          = ["203.0.113.0/24"]
  artifacts_bucket_id        = "dataplatform-prod"
  efs_file_system_id         = "fs-0123456789abcdef0"
  certificate_arn            = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  hub_domain                 = "hub.dataplatform.example"
  admin_principal_arns       = ["arn:aws:iam::123456789012:role/DevOps"]
  appsflyer_token_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mlplatform/appsflyer-token-AbCdEf"
  image_tag                  = "0123abc"
}

run "production_sizes_and_safety" {
  # apply against the mock: outputs built from computed ARNs become known.
  command = apply

  assert {
    condition     = output.environment == "prod"
    error_message = "configure import names the profile after the environment"
  }

  assert {
    condition = alltrue([
      for key in ["METAFLOW_DATASTORE_SYSROOT_S3", "METAFLOW_SERVICE_URL", "METAFLOW_BATCH_JOB_QUEUE",
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE", "METAFLOW_SFN_IAM_ROLE", "METAFLOW_BATCH_CONTAINER_IMAGE",
      "METAFLOW_SFN_DYNAMO_DB_TABLE", "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE"] :
      contains(keys(jsondecode(output.metaflow_profile_json)), key)
    ])
    error_message = "the Metaflow profile lacks a key every user needs"
  }

  assert {
    condition     = jsondecode(output.metaflow_profile_json)["METAFLOW_DATASTORE_SYSROOT_S3"] == "s3://metaflow-artifacts-dataplatform-prod/metaflow"
    error_message = "the datastore root is the artifacts bucket's metaflow/ prefix"
  }

  assert {
    condition     = output.platform_settings.efs.home_root == "/data" && output.platform_settings.users.iam_enabled
    error_message = "users' homes are /data/<user> and per-user IAM roles are on"
  }

  assert {
    condition     = output.platform_settings.ldap.url == "ldaps://ipa.dataplatform.local:636"
    error_message = "the directory is reached over ldaps"
  }

  assert {
    condition     = output.platform_settings.appsflyer.token_secret == var.appsflyer_token_secret_arn
    error_message = "the AppsFlyer token is named by its secret, never by value"
  }
}
