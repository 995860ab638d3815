################################################################################
# Dashboard: the platform's own numbers (namespace MLPlatform, published by
# `mlplatform monitor check` with monitoring.publish_cloudwatch on) next to the infrastructure.
# The platform metrics are gauges over the check's window: read with Average or Maximum,
# never Sum (each publication repeats the whole window).
################################################################################

locals {
  ns     = var.platform_metrics_namespace
  period = 300

  elb_ns = local.elb_namespace[var.metadata_load_balancer_type]

  rds_metrics = concat(
    [["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", var.rds_instance_identifier, { stat = "Average", label = "primary CPU %" }]],
    var.rds_replica_identifier == null ? [] : [["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", var.rds_replica_identifier, { stat = "Average", label = "replica CPU %" }]],
  )

  widgets = [
    {
      type = "text", x = 0, y = 0, width = 24, height = 2
      properties = {
        markdown = "## ${var.name}\nPlatform metrics (`${local.ns}`) come from `mlplatform monitor check`; its rule engine owns run-level alerts (success rate, failed pipelines, queue depth, cost, metadata reachability). The alarms below watch infrastructure only."
      }
    },
    {
      type = "metric", x = 0, y = 2, width = 8, height = 6
      properties = {
        title  = "Success rate (%) - last window"
        region = local.region
        view   = "timeSeries"
        period = local.period
        yAxis  = { left = { min = 0, max = 100 } }
        metrics = [
          [local.ns, "SuccessRate", { stat = "Average", label = "all pipelines" }],
          [{ expression = "SEARCH('{${local.ns},Pipeline} MetricName=\"SuccessRate\"', 'Average', ${local.period})", id = "per_pipeline", label = "" }],
        ]
        annotations = { horizontal = [{ value = 95, label = "rule threshold 95%" }] }
      }
    },
    {
      type = "metric", x = 8, y = 2, width = 8, height = 6
      properties = {
        title  = "Runs in the window"
        region = local.region
        view   = "timeSeries"
        period = local.period
        metrics = [
          [local.ns, "Runs", { stat = "Maximum", label = "runs" }],
          [local.ns, "CompletedRuns", { stat = "Maximum", label = "completed" }],
          [local.ns, "FailedRuns", { stat = "Maximum", label = "failed" }],
          [local.ns, "RunningRuns", { stat = "Maximum", label = "running" }],
        ]
      }
    },
    {
      type = "metric", x = 16, y = 2, width = 8, height = 6
      properties = {
        title  = "Estimated compute cost (USD, window)"
        region = local.region
        view   = "timeSeries"
        period = local.period
        metrics = [
          [local.ns, "CostUSD", { stat = "Maximum", label = "all pipelines" }],
          [{ expression = "SEARCH('{${local.ns},User} MetricName=\"CostUSD\"', 'Maximum', ${local.period})", id = "per_user", label = "" }],
        ]
      }
    },
    {
      type = "metric", x = 0, y = 8, width = 8, height = 6
      properties = {
        title  = "Queue wait and run time (s)"
        region = local.region
        view   = "timeSeries"
        period = local.period
        metrics = [
          [local.ns, "QueueWaitP50", { stat = "Average", label = "queue wait p50" }],
          [local.ns, "DurationP50", { stat = "Average", label = "duration p50" }],
          [local.ns, "DurationP95", { stat = "Average", label = "duration p95" }],
        ]
      }
    },
    {
      type = "metric", x = 8, y = 8, width = 8, height = 6
      properties = {
        title  = "AWS Batch"
        region = local.region
        view   = "timeSeries"
        period = local.period
        metrics = [
          [local.ns, "BatchQueueDepth", { stat = "Maximum", label = "RUNNABLE jobs in the platform queue" }],
          ["AWS/Events", "Invocations", "RuleName", aws_cloudwatch_event_rule.batch_job_failed.name, { stat = "Sum", label = "failed jobs", yAxis = "right" }],
          ["AWS/Events", "Invocations", "RuleName", aws_cloudwatch_event_rule.sfn_execution_failed.name, { stat = "Sum", label = "failed Step Functions executions", yAxis = "right" }],
        ]
        annotations = { horizontal = [{ value = 50, label = "rule threshold 50 jobs" }] }
      }
    },
    {
      type = "metric", x = 16, y = 8, width = 8, height = 6
      properties = {
        title  = "CPU seconds (window)"
        region = local.region
        view   = "timeSeries"
        period = local.period
        metrics = [
          [local.ns, "CpuSeconds", { stat = "Maximum", label = "all pipelines" }],
        ]
      }
    },
    {
      type = "metric", x = 0, y = 14, width = 8, height = 6
      properties = {
        title       = "Metadata DB: CPU %"
        region      = local.region
        view        = "timeSeries"
        period      = local.period
        metrics     = local.rds_metrics
        annotations = { horizontal = [{ value = var.rds_cpu_threshold_percent, label = "alarm" }] }
      }
    },
    {
      type = "metric", x = 8, y = 14, width = 8, height = 6
      properties = {
        title  = "Metadata DB: connections and free storage"
        region = local.region
        view   = "timeSeries"
        period = local.period
        metrics = [
          ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", var.rds_instance_identifier, { stat = "Maximum", label = "connections" }],
          ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", var.rds_instance_identifier, { stat = "Minimum", label = "free storage (bytes)", yAxis = "right" }],
        ]
      }
    },
    {
      type = "metric", x = 16, y = 14, width = 8, height = 6
      properties = {
        title  = "Metadata service targets"
        region = local.region
        view   = "timeSeries"
        period = 60
        metrics = [
          [local.elb_ns, "HealthyHostCount", "TargetGroup", var.metadata_target_group_arn_suffix, "LoadBalancer", var.metadata_load_balancer_arn_suffix, { stat = "Minimum", label = "healthy" }],
          [local.elb_ns, "UnHealthyHostCount", "TargetGroup", var.metadata_target_group_arn_suffix, "LoadBalancer", var.metadata_load_balancer_arn_suffix, { stat = "Maximum", label = "unhealthy" }],
        ]
      }
    },
    {
      type = "metric", x = 0, y = 20, width = 8, height = 6
      properties = {
        title  = "ALB: requests and 5xx"
        region = local.region
        view   = "timeSeries"
        period = local.period
        metrics = [
          ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", var.alb_arn_suffix, { stat = "Sum", label = "requests" }],
          ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", var.alb_arn_suffix, { stat = "Sum", label = "ALB 5xx", yAxis = "right" }],
          ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", var.alb_arn_suffix, { stat = "Sum", label = "target 5xx", yAxis = "right" }],
        ]
      }
    },
    {
      type = "metric", x = 8, y = 20, width = 8, height = 6
      properties = {
        title  = "JupyterHub target"
        region = local.region
        view   = "timeSeries"
        period = 60
        metrics = [
          ["AWS/ApplicationELB", "HealthyHostCount", "TargetGroup", var.hub_target_group_arn_suffix, "LoadBalancer", var.alb_arn_suffix, { stat = "Minimum", label = "healthy" }],
          ["AWS/ApplicationELB", "TargetResponseTime", "TargetGroup", var.hub_target_group_arn_suffix, "LoadBalancer", var.alb_arn_suffix, { stat = "p95", label = "response time p95 (s)", yAxis = "right" }],
        ]
      }
    },
    {
      type = "metric", x = 16, y = 20, width = 8, height = 6
      properties = {
        title  = "EFS"
        region = local.region
        view   = "timeSeries"
        period = local.period
        metrics = [
          ["AWS/EFS", "PercentIOLimit", "FileSystemId", var.efs_file_system_id, { stat = "Maximum", label = "I/O limit %" }],
          ["AWS/EFS", "BurstCreditBalance", "FileSystemId", var.efs_file_system_id, { stat = "Minimum", label = "burst credits (bytes)", yAxis = "right" }],
          ["AWS/EFS", "ClientConnections", "FileSystemId", var.efs_file_system_id, { stat = "Sum", label = "client connections" }],
        ]
      }
    },
    {
      type = "alarm", x = 0, y = 26, width = 24, height = 4
      properties = {
        title  = "Infrastructure alarms"
        alarms = concat([for a in aws_cloudwatch_metric_alarm.this : a.arn], [aws_cloudwatch_metric_alarm.events_dlq.arn])
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.widgets })
}
