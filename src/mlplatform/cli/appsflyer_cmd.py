"""`mlplatform appsflyer generate`: the seeded synthetic Pull API dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlplatform.cli.console import err, out
from mlplatform.data.appsflyer.synthetic import generate as generate_data

app = typer.Typer(help="AppsFlyer data tools.", no_args_is_help=True)


@app.command("generate")
def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Raw-zone root to write into.")] = Path(
        "data/raw/appsflyer"
    ),
    installs: Annotated[int, typer.Option(min=1, help="Installs to generate.")] = 50_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    days: Annotated[int, typer.Option(min=1, max=90, help="Install window in days.")] = 30,
    app_id: Annotated[str, typer.Option(help="App id.")] = "id1234567890",
    malformed_fraction: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="Share of rows to break on purpose.")
    ] = 0.0,
) -> None:
    """Write installs / in-app events reports with the exact Pull API header."""
    with err.status(f"generating {installs:,} installs"):
        data = generate_data(out_dir, installs, seed, days, app_id, malformed_fraction)
    for report, files in sorted(data.files.items()):
        out.print(f"{report}: {len(files)} files under {out_dir / app_id / report}")
    out.print(f"installs: {data.installs}")
    out.print(f"in_app_events: {data.events}")
    out.print(f"malformed_rows: {data.malformed_rows}")
