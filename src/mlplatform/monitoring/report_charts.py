"""Inline SVG charts for the HTML report, and the number formats the terminal shares.

Charts are drawn here in Python so the page needs no script and no network. Every data point
is one element with class `mark` and a `data-value`, and each chart's `<figure>` carries
`data-points`, so a browser test can count what was drawn against what the data holds. All
text passes through `esc`: pipeline names and exception text come from users.
"""

from __future__ import annotations

import math
from datetime import date
from html import escape

WIDTH = 640
LEFT, RIGHT, TOP, BOTTOM = 52, 40, 14, 40  # plot margins: axis labels live there
MAX_LABEL = 28  # bar labels longer than this are cut; the full text is the tooltip
MIN_BAR = 2.0  # a zero value still gets a visible bar: the row means "present, costs 0"


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} m {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} m"


def format_percent(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f} %"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def format_cost(usd: float) -> str:
    return "<$0.01" if 0 < usd < 0.005 else f"${usd:,.2f}"


def empty_chart(chart_id: str, title: str, message: str) -> str:
    return _figure(chart_id, title, 0, f'<p class="empty">{esc(message)}</p>')


def line_chart(chart_id: str, title: str, points: list[tuple[date, float | None, str]]) -> str:
    """A 0-100 % line over days; (day, rate or None, tooltip). None days break the line."""
    height = 240
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM
    first, last = points[0][0], points[-1][0]
    span = max((last - first).days, 1)

    def x_of(day: date) -> float:
        offset = (day - first).days / span if last != first else 0.5
        return LEFT + plot_w * offset

    def y_of(rate: float) -> float:
        return TOP + plot_h * (1 - rate)

    parts = [_y_grid([(y_of(t / 4), f"{25 * t} %") for t in range(5)])]
    step = math.ceil(len(points) / 8)  # at most ~8 date labels, whatever the window
    for day, _, _ in points[::step]:
        parts.append(_text(x_of(day), height - BOTTOM + 18, day.strftime("%b %d"), "middle"))
    path, pen_down, marks = [], False, []
    for day, rate, tooltip in points:
        if rate is None:
            pen_down = False
            continue
        x, y = x_of(day), y_of(rate)
        path.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
        pen_down = True
        marks.append(
            f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="4" data-value="{rate:g}">'
            f"<title>{esc(tooltip)}</title></circle>"
        )
    parts.append(f'<path class="line" d="{" ".join(path)}"/>')
    return _figure(chart_id, title, len(marks), _svg(height, parts + marks))


def histogram(chart_id: str, title: str, seconds: list[float]) -> str:
    """Equal-width bins (Sturges' rule) over the durations; only non-empty bins are drawn."""
    height = 240
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM
    low, high = min(seconds), max(seconds)
    bins = 1 if high == low else min(20, math.ceil(math.log2(len(seconds))) + 1)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in seconds:
        counts[min(int((value - low) / width), bins - 1)] += 1
    top = max(counts)
    ticks = sorted({0, top // 2, top})  # whole runs: a count axis has no 1.5
    parts = [_y_grid([(TOP + plot_h * (1 - t / top), str(t)) for t in ticks])]
    bar_w = plot_w / bins
    for edge in range(bins + 1) if bins > 1 else []:
        label = format_duration(low + edge * width)
        parts.append(_text(LEFT + edge * bar_w, height - BOTTOM + 18, label, "middle"))
    marks = []
    for index, count in enumerate(counts):
        if count == 0:
            continue
        start, end = low + index * width, low + (index + 1) * width
        bar_h = plot_h * count / top
        tooltip = f"{format_duration(start)} to {format_duration(end)}: {plural(count, 'run')}"
        marks.append(
            f'<rect class="mark" x="{LEFT + index * bar_w + 1:.1f}" y="{TOP + plot_h - bar_h:.1f}"'
            f' width="{bar_w - 2:.1f}" height="{bar_h:.1f}" data-value="{count}">'
            f"<title>{esc(tooltip)}</title></rect>"
        )
    if bins == 1:
        parts.append(_text(LEFT + plot_w / 2, height - BOTTOM + 18, format_duration(low), "middle"))
    return _figure(chart_id, title, len(marks), _svg(height, parts + marks))


def bar_chart(chart_id: str, title: str, bars: list[tuple[str, float, str]]) -> str:
    """Horizontal bars, one per (label, value, value text), longest label column on the left."""
    row, label_w, value_w = 24, 200, 80
    height = TOP + row * len(bars) + 8
    plot_w = WIDTH - label_w - value_w
    top = max((value for _, value, _ in bars), default=0.0)
    parts = []
    for index, (label, value, shown) in enumerate(bars):
        y = TOP + index * row
        short = label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"
        bar = max(MIN_BAR, plot_w * value / top) if top > 0 else MIN_BAR
        parts.append(_text(label_w - 8, y + 16, short, "end", tooltip=label))
        parts.append(
            f'<rect class="mark" x="{label_w}" y="{y + 4}" width="{bar:.1f}" height="{row - 8}"'
            f' data-value="{value:g}"><title>{esc(label)}: {esc(shown)}</title></rect>'
        )
        parts.append(_text(label_w + bar + 6, y + 16, shown, "start"))
    return _figure(chart_id, title, len(bars), _svg(height, parts))


def _figure(chart_id: str, title: str, points: int, body: str) -> str:
    return (
        f'<figure class="chart" data-chart="{esc(chart_id)}" data-points="{points}">'
        f"<figcaption>{esc(title)}</figcaption>{body}</figure>"
    )


def _svg(height: int, parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}"'
        f' width="{WIDTH}" height="{height}" role="img">{"".join(parts)}</svg>'
    )


def _y_grid(ticks: list[tuple[float, str]]) -> str:
    lines = [
        f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        + _text(LEFT - 6, y + 4, label, "end")
        for y, label in ticks
    ]
    return "".join(lines)


def _text(x: float, y: float, text: str, anchor: str, tooltip: str | None = None) -> str:
    title = f"<title>{esc(tooltip)}</title>" if tooltip is not None else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{title}{esc(text)}</text>'
