"""`mlplatform appsflyer ...`: generate, validate, pull, datalocker, receive, sync-user.

Each command imports the data stack it needs when it runs: `mlplatform --help` and commands
that need none of it start in a fraction of a second.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.table import Table

from mlplatform.cli.console import err, steps_progress
from mlplatform.cli.console import out as out_console
from mlplatform.data.appsflyer.layouts import FAULTS, LAYOUTS, Layout
from mlplatform.data.appsflyer.reports import resolve_report
from mlplatform.errors import PlatformError
from mlplatform.settings import get_settings

if TYPE_CHECKING:
    from mlplatform.data.appsflyer.validate import ReportValidation

app = typer.Typer(help="AppsFlyer data tools.", no_args_is_help=True)


@app.command("generate")
def generate(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder to write into (<out>/<app_id>/<report>/dt=...).")
    ] = Path("data/raw/appsflyer"),
    installs: Annotated[int, typer.Option(min=1, help="Installs to generate.")] = 50_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    days: Annotated[int, typer.Option(min=1, max=90, help="Install window in days.")] = 30,
    app_id: Annotated[str, typer.Option(help="App id.")] = "id1234567890",
    malformed_fraction: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="Share of rows to break on purpose.")
    ] = 0.0,
    layout: Annotated[
        str, typer.Option(help="pull (Pull API CSVs), datalocker (hourly CSV.gz) or push (JSONL).")
    ] = "pull",
    fault: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Break a share of rows on purpose, NAME=SHARE (repeatable): {', '.join(FAULTS)}."
        ),
    ] = None,
) -> None:
    """Write every AppsFlyer report (seeded, with a learnable purchase signal)."""
    from mlplatform.data.appsflyer.synthetic import generate as generate_data

    if layout not in LAYOUTS:
        raise PlatformError(f"unknown layout '{layout}'", "use pull, datalocker or push")
    faults = dict(_fault(text) for text in fault or [])
    with err.status(f"generating {installs:,} installs"):
        data = generate_data(
            out_dir, installs, seed, days, app_id, malformed_fraction, cast(Layout, layout), faults
        )
    for report, files in sorted(data.files.items()):
        out_console.print(f"{report}: {len(files)} files", highlight=False)
    out_console.print(f"installs: {data.installs}", highlight=False)
    out_console.print(f"in_app_events: {data.events}", highlight=False)
    for name, rows in sorted(data.faults.items()):
        out_console.print(f"fault {name}: {rows} rows", highlight=False)


def _fault(text: str) -> tuple[str, float]:
    name, _, share = text.partition("=")
    try:
        value = float(share)
    except ValueError:
        value = -1.0
    if name not in FAULTS or not 0 < value <= 0.5:
        raise PlatformError(
            f"--fault '{text}' is not NAME=SHARE",
            f"NAME is one of {', '.join(FAULTS)}; SHARE a number in (0, 0.5], e.g. duplicates=0.01",
        )
    return name, value


@app.command("validate")
def validate(
    file: Annotated[str, typer.Argument(help="Raw report file: CSV, CSV.gz, Parquet, JSONL.")],
    report: Annotated[
        str | None,
        typer.Option(help="Report id or alias (installs, in_app_events, ...); default: detect."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the quarantine file.")] = Path("quarantine"),
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only the JSON report on stdout.")
    ] = False,
) -> None:
    """Validate one raw AppsFlyer file: counts, reasons, samples, duplicates, late events.

    Quarantined rows are not an error: the exit code is 0 unless the file cannot be read.
    """
    from mlplatform.data.appsflyer.validate import validate_file

    with err.status("validating") as status:

        def show(progress: ReportValidation) -> None:
            status.update(
                f"validating {file}: {progress.rows_in:,} rows, "
                f"{progress.rows_quarantined:,} quarantined"
            )

        result = validate_file(file, report, out, on_batch=show)
    if as_json:
        print(json.dumps(result.as_dict(), default=str))
        return
    table = Table(title=f"{file} ({result.report}, {result.naming} names)", show_header=False)
    for name, value in (
        ("rows in", result.rows_in),
        ("rows valid", result.rows_valid),
        ("rows quarantined", result.rows_quarantined),
        ("duplicates", result.duplicates),
        ("late events", result.late_events),
    ):
        table.add_row(name, f"{value:,}")
    table.add_row("quarantine file", result.quarantine_path or "-")
    out_console.print(table)
    if result.reasons:
        reasons = Table("reason", "rows", "first example (file:line)")
        for reason, count in result.reasons.items():
            sample = result.samples.get(reason, [{}])[0]
            reasons.add_row(reason, f"{count:,}", f"{sample.get('source')}:{sample.get('line')}")
        out_console.print(reasons)


@app.command("pull")
def pull(
    app_id: Annotated[str, typer.Option("--app-id", help="iOS id<digits> or Android package.")],
    report: Annotated[str, typer.Option(help="Report id or Pull API name, e.g. installs.")],
    from_day: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC).")],
    to_day: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (inclusive).")],
    root: Annotated[
        str | None, typer.Option(help="Raw zone root (default: appsflyer.raw_root setting).")
    ] = None,
    max_rows: Annotated[
        int | None, typer.Option(help="maximum_rows: 200000 or 1000000 (default: setting).")
    ] = None,
) -> None:
    """Land Pull API raw data day by day; days already landed are skipped."""
    from mlplatform.data.appsflyer.pull_api import PullApi, token_from
    from mlplatform.data.appsflyer.pull_api import pull as pull_report

    settings = get_settings().appsflyer
    rows_cap = max_rows or settings.max_rows
    if rows_cap not in (200_000, 1_000_000):
        raise PlatformError(f"--max-rows {rows_cap} is not allowed", "use 200000 or 1000000")
    api = PullApi(
        base_url=settings.base_url,
        token=token_from(settings.token_env, settings.token_secret),
        max_rows=rows_cap,
        retry_initial_seconds=settings.retry_initial_seconds,
        retry_attempts=settings.retry_attempts,
    )
    first, last = _day(from_day, "--from"), _day(to_day, "--to")
    with steps_progress() as bar:
        task = bar.add_task(f"pulling {report}", total=(last - first).days + 1)

        def show(day: str, what: str) -> None:
            bar.update(task, advance=1, description=f"{day}: {what}")

        summary = pull_report(
            api,
            app_id,
            resolve_report(report),
            first,
            last,
            root or settings.raw_root,
            lookback_days=settings.lookback_days,
            on_day=show,
        )
    for day, rows in summary.landed.items():
        out_console.print(f"landed {day}: {rows} rows", highlight=False)
    out_console.print(f"days_landed: {len(summary.landed)}", highlight=False)
    out_console.print(f"days_skipped: {len(summary.skipped)}", highlight=False)
    out_console.print(f"requests: {summary.requests}", highlight=False)
    out_console.print(f"manifest: {summary.manifest}", highlight=False)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PlatformError(f"{option} '{text}' is not a date", "use YYYY-MM-DD") from None


@app.command("datalocker")
def datalocker(
    root: Annotated[str, typer.Option(help="Data Locker folder holding t=<topic>/ (or s3://).")],
    topic: Annotated[str, typer.Option(help="Topic, e.g. installs, inapps.")],
    checkpoint: Annotated[
        str | None, typer.Option(help="Checkpoint file (default: <root>/_mlplatform_<topic>.json).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for quarantine files.")] = Path("quarantine"),
) -> None:
    """Validate new complete Data Locker hours (those with _SUCCESS), once each."""
    from mlplatform.data.appsflyer.datalocker import Checkpoint, list_partitions
    from mlplatform.data.appsflyer.validate import validate_file

    report = resolve_report(topic)
    partitions = list_partitions(root, topic)
    state = Checkpoint(checkpoint or f"{root.rstrip('/')}/_mlplatform_{topic}.json")
    todo = state.pending(partitions)
    waiting = [p.key for p in partitions if not p.complete]
    totals = dict.fromkeys(
        ("rows_in", "rows_valid", "rows_quarantined", "duplicates", "late_events"), 0
    )
    with steps_progress() as bar:
        task = bar.add_task("Data Locker", total=len(todo))
        for partition in todo:
            bar.update(task, description=partition.key)
            for file in partition.files:
                result = validate_file(file, report.id, out / partition.key)
                for name in totals:
                    totals[name] += getattr(result, name)
            state.mark(partition)
            bar.advance(task)
    out_console.print(f"partitions_processed: {len(todo)}", highlight=False)
    out_console.print(f"partitions_incomplete: {len(waiting)}", highlight=False)
    for name, value in totals.items():
        out_console.print(f"{name}: {value}", highlight=False)


@app.command("receive")
def receive(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8090,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    spool: Annotated[Path, typer.Option(help="Local folder for write-ahead files.")] = Path(
        "push-spool"
    ),
    raw_root: Annotated[
        str | None, typer.Option(help="Raw zone root (default: appsflyer.raw_root).")
    ] = None,
    sns_topic_arn: Annotated[
        str | None, typer.Option(help="Announce closed partitions on this SNS topic.")
    ] = None,
    roll_seconds: Annotated[float, typer.Option(help="How often to roll closed hours.")] = 60.0,
) -> None:
    """Receive Push API postbacks (POST JSON or GET query) at /postback."""
    import uvicorn

    from mlplatform.data.appsflyer.push_receiver import PushStore, create_app

    store = PushStore(spool, raw_root or get_settings().appsflyer.raw_root, sns_topic_arn)
    err.print(f"receiving postbacks on http://{host}:{port}/postback (spool {spool})")
    uvicorn.run(create_app(store, roll_seconds), host=host, port=port, log_level="warning")


@app.command("sync-user")
def sync_user_cmd(
    username: Annotated[str, typer.Argument(help="The data scientist's username.")],
    app_id: Annotated[str, typer.Option("--app-id", help="App whose data to copy.")],
    from_day: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    to_day: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")],
    report: Annotated[
        list[str] | None,
        typer.Option(help="Report (repeatable); default: installs and in-app, organic too."),
    ] = None,
    home_root: Annotated[
        str | None, typer.Option(help="EFS home root (default: efs.home_root, /data).")
    ] = None,
) -> None:
    """Copy raw AppsFlyer data to /data/<username>/appsflyer/ for notebook work."""
    from mlplatform.data.appsflyer.user_copy import sync_user as copy_for_user

    settings = get_settings()
    names = report or ["installs", "organic_installs", "in_app_events", "organic_in_app_events"]
    paths = [resolve_report(name).pull_path for name in names]
    with err.status(f"copying to {username}"):
        summary = copy_for_user(
            username,
            settings.appsflyer.raw_root,
            home_root or settings.efs.home_root,
            app_id,
            paths,
            _day(from_day, "--from"),
            _day(to_day, "--to"),
        )
    out_console.print(f"target: {summary.target}", highlight=False)
    out_console.print(f"files_copied: {len(summary.copied)}", highlight=False)
    out_console.print(f"files_unchanged: {summary.unchanged}", highlight=False)
