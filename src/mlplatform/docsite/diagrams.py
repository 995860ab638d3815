"""Render the docs' Mermaid diagrams with mermaid-cli, to prove each one parses and draws.

mermaid-cli (`mmdc`, from npm) draws through puppeteer. Puppeteer's own browser download does
not work on our machines, so it drives Debian's chromium instead. One `mmdc` call renders every
diagram of a page (one browser start per page, not per diagram): the diagrams are written into
one Markdown file, and `mmdc` writes an SVG for each. Mermaid draws a "Syntax error" picture
rather than failing for some mistakes, so the SVGs are read too.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlplatform.docsite.markdown_blocks import fenced_blocks

MERMAID_LANGUAGE = "mermaid"
SYNTAX_ERROR_MARKS = ("Syntax error", "Parse error")
# Headless chromium as root in a container: no sandbox, no GPU, nothing fetched from outside.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@dataclass(frozen=True)
class Diagram:
    page: Path
    line: int
    source: str

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


@dataclass(frozen=True)
class RenderedDiagram:
    diagram: Diagram
    svg: Path | None
    problem: str | None


def diagrams(page: Path) -> list[Diagram]:
    return [
        Diagram(page, block.start_line, block.body)
        for block in fenced_blocks(page.read_text())
        if block.language == MERMAID_LANGUAGE
    ]


def render_page(
    page: Path, out_dir: Path, mmdc: Path, chromium: Path, timeout: float = 300
) -> list[RenderedDiagram]:
    """Render every diagram of `page` into `out_dir`; one result per diagram, in page order."""
    found = diagrams(page)
    if not found:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    config = out_dir / "puppeteer.json"
    config.write_text(json.dumps({"executablePath": str(chromium), "args": CHROMIUM_ARGS}))
    failed = _run_mmdc(found, out_dir / page.stem, mmdc, config, timeout)
    if failed is None:
        return [_result(d, out_dir / f"{page.stem}.out-{n}.svg") for n, d in enumerate(found, 1)]
    # mmdc stops at the first diagram it cannot parse without saying which: draw them one by
    # one to name the culprit (slower, but only when something is wrong).
    results = []
    for number, diagram in enumerate(found, 1):
        name = out_dir / f"{page.stem}-{number}"
        error = _run_mmdc([diagram], name, mmdc, config, timeout)
        if error is None:
            results.append(_result(diagram, out_dir / f"{name.name}.out-1.svg"))
        else:
            results.append(RenderedDiagram(diagram, None, f"{diagram.where}: {error}"))
    return results


def _run_mmdc(
    found: list[Diagram], name: Path, mmdc: Path, config: Path, timeout: float
) -> str | None:
    """Draw `found` from one Markdown file `name`.md; None when mmdc succeeded, else its error.

    mmdc names the pictures `<output stem>-<n>.svg`, counting from 1 in page order.
    """
    source, target = name.with_suffix(".md"), name.with_suffix(".out.md")
    source.write_text("".join(f"```mermaid\n{d.source.rstrip()}\n```\n\n" for d in found))
    completed = subprocess.run(
        [str(mmdc), "--quiet", "-p", str(config), "-i", str(source), "-o", str(target)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if completed.returncode == 0:
        return None
    message = (completed.stderr or completed.stdout).strip().splitlines()
    reason = next((ln for ln in message if "rror" in ln), message[-1] if message else "")
    return f"mmdc failed: {reason.strip()}"


def _result(diagram: Diagram, svg: Path) -> RenderedDiagram:
    return RenderedDiagram(diagram, svg if svg.exists() else None, _problem(diagram, svg))


def _problem(diagram: Diagram, svg: Path) -> str | None:
    if not svg.exists():
        return f"{diagram.where}: mmdc wrote no picture"
    drawn = svg.read_text()
    if "<svg" not in drawn:
        return f"{diagram.where}: {svg.name} is not an SVG"
    mark = next((m for m in SYNTAX_ERROR_MARKS if m in drawn), None)
    if mark:
        return f"{diagram.where}: the diagram renders as '{mark}'"
    return None
