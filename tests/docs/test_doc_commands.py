"""Doc-tests: every page's shell blocks run as a reader would run them, and print what it shows.

Each page is one reader session on a fresh clone (`mlplatform.docsite.shell_blocks`): a fresh
folder with the repo's `examples/`, a fresh home, the project's virtual environment on PATH.
Blocks marked ```` ```bash skip="why" ```` are counted and the count is printed at the end of
the run (tests/docs/conftest.py); a block marked ```` ```bash finally ```` (stopping a server the
page started) runs even when an earlier block failed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

from mlplatform.docsite import shell_blocks as runner
from mlplatform.docsite.shell_blocks import output_matches, shell_blocks, start_reader
from tests.conftest import REPO

PAGES = sorted((REPO / "docs").glob("**/*.md"))
RUNNABLE = [p for p in PAGES if any(b.skip_reason is None for b in shell_blocks(p))]
VENV_BIN = Path(sys.executable).parent


def run_page(page: Path, root: Path) -> tuple[list[str], int]:
    """Run a page's blocks as a reader would; the problems found and how many blocks ran."""
    results, _ = runner.run_page(page, root, REPO, VENV_BIN)
    return [r.problem for r in results if r.problem], len(results)


@pytest.mark.slow
@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: p.name)
def test_page_commands_run_and_print_what_the_page_shows(page: Path) -> None:
    # A short folder, as `python -m mlplatform.docsite.shell_blocks` uses: the CLI wraps long
    # paths at 100 columns, and pytest's own temporary paths would wrap where the page's don't.
    with tempfile.TemporaryDirectory(prefix="doc-test-") as root:
        problems, ran = run_page(page, Path(root))
    assert ran > 0
    assert problems == [], "\n\n".join(problems)


def test_blocks_share_folder_and_variables_and_skips_are_not_run(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "- Set up:\n\n  ```bash\n  mkdir -p sub && cd sub && GREETING=hello\n  ```\n\n"
        '```bash\necho "$GREETING from $(basename "$PWD")"; ls ../examples\n```\n\n'
        "```text\nhello from ...\npipelines\n```\n\n"
        '```bash skip="needs a real AWS account"\nexit 3\n```\n'
    )
    blocks = shell_blocks(page)
    assert [b.skip_reason for b in blocks] == [None, None, "needs a real AWS account"]
    assert blocks[1].expected_output == "hello from ...\npipelines\n"
    problems, ran = run_page(page, tmp_path / "reader")
    assert (problems, ran) == ([], 2)


def test_a_failing_block_stops_the_page_but_finally_blocks_run(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```bash\necho one\n```\n\n```text\none\n```\n\n"
        "```bash\nfalse\n```\n\n```bash\necho never\n```\n\n```bash finally\necho cleanup\n```\n"
    )
    problems, ran = run_page(page, tmp_path / "reader")
    assert ran == 3  # `echo never` is not run after the failure; the `finally` block is
    assert problems == [f"{page}:9: exited 1; output:\n"]


def test_output_that_drifted_from_the_page_is_reported_with_both(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```bash\necho 'Plan: 3 to add'\n```\n\n```text\nPlan: 9 to add\n```\n")
    problems, _ = run_page(page, tmp_path / "reader")
    assert len(problems) == 1
    assert problems[0].startswith(f"{page}:1: printed something else than the page shows")
    assert "Plan: 9 to add" in problems[0] and "Plan: 3 to add" in problems[0]


def test_nothing_from_the_test_run_leaks_into_the_reader_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPLATFORM_S3__BUCKET", "from-the-test-run")
    page = tmp_path / "page.md"
    page.write_text('```bash\necho "[${MLPLATFORM_S3__BUCKET:-unset}] $HOME"\n```\n')
    session = start_reader(tmp_path / "reader", REPO, VENV_BIN)
    result = session.run(shell_blocks(page)[0])
    assert result.output.strip() == f"[unset] {tmp_path / 'reader' / 'home'}"


def test_output_comparison_is_doctest_ellipsis() -> None:
    assert output_matches("Run ...: ok\n", "Run ClassificationFlow/17: ok\n")
    assert output_matches("a  b\nc", "a b\n c\n")
    assert not output_matches("Run ...: ok", "Run 17: failed")
