################################################################################
# The existing file system: read, never created or re-configured
################################################################################

data "aws_efs_file_system" "this" {
  file_system_id = var.file_system_id
}

# A warning, not an error: the file system belongs to the data platform, and an unencrypted
# one is a finding to raise with them rather than a reason to block the deployment.
check "file_system_is_encrypted" {
  assert {
    condition     = data.aws_efs_file_system.this.encrypted
    error_message = "EFS ${var.file_system_id} is not encrypted at rest. User homes and AppsFlyer data will live on it: ask the data platform team to move them to an encrypted file system."
  }
}

################################################################################
# Access points
################################################################################

# The hub's view of the users' root. No POSIX user is enforced: the hub creates each
# /data/<username> and hands it to that user's own UID, which one enforced identity would
# flatten into a single owner.
resource "aws_efs_access_point" "users" {
  # checkov:skip=CKV_AWS_330: per-user ownership under /data/<username> needs each client's own UID; an enforced POSIX user would make every home belong to one identity
  file_system_id = data.aws_efs_file_system.this.file_system_id

  root_directory {
    path = var.users_root

    creation_info {
      owner_uid   = var.users_root_owner_uid
      owner_gid   = var.users_root_owner_gid
      permissions = var.users_root_permissions
    }
  }

  tags = merge(var.tags, { Name = "${var.name}-users" })

  lifecycle {
    precondition {
      condition     = !var.create_mount_targets || (length(var.subnet_ids) > 0 && var.security_group_id != null)
      error_message = "create_mount_targets = true needs subnet_ids and security_group_id."
    }
  }
}

# The AppsFlyer tasks see only the AppsFlyer directory, as one fixed service identity.
resource "aws_efs_access_point" "appsflyer" {
  file_system_id = data.aws_efs_file_system.this.file_system_id

  posix_user {
    uid            = var.appsflyer_posix_uid
    gid            = var.appsflyer_posix_gid
    secondary_gids = length(var.appsflyer_secondary_gids) == 0 ? null : var.appsflyer_secondary_gids
  }

  root_directory {
    path = var.appsflyer_path

    creation_info {
      owner_uid   = var.appsflyer_posix_uid
      owner_gid   = var.appsflyer_posix_gid
      permissions = var.appsflyer_permissions
    }
  }

  tags = merge(var.tags, { Name = "${var.name}-appsflyer" })
}

################################################################################
# Optional mount targets
################################################################################

resource "aws_efs_mount_target" "this" {
  for_each = var.create_mount_targets ? toset(var.subnet_ids) : toset([])

  file_system_id  = data.aws_efs_file_system.this.file_system_id
  subnet_id       = each.value
  security_groups = var.security_group_id == null ? [] : [var.security_group_id]
}
