"""Publishing a report where operators look: CloudWatch metrics and audit logs, Prometheus.

Each target is one module that wraps its client; all of them read a `Report` and nothing else,
so they show the same numbers as `mlplatform monitor report`.
"""

from mlplatform.monitoring.publish.cloudwatch import AuditLogWriter, metric_data, publish_metrics
from mlplatform.monitoring.publish.prometheus import MetricsServer, ReportCollector, serve

__all__ = [
    "AuditLogWriter",
    "MetricsServer",
    "ReportCollector",
    "metric_data",
    "publish_metrics",
    "serve",
]
