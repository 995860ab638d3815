################################################################################
# AppsFlyer Push receiver: ECS service behind the shared ALB's HTTPS listener
################################################################################

resource "aws_lb_target_group" "push_receiver" {
  #checkov:skip=CKV_AWS_378: TLS ends at the ALB (HTTPS listener with the ACM certificate); the hop to the task stays inside the VPC's private subnets and the receiver serves plain HTTP.
  name                 = "${var.name}-push"
  port                 = var.push_receiver_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    enabled             = true
    protocol            = "HTTP"
    path                = "/healthz"
    port                = "traffic-port"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = merge(var.tags, { Name = "${var.name}-push" })
}

resource "aws_lb_listener_rule" "push_receiver" {
  listener_arn = var.https_listener_arn
  priority     = var.listener_rule_priority

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.push_receiver.arn
  }

  condition {
    path_pattern {
      values = var.push_receiver_path_patterns
    }
  }

  dynamic "condition" {
    for_each = length(var.push_receiver_host_headers) > 0 ? [1] : []

    content {
      host_header {
        values = var.push_receiver_host_headers
      }
    }
  }

  dynamic "condition" {
    for_each = length(var.push_receiver_source_cidrs) > 0 ? [1] : []

    content {
      source_ip {
        values = var.push_receiver_source_cidrs
      }
    }
  }

  tags = var.tags
}

resource "aws_ecs_service" "push_receiver" {
  name             = "${var.name}-push-receiver"
  cluster          = var.cluster_arn
  task_definition  = aws_ecs_task_definition.this["push_receiver"].arn
  desired_count    = var.push_receiver_desired_count
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  # One receiver at a time, also during a deployment: the old task stops (and rolls its closed
  # hours) before the new one starts on the same spool. AppsFlyer retries postbacks that fail
  # in that gap.
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  health_check_grace_period_seconds  = 60

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [var.services_security_group_id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.push_receiver.arn
    container_name   = "push-receiver"
    container_port   = var.push_receiver_port
  }

  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"

  tags = var.tags

  depends_on = [aws_lb_listener_rule.push_receiver]
}

################################################################################
# Prometheus endpoint: `mlplatform monitor serve`, in the metadata service's cluster and
# subnets. The operations group lets it reach PostgreSQL; the services group lets scrapers in.
################################################################################

resource "aws_service_discovery_private_dns_namespace" "this" {
  count = var.service_discovery_namespace_id == null && var.create_service_discovery_namespace ? 1 : 0

  name        = "${var.name}.internal"
  description = "Private DNS names of the ${var.name} platform services."
  vpc         = var.vpc_id

  tags = var.tags
}

locals {
  use_discovery          = var.service_discovery_namespace_id != null || var.create_service_discovery_namespace
  discovery_namespace_id = var.service_discovery_namespace_id != null ? var.service_discovery_namespace_id : try(aws_service_discovery_private_dns_namespace.this[0].id, null)
}

resource "aws_service_discovery_service" "prometheus" {
  count = local.use_discovery ? 1 : 0

  name = "prometheus"

  dns_config {
    namespace_id   = local.discovery_namespace_id
    routing_policy = "MULTIVALUE"

    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  health_check_custom_config {
    failure_threshold = 1
  }

  tags = var.tags
}

resource "aws_ecs_service" "prometheus" {
  name             = "${var.name}-prometheus"
  cluster          = var.cluster_arn
  task_definition  = aws_ecs_task_definition.this["prometheus"].arn
  desired_count    = var.prometheus_desired_count
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = local.prometheus_sg
    assign_public_ip = false
  }

  dynamic "service_registries" {
    for_each = aws_service_discovery_service.prometheus

    content {
      registry_arn = service_registries.value.arn
    }
  }

  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"

  tags = var.tags
}
