"""Pipelines: the YAML spec, the step logic, the Metaflow templates and their launcher."""
