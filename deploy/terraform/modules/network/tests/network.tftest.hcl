# Plan-only tests with a mocked AWS provider: no credentials, no network.
# The security groups get readable fake IDs during plan so that the assertions can prove
# which group may reach which (the ID is the group's role, e.g. "sg-database").

mock_provider "aws" {
  mock_data "aws_vpc" {
    defaults = {
      id         = "vpc-0a1b2c3d4e5f60718"
      cidr_block = "10.0.0.0/16"
    }
  }
}

override_data {
  target = data.aws_subnet.private["subnet-0aaaaaaaaaaaaaaa1"]
  values = { id = "subnet-0aaaaaaaaaaaaaaa1", vpc_id = "vpc-0a1b2c3d4e5f60718", availability_zone = "eu-west-1a" }
}

override_data {
  target = data.aws_subnet.private["subnet-0aaaaaaaaaaaaaaa2"]
  values = { id = "subnet-0aaaaaaaaaaaaaaa2", vpc_id = "vpc-0a1b2c3d4e5f60718", availability_zone = "eu-west-1b" }
}

override_data {
  target = data.aws_subnet.public
  values = { vpc_id = "vpc-0a1b2c3d4e5f60718", availability_zone = "eu-west-1a" }
}

override_resource {
  target          = aws_security_group.this["alb"]
  override_during = plan
  values          = { id = "sg-alb" }
}

override_resource {
  target          = aws_security_group.this["jupyterhub"]
  override_during = plan
  values          = { id = "sg-jupyterhub" }
}

override_resource {
  target          = aws_security_group.this["metadata_service"]
  override_during = plan
  values          = { id = "sg-metadata_service" }
}

override_resource {
  target          = aws_security_group.this["batch"]
  override_during = plan
  values          = { id = "sg-batch" }
}

override_resource {
  target          = aws_security_group.this["database"]
  override_during = plan
  values          = { id = "sg-database" }
}

override_resource {
  target          = aws_security_group.this["efs"]
  override_during = plan
  values          = { id = "sg-efs" }
}

override_resource {
  target          = aws_security_group.this["operations"]
  override_during = plan
  values          = { id = "sg-operations" }
}

override_resource {
  target          = aws_security_group.this["services"]
  override_during = plan
  values          = { id = "sg-services" }
}

variables {
  name               = "mlplatform-test"
  vpc_id             = "vpc-0a1b2c3d4e5f60718"
  private_subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
  public_subnet_ids  = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
  alb_allowed_cidrs  = ["203.0.113.0/24", "198.51.100.0/24"]
  tags               = { Project = "mlplatform" }
}

run "groups_use_the_existing_vpc" {
  command = plan

  assert {
    condition     = length(aws_security_group.this) == 8
    error_message = "Expected eight security groups (alb, jupyterhub, metadata_service, batch, database, efs, operations, services)."
  }

  assert {
    condition     = alltrue([for group in aws_security_group.this : group.vpc_id == "vpc-0a1b2c3d4e5f60718"])
    error_message = "Every security group must live in the existing VPC."
  }

  assert {
    condition     = alltrue([for group in aws_security_group.this : group.tags["Project"] == "mlplatform" && startswith(group.tags["Name"], "mlplatform-test-")])
    error_message = "Security groups must carry var.tags and a Name."
  }

  assert {
    condition     = output.vpc_id == "vpc-0a1b2c3d4e5f60718" && output.private_subnet_ids == tolist(["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"])
    error_message = "The module must pass the existing VPC and subnets through unchanged."
  }

  assert {
    condition     = output.database_security_group_id == "sg-database" && output.operations_security_group_id == "sg-operations"
    error_message = "Outputs must name the right groups."
  }
}

run "ingress_is_least_privilege" {
  command = plan

  assert {
    condition = toset([for rule in aws_vpc_security_group_ingress_rule.from_cidr : "${rule.from_port}:${rule.cidr_ipv4}" if rule.security_group_id == "sg-alb"]) == toset([
      "443:203.0.113.0/24", "80:203.0.113.0/24", "443:198.51.100.0/24", "80:198.51.100.0/24",
    ])
    error_message = "The ALB must accept exactly 443 and 80 from alb_allowed_cidrs."
  }

  assert {
    condition     = length([for rule in aws_vpc_security_group_ingress_rule.from_cidr : rule if rule.cidr_ipv4 == "0.0.0.0/0"]) == 0
    error_message = "No group may accept traffic from 0.0.0.0/0 unless alb_allowed_cidrs says so."
  }

  assert {
    condition = [for rule in aws_vpc_security_group_ingress_rule.from_group : "${rule.from_port}<-${rule.referenced_security_group_id}" if rule.security_group_id == "sg-jupyterhub"] == ["8888<-sg-alb"] && length([
      for rule in aws_vpc_security_group_ingress_rule.from_cidr : rule if rule.security_group_id == "sg-jupyterhub"
    ]) == 0
    error_message = "JupyterHub must accept only 8888 from the ALB security group."
  }

  assert {
    condition = toset([for rule in aws_vpc_security_group_ingress_rule.from_group : "${rule.from_port}<-${rule.referenced_security_group_id}" if rule.security_group_id == "sg-database"]) == toset([
      "5432<-sg-metadata_service", "5432<-sg-operations",
    ]) && length([for rule in aws_vpc_security_group_ingress_rule.from_cidr : rule if rule.security_group_id == "sg-database"]) == 0
    error_message = "PostgreSQL must accept 5432 only from the metadata service and operations groups."
  }

  assert {
    condition = toset([for rule in aws_vpc_security_group_ingress_rule.from_group : rule.referenced_security_group_id if rule.security_group_id == "sg-metadata_service" && rule.from_port == 8080]) == toset([
      "sg-jupyterhub", "sg-batch", "sg-operations", "sg-services", "sg-metadata_service",
    ])
    error_message = "The metadata API (8080) must accept the hub, Batch, operations, services and its own load balancer."
  }

  assert {
    condition = toset([for rule in aws_vpc_security_group_ingress_rule.from_group : rule.referenced_security_group_id if rule.security_group_id == "sg-metadata_service" && rule.from_port == 8082]) == toset([
      "sg-operations", "sg-metadata_service",
    ])
    error_message = "The migration endpoint (8082) must accept only operations and its own load balancer."
  }

  assert {
    condition = toset([for rule in aws_vpc_security_group_ingress_rule.from_group : "${rule.from_port}<-${rule.referenced_security_group_id}" if rule.security_group_id == "sg-efs"]) == toset([
      "2049<-sg-jupyterhub", "2049<-sg-batch", "2049<-sg-services",
    ])
    error_message = "EFS must accept NFS (2049) from the hub, Batch and the services only."
  }

  assert {
    condition = toset([for rule in aws_vpc_security_group_ingress_rule.from_group : "${rule.from_port}<-${rule.referenced_security_group_id}" if rule.security_group_id == "sg-services"]) == toset([
      "8000<-sg-alb", "9108<-sg-operations",
      ]) && [for rule in aws_vpc_security_group_ingress_rule.from_cidr : "${rule.from_port}:${rule.cidr_ipv4}" if rule.security_group_id == "sg-services"] == [
      "9108:10.0.0.0/16",
    ]
    error_message = "Services must accept the push port from the ALB and the Prometheus port from operations and the VPC."
  }

  assert {
    condition     = length([for rule in aws_vpc_security_group_ingress_rule.from_group : rule if rule.security_group_id == "sg-batch" || rule.security_group_id == "sg-operations"]) == 0
    error_message = "Nothing may open connections to Batch instances or operations tasks."
  }

  assert {
    condition = alltrue(concat(
      [for rule in aws_vpc_security_group_ingress_rule.from_group : rule.description != "" && rule.from_port == rule.to_port && rule.ip_protocol == "tcp"],
      [for rule in aws_vpc_security_group_ingress_rule.from_cidr : rule.description != "" && rule.from_port == rule.to_port && rule.ip_protocol == "tcp"],
    ))
    error_message = "Every ingress rule must be described and open exactly one TCP port."
  }
}

run "egress_is_restricted" {
  command = plan

  assert {
    condition = length(concat(
      [for rule in aws_vpc_security_group_egress_rule.to_group : rule if contains(["sg-database", "sg-efs"], rule.security_group_id)],
      [for rule in aws_vpc_security_group_egress_rule.to_cidr : rule if contains(["sg-database", "sg-efs"], rule.security_group_id)],
    )) == 0
    error_message = "The database and EFS groups must have no egress at all."
  }

  assert {
    condition = alltrue(concat(
      [for rule in aws_vpc_security_group_egress_rule.to_group : rule.ip_protocol != "-1" && rule.from_port == rule.to_port && rule.description != ""],
      [for rule in aws_vpc_security_group_egress_rule.to_cidr : rule.ip_protocol != "-1" && rule.from_port == rule.to_port && rule.description != ""],
    ))
    error_message = "No egress rule may open all protocols or a port range, and every rule needs a description."
  }

  assert {
    condition     = alltrue([for rule in aws_vpc_security_group_egress_rule.to_cidr : rule.from_port == 443 if rule.cidr_ipv4 == "0.0.0.0/0"])
    error_message = "Egress to the internet must be HTTPS only."
  }

  assert {
    condition = toset([for rule in aws_vpc_security_group_egress_rule.to_group : "${rule.from_port}->${rule.referenced_security_group_id}" if rule.security_group_id == "sg-alb"]) == toset([
      "8888->sg-jupyterhub", "8000->sg-services",
    ]) && length([for rule in aws_vpc_security_group_egress_rule.to_cidr : rule if rule.security_group_id == "sg-alb"]) == 0
    error_message = "The ALB may only reach the hub and the push receiver."
  }

  assert {
    condition = toset([for rule in aws_vpc_security_group_egress_rule.to_group : "${rule.from_port}->${rule.referenced_security_group_id}" if rule.security_group_id == "sg-operations"]) == toset([
      "5432->sg-database", "8080->sg-metadata_service", "8082->sg-metadata_service", "9108->sg-services",
    ])
    error_message = "Operations tasks must reach PostgreSQL, the metadata API, the migration endpoint and Prometheus."
  }

  assert {
    condition = toset([for rule in aws_vpc_security_group_egress_rule.to_cidr : "${rule.ip_protocol}/${rule.from_port}" if rule.security_group_id == "sg-jupyterhub" && rule.cidr_ipv4 == "10.0.0.0/16"]) == toset([
      "tcp/389", "tcp/636", "tcp/88", "udp/88", "tcp/464", "udp/464",
    ])
    error_message = "The hub must reach FreeIPA (LDAP, LDAPS, Kerberos) inside the VPC, and nothing else there by CIDR."
  }
}

run "public_alb_and_custom_ports" {
  command = plan

  variables {
    alb_allowed_cidrs        = ["0.0.0.0/0"]
    prometheus_allowed_cidrs = []
    jupyterhub_port          = 8000
    push_receiver_port       = 8001
    metadata_service_port    = 8090
    https_egress_cidrs       = ["10.0.0.0/16"]
  }

  assert {
    condition     = toset([for rule in aws_vpc_security_group_ingress_rule.from_cidr : rule.security_group_id if rule.cidr_ipv4 == "0.0.0.0/0"]) == toset(["sg-alb"])
    error_message = "Only the ALB may be opened to 0.0.0.0/0."
  }

  assert {
    condition     = length([for rule in aws_vpc_security_group_ingress_rule.from_cidr : rule if rule.security_group_id == "sg-services"]) == 0
    error_message = "prometheus_allowed_cidrs = [] must leave Prometheus reachable from the operations group only."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.from_group["jupyterhub_from_alb"].from_port == 8000 && aws_vpc_security_group_egress_rule.to_group["alb_to_push_receiver"].from_port == 8001
    error_message = "Port variables must flow into the rules."
  }

  assert {
    condition     = alltrue([for rule in aws_vpc_security_group_ingress_rule.from_group : rule.from_port == 8090 if startswith(rule.description, "Metaflow metadata API")])
    error_message = "metadata_service_port must flow into the metadata rules."
  }

  assert {
    condition     = length([for rule in aws_vpc_security_group_egress_rule.to_cidr : rule if rule.cidr_ipv4 == "0.0.0.0/0"]) == 0
    error_message = "https_egress_cidrs must replace the internet-wide HTTPS egress."
  }
}

run "rejects_a_bad_alb_cidr" {
  command = plan

  variables {
    alb_allowed_cidrs = ["10.0.0.300/24"]
  }

  expect_failures = [var.alb_allowed_cidrs]
}

run "rejects_a_single_private_subnet" {
  command = plan

  variables {
    private_subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1"]
  }

  expect_failures = [var.private_subnet_ids]
}

run "rejects_a_privileged_port" {
  command = plan

  variables {
    prometheus_port = 80
  }

  expect_failures = [var.prometheus_port]
}

run "rejects_prometheus_from_anywhere" {
  command = plan

  variables {
    prometheus_allowed_cidrs = ["0.0.0.0/0"]
  }

  expect_failures = [var.prometheus_allowed_cidrs]
}

run "rejects_a_subnet_of_another_vpc" {
  command = plan

  override_data {
    target = data.aws_subnet.private["subnet-0aaaaaaaaaaaaaaa2"]
    values = { id = "subnet-0aaaaaaaaaaaaaaa2", vpc_id = "vpc-0ffffffffffffffff", availability_zone = "eu-west-1b" }
  }

  expect_failures = [data.aws_subnet.private]
}

run "rejects_private_subnets_in_one_zone" {
  command = plan

  override_data {
    target = data.aws_subnet.private["subnet-0aaaaaaaaaaaaaaa2"]
    values = { id = "subnet-0aaaaaaaaaaaaaaa2", vpc_id = "vpc-0a1b2c3d4e5f60718", availability_zone = "eu-west-1a" }
  }

  expect_failures = [aws_security_group.this]
}
