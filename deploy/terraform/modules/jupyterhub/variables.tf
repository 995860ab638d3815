################################################################################
# Common
################################################################################

variable "name" {
  description = "Prefix for every resource name, e.g. \"mlplatform-prod\". At most 28 characters, because load balancer and target group names are limited to 32."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,26}[a-z0-9]$", var.name))
    error_message = "name must be 3-28 characters of lowercase letters, digits and hyphens, starting with a letter (e.g. \"mlplatform-prod\")."
  }
}

variable "tags" {
  description = "Tags for every taggable resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Network
################################################################################

variable "vpc_id" {
  description = "ID of the existing VPC."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123abcd."
  }
}

variable "subnet_id" {
  description = "PRIVATE subnet ID for the hub host. The host never gets a public IP."
  type        = string

  validation {
    condition     = can(regex("^subnet-[0-9a-f]+$", var.subnet_id))
    error_message = "subnet_id must look like subnet-0123abcd."
  }
}

variable "public_subnet_ids" {
  description = "Subnet IDs for the load balancer, in at least two Availability Zones. Public subnets for an internet-facing load balancer; private ones when alb_internal = true."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2 && alltrue([for s in var.public_subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "public_subnet_ids needs at least two subnet IDs (an ALB spans two Availability Zones)."
  }
}

variable "alb_security_group_id" {
  description = "Security group of the load balancer (the network module's alb_security_group_id: 443 and 80 from the allowed CIDRs only)."
  type        = string

  validation {
    condition     = can(regex("^sg-[0-9a-f]+$", var.alb_security_group_id))
    error_message = "alb_security_group_id must look like sg-0123abcd."
  }
}

variable "jupyterhub_security_group_id" {
  description = "Security group of the hub host (the network module's jupyterhub_security_group_id: 8888 from the load balancer only)."
  type        = string

  validation {
    condition     = can(regex("^sg-[0-9a-f]+$", var.jupyterhub_security_group_id))
    error_message = "jupyterhub_security_group_id must look like sg-0123abcd."
  }
}

################################################################################
# Load balancer
################################################################################

variable "certificate_arn" {
  description = "ARN of the ACM certificate for the HTTPS listener."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/...)."
  }
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener. Only TLS 1.2+ policies are accepted."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = can(regex("^ELBSecurityPolicy-(TLS13-1-[23]-|TLS-1-2-|FS-1-2-)", var.ssl_policy))
    error_message = "ssl_policy must be a TLS 1.2+ ELB policy, e.g. ELBSecurityPolicy-TLS13-1-2-2021-06 or ELBSecurityPolicy-TLS13-1-3-2021-06."
  }
}

variable "alb_internal" {
  description = "Make the load balancer internal (reachable only inside the VPC or over VPN). false makes it internet-facing, still limited to the CIDRs the ALB security group allows."
  type        = bool
  default     = false
}

variable "alb_idle_timeout" {
  description = "Seconds the load balancer keeps an idle connection open. Notebook websockets are long-lived, so the default is longer than AWS's 60."
  type        = number
  default     = 300

  validation {
    condition     = var.alb_idle_timeout >= 60 && var.alb_idle_timeout <= 4000
    error_message = "alb_idle_timeout must be between 60 and 4000 seconds."
  }
}

variable "enable_alb_deletion_protection" {
  description = "Protect the load balancer against deletion. Turn off only to tear an environment down."
  type        = bool
  default     = true
}

variable "alb_access_logs_bucket" {
  description = "S3 bucket for load balancer access logs. null turns access logs off. The bucket policy must allow the regional ELB log delivery principal."
  type        = string
  default     = null
}

variable "alb_access_logs_prefix" {
  description = "Key prefix for load balancer access logs."
  type        = string
  default     = "alb/jupyterhub"
}

variable "waf_web_acl_arn" {
  description = "ARN of a WAFv2 web ACL to attach to the load balancer. null attaches none."
  type        = string
  default     = null

  validation {
    condition     = var.waf_web_acl_arn == null || can(regex("^arn:aws[a-z-]*:wafv2:", var.waf_web_acl_arn))
    error_message = "waf_web_acl_arn must be null or a WAFv2 web ACL ARN."
  }
}

variable "domain_name" {
  description = "DNS name users type for the hub (a CNAME or alias to the load balancer, matching the certificate). null makes hub_url use the load balancer's DNS name."
  type        = string
  default     = null
}

variable "jupyterhub_port" {
  description = "Port JupyterHub's proxy listens on, on the host."
  type        = number
  default     = 8888

  validation {
    condition     = var.jupyterhub_port >= 1024 && var.jupyterhub_port <= 65535
    error_message = "jupyterhub_port must be between 1024 and 65535."
  }
}

variable "health_check_path" {
  description = "Path the load balancer checks on the hub."
  type        = string
  default     = "/hub/health"

  validation {
    condition     = startswith(var.health_check_path, "/")
    error_message = "health_check_path must start with /."
  }
}

################################################################################
# Host
################################################################################

variable "instance_type" {
  description = "EC2 instance type of the hub host."
  type        = string
  default     = "t3.medium"
}

variable "ami_ssm_parameter" {
  description = "SSM parameter holding the AMI ID (Amazon Linux 2023 by default). Read at plan time; later AMI releases do not replace the running host."
  type        = string
  default     = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

  validation {
    condition     = startswith(var.ami_ssm_parameter, "/")
    error_message = "ami_ssm_parameter must be an SSM parameter path starting with /."
  }
}

variable "ami_id" {
  description = "AMI ID to use instead of ami_ssm_parameter. null reads the SSM parameter."
  type        = string
  default     = null

  validation {
    condition     = var.ami_id == null || can(regex("^ami-[0-9a-f]+$", var.ami_id))
    error_message = "ami_id must be null or look like ami-0123abcd."
  }
}

variable "root_volume_size" {
  description = "Size in GiB of the hub's encrypted gp3 root volume (the hub, its database and conda environments; user homes live on EFS)."
  type        = number
  default     = 30

  validation {
    condition     = var.root_volume_size >= 20 && var.root_volume_size <= 2000
    error_message = "root_volume_size must be between 20 and 2000 GiB."
  }
}

variable "ebs_kms_key_arn" {
  description = "KMS key ARN for the root volume. null uses the account's default EBS key."
  type        = string
  default     = null

  validation {
    condition     = var.ebs_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.ebs_kms_key_arn))
    error_message = "ebs_kms_key_arn must be null or a KMS key ARN."
  }
}

variable "enable_termination_protection" {
  description = "Protect the hub host against accidental termination."
  type        = bool
  default     = true
}

################################################################################
# EFS
################################################################################

variable "efs_file_system_id" {
  description = "ID of the existing EFS file system to mount at efs_mount_point on first boot. null skips the mount (the efs_mount Ansible role can do it instead)."
  type        = string
  default     = null

  validation {
    condition     = var.efs_file_system_id == null || can(regex("^fs-[0-9a-f]+$", var.efs_file_system_id))
    error_message = "efs_file_system_id must be null or look like fs-0123abcd."
  }
}

variable "efs_mount_point" {
  description = "Where the EFS file system is mounted on the hub (users' homes are /data/<username>)."
  type        = string
  default     = "/data"

  validation {
    condition     = can(regex("^/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$", var.efs_mount_point))
    error_message = "efs_mount_point must be an absolute path without a trailing slash, e.g. /data."
  }
}

variable "efs_mount_options" {
  description = "nfs4 mount options for EFS (the platform standard, also used by the efs_mount Ansible role). _netdev is added in fstab."
  type        = string
  default     = "rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport"

  validation {
    condition     = can(regex("^[A-Za-z0-9=,._-]+$", var.efs_mount_options))
    error_message = "efs_mount_options must be a comma-separated option list without spaces."
  }
}

################################################################################
# IAM
################################################################################

variable "user_roles_path" {
  description = "IAM path of the per-user roles the user manager creates. The host role may assume any role under it, to give each user's server that user's credentials."
  type        = string
  default     = "/mlplatform/users/"

  validation {
    condition     = can(regex("^/([A-Za-z0-9+=,.@_-]+/)+$", var.user_roles_path))
    error_message = "user_roles_path must start and end with / and hold at least one segment, e.g. /mlplatform/users/."
  }
}

variable "hub_secret_arns" {
  description = "Extra Secrets Manager secret ARNs the hub may read (e.g. the LDAP bind password). Secrets named \"<name>/jupyterhub/*\" are always readable."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.hub_secret_arns : can(regex("^arn:aws[a-z-]*:secretsmanager:", a))])
    error_message = "hub_secret_arns must hold Secrets Manager ARNs (arn:aws:secretsmanager:...)."
  }
}

variable "secrets_kms_key_arn" {
  description = "Customer KMS key ARN that encrypts the hub's secrets. null means the AWS-managed aws/secretsmanager key."
  type        = string
  default     = null

  validation {
    condition     = var.secrets_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.secrets_kms_key_arn))
    error_message = "secrets_kms_key_arn must be null or a KMS key ARN."
  }
}
