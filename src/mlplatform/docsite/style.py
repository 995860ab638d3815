"""The docs house style (SPEC.md, "Docs house style"), checked on the text of one page.

`style_problems(text)` lists every place a page departs from the style, each with its line.
Run it on files with `python -m mlplatform.docsite.style docs/*.md`: one `file:line: problem`
line per problem and exit code 1 when there is any.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlplatform.docsite.backticks import unquoted_values
from mlplatform.docsite.markdown_blocks import (
    FencedBlock,
    FrontMatterError,
    fenced_blocks,
    front_matter,
)

GENERIC_SUMMARIES = {
    "details", "more details", "more", "show", "show more", "more info", "info", "expand",
    "click to expand", "click here", "click to see more", "see more", "read more", "summary",
    "open", "toggle", "here", "notes", "...",
}  # fmt: skip
SHELL_LANGUAGES = {"sh", "shell", "console", "zsh", "shell-session", "shellsession", "terminal"}

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_NUMBERED_HEADING = re.compile(
    r"^#{1,6}\s+(?:(?:step|part|phase)\s+\d+[.):]?|\d+(?:\.\d+)*[.):]|\d+\.\d+)(?:\s|$)",
    re.IGNORECASE,
)
_NUMBERED_ITEM = re.compile(r"^\s*\d+[.)](?:\s|$)")
_BULLET = re.compile(r"^( *)[-*+](?:\s+|$)")
_DETAILS_OPEN = re.compile(r"^<details\b[^>]*>$")
_DETAILS_WITH_MARKDOWN = re.compile(r'^<details(?:\s+open)?\s+markdown(?:="(?:1|block)")?>$')
_SUMMARY = re.compile(r"^<summary>(.*)</summary>$")
_HTML_BLOCK = re.compile(r"^</?(?:details|summary|div|p|table|figure|br|hr|img|a)\b")
_RULE = "---"


@dataclass(frozen=True, order=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class _Page:
    lines: list[str]  # lines[0] is line 1
    body_start: int  # first line after the front matter
    blocks: list[FencedBlock]
    code: frozenset[int]  # lines inside fenced blocks, fences included
    comments: frozenset[int]  # lines inside HTML comments

    def line(self, number: int) -> str:
        return self.lines[number - 1]

    def numbers(self) -> range:
        return range(self.body_start, len(self.lines) + 1)

    def visible(self) -> Iterator[tuple[int, str]]:
        """(number, line) of the body's lines outside code blocks and comments."""
        for number in self.numbers():
            if number not in self.code and number not in self.comments:
                yield number, self.line(number)

    def previous_content(self, number: int) -> str:
        """The nearest non-blank line above `number` in the body, code included."""
        for earlier in range(number - 1, self.body_start - 1, -1):
            if self.line(earlier).strip() and earlier not in self.comments:
                return self.line(earlier).strip()
        return ""

    def headings(self) -> list[tuple[int, int, str]]:
        found = []
        for number, line in self.visible():
            match = _HEADING.match(line)
            if match:
                found.append((number, len(match[1]), match[2]))
        return found


def style_problems(text: str) -> list[Problem]:
    """Every departure from the docs house style, by line."""
    problems, body_start = _front_matter_problems(text)
    blocks = fenced_blocks(text)
    lines = text.splitlines()
    page = _Page(
        lines=lines,
        body_start=body_start,
        blocks=blocks,
        code=frozenset(n for b in blocks for n in range(b.start_line, b.end_line + 1)),
        comments=frozenset(_comment_lines(lines)),
    )
    for rule in (_heading_problems, _details_problems, _bullet_problems, _code_block_problems):
        problems += rule(page)
    problems += _backtick_problems(page)
    return sorted(set(problems))


def _front_matter_problems(text: str) -> tuple[list[Problem], int]:
    try:
        matter = front_matter(text)
    except FrontMatterError as error:
        return [Problem(1, str(error))], 1
    if matter is None:
        return [Problem(1, "no YAML front matter: start with '---', 'title: ...', '---'")], 1
    if not str(matter.data.get("title") or "").strip():
        return [Problem(1, "the front matter has no 'title'")], matter.end_line + 1
    return [], matter.end_line + 1


def _comment_lines(lines: list[str]) -> Iterator[int]:
    inside = False
    for number, line in enumerate(lines, 1):
        opens = "<!--" in line
        if inside or opens:
            yield number
        if opens and "-->" not in line.split("<!--", 1)[1]:
            inside = True
        elif inside and "-->" in line:
            inside = False


def _heading_problems(page: _Page) -> Iterator[Problem]:
    headings = page.headings()
    titles = [number for number, level, _ in headings if level == 1]
    if not titles:
        yield Problem(page.body_start, "no '# ' title heading after the front matter")
    for number in titles[1:]:
        yield Problem(number, "a page has one '# ' heading; use '##' for sections")
    seen = {2: False, 3: False, 4: False}
    for number, level, _ in headings:
        if _NUMBERED_HEADING.match(page.line(number)):
            yield Problem(number, "numbered heading: drop the number")
        previous = page.previous_content(number)
        if level == 2 and seen[2] and previous != _RULE:
            yield Problem(number, "a '##' section needs a '---' line before it")
        if level == 3 and seen[3] and previous == _RULE:
            yield Problem(number, "no '---' between '###' subsections")
        if level == 4 and seen[4] and previous != _RULE:
            yield Problem(number, "a '####' subsubsection needs a '---' line before it")
        if level in seen:
            seen[level] = True
        for deeper in range(level + 1, 5):
            seen[deeper] = False
    for number, line in page.visible():
        previous = page.line(number - 1) if number > page.body_start else ""
        if line == _RULE and previous.strip() and number - 1 not in page.code:
            yield Problem(
                number, "'---' right under text makes that text a heading: add a blank line"
            )


def _details_problems(page: _Page) -> Iterator[Problem]:
    for number, line in page.visible():
        text = line.strip()
        if _DETAILS_OPEN.match(text) and not _DETAILS_WITH_MARKDOWN.match(text):
            yield Problem(number, "write <details markdown>: without it nothing inside renders")
    headings = page.headings()
    for index, (number, level, _) in enumerate(headings):
        if level != 3:
            continue
        end = next((n for n, lvl, _ in headings[index + 1 :] if lvl <= 3), len(page.lines) + 1)
        section = [
            (n, page.line(n).strip(), n in page.code)
            for n in range(number + 1, end)
            if page.line(n).strip() and n not in page.comments
        ]
        yield from _one_details_block(number, section)


def _one_details_block(heading: int, section: list[tuple[int, str, bool]]) -> Iterator[Problem]:
    opens = [
        i for i, (_, text, code) in enumerate(section) if not code and _DETAILS_OPEN.match(text)
    ]
    closes = [i for i, (_, text, code) in enumerate(section) if not code and text == "</details>"]
    if len(opens) != 1 or len(closes) != 1 or closes[0] < opens[0]:
        yield Problem(heading, "a '###' subsection holds exactly one <details markdown> block")
        return
    start, end = opens[0], closes[0]
    if start > 0:
        yield Problem(section[0][0], "put the subsection's content inside its <details> block")
    after = [(n, text) for n, text, _ in section[end + 1 :] if text != _RULE]
    if after:
        yield Problem(after[0][0], "content after </details>: move it inside the block")
    inner = section[start + 1 : end]
    summary = _SUMMARY.match(inner[0][1]) if inner else None
    if summary is None:
        yield Problem(section[start][0], "<details> must open with a <summary>...</summary> line")
        return
    words = re.sub(r"[`*_.:!]", "", summary[1]).strip().lower()
    if not words or words in GENERIC_SUMMARIES:
        yield Problem(inner[0][0], f"generic <summary> '{summary[1]}': say what is inside")
    body = inner[1:]
    if len(body) < 3 or body[0][1] != _RULE or body[-1][1] != _RULE:
        where = body[0][0] if body else inner[0][0]
        yield Problem(where, "the <details> body starts and ends with a '---' line around content")


def _bullet_problems(page: _Page) -> Iterator[Problem]:
    """Content is bullets; code blocks, tables and admonitions inside a bullet are indented
    exactly 2 spaces more than the bullet's marker, or they fall out of the list."""
    starts = {block.start_line for block in page.blocks}
    markers: list[int] = []  # indents of the open bullets' markers, outermost first
    blank_before, in_prose = True, False
    previous_table = False
    for number in page.numbers():
        line = page.line(number)
        if number in page.comments or (number in page.code and number not in starts):
            blank_before, previous_table = False, False
            continue
        if not line.strip():
            blank_before, in_prose, previous_table = True, False, False
            continue
        indent, text = len(line) - len(line.lstrip(" ")), line.strip()
        table = text.startswith("|")
        if number in starts or (table and not previous_table) or text.startswith(("!!! ", "??? ")):
            kind = "code block" if number in starts else "table" if table else "admonition"
            yield from _block_indent(number, indent, markers, kind)
            markers[:] = [m for m in markers if m + 2 <= indent]
        elif _BULLET.match(line) and text != _RULE:
            markers[:] = [m for m in markers if m < indent] + [indent]
        elif _NUMBERED_ITEM.match(line):
            yield Problem(number, "numbered list: use '- ' bullets")
        elif (
            _HEADING.match(text) or _HTML_BLOCK.match(text) or text == _RULE or _is_reference(text)
        ):
            markers.clear()
        elif table:
            pass
        elif markers and not blank_before and indent < markers[-1] + 2:
            yield Problem(number, f"indent this line of the bullet above by {markers[-1] + 2}")
        elif markers and (not blank_before or indent >= markers[0] + 2):
            markers[:] = [m for m in markers if m + 2 <= indent]
        else:
            markers.clear()
            if not in_prose:
                yield Problem(number, "write content as bullet points ('- ...'), not paragraphs")
            in_prose = True
        blank_before, previous_table = False, table


def _block_indent(number: int, indent: int, markers: list[int], kind: str) -> Iterator[Problem]:
    if not markers and indent:
        yield Problem(number, f"a {kind} outside a bullet starts at column 0, not {indent}")
    elif markers and indent not in {m + 2 for m in markers}:
        expected = markers[-1] + 2
        yield Problem(
            number,
            f"a {kind} inside a bullet is indented {expected} spaces "
            f"(2 more than the bullet's '-'), not {indent}",
        )


def _is_reference(text: str) -> bool:
    return bool(re.match(r"^\[[^\]]+\]:\s", text) or re.match(r"^!\[[^\]]*\]\(", text))


def _code_block_problems(page: _Page) -> Iterator[Problem]:
    for block in page.blocks:
        if block.start_line < page.body_start:
            continue
        if not block.closed:
            yield Problem(block.start_line, "code block is never closed")
        if not block.language:
            yield Problem(block.start_line, "code block without a language (```bash, ```text ...)")
        elif block.language.lower() in SHELL_LANGUAGES:
            yield Problem(
                block.start_line,
                f"shell blocks are ```bash (the doc-tests run only bash), not ```{block.language}",
            )
        if block.language == "bash" and re.search(r"^\s*\$ ", block.body, re.MULTILINE):
            yield Problem(block.start_line, "no '$ ' prompts in bash blocks: they run as written")
        if "skip" in block.options and not block.options["skip"].strip():
            yield Problem(block.start_line, 'skip needs a reason: skip="needs a real AWS account"')


def _backtick_problems(page: _Page) -> Iterator[Problem]:
    for first, text in _text_runs(page):
        for offset, kind, value in unquoted_values(text):
            yield Problem(first + offset, f"{kind} '{value}' belongs in backticks")


def _text_runs(page: _Page) -> Iterator[tuple[int, str]]:
    """Runs of consecutive text lines (one paragraph or bullet each), with their first line."""
    run: list[str] = []
    first = 0
    previous = 0
    for number, line in page.visible():
        text = line.strip()
        starts_block = bool(
            _BULLET.match(line)
            or _HEADING.match(text)
            or _HTML_BLOCK.match(text)
            or text[:1] == "|"
        )
        if run and (number != previous + 1 or starts_block or not line.strip()):
            yield first, "\n".join(run)
            run = []
        if line.strip():
            if not run:
                first = number
            run.append(line)
        previous = number
    if run:
        yield first, "\n".join(run)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlplatform.docsite.style",
        description="Check Markdown pages against the docs house style (SPEC.md).",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    found = 0
    failing = 0
    for path in args.files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or error
            print(f"error: cannot read {path}: {reason}", file=sys.stderr)
            return 2
        problems = style_problems(text)
        for problem in problems:
            print(f"{path}:{problem.line}: {problem.message}")
        found += len(problems)
        failing += bool(problems)
    pages = f"{len(args.files)} page" + ("s" if len(args.files) > 1 else "")
    if found:
        print(f"{found} style problem{'s' if found > 1 else ''} in {failing} of {pages}")
        return 1
    print(f"{pages} {'follow' if len(args.files) > 1 else 'follows'} the house style")
    return 0


if __name__ == "__main__":
    sys.exit(main())
