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
# Existing VPC and subnets (the data platform's; this module never creates them)
################################################################################

variable "vpc_id" {
  description = "ID of the existing data-platform VPC (10.0.0.0/16)."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must look like \"vpc-0123456789abcdef0\"."
  }
}

variable "private_subnet_ids" {
  description = "IDs of the existing private subnets the platform runs in (RDS, Batch, ECS tasks, the hub host). At least two, in different Availability Zones, because RDS multi-AZ needs two."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2 && alltrue([for id in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "private_subnet_ids needs at least two IDs like \"subnet-0123456789abcdef0\"."
  }
}

variable "public_subnet_ids" {
  description = "IDs of the existing public subnets for the JupyterHub ALB. At least two, in different Availability Zones, because an ALB needs two."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2 && alltrue([for id in var.public_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "public_subnet_ids needs at least two IDs like \"subnet-0123456789abcdef0\"."
  }
}

################################################################################
# Who may connect
################################################################################

variable "alb_allowed_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach the ALB on 443 (and 80, which only redirects to 443). Use the office and VPN ranges; 0.0.0.0/0 only if the hub must be public."
  type        = list(string)

  validation {
    condition     = length(var.alb_allowed_cidrs) > 0 && alltrue([for cidr in var.alb_allowed_cidrs : can(cidrhost(cidr, 0)) && can(regex("^[0-9.]+/[0-9]+$", cidr))])
    error_message = "alb_allowed_cidrs needs at least one IPv4 CIDR block such as \"203.0.113.0/24\"."
  }
}

variable "prometheus_allowed_cidrs" {
  description = "IPv4 CIDR blocks of Prometheus servers allowed to scrape the platform's endpoint, besides the operations security group. null means the whole VPC CIDR; [] means only the operations security group."
  type        = list(string)
  default     = null

  validation {
    condition     = var.prometheus_allowed_cidrs == null ? true : alltrue([for cidr in var.prometheus_allowed_cidrs : can(cidrhost(cidr, 0)) && can(regex("^[0-9.]+/[0-9]+$", cidr)) && cidr != "0.0.0.0/0"])
    error_message = "prometheus_allowed_cidrs must be IPv4 CIDR blocks, and never 0.0.0.0/0."
  }
}

variable "directory_cidrs" {
  description = "IPv4 CIDR blocks of the FreeIPA servers (LDAP, LDAPS, Kerberos). The hub and the operations tasks may reach them. null means the whole VPC CIDR."
  type        = list(string)
  default     = null

  validation {
    condition     = var.directory_cidrs == null ? true : alltrue([for cidr in var.directory_cidrs : can(cidrhost(cidr, 0)) && can(regex("^[0-9.]+/[0-9]+$", cidr)) && cidr != "0.0.0.0/0"])
    error_message = "directory_cidrs must be IPv4 CIDR blocks, and never 0.0.0.0/0."
  }
}

variable "https_egress_cidrs" {
  description = "IPv4 CIDR blocks the platform may reach on 443 (AWS APIs, ECR, package indexes, AppsFlyer, Slack, PagerDuty). Narrow it to a proxy or the VPC CIDR when every AWS API has a VPC endpoint."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.https_egress_cidrs) > 0 && alltrue([for cidr in var.https_egress_cidrs : can(cidrhost(cidr, 0)) && can(regex("^[0-9.]+/[0-9]+$", cidr))])
    error_message = "https_egress_cidrs needs at least one IPv4 CIDR block."
  }
}

################################################################################
# Ports
################################################################################

variable "metadata_service_port" {
  description = "Port of the Metaflow metadata service API."
  type        = number
  default     = 8080

  validation {
    condition     = var.metadata_service_port >= 1024 && var.metadata_service_port <= 65535 && floor(var.metadata_service_port) == var.metadata_service_port
    error_message = "metadata_service_port must be a whole number between 1024 and 65535."
  }
}

variable "migration_port" {
  description = "Port of the metadata service's migration endpoint (/db_schema_status, /upgrade)."
  type        = number
  default     = 8082

  validation {
    condition     = var.migration_port >= 1024 && var.migration_port <= 65535 && floor(var.migration_port) == var.migration_port
    error_message = "migration_port must be a whole number between 1024 and 65535."
  }
}

variable "jupyterhub_port" {
  description = "Port the JupyterHub proxy listens on, behind the ALB."
  type        = number
  default     = 8888

  validation {
    condition     = var.jupyterhub_port >= 1024 && var.jupyterhub_port <= 65535 && floor(var.jupyterhub_port) == var.jupyterhub_port
    error_message = "jupyterhub_port must be a whole number between 1024 and 65535."
  }
}

variable "push_receiver_port" {
  description = "Port of the AppsFlyer Push API receiver container, behind the ALB."
  type        = number
  default     = 8000

  validation {
    condition     = var.push_receiver_port >= 1024 && var.push_receiver_port <= 65535 && floor(var.push_receiver_port) == var.push_receiver_port
    error_message = "push_receiver_port must be a whole number between 1024 and 65535."
  }
}

variable "prometheus_port" {
  description = "Port of the platform's Prometheus endpoint (`mlplatform monitor serve`)."
  type        = number
  default     = 9108

  validation {
    condition     = var.prometheus_port >= 1024 && var.prometheus_port <= 65535 && floor(var.prometheus_port) == var.prometheus_port
    error_message = "prometheus_port must be a whole number between 1024 and 65535."
  }
}

variable "database_port" {
  description = "Port of the PostgreSQL metadata database."
  type        = number
  default     = 5432

  validation {
    condition     = var.database_port >= 1024 && var.database_port <= 65535 && floor(var.database_port) == var.database_port
    error_message = "database_port must be a whole number between 1024 and 65535."
  }
}
