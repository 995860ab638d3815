"""The parts of a docs page that tools read: its front matter and its fenced code blocks.

Shared by the house-style checker, the doc-tests (which run the `bash` blocks) and the Mermaid
rendering, so all three agree on where a block starts, what it says it is and what it holds.
Fences follow CommonMark: three or more backticks or tildes, closed by a fence of the same
character at least as long (so a block opened by four backticks can show a three-backtick one).
Fences may be indented, as inside a bullet; the body loses that indentation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

_OPENING = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_OPTION = re.compile(
    r"""(?P<key>[A-Za-z_][\w-]*)(?:=(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>\S+)))?"""
)


@dataclass(frozen=True)
class FencedBlock:
    """One fenced code block. Lines are 1-based; `body` has the fence's indentation removed."""

    start_line: int  # the opening fence
    end_line: int  # the closing fence, or the last line of the page when it is never closed
    indent: int  # spaces before the opening fence
    language: str  # first word of the info string, '' when there is none
    options: dict[str, str] = field(default_factory=dict)  # key="value" pairs after the language
    body: str = ""
    fence_length: int = 3
    fence_char: str = "`"
    info: str = ""  # the whole info string, stripped
    closed: bool = True


@dataclass(frozen=True)
class FrontMatter:
    """The YAML block between the page's first two `---` lines; `end_line` is the second one."""

    data: dict[str, Any]
    end_line: int


class FrontMatterError(ValueError):
    """The page opens a front matter block that is not a closed YAML mapping."""


def parse_info(info: str) -> tuple[str, dict[str, str]]:
    """Split an info string such as `bash skip="needs AWS"` into its language and options.

    A bare word after the language is an option with an empty value, so `bash skip` reads as a
    skip without a reason instead of disappearing.
    """
    language, _, rest = info.strip().partition(" ")
    options: dict[str, str] = {}
    for match in _OPTION.finditer(rest):
        value = match.group("dq") or match.group("sq") or match.group("bare") or ""
        options[match.group("key")] = value
    return language, options


def fenced_blocks(text: str) -> list[FencedBlock]:
    """Every fenced code block of a Markdown page, in order."""
    lines = text.splitlines()
    blocks: list[FencedBlock] = []
    index = 0
    while index < len(lines):
        opening = _OPENING.match(lines[index])
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            index += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        closing = re.compile(rf"^ *{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        closed = end < len(lines)
        language, options = parse_info(opening["info"])
        body = [_dedent(line, indent) for line in lines[index + 1 : end]]
        blocks.append(
            FencedBlock(
                start_line=index + 1,
                end_line=end + 1 if closed else len(lines),
                indent=indent,
                language=language,
                options=options,
                body="".join(line + "\n" for line in body),
                fence_length=len(fence),
                fence_char=fence[0],
                info=opening["info"].strip(),
                closed=closed,
            )
        )
        index = end + 1
    return blocks


def front_matter(text: str) -> FrontMatter | None:
    """The page's YAML front matter, or None when the page does not start with `---`.

    Raises FrontMatterError when the block is never closed, is not YAML, or is not a mapping.
    """
    lines = text.splitlines()
    if not lines or lines[0].rstrip() != "---":
        return None
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.rstrip() in ("---", "..."))
    except StopIteration:
        raise FrontMatterError("front matter opened by '---' on line 1 is never closed") from None
    try:
        data = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as error:
        raise FrontMatterError(f"front matter is not valid YAML: {_first_line(error)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FrontMatterError("front matter must be a YAML mapping such as 'title: ...'")
    return FrontMatter(data=data, end_line=end + 1)


def _dedent(line: str, indent: int) -> str:
    stripped = len(line) - len(line.lstrip(" "))
    return line[min(indent, stripped) :]


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
