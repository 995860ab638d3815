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
# Artifacts bucket (Metaflow datastore)
################################################################################

variable "artifacts_bucket_name" {
  description = "Name of the Metaflow artifacts bucket, \"metaflow-artifacts-<id>\" (for example \"metaflow-artifacts-prod-123456789012\")."
  type        = string

  validation {
    condition     = can(regex("^metaflow-artifacts-[a-z0-9][a-z0-9-]*[a-z0-9]$", var.artifacts_bucket_name)) && length(var.artifacts_bucket_name) <= 63 && !strcontains(var.artifacts_bucket_name, "--")
    error_message = "artifacts_bucket_name must be \"metaflow-artifacts-<id>\": lowercase letters, digits and single hyphens, at most 63 characters."
  }
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete a non-empty artifacts bucket. Leave false outside throwaway environments: the bucket holds every run's artifacts."
  type        = bool
  default     = false
}

variable "datastore_prefix" {
  description = "Key prefix of the Metaflow datastore inside the artifacts bucket (METAFLOW_DATASTORE_SYSROOT_S3)."
  type        = string
  default     = "metaflow"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9._-]*$", var.datastore_prefix))
    error_message = "datastore_prefix must be one path segment without slashes, for example \"metaflow\"."
  }
}

variable "datatools_prefix" {
  description = "Key prefix for Metaflow's S3 data tools inside the artifacts bucket (METAFLOW_DATATOOLS_S3ROOT)."
  type        = string
  default     = "data"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9._-]*$", var.datatools_prefix))
    error_message = "datatools_prefix must be one path segment without slashes, for example \"data\"."
  }
}

variable "users_prefix" {
  description = "Key prefix under which the user manager gives each user a folder (s3://<bucket>/<users_prefix>/<username>/)."
  type        = string
  default     = "users"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9._-]*$", var.users_prefix))
    error_message = "users_prefix must be one path segment without slashes, for example \"users\"."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after an artifact object version stops being current before that old version is deleted. Current objects are never expired or transitioned."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of days, at least 1."
  }
}

variable "noncurrent_version_transition_days" {
  description = "Days after which noncurrent artifact versions move to STANDARD_IA before they expire. null keeps them in STANDARD. At least 30 (an S3 rule for STANDARD_IA)."
  type        = number
  default     = null

  validation {
    condition     = var.noncurrent_version_transition_days == null ? true : var.noncurrent_version_transition_days >= 30 && floor(var.noncurrent_version_transition_days) == var.noncurrent_version_transition_days
    error_message = "noncurrent_version_transition_days must be null or a whole number of days, at least 30."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which S3 aborts an unfinished multipart upload and frees its parts, in the artifacts bucket and, when managed, on the AppsFlyer landing prefix."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1 && floor(var.abort_incomplete_multipart_upload_days) == var.abort_incomplete_multipart_upload_days
    error_message = "abort_incomplete_multipart_upload_days must be a whole number of days, at least 1."
  }
}

variable "access_log_bucket_name" {
  description = "Existing bucket that receives S3 server access logs for the artifacts bucket. null turns access logging off."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket_name == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_log_bucket_name))
    error_message = "access_log_bucket_name must be null or a valid S3 bucket name."
  }
}

variable "access_log_prefix" {
  description = "Key prefix for the artifacts bucket's access logs in access_log_bucket_name."
  type        = string
  default     = null
}

variable "notification_events" {
  description = "S3 events of the artifacts bucket published to the artifacts events SNS topic."
  type        = list(string)
  default     = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]

  validation {
    condition     = length(var.notification_events) > 0 && alltrue([for event in var.notification_events : startswith(event, "s3:")])
    error_message = "notification_events needs at least one S3 event name such as \"s3:ObjectCreated:*\"."
  }
}

variable "notification_filter_prefix" {
  description = "Only objects under this key prefix raise events. null means the whole bucket."
  type        = string
  default     = null
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before the artifacts KMS key is deleted after it is scheduled for deletion."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30
    error_message = "kms_deletion_window_in_days must be between 7 and 30."
  }
}

variable "kms_key_administrator_arns" {
  description = "IAM principals allowed to administer the artifacts KMS key, besides the account root (which keeps IAM policies in charge of key access)."
  type        = list(string)
  default     = []
}

################################################################################
# Existing raw bucket (data-platform-raw): never created or re-policied here
################################################################################

variable "raw_bucket_name" {
  description = "Name of the data platform's existing raw bucket."
  type        = string
  default     = "data-platform-raw"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.raw_bucket_name))
    error_message = "raw_bucket_name must be a valid S3 bucket name."
  }
}

variable "appsflyer_prefix" {
  description = "Landing prefix of AppsFlyer data in the raw bucket (s3://<raw>/appsflyer/<app_id>/<report>/dt=YYYY-MM-DD/...)."
  type        = string
  default     = "appsflyer/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9._/-]*/$", var.appsflyer_prefix)) && !strcontains(var.appsflyer_prefix, "//")
    error_message = "appsflyer_prefix must be a key prefix ending in \"/\" without a leading \"/\", for example \"appsflyer/\"."
  }
}

variable "raw_access_prefixes" {
  description = "Prefixes of the raw bucket the platform may read and write through raw_prefix_access_policy_arn. null means [appsflyer_prefix]."
  type        = list(string)
  default     = null

  validation {
    condition     = var.raw_access_prefixes == null ? true : length(var.raw_access_prefixes) > 0 && alltrue([for prefix in var.raw_access_prefixes : can(regex("^[a-zA-Z0-9][a-zA-Z0-9._/-]*/$", prefix))])
    error_message = "raw_access_prefixes must be null or prefixes ending in \"/\" without a leading \"/\"; a prefix of \"\" would grant the whole bucket."
  }
}

variable "raw_bucket_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the raw bucket, if it uses SSE-KMS with a customer managed key. The access policy then grants encrypt and decrypt with it through S3 only."
  type        = string
  default     = null

  validation {
    condition     = var.raw_bucket_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.raw_bucket_kms_key_arn))
    error_message = "raw_bucket_kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "manage_raw_bucket_lifecycle" {
  description = "Create the lifecycle configuration of the raw bucket with the AppsFlyer landing rule. Off by default: a bucket has one lifecycle configuration, and applying this REPLACES every rule already on the raw bucket. Read the README first."
  type        = bool
  default     = false
}

variable "raw_transition_days" {
  description = "Days after landing when AppsFlyer raw objects move to raw_transition_storage_class. null means no transition."
  type        = number
  default     = 30

  validation {
    condition     = var.raw_transition_days == null ? true : var.raw_transition_days >= 0 && floor(var.raw_transition_days) == var.raw_transition_days
    error_message = "raw_transition_days must be null or a whole number of days."
  }
}

variable "raw_transition_storage_class" {
  description = "Cheaper storage class for landed AppsFlyer raw objects."
  type        = string
  default     = "STANDARD_IA"

  validation {
    condition     = contains(["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"], var.raw_transition_storage_class)
    error_message = "raw_transition_storage_class must be one of STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE."
  }
}

variable "raw_expiration_days" {
  description = "Days after landing when AppsFlyer raw objects are deleted. null keeps them forever."
  type        = number
  default     = 730

  validation {
    condition     = var.raw_expiration_days == null ? true : var.raw_expiration_days >= 1 && floor(var.raw_expiration_days) == var.raw_expiration_days
    error_message = "raw_expiration_days must be null or a whole number of days, at least 1."
  }
}

variable "raw_noncurrent_version_expiration_days" {
  description = "Days after which noncurrent versions under the AppsFlyer prefix are deleted, if the raw bucket is versioned."
  type        = number
  default     = 30

  validation {
    condition     = var.raw_noncurrent_version_expiration_days >= 1 && floor(var.raw_noncurrent_version_expiration_days) == var.raw_noncurrent_version_expiration_days
    error_message = "raw_noncurrent_version_expiration_days must be a whole number of days, at least 1."
  }
}
