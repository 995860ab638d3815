################################################################################
# Instance role: what the ECS agent on each Batch instance needs, nothing more
################################################################################

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    sid     = "EC2AssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "instance" {
  name_prefix        = "${var.name}-batch-instance-"
  description        = "Batch container instances of ${var.name}: ECS agent and SSM only."
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "instance" {
  for_each = {
    AmazonEC2ContainerServiceforEC2Role = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
    AmazonSSMManagedInstanceCore        = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
  }

  role       = aws_iam_role.instance.name
  policy_arn = each.value
}

resource "aws_iam_instance_profile" "instance" {
  name_prefix = "${var.name}-batch-instance-"
  role        = aws_iam_role.instance.name

  tags = var.tags
}

################################################################################
# Job role (METAFLOW_ECS_S3_ACCESS_IAM_ROLE): what a Metaflow task may do
################################################################################

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    sid     = "EcsTasksAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    # Confused-deputy guard: only tasks started in this account may use the role.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "job" {
  name_prefix        = "${var.name}-batch-job-"
  description        = "Metaflow tasks on AWS Batch (METAFLOW_ECS_S3_ACCESS_IAM_ROLE) for ${var.name}."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = var.tags
}

data "aws_iam_policy_document" "job" {
  statement {
    sid       = "ListArtifactsBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.artifacts_bucket_arn]
  }

  statement {
    sid = "ReadWriteArtifacts"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${var.artifacts_bucket_arn}/*"]
  }

  statement {
    sid = "UseArtifactsKey"
    actions = [
      "kms:Decrypt",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:DescribeKey",
    ]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "StepFunctionsForeachState"
    actions   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.sfn_state.arn]
  }

  statement {
    sid     = "WriteTaskLogs"
    actions = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [
      "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/batch/job:*",
      "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/${var.name}/*",
    ]
  }

  dynamic "statement" {
    for_each = length(var.job_secret_arns) > 0 ? [1] : []
    content {
      sid       = "ReadTaskSecrets"
      actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
      resources = var.job_secret_arns
    }
  }
}

resource "aws_iam_role_policy" "job" {
  name   = "metaflow-task"
  role   = aws_iam_role.job.id
  policy = data.aws_iam_policy_document.job.json
}

resource "aws_iam_role_policy_attachment" "job_extra" {
  count = length(var.job_role_policy_arns)

  role       = aws_iam_role.job.name
  policy_arn = var.job_role_policy_arns[count.index]
}

################################################################################
# Submitter policy: what a user, Step Functions or a service needs to run Metaflow on Batch.
# batch:TagResource is the permission the upstream templates forget; without it
# METAFLOW_BATCH_EMIT_TAGS=true fails and jobs carry no cost-allocation tags.
################################################################################

data "aws_iam_policy_document" "batch_submit" {
  statement {
    sid     = "SubmitToPlatformQueue"
    actions = ["batch:SubmitJob"]
    resources = [
      aws_batch_job_queue.this.arn,
      "arn:${local.partition}:batch:${local.region}:${local.account_id}:job-definition/*",
    ]
  }

  statement {
    sid       = "RegisterJobDefinitions"
    actions   = ["batch:RegisterJobDefinition", "batch:TagResource"]
    resources = ["arn:${local.partition}:batch:${local.region}:${local.account_id}:job-definition/*"]
  }

  # Tags are applied to the job at submission: without batch:TagResource on job/* the submit fails.
  statement {
    sid       = "TagAndStopJobs"
    actions   = ["batch:TagResource", "batch:TerminateJob", "batch:CancelJob"]
    resources = ["arn:${local.partition}:batch:${local.region}:${local.account_id}:job/*"]
  }

  # These Batch actions have no resource-level permissions; "*" is the only valid resource.
  statement {
    sid = "DescribeBatch"
    actions = [
      "batch:DescribeComputeEnvironments",
      "batch:DescribeJobDefinitions",
      "batch:DescribeJobQueues",
      "batch:DescribeJobs",
      "batch:ListJobs",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "PassJobRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.job.arn]
  }

  statement {
    sid       = "ReadBatchLogs"
    actions   = ["logs:GetLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/batch/job:log-stream:*"]
  }
}

resource "aws_iam_policy" "batch_submit" {
  name_prefix = "${var.name}-batch-submit-"
  description = "Submit, tag, watch and stop Metaflow jobs on the ${var.name} Batch queue."
  policy      = data.aws_iam_policy_document.batch_submit.json

  tags = var.tags
}
