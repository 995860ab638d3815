"""Monitoring: run records from Metaflow metadata, metrics and cost, alert rules, notifiers,
publishing (CloudWatch, Prometheus) and reports. See `records.py` for the shared shapes."""
