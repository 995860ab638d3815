mock_provider "aws" {
  # The mock would return random text; IAM resources validate that policies are JSON.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  override_data {
    target = data.aws_caller_identity.current
    values = {
      account_id = "123456789012"
    }
  }

  override_data {
    target = data.aws_region.current
    values = {
      name = "eu-west-1"
    }
  }

  override_data {
    target = data.aws_partition.current
    values = {
      partition = "aws"
    }
  }
}

override_resource {
  target          = aws_lb.this
  override_during = plan
  values = {
    arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/mlplatform-test-meta/0123456789abcdef"
    arn_suffix = "net/mlplatform-test-meta/0123456789abcdef"
    dns_name   = "meta.internal.example"
  }
}

variables {
  name                = "mlplatform-test"
  vpc_id              = "vpc-0a1b2c3d"
  subnet_ids          = ["subnet-0a1b2c3d", "subnet-1a2b3c4d"]
  security_group_id   = "sg-0a1b2c3d"
  database_address    = "mlplatform-test.abc123.eu-west-1.rds.amazonaws.com"
  database_username   = "metaflow"
  database_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf"
  tags = {
    environment = "test"
  }
}

run "container_is_pinned_and_wired_to_the_database" {
  command = plan

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].image == "netflixoss/metaflow_metadata_service:v2.5.1"
    error_message = "The default image must be the pinned metaflow-service tag."
  }

  assert {
    condition     = toset([for p in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].portMappings : p.containerPort]) == toset([8080, 8082])
    error_message = "The container must expose 8080 (API) and 8082 (migrations)."
  }

  assert {
    condition = alltrue([
      for k in ["MF_METADATA_DB_HOST", "MF_METADATA_DB_PORT", "MF_METADATA_DB_NAME", "MF_METADATA_DB_USER", "MF_METADATA_DB_SSL_MODE"] :
      contains([for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name], k)
    ])
    error_message = "The container needs MF_METADATA_DB_HOST/PORT/NAME/USER/SSL_MODE."
  }

  assert {
    condition     = one([for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.value if e.name == "MF_METADATA_DB_SSL_MODE"]) == "require"
    error_message = "The database connection must require SSL."
  }

  assert {
    condition     = !anytrue([for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : can(regex("PSWD|PASSWORD", e.name))])
    error_message = "The database password must never be a plain environment variable."
  }

  assert {
    condition = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].secrets == [
      {
        name      = "MF_METADATA_DB_PSWD"
        valueFrom = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf:password::"
      }
    ]
    error_message = "MF_METADATA_DB_PSWD must come from the secret's password JSON key."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].logConfiguration.options["awslogs-group"] == "/mlplatform-test/metadata-service"
    error_message = "The container must log to the module's log group."
  }

  assert {
    condition     = aws_ecs_task_definition.this.requires_compatibilities == toset(["FARGATE"]) && aws_ecs_task_definition.this.network_mode == "awsvpc"
    error_message = "The task must run on Fargate with awsvpc networking."
  }
}

run "service_is_private_and_rolls_back" {
  command = plan

  assert {
    condition     = aws_ecs_service.this.launch_type == "FARGATE" && aws_ecs_service.this.network_configuration[0].assign_public_ip == false
    error_message = "The service must run on Fargate without public IPs."
  }

  assert {
    condition     = aws_ecs_service.this.deployment_circuit_breaker[0].enable && aws_ecs_service.this.deployment_circuit_breaker[0].rollback
    error_message = "The deployment circuit breaker must be on, with rollback."
  }

  assert {
    condition     = aws_ecs_service.this.desired_count == 2
    error_message = "Two tasks by default, for availability."
  }

  assert {
    condition     = anytrue([for s in aws_ecs_cluster.this.setting : s.name == "containerInsights" && s.value == "enabled"])
    error_message = "Container Insights must be on."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 365
    error_message = "Logs must be kept 365 days by default."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.execution.statement : s.resources if s.sid == "ReadDatabaseSecret"]) == toset([var.database_secret_arn])
    error_message = "The execution role must read exactly the database secret."
  }
}

run "load_balancer_is_internal_on_8080_and_8082" {
  command = plan

  assert {
    condition     = aws_lb.this.internal && aws_lb.this.load_balancer_type == "network"
    error_message = "The load balancer must be an internal NLB."
  }

  assert {
    condition     = aws_lb_listener.this["metadata"].port == 8080 && aws_lb_listener.this["migration"].port == 8082
    error_message = "Listeners must be on 8080 (API) and 8082 (migrations)."
  }

  assert {
    condition     = alltrue([for tg in aws_lb_target_group.this : tg.health_check[0].path == "/ping" && tg.health_check[0].protocol == "HTTP"])
    error_message = "Both target groups must check GET /ping."
  }

  assert {
    condition     = alltrue([for tg in aws_lb_target_group.this : tg.target_type == "ip"])
    error_message = "Fargate targets are registered by IP."
  }

  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.from_load_balancer) == 0
    error_message = "By default the network module owns the self-referencing rules; this module must not duplicate them."
  }

  assert {
    condition     = output.service_url == "http://meta.internal.example:8080" && output.migration_url == "http://meta.internal.example:8082"
    error_message = "service_url must point at port 8080 of the internal load balancer."
  }
}

run "separate_load_balancer_group_gets_ingress_rules" {
  command = plan

  variables {
    load_balancer_security_group_id    = "sg-9a8b7c6d"
    create_load_balancer_ingress_rules = true
  }

  assert {
    condition     = aws_lb.this.security_groups == toset(["sg-9a8b7c6d"])
    error_message = "The load balancer must use its own security group when one is given."
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.from_load_balancer["metadata"].from_port == 8080 &&
      aws_vpc_security_group_ingress_rule.from_load_balancer["migration"].from_port == 8082 &&
      alltrue([for r in aws_vpc_security_group_ingress_rule.from_load_balancer : r.referenced_security_group_id == "sg-9a8b7c6d" && r.security_group_id == "sg-0a1b2c3d"])
    )
    error_message = "The load balancer's group must be allowed to reach the tasks on 8080 and 8082."
  }
}

run "custom_ports_flow_everywhere" {
  command = plan

  variables {
    metadata_port  = 9080
    migration_port = 9082
  }

  assert {
    condition     = toset([for p in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].portMappings : p.containerPort]) == toset([9080, 9082])
    error_message = "Custom ports must reach the container."
  }

  assert {
    condition     = one([for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.value if e.name == "MF_METADATA_PORT"]) == "9080"
    error_message = "MF_METADATA_PORT must follow metadata_port."
  }
}

run "rejects_latest_image" {
  command = plan

  variables {
    image = "netflixoss/metaflow_metadata_service:latest"
  }

  expect_failures = [var.image]
}

run "rejects_untagged_image" {
  command = plan

  variables {
    image = "registry.example.com:5000/metaflow_metadata_service"
  }

  expect_failures = [var.image]
}

run "rejects_password_in_environment" {
  command = plan

  variables {
    environment = {
      MF_METADATA_DB_PSWD = "hunter2"
    }
  }

  expect_failures = [var.environment]
}

run "rejects_short_log_retention" {
  command = plan

  variables {
    log_retention_days = 3
  }

  expect_failures = [var.log_retention_days]
}
