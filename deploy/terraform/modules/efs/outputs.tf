output "file_system_id" {
  description = "ID of the existing EFS file system."
  value       = data.aws_efs_file_system.this.file_system_id
}

output "file_system_arn" {
  description = "ARN of the existing EFS file system (for elasticfilesystem:Client* IAM conditions)."
  value       = data.aws_efs_file_system.this.arn
}

output "dns_name" {
  description = "DNS name to mount the file system over NFS (<fs-id>.efs.<region>.amazonaws.com)."
  value       = data.aws_efs_file_system.this.dns_name
}

output "users_access_point_id" {
  description = "ID of the access point rooted at users_root, for the hub."
  value       = aws_efs_access_point.users.id
}

output "users_access_point_arn" {
  description = "ARN of the access point rooted at users_root."
  value       = aws_efs_access_point.users.arn
}

output "appsflyer_access_point_id" {
  description = "ID of the access point rooted at appsflyer_path, for the AppsFlyer tasks."
  value       = aws_efs_access_point.appsflyer.id
}

output "appsflyer_access_point_arn" {
  description = "ARN of the access point rooted at appsflyer_path."
  value       = aws_efs_access_point.appsflyer.arn
}

output "users_root" {
  description = "Directory holding the users' homes on EFS."
  value       = var.users_root
}

output "appsflyer_path" {
  description = "Directory of the AppsFlyer data on EFS."
  value       = var.appsflyer_path
}

output "appsflyer_posix_user" {
  description = "UID and GID every operation through the AppsFlyer access point runs as."
  value       = { uid = var.appsflyer_posix_uid, gid = var.appsflyer_posix_gid }
}

output "mount_target_ids" {
  description = "IDs of the mount targets this module created, keyed by subnet ID (empty unless create_mount_targets = true)."
  value       = { for subnet, target in aws_efs_mount_target.this : subnet => target.id }
}
