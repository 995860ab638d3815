"""The docs site builds with `mkdocs build --strict`: every page in the nav, every link and anchor
resolving, and the house style's <details markdown> blocks rendered as HTML with Markdown inside."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

pytestmark = pytest.mark.slow


class _IgnoreTags(yaml.SafeLoader):
    """mkdocs.yml names Python objects (`!!python/name:`); this test only reads its nav."""


_IgnoreTags.add_multi_constructor("tag:yaml.org,2002:python/", lambda *_: None)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=os.environ | {"NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    return out


def test_every_page_is_in_the_nav() -> None:
    config = yaml.load((REPO / "mkdocs.yml").read_text(), Loader=_IgnoreTags)
    in_nav = {page for entry in config["nav"] for page in entry.values()}
    on_disk = {p.relative_to(REPO / "docs").as_posix() for p in (REPO / "docs").glob("**/*.md")}
    assert on_disk == in_nav


def test_site_builds_strict_with_details_rendered(site: Path) -> None:
    page = (site / "user-guide" / "index.html").read_text()
    details = re.findall(r"<details>(.*?)</details>", page, re.S)
    assert details, "no <details> block rendered"
    # md_in_html: the Markdown inside <details markdown> became HTML, not literal text.
    assert all("<summary>" in block for block in details)
    # The summary's own Markdown is rendered too (mkdocs_hooks), not shown as backticks.
    assert "<summary><code>mlplatform users add</code>" in page
    assert "<summary>`" not in page
    assert any("<ul>" in block and "<code>" in block for block in details)
    assert "```" not in page


def test_mermaid_diagrams_reach_the_site_as_diagrams(site: Path) -> None:
    page = (site / "index.html").read_text()
    assert page.count('class="mermaid"') >= 2
