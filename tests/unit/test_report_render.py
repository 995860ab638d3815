"""The report as JSON, terminal tables and one HTML file: shape, escaping, the empty window."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from html.parser import HTMLParser

from rich.console import Console

from mlplatform.monitoring.report_render import print_report, report_html, report_json
from tests.report_samples import HOSTILE, empty_report, group, sample_report

GROUP_KEYS = {
    "runs",
    "completed",
    "failed",
    "running",
    "success_rate",
    "p50_seconds",
    "p95_seconds",
    "queue_wait_p50_seconds",
    "cost_usd",
    "cpu_seconds",
    "failure_reasons",
}
# Everything the page may contain: no script, iframe, object, link to elsewhere, form...
PAGE_TAGS = {"html", "head", "meta", "link", "title", "style", "body", "h1", "p", "div", "b"}
CHART_TAGS = {"span", "figure", "figcaption", "svg", "line", "text", "path", "circle", "rect"}
ALLOWED_TAGS = PAGE_TAGS | CHART_TAGS | {"table", "caption", "tr", "th", "td"}


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    return parser


def test_json_has_stable_keys_and_survives_a_round_trip() -> None:
    doc = json.loads(json.dumps(report_json(sample_report())))

    assert set(doc) == {
        "since",
        "until",
        "overall",
        "pipelines",
        "users",
        "teams",
        "days",
        "batch_queue_depth",
    }
    assert doc["since"] == "2024-03-01T00:00:00+00:00"
    assert set(doc["overall"]) == GROUP_KEYS
    assert doc["overall"]["runs"] == 17
    assert doc["overall"]["success_rate"] == 13 / 16
    assert [p["pipeline"] for p in doc["pipelines"]] == [
        "growth.d7_purchase",
        "ltv.forecast",
        "churn.scoring",
    ]
    assert all(set(p) == GROUP_KEYS | {"pipeline"} for p in doc["pipelines"])
    assert [u["user"] for u in doc["users"]] == ["alice", "bob", "carol"]
    assert doc["users"][2]["success_rate"] is None  # carol finished nothing
    assert doc["teams"][0]["team"] == "growth"
    assert [d["day"] for d in doc["days"]][:2] == ["2024-03-04", "2024-03-05"]
    # Most frequent reason first, so `jq '.overall.failure_reasons | keys_unsorted[0]'` works.
    assert list(doc["overall"]["failure_reasons"].items()) == [
        ("train: ValueError", 2),
        ("load: KeyError", 1),
    ]
    assert doc["batch_queue_depth"] == 7


def test_hostile_names_and_exception_text_are_shown_not_executed() -> None:
    attack = '"><img src=x onerror=alert(2)>'
    base = sample_report(pipeline=HOSTILE)
    report = replace(
        base,
        overall=replace(base.overall, failure_reasons={f"train: {attack}": 3}),
        by_user=[group(attack, 1, 1, cost=2.0)],
    )

    html = report_html(report)
    page = parsed(html)

    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    for tag, attrs in page.tags:
        assert not [name for name, _ in attrs if name.startswith("on")], tag
        assert ("src", "x") not in attrs
    text = "".join(page.text)
    assert HOSTILE in text  # the name is displayed as text, in the chart and the table
    assert f"train: {attack}" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_html_is_self_contained() -> None:
    page = parsed(report_html(sample_report()))

    urls = [value for _, attrs in page.tags for name, value in attrs if name in ("src", "href")]
    assert urls == ["data:,"]  # only the inline favicon that stops a /favicon.ico request
    csp = [dict(attrs).get("content") for tag, attrs in page.tags if tag == "meta"]
    assert any(c and "default-src 'none'" in c for c in csp)
    charts = [dict(attrs)["data-chart"] for tag, attrs in page.tags if tag == "figure"]
    assert charts == [
        "success-rate",
        "durations",
        "cost-by-user",
        "cost-by-pipeline",
        "failure-reasons",
    ]


def test_empty_window_says_so_instead_of_drawing_empty_axes() -> None:
    report = empty_report()

    html = report_html(report)
    assert "no runs in this window" in html
    assert "<svg" not in html
    doc = report_json(report)
    assert doc["overall"]["runs"] == 0
    assert doc["pipelines"] == doc["days"] == []
    assert doc["batch_queue_depth"] is None

    console = Console(file=io.StringIO(), width=120)
    print_report(report, console)
    assert "no runs in this window" in console.file.getvalue()  # type: ignore[attr-defined]


def test_terminal_tables_show_names_literally() -> None:
    rich_markup = "[bold red]team-x[/]"
    base = sample_report(pipeline=rich_markup)
    console = Console(file=io.StringIO(), width=200)

    print_report(base, console)

    out = console.file.getvalue()  # type: ignore[attr-defined]
    for title in ("Overall", "By pipeline", "By user", "By team", "Top failure reasons"):
        assert title in out
    assert rich_markup in out  # not swallowed as markup
    assert "81.2 %" in out  # overall success rate 13 / 16
    assert "$4.50" in out
    assert "train: ValueError" in out
    assert "Batch queue: 7 runnable jobs" in out


def test_a_day_without_finished_runs_draws_no_point_and_no_runs_chart_says_why() -> None:
    base = sample_report()
    only_running = replace(
        base,
        by_day=[(day, group(g.key, 0, 0, running=1)) for day, g in base.by_day],
        durations=[],
        overall=replace(base.overall, failure_reasons={}),
    )

    html = report_html(only_running)

    assert html.count('class="mark"') == len(base.by_user) + len(base.by_pipeline)
    assert html.count("no finished runs") == 2  # success-rate and durations charts
    assert "no failed runs" in html
