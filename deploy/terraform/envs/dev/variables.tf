variable "region" {
  type        = string
  description = "AWS region of the data platform."
  default     = "eu-west-1"
}

variable "vpc_id" {
  type        = string
  description = "The data platform's VPC (10.0.0.0/16)."
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets in two or more AZs."
}

variable "public_subnet_ids" {
  type        = list(string)
  description = "Public subnets for the ALB."
}

variable "alb_allowed_cidrs" {
  type        = list(string)
  description = "Office and VPN ranges allowed to reach JupyterHub."
}

variable "artifacts_bucket_id" {
  type        = string
  description = "Suffix of the artifacts bucket name, metaflow-artifacts-<id> (globally unique)."
}

variable "efs_file_system_id" {
  type        = string
  description = "The data platform's EFS file system."
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate for the hub's host name."
}

variable "hub_domain" {
  type        = string
  description = "JupyterHub's public host name."
}

variable "admin_principal_arns" {
  type        = list(string)
  description = "Principals allowed to assume the platform admin role."
}

variable "appsflyer_token_secret_arn" {
  type        = string
  description = "Secrets Manager ARN of the AppsFlyer API token."
}

variable "alert_secret_arns" {
  type        = map(string)
  description = "Secrets Manager ARNs of the Slack webhook (`slack`) and PagerDuty key (`pagerduty`)."
  default     = {}
}

variable "image_tag" {
  type        = string
  description = "Platform image tag (git sha) to run."
}

variable "daily_budget" {
  type        = number
  description = "Daily compute budget in USD; null: no budget alert."
  default     = null
}
