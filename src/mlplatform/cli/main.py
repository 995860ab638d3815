"""Entry point: every PlatformError becomes one line on stderr and exit code 2."""

from __future__ import annotations

import os
import sys

import typer

from mlplatform.cli import (
    appsflyer_cmd,
    configure_cmd,
    doctor_cmd,
    init_cmd,
    models_cmd,
    monitor_cmd,
    run_cmd,
    runs_cmd,
    spec_cmd,
    stack_cmd,
    users_cmd,
)
from mlplatform.errors import PlatformError

app = typer.Typer(
    name="mlplatform",
    help="ML pipeline platform on Metaflow: run YAML pipeline specs locally or on AWS Batch.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("run")(run_cmd.run)
app.command("init")(init_cmd.init)
app.add_typer(runs_cmd.app, name="runs")
app.add_typer(models_cmd.app, name="models")
app.add_typer(spec_cmd.app, name="spec")
app.add_typer(appsflyer_cmd.app, name="appsflyer")
app.add_typer(users_cmd.app, name="users")
app.add_typer(monitor_cmd.app, name="monitor")
app.add_typer(configure_cmd.app, name="configure")
app.add_typer(stack_cmd.app, name="stack")
app.command("doctor")(doctor_cmd.doctor)


@app.command("version")
def version() -> None:
    """Print the mlplatform version."""
    from mlplatform import __version__

    typer.echo(__version__)


def main() -> None:
    from mlplatform.pipelines.launcher import metaflow_user

    os.environ["METAFLOW_USER"] = metaflow_user()  # the client needs it as much as runs do
    try:
        app()
    except PlatformError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
