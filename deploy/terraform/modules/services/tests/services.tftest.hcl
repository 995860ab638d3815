mock_provider "aws" {
  override_during = plan

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_resource "aws_ecs_task_definition" {
    defaults = {
      arn                  = "arn:aws:ecs:eu-west-1:123456789012:task-definition/mocked:1"
      arn_without_revision = "arn:aws:ecs:eu-west-1:123456789012:task-definition/mocked"
    }
  }

  mock_resource "aws_lb_target_group" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/mocked/0123456789abcdef"
      arn_suffix = "targetgroup/mocked/0123456789abcdef"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mlplatform/mocked"
    }
  }

  mock_resource "aws_service_discovery_service" {
    defaults = {
      arn = "arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-mocked"
    }
  }
}

variables {
  name                         = "mlplatform-test"
  cluster_arn                  = "arn:aws:ecs:eu-west-1:123456789012:cluster/mlplatform-test"
  vpc_id                       = "vpc-0123456789abcdef0"
  subnet_ids                   = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  services_security_group_id   = "sg-0aaaaaaaaaaaaaaa1"
  operations_security_group_id = "sg-0bbbbbbbbbbbbbbb2"
  image                        = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlplatform-test/batch:1.4.0"
  https_listener_arn           = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/mlplatform-test-hub/0123456789abcdef/0123456789abcdef"
  ecs_task_execution_role_arn  = "arn:aws:iam::123456789012:role/mlplatform/mlplatform-test-ecs-task-execution"
  monitoring_task_role_arn     = "arn:aws:iam::123456789012:role/mlplatform/mlplatform-test-monitoring-task"
  prometheus_task_role_arn     = "arn:aws:iam::123456789012:role/mlplatform/mlplatform-test-prometheus-task"
  push_receiver_task_role_arn  = "arn:aws:iam::123456789012:role/mlplatform/mlplatform-test-push-receiver-task"
  appsflyer_pull_task_role_arn = "arn:aws:iam::123456789012:role/mlplatform/mlplatform-test-appsflyer-pull-task"
  metadata_service_url         = "http://internal-meta.example:8080"
  metadata_database_url        = "postgresql://metaflow@db.example:5432/metaflow?sslmode=require"
  database_secret_arn          = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf"
  batch_job_queue              = "mlplatform-test-queue"
  alerts_topic_arn             = "arn:aws:sns:eu-west-1:123456789012:mlplatform-test-alerts"
  efs_file_system_id           = "fs-0123456789abcdef0"
  appsflyer_app_ids            = ["id123456789", "com.example.game"]
  appsflyer_token_secret_arn   = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:appsflyer-token-AbCdEf"
  environment                  = { MLPLATFORM_S3__DATASTORE_ROOT = "s3://metaflow-artifacts-test/metaflow" }
  task_secrets                 = { monitor_check = { MLPLATFORM_SLACK_WEBHOOK_URL = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbCdEf" } }
  tags                         = { Environment = "test" }
}

run "push_receiver_behind_alb" {
  command = plan

  assert {
    condition     = aws_lb_target_group.push_receiver.port == 8000 && aws_lb_target_group.push_receiver.target_type == "ip" && aws_lb_target_group.push_receiver.health_check[0].path == "/healthz"
    error_message = "The receiver's target group must send to port 8000 of the tasks and check /healthz."
  }

  assert {
    condition     = aws_lb_listener_rule.push_receiver.listener_arn == var.https_listener_arn && anytrue([for c in aws_lb_listener_rule.push_receiver.condition : anytrue([for p in c.path_pattern : contains(p.values, "/postback")])])
    error_message = "The HTTPS listener must forward /postback to the receiver."
  }

  assert {
    condition     = aws_ecs_service.push_receiver.desired_count == 1 && aws_ecs_service.push_receiver.deployment_maximum_percent == 100 && aws_ecs_service.push_receiver.deployment_minimum_healthy_percent == 0
    error_message = "Exactly one receiver may run, also during deployments."
  }

  assert {
    condition     = aws_ecs_service.push_receiver.network_configuration[0].assign_public_ip == false && aws_ecs_service.push_receiver.network_configuration[0].security_groups == toset(["sg-0aaaaaaaaaaaaaaa1"])
    error_message = "The receiver runs in private subnets with the services security group."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this["push_receiver"].container_definitions)[0].command == ["appsflyer", "receive", "--host", "0.0.0.0", "--port", "8000", "--spool", "/var/lib/mlplatform/push-spool"]
    error_message = "The receiver must run `mlplatform appsflyer receive` on 0.0.0.0:8000 with its spool on the state volume."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this["push_receiver"].container_definitions)[0].entryPoint == ["mlplatform"]
    error_message = "The receiver's entry point must be the mlplatform CLI."
  }
}

run "prometheus_beside_metadata_service" {
  command = plan

  assert {
    condition     = aws_ecs_service.prometheus.cluster == var.cluster_arn
    error_message = "The Prometheus endpoint must run in the metadata service's cluster."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this["prometheus"].container_definitions)[0].command == ["monitor", "serve", "--address", "0.0.0.0", "--port", "9108", "--interval", "60"]
    error_message = "Prometheus must run `mlplatform monitor serve --port 9108` bound to 0.0.0.0."
  }

  assert {
    condition     = aws_ecs_service.prometheus.network_configuration[0].security_groups == toset(["sg-0aaaaaaaaaaaaaaa1", "sg-0bbbbbbbbbbbbbbb2"])
    error_message = "Prometheus needs the services group (scrapers in) and the operations group (database out)."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this["prometheus"].container_definitions)[0].portMappings[0].containerPort == 9108
    error_message = "Prometheus must expose 9108."
  }

  assert {
    condition     = length(aws_ecs_service.prometheus.service_registries) == 1
    error_message = "Prometheus must register in Cloud Map so scrapers find it."
  }
}

run "scheduled_tasks" {
  command = plan

  assert {
    condition     = aws_scheduler_schedule.this["monitor_check"].schedule_expression == "rate(5 minutes)" && aws_scheduler_schedule.this["appsflyer_pull"].schedule_expression == "cron(0 3 * * ? *)"
    error_message = "monitor check runs every 5 minutes and the pull daily at 03:00."
  }

  assert {
    condition     = aws_scheduler_schedule.this["monitor_check"].target[0].ecs_parameters[0].launch_type == "FARGATE" && aws_scheduler_schedule.this["monitor_check"].target[0].arn == var.cluster_arn
    error_message = "The schedules must start Fargate tasks in the platform cluster."
  }

  assert {
    condition     = contains(aws_scheduler_schedule.this["monitor_check"].target[0].ecs_parameters[0].network_configuration[0].security_groups, "sg-0bbbbbbbbbbbbbbb2")
    error_message = "The monitor check task must use the operations security group."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this["monitor_check"].container_definitions)[0].command == ["monitor", "check", "--json"]
    error_message = "The scheduled task must run `mlplatform monitor check`."
  }

  assert {
    condition     = strcontains(jsondecode(aws_ecs_task_definition.this["appsflyer_pull"].container_definitions)[0].command[0], "mlplatform appsflyer pull --app-id \"$app\" --report \"$report\" --from \"$from\" --to \"$to\"") && strcontains(jsondecode(aws_ecs_task_definition.this["appsflyer_pull"].container_definitions)[0].command[0], "for app in id123456789 com.example.game")
    error_message = "The pull task must run `mlplatform appsflyer pull` for every app and report."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.scheduler.statement :
      try(contains(s.actions, "ecs:RunTask"), false) && alltrue([for r in s.resources : startswith(r, "arn:aws:ecs:eu-west-1:123456789012:task-definition/")])
    ])
    error_message = "The scheduler role may run only the scheduled task definitions."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.scheduler.statement :
      try(contains(s.actions, "iam:PassRole"), false) && s.resources == toset([var.ecs_task_execution_role_arn, var.monitoring_task_role_arn, var.appsflyer_pull_task_role_arn])
    ])
    error_message = "The scheduler role may pass only the execution role and the scheduled tasks' roles."
  }

  assert {
    condition     = aws_cloudwatch_event_target.scheduled_task_failed.arn == var.alerts_topic_arn && strcontains(aws_cloudwatch_event_rule.scheduled_task_failed.event_pattern, "STOPPED")
    error_message = "A failing scheduled task must be reported on the alerts topic."
  }
}

run "settings_and_secrets" {
  command = plan

  assert {
    condition = contains(jsondecode(aws_ecs_task_definition.this["monitor_check"].container_definitions)[0].secrets, {
      name = "PGPASSWORD", valueFrom = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf:password::"
    })
    error_message = "The database password must reach monitor check as an ECS secret (PGPASSWORD), never as plain text."
  }

  assert {
    condition = alltrue([
      for e in jsondecode(aws_ecs_task_definition.this["monitor_check"].container_definitions)[0].environment :
      !strcontains(e.value, "secret:rds!db") && e.name != "PGPASSWORD"
    ])
    error_message = "No secret may appear in the plain environment."
  }

  assert {
    condition     = length(jsondecode(aws_ecs_task_definition.this["push_receiver"].container_definitions)[0].secrets) == 0
    error_message = "The receiver gets no secrets it does not use."
  }

  assert {
    condition = contains(jsondecode(aws_ecs_task_definition.this["monitor_check"].container_definitions)[0].secrets, {
      name = "MLPLATFORM_SLACK_WEBHOOK_URL", valueFrom = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbCdEf"
    }) && !contains([for s in jsondecode(aws_ecs_task_definition.this["prometheus"].container_definitions)[0].secrets : s.name], "MLPLATFORM_SLACK_WEBHOOK_URL")
    error_message = "task_secrets must reach only their task."
  }

  assert {
    condition = alltrue([
      for pair in [
        ["MLPLATFORM_METADATA__DATABASE_URL", "postgresql://metaflow@db.example:5432/metaflow?sslmode=require"],
        ["MLPLATFORM_ALERTS__SNS_TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:mlplatform-test-alerts"],
        ["MLPLATFORM_ALERTS__STATE_DB", "/var/lib/mlplatform/monitoring/alerts.sqlite"],
        ["MLPLATFORM_MONITORING__PUBLISH_CLOUDWATCH", "true"],
        ["MLPLATFORM_MONITORING__CLOUDWATCH_NAMESPACE", "MLPlatform"],
        ["MLPLATFORM_S3__DATASTORE_ROOT", "s3://metaflow-artifacts-test/metaflow"],
      ] : contains(jsondecode(aws_ecs_task_definition.this["monitor_check"].container_definitions)[0].environment, { name = pair[0], value = pair[1] })
    ])
    error_message = "Settings must reach monitor check as MLPLATFORM_<SECTION>__<KEY> variables."
  }

  assert {
    condition     = alltrue([for t in aws_ecs_task_definition.this : jsondecode(t.container_definitions)[0].readonlyRootFilesystem])
    error_message = "Every container must run with a read-only root filesystem."
  }

  assert {
    condition     = alltrue([for t in aws_ecs_task_definition.this : jsondecode(t.container_definitions)[0].logConfiguration.options["awslogs-group"] == "/ecs/mlplatform-test/services"])
    error_message = "Every container must log to the module's log group."
  }
}

run "durable_state_on_efs" {
  command = plan

  assert {
    condition     = aws_efs_access_point.state[0].posix_user[0].uid == 1000 && aws_efs_access_point.state[0].root_directory[0].path == "/mlplatform/mlplatform-test/services"
    error_message = "The state access point must enforce the container user and its own directory."
  }

  assert {
    condition = alltrue([
      for t in ["push_receiver", "monitor_check"] :
      one([for v in aws_ecs_task_definition.this[t].volume : v.efs_volume_configuration[0].transit_encryption if v.name == "state"]) == "ENABLED"
    ])
    error_message = "The outbox and the spool must live on EFS, encrypted in transit."
  }

  assert {
    condition     = length([for v in aws_ecs_task_definition.this["prometheus"].volume : v if v.name == "state"]) == 0
    error_message = "Only the stateful tasks mount the state volume."
  }
}

run "logs" {
  command = plan

  assert {
    condition     = aws_cloudwatch_log_group.services.retention_in_days == 365 && aws_cloudwatch_log_group.audit.retention_in_days == 365
    error_message = "Log groups must keep a year by default."
  }

  assert {
    condition     = aws_cloudwatch_log_group.audit.name == "/mlplatform/mlplatform-test/audit"
    error_message = "The audit log group must match the iam module's default."
  }
}

run "no_pull_without_apps" {
  command = plan

  variables {
    appsflyer_app_ids  = []
    efs_file_system_id = null
  }

  assert {
    condition     = !contains(keys(aws_ecs_task_definition.this), "appsflyer_pull") && !contains(keys(aws_scheduler_schedule.this), "appsflyer_pull")
    error_message = "Without app ids there is no pull task or schedule."
  }

  assert {
    condition     = contains(jsondecode(aws_ecs_task_definition.this["monitor_check"].container_definitions)[0].environment, { name = "MLPLATFORM_ALERTS__STATE_DB", value = "/tmp/mlplatform/monitoring/alerts.sqlite" })
    error_message = "Without EFS the state falls back to task storage."
  }

  assert {
    condition     = aws_scheduler_schedule.this["monitor_check"].target[0].ecs_parameters[0].network_configuration[0].security_groups == toset(["sg-0bbbbbbbbbbbbbbb2"])
    error_message = "Without EFS the monitor check needs only the operations group."
  }
}

run "rejects_password_in_environment" {
  command = plan

  variables {
    environment = { PGPASSWORD = "hunter2" }
  }

  expect_failures = [var.environment]
}

run "rejects_credentials_in_url" {
  command = plan

  variables {
    environment = { MLPLATFORM_METADATA__DATABASE_URL = "postgresql://metaflow:hunter2@db.example:5432/metaflow" }
  }

  expect_failures = [var.environment]
}

run "rejects_two_receivers" {
  command = plan

  variables {
    push_receiver_desired_count = 2
  }

  expect_failures = [var.push_receiver_desired_count]
}

run "rejects_unpinned_image" {
  command = plan

  variables {
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlplatform-test/batch:latest"
  }

  expect_failures = [var.image]
}

run "rejects_short_log_retention" {
  command = plan

  variables {
    log_retention_days = 3
  }

  expect_failures = [var.log_retention_days]
}
