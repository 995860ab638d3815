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

override_resource {
  target          = aws_kms_key.this
  override_during = plan
  values          = { arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" }
}

override_resource {
  target          = aws_db_parameter_group.this
  override_during = plan
  values          = { name = "mlplatform-test-postgres16-20250101000000000000000001" }
}

override_resource {
  target          = aws_db_instance.this
  override_during = plan
  values = {
    address = "mlplatform-test-metadata.abcdefghijkl.eu-west-1.rds.amazonaws.com"
    master_user_secret = [{
      secret_arn    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf"
      kms_key_id    = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
      secret_status = "active"
    }]
  }
}

variables {
  name              = "mlplatform-test"
  subnet_ids        = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
  security_group_id = "sg-0123456789abcdef0"
  tags              = { Project = "mlplatform" }
}

run "primary_instance_defaults" {
  command = plan

  assert {
    condition     = aws_db_instance.this.engine == "postgres" && startswith(aws_db_instance.this.engine_version, "16")
    error_message = "The metadata database must be PostgreSQL 16 (not the anchor's old default 11)."
  }

  assert {
    condition     = aws_db_instance.this.instance_class == "db.t3.medium" && aws_db_instance.this.identifier == "mlplatform-test-metadata"
    error_message = "The instance must be a db.t3.medium named <name>-metadata."
  }

  assert {
    condition     = aws_db_instance.this.multi_az == true
    error_message = "The primary must be multi-AZ."
  }

  assert {
    condition     = aws_db_instance.this.allocated_storage == 100 && aws_db_instance.this.storage_type == "gp3" && aws_db_instance.this.max_allocated_storage > aws_db_instance.this.allocated_storage
    error_message = "Storage must be 100 GiB of gp3 with autoscaling above it."
  }

  assert {
    condition     = aws_db_instance.this.storage_encrypted && aws_db_instance.this.kms_key_id == aws_kms_key.this[0].arn
    error_message = "Storage must be encrypted with the module's KMS key."
  }

  assert {
    condition     = aws_db_instance.this.backup_retention_period >= 7
    error_message = "Automated backups must be kept at least 7 days."
  }

  assert {
    condition     = aws_db_instance.this.deletion_protection && !aws_db_instance.this.skip_final_snapshot && aws_db_instance.this.final_snapshot_identifier == "mlplatform-test-metadata-final" && !aws_db_instance.this.delete_automated_backups
    error_message = "Deletion protection, a final snapshot and retained automated backups are required."
  }

  assert {
    condition     = aws_db_instance.this.manage_master_user_password && aws_db_instance.this.password == null && aws_db_instance.this.master_user_secret_kms_key_id == aws_kms_key.this[0].arn
    error_message = "The master password must be generated and kept by RDS in Secrets Manager, never passed in."
  }

  assert {
    condition     = aws_db_instance.this.publicly_accessible == false && aws_db_instance.this.vpc_security_group_ids == toset(["sg-0123456789abcdef0"]) && aws_db_instance.this.port == 5432
    error_message = "The database must be private, on 5432, behind the given security group."
  }

  assert {
    condition     = aws_db_instance.this.performance_insights_enabled && aws_db_instance.this.performance_insights_kms_key_id == aws_kms_key.this[0].arn
    error_message = "Performance Insights must be on and encrypted with the module's key."
  }

  assert {
    condition     = aws_db_instance.this.iam_database_authentication_enabled && aws_db_instance.this.auto_minor_version_upgrade && aws_db_instance.this.copy_tags_to_snapshot
    error_message = "IAM database authentication, minor version upgrades and snapshot tags must be on."
  }

  assert {
    condition     = contains(aws_db_instance.this.enabled_cloudwatch_logs_exports, "postgresql") && aws_cloudwatch_log_group.this["mlplatform-test-metadata/postgresql"].retention_in_days == 365
    error_message = "PostgreSQL logs must be exported to a log group kept for a year."
  }

  assert {
    condition     = aws_db_instance.this.monitoring_interval == 60 && length(aws_iam_role.monitoring) == 1
    error_message = "Enhanced Monitoring must be on by default, with its role."
  }

  assert {
    condition     = aws_kms_key.this[0].enable_key_rotation
    error_message = "The database KMS key must rotate."
  }
}

run "tls_is_required" {
  command = plan

  assert {
    condition     = aws_db_parameter_group.this.family == "postgres16"
    error_message = "The parameter group family must follow the engine's major version."
  }

  assert {
    condition     = anytrue([for parameter in aws_db_parameter_group.this.parameter : parameter.name == "rds.force_ssl" && parameter.value == "1"])
    error_message = "rds.force_ssl must be 1."
  }

  assert {
    condition     = aws_db_instance.this.parameter_group_name == aws_db_parameter_group.this.name
    error_message = "The primary must use the TLS-enforcing parameter group."
  }

  assert {
    condition     = output.database_url_template == "postgresql://metaflow@mlplatform-test-metadata.abcdefghijkl.eu-west-1.rds.amazonaws.com:5432/metaflow?sslmode=require"
    error_message = "database_url_template must carry no password and require TLS."
  }

  assert {
    condition     = output.master_user_secret_arn == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf"
    error_message = "master_user_secret_arn must come from the RDS-managed secret."
  }
}

run "no_replica_by_default" {
  command = plan

  assert {
    condition     = length(aws_db_instance.replica) == 0 && output.replica_address == null
    error_message = "No read replica unless create_read_replica = true."
  }

  assert {
    condition     = output.replica_database_url_template == output.database_url_template
    error_message = "Without a replica, the collector's URL falls back to the primary."
  }
}

run "read_replica_for_the_collector" {
  command = plan

  variables {
    create_read_replica    = true
    replica_instance_class = "db.t3.small"
  }

  assert {
    condition     = length(aws_db_instance.replica) == 1 && aws_db_instance.replica[0].replicate_source_db == "mlplatform-test-metadata"
    error_message = "The replica must replicate the primary."
  }

  assert {
    condition     = aws_db_instance.replica[0].instance_class == "db.t3.small" && aws_db_instance.replica[0].storage_encrypted && aws_db_instance.replica[0].kms_key_id == aws_kms_key.this[0].arn
    error_message = "The replica must use its own class and the module's KMS key."
  }

  assert {
    condition     = aws_db_instance.replica[0].publicly_accessible == false && aws_db_instance.replica[0].parameter_group_name == aws_db_parameter_group.this.name
    error_message = "The replica must be private and require TLS like the primary."
  }

  assert {
    condition     = length(aws_cloudwatch_log_group.this) == 4
    error_message = "Both instances need their log groups."
  }
}

run "external_key_and_no_enhanced_monitoring" {
  command = plan

  variables {
    create_kms_key      = false
    kms_key_arn         = "arn:aws:kms:eu-west-1:123456789012:key/99999999-8888-7777-6666-555555555555"
    monitoring_interval = 0
    engine_version      = "16.8"
  }

  assert {
    condition     = length(aws_kms_key.this) == 0 && aws_db_instance.this.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/99999999-8888-7777-6666-555555555555"
    error_message = "A given kms_key_arn must be used instead of a new key."
  }

  assert {
    condition     = length(aws_iam_role.monitoring) == 0 && length(aws_iam_role_policy_attachment.monitoring) == 0 && aws_db_instance.this.monitoring_interval == 0
    error_message = "monitoring_interval = 0 must turn Enhanced Monitoring off without a role."
  }

  assert {
    condition     = aws_db_parameter_group.this.family == "postgres16" && aws_db_instance.this.engine_version == "16.8"
    error_message = "A pinned minor version must keep the postgres16 family."
  }
}

run "rejects_short_backup_retention" {
  command = plan

  variables {
    backup_retention_period = 3
  }

  expect_failures = [var.backup_retention_period]
}

run "rejects_old_postgresql" {
  command = plan

  variables {
    engine_version = "11"
  }

  expect_failures = [var.engine_version]
}

run "rejects_autoscaling_below_allocated_storage" {
  command = plan

  variables {
    max_allocated_storage = 100
  }

  expect_failures = [aws_db_instance.this]
}

run "rejects_turning_tls_off_through_parameters" {
  command = plan

  variables {
    parameters = [{ name = "rds.force_ssl", value = "0" }]
  }

  expect_failures = [var.parameters]
}

run "rejects_an_external_key_without_its_arn" {
  command = plan

  variables {
    create_kms_key = false
  }

  expect_failures = [aws_db_instance.this]
}
