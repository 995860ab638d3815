data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  sfn_state_table_name = coalesce(var.sfn_state_table_name, "${var.name}-sfn-state")
  spot_instance_types  = coalesce(var.spot_instance_types, var.instance_types)

  # Tags on the instances and their volumes. Cost Explorer can group by these once they are
  # activated as cost-allocation tags in the billing console.
  instance_tags = merge(var.tags, { Name = "${var.name}-batch" })
}

################################################################################
# Launch template: IMDSv2 only, encrypted gp3 root volume, tags on instances
################################################################################

# Hop limit 2: Metaflow tasks run in containers (bridge network) and read instance-id, instance
# type and AZ from IMDS to record them as task metadata. IMDSv2 tokens stay required, and the
# instance role only carries the ECS agent and SSM policies (tasks get the job role instead).
resource "aws_launch_template" "this" {
  #checkov:skip=CKV_AWS_341: Containers need hop limit 2 to reach IMDSv2 (Metaflow records instance type and AZ); the instance role only holds the ECS agent policy.
  name_prefix = "${var.name}-batch-"
  description = "Batch instances for ${var.name}: IMDSv2 required, encrypted gp3 root volume."

  update_default_version = true
  ebs_optimized          = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
    instance_metadata_tags      = "disabled"
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_type           = "gp3"
      volume_size           = var.root_volume_size
      encrypted             = true
      kms_key_id            = var.ebs_kms_key_arn
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = local.instance_tags
  }

  tag_specifications {
    resource_type = "volume"
    tags          = local.instance_tags
  }

  tag_specifications {
    resource_type = "network-interface"
    tags          = local.instance_tags
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

################################################################################
# Compute environments
################################################################################

# No service_role: Batch then uses its service-linked role AWSServiceRoleForBatch, which AWS
# keeps up to date. Older modules pass a hand-made role with the deprecated AWSBatchServiceRole.
resource "aws_batch_compute_environment" "this" {
  compute_environment_name_prefix = "${var.name}-ondemand-"
  type                            = "MANAGED"
  state                           = "ENABLED"

  compute_resources {
    type                = "EC2"
    allocation_strategy = var.allocation_strategy
    instance_type       = var.instance_types

    min_vcpus     = var.min_vcpus
    desired_vcpus = var.desired_vcpus
    max_vcpus     = var.max_vcpus

    subnets            = var.subnet_ids
    security_group_ids = var.security_group_ids
    instance_role      = aws_iam_instance_profile.instance.arn

    ec2_configuration {
      image_type = var.ec2_image_type
    }

    launch_template {
      launch_template_id = aws_launch_template.this.id
      version            = aws_launch_template.this.latest_version
    }

    # Batch copies these tags onto every instance it launches (cost allocation).
    tags = local.instance_tags
  }

  # Lets Batch roll a new launch template version or AMI onto running environments
  # without replacing them, and without killing running jobs for half an hour.
  update_policy {
    job_execution_timeout_minutes = 30
    terminate_jobs_on_update      = false
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
    # Batch moves desired_vcpus up and down with the queue; Terraform must not fight it.
    ignore_changes = [compute_resources[0].desired_vcpus]

    precondition {
      condition     = var.min_vcpus <= var.desired_vcpus && var.desired_vcpus <= var.max_vcpus
      error_message = "vCPU bounds must satisfy min_vcpus <= desired_vcpus <= max_vcpus (got ${var.min_vcpus} / ${var.desired_vcpus} / ${var.max_vcpus})."
    }
  }
}

resource "aws_batch_compute_environment" "spot" {
  count = var.enable_spot ? 1 : 0

  compute_environment_name_prefix = "${var.name}-spot-"
  type                            = "MANAGED"
  state                           = "ENABLED"

  compute_resources {
    type                = "SPOT"
    allocation_strategy = "SPOT_CAPACITY_OPTIMIZED"
    bid_percentage      = var.spot_bid_percentage
    instance_type       = local.spot_instance_types

    min_vcpus     = 0
    desired_vcpus = 0
    max_vcpus     = var.spot_max_vcpus

    subnets            = var.subnet_ids
    security_group_ids = var.security_group_ids
    instance_role      = aws_iam_instance_profile.instance.arn

    ec2_configuration {
      image_type = var.ec2_image_type
    }

    launch_template {
      launch_template_id = aws_launch_template.this.id
      version            = aws_launch_template.this.latest_version
    }

    tags = merge(local.instance_tags, { Name = "${var.name}-batch-spot" })
  }

  update_policy {
    job_execution_timeout_minutes = 30
    terminate_jobs_on_update      = false
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
    ignore_changes        = [compute_resources[0].desired_vcpus]
  }
}

################################################################################
# Job queue: on-demand first, Spot second
################################################################################

resource "aws_batch_job_queue" "this" {
  name     = "${var.name}-queue"
  state    = "ENABLED"
  priority = var.job_queue_priority

  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.this.arn
  }

  dynamic "compute_environment_order" {
    for_each = aws_batch_compute_environment.spot
    content {
      order               = 2
      compute_environment = compute_environment_order.value.arn
    }
  }

  # A job that asks for more than any instance can give stays RUNNABLE forever (the classic
  # "stuck in RUNNABLE"). Cancel it with a reason the user can read instead.
  dynamic "job_state_time_limit_action" {
    for_each = var.runnable_timeout_seconds == null ? [] : [
      "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
      "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
    ]
    content {
      action           = "CANCEL"
      state            = "RUNNABLE"
      reason           = job_state_time_limit_action.value
      max_time_seconds = var.runnable_timeout_seconds
    }
  }

  tags = var.tags
}

################################################################################
# Step Functions foreach state (METAFLOW_SFN_DYNAMO_DB_TABLE)
################################################################################

resource "aws_dynamodb_table" "sfn_state" {
  name         = local.sfn_state_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pathspec"

  attribute {
    name = "pathspec"
    type = "S"
  }

  # Metaflow writes an epoch-seconds "ttl" on every item, so old foreach state expires by itself.
  ttl {
    attribute_name = "ttl"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  deletion_protection_enabled = var.enable_sfn_state_table_deletion_protection

  tags = var.tags
}
