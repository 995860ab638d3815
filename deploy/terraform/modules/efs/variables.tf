################################################################################
# Naming and tags
################################################################################

variable "name" {
  description = "Prefix for every resource name, for example \"mlplatform-prod\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name))
    error_message = "name must be 3-40 characters of lowercase letters, digits and hyphens, starting with a letter (for example \"mlplatform-prod\")."
  }
}

variable "tags" {
  description = "Tags applied to every taggable resource."
  type        = map(string)
  default     = {}
}

################################################################################
# The existing file system
################################################################################

variable "file_system_id" {
  description = "ID of the data platform's existing EFS file system."
  type        = string

  validation {
    condition     = can(regex("^fs-[0-9a-f]{8,40}$", var.file_system_id))
    error_message = "file_system_id must look like \"fs-0123456789abcdef0\"."
  }
}

################################################################################
# Users' root (the hub) access point
################################################################################

variable "users_root" {
  description = "Directory holding every user's home (/data/<username>), exposed by the users access point."
  type        = string
  default     = "/data"

  validation {
    condition     = can(regex("^(/[A-Za-z0-9._-]+)+$", var.users_root)) && !strcontains(var.users_root, "/..") && !strcontains(var.users_root, "/./")
    error_message = "users_root must be an absolute path without a trailing slash or \"..\", for example \"/data\"."
  }
}

variable "users_root_owner_uid" {
  description = "Owner UID of users_root when EFS creates it. The hub (root) creates and chowns each /data/<username>."
  type        = number
  default     = 0

  validation {
    condition     = var.users_root_owner_uid >= 0 && floor(var.users_root_owner_uid) == var.users_root_owner_uid
    error_message = "users_root_owner_uid must be a whole number, 0 or more."
  }
}

variable "users_root_owner_gid" {
  description = "Owner GID of users_root when EFS creates it."
  type        = number
  default     = 0

  validation {
    condition     = var.users_root_owner_gid >= 0 && floor(var.users_root_owner_gid) == var.users_root_owner_gid
    error_message = "users_root_owner_gid must be a whole number, 0 or more."
  }
}

variable "users_root_permissions" {
  description = "Octal permissions of users_root when EFS creates it."
  type        = string
  default     = "0755"

  validation {
    condition     = can(regex("^0?[0-7]{3}$", var.users_root_permissions))
    error_message = "users_root_permissions must be octal, for example \"0755\"."
  }
}

################################################################################
# AppsFlyer data access point
################################################################################

variable "appsflyer_path" {
  description = "Directory for AppsFlyer data on EFS, exposed by the AppsFlyer access point. The user manager must not give a user this directory's name."
  type        = string
  default     = "/data/appsflyer"

  validation {
    condition     = can(regex("^(/[A-Za-z0-9._-]+)+$", var.appsflyer_path)) && !strcontains(var.appsflyer_path, "/..") && !strcontains(var.appsflyer_path, "/./")
    error_message = "appsflyer_path must be an absolute path without a trailing slash or \"..\", for example \"/data/appsflyer\"."
  }
}

variable "appsflyer_posix_uid" {
  description = "UID every NFS operation through the AppsFlyer access point runs as (the AppsFlyer Pull and Push tasks). Pick a UID no person has."
  type        = number
  default     = 61000

  validation {
    condition     = var.appsflyer_posix_uid >= 1 && floor(var.appsflyer_posix_uid) == var.appsflyer_posix_uid
    error_message = "appsflyer_posix_uid must be a whole number above 0 (never root)."
  }
}

variable "appsflyer_posix_gid" {
  description = "GID of the AppsFlyer access point's user and owner group of appsflyer_path. Set it to the directory group whose members may read AppsFlyer data."
  type        = number
  default     = 61000

  validation {
    condition     = var.appsflyer_posix_gid >= 1 && floor(var.appsflyer_posix_gid) == var.appsflyer_posix_gid
    error_message = "appsflyer_posix_gid must be a whole number above 0 (never root)."
  }
}

variable "appsflyer_secondary_gids" {
  description = "Extra GIDs of the AppsFlyer access point's user."
  type        = list(number)
  default     = []
}

variable "appsflyer_permissions" {
  description = "Octal permissions of appsflyer_path when EFS creates it. The default lets the owner write and the group read; others get nothing (install-level data)."
  type        = string
  default     = "0750"

  validation {
    condition     = can(regex("^0?[0-7]{3}$", var.appsflyer_permissions))
    error_message = "appsflyer_permissions must be octal, for example \"0750\"."
  }
}

################################################################################
# Optional mount targets (the platform's EFS already has them)
################################################################################

variable "create_mount_targets" {
  description = "Create one mount target per subnet in subnet_ids. Off by default: the data platform's EFS already has mount targets, and an Availability Zone takes only one."
  type        = bool
  default     = false
}

variable "subnet_ids" {
  description = "Subnets for the mount targets, one per Availability Zone. Used only when create_mount_targets = true."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "subnet_ids must look like \"subnet-0123456789abcdef0\"."
  }
}

variable "security_group_id" {
  description = "Security group for the mount targets (network module's efs_security_group_id). Used only when create_mount_targets = true."
  type        = string
  default     = null

  validation {
    condition     = var.security_group_id == null ? true : can(regex("^sg-[0-9a-f]{8,17}$", var.security_group_id))
    error_message = "security_group_id must be null or look like \"sg-0123456789abcdef0\"."
  }
}
