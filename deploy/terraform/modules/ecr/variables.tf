variable "name" {
  type        = string
  description = "Prefix for resource names, e.g. \"mlplatform-prod\". Repositories are named <name>/<repository>."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{0,62}$", var.name))
    error_message = "name must be lowercase letters, digits, '.', '_' or '-' (ECR repository names are lowercase), at most 63 characters."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every taggable resource."
  default     = {}
}

variable "repositories" {
  type        = list(string)
  description = "Short repository names; each becomes <name>/<short_name>. \"batch\" holds the AWS Batch task image (METAFLOW_BATCH_CONTAINER_IMAGE), \"notebook\" the JupyterHub single-user image."
  default     = ["batch", "notebook"]

  validation {
    condition     = length(var.repositories) > 0 && alltrue([for r in var.repositories : can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*$", r))])
    error_message = "repositories must be a non-empty list of lowercase names (letters, digits, and single '.', '_' or '-' between them)."
  }

  validation {
    condition     = length(distinct(var.repositories)) == length(var.repositories)
    error_message = "repositories must not repeat a name."
  }
}

variable "keep_last_images" {
  type        = number
  description = "How many tagged images each repository keeps; older tagged images expire."
  default     = 30

  validation {
    condition     = var.keep_last_images >= 1 && var.keep_last_images <= 1000 && floor(var.keep_last_images) == var.keep_last_images
    error_message = "keep_last_images must be a whole number between 1 and 1000."
  }
}

variable "untagged_expire_days" {
  type        = number
  description = "Days after which untagged images (left over from failed pushes or re-tags) expire."
  default     = 7

  validation {
    condition     = var.untagged_expire_days >= 1 && floor(var.untagged_expire_days) == var.untagged_expire_days
    error_message = "untagged_expire_days must be a whole number of days, at least 1."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "Customer-managed KMS key for image encryption at rest. Null uses the AWS-managed ECR key (still KMS)."
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>) or null."
  }
}

variable "pull_principal_arns" {
  type        = list(string)
  description = "Extra IAM principals (for example another account's Batch roles) allowed to pull. Empty: no repository policy; same-account roles pull through their own IAM policies."
  default     = []

  validation {
    condition     = alltrue([for p in var.pull_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:", p))])
    error_message = "pull_principal_arns must hold IAM ARNs (arn:aws:iam::<account>:...)."
  }
}

variable "force_delete" {
  type        = bool
  description = "Let terraform destroy a repository that still holds images. Keep false outside throwaway environments."
  default     = false
}
