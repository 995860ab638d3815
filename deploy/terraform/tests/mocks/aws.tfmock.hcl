# A mocked AWS for the environments' `terraform test` runs (apply against the mock): computed
# ids and ARNs take realistic shapes, so the modules' input validations see what AWS returns.

mock_data "aws_iam_policy_document" {
  defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
}
mock_data "aws_caller_identity" {
  defaults = { account_id = "123456789012", arn = "arn:aws:iam::123456789012:user/ci" }
}
mock_data "aws_partition" {
  defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
}
mock_data "aws_region" {
  defaults = { name = "eu-west-1" }
}
mock_data "aws_vpc" {
  defaults = { id = "vpc-0123456789abcdef0", cidr_block = "10.0.0.0/16" }
}
mock_data "aws_subnet" {
  defaults = { vpc_id = "vpc-0123456789abcdef0", availability_zone = "eu-west-1a" }
}
mock_data "aws_efs_file_system" {
  defaults = {
    file_system_id = "fs-0123456789abcdef0"
    arn            = "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0123456789abcdef0"
    dns_name       = "fs-0123456789abcdef0.efs.eu-west-1.amazonaws.com"
    encrypted      = true
  }
}
mock_data "aws_ssm_parameter" {
  defaults = { value = "ami-0123456789abcdef0" }
}

mock_resource "aws_security_group" {
  defaults = { id = "sg-0123456789abcdef0", arn = "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0123456789abcdef0" }
}
mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    key_id = "11111111-2222-3333-4444-555555555555"
  }
}
mock_resource "aws_s3_bucket" {
  defaults = { arn = "arn:aws:s3:::metaflow-artifacts-mock" }
}
mock_resource "aws_sns_topic" {
  defaults = { arn = "arn:aws:sns:eu-west-1:123456789012:mlplatform-mock" }
}
mock_resource "aws_sqs_queue" {
  defaults = { arn = "arn:aws:sqs:eu-west-1:123456789012:mlplatform-mock" }
}
mock_resource "aws_iam_role" {
  defaults = { arn = "arn:aws:iam::123456789012:role/mlplatform-mock" }
}
mock_resource "aws_iam_policy" {
  defaults = { arn = "arn:aws:iam::123456789012:policy/mlplatform-mock" }
}
mock_resource "aws_iam_instance_profile" {
  defaults = { arn = "arn:aws:iam::123456789012:instance-profile/mlplatform-mock" }
}
mock_resource "aws_db_instance" {
  defaults = {
    arn                = "arn:aws:rds:eu-west-1:123456789012:db:mlplatform-mock"
    address            = "mlplatform-mock.abcdefghij.eu-west-1.rds.amazonaws.com"
    master_user_secret = [{ secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-mock-AbCdEf", kms_key_id = "", secret_status = "active" }]
  }
}
mock_resource "aws_batch_job_queue" {
  defaults = { arn = "arn:aws:batch:eu-west-1:123456789012:job-queue/mlplatform-mock" }
}
mock_resource "aws_batch_compute_environment" {
  defaults = { arn = "arn:aws:batch:eu-west-1:123456789012:compute-environment/mlplatform-mock" }
}
mock_resource "aws_dynamodb_table" {
  defaults = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/mlplatform-mock" }
}
mock_resource "aws_ecs_cluster" {
  defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/mlplatform-mock" }
}
mock_resource "aws_ecs_task_definition" {
  defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/mlplatform-mock:1" }
}
mock_resource "aws_lb" {
  defaults = {
    arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/mlplatform-mock/0123456789abcdef"
    arn_suffix = "app/mlplatform-mock/0123456789abcdef"
    dns_name   = "mlplatform-mock-0123456789.eu-west-1.elb.amazonaws.com"
  }
}
mock_resource "aws_lb_target_group" {
  defaults = {
    arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/mlplatform-mock/0123456789abcdef"
    arn_suffix = "targetgroup/mlplatform-mock/0123456789abcdef"
  }
}
mock_resource "aws_lb_listener" {
  defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/mlplatform-mock/0123456789abcdef/0123456789abcdef" }
}
mock_resource "aws_ecr_repository" {
  defaults = {
    arn            = "arn:aws:ecr:eu-west-1:123456789012:repository/mlplatform-mock"
    repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlplatform-mock"
  }
}
mock_resource "aws_efs_access_point" {
  defaults = { arn = "arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0123456789abcdef0", id = "fsap-0123456789abcdef0" }
}
mock_resource "aws_cloudwatch_log_group" {
  defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mlplatform-mock" }
}
mock_resource "aws_service_discovery_private_dns_namespace" {
  defaults = { id = "ns-0123456789abcdef", arn = "arn:aws:servicediscovery:eu-west-1:123456789012:namespace/ns-0123456789abcdef" }
}
mock_resource "aws_instance" {
  defaults = { id = "i-0123456789abcdef0", arn = "arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0" }
}
mock_resource "aws_launch_template" {
  defaults = { id = "lt-0123456789abcdef0" }
}
mock_resource "aws_service_discovery_service" {
  defaults = { arn = "arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-0123456789abcdef" }
}
