data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  container_name            = "metadata-service"
  load_balancer_sg_id       = coalesce(var.load_balancer_security_group_id, var.security_group_id)
  log_group_name            = "/${var.name}/metadata-service"
  database_password_from_sm = "${var.database_secret_arn}:${var.database_secret_json_key}::"

  ports = {
    metadata  = var.metadata_port
    migration = var.migration_port
  }

  # Plain settings only. The password is injected from Secrets Manager (see `secrets` below),
  # never written into the task definition.
  environment = merge(
    var.environment,
    {
      MF_METADATA_DB_HOST            = var.database_address
      MF_METADATA_DB_PORT            = tostring(var.database_port)
      MF_METADATA_DB_NAME            = var.database_name
      MF_METADATA_DB_USER            = var.database_username
      MF_METADATA_DB_SSL_MODE        = var.database_ssl_mode
      MF_METADATA_HOST               = "0.0.0.0"
      MF_METADATA_PORT               = tostring(var.metadata_port)
      MF_MIGRATION_PORT              = tostring(var.migration_port)
      MF_MIGRATION_ENDPOINTS_ENABLED = var.enable_migration_endpoints ? "1" : "0"
    },
  )

  container_definitions = [
    {
      name      = local.container_name
      image     = var.image
      essential = true

      # The image's default command starts the migration service (8082), picks the metadata
      # service version that matches the database schema and starts it (8080).
      portMappings = [
        for k, p in local.ports : {
          name          = k
          containerPort = p
          hostPort      = p
          protocol      = "tcp"
        }
      ]

      environment = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]

      secrets = [
        {
          name      = "MF_METADATA_DB_PSWD"
          valueFrom = local.database_password_from_sm
        },
      ]

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.this.name
          awslogs-region        = local.region
          awslogs-stream-prefix = "metadata"
        }
      }

      # The entry script writes the chosen service version under /root, so the root
      # filesystem cannot be read-only.
      readonlyRootFilesystem = false
      privileged             = false
      linuxParameters = {
        initProcessEnabled = true
      }
    },
  ]
}

################################################################################
# Logs
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158: KMS is optional by design (kms_key_arn); the environments pass the platform key. The logs hold no secrets: the password is injected from Secrets Manager.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

################################################################################
# Cluster (shared with the services module's tasks)
################################################################################

resource "aws_ecs_cluster" "this" {
  #checkov:skip=CKV_AWS_224: ECS Exec is off by default and logs to the module's log group; its KMS key is optional (kms_key_arn) like the log group's. The environments pass the platform key.
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  configuration {
    execute_command_configuration {
      kms_key_id = var.kms_key_arn
      logging    = "OVERRIDE"

      log_configuration {
        cloud_watch_encryption_enabled = var.kms_key_arn != null
        cloud_watch_log_group_name     = aws_cloudwatch_log_group.this.name
      }
    }
  }

  tags = var.tags
}

################################################################################
# Task definition and service
################################################################################

resource "aws_ecs_task_definition" "this" {
  #checkov:skip=CKV_AWS_336: The image's entry script (run_script.py) writes the selected service version to /root/services/migration_service/config at start, so the root filesystem must stay writable.
  family                   = "${var.name}-metadata-service"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode(local.container_definitions)

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  tags = var.tags
}

resource "aws_ecs_service" "this" {
  name             = "${var.name}-metadata-service"
  cluster          = aws_ecs_cluster.this.arn
  task_definition  = aws_ecs_task_definition.this.arn
  desired_count    = var.desired_count
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  health_check_grace_period_seconds  = var.health_check_grace_period_seconds
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  # A task that never becomes healthy (bad image, wrong password, schema too new) stops the
  # rollout and ECS rolls back to the last working task definition.
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [var.security_group_id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this["metadata"].arn
    container_name   = local.container_name
    container_port   = var.metadata_port
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this["migration"].arn
    container_name   = local.container_name
    container_port   = var.migration_port
  }

  enable_execute_command  = var.enable_execute_command
  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"

  tags = var.tags

  depends_on = [aws_lb_listener.this]
}

################################################################################
# Internal network load balancer: 8080 (API) and 8082 (migrations)
################################################################################

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_91: NLB access logs exist only for TLS listeners; these listeners are plain TCP inside the VPC. Connections are visible in VPC flow logs.
  name               = "${var.name}-meta"
  load_balancer_type = "network"
  internal           = true
  subnets            = var.subnet_ids
  security_groups    = [local.load_balancer_sg_id]

  enable_cross_zone_load_balancing = true
  enable_deletion_protection       = var.enable_load_balancer_deletion_protection

  tags = var.tags
}

resource "aws_lb_target_group" "this" {
  for_each = local.ports

  name                 = "${var.name}-${substr(each.key, 0, 4)}"
  port                 = each.value
  protocol             = "TCP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  # Both the metadata API and the migration service answer GET /ping with "pong".
  health_check {
    enabled             = true
    protocol            = "HTTP"
    port                = "traffic-port"
    path                = "/ping"
    matcher             = "200-399"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

resource "aws_lb_listener" "this" {
  #checkov:skip=CKV_AWS_2: Internal NLB with TCP listeners; the Metaflow client speaks plain HTTP to the service inside the VPC and only platform security groups may connect.
  for_each = local.ports

  load_balancer_arn = aws_lb.this.arn
  port              = each.value
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this[each.key].arn
  }

  tags = var.tags
}

# The load balancer's group must reach the tasks (traffic and health checks). The network module
# already allows this inside the metadata service group, so these rules are off by default; turn
# them on with a separate load_balancer_security_group_id.
resource "aws_vpc_security_group_ingress_rule" "from_load_balancer" {
  for_each = var.create_load_balancer_ingress_rules ? local.ports : {}

  security_group_id            = var.security_group_id
  referenced_security_group_id = local.load_balancer_sg_id
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
  description                  = "Metadata service ${each.key} port from its internal load balancer"

  tags = var.tags
}
