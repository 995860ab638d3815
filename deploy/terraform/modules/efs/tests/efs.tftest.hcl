# Plan-only tests with a mocked AWS provider: no credentials, no network.

mock_provider "aws" {
  mock_data "aws_efs_file_system" {
    defaults = {
      file_system_id = "fs-0123456789abcdef0"
      arn            = "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0123456789abcdef0"
      dns_name       = "fs-0123456789abcdef0.efs.eu-west-1.amazonaws.com"
      encrypted      = true
    }
  }
}

variables {
  name           = "mlplatform-test"
  file_system_id = "fs-0123456789abcdef0"
  tags           = { Project = "mlplatform" }
}

run "access_points_on_the_existing_file_system" {
  command = plan

  assert {
    condition     = aws_efs_access_point.users.file_system_id == "fs-0123456789abcdef0" && aws_efs_access_point.appsflyer.file_system_id == "fs-0123456789abcdef0"
    error_message = "Both access points must be on the existing file system."
  }

  assert {
    condition     = aws_efs_access_point.users.root_directory[0].path == "/data" && aws_efs_access_point.users.root_directory[0].creation_info[0].permissions == "0755"
    error_message = "The users access point must be rooted at /data."
  }

  assert {
    condition     = length(aws_efs_access_point.users.posix_user) == 0
    error_message = "The users access point must not enforce one POSIX identity (homes belong to their users)."
  }

  assert {
    condition     = aws_efs_access_point.appsflyer.root_directory[0].path == "/data/appsflyer"
    error_message = "The AppsFlyer access point must be rooted at /data/appsflyer."
  }

  assert {
    condition = (
      aws_efs_access_point.appsflyer.posix_user[0].uid == 61000 &&
      aws_efs_access_point.appsflyer.posix_user[0].gid == 61000 &&
      aws_efs_access_point.appsflyer.root_directory[0].creation_info[0].owner_uid == 61000 &&
      aws_efs_access_point.appsflyer.root_directory[0].creation_info[0].permissions == "0750"
    )
    error_message = "The AppsFlyer access point must enforce its service identity, which owns the directory (0750)."
  }

  assert {
    condition     = aws_efs_access_point.users.tags["Name"] == "mlplatform-test-users" && aws_efs_access_point.appsflyer.tags["Project"] == "mlplatform"
    error_message = "Access points must carry var.tags and a Name."
  }

  assert {
    condition     = length(aws_efs_mount_target.this) == 0 && output.mount_target_ids == {}
    error_message = "No mount targets by default: the platform's EFS already has them."
  }

  assert {
    condition     = output.dns_name == "fs-0123456789abcdef0.efs.eu-west-1.amazonaws.com" && output.file_system_arn == "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0123456789abcdef0"
    error_message = "The file system's DNS name and ARN must be passed through."
  }
}

run "mount_targets_when_asked" {
  command = plan

  variables {
    create_mount_targets = true
    subnet_ids           = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
    security_group_id    = "sg-0123456789abcdef0"
  }

  assert {
    condition     = length(aws_efs_mount_target.this) == 2
    error_message = "One mount target per subnet."
  }

  assert {
    condition     = alltrue([for target in aws_efs_mount_target.this : target.security_groups == toset(["sg-0123456789abcdef0"]) && target.file_system_id == "fs-0123456789abcdef0"])
    error_message = "Mount targets must use the EFS security group on the existing file system."
  }
}

run "custom_paths_and_identity" {
  command = plan

  variables {
    users_root               = "/home"
    appsflyer_path           = "/shared/appsflyer"
    appsflyer_posix_uid      = 70001
    appsflyer_posix_gid      = 1234500007
    appsflyer_secondary_gids = [1234500008]
  }

  assert {
    condition     = aws_efs_access_point.users.root_directory[0].path == "/home" && aws_efs_access_point.appsflyer.root_directory[0].path == "/shared/appsflyer"
    error_message = "Path variables must flow into the access points."
  }

  assert {
    condition     = aws_efs_access_point.appsflyer.posix_user[0].gid == 1234500007 && aws_efs_access_point.appsflyer.posix_user[0].secondary_gids == toset([1234500008])
    error_message = "The AppsFlyer identity must follow its variables."
  }
}

run "warns_about_an_unencrypted_file_system" {
  command = plan

  override_data {
    target = data.aws_efs_file_system.this
    values = { file_system_id = "fs-0123456789abcdef0", encrypted = false }
  }

  expect_failures = [check.file_system_is_encrypted]
}

run "rejects_a_relative_path" {
  command = plan

  variables {
    appsflyer_path = "data/appsflyer"
  }

  expect_failures = [var.appsflyer_path]
}

run "rejects_root_as_the_appsflyer_identity" {
  command = plan

  variables {
    appsflyer_posix_uid = 0
  }

  expect_failures = [var.appsflyer_posix_uid]
}

run "rejects_mount_targets_without_subnets" {
  command = plan

  variables {
    create_mount_targets = true
  }

  expect_failures = [aws_efs_access_point.users]
}
