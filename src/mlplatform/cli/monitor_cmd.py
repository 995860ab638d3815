"""`mlplatform monitor report|check|watch|serve`: how the pipelines are doing, and alerts.

`report` reads runs and prints numbers (or JSON, or an HTML dashboard); `check` evaluates the
alert rules once and sends what they raise (for cron or an EventBridge schedule); `watch`
repeats `check`; `serve` exposes the same numbers to Prometheus at `/metrics`.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from mlplatform.cli.console import err, out
from mlplatform.errors import PlatformError
from mlplatform.settings import get_settings

app = typer.Typer(help="Success rate, run time, cost and alerts.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document for scripts.")]
Since = Annotated[str, typer.Option(help="Window start: 7d, 24h, 90m or a date.")]
Flows = Annotated[list[str] | None, typer.Option("--flow", help="Only these flows (repeatable).")]


@app.command("report")
def report(
    since: Since = "7d",
    as_json: AsJson = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML dashboard.")
    ] = None,
    flow: Flows = None,
) -> None:
    """Runs, success rate, p50/p95 duration, queue wait, failures and cost, per pipeline/user."""
    from mlplatform.monitoring.check import gather, parse_since
    from mlplatform.monitoring.report_render import print_report, report_html, report_json

    now = datetime.now(UTC)
    with err.status("collecting runs"):
        gathered = gather(get_settings(), parse_since(since, now), now, flow)
    if problem := gathered.unreachable.get("metadata_database"):
        # A report without its runs would read as "no runs": say what is wrong instead.
        raise PlatformError(problem, "check metadata.database_url and that the database is up")
    for endpoint, problem in gathered.unreachable.items():
        err.print(f"[yellow]warning:[/] {endpoint}: {problem}", highlight=False)
    if html is not None:
        html.write_text(report_html(gathered.report), encoding="utf-8")
        err.print(f"dashboard: {html}")
    if as_json:
        print(json.dumps(report_json(gathered.report), default=str))
    else:
        print_report(gathered.report, out)


@app.command("check")
def check(as_json: AsJson = False) -> None:
    """Evaluate the alert rules once; queue and send what they raise (exit 2 if undelivered)."""
    from mlplatform.monitoring.check import run_check

    result = run_check(get_settings())
    delivery = result.delivery
    if as_json:
        print(
            json.dumps(
                {
                    "runs": len(result.gathered.records),
                    "alerts": [
                        {"id": a.id, "state": a.state, "rule": a.rule, "dedup_key": a.dedup_key,
                         "summary": a.summary}
                        for a in result.alerts
                    ],
                    "endpoints": result.endpoints,
                    "unreachable": result.gathered.unreachable,
                    "delivered": delivery.ok,
                    "delivery": delivery.summary(),
                }
            )
        )  # fmt: skip
    else:
        out.print(
            f"{len(result.gathered.records)} run(s) checked; {len(result.alerts)} new alert(s)"
            f" for {', '.join(result.endpoints) or 'no configured endpoint'}."
        )
        for alert in result.alerts:
            # No markup: "[<alert id>]" would be read as a Rich style tag and vanish.
            out.print(f"  {alert.state:8} {alert.severity:8} {alert.summary}  [{alert.id}]",
                      highlight=False, markup=False)  # fmt: skip
        out.print(f"delivery: {delivery.summary()}", highlight=False)
    if not result.endpoints and result.alerts:
        raise PlatformError(
            "alerts were raised but no alert endpoint is configured",
            "set alerts.sns_topic_arn, MLPLATFORM_SLACK_WEBHOOK_URL or "
            "MLPLATFORM_PAGERDUTY_ROUTING_KEY; the next check with an endpoint sends them",
        )
    if not delivery.ok:
        raise PlatformError(
            f"not every alert was delivered: {delivery.summary()}",
            "they stay in the outbox and the next `mlplatform monitor check` sends them",
        )


@app.command("watch")
def watch(
    every: Annotated[str, typer.Option(help="Time between checks, e.g. 60s, 5m.")] = "60s",
) -> None:
    """Run `check` again and again until interrupted; a failed pass is reported, not fatal."""
    from mlplatform.monitoring.check import run_check
    from mlplatform.monitoring.rules import parse_duration

    try:
        interval = parse_duration(every).total_seconds()
    except ValueError as exc:
        raise PlatformError(f"--every: {exc}", "e.g. --every 60s") from None
    while True:
        try:
            result = run_check(get_settings())
            out.print(
                f"{datetime.now(UTC):%H:%M:%S} {len(result.gathered.records)} run(s), "
                f"{len(result.alerts)} new alert(s); {result.delivery.summary()}",
                highlight=False,
            )
        except PlatformError as exc:
            err.print(f"error: {exc.one_line()}", highlight=False)
        time.sleep(interval)


@app.command("serve")
def serve(
    port: Annotated[int, typer.Option(help="Port for /metrics.")] = 9108,
    address: Annotated[str, typer.Option(help="Address; 0.0.0.0 to let others scrape.")] = (
        "127.0.0.1"
    ),
    interval: Annotated[float, typer.Option(help="Seconds between refreshes.")] = 60.0,
    since: Since = "7d",
) -> None:
    """Serve Prometheus metrics at http://<address>:<port>/metrics, refreshed every interval."""
    from mlplatform.monitoring.check import gather, parse_since
    from mlplatform.monitoring.metrics import Report
    from mlplatform.monitoring.publish import serve as serve_metrics

    def refresh() -> Report:
        now = datetime.now(UTC)
        return gather(get_settings(), parse_since(since, now), now).report

    server = serve_metrics(port, refresh, interval, address)
    err.print(f"serving {server.url}")
    try:
        server.wait()
    finally:
        server.stop()
