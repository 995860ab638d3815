data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  identifier         = "${var.name}-metadata"
  replica_identifier = "${var.name}-metadata-replica"
  major_version      = split(".", var.engine_version)[0]
  family             = "postgres${local.major_version}"

  # Booleans, not "is the ARN null", decide what is created: an ARN coming from another
  # resource is unknown at plan time and could not drive count.
  create_kms_key = var.create_kms_key
  kms_key_arn    = local.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn

  create_monitoring_role = var.monitoring_interval > 0 && var.create_monitoring_role
  monitoring_role_arn    = var.monitoring_interval == 0 ? null : (local.create_monitoring_role ? aws_iam_role.monitoring[0].arn : var.monitoring_role_arn)

  instances = var.create_read_replica ? [local.identifier, local.replica_identifier] : [local.identifier]
  log_groups = {
    for pair in setproduct(local.instances, var.enabled_cloudwatch_logs_exports) :
    "${pair[0]}/${pair[1]}" => "/aws/rds/instance/${pair[0]}/${pair[1]}"
  }
}

################################################################################
# KMS key (only when none is passed in)
################################################################################

resource "aws_kms_key" "this" {
  count = local.create_kms_key ? 1 : 0

  description             = "${var.name}: metadata database storage, Performance Insights, master secret and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # Leaves key access to IAM; RDS and Secrets Manager use the key through grants
        # made on behalf of the principal that applies this module.
        Sid       = "AccountRootManagesKeyThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryptsDatabaseLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/rds/instance/${var.name}-metadata*"
          }
        }
      },
    ]
  })

  tags = merge(var.tags, { Name = "${var.name}-metadata-db" })
}

resource "aws_kms_alias" "this" {
  count = local.create_kms_key ? 1 : 0

  name          = "alias/${var.name}-metadata-db"
  target_key_id = aws_kms_key.this[0].key_id
}

################################################################################
# Subnet group and parameter group
################################################################################

resource "aws_db_subnet_group" "this" {
  name        = "${var.name}-metadata"
  description = "${var.name} metadata database: private subnets"
  subnet_ids  = var.subnet_ids

  tags = merge(var.tags, { Name = "${var.name}-metadata" })
}

resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-${local.family}-"
  description = "${var.name} metadata database (${local.family}): TLS required, DDL and slow statements logged"
  family      = local.family

  # Every connection must use TLS; clients use sslmode=require (or verify-full).
  parameter {
    name         = "rds.force_ssl"
    value        = "1"
    apply_method = "immediate"
  }

  # Schema changes (migrations) leave a trace in the exported log.
  parameter {
    name         = "log_statement"
    value        = "ddl"
    apply_method = "immediate"
  }

  parameter {
    name         = "log_min_duration_statement"
    value        = tostring(var.log_min_duration_statement)
    apply_method = "immediate"
  }

  dynamic "parameter" {
    for_each = var.parameters

    content {
      name         = parameter.value.name
      value        = parameter.value.value
      apply_method = parameter.value.apply_method
    }
  }

  tags = merge(var.tags, { Name = "${var.name}-${local.family}" })

  # A new family (major upgrade) needs a new group attached before the old one goes.
  lifecycle {
    create_before_destroy = true
  }
}

################################################################################
# Enhanced Monitoring role (optional)
################################################################################

resource "aws_iam_role" "monitoring" {
  count = local.create_monitoring_role ? 1 : 0

  name        = "${var.name}-rds-monitoring"
  description = "Lets RDS Enhanced Monitoring publish OS metrics of ${local.identifier}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { Service = "monitoring.rds.amazonaws.com" }
        Action    = "sts:AssumeRole"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
      },
    ]
  })

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count = local.create_monitoring_role ? 1 : 0

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

################################################################################
# Log groups, created before RDS so that retention and encryption are ours
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  for_each = local.log_groups

  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn

  tags = var.tags
}

################################################################################
# Primary instance
################################################################################

resource "aws_db_instance" "this" {
  identifier     = local.identifier
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class
  port           = var.port

  db_name                       = var.db_name
  username                      = var.username
  manage_master_user_password   = true
  master_user_secret_kms_key_id = local.kms_key_arn

  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = local.kms_key_arn

  multi_az               = var.multi_az
  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [var.security_group_id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.this.name
  ca_cert_identifier     = var.ca_cert_identifier

  iam_database_authentication_enabled = true

  backup_retention_period   = var.backup_retention_period
  backup_window             = var.backup_window
  maintenance_window        = var.maintenance_window
  copy_tags_to_snapshot     = true
  delete_automated_backups  = false
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.identifier}-final"

  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = var.allow_major_version_upgrade
  apply_immediately           = var.apply_immediately

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = local.kms_key_arn
  performance_insights_retention_period = var.performance_insights_retention_period

  monitoring_interval = var.monitoring_interval
  monitoring_role_arn = local.monitoring_role_arn

  enabled_cloudwatch_logs_exports = var.enabled_cloudwatch_logs_exports

  tags = merge(var.tags, { Name = local.identifier })

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy_attachment.monitoring]

  lifecycle {
    precondition {
      condition     = var.create_kms_key || var.kms_key_arn != null
      error_message = "create_kms_key = false needs kms_key_arn."
    }

    precondition {
      condition     = var.monitoring_interval == 0 || var.create_monitoring_role || var.monitoring_role_arn != null
      error_message = "create_monitoring_role = false with monitoring_interval > 0 needs monitoring_role_arn."
    }

    precondition {
      condition     = var.max_allocated_storage > var.allocated_storage
      error_message = "max_allocated_storage (${var.max_allocated_storage}) must be larger than allocated_storage (${var.allocated_storage}) for storage autoscaling."
    }
  }
}

################################################################################
# Read replica for the monitoring collector (optional)
################################################################################

resource "aws_db_instance" "replica" {
  count = var.create_read_replica ? 1 : 0

  # checkov:skip=CKV_AWS_157: the replica only serves the monitoring collector's reads; the primary is multi-AZ, and a lost replica is recreated from it
  # checkov:skip=CKV_AWS_133: a read replica is not a recovery point; the primary keeps backup_retention_period days of backups
  identifier          = local.replica_identifier
  replicate_source_db = aws_db_instance.this.identifier
  instance_class      = coalesce(var.replica_instance_class, var.instance_class)
  port                = var.port

  max_allocated_storage = var.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = local.kms_key_arn

  multi_az               = false
  vpc_security_group_ids = [var.security_group_id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.this.name
  ca_cert_identifier     = var.ca_cert_identifier

  iam_database_authentication_enabled = true

  backup_retention_period = 0
  maintenance_window      = var.maintenance_window
  copy_tags_to_snapshot   = true
  deletion_protection     = var.deletion_protection
  # RDS cannot take a final snapshot of a read replica.
  skip_final_snapshot = true

  auto_minor_version_upgrade = true
  apply_immediately          = var.apply_immediately

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = local.kms_key_arn
  performance_insights_retention_period = var.performance_insights_retention_period

  monitoring_interval = var.monitoring_interval
  monitoring_role_arn = local.monitoring_role_arn

  enabled_cloudwatch_logs_exports = var.enabled_cloudwatch_logs_exports

  tags = merge(var.tags, { Name = local.replica_identifier, Role = "monitoring-read-replica" })

  depends_on = [aws_cloudwatch_log_group.this]
}
