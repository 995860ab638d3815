"""What every template flow declares the same way: the spec Config, the resource
expressions, run tagging."""

from __future__ import annotations

from metaflow import Config, config_expr, current

# The spec's resources, resolved by Metaflow when the flow starts (and when it compiles to
# Step Functions or Argo), so `@resources` carries each spec's own numbers.
PROJECT = config_expr("pipeline.project")
CPU = config_expr("pipeline.resources.cpu")
MEMORY = config_expr("pipeline.resources.memory")


def pipeline_config() -> Config:
    """The `pipeline` Config: the spec YAML, validated in full by the platform's parser."""
    return Config(
        "pipeline",
        required=True,
        parser="mlplatform.pipelines.spec.parse_pipeline_config",
        help="Path to the pipeline spec YAML.",
    )


def tag_run(tags: list[str]) -> None:
    """Add tags to the running run (visible to `runs list` and the registry at once)."""
    from metaflow import Run

    Run(f"{current.flow_name}/{current.run_id}", _namespace_check=False).add_tags(tags)
