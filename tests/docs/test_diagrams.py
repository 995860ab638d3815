"""Every Mermaid diagram in the docs renders: mermaid-cli (npm) drawing in Debian's chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlplatform.docsite.diagrams import diagrams, render_page
from tests.conftest import REPO

pytestmark = pytest.mark.slow

PAGES = sorted((REPO / "docs").glob("**/*.md"))
MMDC = REPO / "node_modules" / ".bin" / "mmdc"


@pytest.fixture(scope="module")
def chromium() -> Path:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not MMDC.exists() or found is None:
        pytest.fail("mermaid-cli or chromium missing: run `make test`, which installs both")
    return Path(found)


@pytest.mark.parametrize("page", [p for p in PAGES if diagrams(p)], ids=lambda p: p.name)
def test_page_diagrams_render(page: Path, chromium: Path, tmp_path: Path) -> None:
    rendered = render_page(page, tmp_path, MMDC, chromium)
    assert len(rendered) == len(diagrams(page))
    assert [r.problem for r in rendered if r.problem] == []
    assert all(r.svg is not None and r.svg.stat().st_size > 1000 for r in rendered)


def test_a_broken_diagram_is_reported_with_its_line(chromium: Path, tmp_path: Path) -> None:
    page = tmp_path / "broken.md"
    page.write_text(
        "# Broken\n\n```mermaid\nflowchart LR\n  a --> b\n```\n\n"
        "```mermaid\nflowchart LR\n  a -->> [b\n```\n"
    )
    rendered = render_page(page, tmp_path / "out", MMDC, chromium)
    problems = [r.problem for r in rendered if r.problem]
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{page}:8: mmdc failed: "), problems
    assert rendered[0].svg is not None  # the good diagram still drew


def test_the_docs_have_the_diagrams_the_issue_asks_for() -> None:
    kinds = {d.source.split()[0] for p in PAGES for d in diagrams(p)}
    assert {"flowchart", "sequenceDiagram", "gantt"} <= kinds, kinds
