"""The HTML dashboard in a real browser (Debian's chromium, headless): every chart draws one
visible mark per data point, offline, without a console error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlplatform.monitoring.metrics import Report
from mlplatform.monitoring.report_render import report_html
from tests.report_samples import HOSTILE, empty_report, sample_report

CHROMIUM = "/usr/bin/chromium"
HEADLESS_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"Debian's chromium is not installed at {CHROMIUM} (`make test` installs it)",
)

# Per chart: every `.mark`, whether it has a visible box inside its SVG, and its data-value.
MARKS_JS = """
() => [...document.querySelectorAll('figure.chart')].map(figure => {
  const svg = figure.querySelector('svg');
  const canvas = svg ? svg.getBoundingClientRect() : null;
  const marks = [...figure.querySelectorAll('.mark')].map(mark => {
    const box = mark.getBoundingClientRect();
    const inside = canvas !== null && box.left >= canvas.left - 0.5 && box.right <= canvas.right + 0.5
      && box.top >= canvas.top - 0.5 && box.bottom <= canvas.bottom + 0.5;
    return {drawn: box.width > 0 && box.height > 0 && inside, value: Number(mark.dataset.value)};
  });
  return {chart: figure.dataset.chart, points: Number(figure.dataset.points), marks: marks,
          text: figure.innerText};
})
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=HEADLESS_ARGS)
        yield chromium
        chromium.close()


def open_report(browser: Any, report: Report, folder: Path) -> tuple[list[dict], list[str], str]:
    """Charts as drawn, the URLs the page asked for, and the console errors it logged."""
    page_file = folder / "report.html"
    page_file.write_text(report_html(report), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(page_file.as_uri(), wait_until="load")
    charts = page.evaluate(MARKS_JS)
    body = page.inner_text("body")
    page.close()
    assert requests == [page_file.as_uri()], "the page fetched something besides itself"
    assert errors == []
    return charts, requests, body


def test_every_chart_draws_one_visible_mark_per_data_point(browser: Any, tmp_path: Path) -> None:
    report = sample_report(pipeline=HOSTILE)
    expected = {
        "success-rate": [g.success_rate for _, g in report.by_day if g.success_rate is not None],
        # Six finished runs in three far-apart clusters: three bars holding 3, 2 and 1 runs.
        "durations": [3, 2, 1],
        "cost-by-user": sorted((g.cost_usd for g in report.by_user), reverse=True),
        "cost-by-pipeline": sorted((g.cost_usd for g in report.by_pipeline), reverse=True),
        "failure-reasons": [2, 1],
    }

    charts, _, body = open_report(browser, report, tmp_path)

    assert [c["chart"] for c in charts] == list(expected)
    for chart in charts:
        values = expected[chart["chart"]]
        drawn = [m for m in chart["marks"] if m["drawn"]]
        assert len(drawn) == len(chart["marks"]) == chart["points"] == len(values), chart
        assert [m["value"] for m in drawn] == pytest.approx(values), chart["chart"]
    assert sum(expected["durations"]) == len(report.durations)
    assert HOSTILE in body  # shown as text; had it run, `pageerror`/console would not be clean
    # carol's $0 still gets a bar: a row that is absent and a row that costs nothing differ.
    assert "carol" in next(c["text"] for c in charts if c["chart"] == "cost-by-user")


def test_an_empty_window_shows_a_sentence_not_empty_axes(browser: Any, tmp_path: Path) -> None:
    charts, _, body = open_report(browser, empty_report(), tmp_path)

    assert charts == []
    assert "no runs in this window" in body
