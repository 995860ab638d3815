"""Doc-tests: run a page's shell blocks the way a reader would, and compare what they print.

A page's ```` ```bash ```` blocks run in order as one reader session: the same working folder,
and the folder (`cd`) and shell variables carry over from one block to the next, as they would
in the reader's terminal. A block with ```` ```bash skip="why" ```` is not run; the reason is
counted and shown. A block marked ```` ```bash finally ```` (stopping a server the page
started) runs even after an earlier block failed. A ```` ```text ```` block right after a
runnable block is its expected output, compared as Python's doctest does with ELLIPSIS and
NORMALIZE_WHITESPACE: `...` stands for what varies.

`python -m mlplatform.docsite.shell_blocks docs/page.md` runs one page in a temporary folder.
"""

from __future__ import annotations

import doctest
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlplatform.docsite.markdown_blocks import FencedBlock, fenced_blocks

SHELL_LANGUAGE = "bash"
OUTPUT_LANGUAGE = "text"
_CHECKER = doctest.OutputChecker()
_MATCH_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@dataclass(frozen=True)
class ShellBlock:
    """One shell block of a page: what to run, or why not, and what it should print."""

    page: Path
    line: int
    script: str
    skip_reason: str | None
    expected_output: str | None
    runs_after_failure: bool = False

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def shell_blocks(page: Path) -> list[ShellBlock]:
    """Every `bash` block of a page, in order, each with the `text` block that follows it."""
    text = page.read_text()
    blocks, lines = fenced_blocks(text), text.splitlines()
    found = []
    for index, block in enumerate(blocks):
        if block.language != SHELL_LANGUAGE:
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        expected = None
        if (
            following is not None
            and following.language == OUTPUT_LANGUAGE
            and _only_blank_between(lines, block, following)
        ):
            expected = following.body
        found.append(
            ShellBlock(
                page=page,
                line=block.start_line,
                script=block.body,
                skip_reason=block.options.get("skip"),
                expected_output=expected,
                runs_after_failure="finally" in block.options,
            )
        )
    return found


def _only_blank_between(lines: list[str], first: FencedBlock, second: FencedBlock) -> bool:
    # `end_line` is the closing fence; lines are 1-based.
    between = lines[first.end_line : second.start_line - 1]
    return all(not text.strip() for text in between)


def output_matches(expected: str, got: str) -> bool:
    """doctest's comparison: `...` matches anything, runs of whitespace are equal."""
    return _CHECKER.check_output(expected.rstrip() + "\n", got.rstrip() + "\n", _MATCH_FLAGS)


@dataclass(frozen=True)
class BlockResult:
    block: ShellBlock
    returncode: int
    output: str

    @property
    def problem(self) -> str | None:
        """None when the block did what the page says; else one line saying what differed."""
        if self.returncode != 0:
            return f"{self.block.where}: exited {self.returncode}; output:\n{self.output}"
        expected = self.block.expected_output
        if expected is not None and not output_matches(expected, self.output):
            return (
                f"{self.block.where}: printed something else than the page shows.\n"
                f"--- page\n{expected}\n--- printed\n{self.output}"
            )
        return None


class ReaderSession:
    """A reader's terminal: a working folder, a home, and the variables set so far.

    Each block runs in its own `bash -euo pipefail`; the folder it ended in and its variables
    (exported or not, bash's own left out) are saved after it and restored before the next.
    """

    def __init__(self, workdir: Path, home: Path, environment: Mapping[str, str]) -> None:
        self.workdir = workdir
        self._state = home / ".doc-test-session"
        self._state.mkdir(parents=True, exist_ok=True)
        (self._state / "pwd").write_text(str(workdir))
        exports = "".join(f"export {key}={_quote(value)}\n" for key, value in environment.items())
        (self._state / "env").write_text(exports)

    def run(self, block: ShellBlock, timeout: float = 600) -> BlockResult:
        state = self._state
        program = (
            f'source "{state}/env"\n'
            f'cd "$(cat "{state}/pwd")"\n'
            "set -euo pipefail\n"
            f"{block.script}\n"
            f'pwd > "{state}/pwd"\n'
            f'{_SAVE_VARIABLES} > "{state}/env"\n'
        )
        try:
            completed = subprocess.run(
                ["bash", "-c", program],
                env={"PATH": os.defpath},  # the session's own exports set everything else
                cwd=self.workdir,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                timeout=timeout,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired as timed_out:
            partial = timed_out.output or ""
            if isinstance(partial, bytes):
                partial = partial.decode(errors="replace")
            return BlockResult(block, -1, f"{partial}\n(still running after {timeout:.0f} s)")
        return BlockResult(block, completed.returncode, completed.stdout)


# Every variable the block left, as `declare` lines to source before the next block: bash's own
# (read-only ones, BASH_*, PWD, RANDOM, ...) are left out, so restoring them cannot fail.
_SAVE_VARIABLES = """for __name in $(compgen -v); do
  case $__name in
    BASH*|PWD|OLDPWD|SHLVL|_|PIPESTATUS|FUNCNAME|GROUPS|DIRSTACK|EUID|UID|PPID|SHELLOPTS|\\
    HOSTNAME|HOSTTYPE|MACHTYPE|OSTYPE|IFS|OPTIND|OPTERR|RANDOM|SRANDOM|SECONDS|LINENO|\\
    EPOCHSECONDS|EPOCHREALTIME|HISTCMD|COMP_WORDBREAKS|__*) continue ;;
  esac
  __declared=$(declare -p "$__name" 2>/dev/null) || continue
  __flags=${__declared#declare -}
  [[ ${__flags%% *} == *r* ]] || printf '%s\\n' "$__declared"
done"""


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def reader_environment(home: Path, venv_bin: Path) -> dict[str, str]:
    """What a reader's terminal holds on a fresh clone after `make`: nothing of ours but PATH.

    Nothing from the test run leaks in (no MLPLATFORM_* or METAFLOW_* settings): the page
    must say everything the commands need.
    """
    return {
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "HOME": str(home),
        "USER": "maria",
        "METAFLOW_USER": "maria",  # Metaflow refuses to run as root without it (CI is root)
        "LANG": "C.UTF-8",
        "TMPDIR": str(home / "tmp"),
        "COLUMNS": "100",
        "NO_COLOR": "1",
        "TERM": "dumb",
        "MPLBACKEND": "Agg",
    }


def start_reader(root: Path, repo: Path, venv_bin: Path) -> ReaderSession:
    """A fresh folder holding a copy of the repo's `examples/`, and a fresh home."""
    workdir, home = root / "work", root / "home"
    shutil.copytree(repo / "examples", workdir / "examples")
    (home / "tmp").mkdir(parents=True)
    return ReaderSession(workdir, home, reader_environment(home, venv_bin))


def run_page(page: Path, root: Path, repo: Path, venv_bin: Path) -> tuple[list[BlockResult], int]:
    """Run a page's blocks in order in a reader session under `root`: results and skip count.

    After a block fails the rest are not run, except those marked `finally` (they stop what
    the page started, so a failed page leaves no server behind).
    """
    session = start_reader(root, repo, venv_bin)
    results: list[BlockResult] = []
    skipped = 0
    for block in shell_blocks(page):
        if block.skip_reason is not None:
            skipped += 1
            continue
        failed = any(result.problem for result in results)
        if failed and not block.runs_after_failure:
            continue
        results.append(session.run(block))
    return results, skipped


def main(argv: list[str]) -> int:
    """Run the pages given, each in a temporary folder, and print one line per block."""
    repo = Path(__file__).resolve().parents[3]
    failed = False
    for name in argv:
        with tempfile.TemporaryDirectory(prefix="doc-test-") as root:
            results, skipped = run_page(Path(name), Path(root), repo, Path(sys.executable).parent)
        for result in results:
            print(result.problem or f"{result.block.where}: ok")
            failed = failed or result.problem is not None
        print(f"{name}: {len(results)} blocks run, {skipped} skipped with a reason")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
