################################################################################
# CloudWatch alarms: INFRASTRUCTURE ONLY.
#
# Run-level conditions (success rate, failed pipelines, Batch queue depth, run time, cost, the
# metadata service or database not answering) belong to the platform's rule engine,
# `mlplatform monitor check`, which has `for`, cooldown, dedup keys and resolves. Alarming on
# the same conditions here would page twice for one incident, so the MLPlatform metrics are
# on the dashboard and never in an alarm.
################################################################################

locals {
  elb_namespace = {
    network     = "AWS/NetworkELB"
    application = "AWS/ApplicationELB"
  }

  # severity: "critical" -> critical topic (pages), "warning" -> alerts topic (notifies).
  base_alarms = {
    rds_cpu = {
      description = "Metadata database CPU above ${var.rds_cpu_threshold_percent}% for ${var.evaluation_periods}x${var.period_seconds}s. Check slow queries in Performance Insights; a busy collector belongs on the read replica."
      namespace   = "AWS/RDS"
      metric      = "CPUUtilization"
      dimensions  = { DBInstanceIdentifier = var.rds_instance_identifier }
      statistic   = "Average"
      comparison  = "GreaterThanThreshold"
      threshold   = var.rds_cpu_threshold_percent
      missing     = "missing"
      severity    = "warning"
    }
    rds_free_storage = {
      description = "Metadata database free storage below ${var.rds_free_storage_threshold_bytes} bytes: storage autoscaling has reached max_allocated_storage or cannot keep up. Raise max_allocated_storage before the database stops accepting writes."
      namespace   = "AWS/RDS"
      metric      = "FreeStorageSpace"
      dimensions  = { DBInstanceIdentifier = var.rds_instance_identifier }
      statistic   = "Minimum"
      comparison  = "LessThanThreshold"
      threshold   = var.rds_free_storage_threshold_bytes
      missing     = "missing"
      severity    = "critical"
    }
    rds_connections = {
      description = "Metadata database connections above ${var.rds_connections_threshold}. Look for leaked connections (metadata service tasks x MF_METADATA_DB_POOL_MAX, collectors, notebooks)."
      namespace   = "AWS/RDS"
      metric      = "DatabaseConnections"
      dimensions  = { DBInstanceIdentifier = var.rds_instance_identifier }
      statistic   = "Maximum"
      comparison  = "GreaterThanThreshold"
      threshold   = var.rds_connections_threshold
      missing     = "missing"
      severity    = "warning"
    }
    # A target failing health checks while others still serve: degraded, not down. Down
    # (nothing answers) is the rule engine's metadata-unreachable alert, which pages.
    metadata_unhealthy_hosts = {
      description = "Metadata service: a task fails its /ping health check. See the service's ECS events and log group."
      namespace   = local.elb_namespace[var.metadata_load_balancer_type]
      metric      = "UnHealthyHostCount"
      dimensions  = { LoadBalancer = var.metadata_load_balancer_arn_suffix, TargetGroup = var.metadata_target_group_arn_suffix }
      statistic   = "Maximum"
      comparison  = "GreaterThanThreshold"
      threshold   = 0
      missing     = "missing"
      severity    = "warning"
    }
    metadata_no_healthy_hosts = {
      description = "Metadata service: no healthy task behind the internal load balancer. `mlplatform monitor check` pages for this as metadata-unreachable; this alarm is the backstop and notifies only by default."
      namespace   = local.elb_namespace[var.metadata_load_balancer_type]
      metric      = "HealthyHostCount"
      dimensions  = { LoadBalancer = var.metadata_load_balancer_arn_suffix, TargetGroup = var.metadata_target_group_arn_suffix }
      statistic   = "Minimum"
      comparison  = "LessThanThreshold"
      threshold   = 1
      missing     = "breaching"
      severity    = "warning"
    }
    alb_5xx = {
      description = "ALB answered more than ${var.alb_5xx_threshold} 5xx responses itself per ${var.period_seconds}s (no healthy or responsive target behind it: JupyterHub or the Push receiver)."
      namespace   = "AWS/ApplicationELB"
      metric      = "HTTPCode_ELB_5XX_Count"
      dimensions  = { LoadBalancer = var.alb_arn_suffix }
      statistic   = "Sum"
      comparison  = "GreaterThanThreshold"
      threshold   = var.alb_5xx_threshold
      missing     = "notBreaching"
      severity    = "warning"
    }
    hub_unhealthy = {
      description = "JupyterHub target is unhealthy: notebooks are down for every user. Check the hub host, its systemd unit and the ALB health check."
      namespace   = "AWS/ApplicationELB"
      metric      = "UnHealthyHostCount"
      dimensions  = { LoadBalancer = var.alb_arn_suffix, TargetGroup = var.hub_target_group_arn_suffix }
      statistic   = "Maximum"
      comparison  = "GreaterThanThreshold"
      threshold   = 0
      missing     = "missing"
      severity    = "critical"
    }
    efs_burst_credits = {
      description = "EFS burst credits below ${var.efs_burst_credit_threshold_bytes} bytes: throughput will drop to the baseline. Consider elastic throughput."
      namespace   = "AWS/EFS"
      metric      = "BurstCreditBalance"
      dimensions  = { FileSystemId = var.efs_file_system_id }
      statistic   = "Minimum"
      comparison  = "LessThanThreshold"
      threshold   = var.efs_burst_credit_threshold_bytes
      missing     = "notBreaching"
      severity    = "warning"
    }
    efs_io_limit = {
      description = "EFS at ${var.efs_percent_io_limit_threshold}% of its General Purpose I/O limit: notebooks and AppsFlyer copies will slow down."
      namespace   = "AWS/EFS"
      metric      = "PercentIOLimit"
      dimensions  = { FileSystemId = var.efs_file_system_id }
      statistic   = "Maximum"
      comparison  = "GreaterThanThreshold"
      threshold   = var.efs_percent_io_limit_threshold
      missing     = "notBreaching"
      severity    = "warning"
    }
  }

  optional_alarms = merge(
    var.rds_replica_identifier == null ? {} : {
      rds_replica_lag = {
        description = "Read replica ${var.rds_replica_identifier} lags more than ${var.rds_replica_lag_threshold_seconds}s: the monitoring collector reads stale runs."
        namespace   = "AWS/RDS"
        metric      = "ReplicaLag"
        dimensions  = { DBInstanceIdentifier = var.rds_replica_identifier }
        statistic   = "Maximum"
        comparison  = "GreaterThanThreshold"
        threshold   = var.rds_replica_lag_threshold_seconds
        missing     = "missing"
        severity    = "warning"
      }
    },
    !var.create_push_receiver_alarm ? {} : {
      push_receiver_unhealthy = {
        description = "AppsFlyer Push receiver has no healthy target: AppsFlyer retries postbacks for a while, then drops them."
        namespace   = "AWS/ApplicationELB"
        metric      = "HealthyHostCount"
        dimensions  = { LoadBalancer = var.alb_arn_suffix, TargetGroup = var.push_receiver_target_group_arn_suffix }
        statistic   = "Minimum"
        comparison  = "LessThanThreshold"
        threshold   = 1
        missing     = "breaching"
        severity    = "warning"
      }
    },
  )

  alarms = {
    for k, a in merge(local.base_alarms, local.optional_alarms) :
    k => merge(a, { severity = lookup(var.alarm_severity_overrides, k, a.severity) })
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${replace(each.key, "_", "-")}"
  alarm_description   = "[${each.value.severity}] ${each.value.description}"
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  period              = var.period_seconds
  evaluation_periods  = var.evaluation_periods
  datapoints_to_alarm = var.evaluation_periods
  treat_missing_data  = each.value.missing

  actions_enabled = true
  alarm_actions   = [local.topic_arns[each.value.severity == "critical" ? "critical" : "alerts"]]
  ok_actions      = [local.topic_arns[each.value.severity == "critical" ? "critical" : "alerts"]]

  tags = merge(var.tags, { Severity = each.value.severity })

  lifecycle {
    precondition {
      condition     = each.key != "push_receiver_unhealthy" || var.push_receiver_target_group_arn_suffix != null
      error_message = "create_push_receiver_alarm needs push_receiver_target_group_arn_suffix."
    }
  }
}
