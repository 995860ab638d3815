mock_provider "aws" {
  # The mock would return random text; IAM resources validate that policies are JSON.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  override_data {
    target = data.aws_caller_identity.current
    values = {
      account_id = "123456789012"
    }
  }

  override_data {
    target = data.aws_region.current
    values = {
      name = "eu-west-1"
    }
  }

  override_data {
    target = data.aws_partition.current
    values = {
      partition = "aws"
    }
  }
}

# Known ARNs at plan time, so the policies that reference them can be checked.
override_resource {
  target          = aws_batch_job_queue.this
  override_during = plan
  values = {
    arn = "arn:aws:batch:eu-west-1:123456789012:job-queue/mlplatform-test-queue"
  }
}

override_resource {
  target          = aws_iam_role.job
  override_during = plan
  values = {
    arn = "arn:aws:iam::123456789012:role/mlplatform-test-batch-job-1"
  }
}

variables {
  name                 = "mlplatform-test"
  subnet_ids           = ["subnet-0a1b2c3d", "subnet-1a2b3c4d"]
  security_group_ids   = ["sg-0a1b2c3d"]
  artifacts_bucket_arn = "arn:aws:s3:::metaflow-artifacts-test"
  kms_key_arn          = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  tags = {
    team        = "data-science"
    environment = "test"
  }
}

run "defaults_match_the_spec" {
  command = plan

  assert {
    condition     = aws_batch_compute_environment.this.type == "MANAGED"
    error_message = "The compute environment must be MANAGED."
  }

  assert {
    condition     = aws_batch_compute_environment.this.compute_resources[0].type == "EC2"
    error_message = "The default compute environment must be on-demand EC2."
  }

  assert {
    condition     = aws_batch_compute_environment.this.compute_resources[0].instance_type == toset(["c5.large"])
    error_message = "The default instance type must be c5.large."
  }

  assert {
    condition = (
      aws_batch_compute_environment.this.compute_resources[0].min_vcpus == 0 &&
      aws_batch_compute_environment.this.compute_resources[0].desired_vcpus == 4 &&
      aws_batch_compute_environment.this.compute_resources[0].max_vcpus == 64
    )
    error_message = "vCPU bounds must default to min 0 / desired 4 / max 64."
  }

  assert {
    condition     = aws_batch_compute_environment.this.compute_resources[0].tags["team"] == "data-science"
    error_message = "Cost-allocation tags must be set on the instances Batch launches."
  }

  assert {
    condition     = length(aws_batch_compute_environment.spot) == 0
    error_message = "Spot must be off by default."
  }

  assert {
    condition     = length(aws_batch_job_queue.this.compute_environment_order) == 1 && aws_batch_job_queue.this.compute_environment_order[0].order == 1
    error_message = "The queue must hold exactly the on-demand compute environment by default."
  }

  assert {
    condition     = length(aws_batch_job_queue.this.job_state_time_limit_action) == 2 && alltrue([for a in aws_batch_job_queue.this.job_state_time_limit_action : a.state == "RUNNABLE" && a.action == "CANCEL"])
    error_message = "Jobs that can never be placed must be cancelled instead of staying RUNNABLE."
  }
}

run "launch_template_is_hardened" {
  command = plan

  assert {
    condition     = aws_launch_template.this.metadata_options[0].http_tokens == "required"
    error_message = "IMDSv2 must be required on Batch instances."
  }

  assert {
    condition     = aws_launch_template.this.metadata_options[0].http_put_response_hop_limit == 2
    error_message = "The IMDS hop limit must be 2 so containers can reach IMDSv2."
  }

  assert {
    condition     = aws_launch_template.this.block_device_mappings[0].ebs[0].encrypted == "true"
    error_message = "The root volume must be encrypted."
  }

  assert {
    condition     = aws_launch_template.this.block_device_mappings[0].ebs[0].volume_type == "gp3"
    error_message = "The root volume must be gp3."
  }

  assert {
    condition     = anytrue([for t in aws_launch_template.this.tag_specifications : t.resource_type == "instance" && t.tags["team"] == "data-science"])
    error_message = "The launch template must tag instances with the cost-allocation tags."
  }
}

run "iam_is_least_privilege_and_tags_jobs" {
  command = plan

  assert {
    condition     = contains(one([for s in data.aws_iam_policy_document.batch_submit.statement : s.actions if s.sid == "TagAndStopJobs"]), "batch:TagResource") && one([for s in data.aws_iam_policy_document.batch_submit.statement : s.resources if s.sid == "TagAndStopJobs"]) == toset(["arn:aws:batch:eu-west-1:123456789012:job/*"])
    error_message = "The submitter policy must allow batch:TagResource on jobs, or tagged submissions fail."
  }

  assert {
    condition     = contains(flatten([for s in data.aws_iam_policy_document.batch_submit.statement : s.resources if contains(s.actions, "batch:SubmitJob")]), "arn:aws:batch:eu-west-1:123456789012:job-queue/mlplatform-test-queue")
    error_message = "SubmitJob must be scoped to this job queue."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.batch_submit.statement : s.resources if s.sid == "PassJobRole"]) == toset(["arn:aws:iam::123456789012:role/mlplatform-test-batch-job-1"])
    error_message = "iam:PassRole must be limited to the job role."
  }

  assert {
    condition     = contains(flatten([for s in data.aws_iam_policy_document.ecs_tasks_assume.statement : [for p in s.principals : p.identifiers]]), "ecs-tasks.amazonaws.com")
    error_message = "The job role must be assumable by ECS tasks only."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.job.statement : s.resources if s.sid == "ReadWriteArtifacts"]) == toset(["arn:aws:s3:::metaflow-artifacts-test/*"])
    error_message = "Tasks may only read and write objects of the artifacts bucket."
  }

  assert {
    condition     = contains(keys(aws_iam_role_policy_attachment.instance), "AmazonEC2ContainerServiceforEC2Role")
    error_message = "The instance role needs the ECS container instance policy."
  }
}

run "sfn_state_table" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.sfn_state.name == "mlplatform-test-sfn-state" && aws_dynamodb_table.sfn_state.hash_key == "pathspec"
    error_message = "The Step Functions state table must be keyed by the string pathspec."
  }

  assert {
    condition     = aws_dynamodb_table.sfn_state.ttl[0].attribute_name == "ttl" && aws_dynamodb_table.sfn_state.ttl[0].enabled
    error_message = "TTL must be on the ttl attribute."
  }

  assert {
    condition     = aws_dynamodb_table.sfn_state.point_in_time_recovery[0].enabled
    error_message = "Point-in-time recovery must be on."
  }

  assert {
    condition     = aws_dynamodb_table.sfn_state.server_side_encryption[0].enabled && aws_dynamodb_table.sfn_state.server_side_encryption[0].kms_key_arn == var.kms_key_arn
    error_message = "The table must be encrypted with the platform KMS key."
  }

  assert {
    condition     = output.metaflow_config["METAFLOW_SFN_DYNAMO_DB_TABLE"] == "mlplatform-test-sfn-state"
    error_message = "metaflow_config must name the state table."
  }
}

run "spot_environment_is_second_in_the_queue" {
  command = plan

  variables {
    enable_spot    = true
    spot_max_vcpus = 128
  }

  assert {
    condition     = aws_batch_compute_environment.spot[0].compute_resources[0].type == "SPOT"
    error_message = "The Spot compute environment must be of type SPOT."
  }

  assert {
    condition     = aws_batch_compute_environment.spot[0].compute_resources[0].allocation_strategy == "SPOT_CAPACITY_OPTIMIZED"
    error_message = "Spot must use SPOT_CAPACITY_OPTIMIZED."
  }

  assert {
    condition     = aws_batch_compute_environment.spot[0].compute_resources[0].max_vcpus == 128 && aws_batch_compute_environment.spot[0].compute_resources[0].min_vcpus == 0
    error_message = "Spot must scale between 0 and spot_max_vcpus."
  }

  assert {
    condition     = length(aws_batch_job_queue.this.compute_environment_order) == 2 && aws_batch_job_queue.this.compute_environment_order[1].order == 2
    error_message = "The Spot environment must come second in the queue."
  }
}

run "rejects_desired_above_max" {
  command = plan

  variables {
    desired_vcpus = 128
    max_vcpus     = 64
  }

  expect_failures = [aws_batch_compute_environment.this]
}

run "rejects_min_above_desired" {
  command = plan

  variables {
    min_vcpus     = 8
    desired_vcpus = 4
  }

  expect_failures = [aws_batch_compute_environment.this]
}

run "rejects_zero_max_vcpus" {
  command = plan

  variables {
    max_vcpus = 0
  }

  expect_failures = [var.max_vcpus]
}

run "rejects_bad_bucket_arn" {
  command = plan

  variables {
    artifacts_bucket_arn = "metaflow-artifacts-test"
  }

  expect_failures = [var.artifacts_bucket_arn]
}
