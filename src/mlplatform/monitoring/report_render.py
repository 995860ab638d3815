"""A report three ways: one JSON document, Rich tables for the terminal, one HTML file.

The JSON keys are a contract (scripts and `jq` read them); add keys, never rename. The HTML is
one self-contained file: inline CSS and SVG, no script, no network (its Content-Security-Policy
forbids both), so it can be mailed or attached to a ticket and still open years later.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mlplatform.monitoring.metrics import GroupMetrics, Report
from mlplatform.monitoring.report_charts import (
    bar_chart,
    empty_chart,
    esc,
    format_cost,
    format_duration,
    format_percent,
    histogram,
    line_chart,
    plural,
)

TOP_FAILURES = 10
TOP_BARS = 20  # more bars than this stop being readable; the rest are counted in the caption
NO_RUNS = "no runs in this window"


def report_json(report: Report) -> dict[str, Any]:
    """The whole report as plain JSON types: overall, per pipeline/user/team/day."""
    return {
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "overall": _group_json(report.overall),
        "pipelines": [{"pipeline": g.key} | _group_json(g) for g in report.by_pipeline],
        "users": [{"user": g.key} | _group_json(g) for g in report.by_user],
        "teams": [{"team": g.key} | _group_json(g) for g in report.by_team],
        "days": [{"day": day.isoformat()} | _group_json(g) for day, g in report.by_day],
        "batch_queue_depth": report.batch_queue_depth,
    }


def _group_json(group: GroupMetrics) -> dict[str, Any]:
    def seconds(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {
        "runs": group.runs,
        "completed": group.completed,
        "failed": group.failed,
        "running": group.running,
        "success_rate": group.success_rate,
        "p50_seconds": seconds(group.p50_seconds),
        "p95_seconds": seconds(group.p95_seconds),
        "queue_wait_p50_seconds": seconds(group.queue_wait_p50_seconds),
        "cost_usd": round(group.cost_usd, 6),
        "cpu_seconds": round(group.cpu_seconds, 3),
        "failure_reasons": dict(_top_reasons(group.failure_reasons)),
    }


def _top_reasons(reasons: dict[str, int], limit: int | None = None) -> list[tuple[str, int]]:
    return sorted(reasons.items(), key=lambda item: (-item[1], item[0]))[:limit]


# --- terminal ---------------------------------------------------------------------------


def print_report(report: Report, console: Console) -> None:
    """Rich tables: overall, per pipeline, user and team, then the top failure reasons."""
    console.print(f"Runs from {_window(report)}", style="bold")
    if report.overall.runs == 0:
        console.print(NO_RUNS)
        return
    console.print(_group_table("Overall", "", [report.overall], with_key=False))
    for title, column, groups in [
        ("By pipeline", "pipeline", report.by_pipeline),
        ("By user", "user", report.by_user),
        ("By team", "team", report.by_team),
    ]:
        if groups:
            console.print(_group_table(title, column, groups))
    reasons = _top_reasons(report.overall.failure_reasons, TOP_FAILURES)
    if reasons:
        table = Table(title="Top failure reasons", title_justify="left")
        table.add_column("step: exception")
        table.add_column("runs", justify="right")
        for reason, runs in reasons:
            # Text, not a str: Rich would read "[...]" in exception text as markup.
            table.add_row(Text(reason), str(runs))
        console.print(table)
    if report.batch_queue_depth is not None:
        console.print(f"Batch queue: {report.batch_queue_depth} runnable jobs")


def _group_table(
    title: str, column: str, groups: list[GroupMetrics], with_key: bool = True
) -> Table:
    table = Table(title=title, title_justify="left")
    if with_key:
        table.add_column(column)
    for name in ("runs", "ok", "failed", "running", "success", "p50", "p95", "queue p50", "cost"):
        table.add_column(name, justify="right")
    for g in groups:
        cells = [
            str(g.runs),
            str(g.completed),
            str(g.failed),
            str(g.running),
            format_percent(g.success_rate),
            format_duration(g.p50_seconds),
            format_duration(g.p95_seconds),
            format_duration(g.queue_wait_p50_seconds),
            format_cost(g.cost_usd),
        ]
        table.add_row(*([Text(g.key)] if with_key else []), *cells)
    return table


def _window(report: Report) -> str:
    return f"{report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC"


# --- HTML -------------------------------------------------------------------------------

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px auto; max-width: 1360px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px; } .window { color: #666; margin: 0 0 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 20px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 110px; }
.card b { display: block; font-size: 20px; } .card span { color: #666; font-size: 12px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(660px, 1fr)); gap: 16px; }
figure.chart { margin: 0; border: 1px solid #ddd; border-radius: 6px; padding: 8px; }
figcaption { font-weight: 600; margin-bottom: 6px; }
svg { max-width: 100%; height: auto; font-size: 11px; fill: #444; }
.grid { stroke: #e4e4e4; } .line { fill: none; stroke: #2b6cb0; stroke-width: 2; }
circle.mark { fill: #2b6cb0; } rect.mark { fill: #4a90d9; }
[data-chart="failure-reasons"] rect.mark { fill: #d9534f; }
.empty { color: #666; font-style: italic; padding: 24px; }
table { border-collapse: collapse; margin-top: 20px; }
caption { text-align: left; font-weight: 600; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def report_html(report: Report) -> str:
    """One self-contained HTML page: summary cards, five charts and a per-pipeline table."""
    overall = report.overall
    cards = [
        ("runs", str(overall.runs)),
        ("success rate", format_percent(overall.success_rate)),
        ("p50 duration", format_duration(overall.p50_seconds)),
        ("p95 duration", format_duration(overall.p95_seconds)),
        ("queue wait p50", format_duration(overall.queue_wait_p50_seconds)),
        ("cost", format_cost(overall.cost_usd)),
    ]
    if report.batch_queue_depth is not None:
        cards.append(("Batch queue", str(report.batch_queue_depth)))
    body = "".join(
        f'<div class="card"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for k, v in cards
    )
    content = f'<p class="empty">{NO_RUNS}</p>' if overall.runs == 0 else _charts(report)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<link rel="icon" href="data:,">'  # or the browser asks the network for /favicon.ico
        f"<title>ML platform runs, {esc(_window(report))}</title><style>{STYLE}</style></head>"
        f'<body><h1>ML platform runs</h1><p class="window">{esc(_window(report))}</p>'
        f'<div class="cards">{body}</div>{content}</body></html>'
    )


def _charts(report: Report) -> str:
    days: list[tuple[date, float | None, str]] = [
        (
            day,
            g.success_rate,
            f"{day}: {format_percent(g.success_rate)} of {g.completed + g.failed}",
        )
        for day, g in report.by_day
    ]
    if any(rate is not None for _, rate, _ in days):
        success = line_chart("success-rate", "Success rate per day", days)
    else:
        success = empty_chart("success-rate", "Success rate per day", "no finished runs")
    seconds = [s for _, s in report.durations]
    durations = (
        histogram("durations", "Duration of finished runs", seconds)
        if seconds
        else empty_chart("durations", "Duration of finished runs", "no finished runs")
    )
    reasons = _top_reasons(report.overall.failure_reasons, TOP_FAILURES)
    failures = (
        bar_chart(
            "failure-reasons", "Top failure reasons", [(r, n, plural(n, "run")) for r, n in reasons]
        )
        if reasons
        else empty_chart("failure-reasons", "Top failure reasons", "no failed runs")
    )
    charts = [
        success,
        durations,
        _cost_chart("cost-by-user", "Cost by user", report.by_user),
        _cost_chart("cost-by-pipeline", "Cost by pipeline", report.by_pipeline),
        failures,
    ]
    return f'<div class="charts">{"".join(charts)}</div>{_pipeline_table(report.by_pipeline)}'


def _cost_chart(chart_id: str, title: str, groups: list[GroupMetrics]) -> str:
    ranked = sorted(groups, key=lambda g: (-g.cost_usd, g.key))
    shown = ranked[:TOP_BARS]
    if len(ranked) > len(shown):
        title += f" (top {len(shown)} of {len(ranked)})"
    bars = [(g.key, g.cost_usd, format_cost(g.cost_usd)) for g in shown]
    return bar_chart(chart_id, title, bars) if bars else empty_chart(chart_id, title, NO_RUNS)


def _pipeline_table(groups: list[GroupMetrics]) -> str:
    head = "".join(
        f"<th>{name}</th>"
        for name in ("pipeline", "runs", "failed", "success", "p50", "p95", "cost")
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{esc(cell)}</td>"
            for cell in (
                g.key,
                g.runs,
                g.failed,
                format_percent(g.success_rate),
                format_duration(g.p50_seconds),
                format_duration(g.p95_seconds),
                format_cost(g.cost_usd),
            )
        )
        + "</tr>"
        for g in groups
    )
    return f"<table><caption>By pipeline</caption><tr>{head}</tr>{rows}</table>"
