"""Prints, after the run, how many of the docs' shell blocks the doc-tests ran and skipped."""

from __future__ import annotations

from collections import Counter

import pytest

from mlplatform.docsite.shell_blocks import shell_blocks
from tests.conftest import REPO


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    blocks = [b for p in sorted((REPO / "docs").glob("**/*.md")) for b in shell_blocks(p)]
    skipped = [b for b in blocks if b.skip_reason is not None]
    per_page = Counter(b.page.name for b in skipped)
    terminalreporter.write_sep("-", "doc-tests")
    terminalreporter.write_line(
        f"doc-tests: {len(blocks) - len(skipped)} shell blocks run, {len(skipped)} skipped "
        f"with a reason ({', '.join(f'{page} {n}' for page, n in sorted(per_page.items()))})"
    )
