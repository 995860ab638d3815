output "artifacts_bucket_name" {
  description = "Name of the Metaflow artifacts bucket."
  value       = aws_s3_bucket.artifacts.bucket
}

output "artifacts_bucket_arn" {
  description = "ARN of the Metaflow artifacts bucket."
  value       = aws_s3_bucket.artifacts.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the artifacts bucket and its event topic. Roles that read or write artifacts need kms:Decrypt and kms:GenerateDataKey on it."
  value       = aws_kms_key.artifacts.arn
}

output "kms_key_alias" {
  description = "Alias of the artifacts KMS key."
  value       = aws_kms_alias.artifacts.name
}

output "datastore_root" {
  description = "Metaflow datastore root, METAFLOW_DATASTORE_SYSROOT_S3 (s3://<bucket>/metaflow)."
  value       = "s3://${aws_s3_bucket.artifacts.bucket}/${var.datastore_prefix}"
}

output "datatools_root" {
  description = "Metaflow S3 data tools root, METAFLOW_DATATOOLS_S3ROOT (s3://<bucket>/data)."
  value       = "s3://${aws_s3_bucket.artifacts.bucket}/${var.datatools_prefix}"
}

output "users_prefix" {
  description = "Root of the per-user S3 folders the user manager grants (s3://<bucket>/users); each user gets <users_prefix>/<username>/."
  value       = "s3://${aws_s3_bucket.artifacts.bucket}/${var.users_prefix}"
}

output "artifacts_events_topic_arn" {
  description = "ARN of the KMS-encrypted SNS topic that receives the artifacts bucket's S3 events."
  value       = aws_sns_topic.artifacts_events.arn
}

output "raw_prefix_access_policy_arn" {
  description = "ARN of the IAM policy granting read and write on the platform's prefixes of the raw bucket. Attach it to the roles that land or read AppsFlyer data."
  value       = aws_iam_policy.raw_prefix_access.arn
}

output "raw_bucket_name" {
  description = "Name of the existing raw bucket."
  value       = var.raw_bucket_name
}

output "raw_bucket_arn" {
  description = "ARN of the existing raw bucket."
  value       = local.raw_bucket_arn
}

output "appsflyer_raw_root" {
  description = "AppsFlyer raw zone root (s3://<raw bucket>/appsflyer/)."
  value       = "s3://${var.raw_bucket_name}/${var.appsflyer_prefix}"
}

output "raw_bucket_lifecycle_managed" {
  description = "Whether this module owns the raw bucket's lifecycle configuration."
  value       = var.manage_raw_bucket_lifecycle
}
