################################################################################
# The existing VPC and subnets: read, never created
################################################################################

data "aws_vpc" "this" {
  id = var.vpc_id
}

data "aws_subnet" "private" {
  for_each = toset(var.private_subnet_ids)

  id = each.value

  lifecycle {
    postcondition {
      condition     = self.vpc_id == var.vpc_id
      error_message = "Private subnet ${each.value} is not in VPC ${var.vpc_id}."
    }
  }
}

data "aws_subnet" "public" {
  for_each = toset(var.public_subnet_ids)

  id = each.value

  lifecycle {
    postcondition {
      condition     = self.vpc_id == var.vpc_id
      error_message = "Public subnet ${each.value} is not in VPC ${var.vpc_id}."
    }
  }
}

locals {
  vpc_cidr         = data.aws_vpc.this.cidr_block
  prometheus_cidrs = var.prometheus_allowed_cidrs == null ? [local.vpc_cidr] : var.prometheus_allowed_cidrs
  directory_cidrs  = var.directory_cidrs == null ? [local.vpc_cidr] : var.directory_cidrs

  # One security group per role. Rules live in the tables below, never inline, so that
  # groups can reference each other without cycles.
  security_groups = {
    alb              = "JupyterHub and Push receiver ALB: HTTPS from the allowed CIDRs"
    jupyterhub       = "JupyterHub host: the hub port from the ALB only"
    metadata_service = "Metaflow metadata service tasks and their internal load balancer"
    batch            = "AWS Batch compute environment instances running Metaflow steps"
    database         = "RDS PostgreSQL metadata database: 5432 from the metadata service and operations only"
    efs              = "EFS mount targets: NFS from the hub, Batch and the platform services"
    operations       = "Operations tasks (monitor check, doctor): may reach the database and the metadata service"
    services         = "Platform services (AppsFlyer Push receiver, Prometheus endpoint)"
  }

  sg = { for key, group in aws_security_group.this : key => group.id }

  # FreeIPA ports the hub needs for sssd enrolment and login (LDAP, LDAPS, Kerberos, kpasswd).
  directory_ports = {
    ldap_tcp     = { port = 389, protocol = "tcp", what = "LDAP (StartTLS)" }
    ldaps_tcp    = { port = 636, protocol = "tcp", what = "LDAPS" }
    kerberos_tcp = { port = 88, protocol = "tcp", what = "Kerberos" }
    kerberos_udp = { port = 88, protocol = "udp", what = "Kerberos" }
    kpasswd_tcp  = { port = 464, protocol = "tcp", what = "Kerberos kpasswd" }
    kpasswd_udp  = { port = 464, protocol = "udp", what = "Kerberos kpasswd" }
  }

  ##############################################################################
  # Ingress: who may open a connection to whom
  ##############################################################################

  ingress_from_groups = {
    jupyterhub_from_alb = {
      group       = "jupyterhub", source = "alb", port = var.jupyterhub_port
      description = "JupyterHub proxy from the ALB"
    }
    metadata_from_jupyterhub = {
      group       = "metadata_service", source = "jupyterhub", port = var.metadata_service_port
      description = "Metaflow metadata API from notebooks on the JupyterHub host"
    }
    metadata_from_batch = {
      group       = "metadata_service", source = "batch", port = var.metadata_service_port
      description = "Metaflow metadata API from steps running on AWS Batch"
    }
    metadata_from_operations = {
      group       = "metadata_service", source = "operations", port = var.metadata_service_port
      description = "Metaflow metadata API from monitor check and the doctor"
    }
    metadata_from_services = {
      group       = "metadata_service", source = "services", port = var.metadata_service_port
      description = "Metaflow metadata API from the platform services (Prometheus endpoint)"
    }
    metadata_from_self = {
      group       = "metadata_service", source = "metadata_service", port = var.metadata_service_port
      description = "Metaflow metadata API from the internal load balancer sharing this group"
    }
    migration_from_operations = {
      group       = "metadata_service", source = "operations", port = var.migration_port
      description = "Metadata migration endpoint from the doctor and upgrade runbook only"
    }
    migration_from_self = {
      group       = "metadata_service", source = "metadata_service", port = var.migration_port
      description = "Metadata migration endpoint from the internal load balancer sharing this group"
    }
    database_from_metadata_service = {
      group       = "database", source = "metadata_service", port = var.database_port
      description = "PostgreSQL from the Metaflow metadata service"
    }
    database_from_operations = {
      group       = "database", source = "operations", port = var.database_port
      description = "PostgreSQL from the monitoring collector and the doctor"
    }
    efs_from_jupyterhub = {
      group       = "efs", source = "jupyterhub", port = 2049
      description = "NFS from the JupyterHub host (user homes under /data)"
    }
    efs_from_batch = {
      group       = "efs", source = "batch", port = 2049
      description = "NFS from AWS Batch instances"
    }
    efs_from_services = {
      group       = "efs", source = "services", port = 2049
      description = "NFS from the platform services (AppsFlyer landing data)"
    }
    push_receiver_from_alb = {
      group       = "services", source = "alb", port = var.push_receiver_port
      description = "AppsFlyer Push receiver from the ALB"
    }
    prometheus_from_operations = {
      group       = "services", source = "operations", port = var.prometheus_port
      description = "Prometheus endpoint from the operations tasks"
    }
  }

  ingress_from_cidrs = merge(
    { for cidr in var.alb_allowed_cidrs : "alb_https_from_${cidr}" => {
      group       = "alb", cidr = cidr, port = 443
      description = "HTTPS to the ALB from allowed range ${cidr}"
    } },
    { for cidr in var.alb_allowed_cidrs : "alb_http_from_${cidr}" => {
      group       = "alb", cidr = cidr, port = 80
      description = "HTTP to the ALB from allowed range ${cidr}, only redirected to HTTPS"
    } },
    { for cidr in local.prometheus_cidrs : "prometheus_from_${cidr}" => {
      group       = "services", cidr = cidr, port = var.prometheus_port
      description = "Prometheus scrape from ${cidr}"
    } },
  )

  ##############################################################################
  # Egress: where each group may open connections (database and efs: nowhere)
  ##############################################################################

  egress_to_groups = {
    alb_to_jupyterhub = {
      group       = "alb", destination = "jupyterhub", port = var.jupyterhub_port
      description = "ALB to the JupyterHub proxy"
    }
    alb_to_push_receiver = {
      group       = "alb", destination = "services", port = var.push_receiver_port
      description = "ALB to the AppsFlyer Push receiver"
    }
    jupyterhub_to_metadata = {
      group       = "jupyterhub", destination = "metadata_service", port = var.metadata_service_port
      description = "Notebooks to the Metaflow metadata API"
    }
    jupyterhub_to_efs = {
      group       = "jupyterhub", destination = "efs", port = 2049
      description = "JupyterHub host to EFS over NFS"
    }
    batch_to_metadata = {
      group       = "batch", destination = "metadata_service", port = var.metadata_service_port
      description = "Batch steps to the Metaflow metadata API"
    }
    batch_to_efs = {
      group       = "batch", destination = "efs", port = 2049
      description = "Batch instances to EFS over NFS"
    }
    metadata_to_database = {
      group       = "metadata_service", destination = "database", port = var.database_port
      description = "Metadata service to PostgreSQL"
    }
    metadata_to_self = {
      group       = "metadata_service", destination = "metadata_service", port = var.metadata_service_port
      description = "Internal load balancer to the metadata service tasks"
    }
    migration_to_self = {
      group       = "metadata_service", destination = "metadata_service", port = var.migration_port
      description = "Internal load balancer to the metadata migration endpoint"
    }
    operations_to_database = {
      group       = "operations", destination = "database", port = var.database_port
      description = "Monitoring collector and doctor to PostgreSQL"
    }
    operations_to_metadata = {
      group       = "operations", destination = "metadata_service", port = var.metadata_service_port
      description = "Monitor check and doctor to the Metaflow metadata API"
    }
    operations_to_migration = {
      group       = "operations", destination = "metadata_service", port = var.migration_port
      description = "Doctor to the metadata migration endpoint (schema status)"
    }
    operations_to_prometheus = {
      group       = "operations", destination = "services", port = var.prometheus_port
      description = "Operations tasks to the Prometheus endpoint"
    }
    services_to_metadata = {
      group       = "services", destination = "metadata_service", port = var.metadata_service_port
      description = "Platform services to the Metaflow metadata API"
    }
    services_to_efs = {
      group       = "services", destination = "efs", port = 2049
      description = "Platform services to EFS over NFS"
    }
  }

  https_egress_groups = ["jupyterhub", "metadata_service", "batch", "operations", "services"]

  egress_to_cidrs = merge(
    merge([for group in local.https_egress_groups : {
      for cidr in var.https_egress_cidrs : "${group}_https_to_${cidr}" => {
        group       = group, cidr = cidr, port = 443, protocol = "tcp"
        description = "HTTPS to AWS APIs and external services (${cidr})"
      }
    }]...),
    merge([for key, entry in local.directory_ports : {
      for cidr in local.directory_cidrs : "jupyterhub_${key}_to_${cidr}" => {
        group       = "jupyterhub", cidr = cidr, port = entry.port, protocol = entry.protocol
        description = "${entry.what} to FreeIPA (${cidr})"
      }
    }]...),
    { for cidr in local.directory_cidrs : "operations_ldaps_tcp_to_${cidr}" => {
      group       = "operations", cidr = cidr, port = 636, protocol = "tcp"
      description = "LDAPS to FreeIPA for the doctor's directory check (${cidr})"
    } },
  )
}

################################################################################
# Security groups
################################################################################

resource "aws_security_group" "this" {
  for_each = local.security_groups

  # checkov:skip=CKV2_AWS_5: the groups are attached by the modules that create the ALB, host, tasks, Batch, RDS and EFS mount targets
  name        = "${var.name}-${replace(each.key, "_", "-")}"
  description = each.value
  vpc_id      = data.aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-${replace(each.key, "_", "-")}" })

  lifecycle {
    precondition {
      condition     = length(distinct([for subnet in data.aws_subnet.private : subnet.availability_zone])) >= 2
      error_message = "The private subnets must span at least two Availability Zones (RDS multi-AZ, Batch and ECS spread over them)."
    }
  }
}

resource "aws_vpc_security_group_ingress_rule" "from_group" {
  for_each = local.ingress_from_groups

  security_group_id            = local.sg[each.value.group]
  referenced_security_group_id = local.sg[each.value.source]
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  description                  = each.value.description

  tags = merge(var.tags, { Name = "${var.name}-${replace(each.key, "_", "-")}" })
}

resource "aws_vpc_security_group_ingress_rule" "from_cidr" {
  for_each = local.ingress_from_cidrs

  security_group_id = local.sg[each.value.group]
  cidr_ipv4         = each.value.cidr
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  description       = each.value.description

  tags = merge(var.tags, { Name = "${var.name}-${replace(replace(replace(each.key, "_", "-"), ".", "-"), "/", "-")}" })
}

resource "aws_vpc_security_group_egress_rule" "to_group" {
  for_each = local.egress_to_groups

  security_group_id            = local.sg[each.value.group]
  referenced_security_group_id = local.sg[each.value.destination]
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  description                  = each.value.description

  tags = merge(var.tags, { Name = "${var.name}-${replace(each.key, "_", "-")}" })
}

resource "aws_vpc_security_group_egress_rule" "to_cidr" {
  for_each = local.egress_to_cidrs

  security_group_id = local.sg[each.value.group]
  cidr_ipv4         = each.value.cidr
  ip_protocol       = each.value.protocol
  from_port         = each.value.port
  to_port           = each.value.port
  description       = each.value.description

  tags = merge(var.tags, { Name = "${var.name}-${replace(replace(replace(each.key, "_", "-"), ".", "-"), "/", "-")}" })
}
